"""The smoothed loss: one rule for the window's curve and the command line's progress bar."""

from __future__ import annotations

import io

import numpy as np
import pytest

from cnndesk.engine import BatchMetrics
from cnndesk.session.smoothing import LossSmoother


def test_the_smoothing_follows_the_loss_from_the_first_batch_and_does_not_depend_on_grouping():
    losses = np.linspace(2.3, 0.1, 50)
    whole = LossSmoother()(losses)
    assert whole[0] == pytest.approx(2.3)  # bias-corrected: no lag from zero
    grouped = LossSmoother()
    parts = np.concatenate([grouped(losses[:7]), grouped(losses[7:30]), grouped(losses[30:])])
    np.testing.assert_allclose(parts, whole)


def test_the_command_lines_progress_shows_the_windows_figure():
    from cnndesk.cli import _progress_printer

    printer = _progress_printer(io.StringIO(), epochs=1)
    losses = [2.3, 2.1, 1.7, 1.2, 0.9]
    for step, loss in enumerate(losses, start=1):
        printer.on_batches([BatchMetrics(1, step, 5, step, loss, step * 64, 1000.0, 0.1 * step, float("nan"))])
    assert printer.smoothed == pytest.approx(LossSmoother()(losses)[-1])
