"""Runs in progress, so that the next launch can offer to restore a run that cnndesk did not end. Qt-free.

While a run trains, a small marker file in the user data folder names its autosave checkpoint and the process
that trains it; a normal end (finished, stopped, failed, window closed) removes it. A marker whose process is no
longer running means cnndesk was killed or crashed mid-run: its checkpoint holds the last whole epoch.
One marker per run (named after its checkpoint), so two cnndesk windows training at once never clash.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from cnndesk.engine import CnndeskError, ResumePoint, resume_point
from cnndesk.engine.checkpoint import atomic_write
from cnndesk.locations import data_dir

MARKERS_FOLDER = "active-runs"


@dataclass(frozen=True)
class RunMarker:
    path: Path  # the marker file itself
    checkpoint: Path  # where the run autosaves after every epoch
    model: str
    started: float  # time.time() when the run started
    pid: int


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
    marker = RunMarker(markers_dir() / f"{checkpoint.stem}.json", checkpoint, model, time.time(), os.getpid())
    payload = json.dumps({"checkpoint": str(checkpoint), "model": model, "started": marker.started,
                          "pid": marker.pid})
    atomic_write(marker.path, lambda tmp: tmp.write_text(payload, encoding="utf-8"))
    return marker


def read_marker(path: Path) -> RunMarker | None:
    """The marker in ``path``; None if it is gone or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return RunMarker(path, Path(data["checkpoint"]), str(data["model"]), float(data["started"]),
                         int(data["pid"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def clear_marker(marker: RunMarker) -> None:
    """Remove a run's marker, unless another process has since claimed the file (it resumed the same run)."""
    current = read_marker(marker.path)
    if current is None or current.pid == marker.pid:
        with contextlib.suppress(OSError):
            marker.path.unlink()


def process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running cnndesk process (this one included)."""
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return _windows_process_alive(pid)
    try:
        os.kill(pid, 0)  # signal 0: only checks that the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # it exists, under another user
    except OSError:
        return False
    return _runs_cnndesk(pid)


def _runs_cnndesk(pid: int) -> bool:
    """After a reboot the pid may belong to another program: check its command line where the system shows it."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (macOS) or not readable: trust the pid
    return b"cnndesk" in cmdline.lower()


def _windows_process_alive(pid: int) -> bool:
    import ctypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # ERROR_ACCESS_DENIED: it exists
    try:
        code = ctypes.c_ulong()
        ok = kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        return bool(ok) and code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


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
        if process_alive(marker.pid):
            continue  # a run in progress in another cnndesk window
        found.append(describe(marker))
    return sorted(found, key=lambda run: run.marker.started, reverse=True)


def describe(marker: RunMarker) -> InterruptedRun:
    if not marker.checkpoint.exists():
        return InterruptedRun(marker, None, "it closed before the first epoch ended, so nothing was saved", None)
    try:
        point = resume_point(marker.checkpoint)
        saved_at = marker.checkpoint.stat().st_mtime
    except (CnndeskError, OSError) as exc:
        return InterruptedRun(marker, None, str(exc), None)
    return InterruptedRun(marker, point, "", saved_at)
