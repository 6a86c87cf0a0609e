"""The bridge between the session's RunController and the GUI thread.

``TrainingWorker`` runs a queue of runs in a ``QThread`` (the same RunController as ``cnndesk train`` and
``cnndesk compare``: one save rule) and turns the engine's events into coalesced Qt signals: batch losses ten times
a second (the latest progress wins), weight snapshots (CPU clones) twice a second, layer health about once a second.
``TrainingRunner`` owns the thread's life: start, pause, stop, and a bounded join on shutdown.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from PySide6.QtCore import QObject, QThread, Signal, Slot

from cnndesk.engine import BatchMetrics, EpochMetrics, FitInfo, FitResult, TrainingCallback, snapshot_weights
from cnndesk.engine.health import LayerHealthMonitor
from cnndesk.session.runs import FAILED, RunController, RunOutcome, RunPlan, RunQueue

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
# Seconds between layer-health samples: the monitor measures one training step this often, and each sample is one
# signal (the monitor is its own throttle). A sampled LeNet5 step (batch 128, 2-core CPU) takes ~2 ms longer: ~0.2%
# of the run at one a second, ~0.4% at two (two, so that a run of a few seconds still draws its curves).
HEALTH_INTERVAL = 0.5


def release_free_heap() -> None:
    """Hand the C heap's free memory back to the system (glibc; elsewhere nothing is done).

    A run frees its tensors as it ends, but glibc keeps freed heap for later: over 100 cycles of scripts/soak.py
    (a few runs each) the window's RSS grew by 78–161 MB; trimmed at the end of each run, by 12–37 MB (trimmed
    after every cycle, by nothing: no leak). It takes well under a millisecond.
    """
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):  # not glibc (musl): no malloc_trim
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)


@dataclass(frozen=True)
class LossChunk:
    """Batch losses since the last signal, plus the latest progress."""

    steps: np.ndarray
    losses: np.ndarray
    latest: BatchMetrics


class _SignalBridge(TrainingCallback):
    """Runs on the training thread; emits throttled signals through the worker."""

    def __init__(self, worker: TrainingWorker) -> None:
        self.worker = worker
        self.model = None
        self.loop = None  # the FitLoop: its recorder holds the run's history
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.latest: BatchMetrics | None = None
        self.last_emit = 0.0
        self.last_snapshot = 0.0

    def on_fit_start(self, info: FitInfo) -> None:
        self.model = info.model
        self.loop = info.loop
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

    def on_snapshot(self, snapshot) -> None:
        """A snapshot for the replay: the history so far goes to the window (immutable: safe to hand over)."""
        recorder = self.loop.recorder if self.loop is not None else None
        if recorder is not None:
            self.worker.history.emit(recorder.history)

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
    """Runs a queue of runs (a Train click is a queue of one) through the session's RunController."""

    runStarted = Signal(object)  # RunPlan, before it trains
    started = Signal(object)  # FitInfo, once its data and model are ready
    metrics = Signal(object)  # LossChunk
    epochDone = Signal(object)  # EpochMetrics
    weights = Signal(object)  # dict[str, Tensor], CPU clones
    history = Signal(object)  # TrainingHistory: the run's snapshots so far, for the replay
    health = Signal(object)  # HealthSample (cnndesk.engine.health), about once a second
    runFinished = Signal(object)  # RunOutcome: every run ends with one, failures included
    finished = Signal()  # the queue ended

    def __init__(self, controller: RunController, queue: RunQueue, ready: threading.Event | None = None,
                 cancelled: threading.Event | None = None) -> None:
        super().__init__()
        self.controller = controller
        self.queue = queue
        self.ready = ready  # set once the app's background imports are done (see MainWindow)
        self.cancelled = cancelled or threading.Event()  # stopped before the queue began

    @Slot()
    def run(self) -> None:
        try:
            # Training imports torch.optim (and so torch._dynamo): never while another thread is importing it.
            while self.ready is not None and not self.ready.wait(0.05):
                if self.cancelled.is_set():
                    return
            if self.cancelled.is_set():
                return
            # Thread counts are per thread in torch: set this one's, whatever the GUI thread chose for its own.
            torch.set_num_threads(_train_threads())
            self.controller.run_queue(self.queue, callbacks_for=self._callbacks, on_start=self.runStarted.emit,
                                      on_outcome=self.runFinished.emit)
        finally:  # exceptions never cross threads: run_queue reports each run's failure as its outcome
            self.finished.emit()

    def _callbacks(self, plan: RunPlan) -> list[TrainingCallback]:
        """Each run's observers, on the training thread: the signal bridge and the layer-health monitor."""
        return [_SignalBridge(self), LayerHealthMonitor(every_s=HEALTH_INTERVAL, on_sample=self.health.emit)]


class TrainingRunner(QObject):
    """Starts a worker thread per queue and always joins it; re-emits the worker's signals on the GUI thread."""

    runStarted = Signal(object)
    started = Signal(object)
    metrics = Signal(object)
    epochDone = Signal(object)
    weights = Signal(object)
    history = Signal(object)  # TrainingHistory, after each snapshot the run keeps
    health = Signal(object)  # HealthSample, about once a second
    finished = Signal(object)  # RunOutcome, at the end of every run (a failed one included)
    failed = Signal(str)  # why a run failed (after its ``finished``)
    queueFinished = Signal()
    runningChanged = Signal(bool)

    def __init__(self, parent: QObject | None = None, controller: RunController | None = None,
                 ready: threading.Event | None = None) -> None:
        super().__init__(parent)
        self.controller = controller or RunController()
        self._ready = ready  # runs wait for it before they start
        self._thread: QThread | None = None
        self._worker: TrainingWorker | None = None
        self._cancelled = threading.Event()
        self._interactive = False

    def is_running(self) -> bool:
        return self._thread is not None

    def is_paused(self) -> bool:
        return self.controller.paused

    def start(self, plan: RunPlan) -> None:
        """Train one run in a new thread."""
        self.start_queue(RunQueue([plan]))

    def start_queue(self, queue: RunQueue) -> None:
        """Train the queue's runs one after another in a new thread; a run that does not succeed ends it."""
        if self._thread is not None:
            raise RuntimeError("A training run is already in progress.")
        self.controller.resume()  # a new queue starts unpaused
        self.set_interactive(self._interactive)  # a run started mid-stroke
        thread = QThread()
        thread.setObjectName("cnndesk-training")
        self._cancelled = threading.Event()
        worker = TrainingWorker(self.controller, queue, self._ready, self._cancelled)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        for name in ("runStarted", "started", "metrics", "epochDone", "weights", "history", "health"):
            getattr(worker, name).connect(getattr(self, name))
        worker.runFinished.connect(self._on_run_finished)
        worker.finished.connect(thread.quit)
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
        self.controller.limit_threads(_train_threads() - 1 if active else None)

    def pause(self) -> None:
        self.controller.pause()

    def resume(self) -> None:
        self.controller.resume()

    def stop(self) -> None:
        """Stop the run in progress after its batch; the rest of its queue stays queued."""
        self._cancelled.set()  # a queue still waiting to begin does not begin
        self.controller.stop()

    def shutdown(self, timeout_ms: int = 15000) -> bool:
        """Stop and join the worker thread (window closing, app quitting). True if it ended."""
        if self._thread is None:
            return True
        self.stop()
        self.controller.resume()  # a paused run must wake up to stop
        thread = self._thread
        thread.quit()  # its event loop ends once the run returns (the queued quit would wait for this thread)
        ended = thread.wait(timeout_ms)
        if ended:
            self._on_thread_finished()
        return ended

    @Slot(object)
    def _on_run_finished(self, outcome: RunOutcome) -> None:
        self.finished.emit(outcome)
        if outcome.status == FAILED:
            self.failed.emit(outcome.error or "")

    @Slot()
    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        thread, worker = self._thread, self._worker
        self._thread = self._worker = None
        if worker is not None:
            worker.deleteLater()
        thread.deleteLater()
        self.queueFinished.emit()
        self.runningChanged.emit(False)
        release_free_heap()  # what the runs freed, now that their thread has ended
