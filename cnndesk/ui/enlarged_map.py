"""One map shown large: a feature map, a kernel or an attribution map, double-clicked in its view.

A frameless box over the window, three quarters of the screen's height, the pixels drawn as squares (no smoothing:
a 5×5 kernel stays 25 cells), with its title and its colour scale. Esc or a click closes it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QKeyEvent, QMouseEvent
from PySide6.QtWidgets import QDialog, QLabel, QVBoxLayout, QWidget

from .plotting import pg
from .presentation import style_graphics

SCREEN_FRACTION = 0.75  # of the screen's height


class EnlargedMap(QDialog):
    """``EnlargedMap(parent, title, values, levels, colormap)``: ``values`` (H, W), ``levels`` the colour scale's
    ends (the view's own, so colours mean what they meant there)."""

    def __init__(self, parent: QWidget | None, title: str, values: np.ndarray, levels: tuple[float, float],
                 colormap: pg.ColorMap) -> None:
        super().__init__(parent, Qt.WindowType.Dialog | Qt.WindowType.FramelessWindowHint)
        self.setObjectName("enlargedMap")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.values = np.asarray(values, dtype=np.float32)
        self.graphics = pg.GraphicsLayoutWidget()
        layout = self.graphics.ci
        self.title = layout.addLabel(title, row=0, col=0, colspan=2, size="14pt", bold=True)
        self.view = layout.addViewBox(row=1, col=0, lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem(self.values, autoLevels=False)
        self.view.addItem(self.image)
        height, width = self.values.shape
        self.view.setRange(xRange=(0, width), yRange=(0, height), padding=0.01)
        low, high = levels
        self.bar = pg.ColorBarItem(values=(low, high if high > low else low + 1e-6), colorMap=colormap,
                                   interactive=False, width=24)
        self.bar.setImageItem(self.image)
        layout.addItem(self.bar, row=1, col=1)
        self.hint = QLabel(self.tr("Esc or a click closes it."), alignment=Qt.AlignmentFlag.AlignCenter)
        box = QVBoxLayout(self)
        box.setContentsMargins(8, 8, 8, 8)
        box.addWidget(self.graphics, 1)
        box.addWidget(self.hint)
        self.graphics.scene().sigMouseClicked.connect(lambda _event: self.close())
        style_graphics(self.graphics)
        self._fit(width / max(height, 1))

    def _fit(self, aspect: float) -> None:
        """Three quarters of the screen's height (square pixels), centred on the window."""
        parent = self.parentWidget()
        screen = (parent.screen() if parent is not None else None) or QGuiApplication.primaryScreen()
        area = screen.availableGeometry()
        side = int(area.height() * SCREEN_FRACTION)
        width = min(int(side * aspect) + 120, int(area.width() * 0.95))  # + the colour scale and its numbers
        self.resize(width, side)
        centre = parent.frameGeometry().center() if parent is not None else area.center()
        self.move(centre.x() - width // 2, centre.y() - side // 2)

    def mousePressEvent(self, event: QMouseEvent) -> None:  # on the hint or the margin
        self.close()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.close()
            return
        super().keyPressEvent(event)


def enlarge(parent: QWidget, title: str, values: np.ndarray, levels: tuple[float, float],
            colormap: pg.ColorMap) -> EnlargedMap:
    """Open a map large over ``parent``'s window (non-blocking; modal, so Esc reaches it, not the window)."""
    dialog = EnlargedMap(parent.window(), title, values, levels, colormap)
    dialog.setWindowModality(Qt.WindowModality.WindowModal)
    dialog.show()
    dialog.activateWindow()
    dialog.setFocus()
    return dialog


__all__ = ["EnlargedMap", "enlarge"]
