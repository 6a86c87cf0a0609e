"""Training controls, progress, and the live loss and accuracy curves."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from cnndesk.engine import (
    MODELS,
    BatchMetrics,
    EpochMetrics,
    FitInfo,
    ResumePoint,
    TrainConfig,
    available_devices,
)
from cnndesk.engine.models import ACTIVATIONS, INITS, POOLINGS
from cnndesk.session.smoothing import LossSmoother
from cnndesk.session.text import format_eta

from .plotting import SELECTION_RGB, bound_accuracy_axis, pg, reset_accuracy_axis
from .presentation import presentation, scaled

# What each builder option does, for its widget's tooltip when the model takes it (translated where shown).
CONTROLS_WIDTH = 660  # px: the form's widest, so that the plots beside it get the rest
OPTION_TIPS = {
    "activation": QT_TRANSLATE_NOOP("TrainingPanel", "The non-linearity after each hidden layer"),
    "pooling": QT_TRANSLATE_NOOP("TrainingPanel", "How each pooling layer shrinks its maps: the largest value (max) "
                                                  "or the mean (average)"),
    "batchnorm": QT_TRANSLATE_NOOP("TrainingPanel", "BatchNorm between each hidden conv/fc layer and its activation"),
    "dropout": QT_TRANSLATE_NOOP("TrainingPanel", "Dropout in front of the last fully connected layer: the fraction "
                                                  "of its inputs zeroed at random while training"),
    "width": QT_TRANSLATE_NOOP("TrainingPanel", "Width multiplier: scales every layer's channels and hidden units "
                                                "(the 10 outputs stay)"),
    "init": QT_TRANSLATE_NOOP("TrainingPanel", "Weight initialisation of the conv and fc layers: PyTorch's default, "
                                               "Xavier (Glorot) or Kaiming (He), biases zero"),
}
# Why a model lacks an option: the registry's reasons (ModelSpec.fixed; the engine imports no Qt, so they are
# marked for translation here, and tests/ui/test_translation.py checks that this list holds all of them), and the
# reason of a model that simply has no such option. Translated where shown, after the model's name.
NO_OPTION = QT_TRANSLATE_NOOP("ModelSpec", "does not take this option")
FIXED_REASONS = (
    QT_TRANSLATE_NOOP("ModelSpec", "has no fully connected layer to drop out in front of"),
    QT_TRANSLATE_NOOP("ModelSpec", "downsamples with strided convolutions, not pooling layers"),
    QT_TRANSLATE_NOOP("ModelSpec", "always has BatchNorm, in every residual block"),
    QT_TRANSLATE_NOOP("ModelSpec", "has no convolutions, so no pooling layers"),
)
# The combos' choices: (the text shown, translated where shown; the value).
ACTIVATION_NAMES = {"relu": QT_TRANSLATE_NOOP("TrainingPanel", "ReLU"),
                    "tanh": QT_TRANSLATE_NOOP("TrainingPanel", "Tanh"),
                    "sigmoid": QT_TRANSLATE_NOOP("TrainingPanel", "Sigmoid"),
                    "leakyrelu": QT_TRANSLATE_NOOP("TrainingPanel", "LeakyReLU")}
POOLING_NAMES = {"max": QT_TRANSLATE_NOOP("TrainingPanel", "Max"), "avg": QT_TRANSLATE_NOOP("TrainingPanel", "Average")}
INIT_NAMES = {"default": QT_TRANSLATE_NOOP("TrainingPanel", "Default"),
              "xavier": QT_TRANSLATE_NOOP("TrainingPanel", "Xavier"),
              "kaiming": QT_TRANSLATE_NOOP("TrainingPanel", "Kaiming")}
OPTIMIZERS = ((QT_TRANSLATE_NOOP("TrainingPanel", "Adam"), "adam"),
              (QT_TRANSLATE_NOOP("TrainingPanel", "AdamW"), "adamw"),
              (QT_TRANSLATE_NOOP("TrainingPanel", "SGD + momentum"), "sgd"))
SCHEDULES = ((QT_TRANSLATE_NOOP("TrainingPanel", "OneCycle"), "onecycle"),
             (QT_TRANSLATE_NOOP("TrainingPanel", "Cosine"), "cosine"),
             (QT_TRANSLATE_NOOP("TrainingPanel", "Step"), "step"),
             (QT_TRANSLATE_NOOP("TrainingPanel", "Constant"), "constant"))


def _choice(text: str) -> str:
    """A combo's choice, translated (the tables above)."""
    return QCoreApplication.translate("TrainingPanel", text)


def device_name(device: str) -> str:
    """"Auto" (translated); a device's own name as it is known, in capitals: "CPU", "CUDA", "MPS"."""
    return QCoreApplication.translate("TrainingPanel", "Auto") if device == "auto" else device.upper()


MAX_EPOCH_TICKS = 8  # numbered epochs on the accuracy plot's axis: more run into each other in its narrow width


def epoch_tick_step(epochs: int) -> int:
    """Every how many epochs the accuracy plot numbers one: 1 up to MAX_EPOCH_TICKS epochs, then 2, 5, 10…"""
    for step in (1, 2, 5, 10, 20, 50, 100):
        if epochs <= step * MAX_EPOCH_TICKS:
            return step
    return max(1, epochs // MAX_EPOCH_TICKS)


class GrowingCurve:
    """A curve whose arrays grow by doubling; the plot gets views, never rebuilt lists."""

    def __init__(self, item: pg.PlotDataItem) -> None:
        self.item = item
        self.x = np.empty(1024, np.float64)
        self.y = np.empty(1024, np.float64)
        self.size = 0

    def extend(self, xs: np.ndarray, ys: np.ndarray) -> None:
        need = self.size + len(xs)
        if need > len(self.x):
            capacity = max(need, 2 * len(self.x))
            self.x = np.resize(self.x, capacity)
            self.y = np.resize(self.y, capacity)
        self.x[self.size:need] = xs
        self.y[self.size:need] = ys
        self.size = need
        self.item.setData(self.x[: self.size], self.y[: self.size])

    def clear(self) -> None:
        self.size = 0
        self.item.setData([], [])


class TrainingPanel(QWidget):
    startRequested = Signal(object)  # TrainConfig
    pauseToggled = Signal(bool)  # True: pause, False: resume
    stopRequested = Signal()
    resumeRequested = Signal()  # continue a saved run: the window asks which

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self._epochs_total = 1
        self._smoother = LossSmoother()
        self._resumed_epochs = 0  # epochs a resumed run had already trained

        self.modelCombo = QComboBox(objectName="modelCombo")
        for name, spec in MODELS.items():
            self.modelCombo.addItem(name, name)
            self.modelCombo.setItemData(self.modelCombo.count() - 1, spec.description, Qt.ItemDataRole.ToolTipRole)
        self.epochsSpin = QSpinBox(objectName="epochsSpin", minimum=1, maximum=200)
        self.samplesSpin = QSpinBox(objectName="samplesSpin", minimum=100, maximum=60000, singleStep=1000,
                                    value=60000)
        self.samplesSpin.setToolTip(self.tr("Train on the first N MNIST training images: fewer is faster, for a quick "
                                            "demo"))
        self.batchSpin = QSpinBox(objectName="batchSpin", minimum=1, maximum=8192, singleStep=32)
        self.lrSpin = QDoubleSpinBox(objectName="lrSpin", decimals=5, minimum=1e-5, maximum=10.0, singleStep=0.0005)
        self.activationCombo = QComboBox(objectName="activationCombo")
        for key in ACTIVATIONS:
            self.activationCombo.addItem(_choice(ACTIVATION_NAMES[key]) if key in ACTIVATION_NAMES
                                         else key.capitalize(), key)
        self.poolingCombo = QComboBox(objectName="poolingCombo")
        for key in POOLINGS:
            self.poolingCombo.addItem(_choice(POOLING_NAMES[key]) if key in POOLING_NAMES else key, key)
        self.batchnormCheck = QCheckBox(self.tr("BatchNorm"), objectName="batchnormCheck")
        self.dropoutSpin = QDoubleSpinBox(objectName="dropoutSpin", decimals=2, minimum=0.0, maximum=0.9,
                                          singleStep=0.05)
        self.widthSpin = QDoubleSpinBox(objectName="widthSpin", decimals=2, minimum=0.25, maximum=4.0,
                                        singleStep=0.25, suffix=" ×")
        self.initCombo = QComboBox(objectName="initCombo")
        for key in INITS:
            self.initCombo.addItem(_choice(INIT_NAMES[key]) if key in INIT_NAMES else key.capitalize(), key)
        self.weightDecaySpin = QDoubleSpinBox(objectName="weightDecaySpin", decimals=5, minimum=0.0, maximum=1.0,
                                              singleStep=0.0001)
        self.optimizerCombo = QComboBox(objectName="optimizerCombo")
        for label, key in OPTIMIZERS:
            self.optimizerCombo.addItem(_choice(label), key)
        self.scheduleCombo = QComboBox(objectName="scheduleCombo")
        for label, key in SCHEDULES:
            self.scheduleCombo.addItem(_choice(label), key)
        self.deviceCombo = QComboBox(objectName="deviceCombo")
        for device in available_devices():
            self.deviceCombo.addItem(device_name(device), device)
        self.augmentCheck = QCheckBox(self.tr("Augment"), objectName="augmentCheck", checked=True)
        self.augmentCheck.setToolTip(self.tr("Mild random affine distortions of every batch (±10°, ±10% scale, "
                                             "±2 px shift): slower to reach a given MNIST accuracy, better on real "
                                             "handwriting"))
        self.seedSpin = QSpinBox(objectName="seedSpin", minimum=0, maximum=2**31 - 1, value=0)
        self.seedSpin.setToolTip(self.tr("Random seed: the same seed and settings train the same network again"))

        # Three short columns (the network; the run; the optimizer) and one row of buttons: the panel fits under
        # the canvas on a 1280x720 screen without squeezing its fields.
        self._optionWidgets: dict[str, QWidget] = {
            "activation": self.activationCombo, "pooling": self.poolingCombo, "batchnorm": self.batchnormCheck,
            "dropout": self.dropoutSpin, "width": self.widthSpin, "init": self.initCombo,
        }
        self._optionLabels: dict[str, QLabel] = {}
        model_form = self._form()
        model_form.addRow(self.tr("Model"), self.modelCombo)
        for key, label in [("activation", self.tr("Activation")), ("pooling", self.tr("Pooling")),
                           ("dropout", self.tr("Dropout")), ("width", self.tr("Width"))]:
            self._optionLabels[key] = QLabel(label)
            model_form.addRow(self._optionLabels[key], self._optionWidgets[key])
        self._optionLabels["init"] = QLabel(self.tr("Init"))
        init_row = QHBoxLayout()
        init_row.addWidget(self.initCombo, 1)
        init_row.addWidget(self.batchnormCheck)
        model_form.addRow(self._optionLabels["init"], init_row)
        run_form = self._form()
        run_form.addRow(self.tr("Epochs"), self.epochsSpin)
        run_form.addRow(self.tr("Training images"), self.samplesSpin)
        run_form.addRow(self.tr("Batch size"), self.batchSpin)
        run_form.addRow(self.tr("Learning rate"), self.lrSpin)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seedSpin, 1)
        seed_row.addWidget(self.augmentCheck)
        run_form.addRow(self.tr("Seed"), seed_row)
        optimizer_form = self._form()
        optimizer_form.addRow(self.tr("Optimizer"), self.optimizerCombo)
        optimizer_form.addRow(self.tr("Schedule"), self.scheduleCombo)
        optimizer_form.addRow(self.tr("Weight decay"), self.weightDecaySpin)
        optimizer_form.addRow(self.tr("Device"), self.deviceCombo)
        for check in (self.batchnormCheck, self.augmentCheck):  # never cut to "Augm…" in a narrow column
            check.setMinimumWidth(check.sizeHint().width())
        form = QHBoxLayout()
        for index, column in enumerate((model_form, run_form, optimizer_form)):
            if index:
                form.addSpacing(8)
            form.addLayout(column, 1)

        self.trainButton = QPushButton(self.tr("Train"), objectName="trainButton")
        self.trainButton.setToolTip(self.tr("Train a fresh model on MNIST (Ctrl+T)"))
        self.resumeButton = QPushButton(self.tr("Resume run…"), objectName="resumeRunButton")
        self.resumeButton.setToolTip(self.tr("Continue a saved run from its checkpoint, where it stopped "
                                             "(Ctrl+Shift+T)"))
        self.pauseButton = QPushButton(self.tr("Pause"), objectName="pauseButton", checkable=True, enabled=False)
        self.pauseButton.setToolTip(self.tr("Pause or continue the run (Ctrl+P)"))
        self.stopButton = QPushButton(self.tr("Stop"), objectName="stopButton", enabled=False)
        self.stopButton.setToolTip(self.tr("Stop after this batch; the last whole epoch is what is kept (Ctrl+.)"))
        buttons = QHBoxLayout()  # starting a run, then the run in progress
        for button in (self.trainButton, self.resumeButton, self.pauseButton, self.stopButton):
            buttons.addWidget(button)

        self.progressBar = QProgressBar(objectName="progressBar", minimum=0, maximum=1000, value=0)
        self.progressBar.setTextVisible(False)
        self.progressBar.setMaximumHeight(12)
        self.statusLabel = QLabel(self.tr("Ready"), objectName="trainingStatus")
        self.statusLabel.setWordWrap(True)

        controls = QVBoxLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.addLayout(form)
        controls.addLayout(buttons)
        controls.addWidget(self.progressBar)
        controls.addWidget(self.statusLabel)
        controls.addStretch(1)
        controls_widget = QWidget()
        controls_widget.setLayout(controls)
        controls_widget.setMaximumWidth(CONTROLS_WIDTH)
        self._controls = controls_widget
        self._normal_widths: dict[QWidget, int] = {}
        # Once the new font has reached every widget of the form (next turn of the event loop).
        presentation().changed.connect(self._schedule_fit)

        # (PlotWidget passes unknown keyword arguments on to a plot() call: set objectName separately.)
        self.lossPlot = pg.PlotWidget(title=self.tr("Loss per batch"))
        self.lossPlot.setObjectName("lossPlot")
        self.lossPlot.setLabel("bottom", self.tr("step"))
        # No grid: pyqtgraph draws grid lines as part of the axes, so every curve update would repaint both axes
        # with all their text (the largest GUI-thread cost while training).
        self.lossPlot.setClipToView(True)
        self.lossPlot.setDownsampling(auto=True, mode="peak")
        self.lossPlot.addLegend(offset=(-10, 10))
        self.rawLoss = GrowingCurve(self.lossPlot.plot(pen=pg.mkPen((150, 170, 210), width=1), name=self.tr("raw")))
        self.smoothLoss = GrowingCurve(self.lossPlot.plot(pen=pg.mkPen((30, 70, 160), width=2),
                                                        name=self.tr("smoothed")))

        self.accuracyPlot = pg.PlotWidget(title=self.tr("Accuracy per epoch"))
        self.accuracyPlot.setObjectName("accuracyPlot")
        self.accuracyPlot.setLabel("bottom", self.tr("epoch"))
        self.accuracyPlot.addLegend(offset=(-10, -10))
        self.trainAccuracy = GrowingCurve(self.accuracyPlot.plot(
            pen=pg.mkPen((40, 140, 60), width=2), symbol="o", symbolSize=6, symbolBrush=(40, 140, 60),
            name=self.tr("train")))
        self.testAccuracy = GrowingCurve(self.accuracyPlot.plot(
            pen=pg.mkPen((214, 96, 40), width=2), symbol="s", symbolSize=6, symbolBrush=(214, 96, 40),
            name=self.tr("test")))
        bound_accuracy_axis(self.accuracyPlot)
        # Where the replay is (the snapshot shown): the same orange as every other selection in the window.
        self.snapshotMarks = []
        for plot in (self.lossPlot, self.accuracyPlot):
            mark = pg.InfiniteLine(angle=90, movable=False, pen=pg.mkPen(SELECTION_RGB, width=2))
            mark.setToolTip(self.tr("The training step the views show (the replay)"))
            mark.hide()
            plot.addItem(mark, ignoreBounds=True)
            self.snapshotMarks.append(mark)
        for plot in (self.lossPlot, self.accuracyPlot):
            plot.setMinimumHeight(160)
            plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

        layout = QHBoxLayout(self)
        layout.addWidget(controls_widget)
        layout.addWidget(self.lossPlot, 3)
        layout.addWidget(self.accuracyPlot, 2)

        self.modelCombo.currentIndexChanged.connect(self._apply_recipe)
        self.trainButton.clicked.connect(self._request_start)
        self.pauseButton.toggled.connect(self._toggle_pause)
        self.stopButton.clicked.connect(self.stopRequested)
        self.resumeButton.clicked.connect(self.resumeRequested)
        self._apply_recipe()

    def _schedule_fit(self) -> None:
        if presentation().active and not self._normal_widths:
            # As laid out in the normal font (not yet laid out again): what leaving gives back. Measured again after
            # a font change, QCheckBox's size hint came out too narrow ("Augme").
            self._normal_widths = {widget: widget.width() for widget in self._measured_widgets()}
        QTimer.singleShot(0, self, self._fit_controls)

    def _measured_widgets(self) -> tuple[QWidget, ...]:
        return self.batchnormCheck, self.augmentCheck, self.initCombo

    def _fit_controls(self) -> None:
        """Presentation mode's larger text: the form's cap grows with it, never below what the form needs."""
        if not presentation().active:  # the form as it was before presenting
            for widget in self._measured_widgets():
                widget.setMinimumWidth(self._normal_widths.get(widget, 0))
            self._controls.setMaximumWidth(CONTROLS_WIDTH)
            return
        # Minimums measured again in the larger font (the layout had measured them in the normal one).
        for widget in self._measured_widgets():
            widget.setMinimumWidth(widget.sizeHint().width())
        self._controls.setMaximumWidth(max(scaled(CONTROLS_WIDTH), self._controls.minimumSizeHint().width()))

    @staticmethod
    def _form() -> QFormLayout:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setHorizontalSpacing(6)
        return form

    # -- configuration ---------------------------------------------------------------------------------
    def _set_option(self, key: str, value: object) -> None:
        widget = self._optionWidgets[key]
        if isinstance(widget, QComboBox):
            widget.setCurrentIndex(widget.findData(value) if value is not None else -1)
        elif isinstance(widget, QCheckBox):
            widget.setChecked(bool(value))
        elif isinstance(widget, QDoubleSpinBox):
            widget.setValue(float(value) if value is not None else widget.minimum())

    def _option_value(self, key: str) -> object:
        widget = self._optionWidgets[key]
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        return round(widget.value(), widget.decimals())

    def _enable_options(self) -> None:
        """The model's own options are editable; the others stay in place, disabled, with the reason."""
        spec = MODELS[self.modelCombo.currentData()]
        for key, widget in self._optionWidgets.items():
            available = key in spec.defaults
            _, reason = spec.fixed.get(key, (None, NO_OPTION))
            tip = QCoreApplication.translate("TrainingPanel", OPTION_TIPS[key]) if available else \
                self.tr("{model} {reason}.").format(model=spec.name,
                                                    reason=QCoreApplication.translate("ModelSpec", reason))
            widget.setEnabled(available)
            widget.setToolTip(tip)
            if key in self._optionLabels:
                self._optionLabels[key].setEnabled(available)
                self._optionLabels[key].setToolTip(tip)

    def _apply_recipe(self) -> None:
        """Each model comes with the recipe that trains it well, and its own option defaults."""
        name = self.modelCombo.currentData()
        config = TrainConfig.for_model(name)
        spec = MODELS[name]
        for key in self._optionWidgets:
            # An option the model does not take shows what the model has instead (resnet-mini: BatchNorm on).
            fixed, _ = spec.fixed.get(key, (None, ""))
            self._set_option(key, spec.defaults.get(key, fixed))
        self._enable_options()
        self._show_recipe(config)

    def _show_recipe(self, config: TrainConfig) -> None:
        """The form's training settings from ``config``: epochs, batch, learning rate, optimizer, schedule…"""
        self.epochsSpin.setValue(config.epochs)
        self.batchSpin.setValue(config.batch_size)
        self.lrSpin.setValue(config.lr)
        self.weightDecaySpin.setValue(config.weight_decay)
        for combo, value in ((self.optimizerCombo, config.optimizer), (self.scheduleCombo, config.schedule)):
            if combo.findData(value) >= 0:
                combo.setCurrentIndex(combo.findData(value))
        self.augmentCheck.setChecked(config.augment)

    def config(self) -> TrainConfig:
        config = TrainConfig.for_model(
            self.modelCombo.currentData(),
            epochs=self.epochsSpin.value(),
            batch_size=self.batchSpin.value(),
            lr=self.lrSpin.value(),
            optimizer=self.optimizerCombo.currentData(),
            schedule=self.scheduleCombo.currentData(),
            device=self.deviceCombo.currentData(),
            train_samples=self.samplesSpin.value() if self.samplesSpin.value() < 60000 else None,
            weight_decay=self.weightDecaySpin.value(),
            seed=self.seedSpin.value(),
        )
        # Only the options this model takes (a model without pooling has no pooling in its config).
        config.model_options = {key: self._option_value(key) for key in MODELS[config.model].defaults}
        config.augment = self.augmentCheck.isChecked()
        return config

    def show_config(self, config: TrainConfig) -> None:
        """Set the form to a run's settings (a resumed run: the user sees what is training)."""
        index = self.modelCombo.findData(config.model)
        if index >= 0:
            self.modelCombo.setCurrentIndex(index)  # applies the model's recipe first; the run's values follow
        for key, value in config.model_options.items():
            if key in self._optionWidgets:
                self._set_option(key, str(value).lower() if isinstance(value, str) else value)
        self._show_recipe(config)
        self.samplesSpin.setValue(config.train_samples or self.samplesSpin.maximum())
        self.seedSpin.setValue(config.seed)

    def prepare_resume(self, point: ResumePoint) -> None:
        """Before a resumed run starts: its settings in the form, its earlier epochs in the accuracy plot."""
        self.reset_curves()
        self.show_config(point.config)
        for metrics in point.history:
            self.add_epoch(metrics)
        self._resumed_epochs = point.epochs_completed
        self.progressBar.setValue(int(1000 * point.epochs_completed / max(1, point.config.epochs)))
        self.statusLabel.setText(self.tr("Resuming {model} after epoch {done} of {epochs}…").format(
            model=point.config.model, done=point.epochs_completed, epochs=point.config.epochs))

    def _request_start(self) -> None:
        self.startRequested.emit(self.config())

    def _toggle_pause(self, paused: bool) -> None:
        self.pauseButton.setText(self.tr("Resume") if paused else self.tr("Pause"))
        self.pauseToggled.emit(paused)
        if paused:
            self.statusLabel.setText(self.tr("Paused — {status}").format(status=self.statusLabel.text()))

    # -- run state -------------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        for widget in (self.modelCombo, self.epochsSpin, self.samplesSpin, self.batchSpin, self.lrSpin,
                       self.optimizerCombo, self.scheduleCombo, self.weightDecaySpin, self.deviceCombo,
                       self.augmentCheck, self.seedSpin, self.trainButton, self.resumeButton,
                       *self._optionWidgets.values()):
            widget.setEnabled(not running)
        if not running:
            self._enable_options()  # back to the model's own options, not all of them
        self.pauseButton.setEnabled(running)
        self.stopButton.setEnabled(running)
        if not running:
            self.pauseButton.blockSignals(True)
            self.pauseButton.setChecked(False)
            self.pauseButton.setText(self.tr("Pause"))
            self.pauseButton.blockSignals(False)

    def reset_curves(self) -> None:
        for curve in (self.rawLoss, self.smoothLoss, self.trainAccuracy, self.testAccuracy):
            curve.clear()
        self._smoother.reset()
        self._resumed_epochs = 0
        self.progressBar.setValue(0)
        reset_accuracy_axis(self.accuracyPlot)

    def on_started(self, info: FitInfo) -> None:
        self._epochs_total = info.config.epochs
        # The whole run in view from the start: the step axis does not rescale (and repaint) at every update.
        self.lossPlot.setXRange(0, self._epochs_total * info.batches_per_epoch, padding=0.01)
        # Whole epochs on the x axis, the full run in view from the start.
        self.accuracyPlot.setXRange(0.5, self._epochs_total + 0.5, padding=0)
        axis = self.accuracyPlot.getAxis("bottom")
        step = epoch_tick_step(self._epochs_total)
        axis.setTickSpacing(major=step, minor=step)
        text = self.tr("Training {model} ({params} parameters) on {device}: {images} images, {batches} batches per "
                       "epoch").format(model=info.config.model, params=f"{info.params:,}",
                                       device=info.device.type.upper(), images=f"{info.train_samples:,}",
                                       batches=info.batches_per_epoch)
        if self._resumed_epochs:
            text = self.tr("Resumed at epoch {epoch}: {training}").format(epoch=self._resumed_epochs + 1,
                                                                          training=text)
        self.statusLabel.setText(text)

    def add_losses(self, steps: np.ndarray, losses: np.ndarray, latest: BatchMetrics) -> None:
        self.rawLoss.extend(steps, losses)
        smoothed = self._smoother(losses)
        value = float(smoothed[-1])
        self.smoothLoss.extend(steps, smoothed)
        done = ((latest.epoch - 1) * latest.batches_per_epoch + latest.batch) / (
            self._epochs_total * latest.batches_per_epoch)
        self.progressBar.setValue(int(done * 1000))
        if not self.pauseButton.isChecked():
            text = self.tr("Epoch {epoch}/{epochs} · batch {batch}/{batches} · loss {loss} · {speed} samples/s · "
                           "ETA {eta}")
            self.statusLabel.setText(text.format(
                epoch=latest.epoch, epochs=self._epochs_total, batch=latest.batch, batches=latest.batches_per_epoch,
                loss=f"{value:.4f}", speed=f"{latest.samples_per_second:,.0f}", eta=format_eta(latest.eta)))

    def mark_snapshot(self, step: int | None, epoch: float | None) -> None:
        """A line at the replay's step on the loss curve and at its epoch on the accuracy plot (None: hidden)."""
        for mark, x in zip(self.snapshotMarks, (step, epoch), strict=True):
            mark.setVisible(x is not None)
            if x is not None:
                mark.setValue(x)

    def show_record(self, name: str, epochs: list[EpochMetrics], steps_per_epoch: int | None) -> None:
        """How a saved model was trained, from its checkpoint: accuracy per epoch, and each epoch's mean training
        loss at the step it ended (the file keeps no per-batch loss)."""
        self.reset_curves()
        if not epochs:
            self.statusLabel.setText(self.tr("Ready"))
            return
        last = max(m.epoch for m in epochs)
        self.accuracyPlot.setXRange(0.5, last + 0.5, padding=0)
        step = epoch_tick_step(last)
        self.accuracyPlot.getAxis("bottom").setTickSpacing(major=step, minor=step)
        for metrics in epochs:
            self.add_epoch(metrics)
        if steps_per_epoch:
            steps = np.array([m.epoch * steps_per_epoch for m in epochs], np.float64)
            self.smoothLoss.extend(steps, np.array([m.train_loss for m in epochs], np.float64))
            self.lossPlot.setXRange(0, last * steps_per_epoch, padding=0.01)
        self.statusLabel.setText(self.tr("{model} as saved: {epochs} epochs, the accuracy of each and its mean loss "
                                         "(the file keeps no per-batch loss).").format(model=name, epochs=last))

    def add_epoch(self, metrics: EpochMetrics) -> None:
        x = np.array([metrics.epoch], np.float64)
        self.trainAccuracy.extend(x, np.array([metrics.train_accuracy]))
        self.testAccuracy.extend(x, np.array([metrics.test_accuracy]))

    # -- remembered between launches (cnndesk.ui.settings) ---------------------------------------------
    def _form_fields(self) -> dict[str, QWidget]:
        return {"epochs": self.epochsSpin, "samples": self.samplesSpin, "batch": self.batchSpin, "lr": self.lrSpin,
                "optimizer": self.optimizerCombo, "schedule": self.scheduleCombo,
                "weight_decay": self.weightDecaySpin, "device": self.deviceCombo, "seed": self.seedSpin,
                "augment": self.augmentCheck}

    def form_state(self) -> dict[str, object]:
        """The whole form as plain JSON values: the model, all its option widgets, the training recipe."""
        state: dict[str, object] = {"model": self.modelCombo.currentData()}
        state["options"] = {key: self._option_value(key) for key in self._optionWidgets}
        state.update({key: self._widget_value(widget) for key, widget in self._form_fields().items()})
        return state

    def set_form_state(self, state: dict[str, object]) -> None:
        """Set the form from ``form_state()``'s dict, of this or another version: a value the widgets cannot take
        (a model or a device not here, a number out of range, a wrong type) keeps the default, silently."""
        if not isinstance(state, dict):
            return
        # The model first: choosing it applies its recipe, which the saved values then override.
        self._restore_widget(self.modelCombo, state.get("model"))
        options = state.get("options")
        if isinstance(options, dict) and self.modelCombo.currentData() == state.get("model"):  # not another's
            takes = MODELS[self.modelCombo.currentData()].defaults  # the others show what the model has instead
            for key, widget in self._optionWidgets.items():
                if key in takes:
                    self._restore_widget(widget, options.get(key))
        for key, widget in self._form_fields().items():
            self._restore_widget(widget, state.get(key))

    @staticmethod
    def _widget_value(widget: QWidget) -> object:
        if isinstance(widget, QComboBox):
            return widget.currentData()
        if isinstance(widget, QCheckBox):
            return widget.isChecked()
        if isinstance(widget, QSpinBox | QDoubleSpinBox):
            return widget.value()
        raise TypeError(f"no value for {type(widget).__name__}")

    @staticmethod
    def _restore_widget(widget: QWidget, value: object) -> None:
        """Set ``value`` only where it is one of the widget's own: an item of a combo, in a spin box's range."""
        if isinstance(widget, QComboBox):
            index = widget.findData(value) if isinstance(value, str) else -1
            if index >= 0:
                widget.setCurrentIndex(index)
        elif isinstance(widget, QCheckBox):
            if isinstance(value, bool):
                widget.setChecked(value)
        elif isinstance(value, bool):  # a number below; JSON's true is not one
            return
        elif isinstance(widget, QSpinBox):
            if isinstance(value, int) and widget.minimum() <= value <= widget.maximum():
                widget.setValue(value)
        elif (isinstance(widget, QDoubleSpinBox) and isinstance(value, int | float)
              and widget.minimum() <= value <= widget.maximum()):  # NaN compares False: kept out too
            widget.setValue(float(value))
