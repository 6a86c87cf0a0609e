"""Experiments: train several configurations one after another and compare them (CNN vs MLP, ReLU vs Tanh…)."""

from __future__ import annotations

import csv
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write
from .errors import CnndeskError
from .models import ACTIVATIONS, model_config, model_spec
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


def option_labels(model: str, options: dict[str, Any]) -> list[str]:
    """A model's options, compactly: the activation, then each option that differs from the model's default."""
    defaults = model_spec(model).defaults
    parts = [str(options["activation"])] if "activation" in options else []
    return parts + [f"{k}={v}" for k, v in sorted(options.items()) if k != "activation" and defaults.get(k) != v]


def run_options(config: TrainConfig) -> list[str]:
    """What sets a run apart, compactly: its activation, then options and settings that differ from the recipe."""
    parts = option_labels(config.model, model_config(config.model, **config.model_options)["options"])
    recipe = TrainConfig.for_model(config.model)
    if config.lr != recipe.lr:
        parts.append(f"lr {config.lr:g}")
    if config.batch_size != recipe.batch_size:
        parts.append(f"batch {config.batch_size}")
    if config.optimizer != recipe.optimizer:
        parts.append(config.optimizer)
    if config.schedule != recipe.schedule:
        parts.append(config.schedule)
    if config.weight_decay != recipe.weight_decay:
        parts.append(f"wd {config.weight_decay:g}")
    if not config.augment:
        parts.append("no augment")
    return parts


def run_label(config: TrainConfig) -> str:
    """A short name for a run, for legends and tables: "mlp · tanh", "lenet5 · relu · lr 0.01"."""
    return " · ".join([config.model, *run_options(config)])


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

    try:
        atomic_write(path, write)
    except OSError as exc:
        raise CnndeskError(f"Cannot write {path}: {exc.strerror or exc}.") from exc
    return path
