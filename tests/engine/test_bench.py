"""`cnndesk bench`'s time-to-accuracy row: the median of whole commands, met only if every run got there."""

from __future__ import annotations

import pytest

from cnndesk.engine import bench


@pytest.mark.parametrize(("runs", "median", "met"), [
    ([(7.2, 0.9901), (10.4, 0.9901), (8.1, 0.9901)], 8.1, True),   # one slow run on a busy host
    ([(10.2, 0.9901), (10.4, 0.9901), (8.1, 0.9901)], 10.2, False),
    ([(7.2, 0.9901), (7.4, 0.9899), (7.3, 0.9901)], 7.3, False),   # a run that fell short of 99%
])
def test_time_to_99_is_the_median_of_whole_commands(monkeypatch, runs, median, met):
    commands = []
    results = iter(runs)

    def fake_command(args):
        commands.append(args)
        seconds, accuracy = next(results)
        return seconds, {"test_accuracy": accuracy, "epochs_trained": 1.5}

    monkeypatch.setattr(bench, "_time_command", fake_command)
    (row,) = bench.bench_time_to_accuracy(repeats=3)
    assert len(commands) == 3 and "--target-accuracy" in commands[0] and "0.99" in commands[0]
    assert row["value"] == median and row["met"] is met
    assert row["detail"]["runs_s"] == [seconds for seconds, _ in runs]
