"""How one value of one layer came about, written out: for a convolution the input patch of every input channel, the
kernel, their element-wise products, each channel's sum, the bias and the activation; for pooling the window and
the winner; for a fully connected unit the inputs that weigh most. The numbers are the engine's NumPy reference
(CS231N's naive forward passes), with PyTorch's own value beside them."""

from __future__ import annotations

import html
import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from .filters_view import COLORMAP as DIVERGING
from .plotting import SELECTION_RGB, pg

if TYPE_CHECKING:
    from cnndesk.engine.explain import CellExplanation

MAX_CHANNELS = 16  # input channels drawn (those whose products sum furthest from zero); all are summed
TILE_HEIGHT = 38  # px per row of tiles: three rows fit under the maps at 720 px
GREY = pg.ColorMap([0.0, 1.0], [(255, 255, 255), (0, 0, 0)])  # input values: ink dark, as on paper


def _tiles(stack: np.ndarray) -> np.ndarray:
    """(C, k, k) side by side with one-pixel NaN gutters."""
    count, h, w = stack.shape
    out = np.full((h, count * (w + 1) - 1), np.nan, dtype=np.float32)
    for i in range(count):
        out[:, i * (w + 1): i * (w + 1) + w] = stack[i]
    return out


def _number(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:+.4f}"


class _TileRow:
    """One row of the picture: a caption, tiles on a colour scale, and that scale's legend."""

    def __init__(self, layout: pg.GraphicsLayout, row: int, caption: str, colormap: pg.ColorMap) -> None:
        self.caption = layout.addLabel(caption, row=row, col=0, justify="right", size="9pt")
        self.view = layout.addViewBox(row=row, col=1, lockAspect=True, enableMouse=False, invertY=True)
        self.view.setMenuEnabled(False)
        self.image = pg.ImageItem()
        self.view.addItem(self.image)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=colormap, interactive=False, width=10)
        self.bar.setImageItem(self.image)
        layout.addItem(self.bar, row=row, col=2)
        layout.layout.setRowFixedHeight(row, TILE_HEIGHT)
        self.values: np.ndarray | None = None  # (C, k, k)
        self.channels: list[int] = []

    def show(self, stack: np.ndarray, channels: list[int], levels: tuple[float, float]) -> None:
        self.values, self.channels = stack, channels
        grid = _tiles(stack)
        self.image.setImage(grid, autoLevels=False)
        self.bar.setLevels(levels)
        self.view.setRange(xRange=(0, grid.shape[1]), yRange=(0, grid.shape[0]), padding=0.02)

    def value_at(self, scene_pos: QPointF) -> tuple[int, int, int, float] | None:
        """(input channel, row, col, value) under the pointer."""
        if self.values is None or not self.view.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.view.mapSceneToView(scene_pos)
        x, y = math.floor(point.x()), math.floor(point.y())
        _, h, w = self.values.shape
        tile, kx = divmod(x, w + 1)
        if x < 0 or not 0 <= y < h or kx >= w or tile >= len(self.channels):
            return None
        return self.channels[tile], y, kx, float(self.values[tile, y, kx])


class CellExplainer(QWidget):
    """The computation behind the selected cell (hidden while no cell is selected)."""

    closeRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("cellExplainer")
        self.title = QLabel(objectName="explainerTitle")
        self.title.setWordWrap(True)
        self.closeButton = QToolButton(objectName="explainerClose", text="×")
        self.closeButton.setToolTip(self.tr("Close the explanation and clear the selected cell"))
        self.closeButton.setAutoRaise(True)
        self.closeButton.clicked.connect(self.closeRequested)
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFrameShape(QFrame.Shape.NoFrame)
        self.formula = QLabel(objectName="explainerFormula")
        self.formula.setWordWrap(True)
        self.formula.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.formula.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.hoverLabel = QLabel(objectName="explainerValue")
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 2, 4, 2)
        box.setSpacing(2)
        head = QHBoxLayout()
        head.addWidget(self.title, 1)
        head.addWidget(self.closeButton, 0, Qt.AlignmentFlag.AlignTop)
        box.addLayout(head)
        # The picture on the left, the sums written out on the right: both fit under the maps at 720 px.
        self.picture = QWidget()  # hidden when there is nothing to draw (a fully connected unit): text only
        picture = QVBoxLayout(self.picture)
        picture.setContentsMargins(0, 0, 0, 0)
        picture.addWidget(self.graphics, 1)
        picture.addWidget(self.hoverLabel)
        text = QScrollArea()
        text.setWidgetResizable(True)
        text.setFrameShape(QFrame.Shape.NoFrame)
        text.setWidget(self.formula)
        body = QHBoxLayout()
        body.addWidget(self.picture, 1)
        body.addWidget(text, 1)
        box.addLayout(body, 1)
        self.rows: list[_TileRow] = []
        self._layout_kind = ""
        self.explanation: CellExplanation | None = None
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.show_explanation(None)

    # -- what is shown ---------------------------------------------------------------------------------
    def show_explanation(self, explanation: CellExplanation | None) -> None:
        self.explanation = explanation
        if explanation is None:
            self.title.clear()
            self.formula.clear()
            self.hoverLabel.clear()
            self._set_layout("")
            return
        if len(explanation.cell) == 3:
            head = self.tr("<b>{label}</b> · channel {channel} · row {y}, column {x} = <b>{value}</b>").format(
                label=html.escape(explanation.label), channel=explanation.cell[0], y=explanation.cell[1],
                x=explanation.cell[2], value=_number(explanation.value))
            x0, y0, x1, y1 = explanation.receptive_field
            head += self.tr(" · sees {w}×{h} input pixels (orange)").format(w=x1 - x0, h=y1 - y0)
        else:
            head = self.tr("<b>{label}</b> · unit {unit} = <b>{value}</b>").format(
                label=html.escape(explanation.label), unit=explanation.cell[0], value=_number(explanation.value))
        self.title.setText(head)
        if explanation.patch is not None:
            self._show_convolution(explanation)
        elif explanation.window is not None:
            self._show_pooling(explanation)
        else:
            self._set_layout("")
        self.formula.setText("<br>".join(self._formula_lines(explanation)))

    def _set_layout(self, kind: str) -> None:
        """The picture's rows: three for a convolution, one for pooling, none otherwise."""
        if kind == self._layout_kind:
            return
        self._layout_kind = kind
        layout = self.graphics.ci
        layout.clear()
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.rows = []
        if kind == "conv":
            self.rows = [_TileRow(layout, 0, self.tr("patch"), GREY),
                         _TileRow(layout, 1, self.tr("kernel"), DIVERGING),
                         _TileRow(layout, 2, self.tr("product"), DIVERGING)]
        elif kind == "pool":
            self.rows = [_TileRow(layout, 0, self.tr("window"), GREY)]
            self.winner = QGraphicsRectItem(0, 0, 1, 1)
            pen = pg.mkPen(SELECTION_RGB, width=2)
            pen.setCosmetic(True)
            self.winner.setPen(pen)
            self.winner.setZValue(10)
            self.rows[0].view.addItem(self.winner)
        self.picture.setVisible(bool(self.rows))

    def _show_convolution(self, e: CellExplanation) -> None:
        self._set_layout("conv")
        sums = np.asarray(e.channel_sums)
        channels = sorted(np.argsort(-np.abs(sums), kind="stable")[:MAX_CHANNELS].tolist())
        patch, kernel, products = (np.asarray(a)[channels] for a in (e.patch, e.kernel, e.products))
        self.rows[0].show(patch, channels, self._levels(patch, symmetric=False))
        self.rows[1].show(kernel, channels, self._levels(kernel, symmetric=True))
        self.rows[2].show(products, channels, self._levels(products, symmetric=True))

    def _show_pooling(self, e: CellExplanation) -> None:
        self._set_layout("pool")
        window = np.asarray(e.window)[None]
        self.rows[0].show(window, [e.cell[0]], self._levels(window, symmetric=False))
        if e.winner is not None:
            self.winner.setRect(e.winner[1], e.winner[0], 1, 1)
            self.winner.show()
        else:
            self.winner.hide()

    @staticmethod
    def _levels(values: np.ndarray, symmetric: bool) -> tuple[float, float]:
        if symmetric:
            limit = float(np.abs(values).max()) or 1.0
            return -limit, limit
        lo, hi = float(values.min()), float(values.max())
        return (lo, hi) if hi > lo else (lo, lo + 1.0)

    def _step_name(self, key: str) -> str:
        names = {"sum": self.tr("Σ products"), "bias": self.tr("+ bias"), "BN": self.tr("BatchNorm"),
                 "main": self.tr("main path"), "shortcut": self.tr("shortcut"), "add": self.tr("main + shortcut"),
                 "pool": self.tr("pooled")}
        return names.get(key, key)

    def _formula_lines(self, e: CellExplanation) -> list[str]:
        lines: list[str] = []
        source = html.escape(e.input_layer) if e.input_layer else self.tr("the normalised input")
        if e.patch is not None:
            sums = np.asarray(e.channel_sums)
            terms = " ".join(f"{v:+.3f}" for v in sums[:MAX_CHANNELS])
            more = "" if len(sums) <= MAX_CHANNELS else self.tr(" … ({count} channels)").format(count=len(sums))
            lines.append(self.tr("Each input channel of {source}: Σ patch × kernel = {terms}{more}").format(
                source=source, terms=terms, more=more))
            lines.append(self.tr("Σ over channels {total} + bias {bias} = <b>{pre}</b> (pre-activation)").format(
                total=_number(float(sums.sum())), bias=_number(e.bias or 0.0), pre=_number(e.pre_activation)))
        elif e.window is not None:
            window = np.asarray(e.window)
            if e.pool_op == "max":
                lines.append(self.tr("The largest of the {count} values in the window of {source}: <b>{value}</b> "
                                     "(outlined)").format(count=window.size, source=source,
                                                          value=_number(e.pre_activation)))
            else:
                lines.append(self.tr("The mean of the {count} values in the window of {source}: <b>{value}</b>")
                             .format(count=window.size, source=source, value=_number(e.pre_activation)))
        elif e.contributions:
            lines.append(self.tr("The inputs from {source} that weigh most (input × weight):").format(source=source))
            for c in e.contributions[:8]:
                where = ", ".join(map(str, c.where))
                lines.append(f"&nbsp;&nbsp;[{where}] {c.input:+.3f} × {c.weight:+.3f} = {c.product:+.4f}")
            lines.append(self.tr("Σ of all inputs × weights + bias {bias} = <b>{pre}</b> (pre-activation)").format(
                bias=_number(e.bias or 0.0), pre=_number(e.pre_activation)))
        steps = [(key, value) for key, value in e.steps if key not in ("sum", "bias")]
        if steps:
            lines.append(" → ".join(f"{html.escape(self._step_name(key))} {_number(value)}" for key, value in steps))
        delta = abs(e.value - e.torch_value)
        lines.append(self.tr("NumPy reference {value} · PyTorch {torch} · |Δ| {delta:.1e}").format(
            value=_number(e.value), torch=_number(e.torch_value), delta=delta))
        x0, y0, x1, y1 = e.receptive_field
        lines.append(self.tr("It sees input pixels x {x0}–{x1}, y {y0}–{y1} ({w}×{h}): the orange outline on the "
                             "canvas and on the model input.").format(x0=x0, x1=x1 - 1, y0=y0, y1=y1 - 1,
                                                                       w=x1 - x0, h=y1 - y0))
        return lines

    def _hover(self, scene_pos: QPointF) -> None:
        captions = {0: self.tr("input"), 1: self.tr("kernel"), 2: self.tr("product")}
        for index, row in enumerate(self.rows):
            found = row.value_at(scene_pos)
            if found is not None:
                channel, y, x, value = found
                caption = self.tr("window") if self._layout_kind == "pool" else captions[index]
                self.hoverLabel.setText(self.tr("{what} · channel {channel} ({y}, {x}): {value}").format(
                    what=caption, channel=channel, y=y, x=x, value=_number(value)))
                return
