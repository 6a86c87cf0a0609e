"""What the model sees: the preprocessing steps from the drawing to the 28×28 input."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtWidgets import QWidget

from .plotting import pg

if TYPE_CHECKING:
    from cnndesk.engine.preprocess import Preprocessed

# (the step, its caption: translated where shown)
STEPS = (
    ("cropped", QT_TRANSLATE_NOOP("InputView", "ink")),
    ("scaled", QT_TRANSLATE_NOOP("InputView", "20 px box")),
    ("centred", QT_TRANSLATE_NOOP("InputView", "model input 28×28")),
)


class InputView(pg.GraphicsLayoutWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inputView")
        self.setMinimumHeight(130)
        self.images: dict[str, pg.ImageItem] = {}
        for col, (key, title) in enumerate(STEPS):
            self.addLabel(QCoreApplication.translate("InputView", title), row=0, col=col, size="9pt")
            view = self.addViewBox(row=1, col=col, lockAspect=True, enableMouse=False, invertY=True)
            view.setMenuEnabled(False)
            view.enableAutoRange()
            item = pg.ImageItem(levels=(0.0, 1.0))
            view.addItem(item)
            self.images[key] = item
        self.show_steps(None)

    def show_steps(self, steps: Preprocessed | None) -> None:
        for key, item in self.images.items():
            image = np.zeros((28, 28), np.float32) if steps is None else getattr(steps, key)
            # Shown as on paper: dark ink on white.
            item.setImage(1.0 - image, levels=(0.0, 1.0), autoLevels=False)
