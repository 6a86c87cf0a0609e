"""Presentation mode (F11) and the theme: the View menu's entries for showing cnndesk to a class.

Presentation mode is full screen with the application font, the maps, the bars and the plot lines scaled by the
zoom (View → Presentation zoom, remembered), and higher-contrast diverging colour maps. The sizes themselves are
decided in one place, ``cnndesk/ui/presentation.py``; this panel turns the mode on and off and puts the window back
exactly as it was (geometry, window state, every splitter, the font). Esc leaves it too: while presenting, Esc is
taken from the actions that have it (Clear canvas keeps Delete).

The theme (View → Theme: System, Light, Dark, remembered) follows the desktop's colour scheme unless forced.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, Qt, QTimer
from PySide6.QtGui import QAction, QFont, QGuiApplication, QKeySequence
from PySide6.QtWidgets import QApplication, QSizePolicy, QSplitter

from cnndesk.ui.presentation import DEFAULT_ZOOM, ZOOMS, presentation, style_graphics
from cnndesk.ui.settings import open_settings
from cnndesk.ui.theme import DARK, LIGHT, SYSTEM, THEME_KEY, THEMES, apply_theme

from .base import VIEW, Panel

ZOOM_KEY = "presentation/zoom"
# Screen height per unit of zoom: the window at ×z needs about z × 480 px of height for its canvas, prediction
# and maps (measured at 1280×720, where ×1.5 fits and ×2 does not). A larger zoom is lowered to what the screen takes.
ZOOM_SCREEN_HEIGHT = 480
LEAVE_KEY = QKeySequence(Qt.Key.Key_Escape)


@dataclass
class _Saved:
    """The window as it was before presentation mode."""

    geometry: QRect
    state: Qt.WindowState
    font: QFont
    splitters: dict[str, QByteArray] = field(default_factory=dict)
    bottom_visible: bool = True


def saved_zoom() -> float:
    """The zoom last chosen (DEFAULT_ZOOM if none, or not one of ZOOMS)."""
    value = open_settings().value(ZOOM_KEY)
    try:
        zoom = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return DEFAULT_ZOOM
    return zoom if zoom in ZOOMS else DEFAULT_ZOOM


def saved_theme() -> str:
    value = open_settings().value(THEME_KEY)
    return value if value in THEMES else SYSTEM


class PresentationPanel(Panel):
    """View → Presentation mode, Presentation zoom and Theme."""

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self._saved: _Saved | None = None
        self._taken_escape: list[tuple[QAction, list[QKeySequence]]] = []
        self.zoom = saved_zoom()

        self.presentAction = self.add_action(
            VIEW, self.tr("&Presentation mode"), self.toggle, ["F11"],
            self.tr("Full screen with larger text, maps and lines for a projector (F11 or Esc leaves it)"))
        self.presentAction.setCheckable(True)
        self.leaveAction = QAction(self.tr("Leave presentation mode"), shell)
        self.leaveAction.setShortcut(LEAVE_KEY)
        self.leaveAction.setEnabled(False)
        self.leaveAction.triggered.connect(self.leave)
        shell.addAction(self.leaveAction)  # not in a menu: Esc, while presenting

        self.zoomMenu, self.zoomGroup, self.zoomActions = self.add_choice_menu(
            VIEW, self.tr("Presentation &zoom"), [(zoom, f"×{zoom:g}", "") for zoom in ZOOMS], self.zoom,
            self.set_zoom)
        self.theme = saved_theme()
        self.themeMenu, self.themeGroup, self.themeActions = self.add_choice_menu(
            VIEW, self.tr("&Theme"), [(SYSTEM, self.tr("Follow the &system"), ""), (LIGHT, self.tr("&Light"), ""),
                                      (DARK, self.tr("&Dark"), "")], self.theme, self.set_theme)

        QGuiApplication.styleHints().colorSchemeChanged.connect(self._system_scheme_changed)
        # New plot items (a new model's rows, a run's curves) are styled once they are in.
        self.session.network_changed.connect(lambda _network: QTimer.singleShot(0, self.restyle))
        shell.installEventFilter(self)
        # The views are built by now (this panel comes last): style them for the theme once the window is laid out.
        self.dark = apply_theme(self.theme)
        QTimer.singleShot(0, self.restyle)

    # -- presentation mode ---------------------------------------------------------------------------------
    @property
    def presenting(self) -> bool:
        return self._saved is not None

    def toggle(self) -> None:
        self.leave() if self.presenting else self.enter()

    def enter(self) -> None:
        """Full screen, everything at the zoom; what is needed to put the window back is kept."""
        if self.presenting:
            return
        shell = self.shell
        app = QApplication.instance()
        self._saved = _Saved(geometry=QRect(shell.normalGeometry() if shell.isMaximized() else shell.geometry()),
                             state=shell.windowState(), font=QFont(app.font()),
                             splitters={s.objectName(): s.saveState() for s in shell.findChildren(QSplitter)
                                        if s.objectName()},
                             bottom_visible=shell.bottomTabs.isVisibleTo(shell))
        self._take_escape()
        self._size_current_pages_only(True)
        self._apply_zoom()
        shell.showFullScreen()
        self.presentAction.setChecked(True)
        self.leaveAction.setEnabled(True)
        self._announce()

    def leave(self) -> None:
        """The window exactly as it was before: font, state, geometry, splitters."""
        saved, self._saved = self._saved, None
        if saved is None:
            return
        shell = self.shell
        QApplication.instance().setFont(saved.font)  # first: the views measure their text as they follow
        presentation().set_state(False, self.zoom)
        self._give_escape_back()
        self._size_current_pages_only(False)
        shell.bottomTabs.setVisible(saved.bottom_visible)
        shell.setWindowState(saved.state)
        if not saved.state & (Qt.WindowState.WindowMaximized | Qt.WindowState.WindowFullScreen):
            shell.setGeometry(saved.geometry)
        self.restyle()  # (first: the plots' own layouts are fitted again on the next turn, before the splitters)
        self._restore_splitters(saved.splitters)
        # Again once the window has its size back: a resize after restoreState spreads the change over the panes.
        QTimer.singleShot(0, lambda: self._restore_splitters(saved.splitters))
        self.presentAction.setChecked(False)
        self.leaveAction.setEnabled(False)
        self.shell.statusBar().clearMessage()  # "F11 or Esc leaves it" and the like no longer hold

    def _restore_splitters(self, states: dict[str, QByteArray]) -> None:
        if self.presenting:  # entered again meanwhile
            return
        for splitter in self.shell.findChildren(QSplitter):
            if splitter.objectName() in states:
                splitter.restoreState(states[splitter.objectName()])

    def set_zoom(self, zoom: float) -> None:
        """The zoom for presentation mode (applied at once while presenting), remembered."""
        self.zoom = zoom
        self.zoomActions[zoom].setChecked(True)
        open_settings().setValue(ZOOM_KEY, zoom)
        if self.presenting:
            self._apply_zoom()
            self._announce()

    def screen_height(self) -> int:
        """The height in pixels of the screen the window is on (presentation mode fills it)."""
        screen = self.shell.screen() or QGuiApplication.primaryScreen()
        return screen.geometry().height() if screen is not None else 1080

    def effective_zoom(self) -> float:
        """The chosen zoom, lowered to what the screen has room for (never below ×1)."""
        return max(1.0, min(self.zoom, self.screen_height() / ZOOM_SCREEN_HEIGHT))

    def _apply_zoom(self) -> None:
        assert self._saved is not None
        zoom = self.effective_zoom()
        font = QFont(self._saved.font)
        if font.pointSizeF() > 0:
            font.setPointSizeF(font.pointSizeF() * zoom)
        else:  # a font sized in pixels
            font.setPixelSize(round(font.pixelSize() * zoom))
        QApplication.instance().setFont(font)
        presentation().set_state(True, zoom)
        self.restyle()
        self._fit_bottom()

    def _announce(self) -> None:
        zoom = self.effective_zoom()
        if zoom < self.zoom:
            self.shell.status(self.tr("Presentation at ×{shown}: ×{chosen} needs a screen taller than {height} px. "
                                      "F11 or Esc leaves it.")
                              .format(shown=f"{zoom:.3g}", chosen=f"{self.zoom:g}", height=self.screen_height()),
                              10000)
        else:
            self.shell.status(self.tr("Presentation mode: F11 or Esc leaves it; double-click a map to enlarge it."),
                              8000)

    def _fit_bottom(self) -> None:
        """The bottom tabs (training, experiments…) where the screen has room for them under the maps at this
        zoom; otherwise hidden while presenting, so that the canvas, the prediction and the maps keep their size
        (a lower zoom or a larger screen brings them back)."""
        if self._saved is None or not self._saved.bottom_visible:
            return
        shell = self.shell
        splitter = shell.mainSplitter
        top = splitter.widget(0)
        needed = (top.minimumSizeHint().height() + shell.bottomTabs.minimumSizeHint().height()
                  + splitter.handleWidth())
        fits = needed <= splitter.height()
        if fits != shell.bottomTabs.isVisibleTo(shell):
            shell.bottomTabs.setVisible(fits)
            if not fits:
                shell.status(self.tr("Presentation mode: the bottom tabs are hidden, there is no room for them at "
                                     "this zoom; a lower zoom brings them back."), 8000)

    def _size_current_pages_only(self, on: bool) -> None:
        """A tab widget is as large as its largest page needs, shown or not: while presenting only the page
        shown counts (the others' size policy is Ignored, which QStackedLayout's minimum skips), so that the
        columns share the screen by what is on it."""
        for tabs in (self.shell.inspectTabs, self.shell.bottomTabs):
            if on:
                tabs.currentChanged.connect(self._pages_changed)
            else:
                with contextlib.suppress(RuntimeError, TypeError):
                    tabs.currentChanged.disconnect(self._pages_changed)
            for index in range(tabs.count()):
                page = tabs.widget(index)
                policy = page.sizePolicy()
                saved = page.__dict__.setdefault("_cnndesk_policy", (policy.horizontalPolicy(),
                                                                     policy.verticalPolicy()))
                ignored = on and index != tabs.currentIndex()
                policy.setHorizontalPolicy(QSizePolicy.Policy.Ignored if ignored else saved[0])
                policy.setVerticalPolicy(QSizePolicy.Policy.Ignored if ignored else saved[1])
                page.setSizePolicy(policy)
                if not on:
                    del page.__dict__["_cnndesk_policy"]

    def _pages_changed(self, _index: int) -> None:
        if self.presenting:
            self._size_current_pages_only(True)
            QTimer.singleShot(0, self._fit_bottom)

    def _take_escape(self) -> None:
        """Esc leaves presentation mode: the window's other actions give it up meanwhile (two actions with one
        shortcut would make it ambiguous, and neither would run)."""
        self._taken_escape = []
        for action in self.shell.actions():
            if action is self.leaveAction:
                continue
            shortcuts = action.shortcuts()
            if LEAVE_KEY in shortcuts:
                self._taken_escape.append((action, shortcuts))
                action.setShortcuts([s for s in shortcuts if s != LEAVE_KEY])

    def _give_escape_back(self) -> None:
        for action, shortcuts in self._taken_escape:
            action.setShortcuts(shortcuts)
        self._taken_escape = []

    # -- the theme -----------------------------------------------------------------------------------------
    def set_theme(self, theme: str) -> None:
        """SYSTEM, LIGHT or DARK, applied at once and remembered."""
        self.theme = theme
        self.themeActions[theme].setChecked(True)
        open_settings().setValue(THEME_KEY, theme)
        self.dark = apply_theme(theme)
        self.restyle()

    def _system_scheme_changed(self, _scheme) -> None:
        if self.theme == SYSTEM:
            self.dark = apply_theme(SYSTEM)
            self.restyle()

    def restyle(self) -> None:
        """Every pyqtgraph view of the window (and its open dialogs) at the current scale and theme."""
        style_graphics(self.shell)
        for widget in QApplication.topLevelWidgets():
            if widget is not self.shell and widget.isVisible() and widget.parentWidget() is self.shell:
                style_graphics(widget)

    # -- the window ----------------------------------------------------------------------------------------
    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.shell:
            kind = event.type()
            if kind == QEvent.Type.Close:
                self.leave()  # before the window saves its geometry and splitters: the ones from before
            elif kind == QEvent.Type.Resize and self.presenting:
                self._fit_bottom()
        return False

    def engine_ready(self) -> None:
        super().engine_ready()
        # The bottom tabs and their plots arrive now: style them, and see whether they fit while presenting.
        QTimer.singleShot(0, self.restyle)
        if self.presenting:
            QTimer.singleShot(0, self._fit_bottom)

    def shutdown(self) -> None:
        self.leave()  # the application font is the whole application's: never leave it scaled

