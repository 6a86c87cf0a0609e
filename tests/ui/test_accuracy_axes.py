"""Accuracy plots keep their y axis within 0–1, and an emptied plot forgets the last run's range."""

from __future__ import annotations

from cnndesk.engine import EpochMetrics
from cnndesk.ui.plotting import ACCURACY_MARGIN


def epoch(n: int, accuracy: float) -> EpochMetrics:
    return EpochMetrics(epoch=n, train_loss=0.1, train_accuracy=accuracy, test_accuracy=accuracy, seconds=1.0,
                        samples_per_second=1000.0)


def y_range(plot) -> tuple[float, float]:
    plot.getViewBox().updateAutoRange()
    low, high = plot.getViewBox().viewRange()[1]
    return low, high


def test_the_training_accuracy_axis_stays_within_0_and_1_and_resets(window, qtbot):
    panel = window.trainingPanel
    for n, accuracy in enumerate([0.97, 0.99, 1.0], start=1):
        panel.add_epoch(epoch(n, accuracy))
    qtbot.wait(50)
    low, high = y_range(panel.accuracyPlot)
    assert high <= 1 + ACCURACY_MARGIN + 1e-9 and low >= -ACCURACY_MARGIN - 1e-9
    assert low > 0.5  # it zooms in on the epochs shown
    panel.reset_curves()
    qtbot.wait(50)
    assert y_range(panel.accuracyPlot) == (0.0, 1.0)


def test_the_experiments_accuracy_axis_stays_within_0_and_1_and_an_empty_plot_resets(window, qtbot):
    from cnndesk.engine import TrainConfig

    view = window.experiments
    run = view._new_run(TrainConfig.for_model("mlp", epochs=3))
    import numpy as np

    run.accuracy.extend(np.array([1.0, 2.0, 3.0]), np.array([0.98, 1.0, 1.0]))
    qtbot.wait(50)
    low, high = y_range(view.accuracyPlot)
    assert high <= 1 + ACCURACY_MARGIN + 1e-9 and low > 0.5
    view.clear_results()
    qtbot.wait(50)
    assert y_range(view.accuracyPlot) == (0.0, 1.0)


def test_the_epoch_axis_numbers_at_most_eight_epochs():
    """16 epochs numbered one by one ran into each other ("9101112") in the accuracy plot's width."""
    from cnndesk.ui.training_panel import MAX_EPOCH_TICKS, epoch_tick_step

    for epochs in (1, 2, 8, 9, 16, 32, 100, 1000):
        step = epoch_tick_step(epochs)
        assert step >= 1 and epochs / step <= MAX_EPOCH_TICKS
    assert epoch_tick_step(8) == 1 and epoch_tick_step(16) == 2
