"""Resuming a saved run from the window, and restoring a run that cnndesk closed in the middle of."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import Qt

from cnndesk.engine import TrainConfig, TrainingCallback, TrainingControl, fit, read_metadata, save_checkpoint
from cnndesk.locations import pretrained_path

BATCHES = 4  # 256 images in batches of 64


class StopAfterFirstEpoch(TrainingCallback):
    def __init__(self, control: TrainingControl) -> None:
        self.control = control

    def on_epoch_end(self, metrics) -> None:
        self.control.stop()


@pytest.fixture(scope="module")
def interrupted_checkpoint(tmp_path_factory) -> Path:
    """A run of 3 epochs on 256 images that stopped after its first epoch: its autosave can be resumed."""
    path = tmp_path_factory.mktemp("runs") / "lenet5-interrupted.safetensors"
    config = TrainConfig.for_model("lenet5", epochs=3, batch_size=64, train_samples=256, test_samples=200,
                                   device="cpu")
    control = TrainingControl()
    fit(config, callbacks=[StopAfterFirstEpoch(control)], control=control, autosave_path=path)
    assert read_metadata(path)["resume"]["epochs_completed"] == 1
    return path


@pytest.fixture
def checkpoint(interrupted_checkpoint, tmp_path) -> Path:
    return Path(shutil.copy(interrupted_checkpoint, tmp_path / interrupted_checkpoint.name))


def write_marker(folder: Path, checkpoint: Path, pid: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{checkpoint.stem}.json"
    path.write_text(json.dumps({"checkpoint": str(checkpoint), "model": "lenet5", "started": 1.0, "pid": pid}))
    return path


def open_window(qtbot):
    from cnndesk.ui import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    qtbot.waitExposed(win)
    return win


def test_resume_trains_the_remaining_epochs_and_continues_the_curves(window, qtbot, checkpoint, markers):
    earlier = read_metadata(checkpoint)["metrics"]["history"][0]
    panel = window.trainingPanel
    marked = []
    window.runner.started.connect(lambda _: marked.extend(json.loads(p.read_text())["checkpoint"]
                                                          for p in markers.iterdir()))
    form = []  # the form as the run starts training
    window.runner.started.connect(lambda _: form.append((panel.modelCombo.currentData(), panel.epochsSpin.value(),
                                                         panel.batchSpin.value(), panel.samplesSpin.value())))
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as finished:
        assert window.resume_from(checkpoint)
        assert not panel.resumeButton.isEnabled() and not window.resumeRunAction.isEnabled()
    assert form == [("lenet5", 3, 64, 256)]  # the form shows the run's own settings while it trains
    assert marked == [str(checkpoint.resolve())]  # while it trained, a marker named its file
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    result = finished.args[0].result
    assert [h.epoch for h in result.history] == [1, 2, 3]
    # Only epochs 2 and 3 were trained: the loss curve starts at the step after epoch 1.
    assert panel.rawLoss.size == 2 * BATCHES
    assert panel.rawLoss.x[0] == BATCHES + 1 and panel.rawLoss.x[panel.rawLoss.size - 1] == 3 * BATCHES
    # The accuracy plot shows every epoch, the first one from the checkpoint.
    assert list(panel.testAccuracy.x[: panel.testAccuracy.size]) == [1, 2, 3]
    assert panel.testAccuracy.y[0] == pytest.approx(earlier["test_accuracy"])
    # The run saved into the file it resumed from, which is now the current model.
    assert finished.args[0].checkpoint == checkpoint
    meta = read_metadata(checkpoint)
    assert meta["resume"]["epochs_completed"] == 3 and len(meta["metrics"]["history"]) == 3
    assert checkpoint.name in window.windowTitle()
    assert not list(markers.iterdir())  # ended normally: nothing to restore next time


def test_checkpoints_that_cannot_be_resumed_say_why_and_start_nothing(window, tmp_path):
    finished = shutil.copy(pretrained_path("lenet5"), tmp_path / "done.safetensors")
    assert not window.resume_from(finished)
    epochs = read_metadata(finished)["training"]["epochs"]
    assert f"already finished all {epochs} epochs" in window.statusBar().currentMessage()

    plain = save_checkpoint(window.predictor.model, tmp_path / "plain.safetensors")
    assert not window.resume_from(plain)
    assert "cannot be resumed" in window.statusBar().currentMessage()

    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(b"\x00garbage")
    assert not window.resume_from(broken)
    assert "broken.safetensors" in window.statusBar().currentMessage()
    assert not window.runner.is_running() and window.trainingPanel.trainButton.isEnabled()


def test_a_normal_run_marks_itself_while_it_trains_and_unmarks_when_it_ends(window, qtbot, markers):
    panel = window.trainingPanel
    panel.samplesSpin.setValue(256)
    panel.epochsSpin.setValue(1)
    panel.batchSpin.setValue(64)
    seen = []
    window.runner.started.connect(lambda _: seen.extend(json.loads(p.read_text()) for p in markers.glob("*.json")))
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as finished:
        qtbot.mouseClick(panel.trainButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    assert len(seen) == 1 and seen[0]["pid"] == os.getpid() and seen[0]["model"] == "lenet5"
    # The marker names the file the run autosaves into; at the end it is renamed after the accuracy it holds.
    outcome = finished.args[0]
    marked = Path(seen[0]["checkpoint"])
    assert outcome.checkpoint.resolve() == marked.with_name(f"{marked.stem}-{outcome.test_accuracy * 100:.2f}"
                                                            f"{marked.suffix}")
    assert not list(markers.glob("*.json"))


def test_stopping_mid_epoch_shows_and_keeps_the_checkpoint_of_the_last_whole_epoch(window, qtbot, checkpoint):
    """What is shown is what is saved: Stop inside epoch 2 leaves the file at epoch 1, and the window shows it."""
    from cnndesk.engine import load_model

    before = checkpoint.read_bytes()
    controller = window.runner.controller
    run = controller.run

    class StopInEpoch2(TrainingCallback):  # on the training thread, right after epoch 2's first batch
        def on_batches(self, batches) -> None:
            controller.stop()

    def run_and_stop(plan, callbacks=(), **kwargs):
        return run(plan, [*callbacks, StopInEpoch2()], **{**kwargs, "report_interval": 0})

    controller.run = run_and_stop
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as finished:
        assert window.resume_from(checkpoint)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    outcome = finished.args[0]
    assert outcome.status == "stopped" and outcome.checkpoint == checkpoint
    assert checkpoint.read_bytes() == before  # the file still holds epoch 1, resumable
    saved, meta = load_model(checkpoint)
    shown = window.predictor.model.state_dict()
    assert all(np.array_equal(shown[k].numpy(), v.numpy()) for k, v in saved.state_dict().items())
    accuracy = f"{meta['metrics']['test_accuracy']:.2%}"
    assert accuracy in window.modelStatus.text() and accuracy in window.trainingPanel.statusLabel.text()
    assert "Kept epoch 1" in window.trainingPanel.statusLabel.text()


def test_a_run_left_by_a_dead_process_is_offered_and_resumed(qtbot, checkpoint, markers, dead_pid):
    marker = write_marker(markers, checkpoint, dead_pid)
    win = open_window(qtbot)
    try:
        bar = win.restoreBar
        assert bar.isVisible() and bar.resumeButton.isVisible()
        assert "training lenet5 (epoch 1 of 3 saved at" in bar.label.text()
        with qtbot.waitSignal(win.runner.finished, timeout=60000) as finished:
            qtbot.mouseClick(bar.resumeButton, Qt.MouseButton.LeftButton)
            assert not bar.isVisible()
        qtbot.waitUntil(lambda: not win.runner.is_running(), timeout=10000)
        assert finished.args[0].result.epochs_completed == 3
        assert read_metadata(checkpoint)["resume"]["epochs_completed"] == 3
        assert not marker.exists()
    finally:
        win.close()


def test_discard_forgets_the_run_but_keeps_its_checkpoint(qtbot, checkpoint, markers, dead_pid):
    marker = write_marker(markers, checkpoint, dead_pid)
    win = open_window(qtbot)
    try:
        qtbot.mouseClick(win.restoreBar.discardButton, Qt.MouseButton.LeftButton)
        assert not marker.exists() and checkpoint.exists()
        assert not win.restoreBar.isVisible() and not win.runner.is_running()
    finally:
        win.close()


def test_open_makes_the_interrupted_run_the_current_model(qtbot, checkpoint, markers, dead_pid):
    marker = write_marker(markers, checkpoint, dead_pid)
    win = open_window(qtbot)
    try:
        qtbot.mouseClick(win.restoreBar.openButton, Qt.MouseButton.LeftButton)
        assert checkpoint.name in win.windowTitle() and not marker.exists()
        assert not win.runner.is_running()
        assert np.isfinite(win.predictor.inspect(np.zeros((28, 28), np.float32)).probabilities).all()
    finally:
        win.close()


def test_a_live_run_of_another_window_is_not_offered(qtbot, checkpoint, markers):
    marker = write_marker(markers, checkpoint, os.getpid())
    win = open_window(qtbot)
    try:
        assert not win.restoreBar.isVisible() and marker.exists()
    finally:
        win.close()


def test_a_crash_before_the_first_epoch_is_mentioned_and_forgotten(qtbot, tmp_path, markers, dead_pid):
    marker = write_marker(markers, tmp_path / "lenet5-never.safetensors", dead_pid)
    win = open_window(qtbot)
    try:
        assert not win.restoreBar.isVisible() and not marker.exists()
        assert "before the first epoch ended" in win.statusBar().currentMessage()
    finally:
        win.close()


def test_the_restore_offer_appears_without_moving_the_canvas(make_window, stroke, qtbot, checkpoint, markers,
                                                              dead_pid):
    write_marker(markers, checkpoint, dead_pid)
    win = make_window(load_engine=False)  # as the app starts: the offer comes once PyTorch has loaded
    assert not win.restoreBar.isVisible()
    stroke(win.canvas, [(140, 40), (140, 240)])  # someone is drawing meanwhile
    canvas_at = win.canvas.mapTo(win, win.canvas.rect().topLeft()), win.canvas.size()
    with qtbot.waitSignal(win.engineReady, timeout=30000):
        win.start_loading()
    qtbot.wait(50)  # the layout settles
    assert win.restoreBar.isVisible()
    assert (win.canvas.mapTo(win, win.canvas.rect().topLeft()), win.canvas.size()) == canvas_at
    # It floats in the window's bottom right corner, over neither the canvas nor the status bar, whole.
    bar = win.restoreBar.geometry()
    assert win.rect().contains(bar) and bar.width() >= win.restoreBar.minimumSizeHint().width()
    assert bar.bottom() < win.statusBar().geometry().top()
    assert not bar.intersects(win.canvas.geometry().translated(win.canvas.mapTo(win, win.canvas.rect().topLeft())
                                                               - win.canvas.geometry().topLeft()))
    gaps = win.width() - bar.right(), win.statusBar().geometry().top() - bar.bottom()
    win.resize(900, 700)  # it follows the corner
    qtbot.wait(50)
    moved = win.restoreBar.geometry()
    assert (win.width() - moved.right(), win.statusBar().geometry().top() - moved.bottom()) == gaps


def test_a_checkpoint_refused_on_its_tensors_leaves_the_form_and_plots_alone(window, qtbot, checkpoint, tmp_path):
    """Its header is fine, its weights are not numbers: refused before training, nothing in the window changes."""
    import json as json_module

    import torch
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(checkpoint), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = handle.metadata()
    tensors["conv1.weight"] = torch.full_like(tensors["conv1.weight"], float("nan"))
    broken = tmp_path / "nan.safetensors"
    save_file(tensors, str(broken), metadata=metadata)
    assert json_module.loads(metadata["cnndesk"])["resume"]["epochs_completed"] == 1

    panel = window.trainingPanel
    panel.epochsSpin.setValue(5)
    before = (panel.epochsSpin.value(), panel.batchSpin.value(), panel.testAccuracy.size)
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as finished:
        assert window.resume_from(broken)  # the header passes; the tensors are checked in the training thread
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    assert finished.args[0].status == "failed"
    assert (panel.epochsSpin.value(), panel.batchSpin.value(), panel.testAccuracy.size) == before
    assert panel.statusLabel.text().startswith("Could not resume:") and "not numbers" in panel.statusLabel.text()
