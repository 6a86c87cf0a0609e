"""Experiments: train several configurations one after another and compare them (CNN vs MLP, ReLU vs Tanh…)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write
from .train import FitResult, TrainConfig, TrainingCallback, TrainingControl, fit


@dataclass(frozen=True)
class RunRow:
    model: str
    options: dict[str, Any]
    epochs: int
    test_accuracy: float
    train_accuracy: float
    train_seconds: float
    params: int
    stopped: bool

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def row_of(result: FitResult, params: int) -> RunRow:
    last = result.history[-1] if result.history else None
    return RunRow(
        model=result.config.model,
        options=dict(result.model.config["options"]),
        epochs=result.epochs_completed,
        test_accuracy=result.test_accuracy,
        train_accuracy=last.train_accuracy if last else math.nan,
        train_seconds=result.train_seconds,
        params=params,
        stopped=result.stopped,
    )


def run_queue(
    configs: Sequence[TrainConfig],
    callbacks_for: Callable[[int, TrainConfig], Sequence[TrainingCallback]] = lambda i, c: (),
    control: TrainingControl | None = None,
) -> list[RunRow]:
    """Train each config in turn; a stop flag ends the queue after the run in progress."""
    rows: list[RunRow] = []
    for index, config in enumerate(configs):
        if control is not None and control.stopped:
            break
        result = fit(config, callbacks=callbacks_for(index, config), control=control)
        rows.append(row_of(result, sum(p.numel() for p in result.model.parameters())))
    return rows


def write_csv(rows: Sequence[RunRow], path: str | Path) -> Path:
    """The comparison table as CSV (written atomically)."""
    path = Path(path)
    fields = ["model", "options", "epochs", "test_accuracy", "train_accuracy", "train_seconds", "params", "stopped"]

    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=fields)
            writer.writeheader()
            for row in rows:
                data = row.to_dict()
                data["options"] = ";".join(f"{k}={v}" for k, v in sorted(row.options.items()))
                writer.writerow(data)

    atomic_write(path, write)
    return path
