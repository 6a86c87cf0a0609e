"""Training runs, for the command line and the window alike: plan one, run it, save it by one rule, queue them.

The rule, written once: **what is shown is what is saved.** A run writes its checkpoint after every whole epoch
(resumable), with its training history (weight snapshots) up to that epoch. When it ends:

- finished, or the target reached: the trained model is saved and becomes the current model;
- stopped (Stop, Ctrl+C) or diverged: the file keeps the last whole epoch, and that file's model, not the weights
  of the half-trained epoch, becomes the current model; before any whole epoch nothing is written and the previous
  model stays;
- failed: nothing more is written; the file, if any, keeps its last good epoch.

A diverged or failed run never overwrites a checkpoint with weights that are not numbers. Checkpoints of new runs
are named after what they hold (``lenet5-2026-11-29-1405-99.12.safetensors``).

``RunController`` runs on the calling thread (the command line's, or the window's training thread); its
``stop``/``pause``/``resume``/``limit_threads`` may be called from any thread.
"""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cnndesk.errors import CnndeskError
from cnndesk.locations import DATA_DIR_VARIABLE, checkpoints_dir, writable_data_dir

from . import markers

if TYPE_CHECKING:
    from cnndesk.engine import FitResult, Network, ResumePoint, Splits, TrainConfig, TrainingCallback

# How a run ended (RunOutcome.status).
FINISHED = "finished"  # every epoch trained
TARGET = "target"  # the target accuracy was reached
STOPPED = "stopped"  # stopped by the user; the file keeps the last whole epoch
NOTHING_SAVED = "nothing-saved"  # stopped before the first whole epoch: nothing written, the previous model stays
DIVERGED = "diverged"  # the loss stopped being a number; the file (if any) keeps the last good epoch
FAILED = "failed"  # an error ended it
SUCCESSFUL = (FINISHED, TARGET)

# "lenet5-2026-11-29-1405", then optionally the accuracy ("-99.12") and a number that keeps names unique ("-2").
NAME_PATTERN = re.compile(r"^(?P<model>.+?)-(?P<stamp>\d{4}-\d{2}-\d{2}-\d{4})(?:-\d{1,3}\.\d{2})?(?:-\d+)?$")


@dataclass(frozen=True)
class RunPlan:
    """A run about to start: its settings, and whether it continues a checkpoint's run."""

    config: TrainConfig
    resume: ResumePoint | None = None  # continue this checkpoint's run; it goes on saving into the same file
    out: Path | None = None  # save here; None: a new file named after the run in the checkpoints folder
    init_from: Path | None = None  # start from these weights with a fresh optimizer (fine-tuning)
    save: bool = True  # False: train and report only (comparisons on the command line)

    @property
    def resume_from(self) -> Path | None:
        return self.resume.path if self.resume is not None else None


def new_run(config: TrainConfig, out: str | Path | None = None, init_from: str | Path | None = None,
            save: bool = True) -> RunPlan:
    """A fresh run of ``config`` (checked now, before anything starts)."""
    config.validate()
    return RunPlan(config, None, Path(out) if out else None, Path(init_from) if init_from else None, save)


def resume_run(path: str | Path, device: str | None = None) -> RunPlan:
    """Continue the run a checkpoint holds, with its own settings (only the device may change).

    CnndeskError, with the reason, if it cannot be resumed: weights only, damaged, or already finished.
    """
    from cnndesk.engine import resume_point

    point = resume_point(path)
    if point.finished:
        # (More epochs would need a new schedule: OneCycle and cosine are planned for the run's length.)
        raise CnndeskError(f"{point.path.name} already finished all {point.config.epochs} epochs of its run: there "
                           "is nothing left to resume. Open it as the model, or train a new run.")
    config = point.config
    if device is not None:
        config.device = device
    config.validate()
    return RunPlan(config, point)


@dataclass(frozen=True)
class RunOutcome:
    """How a run ended, and the model that is now current (the one in ``checkpoint``, when there is one)."""

    plan: RunPlan
    status: str  # FINISHED, TARGET, STOPPED, NOTHING_SAVED, DIVERGED or FAILED
    result: FitResult | None  # None if the run failed before it trained
    checkpoint: Path | None  # the file holding ``model``; None: nothing saved
    model: Network | None  # the model to show from now on; None: keep the previous one
    meta: dict[str, Any] = field(default_factory=dict)  # ``model``'s metadata, as in its checkpoint
    test_accuracy: float = float("nan")  # of ``model``
    epochs: int = 0  # whole epochs ``model`` was trained
    error: str | None = None  # why it failed
    resumable: bool = False  # ``checkpoint`` can continue the run

    @property
    def succeeded(self) -> bool:
        return self.status in SUCCESSFUL

    @property
    def message(self) -> str:
        from .text import outcome_text

        return outcome_text(self)


class RunQueue:
    """Runs waiting to train, in order; safe to edit from one thread while another takes runs from it."""

    def __init__(self, plans: Iterable[RunPlan] = ()) -> None:
        self._lock = threading.Lock()
        self._plans: list[RunPlan] = list(plans)

    def add(self, *plans: RunPlan) -> None:
        with self._lock:
            self._plans.extend(plans)

    def put_back(self, plan: RunPlan) -> None:
        """Return a run that did not start to the head of the queue."""
        with self._lock:
            self._plans.insert(0, plan)

    def remove(self, plans: Iterable[RunPlan]) -> None:
        """Take these runs out (by identity: the queue may have moved on meanwhile)."""
        with self._lock:
            drop = {id(plan) for plan in plans}
            self._plans = [plan for plan in self._plans if id(plan) not in drop]

    def clear(self) -> None:
        with self._lock:
            self._plans.clear()

    def pop(self) -> RunPlan | None:
        with self._lock:
            return self._plans.pop(0) if self._plans else None

    def plans(self) -> list[RunPlan]:
        with self._lock:
            return list(self._plans)

    def __len__(self) -> int:
        with self._lock:
            return len(self._plans)


def checkpoint_name(model: str, when: float, accuracy: float | None = None) -> str:
    """``lenet5-2026-11-29-1405`` (a run in progress) or ``lenet5-2026-11-29-1405-99.12`` (what it reached)."""
    stem = f"{model}-{time.strftime('%Y-%m-%d-%H%M', time.localtime(when))}"
    if accuracy is not None and accuracy == accuracy:  # not NaN
        stem += f"-{accuracy * 100:.2f}"
    return stem + ".safetensors"


def _unique(path: Path, taken: Path | None = None) -> Path:
    """``path``, or ``name-2``, ``name-3``… if a file (other than ``taken``) is there already."""
    candidate, number = path, 1
    while candidate.exists() and candidate != taken:
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


class RunController:
    """Start, resume, pause, stop and queue training runs; one save rule; crash markers while a run trains."""

    def __init__(self, checkpoints: Callable[[], Path] = checkpoints_dir, mark_runs: bool = True) -> None:
        self._checkpoints = checkpoints
        self._mark_runs = mark_runs
        self._lock = threading.Lock()
        self._control: Any = None  # the TrainingControl of the run in progress
        self._halt = False  # the queue ends after the run in progress
        self._paused = False
        self._thread_limit: int | None = None

    # -- controls: any thread ---------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._control is not None

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def thread_limit(self) -> int | None:
        """The intra-op thread limit runs train with (None: all the training thread's threads)."""
        return self._thread_limit

    def stop(self) -> None:
        """Stop the run in progress after its batch; a queue ends with it (the runs left stay queued)."""
        with self._lock:
            self._halt = True
            if self._control is not None:
                self._control.stop()

    def pause(self) -> None:
        with self._lock:
            self._paused = True
            if self._control is not None:
                self._control.pause()

    def resume(self) -> None:
        with self._lock:
            self._paused = False
            if self._control is not None:
                self._control.resume()

    def limit_threads(self, threads: int | None) -> None:
        """At most ``threads`` intra-op threads for training from the next batch on (None: all)."""
        with self._lock:
            self._thread_limit = threads
            if self._control is not None:
                self._control.limit_threads(threads)

    # -- running: the calling thread ---------------------------------------------------------------------
    def run(self, plan: RunPlan, callbacks: Sequence[TrainingCallback] = (), splits: Splits | None = None,
            report_interval: float = 0.05) -> RunOutcome:
        """Train ``plan`` to its end and settle what is saved. Errors (bad data, a damaged checkpoint) raise."""
        from cnndesk.engine import TrainingControl, fit
        from cnndesk.engine.train import Autosave

        started = time.time()
        path = self._run_path(plan, started)
        if path is not None:
            _check_writable(path)  # before the first epoch, not after it
        autosave = Autosave(path) if path is not None else None
        control = TrainingControl()
        with self._lock:
            if self._paused:
                control.pause()
            control.limit_threads(self._thread_limit)
            self._control = control
        marker = None
        if path is not None and self._mark_runs:
            with contextlib.suppress(OSError):  # crash restore is a safety net: a read-only folder must not stop a run
                marker = markers.mark_run(path, plan.config.model)
        try:
            result = fit(plan.config, callbacks=[*([autosave] if autosave else []), *callbacks], control=control,
                         splits=splits, report_interval=report_interval, resume_from=plan.resume_from,
                         init_from=plan.init_from, record_history=plan.save)  # a run that saves nothing: no replay
            return self._settle(plan, result, path, started, autosave)
        finally:
            with self._lock:
                self._control = None
            if marker is not None:
                markers.clear_marker(marker)

    def run_queue(
        self,
        queue: RunQueue | Sequence[RunPlan],
        callbacks_for: Callable[[RunPlan], Sequence[TrainingCallback]] = lambda plan: (),
        on_start: Callable[[RunPlan], None] | None = None,
        on_outcome: Callable[[RunOutcome], None] | None = None,
        splits: Splits | None = None,
        report_interval: float = 0.05,
    ) -> list[RunOutcome]:
        """Train the queue's runs one after another. A run that does not succeed (stopped, diverged, failed) ends
        the queue, and so does ``stop()``; the runs not started stay in ``queue``, and so does a run stopped before
        it saved anything."""
        if not isinstance(queue, RunQueue):
            queue = RunQueue(queue)
        with self._lock:
            self._halt = False
        outcomes: list[RunOutcome] = []
        while not self._halt and (plan := queue.pop()) is not None:
            if on_start is not None:
                on_start(plan)
            if self._halt:  # stopped in the moment between two runs: this one stays queued
                queue.put_back(plan)
                break
            try:
                outcome = self.run(plan, callbacks_for(plan), splits=splits, report_interval=report_interval)
            except CnndeskError as exc:
                outcome = RunOutcome(plan, FAILED, None, None, None, error=str(exc))
            except Exception as exc:  # a queue reports every run's end, failures included
                outcome = RunOutcome(plan, FAILED, None, None, None, error=f"{type(exc).__name__}: {exc}")
            if outcome.status == NOTHING_SAVED:
                queue.put_back(plan)  # stopped before it had anything to show: it is still to do
            outcomes.append(outcome)
            if on_outcome is not None:
                on_outcome(outcome)
            if not outcome.succeeded:
                self._halt = True
        return outcomes

    # -- the save rule -----------------------------------------------------------------------------------
    def _run_path(self, plan: RunPlan, started: float) -> Path | None:
        if not plan.save:
            return None
        if plan.out is not None:
            out = plan.out
            if out.is_dir():  # a folder: the run's own file in it, named as in the checkpoints folder
                return _unique(out / checkpoint_name(plan.config.model, started))
            return out if out.suffix == ".safetensors" else out.with_name(out.name + ".safetensors")
        if plan.resume is not None:
            return plan.resume.path
        return _unique(self.checkpoints_folder() / checkpoint_name(plan.config.model, started))

    def checkpoints_folder(self) -> Path:
        """The folder runs without a place of their own save in, made now that one is about to: CnndeskError, in one
        sentence, where the data folder cannot hold it (CNNDESK_DATA_DIR naming a file, a read-only folder)."""
        return writable_data_dir(self._checkpoints(), remedy=f"nothing was trained: set {DATA_DIR_VARIABLE} to a "
                                 "writable folder, or save the run elsewhere (cnndesk train --out FILE)")

    def _settle(self, plan: RunPlan, result: FitResult, path: Path | None, started: float,
                autosave: Any) -> RunOutcome:
        from cnndesk.engine import load_model, save_checkpoint
        from cnndesk.engine.train import STOP_DIVERGED, STOP_TARGET

        reason = result.stop_reason
        succeeded = reason is None or reason == STOP_TARGET
        status = (FINISHED if reason is None else TARGET if reason == STOP_TARGET
                  else DIVERGED if reason == STOP_DIVERGED else STOPPED)
        if path is None:  # nothing is saved, so the trained model is what there is (unless it diverged)
            if status == DIVERGED:
                return RunOutcome(plan, status, result, None, None)
            return RunOutcome(plan, status, result, None, result.model, test_accuracy=result.test_accuracy,
                              epochs=result.epochs_completed)
        if succeeded:
            # The snapshots end with the saved weights (the last one is the final model).
            save_checkpoint(result.model, path, plan.config.to_dict(), result.metrics(), resume=result.resume_state,
                            snapshots=result.snapshots)
            meta = {"model": result.model.config, "training": plan.config.to_dict(), "metrics": result.metrics()}
            path = self._rename(plan, path, started, result.test_accuracy)
            return RunOutcome(plan, status, result, path, result.model, meta, result.test_accuracy,
                              result.epochs_completed, resumable=result.resume_state is not None)
        # Stopped or diverged: the file holds the last whole epoch this run (or the run it resumed) saved, and the
        # history up to that epoch (Autosave wrote them together), never the snapshots taken after it.
        holds_resumed_run = plan.resume is not None and path == plan.resume.path
        if autosave.saved_epoch is None and not holds_resumed_run:
            return RunOutcome(plan, status if status == DIVERGED else NOTHING_SAVED, result, None, None)
        model, meta = load_model(path)
        metrics = meta.get("metrics", {})
        path = self._rename(plan, path, started, metrics.get("test_accuracy"))
        return RunOutcome(plan, status, result, path, model, meta, float(metrics.get("test_accuracy", float("nan"))),
                          int(metrics.get("epochs_completed", 0)), resumable=True)

    def _rename(self, plan: RunPlan, path: Path, started: float, accuracy: float | None) -> Path:
        """A run's own file (in the checkpoints folder, or in a folder given as ``out``) takes the name of what it
        holds; a file the user named stays."""
        into_folder = plan.out is not None and plan.out.is_dir()
        folder = plan.out if into_folder else self._checkpoints()
        if (plan.out is not None and not into_folder) or path.parent.resolve() != folder.resolve():
            return path
        match = NAME_PATTERN.match(path.stem)
        if match is None:
            return path
        when = started
        if plan.resume is not None:  # a resumed run keeps the start of the run in its name
            with contextlib.suppress(ValueError):
                when = time.mktime(time.strptime(match["stamp"], "%Y-%m-%d-%H%M"))
        target = _unique(path.with_name(checkpoint_name(match["model"], when, accuracy)), taken=path)
        if target == path:
            return path
        try:
            path.replace(target)
        except OSError:
            return path  # the name is a courtesy; the file is what matters
        return target


def _check_writable(path: Path) -> None:
    """CnndeskError, now, if the run's checkpoint could not be written to ``path``'s folder."""
    import tempfile

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(prefix=f".{path.name}.", suffix=".probe", dir=path.parent):
            pass
    except OSError as exc:
        raise CnndeskError(f"Cannot save the run to {path}: {exc.strerror or exc}. Nothing was trained; choose "
                           "another place to save it.") from None


@dataclass(frozen=True)
class SavedRun:
    """A checkpoint a run wrote, as a list of runs to resume shows it."""

    path: Path
    point: ResumePoint | None  # None: it cannot be resumed (``problem`` says why)
    problem: str
    saved_at: float  # the file's modification time

    @property
    def resumable(self) -> bool:
        return self.point is not None and not self.point.finished

    @property
    def test_accuracy(self) -> float | None:
        history = self.point.history if self.point is not None else []
        return history[-1].test_accuracy if history else None


def saved_runs(folder: Path | None = None) -> list[SavedRun]:
    """The checkpoints in ``folder`` (the checkpoints folder by default), newest first; reads headers only."""
    from cnndesk.engine import resume_point

    folder = folder or checkpoints_dir()
    runs = []
    for path in folder.glob("*.safetensors"):
        try:
            saved_at = path.stat().st_mtime
        except OSError:
            continue  # removed meanwhile
        try:
            runs.append(SavedRun(path, resume_point(path), "", saved_at))
        except CnndeskError as exc:
            runs.append(SavedRun(path, None, str(exc), saved_at))
    return sorted(runs, key=lambda run: run.saved_at, reverse=True)
