"""Training controls, progress, and the live loss and accuracy curves."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt, Signal
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

from cnndesk.engine import MODELS, BatchMetrics, EpochMetrics, FitInfo, TrainConfig, available_devices
from cnndesk.engine.models import ACTIVATIONS
from cnndesk.engine.train import format_duration

from .plotting import pg

SMOOTHING = 0.95  # exponential moving average of the batch loss


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


class LossSmoother:
    """Bias-corrected exponential moving average (as in Adam): follows the loss from the first batch, no lag from 0."""

    def __init__(self, beta: float = SMOOTHING) -> None:
        self.beta = beta
        self.reset()

    def reset(self) -> None:
        self._ema, self._steps = 0.0, 0

    def __call__(self, losses: np.ndarray) -> np.ndarray:
        smoothed = np.empty(len(losses), np.float64)
        for i, loss in enumerate(losses):
            self._ema = self.beta * self._ema + (1 - self.beta) * float(loss)
            self._steps += 1
            smoothed[i] = self._ema / (1 - self.beta**self._steps)
        return smoothed


class TrainingPanel(QWidget):
    startRequested = Signal(object)  # TrainConfig
    pauseToggled = Signal(bool)  # True: pause, False: resume
    stopRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("trainingPanel")
        self._epochs_total = 1
        self._smoother = LossSmoother()

        self.modelCombo = QComboBox(objectName="modelCombo")
        for name, spec in MODELS.items():
            self.modelCombo.addItem(name, name)
            self.modelCombo.setItemData(self.modelCombo.count() - 1, spec.description, Qt.ItemDataRole.ToolTipRole)
        self.epochsSpin = QSpinBox(objectName="epochsSpin", minimum=1, maximum=200)
        self.samplesSpin = QSpinBox(objectName="samplesSpin", minimum=100, maximum=60000, singleStep=1000,
                                    value=60000)
        self.samplesSpin.setToolTip("Train on the first N MNIST training images: fewer is faster, for a quick demo")
        self.batchSpin = QSpinBox(objectName="batchSpin", minimum=1, maximum=8192, singleStep=32)
        self.lrSpin = QDoubleSpinBox(objectName="lrSpin", decimals=5, minimum=1e-5, maximum=10.0, singleStep=0.0005)
        self.activationCombo = QComboBox(objectName="activationCombo")
        for key in ACTIVATIONS:
            self.activationCombo.addItem({"leakyrelu": "LeakyReLU", "relu": "ReLU"}.get(key, key.capitalize()), key)
        self.weightDecaySpin = QDoubleSpinBox(objectName="weightDecaySpin", decimals=5, minimum=0.0, maximum=1.0,
                                              singleStep=0.0001)
        self.optimizerCombo = QComboBox(objectName="optimizerCombo")
        self.optimizerCombo.addItem("Adam", "adam")
        self.optimizerCombo.addItem("AdamW", "adamw")
        self.optimizerCombo.addItem("SGD + momentum", "sgd")
        self.scheduleCombo = QComboBox(objectName="scheduleCombo")
        for label, key in [("OneCycle", "onecycle"), ("Cosine", "cosine"), ("Step", "step"), ("Constant", "constant")]:
            self.scheduleCombo.addItem(label, key)
        self.deviceCombo = QComboBox(objectName="deviceCombo")
        for device in available_devices():
            self.deviceCombo.addItem(device.upper() if device != "auto" else "Auto", device)
        self.augmentCheck = QCheckBox("Augment (small affine)", objectName="augmentCheck", checked=True)

        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Model", self.modelCombo)
        form.addRow("Activation", self.activationCombo)
        form.addRow("Epochs", self.epochsSpin)
        form.addRow("Training images", self.samplesSpin)
        form.addRow("Batch size", self.batchSpin)
        form.addRow("Learning rate", self.lrSpin)
        form.addRow("Optimizer", self.optimizerCombo)
        form.addRow("Schedule", self.scheduleCombo)
        form.addRow("Weight decay", self.weightDecaySpin)
        form.addRow("Device", self.deviceCombo)
        form.addRow("", self.augmentCheck)

        self.trainButton = QPushButton("Train", objectName="trainButton")
        self.trainButton.setToolTip("Train a fresh model on MNIST (Ctrl+T)")
        self.pauseButton = QPushButton("Pause", objectName="pauseButton", checkable=True, enabled=False)
        self.stopButton = QPushButton("Stop", objectName="stopButton", enabled=False)
        buttons = QHBoxLayout()
        for button in (self.trainButton, self.pauseButton, self.stopButton):
            buttons.addWidget(button)

        self.progressBar = QProgressBar(objectName="progressBar", minimum=0, maximum=1000, value=0)
        self.progressBar.setTextVisible(False)
        self.statusLabel = QLabel("Ready", objectName="trainingStatus")
        self.statusLabel.setWordWrap(True)

        controls = QVBoxLayout()
        controls.addLayout(form)
        controls.addLayout(buttons)
        controls.addWidget(self.progressBar)
        controls.addWidget(self.statusLabel)
        controls.addStretch(1)
        controls_widget = QWidget()
        controls_widget.setLayout(controls)
        controls_widget.setMaximumWidth(330)

        # (PlotWidget passes unknown keyword arguments on to a plot() call: set objectName separately.)
        self.lossPlot = pg.PlotWidget(title="Loss per batch")
        self.lossPlot.setObjectName("lossPlot")
        self.lossPlot.setLabel("bottom", "step")
        # No grid: pyqtgraph draws grid lines as part of the axes, so every curve update would repaint both axes
        # with all their text (the largest GUI-thread cost while training).
        self.lossPlot.setClipToView(True)
        self.lossPlot.setDownsampling(auto=True, mode="peak")
        self.lossPlot.addLegend(offset=(-10, 10))
        self.rawLoss = GrowingCurve(self.lossPlot.plot(pen=pg.mkPen((150, 170, 210), width=1), name="raw"))
        self.smoothLoss = GrowingCurve(self.lossPlot.plot(pen=pg.mkPen((30, 70, 160), width=2), name="smoothed"))

        self.accuracyPlot = pg.PlotWidget(title="Accuracy per epoch")
        self.accuracyPlot.setObjectName("accuracyPlot")
        self.accuracyPlot.setLabel("bottom", "epoch")
        self.accuracyPlot.addLegend(offset=(-10, -10))
        self.trainAccuracy = GrowingCurve(self.accuracyPlot.plot(
            pen=pg.mkPen((40, 140, 60), width=2), symbol="o", symbolSize=6, symbolBrush=(40, 140, 60), name="train"))
        self.testAccuracy = GrowingCurve(self.accuracyPlot.plot(
            pen=pg.mkPen((214, 96, 40), width=2), symbol="s", symbolSize=6, symbolBrush=(214, 96, 40), name="test"))
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
        self._apply_recipe()

    # -- configuration ---------------------------------------------------------------------------------
    def _apply_recipe(self) -> None:
        """Each model comes with the recipe that trains it well."""
        name = self.modelCombo.currentData()
        config = TrainConfig.for_model(name)
        activation = MODELS[name].defaults.get("activation", "relu")
        self.activationCombo.setCurrentIndex(self.activationCombo.findData(activation))
        self.weightDecaySpin.setValue(config.weight_decay)
        self.epochsSpin.setValue(config.epochs)
        self.batchSpin.setValue(config.batch_size)
        self.lrSpin.setValue(config.lr)
        self.optimizerCombo.setCurrentIndex(self.optimizerCombo.findData(config.optimizer))
        self.scheduleCombo.setCurrentIndex(self.scheduleCombo.findData(config.schedule))
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
        )
        config.model_options = {"activation": self.activationCombo.currentData()}
        config.augment = self.augmentCheck.isChecked()
        return config

    def _request_start(self) -> None:
        self.startRequested.emit(self.config())

    def _toggle_pause(self, paused: bool) -> None:
        self.pauseButton.setText("Resume" if paused else "Pause")
        self.pauseToggled.emit(paused)
        if paused:
            self.statusLabel.setText("Paused — " + self.statusLabel.text())

    # -- run state -------------------------------------------------------------------------------------
    def set_running(self, running: bool) -> None:
        for widget in (self.modelCombo, self.activationCombo, self.epochsSpin, self.samplesSpin, self.batchSpin,
                       self.lrSpin, self.optimizerCombo, self.scheduleCombo, self.weightDecaySpin, self.deviceCombo,
                       self.augmentCheck, self.trainButton):
            widget.setEnabled(not running)
        self.pauseButton.setEnabled(running)
        self.stopButton.setEnabled(running)
        if not running:
            self.pauseButton.blockSignals(True)
            self.pauseButton.setChecked(False)
            self.pauseButton.setText("Pause")
            self.pauseButton.blockSignals(False)

    def reset_curves(self) -> None:
        for curve in (self.rawLoss, self.smoothLoss, self.trainAccuracy, self.testAccuracy):
            curve.clear()
        self._smoother.reset()
        self.progressBar.setValue(0)

    def on_started(self, info: FitInfo) -> None:
        self._epochs_total = info.config.epochs
        # The whole run in view from the start: the step axis does not rescale (and repaint) at every update.
        self.lossPlot.setXRange(0, self._epochs_total * info.batches_per_epoch, padding=0.01)
        # Whole epochs on the x axis, the full run in view from the start.
        self.accuracyPlot.setXRange(0.5, self._epochs_total + 0.5, padding=0)
        axis = self.accuracyPlot.getAxis("bottom")
        step = max(1, self._epochs_total // 10)
        axis.setTickSpacing(major=step, minor=step)
        self.statusLabel.setText(
            f"Training {info.config.model} ({info.params:,} parameters) on {info.device.type.upper()}: "
            f"{info.train_samples:,} images, {info.batches_per_epoch} batches per epoch"
        )

    def add_losses(self, steps: np.ndarray, losses: np.ndarray, latest: BatchMetrics) -> None:
        self.rawLoss.extend(steps, losses)
        smoothed = self._smoother(losses)
        value = float(smoothed[-1])
        self.smoothLoss.extend(steps, smoothed)
        done = ((latest.epoch - 1) * latest.batches_per_epoch + latest.batch) / (
            self._epochs_total * latest.batches_per_epoch)
        self.progressBar.setValue(int(done * 1000))
        if not self.pauseButton.isChecked():
            self.statusLabel.setText(
                f"Epoch {latest.epoch}/{self._epochs_total} · batch {latest.batch}/{latest.batches_per_epoch} · "
                f"loss {value:.4f} · {latest.samples_per_second:,.0f} samples/s · ETA {format_duration(latest.eta)}"
            )

    def add_epoch(self, metrics: EpochMetrics) -> None:
        x = np.array([metrics.epoch], np.float64)
        self.trainAccuracy.extend(x, np.array([metrics.train_accuracy]))
        self.testAccuracy.extend(x, np.array([metrics.test_accuracy]))
