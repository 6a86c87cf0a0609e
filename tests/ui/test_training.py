"""Training from the window through the real worker thread."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from cnndesk.engine import load_model


def start(window, qtbot, images: int, epochs: int) -> None:
    panel = window.trainingPanel
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData("lenet5"))
    panel.samplesSpin.setValue(images)
    panel.epochsSpin.setValue(epochs)
    panel.batchSpin.setValue(64)
    qtbot.mouseClick(panel.trainButton, Qt.MouseButton.LeftButton)
    assert window.runner.is_running()


def test_short_training_fills_both_plots_and_becomes_the_model(window, qtbot, stroke):
    stroke(window.canvas, [(140, 40), (140, 240)])
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as finished:
        start(window, qtbot, images=640, epochs=2)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    outcome = finished.args[0]
    panel = window.trainingPanel
    assert panel.rawLoss.size == 2 * 10  # 640 images / batch 64, two epochs: every batch plotted
    assert np.all(np.isfinite(panel.rawLoss.y[: panel.rawLoss.size]))
    assert panel.trainAccuracy.size == 2 and panel.testAccuracy.size == 2
    raw_item = window.trainingPanel.lossPlot.getPlotItem().listDataItems()[0]
    assert len(raw_item.xData) == 20 and raw_item.xData[-1] == 20
    assert panel.trainButton.isEnabled() and not panel.stopButton.isEnabled()
    # The trained model is now the one predicting, and it was saved automatically.
    assert outcome.checkpoint is not None and outcome.checkpoint.exists()
    saved, meta = load_model(outcome.checkpoint)
    assert meta["training"]["train_samples"] == 640
    probs_window = window.predictor.inspect(np.zeros((28, 28), np.float32)).probabilities
    import torch

    with torch.inference_mode():
        probs_saved = torch.softmax(saved(torch.zeros(1, 1, 28, 28)), 1)[0].numpy()
    np.testing.assert_allclose(probs_window, probs_saved, atol=1e-6)
    assert window.predictionLabel.text()[:1].isdigit()


def test_live_prediction_follows_the_weights_while_training(window, qtbot, stroke):
    stroke(window.canvas, [(140, 40), (140, 240)])
    seen = []
    window.runner.weights.connect(lambda _: seen.append(window.probabilities.values.copy()))
    with qtbot.waitSignal(window.runner.finished, timeout=60000):
        start(window, qtbot, images=1280, epochs=2)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    assert len(seen) >= 2
    # From random weights to a trained model: the bars the user watches changed along the way.
    assert max(np.abs(s - seen[-1]).max() for s in seen) > 0.01


def test_stop_mid_epoch_ends_the_thread(window, qtbot):
    with qtbot.waitSignal(window.runner.metrics, timeout=30000):
        start(window, qtbot, images=30000, epochs=3)
    with qtbot.waitSignal(window.runner.finished, timeout=30000) as finished:
        qtbot.mouseClick(window.trainingPanel.stopButton, Qt.MouseButton.LeftButton)
    result = finished.args[0].result
    assert result.stopped and result.epochs_completed == 0
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    assert window.trainingPanel.trainButton.isEnabled()


def test_pause_holds_training_and_resume_continues(window, qtbot):
    with qtbot.waitSignal(window.runner.metrics, timeout=30000):
        start(window, qtbot, images=30000, epochs=1)
    qtbot.mouseClick(window.trainingPanel.pauseButton, Qt.MouseButton.LeftButton)
    assert window.runner.is_paused()
    # The batch in flight and its report may still arrive (late, on a loaded machine): wait until the curve holds.
    size = -1
    for _ in range(50):
        qtbot.wait(200)
        if window.trainingPanel.rawLoss.size == size:
            break
        size = window.trainingPanel.rawLoss.size
    qtbot.wait(500)
    assert window.trainingPanel.rawLoss.size == size  # no batch trains while paused
    qtbot.mouseClick(window.trainingPanel.pauseButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: window.trainingPanel.rawLoss.size > size, timeout=10000)
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.runner.stop()


def test_closing_the_window_mid_training_joins_the_thread(qtbot):
    from cnndesk.ui import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    with qtbot.waitSignal(win.runner.metrics, timeout=30000):
        start(win, qtbot, images=30000, epochs=5)
    win.close()
    assert not win.runner.is_running()


def test_save_and_open_round_trip_gives_identical_outputs(window, tmp_path):
    from cnndesk.engine import build_model

    probe = np.eye(28, dtype=np.float32)
    # A model of its own, unlike the bundled one the window starts with: only a real load brings it back.
    mine = build_model("lenet5")
    window.set_model(mine, {"model": mine.config}, None)
    before = window.predictor.inspect(probe)
    path = window.save_model_to(tmp_path / "mine.safetensors")
    assert path is not None and path.exists()
    window.set_model(*load_model(None), path=None)  # the bundled LeNet5 again
    bundled = window.predictor.inspect(probe)
    assert not np.allclose(bundled.probabilities, before.probabilities)
    assert window.open_model(path)
    assert window.statusBar().currentMessage() == "Opened mine.safetensors"
    after = window.predictor.inspect(probe)
    np.testing.assert_array_equal(before.probabilities, after.probabilities)
    assert "mine.safetensors" in window.windowTitle()


def test_opening_a_bad_checkpoint_keeps_the_model_and_says_why(window, tmp_path):
    bad = tmp_path / "broken.safetensors"
    bad.write_bytes(b"\x00garbage")
    model_before = window.predictor.model
    assert not window.open_model(bad)
    assert window.predictor.model is model_before
    assert "broken.safetensors" in window.statusBar().currentMessage()


def test_activation_and_weight_decay_reach_the_training_config(window):
    panel = window.trainingPanel
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData("lenet5-classic"))
    assert panel.activationCombo.currentData() == "sigmoid"  # the model's own default
    panel.activationCombo.setCurrentIndex(panel.activationCombo.findData("tanh"))
    panel.weightDecaySpin.setValue(0.0005)
    config = panel.config()
    assert config.model == "lenet5-classic"
    assert config.model_options["activation"] == "tanh" and config.weight_decay == 0.0005


def test_drawing_while_training_leaves_a_core_to_the_window(window, qtbot):
    from PySide6.QtCore import QPoint
    from PySide6.QtTest import QTest

    from cnndesk.ui.worker import TRAIN_THREADS

    start(window, qtbot, images=60000, epochs=1)
    controller = window.runner.controller
    qtbot.waitUntil(lambda: controller._control is not None, timeout=20000)  # the run is live in its thread
    middle = QPoint(window.canvas.width() // 2, window.canvas.height() // 2)
    QTest.mousePress(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, middle)
    assert controller.thread_limit == TRAIN_THREADS - 1
    assert controller._control.thread_limit == max(1, TRAIN_THREADS - 1)
    QTest.mouseRelease(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, middle)
    assert controller.thread_limit is None and controller._control.thread_limit is None
    QTest.mousePress(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, middle)
    window.canvas.clear()  # Esc in the middle of a stroke ends it too
    assert controller.thread_limit is None
    window.runner.stop()
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=20000)
