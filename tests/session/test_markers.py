"""Markers of runs in progress: what the next launch uses to offer restoring a run that a crash interrupted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from cnndesk.locations import pretrained_path
from cnndesk.session import markers as run_markers

AN_HOUR = 3600.0


def write_marker(folder: Path, checkpoint: Path, pid: int, process_started: float | None = None,
                 model: str = "lenet5") -> Path:
    """A marker as cnndesk writes it; without ``process_started``, as an older cnndesk wrote it."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{checkpoint.stem}.json"
    data: dict[str, object] = {"checkpoint": str(checkpoint), "model": model, "started": 1.0, "pid": pid}
    if process_started is not None:
        data["process_started"] = process_started
    path.write_text(json.dumps(data))
    return path


def this_process_started() -> float:
    return psutil.Process(os.getpid()).create_time()


@pytest.fixture
def cnndesk_child(tmp_path) -> Iterator[subprocess.Popen]:
    """A live process that is not cnndesk but whose command line says "cnndesk" (a script in a folder so named),
    as a pid reused after a reboot can be: the name on a command line must not make it a run in progress."""
    folder = tmp_path / "cnndesk"
    folder.mkdir()
    script = folder / "cnndesk_sleep.py"
    script.write_text("import time\ntime.sleep(60)\n")
    child = subprocess.Popen([sys.executable, str(script)])
    try:
        deadline = time.monotonic() + 10
        # Until the child has exec'd, its command line is still this process's.
        while "cnndesk" not in " ".join(psutil.Process(child.pid).cmdline()).lower():
            assert time.monotonic() < deadline, "the child never started its script"
            time.sleep(0.02)
        yield child
    finally:
        child.kill()
        child.wait()


def test_a_marker_names_the_checkpoint_and_this_process_and_goes_away(markers, tmp_path):
    marker = run_markers.mark_run(tmp_path / "lenet5-1.safetensors", "lenet5")
    data = json.loads(marker.path.read_text())
    assert data["pid"] == os.getpid() and data["model"] == "lenet5"
    assert data["process_started"] == pytest.approx(this_process_started(), abs=1.0)
    assert marker.process_started == data["process_started"]
    assert Path(data["checkpoint"]) == (tmp_path / "lenet5-1.safetensors").resolve()
    assert [p.name for p in markers.iterdir()] == ["lenet5-1.json"]  # no temporary file left behind
    assert run_markers.read_marker(marker.path) == marker
    run_markers.clear_marker(marker)
    assert not marker.path.exists()


def test_clearing_leaves_a_marker_another_process_has_claimed(markers, tmp_path):
    mine = run_markers.mark_run(tmp_path / "run.safetensors", "lenet5")
    write_marker(markers, tmp_path / "run.safetensors", pid=mine.pid + 1,
                 process_started=mine.process_started)  # resumed since by another window
    run_markers.clear_marker(mine)
    assert mine.path.exists()


def test_clearing_leaves_a_marker_of_a_later_process_with_the_same_pid(markers, tmp_path):
    mine = run_markers.mark_run(tmp_path / "run.safetensors", "lenet5")
    assert mine.process_started is not None
    # a container restarted with the same pids: another cnndesk, with this pid, resumed the run since
    write_marker(markers, tmp_path / "run.safetensors", pid=mine.pid, process_started=mine.process_started + AN_HOUR)
    run_markers.clear_marker(mine)
    assert mine.path.exists()


def test_process_alive_tells_this_process_from_a_dead_pid(dead_pid):
    assert run_markers.process_alive(os.getpid(), this_process_started())
    assert not run_markers.process_alive(dead_pid, this_process_started())
    assert not run_markers.process_alive(dead_pid)
    assert not run_markers.process_alive(0)
    assert not run_markers.process_alive(-1)


def test_a_pid_reused_by_another_process_is_not_a_live_run(cnndesk_child):
    # this pid is alive, but it is not the process that wrote the marker: that one started an hour earlier
    assert not run_markers.process_alive(os.getpid(), this_process_started() - AN_HOUR)
    # nor does "cnndesk" on a process's command line make it the run's process
    child_started = psutil.Process(cnndesk_child.pid).create_time()
    assert not run_markers.process_alive(cnndesk_child.pid, child_started - AN_HOUR)
    assert not run_markers.process_alive(cnndesk_child.pid, child_started + AN_HOUR)


def test_a_live_process_with_its_start_time_is_alive_until_it_is_killed(cnndesk_child):
    started = psutil.Process(cnndesk_child.pid).create_time()
    assert run_markers.process_alive(cnndesk_child.pid, started)
    cnndesk_child.kill()
    cnndesk_child.wait()
    assert not run_markers.process_alive(cnndesk_child.pid, started)


@pytest.mark.skipif(sys.platform == "win32", reason="zombie processes are a POSIX thing")
def test_a_killed_process_not_yet_reaped_is_not_alive(cnndesk_child):
    started = psutil.Process(cnndesk_child.pid).create_time()
    cnndesk_child.kill()  # no wait(): it stays a zombie until its parent, this process, reaps it
    deadline = time.monotonic() + 10
    while psutil.Process(cnndesk_child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the killed child never became a zombie"
        time.sleep(0.01)
    assert not run_markers.process_alive(cnndesk_child.pid, started)


def test_a_start_time_the_system_will_not_tell_leaves_the_pid_to_decide(monkeypatch, dead_pid):
    def denied(self):
        raise psutil.AccessDenied(self.pid)

    monkeypatch.setattr(psutil.Process, "create_time", denied)
    assert run_markers.process_alive(os.getpid(), 12345.0)
    assert not run_markers.process_alive(dead_pid, 12345.0)


def test_an_old_marker_without_a_process_start_is_read_and_its_pid_decides(markers, tmp_path, dead_pid):
    live = write_marker(markers, tmp_path / "lenet5-live.safetensors", pid=os.getpid())  # an older cnndesk's
    dead = write_marker(markers, tmp_path / "lenet5-dead.safetensors", pid=dead_pid)
    marker = run_markers.read_marker(live)
    assert marker is not None and marker.pid == os.getpid() and marker.process_started is None
    assert run_markers.process_alive(marker.pid, marker.process_started)
    (run,) = run_markers.interrupted_runs()
    assert run.marker.path == dead and run.marker.process_started is None


def test_interrupted_runs_skips_live_ones_and_describes_the_others(markers, tmp_path, dead_pid):
    checkpoint = shutil.copy(pretrained_path("lenet5"), tmp_path / "lenet5-a.safetensors")
    write_marker(markers, Path(checkpoint), pid=dead_pid, process_started=this_process_started())
    write_marker(markers, tmp_path / "lenet5-live.safetensors", pid=os.getpid(),
                 process_started=this_process_started())
    (markers / "junk.json").write_text("{not json")
    found = run_markers.interrupted_runs()
    assert len(found) == 1
    run = found[0]
    assert run.marker.checkpoint == Path(checkpoint) and run.problem == ""
    assert run.point.epochs_completed == run.point.config.epochs and run.point.finished and run.saved_at is not None
    assert not (markers / "junk.json").exists()


def test_a_run_whose_pid_a_later_process_took_is_offered(markers, tmp_path):
    # the pid is this live process's, but the run's process started an hour before it: cnndesk died, the pid moved on
    path = write_marker(markers, tmp_path / "lenet5-reused.safetensors", pid=os.getpid(),
                        process_started=this_process_started() - AN_HOUR)
    (run,) = run_markers.interrupted_runs()
    assert run.marker.path == path


def test_an_interrupted_run_with_no_saved_epoch_has_nothing_to_restore(markers, tmp_path, dead_pid):
    write_marker(markers, tmp_path / "never-saved.safetensors", pid=dead_pid)
    (run,) = run_markers.interrupted_runs()
    assert run.point is None and "before the first epoch ended" in run.problem
