"""Faults in the window: killed (SIGKILL) while a run saves, then launched again; a disk that fills up during Save.

The injections are scripts/faults.py's (see tests/engine/test_faults.py for the command line's).
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from cnndesk.engine import checkpoint, load_model, load_splits, read_metadata
from cnndesk.locations import data_dir, pretrained_path

_spec = importlib.util.spec_from_file_location("cnndesk_faults", Path(__file__).parents[2] / "scripts" / "faults.py")
faults = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = faults  # (dataclasses look their module up)
_spec.loader.exec_module(faults)


def test_a_window_killed_while_it_saves_offers_the_run_at_the_next_launch(make_window, qtbot, tmp_path, markers):
    """A window trains 3 epochs and is killed while it writes epoch 2's checkpoint (its temp file half written).
    The next launch offers the run at epoch 1, and Resume trains it to its end in the same file."""
    load_splits("mnist")  # the child reads the MNIST cache through a link: no unpacking in it
    (tmp_path / "datasets").symlink_to(data_dir() / "datasets", target_is_directory=True)
    signal_file = tmp_path / "hold.signal"
    fault = faults.FaultSpec(str(tmp_path / "checkpoints"), "write", save=2, signal=str(signal_file))
    child = faults.start_gui(fault, data_dir=tmp_path, settings=tmp_path / "child.ini")  # its markers: `markers`
    kill = faults.kill_when(child, signal_file, timeout=120)
    assert kill.killed, kill.stderr

    [saved] = (tmp_path / "checkpoints").glob("*.safetensors")
    assert read_metadata(saved)["resume"]["epochs_completed"] == 1
    load_model(saved)
    # Beside it, the half-written temp file of epoch 2: left there, and read by nothing.
    [left] = [p.name for p in saved.parent.iterdir() if p != saved]
    assert left.startswith(f".{saved.name}.") and left.endswith(".tmp")
    [marker] = markers.glob("*.json")

    win = make_window()
    bar = win.restoreBar
    assert bar.isVisible() and bar.resumeButton.isVisible()
    assert "training lenet5 (epoch 1 of 3 saved" in bar.label.text()
    with qtbot.waitSignal(win.runner.finished, timeout=120000) as finished:
        qtbot.mouseClick(bar.resumeButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not win.runner.is_running(), timeout=10000)
    outcome = finished.args[0]
    assert outcome.status == "finished" and outcome.checkpoint == saved
    assert [h.epoch for h in outcome.result.history] == [1, 2, 3]
    assert read_metadata(saved)["resume"]["epochs_completed"] == 3
    assert not marker.exists() and not bar.isVisible()


@pytest.fixture
def own_file(window, tmp_path) -> Path:
    """The window's current model comes from this file (Save writes over it, without asking where)."""
    path = Path(shutil.copyfile(pretrained_path("lenet5"), tmp_path / "mine.safetensors"))
    assert window.open_model(path)
    return path


def assert_save_failed_and_file_kept(window, path: Path, before: bytes, reason: str) -> None:
    message = window.statusBar().currentMessage()
    assert message.startswith(f"Could not write {path}") and reason in message
    boxes = [box for box in window.findChildren(QMessageBox) if box.isVisible()]
    assert [box.text() for box in boxes] == [message]
    assert path.read_bytes() == before
    load_model(path)
    assert [p.name for p in path.parent.iterdir()] == ["mine.safetensors"]  # no temp file left


def test_a_full_disk_during_save_shows_one_message_and_keeps_the_file(window, own_file, monkeypatch):
    before = own_file.read_bytes()
    fault = faults.FaultSpec(str(own_file), "enospc", save=1)  # ENOSPC half-way through the temp file
    monkeypatch.setattr(checkpoint, "atomic_write", faults.faulty_atomic_write(fault, checkpoint.atomic_write))
    window.saveAction.trigger()
    assert_save_failed_and_file_kept(window, own_file, before, "No space left on device")


def test_a_write_the_kernel_refuses_during_save_shows_one_message_and_keeps_the_file(window, own_file, qtbot):
    """A real refusal (files may not grow past 64 KB: EFBIG, as a full disk gives ENOSPC) through safetensors."""
    before = own_file.read_bytes()
    with qtbot.capture_exceptions() as escaped, faults.file_size_limit(64 << 10):
        window.saveAction.trigger()
    assert not escaped, f"the save raised {escaped[0][1]!r} out of the Save action"
    assert_save_failed_and_file_kept(window, own_file, before, "File too large")
