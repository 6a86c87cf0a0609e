"""The window with a user data folder it cannot write (CNNDESK_DATA_DIR naming a file): it starts, says so once,
draws and predicts from the bundled model and MNIST, and refuses a run that could not be saved, with the reason."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox

from cnndesk.engine import data
from cnndesk.locations import pretrained_path

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")

PROBLEM = "cannot write to its data folder"


@pytest.fixture
def data_folder_is_a_file(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "cnndesk-data"
    path.write_text("not a folder")
    monkeypatch.setenv("CNNDESK_DATA_DIR", str(path))
    monkeypatch.setattr(data, "_cache", {})  # the MNIST the preload reads is dropped after the test
    monkeypatch.setattr(data, "_cache_warned", set())
    return path


def problem_boxes(window) -> list[str]:
    return [box.text() for box in window.findChildren(QMessageBox) if PROBLEM in box.text()]


def test_the_window_says_once_that_its_data_folder_is_unusable_and_still_predicts(data_folder_is_a_file,
                                                                                   make_window, stroke, qtbot, capfd):
    window = make_window()
    assert window.engine_ready  # the model and every panel are in, although no data folder could be made
    assert window.wait_for_preload(timeout=30)
    qtbot.waitUntil(lambda: bool(problem_boxes(window)), timeout=5000)
    assert window._preload_task.status == "done"  # MNIST was read from the bundled files: nothing failed
    assert problem_boxes(window) == [
        f"cnndesk cannot write to its data folder {data_folder_is_a_file} ({data_folder_is_a_file} is a file, not a "
        "folder): runs cannot be saved there, nor digits kept; drawing and predicting work. Set CNNDESK_DATA_DIR to "
        "a writable folder."]
    assert PROBLEM in window.statusBar().currentMessage()

    stroke(window.canvas, [(140, 40), (140, 240)])  # a "1"
    qtbot.waitUntil(lambda: window.predictionLabel.text().startswith("1"), timeout=5000)
    assert len(problem_boxes(window)) == 1  # said once, not again at every prediction
    assert "Traceback" not in capfd.readouterr().err


def test_a_run_from_the_window_is_refused_with_the_data_folders_problem(data_folder_is_a_file, make_window, qtbot):
    window = make_window()
    assert window.wait_for_preload(timeout=30)
    panel = window.trainingPanel
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData("mlp"))
    panel.samplesSpin.setValue(640)
    panel.epochsSpin.setValue(1)
    with qtbot.waitSignal(window.runner.finished, timeout=30000) as finished:
        qtbot.mouseClick(panel.trainButton, Qt.MouseButton.LeftButton)
    outcome = finished.args[0]
    assert outcome.status == "failed" and outcome.result is None  # refused before the first batch
    assert f"{data_folder_is_a_file / 'checkpoints'} ({data_folder_is_a_file} is a file, not a folder); nothing " \
           "was trained" in outcome.error
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    assert panel.trainButton.isEnabled()
