"""Every layer's output for the current input: feature maps as image grids, vectors as bars."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtWidgets import QFrame, QScrollArea, QWidget

from .plotting import pg

if TYPE_CHECKING:
    from cnndesk.engine.inspect import Inspection, LayerActivation

MAX_MAPS_PER_ROW = 8
MAP_ROW_HEIGHT = 70  # px per row of feature maps
BAR_HEIGHT = 90
COLORMAP = pg.colormap.get("inferno")


def mosaic(maps: np.ndarray, columns: int) -> np.ndarray:
    """Tile (C, H, W) maps into one image, NaN (transparent) one-pixel gutters between them."""
    count, h, w = maps.shape
    rows = math.ceil(count / columns)
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan, dtype=np.float32)
    for i in range(count):
        r, c = divmod(i, columns)
        out[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = maps[i]
    return out


class _LayerRow:
    """The items showing one layer, created once per architecture and updated in place."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, layer: LayerActivation) -> None:
        self.signature = (layer.label, layer.shape)
        self.title = layout.addLabel(self._title(layer), row=row, col=0, justify="left", size="9pt")
        if layer.is_map:
            channels = layer.shape[0]
            self.columns = min(channels, MAX_MAPS_PER_ROW)
            self.view = layout.addViewBox(row=row + 1, col=0, lockAspect=True, enableMouse=False, invertY=True)
            self.view.setMenuEnabled(False)
            self.image = pg.ImageItem()
            self.image.setLookupTable(COLORMAP.getLookupTable(nPts=256))
            self.view.addItem(self.image)
            rows = math.ceil(channels / self.columns)
            layout.layout.setRowFixedHeight(row + 1, MAP_ROW_HEIGHT * rows)
            # The mosaic's size is fixed by the architecture: frame it once, not on every update (an autoRange
            # per stroke point walks every item's bounds).
            height, width = layer.shape[1], layer.shape[2]
            self.view.setRange(xRange=(0, self.columns * (width + 1) - 1), yRange=(0, rows * (height + 1) - 1),
                               padding=0.01)
            self.bars = None
        else:
            self.plot = layout.addPlot(row=row + 1, col=0)
            self.plot.setMenuEnabled(False)
            self.plot.setMouseEnabled(x=False, y=False)
            self.plot.hideButtons()
            size = layer.shape[0]
            self.plot.setXRange(-0.6, size - 0.4, padding=0)
            # Axes cost more to repaint than the bars; only the 10 class outputs get theirs (the digits).
            self.plot.hideAxis("left")
            if size <= 10:
                self.plot.getAxis("bottom").setTicks([[(i, str(i)) for i in range(size)]])
            else:
                self.plot.hideAxis("bottom")
            # One filled step curve rather than a BarGraphItem: a single path to paint instead of a picture of
            # 120 rectangles (the bar items were the largest cost of the GUI thread while training).
            self.edges = np.arange(size + 1, dtype=np.float64) - 0.5
            self.bars = pg.PlotCurveItem(self.edges, np.zeros(size), stepMode="center", fillLevel=0,
                                         brush=(90, 110, 160), pen=pg.mkPen((60, 80, 130), width=1))
            self.plot.addItem(self.bars)
            # The value axis is set by hand with some slack (see _fit_values): pyqtgraph's auto-range would move
            # it, and relabel both axes, at every stroke point.
            self.plot.disableAutoRange(axis="y")
            self.y_range = (0.0, 1.0)
            self.plot.setYRange(*self.y_range, padding=0.05)
            layout.layout.setRowFixedHeight(row + 1, BAR_HEIGHT)
        layout.layout.setRowFixedHeight(row, 20)

    @staticmethod
    def _title(layer: LayerActivation) -> str:
        return f"<b>{layer.label}</b>  {list(layer.shape)}"

    def update(self, layer: LayerActivation) -> None:
        values = layer.output
        if self.bars is None:
            image = mosaic(values, self.columns)
            lo, hi = float(np.nanmin(image)), float(np.nanmax(image))
            self.image.setImage(image, levels=(lo, hi if hi > lo else lo + 1e-6), autoLevels=False)
        else:
            self.bars.setData(self.edges, values)
            self._fit_values(float(min(values.min(), 0.0)), float(max(values.max(), 0.0)))

    def _fit_values(self, lo: float, hi: float) -> None:
        """Grow the value range to hold the bars at once; shrink it only once they use less than half of it."""
        span = max(hi - lo, 1e-6)
        low, high = self.y_range
        if lo < low or hi > high or span < 0.5 * (high - low):
            fitted = (lo - 0.1 * span if lo < 0 else 0.0, hi + 0.1 * span if hi > 0 else 0.0)
            if fitted[1] - fitted[0] < 1e-5:
                fitted = (0.0, 1.0)  # all zero (a blank input through ReLU): any range shows that
            if fitted != self.y_range:
                self.y_range = fitted
                self.plot.setYRange(*fitted, padding=0.05)

    def clear(self) -> None:
        if self.bars is None:
            self.image.clear()
        else:
            self.bars.setData(self.edges, np.zeros(self.signature[1][0]))


class ActivationsView(QScrollArea):
    """A scrollable column of every visible layer; rebuilt only when the architecture changes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activations")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.graphics = pg.GraphicsLayoutWidget()
        self.setWidget(self.graphics)
        self.rows: list[_LayerRow] = []
        self._signature: tuple = ()

    def layer_titles(self) -> list[str]:
        return [row.signature[0] for row in self.rows]

    def _rebuild(self, layers: list[LayerActivation]) -> None:
        self.graphics.clear()
        self.rows = [_LayerRow(self.graphics.ci, 2 * i, layer) for i, layer in enumerate(layers)]
        self._signature = tuple((layer.label, layer.shape) for layer in layers)
        height = sum(20 + (MAP_ROW_HEIGHT * math.ceil(layer.shape[0] / min(layer.shape[0], MAX_MAPS_PER_ROW))
                           if layer.is_map else BAR_HEIGHT) for layer in layers)
        spacing = 12 * 2 * len(layers)  # the layout's spacing between rows, and margins
        self.graphics.setMinimumHeight(height + spacing + 20)

    def show_layers(self, layers: list[LayerActivation]) -> None:
        signature = tuple((layer.label, layer.shape) for layer in layers)
        if signature != self._signature:
            self._rebuild(layers)
        for row, layer in zip(self.rows, layers, strict=True):
            row.update(layer)

    def show_inspection(self, inspection: Inspection | None) -> None:
        if inspection is None:
            for row in self.rows:
                row.clear()
            return
        self.show_layers(inspection.layers)

    def set_architecture(self, layers: list[LayerActivation]) -> None:
        """Lay out the rows for a model before anything is drawn (shown empty)."""
        signature = tuple((layer.label, layer.shape) for layer in layers)
        if signature != self._signature:
            self._rebuild(layers)
        for row in self.rows:
            row.clear()
