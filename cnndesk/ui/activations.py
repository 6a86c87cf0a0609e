"""Every layer's output for the current input: feature maps as image grids, vectors as bars."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QCursor, QResizeEvent
from PySide6.QtWidgets import QFrame, QGraphicsRectItem, QScrollArea, QWidget

from .enlarged_map import enlarge
from .plotting import SELECTION_RGB, pg
from .presentation import presentation, scaled, style_graphics

if TYPE_CHECKING:
    from cnndesk.engine.inspect import Inspection, LayerActivation

MAX_MAPS_PER_ROW = 8
MAP_ROW_HEIGHT = 70  # px per row of feature maps, at most (less where the column is too narrow for it)
MAP_ROW_SLACK = 2  # px a row of maps has beyond its mosaic's height (the view's own padding)
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
        self.name = layer.name
        self.values: np.ndarray | None = None  # the values shown (None: cleared)
        self._layout, self._row = layout, row + 1  # the grid row of the maps or bars
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
            self.full_height = scaled(MAP_ROW_HEIGHT) * rows  # the most it takes: fit_height may give it less
            # The mosaic's size is fixed by the architecture: frame it once, not on every update (an autoRange
            # per stroke point walks every item's bounds).
            height, width = layer.shape[1], layer.shape[2]
            self.aspect = (rows * (height + 1) - 1) / (self.columns * (width + 1) - 1)  # its height per width
            layout.layout.setRowFixedHeight(row + 1, self.full_height)
            self.view.setRange(xRange=(0, self.columns * (width + 1) - 1), yRange=(0, rows * (height + 1) - 1),
                               padding=0.01)
            self.bars = None
            self.marker = QGraphicsRectItem(0, 0, 1, 1)
            pen = pg.mkPen(SELECTION_RGB, width=2)
            pen.setCosmetic(True)
            self.marker.setPen(pen)
            self.marker.setZValue(10)
            self.view.addItem(self.marker)
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
            self.marker = pg.LinearRegionItem(movable=False, brush=(*SELECTION_RGB, 90),
                                              pen=pg.mkPen(SELECTION_RGB, width=1))
            self.plot.addItem(self.marker)
            # The value axis is set by hand with some slack (see _fit_values): pyqtgraph's auto-range would move
            # it, and relabel both axes, at every stroke point.
            self.plot.disableAutoRange(axis="y")
            self.y_range = (0.0, 1.0)
            self.plot.setYRange(*self.y_range, padding=0.05)
            self.full_height = scaled(BAR_HEIGHT)
            layout.layout.setRowFixedHeight(row + 1, self.full_height)
        layout.layout.setRowFixedHeight(row, scaled(20))
        self.marker.hide()

    def fit_height(self, width: float) -> int:
        """Give the maps' row the height their mosaic takes at ``width`` (at most ``full_height``): the view keeps
        the maps' aspect, so a narrow column would otherwise leave a gap between the title and its maps. Bars
        stretch to any width and keep their height. Returns the row's height."""
        height = self.full_height
        if self.bars is None and width > 0:
            height = min(height, math.ceil(width * self.aspect) + MAP_ROW_SLACK)
        if self._layout.layout.rowMaximumHeight(self._row) != height:
            self._layout.layout.setRowFixedHeight(self._row, height)
        return height

    @staticmethod
    def _title(layer: LayerActivation) -> str:
        return f"<b>{layer.label}</b>  {list(layer.shape)}"

    def cell_at(self, scene_pos: QPointF) -> tuple[int, ...] | None:
        """The cell under a point of the scene: (channel, y, x) of a map, (unit,) of a vector; None elsewhere."""
        shape = self.signature[1]
        if self.bars is None:
            if not self.view.sceneBoundingRect().contains(scene_pos):
                return None
            point = self.view.mapSceneToView(scene_pos)
            x, y = math.floor(point.x()), math.floor(point.y())
            height, width = shape[1], shape[2]
            tile_row, cy = divmod(y, height + 1)
            tile_col, cx = divmod(x, width + 1)
            channel = tile_row * self.columns + tile_col
            if x < 0 or y < 0 or cy >= height or cx >= width or tile_col >= self.columns or channel >= shape[0]:
                return None
            return channel, cy, cx
        if not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            return None
        unit = round(self.plot.vb.mapSceneToView(scene_pos).x())
        return (unit,) if 0 <= unit < shape[0] else None

    def enlarge(self, cell: tuple[int, ...], parent: QWidget, title: str) -> None:
        """Open the map of the cell's channel large, on this layer's colour scale (vectors have no map)."""
        if self.bars is not None or self.values is None:
            return
        enlarge(parent, title, self.values[cell[0]], self.image.getLevels(), COLORMAP)

    def value(self, cell: tuple[int, ...]) -> float | None:
        return None if self.values is None else float(self.values[cell])

    def mark(self, cell: tuple[int, ...] | None) -> None:
        """Outline the selected cell (None: no mark on this layer)."""
        if cell is None:
            self.marker.hide()
            return
        if self.bars is None:
            channel, y, x = cell
            height, width = self.signature[1][1:]
            tile_row, tile_col = divmod(channel, self.columns)
            self.marker.setRect(tile_col * (width + 1) + x, tile_row * (height + 1) + y, 1, 1)
        else:
            self.marker.setRegion((cell[0] - 0.5, cell[0] + 0.5))
        self.marker.show()

    def update(self, layer: LayerActivation) -> None:
        values = layer.output
        self.values = values
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
        self.values = None
        if self.bars is None:
            self.image.clear()
        else:
            self.bars.setData(self.edges, np.zeros(self.signature[1][0]))


class ActivationsView(QScrollArea):
    """A scrollable column of every visible layer; rebuilt only when the architecture changes. A click on a cell
    selects it (``cellClicked``); pointing at one tells its value (``hovered``)."""

    cellClicked = Signal(str, tuple)  # (layer name, cell): (channel, y, x) of a map, (unit,) of a vector
    hovered = Signal(str)  # the layer, cell and value under the pointer ("" off the maps)
    fit_rows_to_width = True  # rows of maps as tall as the maps at the view's width (a subclass may size its own)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("activations")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.graphics = pg.GraphicsLayoutWidget()
        self.setWidget(self.graphics)
        self.rows: list[_LayerRow] = []
        self._signature: tuple = ()
        self._marked: tuple[str, tuple[int, ...]] | None = None
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.verticalScrollBar().valueChanged.connect(lambda _value: self.refresh_hover())
        self._layers: list[LayerActivation] = []
        self._shown = False  # the rows hold values (else: the architecture, empty)
        self.graphics.setToolTip(self.tr("Click a cell to see how it was computed; double-click a map to enlarge "
                                         "it."))
        presentation().changed.connect(self._relayout)

    def cell_at(self, scene_pos: QPointF) -> tuple[str, tuple[int, ...]] | None:
        for row in self.rows:
            cell = row.cell_at(scene_pos)
            if cell is not None:
                return row.name, cell
        return None

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        found = self.cell_at(event.scenePos())
        if found is None:
            return
        if event.double():  # (its first click has selected the cell already)
            self.enlarge(*found)
        else:
            self.cellClicked.emit(*found)

    def enlarge(self, layer: str, cell: tuple[int, ...]) -> None:
        """Show the feature map holding ``cell`` large (a double-click on it)."""
        row = next((row for row in self.rows if row.name == layer), None)
        if row is not None:
            row.enlarge(cell, self, self.tr("{layer} · channel {channel}").format(layer=row.signature[0],
                                                                                  channel=cell[0]))

    def _hover(self, scene_pos: QPointF) -> None:
        found = self.cell_at(scene_pos)
        if found is None:
            self.hovered.emit("")
            return
        name, cell = found
        row = next(row for row in self.rows if row.name == name)
        value = row.value(cell)
        where = ", ".join(map(str, cell))
        self.hovered.emit(f"{row.signature[0]} [{where}]" + ("" if value is None else f" = {value:+.4f}"))

    def mark(self, layer: str | None, cell: tuple[int, ...] | None) -> None:
        """Outline one cell of one layer (the selection); None clears the mark."""
        self._marked = None if layer is None or cell is None else (layer, tuple(cell))
        for row in self.rows:
            row.mark(cell if self._marked is not None and row.name == layer else None)
        if self._marked is not None:
            self.show_layer(layer)

    def show_layer(self, layer: str) -> None:
        """Scroll so that the layer's title and maps are in view (the explainer below may have taken room)."""
        row = next((row for row in self.rows if row.name == layer), None)
        if row is None:
            return
        top = self.graphics.mapFromScene(row.title.sceneBoundingRect().topLeft()).y()
        maps = (row.view if row.bars is None else row.plot.vb).sceneBoundingRect()
        bottom = self.graphics.mapFromScene(maps.bottomLeft()).y()
        self.ensureVisible(0, int(bottom), 0, 0)
        self.ensureVisible(0, int(top), 0, 0)  # the title wins when both do not fit

    def row_rect(self, layer: str):
        """Where a layer's maps are, in the scene (for tests that click on them)."""
        row = next(row for row in self.rows if row.name == layer)
        return (row.view if row.bars is None else row.plot.vb).sceneBoundingRect()

    def layer_titles(self) -> list[str]:
        return [row.signature[0] for row in self.rows]

    def _rebuild(self, layers: list[LayerActivation]) -> None:
        self.graphics.clear()
        self.rows = [_LayerRow(self.graphics.ci, 2 * i, layer) for i, layer in enumerate(layers)]
        self._signature = tuple((layer.label, layer.shape) for layer in layers)
        self._marked = None
        self._layers = layers
        self._fit_rows()
        style_graphics(self.graphics)  # presentation mode's label sizes and lines, the theme's colours

    def _fit_rows(self) -> None:
        """Each row of maps as tall as its maps at the column's width, and the scrolled height their sum."""
        if not self.rows:
            return
        left, _top, right, _bottom = self.graphics.ci.layout.getContentsMargins()
        width = self.viewport().width() - left - right if self.fit_rows_to_width else 0  # 0: full heights
        height = sum(scaled(20) + row.fit_height(width) for row in self.rows)
        spacing = 12 * 2 * len(self.rows)  # the layout's spacing between rows, and margins
        self.graphics.setMinimumHeight(height + spacing + 20)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.fit_rows_to_width:
            self._fit_rows()

    def _relayout(self) -> None:
        """Presentation mode turned on or off: the rows again at the new scale, with what they showed."""
        if not self.rows:
            return
        marked, self._signature = self._marked, ()
        if self._shown:
            self.show_layers(self._layers)
        else:
            self.set_architecture(self._layers)
        if marked is not None:
            self.mark(*marked)

    def show_layers(self, layers: list[LayerActivation]) -> None:
        signature = tuple((layer.label, layer.shape) for layer in layers)
        if signature != self._signature:
            self._rebuild(layers)
        for row, layer in zip(self.rows, layers, strict=True):
            row.update(layer)
        self._layers, self._shown = layers, True
        self.refresh_hover()

    def refresh_hover(self) -> None:
        """Tell the value under the pointer again (new values, or the maps scrolled under a still pointer); off the
        maps, say nothing is pointed at."""
        if not self.graphics.underMouse():
            self.hovered.emit("")
            return
        self._hover(self.graphics.mapToScene(self.graphics.viewport().mapFromGlobal(QCursor.pos())))

    def show_inspection(self, inspection: Inspection | None) -> None:
        if inspection is None:
            for row in self.rows:
                row.clear()
            self._shown = False
            return
        self.show_layers(inspection.layers)

    def set_architecture(self, layers: list[LayerActivation]) -> None:
        """Lay out the rows for a model before anything is drawn (shown empty)."""
        signature = tuple((layer.label, layer.shape) for layer in layers)
        if signature != self._signature:
            self._rebuild(layers)
        for row in self.rows:
            row.clear()
        self._shown = False
