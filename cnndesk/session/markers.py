"""Runs in progress, so that the next launch can offer to restore a run that cnndesk did not end. Qt-free.

While a run trains, a small marker file in the user data folder names its autosave checkpoint and the process
that trains it (its pid and its start time); a normal end (finished, stopped, failed, window closed) removes it.
A marker whose process is no longer running means cnndesk was killed or crashed mid-run: its checkpoint holds the
last whole epoch. One marker per run (named after its checkpoint), so two cnndesk windows training at once never
clash. The start time tells the process that wrote a marker from a later one that got its pid (after a reboot, or
in a container restarted with the same pids).
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from cnndesk.engine import CnndeskError, ResumePoint, resume_point
from cnndesk.engine.checkpoint import atomic_write
from cnndesk.locations import data_dir

from .text import tr

MARKERS_FOLDER = "active-runs"
# How far two readings of one process's start time may differ (the system derives it from the boot time, which
# it rounds to whole seconds).
START_TIME_TOLERANCE = 1.0


@dataclass(frozen=True)
class RunMarker:
    path: Path  # the marker file itself
    checkpoint: Path  # where the run autosaves after every epoch
    model: str
    started: float  # time.time() when the run started
    pid: int
    # psutil's create_time() of the process that trains the run; None in a marker of an older cnndesk,
    # or where the system would not tell
    process_started: float | None = None


@dataclass(frozen=True)
class InterruptedRun:
    """A run whose process is gone, and what its checkpoint holds."""

    marker: RunMarker
    point: ResumePoint | None  # None: nothing to restore (no epoch finished, or the file is unreadable)
    problem: str  # why there is nothing to restore ("" when there is)
    saved_at: float | None  # modification time of the checkpoint


def markers_dir() -> Path:
    return data_dir() / MARKERS_FOLDER


def mark_run(checkpoint: str | Path, model: str) -> RunMarker:
    """Record that this process is training a run that autosaves to ``checkpoint`` (written atomically)."""
    checkpoint = Path(checkpoint).resolve()
    process = psutil.Process()
    try:
        process_started: float | None = process.create_time()
    except psutil.Error:
        process_started = None  # then the pid alone will tell whether this run is still in progress
    marker = RunMarker(markers_dir() / f"{checkpoint.stem}.json", checkpoint, model, time.time(), process.pid,
                       process_started)
    payload = json.dumps({"checkpoint": str(checkpoint), "model": model, "started": marker.started,
                          "pid": marker.pid, "process_started": marker.process_started})
    atomic_write(marker.path, lambda tmp: tmp.write_text(payload, encoding="utf-8"))
    return marker


def read_marker(path: Path) -> RunMarker | None:
    """The marker in ``path``; None if it is gone or unreadable. An older cnndesk's marker has no process start."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        process_started = data.get("process_started")
        return RunMarker(path, Path(data["checkpoint"]), str(data["model"]), float(data["started"]),
                         int(data["pid"]), None if process_started is None else float(process_started))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _same_start(a: float | None, b: float | None) -> bool:
    """Whether two start times can be of one process; an unknown one cannot tell them apart."""
    return a is None or b is None or abs(a - b) <= START_TIME_TOLERANCE


def clear_marker(marker: RunMarker) -> None:
    """Remove a run's marker, unless another process has since claimed the file (it resumed the same run)."""
    current = read_marker(marker.path)
    if current is None or (current.pid == marker.pid
                           and _same_start(current.process_started, marker.process_started)):
        with contextlib.suppress(OSError):
            marker.path.unlink()


def process_alive(pid: int, process_started: float | None = None) -> bool:
    """Whether the process that wrote a marker still runs (this one included).

    True only if a process ``pid`` exists and started at ``process_started`` (psutil's create_time()), so a pid
    reused by a later process does not count. With ``process_started`` None (a marker of an older cnndesk), or
    where the system will not tell the process's start time, the pid alone decides.
    """
    if pid <= 0:
        return False
    try:
        process = psutil.Process(pid)
    except psutil.NoSuchProcess:  # ZombieProcess included
        return False
    except psutil.Error:
        return True  # it exists, but may not be looked at
    try:
        if process.status() == psutil.STATUS_ZOMBIE:
            return False  # ended, not yet reaped by its parent
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:
        pass
    if process_started is None:
        return True
    try:
        created = process.create_time()
    except psutil.NoSuchProcess:
        return False
    except psutil.Error:  # AccessDenied: its start time is unknown, trust the pid
        return True
    return _same_start(created, process_started)


def interrupted_runs() -> list[InterruptedRun]:
    """Runs whose process ended without removing their marker, newest first. Reads only small headers."""
    folder = markers_dir()
    if not folder.is_dir():
        return []
    found = []
    for path in folder.glob("*.json"):
        marker = read_marker(path)
        if marker is None:
            with contextlib.suppress(OSError):
                path.unlink()  # written atomically, so never half-written: not a marker of ours
            continue
        if process_alive(marker.pid, marker.process_started):
            continue  # a run in progress in another cnndesk window
        found.append(describe(marker))
    return sorted(found, key=lambda run: run.marker.started, reverse=True)


def describe(marker: RunMarker) -> InterruptedRun:
    """What an interrupted run's checkpoint holds: where it can resume from, or why it cannot."""
    if not marker.checkpoint.exists():
        return InterruptedRun(marker, None, tr("it closed before the first epoch ended, so nothing was saved"), None)
    try:
        point = resume_point(marker.checkpoint)
        saved_at = marker.checkpoint.stat().st_mtime
    except (CnndeskError, OSError) as exc:
        return InterruptedRun(marker, None, str(exc), None)
    return InterruptedRun(marker, point, "", saved_at)
