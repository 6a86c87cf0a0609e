"""The main window: a shell that builds itself from panels (``ui/panels``) around the session.

It opens in two steps so that it shows before PyTorch has loaded (1–2 s): first the panels' Qt widgets (the canvas,
the prediction, the layer views); then, once the task runner has imported PyTorch and the engine, the session's
predictor, the training runner and what the panels build with them (training, experiments, the restore offer).
A digit drawn meanwhile is predicted as soon as the model is in.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QSizePolicy,
    QSpinBox,
    QSplitter,
    QTabWidget,
)

from cnndesk import engine  # its names load PyTorch on first use, not here
from cnndesk.errors import CnndeskError
from cnndesk.locations import STARTING_MODEL, data_dir, folder_problem, pretrained_path
from cnndesk.session import text
from cnndesk.session.state import CurrentModel, Session

from .elided_label import ElidedLabel
from .panels.attribution import AttributionPanel
from .panels.base import BOTTOM, BOTTOM_CORNER, DRAW, EDIT, FILE, HELP, INSPECT, MENUS, PREDICT, TRAINING, VIEW, Panel
from .panels.drawing import DrawingPanel
from .panels.experiments import ExperimentsTab
from .panels.files import ModelFilesPanel
from .panels.filters import FiltersPanel
from .panels.health import HealthPanel
from .panels.help import HelpPanel
from .panels.language import LanguagePanel
from .panels.layers import LayersPanel, SummaryPanel
from .panels.my_digits import MyDigitsTab
from .panels.prediction import PredictionPanel
from .panels.presentation import PresentationPanel
from .panels.replay import ReplayPanel
from .panels.restore import RestorePanel
from .panels.side_by_side import SideBySidePanel
from .panels.test_set import TestSetPanel
from .panels.training import TrainingTab
from .settings import restore_form, restore_window, save_window
from .tasks import Task, TaskRunner

if TYPE_CHECKING:
    from cnndesk.engine import Inspection, Network, Predictor

    from .worker import TrainingRunner

PREDICT_THREADS = 1  # torch intra-op threads of the GUI thread
GIL_SWITCH_INTERVAL = 0.001  # seconds
TRAINING_PANEL_ROWS = 12  # the bottom pages' height in spin-box heights, rounded up (the tallest, Experiments)
TASKS_SHUTDOWN_S = 10  # how long closing waits for a background task other than the import
MODEL_STATUS_CHARS = 56  # the current model's line in the status bar, at most (average characters)
TASK_ERROR_CHARS = 160  # a failed background task's message in the status bar, cut to one short line
# Imported by the preload, after the engine and before any training thread starts: torch.optim imports
# torch._dynamo (~1 s) the first time an optimizer is made, and torchvision reads MNIST the first time ever.
PRELOAD_MODULES = ("torchvision", "torch._dynamo", "captum.attr")
# What the second step needs, each importing PyTorch or the engine modules built on it.
ENGINE_MODULES = ("cnndesk.engine.checkpoint", "cnndesk.engine.inspect", "cnndesk.engine.preprocess",
                  "cnndesk.engine.summary", "cnndesk.engine.train", "cnndesk.session.markers",
                  "cnndesk.session.runs", "cnndesk.ui.worker", "cnndesk.ui.training_panel", "cnndesk.ui.experiments")
MENU_TITLES = {FILE: QT_TRANSLATE_NOOP("MainWindow", "&File"), EDIT: QT_TRANSLATE_NOOP("MainWindow", "&Edit"),
               VIEW: QT_TRANSLATE_NOOP("MainWindow", "&View"), TRAINING: QT_TRANSLATE_NOOP("MainWindow", "&Training"),
               HELP: QT_TRANSLATE_NOOP("MainWindow", "&Help")}


def import_engine() -> None:
    """Import PyTorch and everything the model and training need (the slow part of start-up).

    On the task runner, before any other thread uses PyTorch; the rest (PRELOAD_MODULES) follows on the same
    runner, in order, before training may start: two threads importing torch._dynamo at once (or one importing it
    while the interpreter exits) failed with "operator flex_lib::zeros_and_scatter does not exist".
    """
    import importlib

    for name in ENGINE_MODULES:
        importlib.import_module(name)


_garbage_collector = None  # pyqtgraph's GarbageCollector, once per process


def collect_garbage_on_the_gui_thread() -> None:
    """Python's cyclic collector runs in whichever thread crosses its threshold. In the training or a task thread it
    may destroy the Qt objects of a closed window there: ~QObject then waits for the GIL in that thread while the
    GUI thread, holding it, waits for that object's mutex — a deadlock (seen in the test suite). So automatic
    collection is off and the GUI thread collects on a timer (pyqtgraph's GarbageCollector, once a second)."""
    global _garbage_collector
    if _garbage_collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _garbage_collector = GarbageCollector(interval=1.0)


class MainWindow(QMainWindow):
    """The window. ``MainWindow()`` is complete on return; with ``load_engine=False`` only the Qt half is built,
    to show at once: ``start_loading()`` then imports PyTorch in the background and completes it
    (``engineReady``)."""

    engineReady = Signal()
    runner: TrainingRunner  # built with the engine

    def __init__(self, checkpoint: str | Path | None = None, *, load_engine: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        collect_garbage_on_the_gui_thread()
        # Sentences written by the session layer go through Qt's translator too. Their context is the empty one:
        # pyside6-lupdate files the plain tr() calls of cnndesk/session/text.py under it.
        text.set_translator(lambda source: QCoreApplication.translate("", source))
        self.session = Session()  # the state the panels share; they follow its events
        self.session.model_changed.connect(self._on_model_changed)
        self._checkpoint = checkpoint
        self.engine_ready = False  # the second step is done: model, training panel, runner
        self._closing = False
        # The one runner for background jobs other than training (the imports, the MNIST preload): one at a time,
        # in order, outcomes delivered here on the GUI thread.
        self.tasks = TaskRunner(self)
        self.tasks.failed.connect(self._on_task_failed)
        self._import_task: Task | None = None
        self._preload_task: Task | None = None
        self.imports_done = threading.Event()  # the preload's imports are in: training may start

        drawing, prediction = DrawingPanel(self), PredictionPanel(self)
        self.canvas = drawing.canvas  # (before the panels that connect to the canvas)
        files = ModelFilesPanel(self)
        training = TrainingTab(self)
        self.panels: list[Panel] = [files, drawing, prediction, LayersPanel(self), FiltersPanel(self),
                                    HealthPanel(self), AttributionPanel(self), TestSetPanel(self), SummaryPanel(self),
                                    SideBySidePanel(self), training, ExperimentsTab(self, training), MyDigitsTab(self),
                                    ReplayPanel(self), RestorePanel(self, training, files), HelpPanel(self),
                                    PresentationPanel(self), LanguagePanel(self)]
        self._files, self._training, self._prediction = files, training, prediction
        self._build_layout()
        self._build_menus()
        # Each torch call gives up the GIL and must win it back from the training thread: with the default 5 ms
        # switch interval a view refresh (dozens of such calls) can wait tens of ms. 1 ms keeps drawing and the
        # event loop fluid while training, and measured no slower for the trainer.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        if load_engine:
            import_engine()
            self.finish_loading()
        else:
            self.statusBar().showMessage(self.tr("Loading PyTorch…"))
        restore_window(self)  # the last launch's geometry (fitted to this screen), splitters, tabs and brush
        app = QApplication.instance()
        if app is not None:  # quitting with the window still open: closeEvent does not come
            app.aboutToQuit.connect(self._save_settings)

    # -- the widget contract: what tests and the self-test reach through the window ---------------------------
    def __getattr__(self, name: str) -> Any:
        """A panel's public widget, action or method by its name (``window.canvas``, ``window.trainingPanel``,
        ``window.resume_from``…): the names the window had before it was split into panels."""
        if not name.startswith("_"):
            for panel in self.__dict__.get("panels", ()):
                if name in panel.__dict__ or name in type(panel).__dict__:
                    return getattr(panel, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    @property
    def predictor(self) -> Predictor:
        return self.session.predictor

    @property
    def inspection(self) -> Inspection | None:
        return self.session.inspection

    @property
    def predictions_made(self) -> int:
        return self.session.inspections

    def set_model(self, model: Network, meta: dict[str, Any], path: Path | None) -> None:
        self.session.set_model(model, meta, path)

    # -- construction ----------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        areas = {area: [p for p in self.panels if p.area == area] for area in (DRAW, PREDICT, INSPECT, BOTTOM)}
        top = QSplitter(Qt.Orientation.Horizontal, objectName="topSplitter")
        for panel in areas[DRAW] + areas[PREDICT]:
            top.addWidget(panel.widget())
        self.inspectTabs = QTabWidget(objectName="inspectTabs")
        for panel in areas[INSPECT]:
            self.inspectTabs.addTab(panel.widget(), panel.title())
        top.addWidget(self.inspectTabs)
        for index, stretch in enumerate((3, 2, 4)):
            top.setStretchFactor(index, stretch)
        top.setSizes([440, 320, 640])

        main = self.mainSplitter = QSplitter(Qt.Orientation.Vertical, objectName="mainSplitter")
        main.addWidget(top)
        self.bottomTabs = QTabWidget(objectName="bottomTabs")
        loading = QLabel(self.tr("Loading PyTorch…"), alignment=Qt.AlignmentFlag.AlignCenter)
        # At least as tall as the training panel that replaces it, so that the canvas need not move.
        loading.setMinimumHeight(TRAINING_PANEL_ROWS * QSpinBox().sizeHint().height())
        self.bottomTabs.addTab(loading, areas[BOTTOM][0].title())  # the bottom panels replace it (finish_loading)
        main.addWidget(self.bottomTabs)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        main.setSizes([560, 340])
        self.setCentralWidget(main)
        # Cut short where it would crowd out the status bar's messages (the whole text in its tooltip).
        self.modelStatus = ElidedLabel(objectName="modelStatus", preferred_chars=MODEL_STATUS_CHARS)
        self.modelStatus.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)  # its hint: room
        self.statusBar().addPermanentWidget(self.modelStatus)

    def _build_menus(self) -> None:
        self.menus: dict[str, QMenu] = {}
        for key in MENUS:
            self.menus[key] = self.menuBar().addMenu(QCoreApplication.translate("MainWindow", MENU_TITLES[key]))
        for panel in self.panels:
            for menu, entry in panel.menu_entries():
                self.add_menu_entry(menu, entry)
        self.fileMenu = self.menus[FILE]
        self._quitSeparator = self.fileMenu.addSeparator()  # entries added later (Experiments' export) go above
        self.quitAction = QAction(self.tr("&Quit"), self, shortcut=QKeySequence(QKeySequence.StandardKey.Quit))
        self.quitAction.triggered.connect(self.close)
        self.addAction(self.quitAction)
        self.fileMenu.addAction(self.quitAction)

    def add_menu_entry(self, menu: str, entry: QAction | QMenu) -> None:
        """Put a panel's action (its shortcuts working anywhere in the window) or submenu into ``menu``."""
        target = self.menus[menu]
        before = getattr(self, "_quitSeparator", None) if menu == FILE else None
        if isinstance(entry, QMenu):
            target.insertMenu(before, entry) if before else target.addMenu(entry)
            return
        self.addAction(entry)
        target.insertAction(before, entry) if before else target.addAction(entry)

    # -- the second step: PyTorch -------------------------------------------------------------------------
    def start_loading(self) -> None:
        """Import PyTorch in the background; the window completes itself when it is in."""
        if self.engine_ready or self._import_task is not None:
            return
        # The first task on the runner: whatever is submitted after it (the preload) starts once it has ended.
        self._import_task = self.tasks.submit(import_engine, name="import", on_done=lambda _: self.finish_loading(),
                                              on_error=self._on_engine_failed)

    @Slot()
    def finish_loading(self) -> None:
        """The second step: the predictor, the runner, and each panel's engine half."""
        if self.engine_ready or self._closing:
            return
        import torch

        from .worker import TrainingRunner

        # The drawn digit is one image through a small network: on the GUI thread a second intra-op thread costs
        # more in hand-off than it saves, and while training runs it would compete with the trainer's threads.
        torch.set_num_threads(PREDICT_THREADS)
        self.runner = TrainingRunner(self, ready=self.imports_done)
        for panel in self.panels:
            panel.engine_ready()
        restore_form(self.trainingPanel)  # the form as the user left it last time
        sizes = self.mainSplitter.sizes()
        loading = self.bottomTabs.widget(0)
        self.bottomTabs.removeTab(0)
        loading.deleteLater()
        for panel in self.panels:
            if panel.area == BOTTOM:
                self.bottomTabs.addTab(panel.engine_widget(), panel.title())
            elif panel.area == BOTTOM_CORNER:
                self.bottomTabs.setCornerWidget(panel.engine_widget(), Qt.Corner.TopRightCorner)
        self.mainSplitter.setSizes(sizes)  # the canvas stays where it is, under the pen
        if self.statusBar().currentMessage() == self.tr("Loading PyTorch…"):
            self.statusBar().clearMessage()
        self.session.start_predicting(engine.Predictor(engine.build_model("lenet5")))
        self.engine_ready = True
        self._load_initial_model(self._checkpoint)  # predicts whatever was drawn meanwhile
        # Read MNIST in the background now (the first time ever, through torchvision: seconds), so that the first
        # Train starts at once. In the background it only shares the GIL in short slices, so the window stays live;
        # submitted here, once the import task has succeeded, and the runner starts it only after that task ended.
        # What it finds (a data folder that cannot be written) goes to _on_preloaded; its failures to _on_task_failed.
        self._preload_task = self.tasks.submit(self._preload_data, name="preload", on_done=self._on_preloaded)
        self.engineReady.emit()

    def _load_initial_model(self, checkpoint: str | Path | None) -> None:
        path = Path(checkpoint) if checkpoint else pretrained_path(STARTING_MODEL)
        try:
            self.session.open_model(path)
        except CnndeskError as exc:
            self.session.set_model(engine.build_model("lenet5"), {"model": {"name": "lenet5"}}, path=None)
            self.status(self.tr("{error} Starting with an untrained LeNet5: train it below.").format(error=exc))

    @Slot(str)
    def _on_engine_failed(self, message: str) -> None:
        self._prediction.engine_failed()
        self.show_error(self.tr("cnndesk could not load PyTorch, so it cannot predict or train: {error}").format(
            error=message))

    @Slot(str)
    def _on_task_failed(self, message: str) -> None:
        """A background task without its own error handler failed (e.g. the preload): one short line."""
        line = message.splitlines()[0] if message else self.tr("unknown error")
        if len(line) > TASK_ERROR_CHARS:
            line = line[: TASK_ERROR_CHARS - 1] + "…"
        self.status(self.tr("Background task failed: {error}").format(error=line), 15000)

    def wait_for_preload(self, timeout: float | None = None) -> bool:
        """Block until the MNIST preload has ended (None: however long). True if it has, or was never started."""
        return self._preload_task is None or self._preload_task.wait(timeout)

    def _preload_data(self) -> tuple[Path, str] | None:
        """The preload task: the last imports, then MNIST (the engine is in: the import task ran first). Returns
        the data folder and why it cannot be written, if it cannot (None if it can): the GUI thread says so."""
        import importlib

        try:
            for name in PRELOAD_MODULES:
                importlib.import_module(name)
            with contextlib.suppress(CnndeskError):  # reported when training asks for the data
                engine.load_mnist()  # from the bundled files where the data folder cannot hold its cache
        finally:
            self.imports_done.set()  # (a failure here is shown; training then reports its own)
        # The data folder is made here, as the app is about to write in it (MNIST's cache, runs, kept digits).
        folder = data_dir()
        problem = folder_problem(folder)
        # Everything loaded so far lives as long as the app. Left to the cyclic collector, every full collection
        # walks those millions of objects (~0.2 s with the GIL held: a frozen window, e.g. as a run starts).
        # Once per process: frozen objects are never freed, so freezing again in a later window (tests, the soak)
        # kept every window closed before it (7 MB each, more with a trained model's history: scripts/soak.py).
        if gc.get_freeze_count() == 0:
            gc.freeze()
        return None if problem is None else (folder, problem)

    def _on_preloaded(self, unwritable: tuple[Path, str] | None) -> None:
        """On the GUI thread, once: a data folder that cannot be written is said, not found out at the first Save."""
        if unwritable is not None:
            folder, problem = unwritable
            self.show_error(self.tr("cnndesk cannot write to its data folder {folder} ({problem}): runs cannot be "
                                    "saved there, nor digits kept; drawing and predicting work. Set CNNDESK_DATA_DIR "
                                    "to a writable folder.").format(folder=folder, problem=problem))

    # -- the current model ------------------------------------------------------------------------------
    def _on_model_changed(self, current: CurrentModel) -> None:
        where = self.tr("bundled") if current.bundled else (current.path.name if current.path
                                                          else self.tr("untrained"))
        accuracy = current.test_accuracy
        score = self.tr(", {accuracy} test accuracy").format(accuracy=f"{accuracy:.2%}") if accuracy is not None \
            else ""
        self.modelStatus.setText(self.tr("Model: {name} ({where}{score})").format(name=current.name, where=where,
                                                                                 score=score))
        self.setWindowTitle(f"cnndesk — {current.name} ({where})")

    # -- services the panels use -----------------------------------------------------------------------
    def status(self, message: str, timeout_ms: int = 0) -> None:
        self.statusBar().showMessage(message, timeout_ms)

    def show_error(self, message: str) -> None:
        """The message in the status bar and in a box that blocks nothing."""
        self.statusBar().showMessage(message, 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "cnndesk", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): nothing blocks the event loop

    # -- shutdown --------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop training and join its thread (and the background tasks); safe to call more than once."""
        self._closing = True
        self.tasks.shutdown(timeout_s=0)  # cancel what has not started, flag the rest; no callback runs after this
        if self._import_task is not None:
            self._import_task.wait()  # an import cut short at exit can crash the interpreter: no bound here
        if self._preload_task is not None and self._preload_task.status == "running":
            self.imports_done.wait()  # the same for the preload's imports (MNIST itself gets the bounded wait)
        if self.engine_ready:
            for panel in reversed(self.panels):  # the queue stops before the runner is joined
                panel.shutdown()
        self.tasks.shutdown(timeout_s=TASKS_SHUTDOWN_S)  # the preload and the like: a bounded wait

    def _save_settings(self) -> None:
        """At quit, if the window is still open (closeEvent saves otherwise); saving twice writes the same."""
        if self.isVisible():
            save_window(self)

    def closeEvent(self, event: QCloseEvent) -> None:
        save_window(self)  # before shutdown(): the form and the tabs are still as the user left them
        self.shutdown()
        super().closeEvent(event)
