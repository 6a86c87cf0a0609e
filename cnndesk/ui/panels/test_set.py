"""The Test set tab: evaluate the shown network on the 10,000 MNIST test images (in the background, with progress),
see its confusion matrix, open a cell's images, and make any test image the current input — every view then
explains that very image."""

from __future__ import annotations

import copy

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QSplitter, QVBoxLayout, QWidget

from .base import INSPECT, TRAINING, Panel


def _evaluate(network, state):
    from cnndesk.engine import evaluate, load_splits

    return evaluate(network, load_splits("mnist").test, per_sample=True, progress=state.report_progress,
                    cancelled=lambda: state.cancelled)


class TestSetPanel(Panel):
    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self._widget = QWidget()
        self._widget.setObjectName("testSet")
        self.evaluateButton = QPushButton(self.tr("Evaluate"), objectName="evaluateButton")
        self.evaluateButton.setToolTip(self.tr("Test the model shown on the 10,000 MNIST test images (Ctrl+Shift+E)"))
        self.evaluateButton.setEnabled(False)
        self.evaluateButton.clicked.connect(self.evaluate)
        self.evaluateProgress = QProgressBar(objectName="evaluateProgress", maximum=100, textVisible=False)
        self.evaluateProgress.setMaximumWidth(120)
        self.evaluateProgress.hide()
        self.evaluateResult = QLabel(objectName="evaluateResult")
        self.evaluateResult.setWordWrap(True)
        head = QHBoxLayout()
        head.addWidget(self.evaluateButton)
        head.addWidget(self.evaluateProgress)
        head.addWidget(self.evaluateResult, 1)
        self._split = QSplitter(Qt.Orientation.Horizontal)
        self._layout = QVBoxLayout(self._widget)
        self._layout.setContentsMargins(4, 4, 4, 4)
        self._layout.addLayout(head)
        self._layout.addWidget(self._split, 1)
        self.confusionMatrix = None
        self.testBrowser = None
        self._task = None
        self._pending = False  # asked while the browser was not built yet
        self.add_action(TRAINING, self.tr("&Evaluate on the test set"), self.evaluate, ["Ctrl+Shift+E"],
                        self.tr("Test accuracy, per class, and the confusion matrix"), needs_engine=True)
        self.session.evaluation_changed.connect(self._show_evaluation)
        self.session.snapshot_changed.connect(lambda _index: self._show_evaluation(self.session.evaluation))
        self._widget.installEventFilter(self)

    def widget(self) -> QWidget:
        return self._widget

    def title(self) -> str:
        return self.tr("Test set")

    def engine_ready(self) -> None:
        super().engine_ready()
        self.evaluateButton.setEnabled(True)
        if self._widget.isVisible():
            self._build()
        self._show_evaluation(self.session.evaluation)

    def _build(self) -> None:
        """The matrix and the grid, built when first shown (they need MNIST, read in the background at start)."""
        if self.testBrowser is not None:
            return
        from cnndesk.engine import load_splits
        from cnndesk.ui.test_set_view import ConfusionMatrixView, TestBrowser

        test = load_splits("mnist").test
        self.confusionMatrix = ConfusionMatrixView()
        self.testBrowser = TestBrowser(test.images[:, 0].numpy(), test.labels.numpy())
        self._split.addWidget(self.confusionMatrix)
        self._split.addWidget(self.testBrowser)
        self._split.setStretchFactor(0, 1)
        self._split.setStretchFactor(1, 1)
        self.confusionMatrix.cellClicked.connect(self._open_cell)
        self.testBrowser.imageChosen.connect(self.session.show_test_image)
        self._show_evaluation(self.session.evaluation)

    def evaluate(self) -> None:
        """Evaluate the network shown (a copy: it may keep training) on the task runner."""
        if self.session.predictor is None or (self._task is not None and not self._task.done()):
            return
        self.shell.inspectTabs.setCurrentWidget(self._widget)
        network = copy.deepcopy(self.session.predictor.model)
        self.evaluateButton.setEnabled(False)
        self.evaluateProgress.setValue(0)
        self.evaluateProgress.show()
        self.evaluateResult.setText(self.tr("Testing on 10,000 images…"))
        self._task = self.shell.tasks.submit(
            _evaluate, network, name="evaluate", on_done=self._evaluated, on_error=self._failed,
            on_progress=lambda fraction: self.evaluateProgress.setValue(round(100 * fraction)))

    def _evaluated(self, evaluation) -> None:
        self._task = None
        self.evaluateButton.setEnabled(True)
        self.evaluateProgress.hide()
        self.session.set_evaluation(evaluation)

    def _failed(self, message: str) -> None:
        self._task = None
        self.evaluateButton.setEnabled(True)
        self.evaluateProgress.hide()
        self.evaluateResult.setText(message.split(": ", 1)[-1])

    def _show_evaluation(self, evaluation) -> None:
        snapshot = self._snapshot() if evaluation is None else None
        if snapshot is not None:
            # The replay shows an earlier step: its confusion matrix was measured when the snapshot was taken.
            if self._task is None:
                self.evaluateResult.setText(self.tr(
                    "At step {step} (epoch {epoch}): {accuracy} on the first {images} test images, as measured "
                    "during training. Evaluate tests all 10,000.").format(
                    step=f"{snapshot.step:,}", epoch=f"{snapshot.epoch:.2f}", accuracy=f"{snapshot.test_accuracy:.1%}",
                    images=f"{self.session.history.test_images:,}"))
        elif evaluation is None:
            if self._task is None:
                self.evaluateResult.setText(self.tr("Not evaluated yet: Evaluate tests the model shown."))
        else:
            worst = min(range(10), key=lambda d: evaluation.per_class_accuracy[d])
            self.evaluateResult.setText(self.tr(
                "Test accuracy {accuracy:.2%} · {wrong} mistakes · weakest digit {digit} ({digit_accuracy:.1%}). "
                "Click a cell to see its images.").format(
                accuracy=evaluation.accuracy, wrong=round((1 - evaluation.accuracy) * 10000), digit=worst,
                digit_accuracy=evaluation.per_class_accuracy[worst]))
        if self.testBrowser is not None:
            matrix = evaluation.confusion_matrix if evaluation is not None \
                else snapshot.confusion.tolist() if snapshot is not None else None
            self.confusionMatrix.show_matrix(matrix)
            self.testBrowser.set_evaluation(evaluation)

    def _snapshot(self):
        """The replay's snapshot, if one is shown and it has a confusion matrix."""
        snapshot = self.session.shown_snapshot
        return snapshot if snapshot is not None and snapshot.confusion is not None else None

    def _open_cell(self, true: int, predicted: int) -> None:
        if self.session.evaluation is None:  # a replay snapshot's matrix: its images were never kept one by one
            self.shell.status(self.tr("Evaluate to see the images of a cell (the replay's matrix has counts only)."),
                              6000)
            return
        self.confusionMatrix.mark(true, predicted)
        self.testBrowser.show_cell(true, predicted)

    def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self._widget and event.type() == QEvent.Type.Show and self.shell.engine_ready:
            self._build()
        return False
