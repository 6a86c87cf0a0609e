"""The prediction: the top digit with its confidence, and a bar per class."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QWidget

from .plotting import pg
from .presentation import presentation, scaled

BAR_COLOUR = (120, 144, 180)
TOP_COLOUR = (214, 96, 40)
LABEL_POINTS = 28
BAR_WIDTH = 0.7
BAR_WIDTH_PRESENTING = 0.85  # wider bars read from the back of a room


class PredictionLabel(QLabel):
    """Starts with the predicted digit ("7 · 98.6%"); a hint when nothing is drawn."""

    points = LABEL_POINTS  # the text's size outside presentation mode

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("predictionLabel")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.show_empty()
        self._fit()
        presentation().changed.connect(self._fit)

    def _fit(self) -> None:
        """The font at the presentation scale, and one size whatever it says: a width that followed the text made
        the columns beside it jump with every new prediction ("Draw a digit", "1 · 97.0%", "8 · 100.0%")."""
        font = QFont(self.font())
        font.setPointSizeF(self.points * presentation().scale)
        font.setBold(True)
        self.setFont(font)
        metrics = self.fontMetrics()
        widest = max(metrics.horizontalAdvance(text) for text in (self.tr("Draw a digit"), "8  ·  100.0%"))
        self._size = QSize(widest + 8, metrics.height() + 8)
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return self._size

    def minimumSizeHint(self) -> QSize:
        return self._size

    def show_empty(self) -> None:
        self.setText(self.tr("Draw a digit"))

    def show_prediction(self, label: int, confidence: float) -> None:
        self.setText(f"{label}  ·  {confidence:.1%}")


class ProbabilityBars(pg.PlotWidget):
    """Ten bars, one per digit; the top class stands out."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("probabilities")
        self.setMenuEnabled(False)
        self.setMouseEnabled(x=False, y=False)
        self.hideButtons()
        self.setYRange(0, 1, padding=0.02)
        self.setXRange(-0.6, 9.6, padding=0)
        self.setLabel("left", self.tr("probability"))
        axis = self.getAxis("bottom")
        axis.setTicks([[(d, str(d)) for d in range(10)]])
        self._bars = pg.BarGraphItem(x=np.arange(10), height=np.zeros(10), width=BAR_WIDTH, brush=BAR_COLOUR, pen=None)
        self.addItem(self._bars)
        self.values = np.zeros(10, dtype=np.float32)
        self._fit()
        presentation().changed.connect(self._fit)

    def _fit(self) -> None:
        """Taller, wider bars in presentation mode."""
        self.setMinimumHeight(scaled(140))
        self._bars.setOpts(width=BAR_WIDTH_PRESENTING if presentation().active else BAR_WIDTH)

    def set_probabilities(self, probabilities: np.ndarray | None) -> None:
        values = np.zeros(10, dtype=np.float32) if probabilities is None else np.asarray(probabilities, np.float32)
        self.values = values
        brushes = [pg.mkBrush(BAR_COLOUR) for _ in range(10)]
        if probabilities is not None:
            brushes[int(values.argmax())] = pg.mkBrush(TOP_COLOUR)
        self._bars.setOpts(height=values, brushes=brushes)
