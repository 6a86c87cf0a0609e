"""What a panel is: one view of the window, with its place, its actions, and its part of start-up and shutdown.

The shell (``main_window.MainWindow``) builds itself from a list of panels: it puts each panel's widget in the area
the panel names, puts its actions in their menus (their shortcuts work wherever the focus is), and tells every panel
when PyTorch has loaded and when the window closes. A panel talks to the session and to the shell's services
(``runner``, ``tasks``, ``show_error``, ``status``), never to another panel's widgets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

if TYPE_CHECKING:
    from cnndesk.ui.main_window import MainWindow

# Where a panel's widget goes.
DRAW = "draw"  # the left column: the canvas
PREDICT = "predict"  # the middle column: the prediction
INSPECT = "inspect"  # a tab on the right: inside the network
BOTTOM = "bottom"  # a tab at the bottom: training, experiments (built once PyTorch has loaded)
BOTTOM_CORNER = "bottom-corner"  # beside the bottom tabs' titles, whichever tab is shown (built with PyTorch)

# The menus, in menu-bar order.
FILE, EDIT, VIEW, TRAINING, HELP = "file", "edit", "view", "training", "help"
MENUS = (FILE, EDIT, VIEW, TRAINING, HELP)


class Panel(QObject):
    """A view that attaches to the session. Subclasses set ``area`` and build their widget in ``__init__`` (or,
    if it needs PyTorch, in ``engine_ready``)."""

    area = ""  # DRAW, PREDICT, INSPECT, BOTTOM, or "" for a panel without a widget of its own

    def __init__(self, shell: MainWindow) -> None:
        super().__init__(shell)
        self.shell = shell
        self.session = shell.session
        self._menu_entries: list[tuple[str, QAction | QMenu]] = []
        self._engine_actions: list[QAction] = []

    def widget(self) -> QWidget | None:
        """The panel's widget, if it has one before PyTorch loads."""
        return None

    def title(self) -> str:
        """The tab's title, for INSPECT and BOTTOM panels."""
        return ""

    def menu_entries(self) -> Sequence[tuple[str, QAction | QMenu]]:
        """(menu, action or submenu) pairs, in order."""
        return self._menu_entries

    def engine_ready(self) -> None:
        """PyTorch and the engine are in: build what needs them, enable what waited for them."""
        for action in self._engine_actions:
            action.setEnabled(True)

    def engine_widget(self) -> QWidget | None:
        """A BOTTOM panel's widget, built in ``engine_ready``."""
        return None

    def shutdown(self) -> None:
        """The window is closing: stop what this panel runs (called before the shell joins its threads)."""

    # -- helpers for subclasses ----------------------------------------------------------------------------
    def add_action(self, menu: str, text: str, slot: Callable[[], object], shortcuts: Sequence[object] = (),
                   tip: str = "", needs_engine: bool = False) -> QAction:
        """An action in ``menu`` whose shortcuts work anywhere in the window; ``needs_engine``: disabled until
        PyTorch has loaded."""
        action = QAction(text, self.shell)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        if tip:
            action.setStatusTip(tip)
        action.triggered.connect(lambda _=False: slot())
        if needs_engine:
            action.setEnabled(False)
            self._engine_actions.append(action)
        self._menu_entries.append((menu, action))
        return action

    def add_choice_menu(self, menu: str, title: str, choices: Sequence[tuple[Any, str, str]], chosen: Any,
                        slot: Callable[[Any], object], name: str = "") -> tuple[QMenu, QActionGroup,
                                                                                   dict[Any, QAction]]:
        """A submenu of ``menu`` offering one of ``choices`` — (value, text, status tip) — as checkable, exclusive
        actions: the one whose value is ``chosen`` checked (the first if none is), ``slot(value)`` when one is
        picked. Returns the submenu, its action group and the actions by value."""
        submenu = QMenu(title, self.shell, objectName=name)
        group = QActionGroup(submenu)  # exclusive
        actions: dict[Any, QAction] = {}
        for value, text, tip in choices:
            action = submenu.addAction(text)
            action.setCheckable(True)
            action.setData(value)
            if tip:
                action.setStatusTip(tip)
            group.addAction(action)
            actions[value] = action
        actions.get(chosen, next(iter(actions.values()))).setChecked(True)
        group.triggered.connect(lambda action: slot(action.data()))
        self._menu_entries.append((menu, submenu))
        return submenu, group, actions
