"""What cnndesk says, in one place for the command line and the window: durations, run names, run outcomes.

Every sentence goes through ``translate`` first. It returns the English text unless a front end installs a
translator (the window installs Qt's, so that the same sentences appear in the user's language there).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cnndesk.engine import ModelSummary, TrainConfig

    from .runs import RunOutcome

_translator: Callable[[str], str] = lambda text: text  # noqa: E731


def set_translator(translator: Callable[[str], str]) -> None:
    """Route every sentence of this module through ``translator`` (source text in, shown text out)."""
    global _translator
    _translator = translator


def tr(text: str, **values: Any) -> str:
    """``text`` translated, then its ``{placeholders}`` filled in."""
    translated = _translator(text)
    return translated.format(**values) if values else translated


def format_duration(seconds: float) -> str:
    """Elapsed and remaining times as m:ss (h:mm:ss past an hour)."""
    minutes, secs = divmod(max(0, round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_eta(seconds: float) -> str:
    """The time left, or "estimating…" while the first steps have not yet shown the run's speed."""
    return format_duration(seconds) if math.isfinite(seconds) else tr("estimating…")


def format_percent(value: float | None) -> str:
    return "—" if value is None or not math.isfinite(value) else f"{value:.2%}"


def epochs_text(count: float) -> str:
    """"1 epoch", "2 epochs", "1.50 epochs"."""
    if count == int(count):
        return tr("1 epoch") if count == 1 else tr("{n} epochs", n=int(count))
    return tr("{n:.2f} epochs", n=count)


def option_labels(model: str, options: dict[str, Any]) -> list[str]:
    """A model's options, compactly: the activation, then each option that differs from the model's default."""
    from cnndesk.engine import model_spec

    defaults = model_spec(model).defaults
    parts = [str(options["activation"])] if "activation" in options else []
    return parts + [f"{k}={v}" for k, v in sorted(options.items()) if k != "activation" and defaults.get(k) != v]


def run_options(config: TrainConfig) -> list[str]:
    """What sets a run apart, compactly: its activation, then options and settings that differ from the recipe."""
    from cnndesk.engine import TrainConfig, model_config

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
        parts.append(tr("no augment"))
    return parts


def run_label(config: TrainConfig) -> str:
    """A short name for a run, for legends and tables: "mlp · tanh", "lenet5 · relu · lr 0.01"."""
    return " · ".join([config.model, *run_options(config)])


def model_run_label(model: str, options: dict[str, Any]) -> str:
    """"mlp (tanh)", "lenet5 (relu, pooling=avg)": the activation, and the options away from the defaults."""
    parts = option_labels(model, options)
    return f"{model} ({', '.join(parts)})" if parts else model


def outcome_text(outcome: RunOutcome, full_path: bool = False, resume_hint: str | None = None) -> str:
    """One or two sentences on how a run ended and what is now the current model, for status bars and stderr
    (``full_path``: the checkpoint's whole path, for a terminal; else its file name; ``resume_hint``: how to go on
    with a stopped run, in the words of the front end — by default the window's *Resume run…*)."""
    from .runs import DIVERGED, FAILED, FINISHED, NOTHING_SAVED, STOPPED, TARGET

    name = outcome.plan.config.model
    where = "" if outcome.checkpoint is None else str(outcome.checkpoint) if full_path else outcome.checkpoint.name
    accuracy = format_percent(outcome.test_accuracy)
    kept = tr("Kept epoch {epoch} ({accuracy}) in {file}.", epoch=outcome.epochs, accuracy=accuracy, file=where)
    if outcome.status == FINISHED:
        return tr("{model} trained {epochs}: test accuracy {accuracy}. Saved {file}.", model=name,
                  epochs=epochs_text(outcome.epochs), accuracy=accuracy, file=where)
    if outcome.status == TARGET:
        return tr("{model} reached the target after {epochs}: test accuracy {accuracy}. Saved {file}.",
                  model=name, epochs=epochs_text(outcome.result.epochs_trained if outcome.result else 0),
                  accuracy=accuracy, file=where)
    if outcome.status == STOPPED:
        if not outcome.resumable:
            return tr("Stopped. {kept}", kept=kept)
        return tr("Stopped. {kept} {hint}", kept=kept, hint=resume_hint or tr("Resume run… continues it."))
    if outcome.status == NOTHING_SAVED:
        return tr("Stopped before the first epoch ended: nothing was saved, and the previous model stays.")
    if outcome.status == DIVERGED:
        divergence = outcome.result.divergence if outcome.result else None
        step = divergence.step if divergence else 0
        loss = f"{divergence.loss:g}" if divergence else "nan"
        said = tr("Training diverged at step {step} (loss {loss}): lower the learning rate.", step=step, loss=loss)
        if outcome.checkpoint is None:
            return said + " " + tr("Nothing was saved, and the previous model stays.")
        return f"{said} {kept}"
    if outcome.status == FAILED:
        if outcome.result is None and outcome.plan.resume is not None:  # refused before anything trained
            return tr("Could not resume: {error}", error=outcome.error or "")
        return tr("Training failed: {error}", error=outcome.error or "")
    raise ValueError(outcome.status)


def summary_table(summary: ModelSummary) -> str:
    """A model's summary as a plain-text table, one layer a line, totals last."""
    formula = "O = (W − K + 2P) / S + 1"
    header = f"{'layer':<10} {'type':<17} {'output':<14} {'params':>9} {'mult-adds':>11}  {formula:<28} rf"
    lines = [f"{summary.model}", header, "-" * len(header)]
    for r in summary.layers:
        shape = "[" + ", ".join(map(str, r.output_shape)) + "]"
        rf = f"{r.receptive_field}×{r.receptive_field}" if r.receptive_field else ""
        lines.append(f"{r.name:<10} {r.type:<17} {shape:<14} {r.params:>9,} {r.macs:>11,}  {r.formula or '':<28} {rf}")
    lines.append("-" * len(header))
    lines.append(f"{'total':<10} {'':<17} {'':<14} {summary.total_params:>9,} {summary.total_macs:>11,}")
    return "\n".join(lines)
