"""What excites each channel of a layer: the input found by gradient ascent, beside the nine MNIST test patches
(each the channel's receptive field) that excite it most."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QPushButton, QScrollArea, QVBoxLayout, QWidget

from .plotting import pg

if TYPE_CHECKING:
    from cnndesk.engine.maximize import ChannelWants

ROW_HEIGHT = 56  # px per channel
PATCHES = 9
GUTTER_GREY = 0.7  # between patches (white is paper)


def patch_strip(patches, height: int = 28) -> np.ndarray:
    """The patches side by side, each padded to ``height`` rows (centred), one NaN column between them."""
    tiles = []
    for patch in patches:
        pixels = np.asarray(patch.pixels, np.float32)
        h, w = pixels.shape
        tile = np.full((height, w), np.nan, np.float32)
        top = (height - h) // 2
        tile[top:top + h] = pixels
        tiles.append(tile)
        tiles.append(np.full((height, 1), np.nan, np.float32))
    return np.concatenate(tiles[:-1], axis=1) if tiles else np.zeros((height, 1), np.float32)


class WantsView(QWidget):
    """A layer chooser, a button, and one row per channel. The panel computes; this shows."""

    requested = Signal(str)  # the layer to compute

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filterWants")
        self.layerBox = QComboBox(objectName="wantsLayer")
        self.showButton = QPushButton(self.tr("Find what excites each channel"), objectName="wantsButton")
        self.showButton.setToolTip(self.tr("Gradient ascent from a blank input, and a pass over the 10,000 MNIST "
                                           "test digits; computed in the background"))
        self.status = QLabel(objectName="wantsStatus")
        self.status.setWordWrap(True)
        controls = QHBoxLayout()
        controls.addWidget(QLabel(self.tr("Layer")))
        controls.addWidget(self.layerBox)
        controls.addWidget(self.showButton)
        controls.addStretch(1)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.graphics)
        self.legend = QLabel(self.tr("Left: the input the channel responds to most, found by gradient ascent, where "
                                     "the channel looks (its receptive field). Right: the nine MNIST test patches "
                                     "it responds to most, strongest first."),
                             objectName="wantsLegend")
        self.legend.setWordWrap(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(controls)
        box.addWidget(self.legend)
        box.addWidget(self.scroll, 1)
        box.addWidget(self.status)
        self.wants: list[ChannelWants] = []
        self.showButton.clicked.connect(lambda: self.requested.emit(self.layer or ""))

    @property
    def layer(self) -> str | None:
        return self.layerBox.currentData()

    def set_layers(self, names: list[str], preferred: str | None = None) -> None:
        """The layers to choose from: the one chosen before stays chosen, else ``preferred`` if there is one."""
        previous = self.layer
        self.layerBox.clear()
        for name in names:
            self.layerBox.addItem(self.tr("classes (logits)") if name == "logits" else name, name)
        index = self.layerBox.findData(previous)
        if index < 0 and preferred is not None:
            index = self.layerBox.findData(preferred)
        self.layerBox.setCurrentIndex(max(index, 0))
        self.showButton.setEnabled(bool(names))

    def show_waiting(self, layer: str) -> None:
        self.status.setText(self.tr("Finding what excites each channel of {layer}…").format(layer=layer))
        self.showButton.setEnabled(False)

    def show_stale(self) -> None:
        if self.wants:
            self.status.setText(self.tr("The weights have changed since: these pictures are of the earlier ones."))

    def show_message(self, message: str) -> None:
        self.status.setText(message)
        self.showButton.setEnabled(True)

    def show_wants(self, wants: list[ChannelWants], seconds: float) -> None:
        self.wants = wants
        self.showButton.setEnabled(True)
        layout = self.graphics.ci
        layout.clear()
        for row, want in enumerate(wants):
            if want.layer == "logits":
                caption = self.tr("class {channel}").format(channel=want.channel)
            else:
                caption = self.tr("channel {channel}").format(channel=want.channel)
            layout.addLabel(caption, row=row, col=0, size="9pt")
            # The found input where the channel looks (its receptive field), beside the patches of the same size.
            x0, y0, x1, y1 = want.box
            wanted = want.image[y0:y1, x0:x1]
            patches = want.patches[:PATCHES]
            strip = patch_strip(patches, height=max([wanted.shape[0], *(p.pixels.shape[0] for p in patches)]))
            for col, image in ((1, wanted), (2, strip)):
                view = layout.addViewBox(row=row, col=col, lockAspect=True, enableMouse=False, invertY=True)
                view.setMenuEnabled(False)
                shown = 1.0 - image  # ink dark, as on paper; the gutters between patches a light grey
                shown[np.isnan(shown)] = GUTTER_GREY
                item = pg.ImageItem(shown, levels=(0.0, 1.0))
                view.addItem(item)
                view.setRange(xRange=(0, image.shape[1]), yRange=(0, image.shape[0]), padding=0.02)
            layout.layout.setRowFixedHeight(row, ROW_HEIGHT)
        layout.layout.setColumnStretchFactor(1, 1)
        layout.layout.setColumnStretchFactor(2, 8)
        self.graphics.setMinimumHeight(len(wants) * (ROW_HEIGHT + 6) + 10)
        if wants:
            self.status.setText(self.tr("{count} channels of {layer} in {seconds:.1f} s.").format(
                count=len(wants), layer=wants[0].layer, seconds=seconds))
