"""The bridge between the engine's training loop and the GUI thread.

``TrainingWorker`` runs ``engine.fit`` in a ``QThread`` and turns its events into coalesced Qt signals: batch
losses ten times a second (the latest progress wins), weight snapshots (CPU clones) twice a second.
``TrainingRunner`` owns the thread's life: start, pause, stop, and a bounded join on shutdown.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from cnndesk.engine import (
    BatchMetrics,
    EpochMetrics,
    FitInfo,
    FitResult,
    TrainConfig,
    TrainingCallback,
    TrainingControl,
    fit,
    save_checkpoint,
    snapshot_weights,
)
from cnndesk.engine.errors import CnndeskError
from cnndesk.runs import RunMarker, clear_marker, mark_run

# Torch's own choice of intra-op threads (the physical cores), read before the GUI thread lowers its own count:
# the trainer keeps the machine's cores. CNNDESK_TRAIN_THREADS overrides it, for measuring.
TRAIN_THREADS = torch.get_num_threads()


def _train_threads() -> int:
    return int(os.environ.get("CNNDESK_TRAIN_THREADS") or TRAIN_THREADS)


METRICS_INTERVAL = 0.1  # seconds between metric signals: 10 repaints of the curves a second look live
# Seconds between weight snapshots for the live prediction. Each one repaints every view on the GUI thread, and on a
# 2-core machine any GUI work stalls the trainer's threads: twice a second still shows the network learning, and
# trains ~13% faster than four times (measured in the GUI, LeNet5, batch 128).
SNAPSHOT_INTERVAL = 0.5


@dataclass(frozen=True)
class LossChunk:
    """Batch losses since the last signal, plus the latest progress."""

    steps: np.ndarray
    losses: np.ndarray
    latest: BatchMetrics


@dataclass(frozen=True)
class TrainingOutcome:
    result: FitResult
    checkpoint: Path | None  # where the trained model was saved automatically


class _SignalBridge(TrainingCallback):
    """Runs on the training thread; emits throttled signals through the worker."""

    def __init__(self, worker: TrainingWorker) -> None:
        self.worker = worker
        self.model = None
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.latest: BatchMetrics | None = None
        self.last_emit = 0.0
        self.last_snapshot = 0.0

    def on_fit_start(self, info: FitInfo) -> None:
        self.model = info.model
        self.worker.started.emit(info)
        self.snapshot()  # a resumed run shows its trained weights at once, not a fresh model's

    def on_batches(self, batches: Sequence[BatchMetrics]) -> None:
        for b in batches:
            self.steps.append(b.step)
            self.losses.append(b.loss)
        self.latest = batches[-1]
        now = time.monotonic()
        if now - self.last_emit >= METRICS_INTERVAL:
            self.flush()
        if now - self.last_snapshot >= SNAPSHOT_INTERVAL:
            self.snapshot()

    def on_epoch_end(self, metrics: EpochMetrics) -> None:
        self.flush()
        self.worker.epochDone.emit(metrics)
        self.snapshot()

    def on_fit_end(self, result: FitResult) -> None:
        self.flush()

    def flush(self) -> None:
        if self.latest is None or not self.steps:
            return
        chunk = LossChunk(np.asarray(self.steps), np.asarray(self.losses, np.float32), self.latest)
        self.steps, self.losses = [], []
        self.last_emit = time.monotonic()
        self.worker.metrics.emit(chunk)

    def snapshot(self) -> None:
        if self.model is not None:
            self.last_snapshot = time.monotonic()
            self.worker.weights.emit(snapshot_weights(self.model))


class TrainingWorker(QObject):
    started = Signal(object)  # FitInfo
    metrics = Signal(object)  # LossChunk
    epochDone = Signal(object)  # EpochMetrics
    weights = Signal(object)  # dict[str, Tensor], CPU clones
    finished = Signal(object)  # TrainingOutcome
    failed = Signal(str)

    def __init__(self, config: TrainConfig, control: TrainingControl, autosave_path: Path | None,
                 resume_from: Path | None = None) -> None:
        super().__init__()
        self.config = config
        self.control = control
        self.autosave_path = autosave_path
        self.resume_from = resume_from

    @Slot()
    def run(self) -> None:
        # Thread counts are per thread in torch: set this one's, whatever the GUI thread chose for its own.
        torch.set_num_threads(_train_threads())
        try:
            result = fit(self.config, callbacks=[_SignalBridge(self)], control=self.control,
                         autosave_path=self.autosave_path, resume_from=self.resume_from)
            path = None
            if self.autosave_path is not None and result.resume_state is None and result.epochs_completed > 0:
                # Stopped mid-epoch: keep the autosave of the last whole epoch, which a resume can continue.
                path = self.autosave_path
            elif self.autosave_path is not None and result.epochs_completed + int(result.stopped) > 0:
                path = save_checkpoint(result.model, self.autosave_path, self.config.to_dict(), result.metrics(),
                                       resume=result.resume_state)
            self.finished.emit(TrainingOutcome(result, path))
        except CnndeskError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # exceptions never cross threads: report and end cleanly
            self.failed.emit(f"{type(exc).__name__}: {exc}")


class TrainingRunner(QObject):
    """Starts a worker thread per run and always joins it; re-emits the worker's signals."""

    started = Signal(object)
    metrics = Signal(object)
    epochDone = Signal(object)
    weights = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._control: TrainingControl | None = None
        self._marker: RunMarker | None = None
        self._interactive = False

    def is_running(self) -> bool:
        return self._thread is not None

    def is_paused(self) -> bool:
        return self._control is not None and self._control.paused

    def start(self, config: TrainConfig, autosave_path: Path | None = None, resume_from: Path | None = None) -> None:
        """Train ``config`` in a new thread; ``resume_from`` continues that checkpoint's run (see engine.fit).

        A run that autosaves leaves a marker in the user data folder until it ends, so that the next launch can
        offer to restore it if cnndesk does not get to end it (crash, kill).
        """
        if self._thread is not None:
            raise RuntimeError("A training run is already in progress.")
        if autosave_path is not None:
            try:
                self._marker = mark_run(autosave_path, config.model)
            except OSError:
                self._marker = None  # crash restore is a safety net: a read-only data folder must not stop training
        self._control = TrainingControl()
        self.set_interactive(self._interactive)  # a run started mid-stroke
        thread = QThread()
        thread.setObjectName("cnndesk-training")
        worker = TrainingWorker(config, self._control, autosave_path, resume_from)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.started.connect(self.started)
        worker.metrics.connect(self.metrics)
        worker.epochDone.connect(self.epochDone)
        worker.weights.connect(self.weights)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.finished.connect(thread.quit)
        worker.failed.connect(thread.quit)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()
        self.runningChanged.emit(True)

    def set_interactive(self, active: bool) -> None:
        """While ``active`` (a pen on the canvas), training leaves one core to the GUI thread.

        With every core training, a view refresh waits for the CPU behind the trainer's threads: on 2 cores the
        drawing feedback's p95 while training was ~31 ms with both threads, ~20 ms with one.
        """
        self._interactive = active
        if self._control is not None:
            self._control.limit_threads(_train_threads() - 1 if active else None)

    def pause(self) -> None:
        if self._control is not None:
            self._control.pause()

    def resume(self) -> None:
        if self._control is not None:
            self._control.resume()

    def stop(self) -> None:
        if self._control is not None:
            self._control.stop()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Stop and join the worker thread (window closing, app quitting). True if it ended."""
        if self._thread is None:
            return True
        self.stop()
        thread = self._thread
        thread.quit()
        ended = thread.wait(timeout_ms)
        if ended:
            self._on_thread_finished()
        return ended

    @Slot(object)
    def _on_finished(self, outcome: TrainingOutcome) -> None:
        self.finished.emit(outcome)

    @Slot(str)
    def _on_failed(self, message: str) -> None:
        self.failed.emit(message)

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        thread, worker = self._thread, self._worker
        self._thread = self._worker = self._control = None
        if self._marker is not None:  # the run ended here, normally: nothing to restore at the next launch
            clear_marker(self._marker)
            self._marker = None
        if worker is not None:
            worker.deleteLater()
        thread.deleteLater()
        self.runningChanged.emit(False)
