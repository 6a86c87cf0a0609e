"""What each layer looks for: every conv layer's kernels as image grids (an MLP's first layer as 28×28 templates),
on a diverging colour scale with zero neutral, a legend per layer, and the value under the pointer."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from .enlarged_map import enlarge
from .plotting import pg
from .presentation import diverging_colormap, presentation, scaled, style_graphics

if TYPE_CHECKING:
    from cnndesk.engine.inspect import LayerFilters

COLORMAP = pg.colormap.get("CET-D1")  # blue, white at zero, red: the sign of a weight at a glance
ROW_HEIGHT = 46  # px per row of kernels


class _FilterRow:
    """The items showing one layer's filters, built once per architecture and updated in place."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, layer: LayerFilters, title: str) -> None:
        from cnndesk.engine.inspect import filter_grid  # PyTorch: loaded by the time there are filters to show

        self.layer = layer
        self.title = layout.addLabel(title, row=row, col=0, colspan=2, justify="left", size="9pt")
        self.view = layout.addViewBox(row=row + 1, col=0, lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        grid, rows, columns = filter_grid(layer)
        self.rows, self.columns = rows, columns
        self.image.setImage(grid, autoLevels=False)
        self.view.setRange(xRange=(0, grid.shape[1]), yRange=(0, grid.shape[0]), padding=0.02)
        tile = layer.weights.shape[-1]
        row_height = scaled(ROW_HEIGHT)
        layout.layout.setRowFixedHeight(row + 1, max(row_height, min(rows * row_height,
                                                                     rows * (tile + 1) * scaled(6))))
        limit = layer.limit or 1.0
        # The legend: the colour scale with its values, tied to the image's levels.
        self.bar = pg.ColorBarItem(values=(-limit, limit), colorMap=diverging_colormap(), interactive=False,
                                   width=scaled(12))
        self.bar.setImageItem(self.image)
        layout.addItem(self.bar, row=row + 1, col=1)
        self.update(layer)

    def update(self, layer: LayerFilters, limit: float | None = None) -> None:
        """New weights for this layer; ``limit``: the colour scale's ends (default: its own largest weight)."""
        from cnndesk.engine.inspect import filter_grid

        self.layer = layer
        grid, _, _ = filter_grid(layer)
        limit = limit or layer.limit or 1.0
        self.image.setImage(grid, autoLevels=False)
        self.bar.setLevels((-limit, limit))  # symmetric: zero stays white

    def _hit(self, scene_pos: QPointF) -> tuple[str, np.ndarray, int, int] | None:
        """The kernel (or template) under a point of the scene: its name, its weights and the weight's (row,
        column) in it; None off them."""
        if not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view.mapSceneToView(scene_pos)
        x, y = math.floor(point.x()), math.floor(point.y())
        weights = self.layer.weights
        h, w = weights.shape[-2:]
        tile_row, ky = divmod(y, h + 1)
        tile_col, kx = divmod(x, w + 1)
        if x < 0 or y < 0 or ky >= h or kx >= w or tile_row >= self.rows or tile_col >= self.columns:
            return None
        if self.layer.kind == "templates":
            unit = tile_row * self.columns + tile_col
            return None if unit >= len(weights) else (f"{self.layer.name}[{unit}]", weights[unit], ky, kx)
        out_channel, in_channel = (tile_col, 0) if weights.shape[1] == 1 else (tile_row, tile_col)
        return f"{self.layer.name}[{out_channel}, {in_channel}]", weights[out_channel, in_channel], ky, kx

    def kernel_at(self, scene_pos: QPointF) -> tuple[str, np.ndarray] | None:
        """The kernel (or template) under a point of the scene: its name and weights; None off them."""
        hit = self._hit(scene_pos)
        return None if hit is None else hit[:2]

    def value_at(self, scene_pos: QPointF) -> str | None:
        """Which weight is under the pointer, and its value; None off this layer's image."""
        hit = self._hit(scene_pos)
        if hit is None:
            return None
        name, kernel, ky, kx = hit
        return f"{name} ({ky}, {kx}): {kernel[ky, kx]:+.4f}"


class FiltersView(QWidget):
    """The filters of every layer that has them, following the weights while a run trains."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("filtersView")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFrameShape(QFrame.Shape.NoFrame)
        self.layout_ = self.graphics.ci
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setWidget(self.graphics)
        self.hoverLabel = QLabel(self._hint(), objectName="filterValue")
        self.hoverLabel.setWordWrap(True)  # the hint, in a narrow column (presentation mode's larger font)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.scroll, 1)
        box.addWidget(self.hoverLabel)
        self.rows: list[_FilterRow] = []
        self._signature: tuple = ()
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.graphics.setToolTip(self.tr("Double-click a kernel to enlarge it."))
        self._shown: tuple[list[LayerFilters], dict[str, float] | None] = ([], None)
        presentation().changed.connect(self._relayout)

    def show_filters(self, layers: list[LayerFilters], limits: dict[str, float] | None = None) -> None:
        """Each layer's weights; ``limits``: a colour scale per layer name to keep (the replay keeps the final
        weights' scale, so that kernels are seen to grow from faint noise), else each layer's own."""
        signature = tuple((layer.name, layer.weights.shape) for layer in layers)
        if signature != self._signature:
            self._rebuild(layers)
            self._signature = signature
        for row, layer in zip(self.rows, layers, strict=True):
            row.update(layer, (limits or {}).get(layer.name))
        self._shown = (layers, limits)
        if not self.graphics.underMouse():  # a value read before is not these weights' any more
            self.hoverLabel.setText(self._hint())

    def _rebuild(self, layers: list[LayerFilters]) -> None:
        self.layout_.clear()
        self.rows = []
        height = 0
        for index, layer in enumerate(layers):
            shape = "×".join(map(str, layer.weights.shape[1:]))
            if layer.kind == "templates":
                title = self.tr("{name} · {count} units, each a 28×28 template of weights").format(
                    name=layer.name, count=len(layer.weights))
            else:
                title = self.tr("{name} · {count} kernels of {shape}").format(name=layer.name,
                                                                             count=layer.weights.shape[0], shape=shape)
            row = _FilterRow(self.layout_, 2 * index, layer, title)
            self.rows.append(row)
            height += 24 + self.layout_.layout.rowMaximumHeight(2 * index + 1)
        self.graphics.setMinimumHeight(max(100, int(height)))
        style_graphics(self.graphics)  # presentation mode's label sizes, the theme's colours
        self.hoverLabel.setText(self._hint() if layers else self.tr(
            "This model has no convolution and no fully connected first layer on the input to show."))

    def _relayout(self) -> None:
        """Presentation mode turned on or off: the rows again at the new scale and colour map."""
        if self.rows:
            self._signature = ()
            self.show_filters(*self._shown)

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or not event.double():
            return
        self.enlarge_at(event.scenePos())

    def enlarge_at(self, scene_pos: QPointF) -> None:
        """Show the kernel under a point of the scene large, on its layer's colour scale."""
        for row in self.rows:
            found = row.kernel_at(scene_pos)
            if found is not None:
                name, weights = found
                enlarge(self, self.tr("{kernel} · kernel of {size}").format(
                    kernel=name, size="×".join(map(str, weights.shape))), weights, row.bar.levels(),
                    diverging_colormap())
                return

    def _hint(self) -> str:
        return self.tr("Point at a weight to read it; blue is negative, red positive, white zero.")

    def _hover(self, scene_pos: QPointF) -> None:
        for row in self.rows:
            text = row.value_at(scene_pos)
            if text is not None:
                self.hoverLabel.setText(text)
                return
