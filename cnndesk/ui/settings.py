"""What the user set, remembered between launches: the window's geometry, its splitters and tabs, the brush width
and the training form.

The settings live in the per-user QSettings of organisation and application "cnndesk" (an INI file under
~/.config on Linux, the registry on Windows, a plist on macOS). ``CNNDESK_SETTINGS`` names an INI file to use instead:
the tests point it at a throwaway file, and a portable install can keep its settings beside it.

Everything read back is checked before use: a damaged or hand-edited file, or one written by another version, never
stops the app, it only falls back to the defaults. Settings that cannot be written (a read-only folder) are dropped
silently: remembering is a convenience, not something to bother the user with as they quit.
"""

from __future__ import annotations

import json
import math
import os
import weakref
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QMargins, QPoint, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QComboBox, QSplitter, QTabWidget, QWidget

if TYPE_CHECKING:
    from .main_window import MainWindow
    from .training_panel import TrainingPanel

SETTINGS_ENV = "CNNDESK_SETTINGS"  # an INI file to use instead of the per-user settings
ORGANISATION = APPLICATION = "cnndesk"
PREFERRED_SIZE = QSize(1400, 900)  # the first launch's window, where the screen has room for it
FIT_FRACTION = 0.95  # of the available area, on a screen too small for PREFERRED_SIZE
# Before the window is first shown its frame is unknown: leave room for a typical title bar and borders, so that
# the whole window, frame included, lands on the screen.
FRAME_ALLOWANCE = QMargins(4, 36, 4, 4)
MAX_FRAME = 200  # px: a saved frame thicker than this on any side is not believed

GEOMETRY = "window/geometry"
FRAME = "window/frame"  # the frame's thickness as last measured, left, top, right, bottom: the best guess before a show
WINDOW_STATE = "window/state"
SPLITTERS = ("mainSplitter", "topSplitter", "layersSplitter")  # objectNames; each saved as "window/<name>"
BOTTOM_TAB = "window/bottomTab"
INSPECT_TAB = "window/inspectTab"
BRUSH_WIDTH = "canvas/brushWidth"
TRAINING_FORM = "training/form"  # TrainingPanel.form_state() as JSON
LANGUAGE = "ui/language"  # the window's language: "" follows the system, else a locale name ("en", "zh_CN")


def open_settings() -> QSettings:
    """The settings store: the INI file ``CNNDESK_SETTINGS`` names, else the per-user settings of cnndesk."""
    path = os.environ.get(SETTINGS_ENV)
    if path:
        return QSettings(path, QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.NativeFormat, QSettings.Scope.UserScope, ORGANISATION, APPLICATION)


def saved_language() -> str:
    """The language chosen in View → Language: "" (follow the system) unless a locale name was saved."""
    value = open_settings().value(LANGUAGE)
    return value.strip() if isinstance(value, str) else ""


def save_language(language: str) -> None:
    settings = open_settings()
    settings.setValue(LANGUAGE, language)
    settings.sync()


def screen_area(at: QPoint | None = None) -> QRect:
    """The available geometry (without task bars and docks) of the screen at ``at``, else of the primary screen."""
    screen = QGuiApplication.screenAt(at) if at is not None else None
    screen = screen or QGuiApplication.primaryScreen()
    return screen.availableGeometry() if screen is not None else QRect(QPoint(0, 0), PREFERRED_SIZE)


# -- the window -----------------------------------------------------------------------------------------------
def restore_window(window: MainWindow) -> None:
    """Before the window is shown: its last geometry, fitted to the screen it opens on (the first time: a size that
    fits that screen, centred), its splitters, tabs and brush width."""
    settings = open_settings()
    geometry = _byte_array(settings.value(GEOMETRY))
    if geometry is not None and window.restoreGeometry(geometry):
        fit_to_screen(window, _saved_margins(settings.value(FRAME)))
    else:
        place_first_time(window)
    state = _byte_array(settings.value(WINDOW_STATE))
    if state is not None:
        window.restoreState(state)
    for name in SPLITTERS:
        splitter = _splitter(window, name)
        saved = _byte_array(settings.value(f"window/{name}"))
        if splitter is not None and saved is not None:
            splitter.restoreState(saved)
    _set_index(window.inspectTabs, _int(settings.value(INSPECT_TAB)))
    width = _int(settings.value(BRUSH_WIDTH))
    if width is not None and window.brushSlider.minimum() <= width <= window.brushSlider.maximum():
        window.brushSlider.setValue(width)  # the slider passes it on to the canvas
    bottom = _int(settings.value(BOTTOM_TAB))
    if bottom is not None:
        if window.engine_ready:
            _set_index(window.bottomTabs, bottom)
        else:  # Experiments is one of the tabs the engine brings: choose it once they are in
            window.engineReady.connect(_BottomTab(window, bottom), type=Qt.ConnectionType.SingleShotConnection)


def save_window(window: MainWindow) -> None:
    """Everything restore_window() and restore_form() bring back. Saving again writes the same: call it freely."""
    settings = open_settings()
    settings.setValue(GEOMETRY, window.saveGeometry())
    if window.isVisible() and not window.isMaximized() and not window.isFullScreen():
        margins = _frame_margins(window)
        settings.setValue(FRAME, [margins.left(), margins.top(), margins.right(), margins.bottom()])
    settings.setValue(WINDOW_STATE, window.saveState())
    for name in SPLITTERS:
        splitter = _splitter(window, name)
        if splitter is not None:
            settings.setValue(f"window/{name}", splitter.saveState())
    settings.setValue(INSPECT_TAB, window.inspectTabs.currentIndex())
    settings.setValue(BRUSH_WIDTH, window.brushSlider.value())
    if window.engine_ready:  # before that the tabs and the form are placeholders: keep what was saved
        settings.setValue(BOTTOM_TAB, window.bottomTabs.currentIndex())
        _save_form(settings, window.trainingPanel)
    settings.sync()  # a read-only store leaves status() at AccessError: nothing to tell the user


def place_first_time(window: QWidget) -> None:
    """PREFERRED_SIZE where the screen has room for it, else FIT_FRACTION of the available area; centred."""
    area = screen_area()
    margins = _frame_margins(window)
    room = area.size().shrunkBy(margins)
    size = QSize(
        PREFERRED_SIZE.width() if PREFERRED_SIZE.width() <= room.width() else _fraction(area.width(), room.width()),
        PREFERRED_SIZE.height() if PREFERRED_SIZE.height() <= room.height()
        else _fraction(area.height(), room.height()),
    )
    _place(window, size, _centred(area, size.grownBy(margins)))


def fit_to_screen(window: QWidget, frame_margins: QMargins | None = None) -> None:
    """Bring a restored geometry onto the screen it opens on: shrunk where it is larger (saved on a bigger monitor),
    moved where it sticks out (saved on a monitor that is gone); left alone where it fits. A maximised window stays
    maximised. ``frame_margins``: the frame's thickness, where known (before the first show Qt does not know it)."""
    state = window.windowState()
    keep = state & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen)
    if keep:  # fit the normal geometry, the one the window returns to
        window.setWindowState(state & ~keep)
    margins = frame_margins if frame_margins is not None and not window.isVisible() else _frame_margins(window)
    inner = window.geometry()  # restoreGeometry sets the client area, without the frame
    area = screen_area(inner.center())
    room = area.size().shrunkBy(margins)
    size = inner.size()
    if size.width() > room.width():
        size.setWidth(_fraction(area.width(), room.width()))
    if size.height() > room.height():
        size.setHeight(_fraction(area.height(), room.height()))
    frame = QRect(inner.topLeft() - QPoint(margins.left(), margins.top()), size.grownBy(margins))
    # Inside the area, the top left corner (the title bar) first where the frame is larger than the area.
    x = max(area.left(), min(frame.left(), area.right() + 1 - frame.width()))
    y = max(area.top(), min(frame.top(), area.bottom() + 1 - frame.height()))
    _cap_minimum(window, size)
    fitted = QRect(QPoint(x + margins.left(), y + margins.top()), size)
    if fitted != inner:  # (untouched where it fits: no creeping by a guessed frame at each launch)
        window.setGeometry(fitted)
    if keep:
        window.setWindowState(window.windowState() | keep)


def _place(window: QWidget, size: QSize, frame_pos: QPoint) -> None:
    _cap_minimum(window, size)
    window.resize(size)
    window.move(frame_pos)  # for a window not shown yet, move() places the frame


def _cap_minimum(window: QWidget, size: QSize) -> None:
    # The layout's minimum is taller than a 720 px screen: left to it, the window would grow past the screen's edges
    # as it shows (and as the training panel arrives). Cap it at the size fitted to the screen (at most the room
    # there is) and let the panes share what fits; a window the user made that small keeps its size next time.
    minimum = window.minimumSizeHint()
    if minimum.width() > size.width() or minimum.height() > size.height():
        window.setMinimumSize(minimum.boundedTo(size))


def _frame_margins(window: QWidget) -> QMargins:
    """The window frame's thickness on each side: measured once shown, else FRAME_ALLOWANCE."""
    if window.isVisible():
        frame, inner = window.frameGeometry(), window.geometry()
        return QMargins(inner.left() - frame.left(), inner.top() - frame.top(),
                        frame.right() - inner.right(), frame.bottom() - inner.bottom())
    return FRAME_ALLOWANCE


def _saved_margins(value: object) -> QMargins | None:
    if not isinstance(value, list) or len(value) != 4:
        return None
    sides = [_int(side) for side in value]
    if any(side is None or not 0 <= side <= MAX_FRAME for side in sides):
        return None
    return QMargins(*sides)


def _fraction(available: int, room: int) -> int:
    return max(1, min(int(available * FIT_FRACTION), room))


def _centred(area: QRect, size: QSize) -> QPoint:
    return QPoint(area.left() + (area.width() - size.width()) // 2, area.top() + (area.height() - size.height()) // 2)


def _splitter(window: MainWindow, name: str) -> QSplitter | None:
    return window.findChild(QSplitter, name)


class _BottomTab:
    """Chooses the remembered bottom tab once the engine has added its tabs; holds the window weakly, so that a
    window closed before then is not kept alive by this connection."""

    def __init__(self, window: MainWindow, index: int) -> None:
        self._window = weakref.ref(window)
        self._index = index

    def __call__(self) -> None:
        window = self._window()
        if window is not None:
            _set_index(window.bottomTabs, self._index)


# -- the training form ------------------------------------------------------------------------------------------
def restore_form(panel: TrainingPanel) -> None:
    """The training form as it was when cnndesk last closed; a value the widgets cannot take keeps its default."""
    text = open_settings().value(TRAINING_FORM)
    if not isinstance(text, str):
        return
    try:
        state = json.loads(text)
    except ValueError:  # damaged: the defaults stand
        return
    if isinstance(state, dict):
        panel.set_form_state(state)


def save_form(panel: TrainingPanel) -> None:
    settings = open_settings()
    _save_form(settings, panel)
    settings.sync()


def _save_form(settings: QSettings, panel: TrainingPanel) -> None:
    settings.setValue(TRAINING_FORM, json.dumps(panel.form_state(), allow_nan=False))


# -- reading values back (an INI file returns strings; a damaged one anything) ----------------------------------
def _byte_array(value: object) -> QByteArray | None:
    if isinstance(value, QByteArray):
        return value if not value.isEmpty() else None
    if isinstance(value, bytes | bytearray) and value:
        return QByteArray(bytes(value))
    return None


def _int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return None
    return None


def _set_index(tabs: QTabWidget, index: int | None) -> None:
    if index is not None and 0 <= index < tabs.count():
        tabs.setCurrentIndex(index)


def remember_choice(combo: QComboBox, key: str) -> None:
    """A combo box that comes back with the choice last made (by its item data), and saves each new one."""
    saved = open_settings().value(key)
    if saved is not None:
        index = combo.findData(saved)
        if index >= 0:
            combo.setCurrentIndex(index)
    combo.currentIndexChanged.connect(lambda _index: open_settings().setValue(key, combo.currentData()))
