"""The replay: a trained model's snapshots on a slider; every view shows the network as it was at that step."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt

from tests.ui.test_training import start


def _train(window, qtbot, stroke, epochs: int = 2):
    stroke(window.canvas, [(100, 60), (180, 60), (120, 240)])  # a 7
    with qtbot.waitSignal(window.runner.finished, timeout=60000) as finished:
        start(window, qtbot, images=1280, epochs=epochs)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    return finished.args[0]


def test_the_slider_replays_the_run_and_comes_back_to_the_final_weights(window, qtbot, stroke):
    assert not window.historyReplay.isVisible()  # the bundled model has no history to replay
    outcome = _train(window, qtbot, stroke)
    history = window.session.history
    assert history is not None and len(history) >= 3
    slider = window.historySlider
    assert window.historyReplay.isVisible() and slider.maximum() == len(history)
    assert slider.value() == slider.maximum()  # the final weights, as the run left them
    final = window.probabilities.values.copy()
    kernels = window.filtersView  # (drawn when its tab is shown)

    slider.setValue(0)  # before the first step: the initial, random weights
    assert window.session.snapshot == 0
    first = window.probabilities.values.copy()
    assert np.abs(first - final).max() > 0.05  # the bars the user watches are the untrained network's
    import torch

    with torch.inference_mode():
        expected = torch.softmax(history.model_at(0)(torch.from_numpy(window.session.input.centred)[None, None]), 1)
    np.testing.assert_allclose(first, expected[0].numpy(), atol=1e-5)
    assert "step 0" in window.historyLabel.text()
    mark = window.trainingPanel.snapshotMarks[0]
    assert mark.isVisible() and mark.value() == 0

    qtbot.mouseClick(window.latestButton, Qt.MouseButton.LeftButton)
    assert window.session.snapshot is None and slider.value() == slider.maximum()
    np.testing.assert_allclose(window.probabilities.values, final, atol=1e-6)
    assert not window.trainingPanel.snapshotMarks[0].isVisible()
    # The model itself was never touched: the saved file holds what is shown again.
    assert outcome.checkpoint is not None and kernels is not None


def test_play_steps_through_every_snapshot_and_stops_at_the_end(window, qtbot, stroke):
    _train(window, qtbot, stroke, epochs=1)
    seen = []
    window.session.snapshot_changed.connect(seen.append)
    window.playButton.click()
    qtbot.waitUntil(lambda: not window.playButton.isChecked(), timeout=60000)
    history = window.session.history
    assert seen[: len(history)] == list(range(len(history)))  # from the first step, one snapshot after another
    assert seen[-1] is None and window.historySlider.value() == window.historySlider.maximum()


def test_a_checkpoint_opened_later_replays_too_and_a_snapshot_shows_its_confusion_matrix(window, qtbot, stroke):
    outcome = _train(window, qtbot, stroke, epochs=1)
    window.session.open_model(window.session.model.path)  # as File → Open would, later
    assert window.session.history is not None and window.historyReplay.isVisible()
    test_set = next(panel for panel in window.panels if type(panel).__name__ == "TestSetPanel")
    window.inspectTabs.setCurrentWidget(test_set.widget())
    window.historySlider.setValue(1)
    snapshot = window.session.history[1]
    matrix = window.confusionMatrix.matrix
    assert matrix is not None and matrix.sum() == window.session.history.test_images
    np.testing.assert_array_equal(matrix, snapshot.confusion)
    assert f"{snapshot.step:,}" in window.evaluateResult.text()
    assert outcome.checkpoint is not None


def test_keyboard_steps_through_the_snapshots(window, qtbot, stroke):
    _train(window, qtbot, stroke, epochs=1)
    last = window.historySlider.maximum()
    window.historySlider.setValue(2)
    window.step(1)
    assert window.session.snapshot == 3
    window.show_latest()
    assert window.historySlider.value() == last and window.session.snapshot is None


def test_the_step_is_marked_only_on_the_curves_of_the_run_replayed(window, qtbot, stroke, tmp_path):
    import shutil

    outcome = _train(window, qtbot, stroke, epochs=1)
    window.historySlider.setValue(1)
    assert window.trainingPanel.snapshotMarks[0].isVisible()  # the curves are this run's
    other = tmp_path / "another-run.safetensors"  # (another run's file, as far as the curves know)
    shutil.copy(outcome.checkpoint, other)
    window.session.open_model(other)
    # The curves are the opened file's own record now (its epochs' accuracy and mean loss), marked there.
    assert window.trainingPanel.testAccuracy.size == 1
    window.historySlider.setValue(1)
    assert window.session.snapshot == 1 and window.trainingPanel.snapshotMarks[0].isVisible()


def test_a_checkpoint_opened_in_a_new_window_brings_its_curves(window, make_window, qtbot, stroke):
    """After a restart (the language, a crash) or File → Open: how the model was trained is on the plots again —
    each epoch's accuracy, its mean loss at the step it ended — and the replay marks its steps on them."""
    outcome = _train(window, qtbot, stroke, epochs=2)
    record = window.session.model.meta["metrics"]["history"]
    later = make_window(checkpoint=str(outcome.checkpoint))
    panel = later.trainingPanel
    epochs, test_accuracy = panel.testAccuracy.item.getData()
    np.testing.assert_allclose(epochs, [1, 2])
    np.testing.assert_allclose(test_accuracy, [entry["test_accuracy"] for entry in record])
    steps, losses = panel.smoothLoss.item.getData()
    history = later.session.history
    assert steps[-1] == history[-1].step  # the last epoch ends where the last snapshot was taken
    np.testing.assert_allclose(losses, [entry["train_loss"] for entry in record])
    assert "2 epochs" in panel.statusLabel.text()
    later.historySlider.setValue(1)
    assert panel.snapshotMarks[0].isVisible() and panel.snapshotMarks[0].value() == history[1].step


def test_my_digits_gives_the_snapshot_s_own_mnist_figure_during_the_replay(window, qtbot, stroke):
    _train(window, qtbot, stroke, epochs=1)
    window.labelButtons[7].click()  # the 7 on the canvas, kept (in the test session's data folder: removed after)
    try:
        window.bottomTabs.setCurrentWidget(window.myDigits)
        window.historySlider.setValue(0)
        snapshot = window.session.history[0]
        text = window.myDigitsAccuracy.text()
        assert "at step 0" in text and f"{snapshot.test_accuracy:.1%} of MNIST's first 1,000 test digits" in text
        window.show_latest()
        assert "at step" not in window.myDigitsAccuracy.text()
    finally:
        window.digitGallery.selectAll()
        window.deleteButton.click()


def test_the_kernels_keep_the_final_weights_colour_scale_through_the_replay(window, qtbot, stroke):
    _train(window, qtbot, stroke, epochs=1)
    window.inspectTabs.setCurrentWidget(window.filterPages)
    final = {row.layer.name: row.bar.levels() for row in window.filtersView.rows}
    window.historySlider.setValue(0)  # the initial weights: another largest weight, the same scale
    for row in window.filtersView.rows:
        assert row.bar.levels() == final[row.layer.name]
        assert float(abs(row.layer.weights).max()) != final[row.layer.name][1]
