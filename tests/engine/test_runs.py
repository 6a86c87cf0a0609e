"""Markers of runs in progress: what the next launch uses to offer restoring a run that a crash interrupted."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnndesk import runs
from cnndesk.locations import pretrained_path


def write_marker(folder: Path, checkpoint: Path, pid: int, model: str = "lenet5") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{checkpoint.stem}.json"
    path.write_text(json.dumps({"checkpoint": str(checkpoint), "model": model, "started": 1.0, "pid": pid}))
    return path


def test_a_marker_names_the_checkpoint_and_this_process_and_goes_away(markers, tmp_path):
    marker = runs.mark_run(tmp_path / "lenet5-1.safetensors", "lenet5")
    data = json.loads(marker.path.read_text())
    assert data["pid"] == os.getpid() and data["model"] == "lenet5"
    assert Path(data["checkpoint"]) == (tmp_path / "lenet5-1.safetensors").resolve()
    assert [p.name for p in markers.iterdir()] == ["lenet5-1.json"]  # no temporary file left behind
    runs.clear_marker(marker)
    assert not marker.path.exists()


def test_clearing_leaves_a_marker_another_process_has_claimed(markers, tmp_path):
    mine = runs.mark_run(tmp_path / "run.safetensors", "lenet5")
    write_marker(markers, tmp_path / "run.safetensors", pid=mine.pid + 1)  # resumed since by another window
    runs.clear_marker(mine)
    assert mine.path.exists()


def test_process_alive_tells_a_live_cnndesk_from_a_dead_pid(dead_pid):
    assert runs.process_alive(os.getpid())
    assert not runs.process_alive(dead_pid)
    assert not runs.process_alive(0)


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc to read command lines")
def test_a_pid_reused_by_another_program_is_not_a_live_run():
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert not runs.process_alive(other.pid)
    finally:
        other.kill()
        other.wait()


def test_interrupted_runs_skips_live_ones_and_describes_the_others(markers, tmp_path, dead_pid):
    checkpoint = shutil.copy(pretrained_path("lenet5"), tmp_path / "lenet5-a.safetensors")
    write_marker(markers, Path(checkpoint), pid=dead_pid)
    write_marker(markers, tmp_path / "lenet5-live.safetensors", pid=os.getpid())
    (markers / "junk.json").write_text("{not json")
    found = runs.interrupted_runs()
    assert len(found) == 1
    run = found[0]
    assert run.marker.checkpoint == Path(checkpoint) and run.problem == ""
    assert run.point.epochs_completed == 8 and run.point.finished and run.saved_at is not None
    assert not (markers / "junk.json").exists()


def test_an_interrupted_run_with_no_saved_epoch_has_nothing_to_restore(markers, tmp_path, dead_pid):
    write_marker(markers, tmp_path / "never-saved.safetensors", pid=dead_pid)
    (run,) = runs.interrupted_runs()
    assert run.point is None and "before the first epoch ended" in run.problem
