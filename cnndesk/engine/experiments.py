"""Experiments: the tutorials' comparisons as run settings (CNN vs MLP, ReLU vs Tanh…), and their results as rows.

The queue that trains them is cnndesk.session.runs; how runs are named for people is cnndesk.session.text.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write
from .errors import CnndeskError
from .models import ACTIVATIONS
from .train import FitResult, TrainConfig


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


def activation_sweep(base: TrainConfig) -> list[TrainConfig]:
    """The base run once per activation (ReLU, Tanh, Sigmoid, LeakyReLU), everything else unchanged."""
    return [replace(base, model_options={**base.model_options, "activation": name}) for name in ACTIVATIONS]


def model_sweep(models: Sequence[str], base: TrainConfig) -> list[TrainConfig]:
    """Each model with its own recipe, and the base run's epochs, data, device and seed, so they compare fairly."""
    configs = []
    for name in models:
        config = TrainConfig.for_model(name, epochs=base.epochs, device=base.device, seed=base.seed,
                                       dataset=base.dataset, train_samples=base.train_samples,
                                       test_samples=base.test_samples)
        config.augment = base.augment
        configs.append(config)
    return configs


# The comparisons of the tutorials, each a function of the run the user has set up.
PRESETS: dict[str, Callable[[TrainConfig], list[TrainConfig]]] = {
    "activations": activation_sweep,
    "cnn-vs-mlp": lambda base: model_sweep(("lenet5", "cnn2", "mlp"), base),
    "lenet5-net2-cnn2": lambda base: model_sweep(("lenet5", "net2", "cnn2"), base),
}


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

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise CnndeskError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    return path
