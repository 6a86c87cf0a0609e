"""One runner for the background jobs that are not training: importing PyTorch, preloading MNIST, and next
evaluation, attribution, export.

A task is a plain function (Orange3's shape). If it has a parameter named ``state`` it receives a ``TaskState``:
``state.cancelled`` to poll, ``state.report_progress(fraction)``. It never touches a widget. Its result or its
exception comes back on the GUI thread through a queued signal, so callbacks may touch widgets; an exception is
caught in the worker thread and delivered as a message, never printed as a thread traceback.

Tasks run one at a time, in submission order: PyTorch's imports must not race (two threads importing
``torch._dynamo`` at once, or one importing while another uses torch, fails with "operator ... does not exist").
``submit(..., exclusive=False)`` lets a task that imports nothing new run beside them.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

from PySide6.QtCore import QObject, Qt, QThread, QThreadPool, Signal, Slot

log = logging.getLogger(__name__)

Status = Literal["pending", "running", "done", "failed", "cancelled"]
PROGRESS_STEP = 0.01  # a progress change smaller than this is not worth a repaint (Orange3 coalesces the same way)
MAX_THREADS = 4  # the serial lane plus a few exclusive=False tasks


class TaskState:
    """What a running task sees: a flag to poll and a progress reporter (safe to call from the task's thread)."""

    def __init__(self, task: Task) -> None:
        self._task = task
        self._last_progress = -1.0

    @property
    def cancelled(self) -> bool:
        return self._task.cancelled

    def report_progress(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if abs(fraction - self._last_progress) < PROGRESS_STEP and fraction not in (0.0, 1.0):
            return
        if fraction == self._last_progress:
            return
        self._last_progress = fraction
        self._task._runner._post("progress", self._task, fraction)


class Task:
    """A submitted job: its name, where it stands, a cancel flag and a way to wait for it."""

    def __init__(self, runner: TaskRunner, fn: Callable[..., Any], args: tuple, name: str, exclusive: bool,
                 on_done: Callable[[Any], None] | None, on_error: Callable[[str], None] | None,
                 on_progress: Callable[[float], None] | None) -> None:
        self.name = name
        self.exclusive = exclusive
        self.status: Status = "pending"
        self.error: str | None = None  # "Type: message" once it failed
        self._runner = runner
        self._fn, self._args = fn, args
        self._on_done, self._on_error, self._on_progress = on_done, on_error, on_progress
        self._cancel = threading.Event()
        self._ended = threading.Event()  # set once the function returned, raised, or will never run

    def __repr__(self) -> str:
        return f"<Task {self.name!r} {self.status}>"

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def cancel(self) -> None:
        """Ask the task to stop: one not started never runs; a running one sees ``state.cancelled``."""
        self._runner._cancel(self)

    def done(self) -> bool:
        return self._ended.is_set()

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the task's function has returned (or it was cancelled before starting). True if so."""
        return self._ended.wait(timeout_s)


class TaskRunner(QObject):
    """Runs tasks on a private thread pool and delivers their outcomes on the thread the runner lives in."""

    failed = Signal(str)  # "name: Type: message" of a task that failed and had no on_error
    _event = Signal(object)  # (kind, task, payload), emitted from worker threads, delivered queued

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(MAX_THREADS)
        # A thread ends with its task. An idle pool thread that ran PyTorch keeps its OpenMP worker team, and on a
        # 2-core machine that slowed the training thread's steps by a third until the thread expired (30 s).
        self._pool.setExpiryTimeout(0)
        self._lock = threading.Lock()  # guards the queue, the statuses and the serial lane (worker threads too)
        self._queue: deque[Task] = deque()  # exclusive tasks not yet handed to the pool
        self._serial: Task | None = None  # the exclusive task handed to the pool (pending or running)
        self._running: list[Task] = []
        self._closed = False
        # Queued even if emitted on this thread: a callback never runs inside the worker, nor inside submit().
        self._event.connect(self._deliver, Qt.ConnectionType.QueuedConnection)

    # -- public ------------------------------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], *args: Any, name: str = "", exclusive: bool = True,
               on_done: Callable[[Any], None] | None = None, on_error: Callable[[str], None] | None = None,
               on_progress: Callable[[float], None] | None = None) -> Task:
        """Run ``fn(*args)`` (plus ``state=`` if it takes one) in the background.

        ``exclusive`` tasks run one at a time in submission order; ``exclusive=False`` ones start at once, beside
        them. Callbacks run on the GUI thread; ``on_error`` gets "Type: message". A task submitted after
        ``shutdown()`` is cancelled at once and never runs.
        """
        task = Task(self, fn, args, name or getattr(fn, "__name__", "task"), exclusive, on_done, on_error,
                    on_progress)
        with self._lock:
            if self._closed:
                self._end_unstarted(task)
                return task
            if not exclusive:
                start = task
            else:
                self._queue.append(task)
                start = self._next_serial() if self._serial is None else None
        if start is not None:
            self._pool.start(partial(self._run, start))
        return task

    def active(self) -> list[Task]:
        """The tasks whose function is running now."""
        with self._lock:
            return list(self._running)

    def pending(self) -> list[Task]:
        """The tasks submitted and not yet started, in the order they will start (exclusive ones)."""
        with self._lock:
            waiting = [self._serial] if self._serial is not None and self._serial.status == "pending" else []
            return waiting + list(self._queue)

    def is_idle(self) -> bool:
        """No task running or waiting, and no pool thread busy (for tests and shutdown checks)."""
        return not self.active() and not self.pending() and self._pool.activeThreadCount() == 0

    def shutdown(self, timeout_s: float | None = 10.0) -> bool:
        """Cancel what has not started, flag the running tasks, and wait for them at most ``timeout_s`` seconds
        (None: as long as it takes). No callback runs after this. True if nothing is left running. Idempotent."""
        with self._lock:
            self._closed = True
            unstarted = list(self._queue)
            self._queue.clear()
            if self._serial is not None and self._serial.status == "pending":
                unstarted.append(self._serial)  # handed to the pool, not begun: _run sees it ended and skips it
            for task in unstarted:
                self._end_unstarted(task)
            running = list(self._running)
        for task in running:
            task._cancel.set()
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        for task in running:
            if not task.wait(None if deadline is None else max(0.0, deadline - time.monotonic())):
                return False
        # The functions have returned; let their threads finish posting (waitForDone releases the GIL).
        left_ms = -1 if deadline is None else max(0, round((deadline - time.monotonic()) * 1000))
        return self._pool.waitForDone(left_ms) and not self.active()

    # -- worker side ---------------------------------------------------------------------------------------
    def _run(self, task: Task) -> None:
        """In a pool thread: run one task, post its outcome, then hand the serial lane to the next task."""
        with self._lock:
            start = task.status == "pending"  # cancelled (or shut down) while it waited in the pool's queue
            if start:
                task.status = "running"
                self._running.append(task)
        if start:
            QThread.currentThread().setObjectName(f"cnndesk-task-{task.name}")
            kind, payload = "done", None
            try:
                payload = task._fn(*task._args, **_state_kwarg(task))
            except BaseException as exc:  # any exception ends here, as a message, not as a thread traceback
                kind, payload = "error", f"{type(exc).__name__}: {exc}"
                log.debug("task %s failed", task.name, exc_info=True)
            task._fn, task._args = _ran, ()  # let go of what it was given (a model, an image) as it ends
            with self._lock:
                self._running.remove(task)
                if task.cancelled:
                    task.status = "cancelled"  # what a cancelled task returned is not delivered
                else:
                    task.status = "done" if kind == "done" else "failed"
                    task.error = payload if kind == "error" else None
            task._ended.set()
            if task.status != "cancelled":
                self._post(kind, task, payload)
        following = None
        if task.exclusive:
            with self._lock:
                if self._serial is task:
                    self._serial = None
                    following = self._next_serial()
        if following is not None:
            self._pool.start(partial(self._run, following))

    def _next_serial(self) -> Task | None:
        """Take the next exclusive task off the queue as the lane's task (the lock is held)."""
        while self._queue:
            task = self._queue.popleft()
            if task.status == "pending":
                self._serial = task
                return task
        return None

    def _end_unstarted(self, task: Task) -> None:
        task._cancel.set()
        task.status = "cancelled"
        task._ended.set()

    def _cancel(self, task: Task) -> None:
        with self._lock:
            task._cancel.set()
            if task.status != "pending":
                return
            self._end_unstarted(task)
            if task in self._queue:
                self._queue.remove(task)
            # One already handed to the pool is skipped by _run, which then moves the serial lane on.

    def _post(self, kind: str, task: Task, payload: Any) -> None:
        # RuntimeError: the runner's C++ side is gone (its window was deleted): nobody to tell.
        with contextlib.suppress(RuntimeError):
            self._event.emit((kind, task, payload))

    # -- GUI side --------------------------------------------------------------------------------------
    @Slot(object)
    def _deliver(self, event: tuple[str, Task, Any]) -> None:
        kind, task, payload = event
        if self._closed:
            return  # the window is closing: its callbacks must not rebuild anything
        if kind == "progress":
            if task._on_progress is not None and not task.cancelled:
                task._on_progress(payload)
        elif kind == "done":
            if task._on_done is not None:
                task._on_done(payload)
        elif task._on_error is not None:
            task._on_error(payload)
        else:
            self.failed.emit(f"{task.name}: {payload}")


def _ran() -> None:
    """Stands in for a task's function once it has run."""


def _state_kwarg(task: Task) -> dict[str, TaskState]:
    """``{"state": TaskState}`` if the task's function takes a ``state`` parameter, else nothing."""
    try:
        takes_state = "state" in inspect.signature(task._fn).parameters
    except (TypeError, ValueError):  # a builtin without a signature
        takes_state = False
    return {"state": TaskState(task)} if takes_state else {}
