"""Layer health while a run trains: small live plots against the training step, one line per layer, and the
warning signs of the latest sample in words.

Four plots: the activation mean ± std after each layer's activation, the fraction of dead ReLU units (or of saturated
sigmoid/tanh outputs), the weights' gradient norm (log y) and the update-to-weight ratio (log y, with the rule of
thumb 1e-3 dashed). Samples arrive about once a second (``cnndesk.engine.health``); they are stored always and drawn
only while the view is visible, so a hidden tab costs the training nothing.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont, QFontMetrics, QResizeEvent, QShowEvent
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from .plotting import pg
from .presentation import style_curve, style_graphics

if TYPE_CHECKING:
    from cnndesk.engine.health import HealthSample, HealthWarning

# One colour per layer, in the model's order (matplotlib's tab10: distinct, and readable on white).
PALETTE = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
HEALTHY_UPDATE = 1e-3  # the update ratio's rule of thumb (as cnndesk.engine.health.HEALTHY_UPDATE; no torch here)
REFERENCE_RGB = (90, 90, 90)
BAND_ALPHA = 40  # the ± std band behind each mean line (fainter when many layers overlap: MANY_LAYERS)
MANY_LAYERS, FAINT_BAND_ALPHA = 6, 16
LEGEND_COLUMNS = 6  # at most; fewer when the names are long (the legend wraps to the view's width)
LEGEND_FONT = "8pt"
LEGEND_SAMPLE_PX = 40  # an entry's line sample and spacing, besides its text
TITLE_SIZE = "9pt"
FEW_SAMPLES = 12  # up to this many samples, each is drawn as a dot too
WARNING_LINES = 4.5  # the warnings' height before they scroll, in lines
# The stored numbers per layer and sample, in this order.
MEAN, STD, UNITS, GRAD, UPDATE = range(5)


def _color(index: int) -> tuple[int, int, int]:
    return PALETTE[index % len(PALETTE)]


def _dots(curve: pg.PlotDataItem, on: bool, color: tuple[int, int, int]) -> None:
    """Draw each sample as a dot as well (or not): a run of a few samples has too few points for a line. The dots
    are in the line's ``color`` as the theme draws it (``style_curve``)."""
    if (curve.opts.get("symbol") is not None) == on:
        return
    curve.setSymbol("o" if on else None)
    curve.setSymbolSize(5)
    curve.setSymbolPen(None)
    if on:
        style_curve(curve, symbol_brush=color)


def _positive(values: np.ndarray) -> np.ndarray:
    """For a log axis: values that are not above zero (or not numbers) are left out, not drawn at -inf."""
    return np.where(np.isfinite(values) & (values > 0), values, np.nan)


class _LogAxis(pg.AxisItem):
    """A log axis labelled 1e-3, 3e-4…: pyqtgraph's own labels within a decade (0.02 0.03 0.04…) overlap."""

    def __init__(self, orientation: str) -> None:
        super().__init__(orientation)
        self.setStyle(maxTextLevel=1)

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if not self.logMode:
            return super().tickStrings(values, scale, spacing)
        texts = [_short_number(10.0 ** value) for value in values]
        # Within a decade, only 1, 2 and 5 times a power of ten are labelled (unless that leaves no label at all).
        kept = [text if text.lstrip("0.")[:1] in ("1", "2", "5") else "" for text in texts]
        return kept if any(kept) else texts


def _short_number(value: float) -> str:
    """1e-3, 2e-4, 0.1, 3: as short as the axis needs."""
    if 0.01 <= value < 1000:
        return f"{value:.2g}"
    if not math.isfinite(value) or value <= 0:
        return f"{value:g}"
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


class HealthView(QWidget):
    """The health of every weighted layer of the run in progress (objectName ``layerHealth``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("layerHealth")
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFrameShape(QFrame.Shape.NoFrame)
        layout = self.graphics.ci
        layout.setContentsMargins(2, 2, 2, 2)
        layout.setSpacing(0)
        # One legend for all four plots: the layers' colours, and the update ratio's reference line.
        self.legend = pg.LegendItem(colCount=LEGEND_COLUMNS, labelTextSize=LEGEND_FONT, frame=False, verSpacing=-6)
        layout.addItem(self.legend, row=0, col=0, colspan=2)
        self.activationPlot = self._plot(layout, 1, 0, self.tr("Activation mean ± std"))
        self.unitsPlot = self._plot(layout, 1, 1, self.tr("Dead ReLU units"))
        self.gradientPlot = self._plot(layout, 2, 0, self.tr("Gradient norm ‖∇w‖"), log=True)
        self.updatePlot = self._plot(layout, 2, 1, self.tr("Update ratio ‖Δw‖ / ‖w‖"), log=True)
        self.unitsPlot.setYRange(0, 1, padding=0.02)
        self.unitsPlot.getViewBox().setLimits(yMin=-0.05, yMax=1.05)
        for plot in (self.gradientPlot, self.updatePlot):
            plot.setLabel("bottom", self.tr("step"))
        # The rule of thumb: each step changes about a thousandth of a layer's weights.
        reference_pen = pg.mkPen(REFERENCE_RGB, width=1.5, style=Qt.PenStyle.DashLine)
        self.referenceLine = pg.InfiniteLine(pos=math.log10(HEALTHY_UPDATE), angle=0, pen=reference_pen)
        self.updatePlot.addItem(self.referenceLine)
        self._referenceSample = pg.PlotDataItem(pen=reference_pen)  # the legend's picture of the line
        self._referenceName = self.tr("healthy update ratio ≈ 1e-3")

        self.warningsLabel = QLabel(objectName="healthWarnings", wordWrap=True)
        self.warningsLabel.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.warningsLabel.setToolTip(self.tr(
            "Dead: half or more of a layer's ReLU units output 0 for every image of a batch.\n"
            "Saturated: half or more of a sigmoid or tanh layer's outputs sit on its flat ends, where the gradient "
            "is almost 0.\n"
            "Vanishing: a layer's gradient is under a thousandth of the largest layer's.\n"
            "Update ratio: how much of a layer's weights one step changes; about 1e-3 is healthy, under 1e-5 the layer "
            "barely learns, over 1e-1 it is thrown around."))
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.graphics, 1)
        # A long list scrolls instead of squeezing the plots.
        self.warningsScroll = QScrollArea(widgetResizable=True, frameShape=QFrame.Shape.NoFrame)
        self.warningsScroll.setWidget(self.warningsLabel)
        box.addWidget(self.warningsScroll)

        self.layer_names: list[str] = []
        self.activations: list[str] = []
        self.mean_curves: list[pg.PlotDataItem] = []
        self.band_curves: list[tuple[pg.PlotCurveItem, pg.PlotCurveItem]] = []
        self.unit_curves: list[pg.PlotDataItem] = []
        self.grad_curves: list[pg.PlotDataItem] = []
        self.update_curves: list[pg.PlotDataItem] = []
        self._steps = np.empty(0, np.float64)
        self._values = np.empty((0, 0, 5), np.float64)  # (sample, layer, MEAN…UPDATE), grown by doubling
        self._count = 0
        self._latest: HealthSample | None = None
        self._stale = False  # samples arrived while hidden: drawn when shown
        self.clear()

    def _plot(self, layout: pg.GraphicsLayout, row: int, col: int, title: str, log: bool = False) -> pg.PlotItem:
        plot = layout.addPlot(row=row, col=col, axisItems={"left": _LogAxis("left")} if log else None)
        plot.setTitle(title, size=TITLE_SIZE)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setDownsampling(auto=True, mode="peak")
        if log:
            plot.setLogMode(y=True)
        plot.getAxis("left").setWidth(44)
        return plot

    # -- data -----------------------------------------------------------------------------------------------
    def clear(self) -> None:
        """Empty the plots and the warnings (a new run starts)."""
        self._count = 0
        self._latest = None
        self._build([])
        self._set_warnings(self.tr("While a run trains, each layer's activations, gradients and updates are "
                                   "measured about once a second."))

    def add_sample(self, sample: HealthSample) -> None:
        """One sample of the run in progress; drawn now if the view is visible, else when it is shown."""
        names = [layer.name for layer in sample.layers]
        if names != self.layer_names:  # the first sample of a run (or another architecture): new lines
            self._build(names, [layer.activation for layer in sample.layers])
        if self._count == len(self._steps):
            capacity = max(64, 2 * len(self._steps))
            steps, values = np.empty(capacity), np.full((capacity, len(names), 5), np.nan)
            steps[: self._count], values[: self._count] = self._steps[: self._count], self._values[: self._count]
            self._steps, self._values = steps, values
        self._steps[self._count] = sample.step
        for index, layer in enumerate(sample.layers):
            units = layer.dead_fraction if layer.activation == "relu" else layer.saturated_fraction
            self._values[self._count, index] = (layer.act_mean, layer.act_std, units, layer.grad_norm,
                                                layer.update_ratio)
        self._count += 1
        self._latest = sample
        if self.isVisible():
            self.redraw()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if self._stale:
            self.redraw()
        self._fit_warnings()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._fit_legend()
        self._fit_warnings()

    def _fit_legend(self) -> None:
        """As many legend columns as fit across the view (long names: block2.shortcut.0). Entries fill the legend row
        by row, and each column is as wide as its widest entry."""
        font = QFont(self.font())
        font.setPointSizeF(float(LEGEND_FONT.removesuffix("pt")))
        metrics = QFontMetrics(font)
        widths = [metrics.horizontalAdvance(label.text) + LEGEND_SAMPLE_PX for _, label in self.legend.items]
        columns = 1
        for count in range(min(LEGEND_COLUMNS, len(widths)), 1, -1):
            if sum(max(widths[col::count]) for col in range(count)) <= self.graphics.width():
                columns = count
                break
        if columns != self.legend.columnCount:
            self.legend.setColumnCount(columns)

    def _set_warnings(self, text: str) -> None:
        self.warningsLabel.setText(text)
        self._fit_warnings()

    def _fit_warnings(self) -> None:
        """The warnings take the height of their lines, up to WARNING_LINES; the plots keep the rest."""
        width = self.warningsScroll.viewport().width() or self.width()
        limit = int(self.fontMetrics().lineSpacing() * WARNING_LINES)
        self.warningsScroll.setFixedHeight(min(self.warningsLabel.heightForWidth(max(1, width)), limit) + 2)

    # -- drawing --------------------------------------------------------------------------------------------
    def _build(self, names: list[str], activations: list[str] | None = None) -> None:
        """The lines of a model's layers, made once per run; samples then only update their data."""
        for plot in (self.activationPlot, self.unitsPlot, self.gradientPlot, self.updatePlot):
            for item in plot.listDataItems():
                plot.removeItem(item)
        for item in [item for item in self.activationPlot.items if isinstance(item, pg.FillBetweenItem)]:
            self.activationPlot.removeItem(item)
        self.legend.clear()
        self.layer_names = list(names)
        self.activations = list(activations or [])
        self._count = 0
        self._steps, self._values = np.empty(0, np.float64), np.empty((0, len(names), 5), np.float64)
        self.mean_curves, self.band_curves, self.unit_curves, self.grad_curves, self.update_curves = [], [], [], [], []
        for index, name in enumerate(names):
            color = _color(index)
            pen = pg.mkPen(color, width=2)
            # (curves outside the plot: the band is drawn from their paths, the mean line over it)
            upper, lower = pg.PlotCurveItem(pen=pg.mkPen(None)), pg.PlotCurveItem(pen=pg.mkPen(None))
            alpha = BAND_ALPHA if len(names) < MANY_LAYERS else FAINT_BAND_ALPHA
            band = pg.FillBetweenItem(upper, lower, brush=pg.mkBrush(*color, alpha))
            self.activationPlot.addItem(band)
            # Each line in the theme's colour and the mode's width from the start (not at the next restyle).
            mean = style_curve(self.activationPlot.plot(pen=pen, connect="finite"))
            self.mean_curves.append(mean)
            self.band_curves.append((upper, lower))
            self.unit_curves.append(style_curve(self.unitsPlot.plot(pen=pen, connect="finite")))
            self.grad_curves.append(style_curve(self.gradientPlot.plot(pen=pen, connect="finite")))
            self.update_curves.append(style_curve(self.updatePlot.plot(pen=pen, connect="finite")))
            self.legend.addItem(mean, name)  # a layer's name in the model: an identifier, as everywhere
        self.legend.addItem(self._referenceSample, self._referenceName)
        style_graphics(self.graphics)  # the bands, the legend's reference sample
        self._fit_legend()
        self.unitsPlot.setTitle(self._units_title(), size=TITLE_SIZE)
        self._stale = False

    def _units_title(self) -> str:
        relu = "relu" in self.activations
        squashing = any(kind in ("sigmoid", "tanh") for kind in self.activations)
        if squashing and not relu:
            return self.tr("Saturated units (sigmoid, tanh)")
        if squashing:
            return self.tr("Dead (ReLU) / saturated (sigmoid, tanh) units")
        return self.tr("Dead ReLU units")

    def redraw(self) -> None:
        """Give every line the samples so far, and show the latest sample's warnings."""
        self._stale = False
        n = self._count
        steps = self._steps[:n]
        # A short run has a few samples: dots show them where a line of two points would be lost.
        dotted = n <= FEW_SAMPLES
        for index in range(len(self.layer_names)):
            values = self._values[:n, index]
            mean, std = values[:, MEAN], values[:, STD]
            upper, lower = self.band_curves[index]
            upper.setData(steps, mean + std)
            lower.setData(steps, mean - std)
            for curve, y in ((self.mean_curves[index], mean), (self.unit_curves[index], values[:, UNITS]),
                             (self.grad_curves[index], _positive(values[:, GRAD])),
                             (self.update_curves[index], _positive(values[:, UPDATE]))):
                _dots(curve, dotted and bool(np.isfinite(y).any()), _color(index))
                curve.setData(steps, y)
        self._set_warnings(self.warnings_text())

    # -- the warning signs, in words --------------------------------------------------------------------------
    def warnings_text(self) -> str:
        """The latest sample's warning signs as sentences, one per kind of trouble (or that there are none)."""
        sample = self._latest
        if sample is None:
            return ""
        from cnndesk.engine.health import warnings  # PyTorch: loaded by the time a run sends samples

        found = warnings(sample)
        if not found:
            return self.tr("Step {step}: no warning signs.").format(step=sample.step)
        activations = {layer.name: layer.activation for layer in sample.layers}
        groups: dict[str, list[HealthWarning]] = {}
        for warning in found:  # a gradient that is not a number says something else than a large one
            kind = "diverged" if warning.kind == "exploding" and not math.isfinite(warning.value) else warning.kind
            groups.setdefault(kind, []).append(warning)
        lines = [self.tr("Step {step}:").format(step=sample.step)]
        lines += [self.sentence(kind, group, activations.get(group[0].layer, "")) for kind, group in groups.items()]
        return "\n".join(lines)

    def sentence(self, kind: str, group: list[HealthWarning], activation: str = "") -> str:
        """One kind of trouble as the user reads it: the layers (with their values, in the same order), what is
        wrong, what to do. "conv2: 63% of units dead — lower the learning rate"."""
        layers = ", ".join(warning.layer for warning in group)
        percents = ", ".join(f"{warning.value:.0%}" for warning in group)
        ratios = ", ".join(_short_number(warning.value) for warning in group)
        if kind == "dead":
            return self.tr("{layers}: {percents} of units dead (0 for every image of the batch) — lower the learning "
                           "rate").format(layers=layers, percents=percents)
        if kind == "saturated":
            return self.tr("{layers}: {percents} of outputs on the flat ends of the {activation}, where gradients "
                           "vanish — try smaller initial weights, BatchNorm or ReLU").format(
                layers=layers, percents=percents, activation=activation)
        if kind == "vanishing":
            return self.tr("{layers}: gradient {ratios} times the largest layer's — vanishing gradients: ReLU or "
                           "BatchNorm help").format(layers=layers, ratios=ratios)
        if kind == "stalled":
            return self.tr("{layers}: a step changes {ratios} of the weights (healthy ≈ 1e-3) — they barely learn: "
                           "raise the learning rate").format(layers=layers, ratios=ratios)
        if kind == "exploding":
            return self.tr("{layers}: a step changes {ratios} of the weights (healthy ≈ 1e-3) — far too much: lower "
                           "the learning rate").format(layers=layers, ratios=ratios)
        if kind == "diverged":
            return self.tr("{layers}: the gradient is not a number — the run diverges: lower the learning "
                           "rate").format(layers=layers)
        return f"{layers}: {kind}"
