"""What the model sees: the preprocessing steps from the drawing to the 28×28 input."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QEvent, Qt
from PySide6.QtWidgets import QGraphicsRectItem, QWidget

from .plotting import SELECTION_RGB, pg
from .presentation import is_dark, presentation, scaled

if TYPE_CHECKING:
    from cnndesk.engine.preprocess import Preprocessed

# (the step, its caption: translated where shown)
STEPS = (
    ("cropped", QT_TRANSLATE_NOOP("InputView", "strokes")),
    ("scaled", QT_TRANSLATE_NOOP("InputView", "20 px box")),
    ("centred", QT_TRANSLATE_NOOP("InputView", "input 28×28")),
)


class InputView(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputView")
        self.setToolTip(self.tr("What the model sees: your strokes drawn again at a width that suits the digit's "
                                "size, cropped to the ink, fitted in a 20 px box, centred by mass in 28×28 — as "
                                "MNIST was made"))
        self.setMinimumHeight(130)
        presentation().changed.connect(self._fit)
        self.images: dict[str, pg.ImageItem] = {}
        for col, (key, title) in enumerate(STEPS):
            self.addLabel(QCoreApplication.translate("InputView", title), row=0, col=col, size="9pt")
            view = self.addViewBox(row=1, col=col, lockAspect=True, enableMouse=False, invertY=True)
            view.setMenuEnabled(False)
            view.enableAutoRange()
            item = pg.ImageItem(levels=(0.0, 1.0))
            view.addItem(item)
            self.images[key] = item
            if key == "centred":
                # The selected cell's receptive field on the model input.
                self.outline = QGraphicsRectItem()
                pen = pg.mkPen(SELECTION_RGB, width=2, style=Qt.PenStyle.DashLine)
                pen.setCosmetic(True)
                self.outline.setPen(pen)
                self.outline.setZValue(10)
                self.outline.hide()
                view.addItem(self.outline)
        self.show_steps(None)

    def _fit(self) -> None:
        self.setMinimumHeight(scaled(130))  # the steps' pictures grow with presentation mode's text

    def show_outline(self, box: tuple[int, int, int, int] | None) -> None:
        """Outline (x0, y0, x1, y1) on the 28×28 model input; None hides it."""
        if box is None:
            self.outline.hide()
            return
        x0, y0, x1, y1 = box
        self.outline.setRect(x0, y0, x1 - x0, y1 - y0)
        self.outline.show()

    def show_steps(self, steps: Preprocessed | None) -> None:
        self._steps = steps
        dark = is_dark(self.palette())
        for key, item in self.images.items():
            image = np.zeros((28, 28), np.float32) if steps is None else getattr(steps, key)
            # Shown as on paper, dark ink on white; in the dark theme as MNIST is, white ink on black.
            item.setImage(image if dark else 1.0 - image, levels=(0.0, 1.0), autoLevels=False)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_steps"):  # the theme: ink and paper
            self.show_steps(self._steps)
