"""Resuming a run from its checkpoint, after checking every field and tensor the checkpoint holds.

A resumable checkpoint is a file anyone can edit, and what it holds goes straight into kernels that trust their
input: Adam's fused kernel crashes the process on a moment tensor of the wrong shape, a cut moment trains to NaN,
a string where a number belongs raises deep inside PyTorch. So nothing from the file reaches the training loop
before it has been compared with what this run's own optimizer and schedule hold (built here on a throwaway copy
of the model) and tried for one step on that copy. A damaged or crafted checkpoint is refused with one
``CnndeskError`` sentence that names the file and the field.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
import types
import typing
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import safe_open

from .errors import CnndeskError

if TYPE_CHECKING:
    from .models import Network
    from .train import EpochMetrics, TrainConfig

# Flags that choose a kernel, not the arithmetic: a checkpoint written where another kernel was picked (fused on
# a CPU, foreach elsewhere) continues the same run, so they may differ from this run's.
KERNEL_FLAGS = frozenset({"foreach", "fused"})
# Optimizer state that is a count or a square: a negative value is impossible and turns Adam's update into NaN.
NON_NEGATIVE_STATE = frozenset({"step", "exp_avg_sq", "max_exp_avg_sq"})
_INDEX = re.compile(r"0|[1-9][0-9]*")


@dataclass(frozen=True)
class ResumePoint:
    """Where a resumable checkpoint's run stands, read from its header (no weights loaded)."""

    path: Path
    config: TrainConfig  # the run's own settings
    epochs_completed: int
    history: list[EpochMetrics]  # the epochs already trained

    @property
    def finished(self) -> bool:
        return self.epochs_completed >= self.config.epochs


def resume_point(path: str | Path) -> ResumePoint:
    """The settings and progress of the run a checkpoint can continue, every header field checked by type.

    Raises CnndeskError (one sentence naming the file and the field) if the checkpoint cannot be resumed.
    """
    from .checkpoint import read_metadata

    path = Path(path)
    meta = read_metadata(path)
    resume = meta.get("resume")
    if not isinstance(resume, dict):
        raise CnndeskError(f"{path.name} cannot be resumed: it holds weights only (no optimizer state). "
                           "Only the checkpoints that training writes after each epoch can be resumed.")
    config = _training_config(path, meta["training"])
    history = _history(path, meta["metrics"])
    epochs = _epochs_completed(path, resume, config)
    return ResumePoint(path, config, epochs, history[:epochs])


def load_resume_state(
    path: str | Path, config: TrainConfig, steps_per_epoch: int
) -> tuple[Network, dict[str, Any], dict[str, Any]]:
    """The model, metadata and resume state of a checkpoint, checked against the run ``config`` describes.

    ``steps_per_epoch`` is this run's number of batches per epoch (the schedule's position depends on it).
    Returns ``(model, meta, state)`` with ``state = {"optimizer": state_dict, "scheduler": dict | None,
    "epochs_completed": n}``, ready for ``optimizer.load_state_dict`` and ``scheduler.load_state_dict``; the
    model is on the CPU, in eval mode, and ``meta["metrics"]["history"]`` holds the checked epochs only.
    The saved schedule state must be None exactly when ``make_scheduler`` makes no schedule for this run: a saved
    schedule that would be ignored, or a missing one that would restart the schedule, means the checkpoint does
    not describe this run. Raises CnndeskError, before anything is trained, for anything that does not fit.
    """
    from .checkpoint import OPTIMIZER_PREFIX, load_model
    from .models import model_config
    from .train import make_optimizer, make_scheduler

    if isinstance(steps_per_epoch, bool) or not isinstance(steps_per_epoch, int) or steps_per_epoch < 1:
        raise ValueError(f"steps_per_epoch must be a positive int, not {steps_per_epoch!r}")
    path = Path(path)
    point = resume_point(path)
    epochs = point.epochs_completed
    if epochs > config.epochs:
        raise _refusal(path, f"it records {epochs} epochs completed, more than the {config.epochs} this run trains")
    model, meta = load_model(path)
    wanted = model_config(config.model, **config.model_options)
    if model.config != wanted:
        if model.config["name"] != wanted["name"]:
            raise _refusal(path, f"it holds a {model.config['name']}, not the {wanted['name']} this run trains")
        raise _refusal(path, f"its {wanted['name']} has other options ({model.config['options']}) than this "
                             f"run's ({wanted['options']})")
    for name, tensor in model.state_dict().items():
        if tensor.is_floating_point() and not torch.isfinite(tensor).all():
            raise _refusal(path, f"its weight '{name}' holds values that are not finite (NaN or infinity)")

    resume = meta["resume"]
    saved_optimizer = resume.get("optimizer")
    if not isinstance(saved_optimizer, dict):
        raise _refusal(path, "its resume record has no optimizer settings ('optimizer' is missing or not a table)")

    # This run's own optimizer and schedule on a throwaway copy: one step with zero gradients shows the state it
    # keeps per parameter (names, shapes, dtypes), whatever the optimizer is.
    probe = copy.deepcopy(model)  # not build_model: initialising weights would draw from the run's random stream
    parameters = list(probe.named_parameters())
    optimizer = make_optimizer(probe, config)
    scheduler = make_scheduler(optimizer, config, steps_per_epoch)
    reference_scheduler = copy.deepcopy(scheduler.state_dict()) if scheduler is not None else None
    for _, parameter in parameters:
        parameter.grad = torch.zeros_like(parameter)
    optimizer.step()
    reference = optimizer.state_dict()
    reference_groups = copy.deepcopy(reference["param_groups"])

    groups = saved_optimizer.get("param_groups")
    _check_param_groups(path, groups, reference_groups, optimizer, config.optimizer)
    state = _optimizer_state(path, saved_optimizer, OPTIMIZER_PREFIX)
    _check_optimizer_state(path, state, reference["state"], parameters, OPTIMIZER_PREFIX)

    saved_scheduler = resume.get("scheduler")
    _check_scheduler(path, saved_scheduler, reference_scheduler, config, epochs * steps_per_epoch)

    # The trial: load it all into the throwaway copy, take one step and run the schedule to the end of the run,
    # so that whatever would fail or turn the weights non-finite mid-run fails here instead.
    optimizer_state = {"state": state, "param_groups": groups}
    probe.load_state_dict(model.state_dict())
    try:
        optimizer.load_state_dict(_copy_state(optimizer_state))
        optimizer.step()
        if scheduler is not None:
            scheduler.load_state_dict(copy.deepcopy(saved_scheduler))
            for _ in range((config.epochs - epochs) * steps_per_epoch):
                scheduler.step()
                if not all(math.isfinite(lr) for lr in scheduler.get_last_lr()):
                    raise ValueError("the learning rate became non-finite")
    except Exception as exc:  # anything at all: the point is that the real run never meets it
        raise _refusal(path, f"its optimizer and schedule state fail on a trial step ({type(exc).__name__}: "
                             f"{_short(str(exc))})") from None
    if not all(torch.isfinite(p).all() for _, p in parameters):
        raise _refusal(path, "a trial step with its optimizer state turns the weights into NaN or infinity")

    meta["metrics"] = {**meta["metrics"], "history": [asdict(h) for h in point.history]}
    return model, meta, {"optimizer": optimizer_state, "scheduler": saved_scheduler, "epochs_completed": epochs}


# The header.


def training_record_problem(record: dict[str, Any]) -> str | None:
    """What is wrong with the types of a checkpoint's training record (every known field against TrainConfig's
    annotation), or None. ``read_metadata`` asks it of every checkpoint it reads, so no command meets a bad one."""
    from .train import TrainConfig

    hints = typing.get_type_hints(TrainConfig)
    for f in fields(TrainConfig):
        if f.name in record:
            value = record[f.name]
            problem = _type_problem(value, hints[f.name], finite=True)
            if problem:
                return f"its training record has '{f.name}' = {_show(value)}, which is {problem}"
    return None


def _training_config(path: Path, record: dict[str, Any]) -> TrainConfig:
    """The TrainConfig a training record describes; every known field checked against its annotation."""
    from .train import TrainConfig

    if not record.get("model"):
        raise _refusal(path, "its training record does not name the model")
    problem = training_record_problem(record)
    if problem:
        raise _refusal(path, problem)
    names = {f.name for f in fields(TrainConfig)}
    # (a field missing from an older record takes its default, as TrainConfig.from_dict does)
    config = TrainConfig(**{name: value for name, value in record.items() if name in names})
    try:
        config.validate()
    except (CnndeskError, TypeError, ValueError) as exc:
        raise _refusal(path, f"its training record is not valid: {_sentence(exc)}") from None
    return config


def _history(path: Path, metrics: dict[str, Any]) -> list[EpochMetrics]:
    from .train import EpochMetrics

    entries = metrics.get("history", [])
    if not isinstance(entries, list):
        raise _refusal(path, "its metrics' 'history' is not a list of epochs")
    hints = typing.get_type_hints(EpochMetrics)
    history = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict):
            raise _refusal(path, f"its metrics' record of epoch {number} is not a table")
        values = {}
        for f in fields(EpochMetrics):
            if f.name not in entry:
                raise _refusal(path, f"its metrics' record of epoch {number} has no '{f.name}'")
            # A run without test images records NaN accuracies: numbers, not necessarily finite ones.
            problem = _type_problem(entry[f.name], hints[f.name], finite=False)
            if problem:
                raise _refusal(path, f"its metrics' record of epoch {number} has '{f.name}' = "
                                     f"{_show(entry[f.name])}, which is {problem}")
            values[f.name] = entry[f.name]
        history.append(EpochMetrics(**values))
    return history


def _epochs_completed(path: Path, resume: dict[str, Any], config: TrainConfig) -> int:
    if "epochs_completed" not in resume:
        raise _refusal(path, "its resume record has no 'epochs_completed'")
    epochs = resume["epochs_completed"]
    if not _is_int(epochs):
        raise _refusal(path, f"its resume record has 'epochs_completed' = {_show(epochs)}, which is not a whole "
                             "number")
    if epochs < 1:
        raise _refusal(path, f"its resume record has 'epochs_completed' = {epochs}, but a checkpoint is written "
                             "after at least one whole epoch")
    if epochs > config.epochs:
        raise _refusal(path, f"its resume record has 'epochs_completed' = {epochs}, more than the "
                             f"{config.epochs} epochs of its run")
    return epochs


def _type_problem(value: Any, hint: Any, finite: bool) -> str | None:
    """What is wrong with a JSON value for a dataclass field annotated ``hint`` (None: nothing)."""
    origin = typing.get_origin(hint)
    if origin in (types.UnionType, typing.Union):
        options = typing.get_args(hint)
        if value is None and type(None) in options:
            return None
        (hint,) = [option for option in options if option is not type(None)]
        origin = typing.get_origin(hint)
    if hint is bool:
        return None if isinstance(value, bool) else "not true or false"
    if hint is int:
        return None if _is_int(value) else "not a whole number"
    if hint is float:
        if not _is_number(value):
            return "not a number"
        return "not a finite number" if finite and not math.isfinite(value) else None
    if hint is str:
        return None if isinstance(value, str) else "not text"
    if hint is dict or origin is dict:
        return None if isinstance(value, dict) else "not a table of options"
    # A field of a kind this check does not know yet: a programming error that every resume test shows at once.
    raise TypeError(f"no check for a field annotated {hint!r}")


# The optimizer.


def _check_param_groups(
    path: Path, groups: Any, reference: list[dict[str, Any]], optimizer: torch.optim.Optimizer, kind: str
) -> None:
    """The saved parameter groups: this run's groups, settings of the same kinds, torch's own range checks."""
    if not isinstance(groups, list) or not all(isinstance(group, dict) for group in groups):
        raise _refusal(path, "its optimizer's 'param_groups' is not a list of parameter groups")
    if len(groups) != len(reference):
        raise _refusal(path, f"its optimizer has {len(groups)} parameter groups where this run's has "
                             f"{len(reference)}")
    count = sum(len(group["params"]) for group in reference)
    listed: list[int] = []
    for number, (group, wanted) in enumerate(zip(groups, reference, strict=True), 1):
        where = f"its optimizer's parameter group {number}"
        params = group.get("params")
        if not isinstance(params, list) or not all(_is_int(index) for index in params):
            raise _refusal(path, f"{where} has 'params' = {_show(params)}, which is not a list of parameter "
                                 "numbers")
        listed.extend(params)
        for key, value in group.items():
            if key == "params":
                continue
            if key not in wanted:
                raise _refusal(path, f"{where} has an unknown setting '{key}'")
            # A kernel flag may be None (PyTorch decides), whatever this run's optimizer picked.
            expected = None if key in KERNEL_FLAGS else wanted[key]
            problem = _mismatch(value, expected, key, non_negative=True)
            if problem:
                raise _refusal(path, f"{where} {problem}")
            if isinstance(wanted[key], bool) and key not in KERNEL_FLAGS and value != wanted[key]:
                raise _refusal(path, f"{where} has '{key}' = {_show(value)}, but this run's {kind} optimizer has "
                                     f"{_show(wanted[key])}")
        for key, value in wanted.items():
            # PyTorch fills in the flags that older versions did not save; numbers it cannot make up.
            if key not in group and not (value is None or isinstance(value, bool)):
                raise _refusal(path, f"{where} has no '{key}'")
        accepted = inspect.signature(type(optimizer)).parameters  # AdamW keeps a setting it takes no argument for
        hyper = {key: tuple(value) if isinstance(value, list) else value
                 for key, value in group.items() if key in accepted and key != "params"}
        try:  # the optimizer's own checks of its settings (betas below 1, eps not negative, flag combinations)
            type(optimizer)([torch.zeros(1, requires_grad=True)], **hyper)
        except (ValueError, TypeError, RuntimeError) as exc:
            raise _refusal(path, f"{where} does not make a valid {kind} optimizer ({_short(str(exc))})") from None
    for index in listed:
        if index >= count:
            raise _refusal(path, f"its optimizer lists parameter {index}, but the model has {count} (numbered 0 "
                                 f"to {count - 1})")
    if sorted(listed) != list(range(count)):
        raise _refusal(path, f"its optimizer does not list each of the model's {count} parameters exactly once")
    if [group["params"] for group in groups] != [group["params"] for group in reference]:
        raise _refusal(path, "its optimizer lists the model's parameters out of order")


def _optimizer_state(path: Path, saved: dict[str, Any], prefix: str) -> dict[int, dict[str, Any]]:
    """The optimizer's per-parameter state: the file's ``optimizer.{index}.{name}`` tensors, then its scalars."""
    state: dict[int, dict[str, Any]] = {}
    with safe_open(str(path), framework="pt") as handle:
        for key in handle.keys():  # noqa: SIM118
            if not key.startswith(prefix):
                continue
            index, _, name = key[len(prefix):].partition(".")
            if not _INDEX.fullmatch(index) or not name:
                raise _refusal(path, f"it holds an optimizer tensor named '{key}', which names no parameter")
            state.setdefault(int(index), {})[name] = handle.get_tensor(key)
    scalars = saved.get("scalars", {})
    if not isinstance(scalars, dict):
        raise _refusal(path, "its optimizer's 'scalars' is not a table")
    for index, values in scalars.items():
        if not _INDEX.fullmatch(index) or not isinstance(values, dict):
            raise _refusal(path, f"its optimizer's 'scalars' has an entry {_show(index)} that names no parameter")
        for name, value in values.items():
            if name in state.get(int(index), {}):
                raise _refusal(path, f"its optimizer holds '{name}' of parameter {index} twice")
            state.setdefault(int(index), {})[name] = value
    return state


def _check_optimizer_state(
    path: Path,
    state: dict[int, dict[str, Any]],
    reference: dict[int, dict[str, Any]],
    parameters: list[tuple[str, torch.nn.Parameter]],
    prefix: str,
) -> None:
    """Every parameter's state holds exactly what this run's optimizer keeps for it: names, shapes, dtypes."""
    count = len(parameters)
    for index in sorted(state):
        if index >= count:
            raise _refusal(path, f"it holds optimizer state for parameter {index}, but the model has {count} "
                                 f"(numbered 0 to {count - 1})")
    for index in range(count):
        wanted, saved = reference.get(index, {}), state.get(index, {})
        label = f"parameter {index} ({parameters[index][0]})"
        for name in saved:
            if name not in wanted:
                raise _refusal(path, f"its optimizer state for {label} has an unknown entry '{name}'")
        for name, expected in wanted.items():
            if name not in saved:
                raise _refusal(path, f"its optimizer state for {label} has no '{name}'")
            value, key = saved[name], f"{prefix}{index}.{name}"
            if isinstance(expected, torch.Tensor) and isinstance(value, torch.Tensor):
                if value.shape != expected.shape:
                    keeps = "a single number (shape [])" if expected.dim() == 0 else f"shape {list(expected.shape)}"
                    raise _refusal(path, f"its optimizer tensor '{key}' has shape {list(value.shape)}, where this "
                                         f"run's optimizer keeps {keeps} for {label}")
                if value.dtype != expected.dtype:
                    raise _refusal(path, f"its optimizer tensor '{key}' holds {_dtype(value)} values, but this "
                                         f"run's optimizer keeps {_dtype(expected)}")
                if value.is_floating_point() and not torch.isfinite(value).all():
                    raise _refusal(path, f"its optimizer tensor '{key}' holds values that are not finite (NaN or "
                                         "infinity)")
                if name in NON_NEGATIVE_STATE and (value < 0).any():
                    raise _refusal(path, f"its optimizer tensor '{key}' holds negative values, which a '{name}' "
                                         "never has")
            elif isinstance(expected, torch.Tensor) and expected.dim() == 0 and _is_number(value):
                # A count saved as a plain number (as older PyTorch did): PyTorch turns it back into a tensor.
                if not math.isfinite(value) or (name in NON_NEGATIVE_STATE and value < 0):
                    raise _refusal(path, f"its optimizer state for {label} has '{name}' = {_show(value)}, which "
                                         "is not a count")
            elif isinstance(expected, torch.Tensor) or isinstance(value, torch.Tensor):
                raise _refusal(path, f"its optimizer state for {label} has '{name}' = {_show(value)}, which is "
                                     f"not the tensor this run's optimizer keeps there")
            else:
                problem = _mismatch(value, expected, name, non_negative=False)
                if problem:
                    raise _refusal(path, f"its optimizer state for {label} {problem}")


# The schedule.


def _check_scheduler(
    path: Path, saved: Any, reference: dict[str, Any] | None, config: TrainConfig, position: int
) -> None:
    """The saved schedule state: this run's schedule (same entries, same kinds), at the end of the saved epoch."""
    if reference is None:
        if saved is not None:
            raise _refusal(path, f"it holds learning-rate schedule state, but this run ('{config.schedule}' over "
                                 f"{config.epochs} epochs) has no schedule")
        return
    if saved is None:
        raise _refusal(path, f"it holds no state for its '{config.schedule}' learning-rate schedule")
    if not isinstance(saved, dict):
        raise _refusal(path, "its learning-rate schedule state is not a table")
    problem = _mismatch(saved, reference, "", non_negative=False)
    if problem:
        raise _refusal(path, f"its learning-rate schedule state {problem}")
    # Every schedule steps once a batch: after n epochs it stands at n × steps per epoch, or it was made for
    # another run (another dataset size) and would run past its end or stop short.
    step = saved.get("last_epoch")
    if step != position:
        raise _refusal(path, f"its learning-rate schedule stands at step {_show(step)}, but its epochs end at "
                             f"step {position}")


def _mismatch(value: Any, expected: Any, key: str, non_negative: bool) -> str | None:
    """How a JSON value at ``key`` differs in kind from this run's own ``expected`` one, as a clause that starts
    with "has" (None: it does not).

    Numbers may be int or float (never bool) and must be finite; lists keep their length; tables their entries;
    text must be the same text (in a schedule it names a setting or a mode, and a wrong one fails mid-run).
    """
    problem: str | None = None
    if isinstance(expected, bool):
        problem = None if isinstance(value, bool) else "not true or false"
    elif expected is None:  # PyTorch's "decide for me" flags: None, or a decision
        problem = None if value is None or isinstance(value, bool) else "not true, false or null"
    elif isinstance(expected, int | float):
        if not _is_number(value):
            problem = "not a number"
        elif not math.isfinite(value):
            problem = "not a finite number"
        elif non_negative and value < 0:
            problem = "negative"
    elif isinstance(expected, str):
        problem = None if value == expected else f"not {_show(expected)}"
    elif isinstance(expected, list | tuple):
        if not isinstance(value, list) or len(value) != len(expected):
            problem = f"not a list of {len(expected)}"
        else:
            for position, (item, wanted) in enumerate(zip(value, expected, strict=True)):
                clause = _mismatch(item, wanted, f"{key}[{position}]", non_negative)
                if clause:
                    return clause
    elif isinstance(expected, dict):
        if not isinstance(value, dict):
            problem = "not a table"
        else:
            prefix = f"{key}." if key else ""
            for name in expected:
                if name not in value:
                    return f"has no '{prefix}{name}'"
            for name, item in value.items():
                if name not in expected:
                    return f"has an unknown entry '{prefix}{name}'"
                clause = _mismatch(item, expected[name], f"{prefix}{name}", non_negative)
                if clause:
                    return clause
    else:
        raise TypeError(f"no check for a state value like {expected!r}")
    return None if problem is None else f"has '{key}' = {_show(value)}, which is {problem}"


# Small helpers.


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _copy_state(state: dict[str, Any]) -> dict[str, Any]:
    """A copy for the trial step: loading does not copy tensors that already fit, and a step updates them."""
    return {"state": {index: {name: value.clone() if isinstance(value, torch.Tensor) else value
                              for name, value in values.items()} for index, values in state["state"].items()},
            "param_groups": copy.deepcopy(state["param_groups"])}


def _refusal(path: Path, problem: str) -> CnndeskError:
    return CnndeskError(f"{path.name} cannot be resumed: {problem}.")


def _show(value: Any) -> str:
    """A value as a user reads it in a message: text quoted, JSON otherwise, long values cut."""
    if isinstance(value, str):
        text = repr(value)
    elif value is None or isinstance(value, bool | int | float):
        text = "null" if value is None else str(value).lower() if isinstance(value, bool) else repr(value)
    else:
        text = type(value).__name__ if not isinstance(value, list | dict) else _short(repr(value), 60)
    return _short(text, 60)


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _sentence(exc: BaseException) -> str:
    """An error message as the tail of another sentence: lower-case start, no final full stop."""
    text = str(exc).strip().rstrip(".")
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


def _dtype(tensor: torch.Tensor) -> str:
    return str(tensor.dtype).removeprefix("torch.")
