"""The main window: wires the canvas, the views, the training panel and the training runner.

It opens in two steps so that it shows before PyTorch has loaded (1–2 s): first the drawing canvas and the views,
which need only Qt; then, once a background thread has imported PyTorch and the engine, the model, the training
panel, the experiments and the runner. A digit drawn meanwhile is predicted as soon as the model is in.
"""

from __future__ import annotations

import contextlib
import gc
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt, QTimer, Signal, Slot
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QResizeEvent
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSlider,
    QSpinBox,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from cnndesk import engine  # its names load PyTorch on first use, not here
from cnndesk.errors import CnndeskError
from cnndesk.locations import checkpoints_dir, pretrained_path
from cnndesk.session.state import CurrentModel, Session

from .activations import ActivationsView
from .canvas import DrawingCanvas
from .input_view import InputView
from .predictions import PredictionLabel, ProbabilityBars
from .restore_bar import RestoreBar
from .settings import restore_form, restore_window, save_window
from .summary_view import SummaryView
from .tasks import Task, TaskRunner

if TYPE_CHECKING:
    from cnndesk.engine import Inspection, Network, Predictor, Preprocessed, TrainConfig
    from cnndesk.session.markers import InterruptedRun
    from cnndesk.session.runs import RunOutcome, RunPlan

    from .experiments import ExperimentsView
    from .training_panel import TrainingPanel
    from .worker import LossChunk, TrainingRunner

# While drawing, the mouse events already queued are coalesced into one prediction at the next turn of the
# event loop: the prediction trails the pen by one model pass and never by a fixed delay.
PREDICT_INTERVAL_MS = 0
PREDICT_THREADS = 1  # torch intra-op threads of the GUI thread
GIL_SWITCH_INTERVAL = 0.001  # seconds
TRAINING_PANEL_ROWS = 18  # the panel's height in spin-box heights, rounded up (its form, buttons and progress)
TASKS_SHUTDOWN_S = 10  # how long closing waits for a background task other than the import
TASK_ERROR_CHARS = 160  # a failed background task's message in the status bar, cut to one short line
RESTORE_BAR_WIDTH = 600  # px, the floating offer to restore an interrupted run (less in a narrower window)
CHECKPOINT_FILTER = "cnndesk checkpoints (*.safetensors)"
IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff *.pgm *.ppm)"
# Imported first, in this order (see import_engine). torch.optim imports torch._dynamo (~1 s) the first time an
# optimizer is made: done at start-up, not on Train.
PYTORCH_MODULES = ("torch", "torchvision", "torch._dynamo")
# What the second step needs, each importing PyTorch or the engine modules built on it.
ENGINE_MODULES = ("cnndesk.engine.checkpoint", "cnndesk.engine.inspect", "cnndesk.engine.preprocess",
                  "cnndesk.engine.summary", "cnndesk.engine.train", "cnndesk.session.markers", "cnndesk.ui.worker",
                  "cnndesk.ui.training_panel", "cnndesk.ui.experiments")


def import_engine() -> None:
    """Import PyTorch and everything the model and training need (the slow part of start-up).

    All in one thread, in this order, before any other thread uses PyTorch: torchvision's import pulls in
    torch._dynamo, and two threads importing it at once (or one importing while another exits or uses torch) failed
    with "operator flex_lib::zeros_and_scatter does not exist".
    """
    import importlib

    for name in (*PYTORCH_MODULES, *ENGINE_MODULES):
        importlib.import_module(name)


class MainWindow(QMainWindow):
    """The window. ``MainWindow()`` is complete on return; with ``load_engine=False`` only the Qt half is built,
    to show at once: ``start_loading()`` then imports PyTorch in the background and completes it
    (``engineReady``)."""

    engineReady = Signal()
    # Built by finish_loading(), with the engine:
    predictor: Predictor
    trainingPanel: TrainingPanel
    runner: TrainingRunner
    experiments: ExperimentsView

    def __init__(self, checkpoint: str | Path | None = None, *, load_engine: bool = True) -> None:
        super().__init__()
        self.setObjectName("mainWindow")
        self._input: Preprocessed | None = None
        self._inspection: Inspection | None = None
        self.predictions_made = 0  # views refreshed with a new inspection (for tests and the self-test)
        self._follow_training = False  # the views show the weights of the run in progress
        self._prepared: RunPlan | None = None  # the run whose form and curves were set up when it was asked for
        # The state the window's views share (current model, input, inspection); they follow its events.
        self.session = Session()
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

        self.canvas = DrawingCanvas()
        self.predictionLabel = PredictionLabel()
        self.probabilities = ProbabilityBars()
        self.inputView = InputView()
        self.activations = ActivationsView()
        self.summaryView = SummaryView()

        self._build_layout()
        self._build_restore_bar()
        self._build_actions()
        self._connect()

        self._predict_timer = QTimer(self, singleShot=True, interval=PREDICT_INTERVAL_MS)
        self._predict_timer.timeout.connect(self.update_prediction)
        # Each torch call gives up the GIL and must win it back from the training thread: with the default 5 ms
        # switch interval a view refresh (dozens of such calls) can wait tens of ms. 1 ms keeps drawing and the
        # event loop fluid while training, and measured no slower for the trainer.
        sys.setswitchinterval(GIL_SWITCH_INTERVAL)
        if load_engine:
            import_engine()
            self.finish_loading()
        else:
            self.predictionLabel.setText("Loading…")
            self.statusBar().showMessage("Loading PyTorch…")
        restore_window(self)  # the last launch's geometry (fitted to this screen), splitters, tabs and brush
        app = QApplication.instance()
        if app is not None:  # quitting with the window still open: closeEvent does not come
            app.aboutToQuit.connect(self._save_settings)

    def start_loading(self) -> None:
        """Import PyTorch in the background; the window completes itself when it is in."""
        if self.engine_ready or self._import_task is not None:
            return
        # The first task on the runner: whatever is submitted after it (the preload) starts once it has ended.
        self._import_task = self.tasks.submit(import_engine, name="import", on_done=lambda _: self.finish_loading(),
                                              on_error=self._on_engine_failed)

    @Slot()
    def finish_loading(self) -> None:
        """The second step: the model, the training panel, the experiments and the runner."""
        if self.engine_ready or self._closing:
            return
        import torch

        from .experiments import ExperimentsView
        from .training_panel import TrainingPanel
        from .worker import TrainingRunner

        self.trainingPanel = TrainingPanel()
        restore_form(self.trainingPanel)  # the form as the user left it last time
        self.runner = TrainingRunner(self)
        self.experiments = ExperimentsView(self.runner, self.trainingPanel.config)
        sizes = self.mainSplitter.sizes()
        loading = self.bottomTabs.widget(0)
        self.bottomTabs.removeTab(0)
        loading.deleteLater()
        self.bottomTabs.addTab(self.trainingPanel, "Training")
        self.bottomTabs.addTab(self.experiments, "Experiments")
        self.mainSplitter.setSizes(sizes)  # the canvas stays where it is, under the pen
        self.fileMenu.insertAction(self._quitSeparator, self.experiments.exportAction)
        self._connect_training()
        self._fill_bundled_menu()
        for action in self._engine_actions:
            action.setEnabled(True)

        # The drawn digit is one image through a small network: on the GUI thread a second intra-op thread costs
        # more in hand-off than it saves, and while training runs it would compete with the trainer's threads.
        torch.set_num_threads(PREDICT_THREADS)
        if self.statusBar().currentMessage() == "Loading PyTorch…":
            self.statusBar().clearMessage()
        self.predictor = engine.Predictor(engine.build_model("lenet5"))
        self.engine_ready = True
        self._load_initial_model(self._checkpoint)  # predicts whatever was drawn meanwhile
        # Read MNIST in the background now (the first time ever, through torchvision: seconds), so that the first
        # Train starts at once. In the background it only shares the GIL in short slices, so the window stays live;
        # submitted here, once the import task has succeeded, and the runner starts it only after that task ended.
        self._preload_task = self.tasks.submit(self._preload_data, name="preload")  # failures: _on_task_failed
        self.offer_restore()
        self.engineReady.emit()

    @Slot(str)
    def _on_engine_failed(self, message: str) -> None:
        self.predictionLabel.setText("No model")
        self._show_error(f"cnndesk could not load PyTorch, so it cannot predict or train: {message}")

    @Slot(str)
    def _on_task_failed(self, message: str) -> None:
        """A background task without its own error handler failed (e.g. the preload): one short line."""
        line = message.splitlines()[0] if message else "unknown error"
        if len(line) > TASK_ERROR_CHARS:
            line = line[: TASK_ERROR_CHARS - 1] + "…"
        self.statusBar().showMessage(f"Background task failed: {line}", 15000)

    def wait_for_preload(self, timeout: float | None = None) -> bool:
        """Block until the MNIST preload has ended (None: however long). True if it has, or was never started."""
        return self._preload_task is None or self._preload_task.wait(timeout)

    @staticmethod
    def _preload_data() -> None:
        """The preload task (torch and torch._dynamo are already in: the import task ran first)."""
        with contextlib.suppress(CnndeskError):  # reported when training asks for the data
            engine.load_mnist()

        # Everything loaded so far lives as long as the app. Left to the cyclic collector, every full collection
        # walks those millions of objects (~0.2 s with the GIL held: a frozen window, e.g. as a run starts).
        gc.freeze()

    # -- construction ----------------------------------------------------------------------------------
    def _build_layout(self) -> None:
        self.clearButton = QPushButton("Clear", objectName="clearButton")
        self.clearButton.setToolTip("Clear the canvas (Esc)")
        self.undoButton = QPushButton("Undo", objectName="undoButton")
        self.undoButton.setToolTip("Undo the last stroke (Ctrl+Z)")
        self.openImageButton = QPushButton("Open image…", objectName="openImageButton")
        self.brushSlider = QSlider(Qt.Orientation.Horizontal, objectName="brushSlider", minimum=6, maximum=48)
        self.brushSlider.setValue(int(self.canvas.brush_width))
        self.brushSlider.setToolTip("Brush width")
        self.brushSlider.setMinimumWidth(64)  # in a narrow window the buttons beside it would squeeze it to a dot
        tools = QHBoxLayout()
        tools.addWidget(QLabel("Brush"))
        tools.addWidget(self.brushSlider, 1)
        tools.addWidget(self.undoButton)
        tools.addWidget(self.clearButton)
        tools.addWidget(self.openImageButton)
        left = QVBoxLayout()
        left.addWidget(self.canvas, 1)
        left.addLayout(tools)
        left_widget = QWidget()
        left_widget.setLayout(left)

        middle = QVBoxLayout()
        middle.addWidget(self.predictionLabel)
        middle.addWidget(self.probabilities, 2)
        middle.addWidget(self.inputView, 1)
        middle_widget = QWidget()
        middle_widget.setLayout(middle)

        top = QSplitter(Qt.Orientation.Horizontal, objectName="topSplitter")
        top.addWidget(left_widget)
        top.addWidget(middle_widget)
        self.inspectTabs = QTabWidget(objectName="inspectTabs")
        self.inspectTabs.addTab(self.activations, "Every layer")
        self.inspectTabs.addTab(self.summaryView, "Summary")
        top.addWidget(self.inspectTabs)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        top.setStretchFactor(2, 4)
        top.setSizes([440, 320, 640])

        main = self.mainSplitter = QSplitter(Qt.Orientation.Vertical, objectName="mainSplitter")
        main.addWidget(top)
        self.bottomTabs = QTabWidget(objectName="bottomTabs")
        loading = QLabel("Loading PyTorch…", alignment=Qt.AlignmentFlag.AlignCenter)
        # At least as tall as the training panel that replaces it, so that the canvas need not move.
        loading.setMinimumHeight(TRAINING_PANEL_ROWS * QSpinBox().sizeHint().height())
        self.bottomTabs.addTab(loading, "Training")  # the panel and Experiments replace it (finish_loading)
        main.addWidget(self.bottomTabs)
        main.setStretchFactor(0, 3)
        main.setStretchFactor(1, 2)
        main.setSizes([560, 340])
        self.setCentralWidget(main)
        self.modelStatus = QLabel()
        self.statusBar().addPermanentWidget(self.modelStatus)

    def _build_restore_bar(self) -> None:
        """The restore offer floats over the window's bottom right corner, outside the layout: it appears once the
        engine has loaded, and in the layout it would move the canvas someone may be drawing on."""
        self.restoreBar = RestoreBar(self)
        self._interrupted: list[InterruptedRun] = []

    def _place_restore_bar(self) -> None:
        bar, margin = self.restoreBar, 12
        width = min(self.width() - 2 * margin, max(RESTORE_BAR_WIDTH, bar.minimumSizeHint().width()))
        height = max(bar.heightForWidth(width), bar.minimumSizeHint().height())
        bottom = self.statusBar().geometry().top() if self.statusBar().isVisible() else self.height()
        bar.setGeometry(self.width() - width - margin, bottom - height - margin, width, height)
        bar.raise_()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.restoreBar.isVisible():
            self._place_restore_bar()

    def _action(self, text: str, shortcuts: list, slot, tip: str = "") -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(s) for s in shortcuts])
        action.setStatusTip(tip)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work wherever the focus is
        return action

    def _build_actions(self) -> None:
        K = QKeySequence.StandardKey
        self.openModelAction = self._action("&Open model…", [K.Open], self.open_model_dialog,
                                            "Open a cnndesk checkpoint")
        self.openImageAction = self._action("Open &image…", ["Ctrl+I"], self.open_image_dialog,
                                            "Open an image of a digit")
        self.saveAction = self._action("&Save model", [K.Save], self.save_model, "Save the current model")
        self.saveAsAction = self._action("Save model &as…", [K.SaveAs], self.save_model_as)
        self.quitAction = self._action("&Quit", [K.Quit], self.close)
        self.undoAction = self._action("&Undo stroke", [K.Undo], self.canvas.undo)
        self.clearAction = self._action("&Clear canvas", ["Esc", "Delete"], self.canvas.clear)
        self.trainAction = self._action("&Train", ["Ctrl+T"], lambda: self.trainingPanel.trainButton.click())
        self.resumeRunAction = self._action("&Resume training…", ["Ctrl+Shift+T"], self.resume_dialog,
                                            "Continue a saved run from its checkpoint")
        self.pauseAction = self._action("&Pause / resume", ["Ctrl+P"], lambda: self.trainingPanel.pauseButton.toggle())
        self.stopAction = self._action("&Stop", ["Ctrl+."], lambda: self.runner.stop())
        self.aboutAction = QAction("&About cnndesk", self, triggered=self._about)
        # These need the model or the runner: enabled once the engine has loaded.
        self._engine_actions = [self.openModelAction, self.saveAction, self.saveAsAction, self.trainAction,
                                self.resumeRunAction, self.pauseAction, self.stopAction]
        for action in self._engine_actions:
            action.setEnabled(False)

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addAction(self.openModelAction)
        self.bundledMenu = file_menu.addMenu("Open &bundled model")
        self.bundledMenu.setEnabled(False)
        for action in (self.openImageAction, self.saveAction, self.saveAsAction):
            file_menu.addAction(action)
        self._quitSeparator = file_menu.addSeparator()  # the Experiments' export goes above it once loaded
        file_menu.addAction(self.quitAction)
        self.fileMenu = file_menu
        edit_menu = menus.addMenu("&Edit")
        edit_menu.addAction(self.undoAction)
        edit_menu.addAction(self.clearAction)
        train_menu = menus.addMenu("&Training")
        for action in (self.trainAction, self.resumeRunAction, self.pauseAction, self.stopAction):
            train_menu.addAction(action)
        menus.addMenu("&Help").addAction(self.aboutAction)

    def _fill_bundled_menu(self) -> None:
        for name, spec in engine.MODELS.items():
            path = pretrained_path(name)
            if path.exists():
                action = self.bundledMenu.addAction(f"{name} — {spec.description}")
                action.triggered.connect(lambda _=False, p=path: self.open_model(p))
        self.bundledMenu.setEnabled(not self.bundledMenu.isEmpty())

    def _connect(self) -> None:
        self.canvas.changed.connect(self._schedule_prediction)
        self.canvas.committed.connect(self.update_prediction)
        self.canvas.imageLoadFailed.connect(self._show_error)
        self.clearButton.clicked.connect(self.canvas.clear)
        self.undoButton.clicked.connect(self.canvas.undo)
        self.openImageButton.clicked.connect(self.open_image_dialog)
        self.brushSlider.valueChanged.connect(self.canvas.set_brush_width)

    def _connect_training(self) -> None:
        # Drawing comes first: while the pen is down, training leaves a core to the GUI thread.
        self.canvas.penDown.connect(self.runner.set_interactive)
        panel = self.trainingPanel
        panel.startRequested.connect(self.start_training)
        panel.pauseToggled.connect(self._pause_training)
        panel.stopRequested.connect(self.runner.stop)
        panel.resumeRequested.connect(self.resume_dialog)
        self.runner.runStarted.connect(self._on_run_started)
        self.runner.started.connect(self._on_training_started)
        self.runner.metrics.connect(self._on_metrics)
        self.runner.epochDone.connect(panel.add_epoch)
        self.runner.weights.connect(self._on_weights)
        self.runner.finished.connect(self._on_run_finished)
        self.runner.runningChanged.connect(self._update_training_controls)
        self.restoreBar.resumeRequested.connect(self._restore_resume)
        self.restoreBar.openRequested.connect(self._restore_open)
        self.restoreBar.discardRequested.connect(self._restore_discard)
        self.experiments.statusMessage.connect(self.statusBar().showMessage)

    # -- the current model -----------------------------------------------------------------------------
    def _load_initial_model(self, checkpoint: str | Path | None) -> None:
        path = Path(checkpoint) if checkpoint else pretrained_path("lenet5")
        try:
            self.session.open_model(path)
        except CnndeskError as exc:
            self.session.set_model(engine.build_model("lenet5"), {"model": {"name": "lenet5"}}, path=None)
            self.statusBar().showMessage(f"{exc} Starting with an untrained LeNet5: train it below.")

    def set_model(self, model: Network, meta: dict[str, Any], path: Path | None) -> None:
        """Make ``model`` the current one (the session tells every view)."""
        self.session.set_model(model, meta, path)

    def _on_model_changed(self, current: CurrentModel) -> None:
        """The current model changed (opened, trained, restored): it predicts (a CPU copy), every view follows."""
        self._follow_training = False
        self.predictor.set_model(current.model)
        where = "bundled" if current.bundled else (current.path.name if current.path else "untrained")
        accuracy = current.test_accuracy
        score = f", {accuracy:.2%} test accuracy" if accuracy is not None else ""
        self.modelStatus.setText(f"Model: {current.name} ({where}{score})")
        self.setWindowTitle(f"cnndesk — {current.name} ({where})")
        self._show_architecture()
        self.update_prediction()

    @property
    def _model_meta(self) -> dict[str, Any]:
        return self.session.model.meta if self.session.model is not None else {}

    @property
    def _model_path(self) -> Path | None:
        return self.session.model.path if self.session.model is not None else None

    def _show_architecture(self) -> None:
        import numpy as np

        empty = self.predictor.inspect(np.zeros((28, 28), np.float32))
        self.activations.set_architecture(empty.layers)
        self.summaryView.show_model(self.predictor.model)

    # -- prediction ------------------------------------------------------------------------------------
    @Slot()
    def _schedule_prediction(self) -> None:
        if not self._predict_timer.isActive():
            self._predict_timer.start()

    @Slot()
    def update_prediction(self) -> None:
        """Preprocess the drawing and run the model copy: label, bars, input steps, every layer."""
        self._predict_timer.stop()
        if not self.engine_ready:  # predicted once the model is in (finish_loading)
            return
        self._input = None if self.canvas.is_empty() else engine.preprocess(self.canvas.ink_array())
        self.session.set_input(self._input)
        self._refresh_views()

    def _refresh_views(self) -> None:
        if self._input is None:
            self._inspection = None
            self.predictionLabel.show_empty()
            self.probabilities.set_probabilities(None)
            self.inputView.show_steps(None)
            self.activations.show_inspection(None)
            self.session.set_inspection(None)
            return
        self._inspection = self.predictor.inspect(self._input.centred)
        self.predictions_made += 1
        self.predictionLabel.show_prediction(self._inspection.label, self._inspection.confidence)
        self.probabilities.set_probabilities(self._inspection.probabilities)
        self.inputView.show_steps(self._input)
        self.activations.show_inspection(self._inspection)
        self.session.set_inspection(self._inspection)

    @property
    def inspection(self) -> Inspection | None:
        return self._inspection

    # -- training --------------------------------------------------------------------------------------
    @Slot(object)
    def start_training(self, config: TrainConfig) -> None:
        """Train a new run of ``config``; the session's RunController saves it and settles the model it ends with."""
        from cnndesk.session.runs import new_run

        if self.runner.is_running():
            return
        try:
            plan = new_run(config)
        except CnndeskError as exc:
            self._show_error(str(exc))
            return
        self.trainingPanel.reset_curves()
        self._prepared = plan
        self.runner.start(plan)
        self.statusBar().showMessage(f"Preparing {config.model}…")

    def resume_from(self, path: str | Path) -> bool:
        """Continue the run a checkpoint holds, with its own settings; it autosaves to the same file.

        False, with a message, if it cannot be resumed (weights only, already finished, damaged, a run going on).
        """
        from cnndesk.session.runs import resume_run

        if self.runner.is_running():
            self._show_error("A run is in progress: stop it before resuming another.")
            return False
        try:
            # The device is the one setting that belongs to this machine, not to the run.
            plan = resume_run(path, device=self.trainingPanel.deviceCombo.currentData())
        except CnndeskError as exc:
            self._show_error(str(exc))
            return False
        point = plan.resume
        self.trainingPanel.prepare_resume(point)  # its settings in the form, its earlier epochs in the plot
        self._prepared = plan
        self.runner.start(plan)
        self.statusBar().showMessage(f"Resuming {plan.config.model} at epoch {point.epochs_completed + 1} of "
                                     f"{plan.config.epochs}…")
        return True

    def resume_dialog(self) -> None:
        if self.runner.is_running():
            return
        path, _ = QFileDialog.getOpenFileName(self, "Resume training", str(checkpoints_dir()), CHECKPOINT_FILTER)
        if path:
            self.resume_from(path)

    def _update_training_controls(self, *_: object) -> None:
        busy = self.runner.is_running()
        self.trainingPanel.set_running(busy)
        self.resumeRunAction.setEnabled(not busy)

    @Slot(bool)
    def _pause_training(self, paused: bool) -> None:
        if paused:
            self.runner.pause()
        else:
            self.runner.resume()

    @Slot(object)
    def _on_run_started(self, plan: RunPlan) -> None:
        """A run of a queue (or a Train click, a queue of one) is about to train: the form and curves show it."""
        if plan is self._prepared:  # done when it was asked for
            return
        if plan.resume is not None:
            self.trainingPanel.prepare_resume(plan.resume)
        else:
            self.trainingPanel.reset_curves()

    @Slot(object)
    def _on_training_started(self, info) -> None:
        # Watch the new network learn: the prediction follows its weight snapshots until the run ends.
        self.trainingPanel.on_started(info)
        self._follow_training = True
        config = info.config
        self.predictor.set_model(engine.build_model(config.model, **config.model_options))
        self._show_architecture()
        self.statusBar().showMessage(f"Training {config.model}; the prediction follows its weights live.")

    @Slot(object)
    def _on_metrics(self, chunk: LossChunk) -> None:
        self.trainingPanel.add_losses(chunk.steps, chunk.losses, chunk.latest)

    @Slot(object)
    def _on_weights(self, state: dict) -> None:
        if not self._follow_training:
            return
        self.predictor.load_weights(state)
        if self._input is not None:
            self._refresh_views()

    @Slot(object)
    def _on_run_finished(self, outcome: RunOutcome) -> None:
        """What is shown is what is saved: the run's saved model becomes current, or the previous one returns."""
        from cnndesk.session.runs import DIVERGED, FAILED

        self._follow_training = False
        self.session.apply_outcome(outcome)
        message = outcome.message
        self.trainingPanel.statusLabel.setText(message)
        if outcome.status in (FAILED, DIVERGED):
            self._show_error(message)
        else:
            self.statusBar().showMessage(message, 15000)

    # -- restoring a run cnndesk closed in the middle of -------------------------------------------------
    def offer_restore(self) -> None:
        """Offer the runs that a crash or kill interrupted (their marker outlived their process), one at a time."""
        from cnndesk.session.markers import interrupted_runs

        self._interrupted = interrupted_runs()
        self._offer_next_restore()

    def _offer_next_restore(self) -> None:
        while self._interrupted:
            run = self._interrupted[0]
            if run.point is not None:
                break
            # Nothing to restore: say so briefly and forget it.
            self._interrupted.pop(0)
            _clear_marker(run.marker)
            self.statusBar().showMessage(f"cnndesk closed while training {run.marker.model}; {run.problem}.", 15000)
        else:
            self.restoreBar.hide()
            return
        point = run.point
        saved = _clock(run.saved_at)
        if point.finished:
            text = (f"cnndesk closed while training {run.marker.model}, after its last epoch "
                    f"({point.epochs_completed} of {point.config.epochs} saved {saved}).")
        else:
            text = (f"cnndesk closed while training {run.marker.model} (epoch {point.epochs_completed} of "
                    f"{point.config.epochs} saved {saved}). Restore it?")
        self.restoreBar.offer(text, can_resume=not point.finished)
        self._place_restore_bar()

    def _take_offered(self) -> InterruptedRun | None:
        if not self._interrupted:
            return None
        run = self._interrupted.pop(0)
        _clear_marker(run.marker)  # the checkpoint stays in place; a resumed run marks itself again
        self._offer_next_restore()
        return run

    @Slot()
    def _restore_resume(self) -> None:
        if self.runner.is_running():  # keep the offer for when this run ends
            self._show_error("A run is in progress: stop it before resuming another.")
            return
        run = self._take_offered()
        if run is not None:
            self.resume_from(run.marker.checkpoint)

    @Slot()
    def _restore_open(self) -> None:
        run = self._take_offered()
        if run is not None:
            self.open_model(run.marker.checkpoint)

    @Slot()
    def _restore_discard(self) -> None:
        self._take_offered()

    # -- files -----------------------------------------------------------------------------------------
    def _show_error(self, message: str) -> None:
        self.statusBar().showMessage(message, 15000)
        box = QMessageBox(QMessageBox.Icon.Warning, "cnndesk", message, QMessageBox.StandardButton.Ok, self)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()  # not exec(): nothing blocks the event loop

    def open_model(self, path: str | Path) -> bool:
        try:
            self.session.open_model(path)
        except CnndeskError as exc:
            self._show_error(str(exc))
            return False
        return True

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open model", str(checkpoints_dir()), CHECKPOINT_FILTER)
        if path:
            self.open_model(path)

    def open_image_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open image", str(Path.home()), IMAGE_FILTER)
        if path:
            self.canvas.load_file(path)

    def save_model_to(self, path: str | Path) -> Path | None:
        try:
            saved = self.session.save_model(path)
        except CnndeskError as exc:
            self._show_error(str(exc))
            return None
        self.statusBar().showMessage(f"Saved {saved}", 10000)
        return saved

    def save_model(self) -> None:
        """Save where the model came from, unless that is a bundled model or a run's own autosave: then ask."""
        current = self.session.model
        own_file = (current is not None and current.path is not None and not current.bundled
                    and current.path.parent.resolve() != checkpoints_dir().resolve())
        if own_file:
            self.save_model_to(current.path)
        else:
            self.save_model_as()

    def save_model_as(self) -> None:
        name = self._model_meta.get("model", {}).get("name", "model")
        suggested = str(checkpoints_dir() / f"{name}.safetensors")
        path, _ = QFileDialog.getSaveFileName(self, "Save model as", suggested, CHECKPOINT_FILTER)
        if path:
            self.save_model_to(path)

    def _about(self) -> None:
        QMessageBox.about(self, "About cnndesk",
                          "cnndesk: draw a digit, see inside a convolutional network, train it live.")

    # -- shutdown --------------------------------------------------------------------------------------
    def shutdown(self) -> None:
        """Stop training and join its thread (and the background tasks); safe to call more than once."""
        self._closing = True
        self.tasks.shutdown(timeout_s=0)  # cancel what has not started, flag the rest; no callback runs after this
        if self._import_task is not None:
            self._import_task.wait()  # an import cut short at exit can crash the interpreter: no bound here
        if self.engine_ready:
            self.experiments.stop_queue()  # first, so that no queued run starts after this one
            self.runner.shutdown()
        self.tasks.shutdown(timeout_s=TASKS_SHUTDOWN_S)  # the preload and the like: a bounded wait

    def _save_settings(self) -> None:
        """At quit, if the window is still open (closeEvent saves otherwise); saving twice writes the same."""
        if self.isVisible():
            save_window(self)

    def closeEvent(self, event: QCloseEvent) -> None:
        save_window(self)  # before shutdown(): the form and the tabs are still as the user left them
        self.shutdown()
        super().closeEvent(event)


def _clear_marker(marker) -> None:
    from cnndesk.session.markers import clear_marker

    clear_marker(marker)


def _clock(timestamp: float | None) -> str:
    """'at 14:05' today, 'on 3 Nov at 14:05' another day."""
    if timestamp is None:
        return ""
    when = time.localtime(timestamp)
    if time.strftime("%Y%m%d", when) == time.strftime("%Y%m%d"):
        return time.strftime("at %H:%M", when)
    return f"on {when.tm_mday} {time.strftime('%b', when)} at {time.strftime('%H:%M', when)}"
