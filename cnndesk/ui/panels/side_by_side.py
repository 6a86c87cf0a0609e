"""The Side by side tab: a pinned model beside the current one, both on the same input — the tutorials' CNN-vs-MLP
lesson in one click (pin LeNet5, make the MLP current, move the digit: the CNN still reads it, the MLP does not).

The pinned model is the session's (``Session.pin``); the moved input is this tab's own: the main prediction and
the other tabs keep seeing the drawing as the preprocessing centred it. Like the Filters tab, it draws only while it
is visible; whatever changed meanwhile is drawn when it is shown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

from cnndesk.errors import CnndeskError
from cnndesk.locations import pretrained_path
from cnndesk.session.state import CurrentModel
from cnndesk.ui.settings import open_settings
from cnndesk.ui.side_by_side import ModelColumn, SideBySideView, shift_image

from .base import FILE, INSPECT, Panel

if TYPE_CHECKING:
    from cnndesk.engine import Network

PIN_SHORTCUT = "Ctrl+Shift+P"
# The lesson's move: 4 px left and 4 px down. On the first 1000 MNIST test digits moved so, the bundled LeNet5 keeps
# 84% and the bundled MLP 49% (centred: 99.5% and 98.6%); of six digits drawn on the canvas, LeNet5 reads all six,
# the MLP loses three. 4 px along one axis only costs the MLP less (75-83%), 6 px breaks LeNet5 down too (55-72%).
LESSON_SHIFT = (-4, 4)
LESSON_MODELS = ("lenet5", "mlp")  # (pinned, current)
LAYER_KEYS = {"pinned": "sideBySide/pinnedLayer", "current": "sideBySide/currentLayer"}  # the remembered layer


class SideBySidePanel(Panel):
    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.sideBySide = view = SideBySideView()
        self.pinAction = self.add_action(FILE, self.tr("&Pin current model"), self.pin_current, [PIN_SHORTCUT],
                                         self.tr("Keep the current model beside the next one, to compare both"),
                                         needs_engine=True)
        self.unpinAction = self.add_action(FILE, self.tr("U&npin model"), self.unpin)
        self.cnnVsMlpAction = self.add_action(FILE, self.tr("Compare CNN &vs MLP"), self.compare_cnn_with_mlp,
                                              tip=self.tr("Pin the bundled LeNet5 beside the bundled MLP and move "
                                                          "the digit"), needs_engine=True)
        self.unpinAction.setEnabled(False)
        view.pinButton.setToolTip(f"{view.pinButton.toolTip()} ({self.pinAction.shortcut().toString()})")
        view.pinButton.clicked.connect(self.pin_current)
        view.unpinButton.clicked.connect(self.unpin)
        view.lessonButton.clicked.connect(self.compare_cnn_with_mlp)
        for button in (view.pinButton, view.unpinButton, view.lessonButton):
            button.setEnabled(False)
        view.shiftChanged.connect(self._changed)
        for column, key in ((view.pinnedColumn, "pinned"), (view.currentColumn, "current")):
            column.layerChosen.connect(lambda layer, key=key: open_settings().setValue(LAYER_KEYS[key], layer))
        self._stale = False  # something changed while the tab was hidden: drawn when it is shown
        self.redraws = 0  # times the columns were drawn (for tests: none while the tab is hidden)
        self._show_pinned(None)
        view.currentColumn.show_empty(self.tr("loading…"), self.tr("Loading PyTorch…"))
        self.session.pinned_changed.connect(self._show_pinned)
        self.session.network_changed.connect(self._network_changed)
        self.session.model_changed.connect(lambda _current: self._title_current())
        self.session.inspection_changed.connect(self._changed)
        view.installEventFilter(self)

    def widget(self) -> QWidget:
        return self.sideBySide

    def title(self) -> str:
        return self.tr("Side by side")

    def engine_ready(self) -> None:
        super().engine_ready()
        self.sideBySide.pinButton.setEnabled(True)
        self.sideBySide.lessonButton.setEnabled(True)

    # -- what the buttons and the menu do ------------------------------------------------------------------
    def pin_current(self) -> None:
        """Pin the current model (as saved: a run in progress goes on in the current column) and show the tab."""
        if self.session.model is None or self.session.predictor is None:
            return
        pinned = self.session.pin()
        self.sideBySide.show_explanation("")
        self.shell.status(self.tr("Pinned {model}: open or train another model to compare them.").format(
            model=pinned.name), 10000)
        self._show_tab()

    def unpin(self) -> None:
        self.session.unpin()

    def compare_cnn_with_mlp(self) -> None:
        """One click for the lesson: the bundled LeNet5 pinned, the bundled MLP current, the digit moved."""
        if self.session.predictor is None:
            return
        from cnndesk.engine import load_model

        paths = [pretrained_path(name) for name in LESSON_MODELS]
        try:
            (cnn, cnn_meta), (mlp, mlp_meta) = (load_model(path) for path in paths)
        except CnndeskError as exc:
            self.shell.show_error(str(exc))
            return
        self.session.pin(CurrentModel(cnn, cnn_meta, paths[0]))
        self.session.set_model(mlp, mlp_meta, paths[1])
        self.sideBySide.set_shift(*LESSON_SHIFT)
        self.sideBySide.show_explanation(self.tr(
            "The CNN's filters slide over the image and find the moved strokes; the MLP's weights are tied to "
            "pixel positions."))
        self._show_tab()

    def _show_tab(self) -> None:
        tabs = getattr(self.shell, "inspectTabs", None)
        if tabs is not None:
            tabs.setCurrentWidget(self.sideBySide)

    # -- following the session -------------------------------------------------------------------------------
    def _describe(self, current: CurrentModel) -> str:
        """The model's name, where it is from and its test accuracy: "lenet5 (bundled, 99.41%)"."""
        where = self.tr("bundled") if current.bundled else current.path.name if current.path is not None \
            else self.tr("untrained")
        accuracy = current.test_accuracy
        return f"{current.name} ({where}" + ("" if accuracy is None else f", {accuracy:.2%}") + ")"

    def _show_pinned(self, pinned: CurrentModel | None) -> None:
        view = self.sideBySide
        view.unpinButton.setEnabled(pinned is not None)
        self.unpinAction.setEnabled(pinned is not None)
        column = view.pinnedColumn
        if pinned is None:
            view.show_explanation("")
            column.show_empty(self.tr("no model"), self.tr(
                "Pin a model to compare it with another: “Pin current model” keeps it here while you open or train "
                "another. “CNN vs MLP” pins the bundled LeNet5 beside the MLP."))
        else:
            column.show_model(self._describe(pinned))
            self._list_layers(column, "pinned")
        self._changed()

    def _network_changed(self, _network: Network) -> None:
        self._list_layers(self.sideBySide.currentColumn, "current")
        self._title_current()

    def _title_current(self) -> None:
        session, column = self.session, self.sideBySide.currentColumn
        if session.predictor is None or session.model is None:
            return
        if session.following_run:
            name = session.predictor.model.name
            column.show_model(self.tr("{model} (training)").format(model=name))
        else:
            column.show_model(self._describe(session.model))

    def _list_layers(self, column: ModelColumn, key: str) -> None:
        """The column's model's visible layers, as its inspection names them (one pass of a blank input)."""
        pinned, current = self.session.compare(np.zeros((28, 28), np.float32))
        empty = pinned if key == "pinned" else current
        column.set_layers([] if empty is None else empty.layers, open_settings().value(LAYER_KEYS[key]))

    def _changed(self, *_args) -> None:
        if not self.sideBySide.isVisible():
            self._stale = True  # a hidden tab costs the pen nothing
            return
        self.redraw()

    def redraw(self) -> None:
        """Both columns for the input moved as the control says (not moved: the session's own inspections)."""
        self._stale = False
        session, view = self.session, self.sideBySide
        shift = view.shift()
        image = None if session.input is None else shift_image(session.input.centred, *shift)
        if image is None or shift == (0, 0):
            pinned, current = session.pinned_inspection, session.inspection
        else:
            pinned, current = session.compare(image.astype(np.float32))
        self.redraws += 1
        view.show_input(image)
        if session.predictor is not None:
            view.currentColumn.show_inspection(current)
        if session.pinned is not None:
            view.pinnedColumn.show_inspection(pinned)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.sideBySide and event.type() == QEvent.Type.Show and self._stale:
            self.redraw()
        return False
