"""Presentation mode's scale, in one place: the views ask here how large to draw (map rows, bars, labels) and which
colour map to use, and ``style_graphics`` brings any pyqtgraph view in line with the mode and the theme (label and
axis fonts, line widths, backgrounds and text colours).

There is one state per application, as there is one application font: entering presentation mode scales that font,
and every view follows ``changed``. The panel that turns it on and off is ``ui/panels/presentation.py``.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import QApplication, QWidget

from .plotting import pg

ZOOMS = (1.25, 1.5, 1.75, 2.0)  # the choices of View → Presentation zoom
DEFAULT_ZOOM = 1.5
LINE_BOOST = 2.0  # plot lines are this much thicker in presentation mode: a 1 px line vanishes on a projector
# Diverging maps (weights, attributions): CET-D1's ends are mid-dark (lightness 40), washed out by a projector;
# CET-D1A runs to lightness 20 — the same blue-white-red, more contrast between small and large values.
DIVERGING = "CET-D1"
DIVERGING_HIGH_CONTRAST = "CET-D1A"
_SIZE = re.compile(r"^\s*([\d.]+)\s*(pt|px)\s*$")


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


def _scaled_size(size: str, scale: float) -> str:
    match = _SIZE.match(size)
    if match is None:
        return size
    return f"{float(match.group(1)) * scale:.3g}{match.group(2)}"


def _style_label(label: pg.LabelItem, scale: float) -> None:
    base = label.__dict__.setdefault(_BASE, {"size": label.opts.get("size")})
    options = {}
    if base["size"] is not None:
        options["size"] = _scaled_size(base["size"], scale)
    label.setText(label.text, **options)  # also picks up the foreground colour when the label has none of its own


def _style_axis(axis: pg.AxisItem, font: QFont, foreground: str) -> None:
    axis.setTickFont(font)
    axis.label.setFont(font)
    if axis.__dict__.setdefault(_BASE, {"default_pen": axis._pen is None or _is_default_colour(axis.pen())}) \
            ["default_pen"]:
        axis.setPen(foreground)
        axis.setTextPen(foreground)
    axis._updateLabel()
    axis._updateWidth() if axis.orientation in ("left", "right") else axis._updateHeight()


def _is_default_colour(pen) -> bool:
    colour = pen.color()
    return colour.name() in ("#000000", "#ffffff", "#d3d3d3", "#969696")


def _style_curve(curve: pg.PlotCurveItem | pg.PlotDataItem) -> None:
    """A line's width, boosted in presentation mode. A PlotDataItem hands its own pen to its curve at every
    ``setData``, so the pen is set on it, not on the curve inside."""
    pen = curve.opts.get("pen")
    if pen is None:
        return
    pen = pg.mkPen(pen)
    if pen.style() == Qt.PenStyle.NoPen:
        return
    base = curve.__dict__.setdefault(_BASE, {"width": pen.widthF()})
    pen.setWidthF(max(base["width"], 1.0) * LINE_BOOST if presentation().active else base["width"])
    curve.setPen(pen)


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
    for view in views:
        if getattr(view, "_background", "default") == "default" or view.__dict__.get(_BASE):
            view.__dict__[_BASE] = True
            view.setBackground(background)
        for item in view.scene().items():
            if isinstance(item, pg.LabelItem):
                _style_label(item, scale)
            elif isinstance(item, pg.AxisItem):
                _style_axis(item, font, foreground)
            elif isinstance(item, pg.PlotDataItem) or (isinstance(item, pg.PlotCurveItem)
                                                        and not isinstance(item.parentItem(), pg.PlotDataItem)):
                _style_curve(item)


__all__ = ["DEFAULT_ZOOM", "ZOOMS", "Presentation", "colours", "diverging_colormap", "is_dark", "line_width",
           "presentation", "scaled", "style_graphics"]
