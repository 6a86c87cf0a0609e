"""Experiments: queue several runs, train them one after another, compare them in a table and overlaid curves.

The queue is the session's ``RunQueue``, trained by the window's one ``TrainingRunner`` and so by the same
RunController as the *Train* button and ``cnndesk compare``: a queued run is saved, followed live by the prediction
and ends as the current model like any other. This view lists what is queued and records what each run did.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import (
    QT_TRANSLATE_NOOP,
    QAbstractTableModel,
    QCoreApplication,
    QModelIndex,
    QPersistentModelIndex,
    QSortFilterProxyModel,
    Qt,
    Signal,
    Slot,
)
from PySide6.QtGui import QAction, QColor, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QMenu,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from cnndesk.engine import CnndeskError, EpochMetrics, TrainConfig, count_parameters
from cnndesk.engine.experiments import PRESETS, RunRow, row_of, write_csv
from cnndesk.session.runs import DIVERGED, FAILED, NOTHING_SAVED, RunOutcome, RunPlan, RunQueue, new_run
from cnndesk.session.smoothing import LossSmoother
from cnndesk.session.text import epochs_text, format_eta, run_label, run_options

from .plotting import bound_accuracy_axis, pg, reset_accuracy_axis
from .presentation import plot_colour, style_curve
from .training_panel import GrowingCurve
from .worker import LossChunk, TrainingRunner

# The comparisons of the "Add comparison" menu (translated where shown).
PRESET_TITLES = {
    "activations": QT_TRANSLATE_NOOP("ExperimentsView", "Activations of the current model (ReLU / Tanh / Sigmoid / "
                                                        "LeakyReLU)"),
    "cnn-vs-mlp": QT_TRANSLATE_NOOP("ExperimentsView", "CNN vs MLP (LeNet5, CNN2, MLP)"),
    "lenet5-net2-cnn2": QT_TRANSLATE_NOOP("ExperimentsView", "LeNet5 vs Net2 vs CNN2"),
}
# Distinct colours for runs (matplotlib's tab10), in the order runs start.
PALETTE = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189), (140, 86, 75),
           (227, 119, 194), (127, 127, 127), (188, 189, 34), (23, 190, 207)]
SORT_ROLE = Qt.ItemDataRole.UserRole
# More legend entries would cover the curves: beyond this, the table's colour swatches name the runs, and selecting
# rows picks out their curves.
LEGEND_MAX_RUNS = 4
FADED_ALPHA = 50  # the curves of runs not selected, while some are


def queue_text(config: TrainConfig) -> str:
    """One queued run, as the queue lists it: name, options, epochs, images."""
    images = (QCoreApplication.translate("ExperimentsView", "{n} images").format(n=f"{config.train_samples:,}")
              if config.train_samples else QCoreApplication.translate("ExperimentsView", "all images"))
    return QCoreApplication.translate("ExperimentsView", "{run} — {epochs}, {images}").format(
        run=run_label(config), epochs=epochs_text(config.epochs), images=images)


def settings_text(config: TrainConfig) -> str:
    """Every training setting of a run, for tooltips (the optimizer, schedule and device by their code names)."""
    images = f"{config.train_samples:,}" if config.train_samples else QCoreApplication.translate(
        "ExperimentsView", "all")
    augment = QCoreApplication.translate("ExperimentsView", "augmented") if config.augment else \
        QCoreApplication.translate("ExperimentsView", "no augmentation")
    return QCoreApplication.translate(
        "ExperimentsView", "{images} training images, {epochs} epochs, batch {batch}, lr {lr}, {optimizer}, "
                           "{schedule} schedule, weight decay {weight_decay}, {augment}, device {device}").format(
        images=images, epochs=config.epochs, batch=config.batch_size, lr=f"{config.lr:g}", optimizer=config.optimizer,
        schedule=config.schedule, weight_decay=f"{config.weight_decay:g}", augment=augment, device=config.device)


@dataclass
class ExperimentRun:
    """A run of the queue: what it trains, its curves, and its table row once it ended."""

    number: int  # 1-based over the results shown: names the run and picks its colour
    config: TrainConfig
    label: str
    color: QColor
    accuracy: GrowingCurve
    loss: GrowingCurve
    smoother: LossSmoother
    row: RunRow | None = None


class ResultsModel(QAbstractTableModel):
    """One row per finished run; display text formatted, ``SORT_ROLE`` the raw value (numeric sorting)."""

    # The header (translated where shown).
    COLUMNS = (QT_TRANSLATE_NOOP("ResultsModel", "#"), QT_TRANSLATE_NOOP("ResultsModel", "Model"),
               QT_TRANSLATE_NOOP("ResultsModel", "Options"), QT_TRANSLATE_NOOP("ResultsModel", "Epochs"),
               QT_TRANSLATE_NOOP("ResultsModel", "Train acc"), QT_TRANSLATE_NOOP("ResultsModel", "Test acc"),
               QT_TRANSLATE_NOOP("ResultsModel", "Seconds"), QT_TRANSLATE_NOOP("ResultsModel", "Params"))

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.runs: list[ExperimentRun] = []

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.runs)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return QCoreApplication.translate("ResultsModel", self.COLUMNS[section])
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        run = self.runs[index.row()]
        row, column = run.row, index.column()
        assert row is not None
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(run, row, column)
        if role == SORT_ROLE:
            values = [run.number, row.model, ", ".join(run_options(run.config)), row.epochs, row.train_accuracy,
                      row.test_accuracy, row.train_seconds, row.params]
            value = values[column]
            return -1.0 if isinstance(value, float) and math.isnan(value) else value
        if role == Qt.ItemDataRole.DecorationRole and column == 1:
            return plot_colour(run.color)  # the colour of the run's curves, as the theme draws them
        if role == Qt.ItemDataRole.ToolTipRole:
            return f"{run.label}\n{settings_text(run.config)}"
        if role == Qt.ItemDataRole.TextAlignmentRole and column in (0, 3, 4, 5, 6, 7):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(run: ExperimentRun, row: RunRow, column: int) -> str:
        def percent(value: float) -> str:
            return "—" if math.isnan(value) else f"{value:.2%}"

        if column == 0:
            return str(run.number)
        if column == 1:
            return row.model
        if column == 2:
            return ", ".join(run_options(run.config))
        if column == 3:
            if row.stopped:
                return QCoreApplication.translate("ResultsModel", "{done} of {epochs}, stopped").format(
                    done=row.epochs, epochs=run.config.epochs)
            return str(row.epochs)
        if column == 4:
            return percent(row.train_accuracy)
        if column == 5:
            return percent(row.test_accuracy)
        if column == 6:
            return f"{row.train_seconds:.1f}"
        return f"{row.params:,}"

    def add(self, run: ExperimentRun) -> None:
        self.beginInsertRows(QModelIndex(), len(self.runs), len(self.runs))
        self.runs.append(run)
        self.endInsertRows()

    def clear(self) -> None:
        self.beginResetModel()
        self.runs = []
        self.endResetModel()


class ExperimentsView(QWidget):
    """Queue of runs, Run/Stop, the comparison table (exportable as CSV) and overlaid curves."""

    statusMessage = Signal(str)

    def __init__(self, runner: TrainingRunner, current_config: Callable[[], TrainConfig],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("experimentsView")
        self._runner = runner
        self._current_config = current_config
        self._queue = RunQueue()  # the runs waiting, shared with the training thread that takes them in turn
        self._listed: list[RunPlan] = []  # the same runs, in the order the list shows them
        self._total_runs = 0
        self._runs: list[ExperimentRun] = []  # every run with curves: finished ones and the current one
        self._current: ExperimentRun | None = None
        self._active = False  # a queue is running
        self._done = 0  # runs ended in this queue, for "Run 2/4"
        self._announced = False  # the current run's "Run i/N" went to the status bar
        self._failure: str | None = None  # why the current run failed
        self._last_csv_dir = Path.home()

        self._build()
        runner.runStarted.connect(self._on_run_started)
        runner.metrics.connect(self._on_metrics)
        runner.epochDone.connect(self._on_epoch)
        runner.finished.connect(self._on_run_finished)
        runner.queueFinished.connect(self._on_queue_finished)
        runner.runningChanged.connect(self._on_running_changed)
        self._update_buttons()

    # -- construction ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.queueList = QListWidget(objectName="queueList")
        self.queueList.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.queueList.setToolTip(self.tr("Runs waiting to train, in order"))
        self.queueList.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.queueList.setTextElideMode(Qt.TextElideMode.ElideRight)  # the whole entry is in its tooltip
        self.queueList.itemSelectionChanged.connect(self._update_buttons)
        self.addCurrentButton = QPushButton(self.tr("Add current settings"), objectName="addCurrentButton")
        self.addCurrentButton.setToolTip(self.tr("Queue a run with the settings of the Training tab"))
        self.addCurrentButton.clicked.connect(self.add_current)
        self.presetButton = QPushButton(self.tr("Add comparison"), objectName="presetButton")
        self.presetButton.setToolTip(self.tr("Queue a classic comparison, with the epochs and images of the Training "
                                             "tab"))
        menu = QMenu(self.presetButton)
        self.presetActions: dict[str, QAction] = {}
        for key, title in PRESET_TITLES.items():
            action = menu.addAction(QCoreApplication.translate("ExperimentsView", title))
            action.triggered.connect(lambda _=False, key=key: self.add_preset(key))
            self.presetActions[key] = action
        self.presetButton.setMenu(menu)
        self.removeButton = QPushButton(self.tr("Remove"), objectName="removeButton")
        self.removeButton.setToolTip(self.tr("Remove the selected runs from the queue"))
        self.removeButton.clicked.connect(self.remove_selected)
        self.clearQueueButton = QPushButton(self.tr("Clear queue"), objectName="clearQueueButton")
        self.clearQueueButton.clicked.connect(self.clear_queue)
        self.runQueueButton = QPushButton(self.tr("Run queue"), objectName="runQueueButton")
        self.runQueueButton.setToolTip(self.tr("Train the queued runs one after another"))
        self.runQueueButton.clicked.connect(self.run_queue)
        self.stopQueueButton = QPushButton(self.tr("Stop"), objectName="stopQueueButton")
        self.stopQueueButton.setToolTip(self.tr("Stop the run in progress after its batch; the rest stay queued"))
        self.stopQueueButton.clicked.connect(self.stop_queue)
        self.progressBar = QProgressBar(objectName="queueProgress", minimum=0, maximum=1000, value=0)
        self.progressBar.setTextVisible(False)
        self.statusLabel = QLabel(self.tr("Queue runs, then Run queue: they train one after another, and the table "
                                          "and curves compare them."), objectName="queueStatus")
        self.statusLabel.setWordWrap(True)

        buttons = QGridLayout()
        buttons.addWidget(self.addCurrentButton, 0, 0)
        buttons.addWidget(self.presetButton, 0, 1)
        buttons.addWidget(self.removeButton, 1, 0)
        buttons.addWidget(self.clearQueueButton, 1, 1)
        buttons.addWidget(self.runQueueButton, 2, 0)
        buttons.addWidget(self.stopQueueButton, 2, 1)
        left = QVBoxLayout()
        left.setContentsMargins(0, 0, 0, 0)
        left.addWidget(QLabel(self.tr("Queue")))
        left.addWidget(self.queueList, 1)
        left.addLayout(buttons)
        left.addWidget(self.progressBar)
        left.addWidget(self.statusLabel)
        left_widget = QWidget()
        left_widget.setLayout(left)
        left_widget.setMaximumWidth(340)

        self.results = ResultsModel(self)
        self.sortedResults = QSortFilterProxyModel(self)
        self.sortedResults.setSourceModel(self.results)
        self.sortedResults.setSortRole(SORT_ROLE)
        self.table = QTableView(objectName="resultsTable")
        self.table.setModel(self.sortedResults)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        # Every column as wide as its contents, the last one filling the rest: a stretched Options column was
        # squeezed to "t…" as soon as the other columns needed the room; a narrow table scrolls instead.
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.exportButton = QPushButton(self.tr("Export CSV…"), objectName="exportButton")
        self.exportButton.setToolTip(self.tr("Save the table as a CSV file (Ctrl+E)"))
        self.exportButton.clicked.connect(self.export_csv)
        # The window puts this in its File menu: Ctrl+E works from any tab.
        self.exportAction = QAction(self.tr("&Export experiments as CSV…"), self, shortcut=QKeySequence("Ctrl+E"))
        self.exportAction.setStatusTip(self.tr("Save the Experiments table as a CSV file"))
        self.exportAction.triggered.connect(self.export_csv)
        self.clearResultsButton = QPushButton(self.tr("Clear results"), objectName="clearResultsButton")
        self.clearResultsButton.clicked.connect(self.clear_results)
        table_buttons = QHBoxLayout()
        table_buttons.addWidget(self.exportButton)
        table_buttons.addWidget(self.clearResultsButton)
        table_buttons.addStretch(1)
        table_box = QVBoxLayout()
        table_box.setContentsMargins(0, 0, 0, 0)
        table_box.addWidget(self.table, 1)
        table_box.addLayout(table_buttons)
        table_widget = QWidget()
        table_widget.setLayout(table_box)

        # (PlotWidget passes unknown keyword arguments on to a plot() call: set objectName separately.)
        # No grids: see TrainingPanel (grid lines repaint the axes with every curve update).
        self.accuracyPlot = pg.PlotWidget(title=self.tr("Test accuracy per epoch"))
        self.accuracyPlot.setObjectName("experimentAccuracyPlot")
        self.accuracyPlot.setLabel("bottom", self.tr("epoch"))
        # One legend names the runs of both plots (the table shows their colours too). Bottom right: accuracy
        # curves rise to the top, so that corner is usually free; a translucent ground keeps both readable.
        self.legend = self.accuracyPlot.addLegend(offset=(-10, -10), brush=pg.mkBrush(255, 255, 255, 210),
                                                  verSpacing=-6, labelTextSize="8pt")
        self.lossPlot = pg.PlotWidget(title=self.tr("Training loss (smoothed)"))
        self.lossPlot.setObjectName("experimentLossPlot")
        self.lossPlot.setLabel("bottom", self.tr("epoch"))
        self.lossPlot.setClipToView(True)
        self.lossPlot.setDownsampling(auto=True, mode="peak")
        bound_accuracy_axis(self.accuracyPlot)
        for plot in (self.accuracyPlot, self.lossPlot):
            plot.setMinimumSize(200, 120)
            plot.setToolTip(self.tr("Colours as in the table; select rows there to pick out their runs' curves"))
        self.table.selectionModel().selectionChanged.connect(self._emphasize_selected)

        plots = QSplitter(Qt.Orientation.Vertical)
        plots.addWidget(self.accuracyPlot)
        plots.addWidget(self.lossPlot)
        splitter = QSplitter(Qt.Orientation.Horizontal, objectName="experimentsSplitter")
        splitter.addWidget(table_widget)
        splitter.addWidget(plots)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([600, 450])
        layout = QHBoxLayout(self)
        layout.addWidget(left_widget)
        layout.addWidget(splitter, 1)

    # -- the queue -------------------------------------------------------------------------------------
    def pending(self) -> list[TrainConfig]:
        return [plan.config for plan in self._queue.plans()]

    def is_active(self) -> bool:
        return self._active

    def add_configs(self, configs: Sequence[TrainConfig]) -> None:
        for config in configs:
            config = replace(config, model_options=dict(config.model_options))  # the queue's own copy
            try:
                plan = new_run(config)
            except CnndeskError as exc:
                self._say(self.tr("Not queued: {error}").format(error=exc))
                return
            self._queue.add(plan)
            self._listed.append(plan)
            self.queueList.addItem(queue_text(config))
            self.queueList.item(self.queueList.count() - 1).setToolTip(f"{run_label(config)}\n{settings_text(config)}")
        self._update_buttons()

    def add_current(self) -> None:
        self.add_configs([self._current_config()])

    def add_preset(self, key: str) -> None:
        self.add_configs(PRESETS[key](self._current_config()))

    def remove_selected(self) -> None:
        rows = sorted({self.queueList.row(item) for item in self.queueList.selectedItems()}, reverse=True)
        self._queue.remove(self._listed[row] for row in rows)
        for row in rows:
            del self._listed[row]
            self.queueList.takeItem(row)
        self._update_buttons()

    def clear_queue(self) -> None:
        self._queue.remove(self._listed)
        self._listed.clear()
        self.queueList.clear()
        self._update_buttons()

    # -- running ---------------------------------------------------------------------------------------
    @Slot()
    def run_queue(self) -> None:
        """Train the queued runs one after another through the session's RunController, as Train does."""
        if self._active or not len(self._queue):
            return
        if self._runner.is_running():
            self._say(self.tr("A training run is in progress: stop it or wait for it to end, then run the queue."))
            return
        self._active, self._done, self._failure = True, 0, None
        self._total_runs = len(self._queue)
        self._update_progress(0.0, self.tr("Starting…"))
        self._runner.start_queue(self._queue)
        self._update_buttons()

    @Slot()
    def stop_queue(self) -> None:
        """Stop the run in progress after its batch; the runs not started stay in the queue."""
        if self._active:
            self._runner.stop()

    def _total(self) -> int:
        return max(self._total_runs, self._done + (self._current is not None) + len(self._queue))

    @Slot(object)
    def _on_run_started(self, plan: RunPlan) -> None:
        if not self._active or not any(plan is listed for listed in self._listed):
            return  # a Train click, not one of the queue's runs
        index = next(i for i, listed in enumerate(self._listed) if listed is plan)
        del self._listed[index]
        self.queueList.takeItem(index)
        self._current = self._new_run(plan.config)
        self._announced = False
        self._update_progress(0.0, self.tr("Run {run}/{runs}: {label} — starting…").format(
            run=self._done + 1, runs=self._total(), label=self._current.label))

    def _new_run(self, config: TrainConfig) -> ExperimentRun:
        number = len(self._runs) + 1
        color = QColor(*PALETTE[(number - 1) % len(PALETTE)])
        label = run_label(config)
        if any(run.label == label for run in self._runs):
            label = f"{label} ({number})"  # the same settings twice: tell the curves apart
        # In the theme's colour and the mode's width from the start, not at the next restyle.
        accuracy = style_curve(self.accuracyPlot.plot(pen=pg.mkPen(color, width=2), symbol="o", symbolSize=5,
                                                      symbolBrush=color, symbolPen=None, name=label))
        loss = style_curve(self.lossPlot.plot(pen=pg.mkPen(color, width=2)))
        run = ExperimentRun(number, config, label, color, GrowingCurve(accuracy), GrowingCurve(loss), LossSmoother())
        self._runs.append(run)
        # Whole runs in view from the start: the axes do not rescale (and repaint) at every update.
        epochs = max(r.config.epochs for r in self._runs)
        self.accuracyPlot.setXRange(0.5, epochs + 0.5, padding=0)
        step = max(1, epochs // 10)
        self.accuracyPlot.getAxis("bottom").setTickSpacing(major=step, minor=step)
        self.lossPlot.setXRange(0, epochs, padding=0.01)
        self._runs_changed()
        return run

    def _drop_curves(self, run: ExperimentRun) -> None:
        self.accuracyPlot.removeItem(run.accuracy.item)
        self.lossPlot.removeItem(run.loss.item)
        if run in self._runs:
            self._runs.remove(run)
        self._runs_changed()

    def _runs_changed(self) -> None:
        self.legend.setVisible(len(self._runs) <= LEGEND_MAX_RUNS)
        self._emphasize_selected()

    def selected_runs(self) -> list[ExperimentRun]:
        """The runs whose rows are selected in the table."""
        proxy = self.sortedResults
        rows = self.table.selectionModel().selectedRows()
        return [self.results.runs[proxy.mapToSource(index).row()] for index in rows]

    @Slot()
    def _emphasize_selected(self) -> None:
        """The selected rows' runs stand out in both plots, drawn thicker and on top; the others fade."""
        chosen = {run.number for run in self.selected_runs()}
        for run in self._runs:
            color = QColor(run.color)
            width = 2.0
            if chosen and run.number in chosen:
                width = 3.5
            elif chosen:
                color.setAlpha(FADED_ALPHA)
                width = 1.5
            pen = pg.mkPen(color, width=width)  # as designed: style_curve draws it for the theme and mode
            for curve in (run.accuracy.item, run.loss.item):
                style_curve(curve, pen=pen)
                curve.setZValue(1 if run.number in chosen else 0)
            style_curve(run.accuracy.item, symbol_brush=color)

    def _end_queue(self, message: str | None = None) -> None:
        left = len(self._queue)
        if message is None and left:
            message = self.tr("Stopped after {done} run(s); {left} still queued.").format(done=self._done, left=left)
        elif message is None:
            message = self.tr("Queue done: {done} run(s), compared in the table.").format(done=self._done)
        self._active = False
        self._current = None
        self.progressBar.setValue(1000 if not left else self.progressBar.value())
        self._say(message)
        self._update_buttons()

    # -- the runner's signals (only the queue's own runs are recorded) -----------------------------------
    @Slot(object)
    def _on_metrics(self, chunk: LossChunk) -> None:
        run = self._current
        if run is None:
            return
        latest = chunk.latest
        smoothed = run.smoother(chunk.losses)
        run.loss.extend(chunk.steps / latest.batches_per_epoch, smoothed)
        epochs = run.config.epochs
        done = ((latest.epoch - 1) * latest.batches_per_epoch + latest.batch) / (epochs * latest.batches_per_epoch)
        caption = self.tr("Run {run}/{runs}: {label}").format(run=self._done + 1, runs=self._total(), label=run.label)
        progress = self.tr("{run} — epoch {epoch}/{epochs} · batch {batch}/{batches} · loss {loss} · ETA {eta}")
        self._update_progress(done, progress.format(
            run=caption, epoch=latest.epoch, epochs=epochs, batch=latest.batch, batches=latest.batches_per_epoch,
            loss=f"{smoothed[-1]:.4f}", eta=format_eta(latest.eta)))
        if not self._announced:
            self._announced = True
            self.statusMessage.emit(self.tr("{run} training; the prediction follows its weights.").format(run=caption))

    @Slot(object)
    def _on_epoch(self, metrics: EpochMetrics) -> None:
        if self._current is not None:
            self._current.accuracy.extend(np.array([metrics.epoch], np.float64), np.array([metrics.test_accuracy]))

    @Slot(object)
    def _on_run_finished(self, outcome: RunOutcome) -> None:
        run = self._current
        if run is None:
            return
        self._current = None
        result = outcome.result
        if outcome.status == NOTHING_SAVED:  # stopped before it had anything to show: queued again
            self._drop_curves(run)
            self._listed.insert(0, outcome.plan)
            self.queueList.insertItem(0, queue_text(outcome.plan.config))
            return
        if result is None:  # failed before it trained: no row, no curves
            self._drop_curves(run)
            self._failure = self.tr("Run {run} ({label}) failed: {error}").format(run=self._done + 1, label=run.label,
                                                                                 error=outcome.error)
            return
        # The row reports the model the run ended with, the one now current and saved (see session.runs).
        row = row_of(result, count_parameters(result.model))
        if outcome.model is not None:
            row = replace(row, test_accuracy=outcome.test_accuracy, epochs=outcome.epochs)
        run.row = row
        self.results.add(run)
        # The header measures its contents when the table is laid out anew (a sort), not for an appended row.
        self.table.resizeColumnsToContents()
        self._done += 1
        if not outcome.succeeded:
            self._failure = outcome.message if outcome.status in (FAILED, DIVERGED) else None

    @Slot()
    def _on_queue_finished(self) -> None:
        if self._active:
            self._end_queue(self._failure)

    @Slot(bool)
    def _on_running_changed(self, running: bool) -> None:
        self._update_buttons()

    # -- results ---------------------------------------------------------------------------------------
    def rows(self) -> list[RunRow]:
        """The table's rows in the order shown (sorted as the user sorted it)."""
        proxy = self.sortedResults
        order = [proxy.mapToSource(proxy.index(r, 0)).row() for r in range(proxy.rowCount())]
        return [row for i in order if (row := self.results.runs[i].row) is not None]

    def runs(self) -> list[ExperimentRun]:
        return list(self._runs)

    def clear_results(self) -> None:
        if self._active:
            return
        for run in list(self._runs):
            self._drop_curves(run)
        self.results.clear()
        reset_accuracy_axis(self.accuracyPlot)
        self._update_buttons()

    def export_csv(self) -> None:
        if not self.results.runs:
            return
        path, _ = QFileDialog.getSaveFileName(self, self.tr("Export experiments as CSV"),
                                              str(self._last_csv_dir / "cnndesk-experiments.csv"),
                                              self.tr("CSV files (*.csv)"))
        if path:
            self.export_csv_to(path)

    def export_csv_to(self, path: str | Path) -> Path | None:
        """Write the table as CSV; a path that cannot be written is reported, not raised."""
        try:
            saved = write_csv(self.rows(), path)
        except CnndeskError as exc:
            self._say(str(exc))
            return None
        self._last_csv_dir = saved.parent
        self._say(self.tr("Saved {path}").format(path=saved))
        return saved

    # -- display ---------------------------------------------------------------------------------------
    def _say(self, message: str) -> None:
        self.statusLabel.setText(message)
        self.statusMessage.emit(message)

    def _update_progress(self, run_fraction: float, text: str) -> None:
        total = max(1, self._total())
        self.progressBar.setValue(int((self._done + run_fraction) / total * 1000))
        self.statusLabel.setText(text)

    @Slot()
    def _update_buttons(self) -> None:
        busy = self._active or self._runner.is_running()
        self.runQueueButton.setEnabled(not busy and bool(self._listed))
        self.stopQueueButton.setEnabled(self._active)
        self.removeButton.setEnabled(bool(self.queueList.selectedItems()))
        self.clearQueueButton.setEnabled(bool(self._listed))
        self.clearResultsButton.setEnabled(not self._active and bool(self._runs))
        self.exportButton.setEnabled(bool(self.results.runs))
        self.exportAction.setEnabled(bool(self.results.runs))
