"""Presentation mode's scale, in one place: the views ask here how large to draw (map rows, bars, labels) and which
colour map to use, and ``style_graphics`` brings any pyqtgraph view in line with the mode and the theme (label and
axis fonts, line widths, backgrounds and text colours).

There is one state per application, as there is one application font: entering presentation mode scales that font,
and every view follows ``changed``. The panel that turns it on and off is ``ui/panels/presentation.py``.
"""

from __future__ import annotations

import re
from typing import TypeVar

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QPalette, QPen
from PySide6.QtWidgets import QApplication, QWidget

from .plotting import pg

ZOOMS = (1.25, 1.5, 1.75, 2.0)  # the choices of View → Presentation zoom
DEFAULT_ZOOM = 1.5
LINE_BOOST = 2.0  # plot lines are this much thicker in presentation mode: a 1 px line vanishes on a projector
# A line's least contrast with a dark plot's background (WCAG's minimum for graphics): the palettes were chosen
# on white, where some of their colours (dark blue, purple, grey) would nearly vanish on the dark theme's ground.
MIN_PLOT_CONTRAST = 3.0
# Diverging maps (weights, attributions): CET-D1's ends are mid-dark (lightness 40), washed out by a projector;
# CET-D1A runs to lightness 20 — the same blue-white-red, more contrast between small and large values.
DIVERGING = "CET-D1"
DIVERGING_HIGH_CONTRAST = "CET-D1A"
_SIZE = re.compile(r"^\s*([\d.]+)\s*(pt|px)\s*$")
CurveT = TypeVar("CurveT", pg.PlotDataItem, pg.PlotCurveItem)


class Presentation(QObject):
    """Whether presentation mode is on, and its zoom. ``changed`` is emitted when either changes the scale."""

    changed = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.active = False
        self.zoom = DEFAULT_ZOOM

    @property
    def scale(self) -> float:
        """How much larger than normal to draw: the zoom in presentation mode, else 1."""
        return self.zoom if self.active else 1.0

    def set_state(self, active: bool, zoom: float) -> None:
        before = (self.active, self.scale)
        self.active, self.zoom = active, zoom
        if (self.active, self.scale) != before:
            self.changed.emit()


_state: Presentation | None = None


def presentation() -> Presentation:
    """The application's presentation state (made on first use)."""
    global _state
    if _state is None:
        _state = Presentation()
    return _state


def scaled(pixels: float) -> int:
    """A size in pixels, scaled for presentation mode."""
    return round(pixels * presentation().scale)


def line_width(width: float) -> float:
    """A plot line's width, thicker in presentation mode."""
    return width * (LINE_BOOST if presentation().active else 1.0)


def diverging_colormap() -> pg.ColorMap:
    """Blue, white at zero, red: the weights' and attributions' colour scale (higher contrast when presenting)."""
    return pg.colormap.get(DIVERGING_HIGH_CONTRAST if presentation().active else DIVERGING)


def is_dark(palette: QPalette | None = None) -> bool:
    """Light text on a dark window: the dark theme (or a dark system palette)."""
    palette = palette or QApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < palette.color(
        QPalette.ColorRole.WindowText).lightness()


# -- bringing pyqtgraph's items in line ------------------------------------------------------------------------
# pyqtgraph draws with its own colours (its config's background and foreground) and fonts (label sizes given in
# points, axis fonts fixed when drawn), which follow neither the palette nor the application font. Each item's
# original size or width is kept on it the first time it is seen, so that styling again (another zoom, leaving the
# mode) always starts from what the view made, never from an earlier scaling.
_BASE = "_cnndesk_base"
# pyqtgraph's starting room for an axis's tick texts (AxisItem.textWidth, textHeight). It grows with the texts and
# shrinks only by more than 10 px: set back here, an axis measures again in the current font (left at presentation
# mode's, the probability bars' digits sat 9 px to the right after it).
AXIS_TEXT_ROOM = (30, 18)
_FITTED = "_cnndesk_fitted_scale"  # on a view: the scale its items' sizes were last fitted to (none yet: 1)


def _scaled_size(size: str, scale: float) -> str:
    match = _SIZE.match(size)
    if match is None:
        return size
    return f"{float(match.group(1)) * scale:.3g}{match.group(2)}"


def _style_label(label: pg.LabelItem, scale: float, refit: bool) -> None:
    base = label.__dict__.setdefault(_BASE, {"size": label.opts.get("size")})
    options = {}
    if base["size"] is not None:
        options["size"] = _scaled_size(base["size"], scale)
    label.setText(label.text, **options)  # also picks up the foreground colour when the label has none of its own
    # Its minimum follows the text; its size is the layout's, which keeps a larger one until told (legends, the
    # model input's step titles stayed at presentation mode's size).
    if refit:
        label.resize(label.effectiveSizeHint(Qt.SizeHint.PreferredSize))


def _style_axis(axis: pg.AxisItem, font: QFont, foreground: str, refit: bool) -> None:
    axis.setTickFont(font)
    axis.label.setFont(font)
    if axis.__dict__.setdefault(_BASE, {"default_pen": axis._pen is None or _is_default_colour(axis.pen())}) \
            ["default_pen"]:
        axis.setPen(foreground)
        axis.setTextPen(foreground)
    axis._updateLabel()
    if refit:
        axis.textWidth, axis.textHeight = AXIS_TEXT_ROOM
    axis._updateWidth() if axis.orientation in ("left", "right") else axis._updateHeight()
    axis.picture = None  # drawn (and measured) again
    axis.update()


def _is_default_colour(pen) -> bool:
    colour = pen.color()
    return colour.name() in ("#000000", "#ffffff", "#d3d3d3", "#969696")


def _style_curve(curve: pg.PlotCurveItem | pg.PlotDataItem) -> None:
    """A line in the theme's colour, its width boosted in presentation mode. A PlotDataItem hands its own pen to its
    curve at every ``setData``, so the pen is set on it, not on the curve inside."""
    base = curve.__dict__.get(_BASE)
    if base is None:
        pen = curve.opts.get("pen")
        if pen is None:
            return
        symbol_brush = curve.opts.get("symbolBrush") if isinstance(curve, pg.PlotDataItem) else None
        base = curve.__dict__[_BASE] = {"pen": pg.mkPen(pen), "symbol_brush": _colour_or_none(symbol_brush)}
    pen = QPen(base["pen"])
    if pen.style() != Qt.PenStyle.NoPen:
        pen.setColor(plot_colour(pen.color()))
        pen.setWidthF(max(pen.widthF(), 1.0) * LINE_BOOST if presentation().active else pen.widthF())
        curve.setPen(pen)
    if base["symbol_brush"] is not None and isinstance(curve, pg.PlotDataItem) and curve.opts.get("symbol"):
        curve.setSymbolBrush(plot_colour(base["symbol_brush"]))


def _colour_or_none(brush) -> QColor | None:
    """A symbol brush's colour as given to pyqtgraph (a tuple, a QColor, a QBrush), or None where it has none."""
    if brush is None:
        return None
    brush = pg.mkBrush(brush)
    return None if brush.style() == Qt.BrushStyle.NoBrush else QColor(brush.color())


def style_curve(curve: CurveT, pen=None, symbol_brush=None) -> CurveT:
    """Draw ``curve`` as the current theme and mode want it, now (a view calls this on each curve it makes
    after the window was styled, and to change a curve's pen or symbol colour). ``pen`` and ``symbol_brush``,
    when given, are the curve's design (as on a white background, at normal size) from now on; the colour drawn
    is ``plot_colour``'s and the width presentation mode's, at every restyle too. Returns ``curve``."""
    base = curve.__dict__.get(_BASE)
    if base is None or pen is not None or symbol_brush is not None:
        current = base or {"pen": pg.mkPen(curve.opts.get("pen")),
                           "symbol_brush": _colour_or_none(curve.opts.get("symbolBrush"))
                           if isinstance(curve, pg.PlotDataItem) else None}
        curve.__dict__[_BASE] = {
            "pen": pg.mkPen(pen) if pen is not None else current["pen"],
            "symbol_brush": _colour_or_none(symbol_brush) if symbol_brush is not None else current["symbol_brush"]}
    _style_curve(curve)
    return curve


def _style_line(line: pg.InfiniteLine) -> None:
    """A straight line (a reference, the replay's step, a region's edge): the theme's colour, the mode's width."""
    base = line.__dict__.setdefault(_BASE, {"pen": QPen(line.pen)})
    pen = QPen(base["pen"])
    pen.setColor(plot_colour(pen.color()))
    pen.setWidthF(max(pen.widthF(), 1.0) * LINE_BOOST if presentation().active else pen.widthF())
    line.setPen(pen)


def _style_fill(fill: pg.FillBetweenItem) -> None:
    """A band between two curves: its (translucent) colour in the theme's version."""
    base = fill.__dict__.setdefault(_BASE, {"brush": QColor(fill.brush().color())})
    fill.setBrush(pg.mkBrush(plot_colour(base["brush"])))


def _style_legend(legend: pg.LegendItem) -> None:
    """A legend's ground (if it has one) in the plot's background colour, as translucent as designed; the samples
    of lines that are in no scene of their own (a legend entry for a line drawn elsewhere) follow the theme too."""
    base = legend.__dict__.setdefault(_BASE, {"brush": _colour_or_none(legend.brush())})
    if base["brush"] is not None:
        ground = QColor(colours()[0])
        ground.setAlpha(base["brush"].alpha())
        legend.setBrush(pg.mkBrush(ground))
    for sample, _label in legend.items:
        item = getattr(sample, "item", None)
        if isinstance(item, (pg.PlotDataItem, pg.PlotCurveItem)) and item.scene() is None:
            _style_curve(item)
            sample.update()


def relative_luminance(colour: QColor) -> float:
    """WCAG's relative luminance of an sRGB colour, 0 (black) to 1 (white)."""
    def linear(channel: float) -> float:
        return channel / 12.92 if channel <= 0.04045 else ((channel + 0.055) / 1.055) ** 2.4
    return 0.2126 * linear(colour.redF()) + 0.7152 * linear(colour.greenF()) + 0.0722 * linear(colour.blueF())


def contrast_ratio(first: QColor, second: QColor) -> float:
    """WCAG's contrast ratio of two colours: 1 (the same) to 21 (black on white)."""
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def plot_colour(colour) -> QColor:
    """The colour to draw a line or mark that was designed for a white background (``colour``: anything
    ``pg.mkColor`` takes), in the current theme: as given when light; when dark, with its lightness mirrored (a
    dark, strong line becomes a light, strong one and a pale, faint one a dim one, so the curves keep their
    emphasis), then made light enough to stand MIN_PLOT_CONTRAST against the plot's background. Hue, saturation
    and transparency are kept, so a legend, a table's swatch and the curve still agree in kind."""
    colour = QColor(pg.mkColor(colour))
    if not is_dark():
        return colour
    background = QColor(colours()[0])
    hue, saturation, lightness, alpha = colour.getHslF()
    hue = max(hue, 0.0)  # -1 for a grey
    lightness = 1.0 - lightness
    themed = QColor.fromHslF(hue, saturation, lightness, alpha)
    while contrast_ratio(themed, background) < MIN_PLOT_CONTRAST and lightness < 1.0:
        lightness = min(1.0, lightness + 0.02)
        themed = QColor.fromHslF(hue, saturation, lightness, alpha)
    return themed


def colours() -> tuple[str, str]:
    """pyqtgraph's (background, foreground) for the current palette: white and black, or the dark theme's."""
    palette = QApplication.palette()
    if is_dark(palette):
        return palette.color(QPalette.ColorRole.Base).name(), palette.color(QPalette.ColorRole.WindowText).name()
    return "#ffffff", "#000000"


def style_graphics(root: QWidget) -> None:
    """Every pyqtgraph view in ``root`` (``root`` included): label sizes and axis fonts at the presentation scale,
    line widths, background and text colours for the theme. Idempotent; cheap enough to run on every change."""
    background, foreground = colours()
    pg.setConfigOptions(background=background, foreground=foreground)  # for the items made from now on
    scale = presentation().scale
    font = QFont(QApplication.font())
    views = ([root] if isinstance(root, pg.GraphicsView) else []) + root.findChildren(pg.GraphicsView)
    refitted = []
    for view in views:
        # Sizes are fitted again only where the scale changed (presentation mode, its zoom): ~35 ms of relayout for
        # the window, which a theme change or a new network (every run's start) does not need.
        refit = view.__dict__.get(_FITTED, 1.0) != scale
        view.__dict__[_FITTED] = scale
        if refit:
            refitted.append(view)
        if getattr(view, "_background", "default") == "default" or view.__dict__.get(_BASE):
            view.__dict__[_BASE] = True
            view.setBackground(background)
        for item in view.scene().items():
            if isinstance(item, pg.LabelItem):
                _style_label(item, scale, refit)
            elif isinstance(item, pg.AxisItem):
                _style_axis(item, font, foreground, refit)
            elif isinstance(item, pg.PlotDataItem) or (isinstance(item, pg.PlotCurveItem)
                                                        and not isinstance(item.parentItem(), pg.PlotDataItem)):
                _style_curve(item)
            elif isinstance(item, pg.InfiniteLine):
                _style_line(item)
            elif isinstance(item, pg.FillBetweenItem):
                _style_fill(item)
            elif isinstance(item, pg.LegendItem):
                _style_legend(item)
        for item in view.scene().items() if refit else ():  # once their labels have their sizes
            if isinstance(item, pg.LegendItem):
                item.updateSize()
    # Each view lays its items out again in its own size once they have their new minimums (a layout grown for
    # presentation mode's text is otherwise kept, wider than the view: the model input's steps ran off its edge).
    if refitted:
        QTimer.singleShot(0, lambda: _fit_views(refitted))


def _fit_views(views: list[pg.GraphicsView]) -> None:
    for view in views:
        if shiboken6.isValid(view) and not view.closed:
            pg.GraphicsView.resizeEvent(view, None)


__all__ = ["DEFAULT_ZOOM", "MIN_PLOT_CONTRAST", "ZOOMS", "Presentation", "colours", "contrast_ratio",
           "diverging_colormap", "is_dark", "line_width", "plot_colour", "presentation", "relative_luminance",
           "scaled", "style_curve", "style_graphics"]
