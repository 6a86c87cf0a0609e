"""Resume run… lists the saved runs with their model, epochs, accuracy and date, and resumes the one picked."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from cnndesk.engine import TrainConfig, TrainingCallback, TrainingControl, fit, read_metadata, save_checkpoint
from cnndesk.locations import pretrained_path


class StopAfterFirstEpoch(TrainingCallback):
    def __init__(self, control: TrainingControl) -> None:
        self.control = control

    def on_epoch_end(self, metrics) -> None:
        self.control.stop()


@pytest.fixture
def folder(tmp_path, monkeypatch) -> Path:
    """A checkpoints folder with a run to resume, a finished run and a weights-only file."""
    import cnndesk.ui.resume_dialog as resume_dialog

    folder = tmp_path / "checkpoints"
    folder.mkdir()
    config = TrainConfig.for_model("lenet5", epochs=3, batch_size=64, train_samples=256, test_samples=200,
                                   device="cpu")
    control = TrainingControl()
    result = fit(config, callbacks=[StopAfterFirstEpoch(control)], control=control,
                 autosave_path=folder / "lenet5-2026-11-29-1405-50.00.safetensors")
    shutil.copy(pretrained_path("lenet5"), folder / "finished.safetensors")
    save_checkpoint(result.model, folder / "weights-only.safetensors")
    monkeypatch.setattr(resume_dialog, "checkpoints_dir", lambda: folder)
    return folder


def test_the_dialog_shows_each_run_and_resumes_the_one_picked(window, qtbot, folder):
    window.resumeRunAction.trigger()
    dialog = window.dialog
    qtbot.waitExposed(dialog)
    rows = [[dialog.runsList.topLevelItem(i).text(c) for c in range(5)]
            for i in range(dialog.runsList.topLevelItemCount())]
    run = folder / "lenet5-2026-11-29-1405-50.00.safetensors"
    accuracy = read_metadata(run)["metrics"]["history"][0]["test_accuracy"]
    saved = time.strftime("%Y-%m-%d %H:%M", time.localtime(run.stat().st_mtime))
    assert ["lenet5", "1 of 3", f"{accuracy:.2%}", saved, run.name] in rows
    finished = next(i for i, row in enumerate(rows) if row[4] == "finished.safetensors")
    assert dialog.runsList.topLevelItem(finished).isDisabled()  # shown, not offered: nothing left to train
    assert all(row[4] != "weights-only.safetensors" for row in rows)  # not a run
    assert dialog.runsList.currentItem().text(4) == run.name
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as finished_signal:
        qtbot.mouseClick(dialog.resumeButton, Qt.MouseButton.LeftButton)
        assert window.runner.is_running()
    assert finished_signal.args[0].plan.resume.path == run
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)


def test_an_empty_folder_says_so(window, qtbot, tmp_path, monkeypatch):
    import cnndesk.ui.resume_dialog as resume_dialog

    monkeypatch.setattr(resume_dialog, "checkpoints_dir", lambda: tmp_path)
    window.resumeRunAction.trigger()
    dialog = window.dialog
    qtbot.waitExposed(dialog)
    assert dialog.runsList.topLevelItemCount() == 0 and dialog.empty.isVisible()
    assert not dialog.resumeButton.isEnabled() and dialog.otherButton.isEnabled()
    dialog.reject()
