"""Checkpoints: one ``.safetensors`` file, weights plus JSON metadata in its header. Never unpickled.

The header's ``cnndesk`` entry holds ``{"format", "version", "model": {name, options}, "training": {...},
"metrics": {...}}``; the model config rebuilds the architecture exactly. Writes are atomic.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from cnndesk.locations import pretrained_path

from .errors import CnndeskError
from .models import Network, build_model

if TYPE_CHECKING:
    from .history import TrainingHistory

FORMAT = "cnndesk.checkpoint"
VERSION = 1
METADATA_KEY = "cnndesk"
_UMASK = os.umask(0)
os.umask(_UMASK)


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename over ``path``: a crash never leaves a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp (and safetensors) make the file private; it is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


OPTIMIZER_PREFIX = "optimizer."
HISTORY_PREFIX = "history."  # training history snapshots (history.py): history.{index}.{state_dict key}


def _optimizer_payload(state: dict[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """An optimizer's state_dict split into tensors (for safetensors) and JSON (everything else)."""
    tensors: dict[str, torch.Tensor] = {}
    scalars: dict[str, dict[str, Any]] = {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{OPTIMIZER_PREFIX}{index}.{name}"] = value.detach().to("cpu").contiguous().clone()
            else:
                scalars.setdefault(str(index), {})[name] = value
    return tensors, {"param_groups": state["param_groups"], "scalars": scalars}


def save_checkpoint(
    model: Network,
    path: str | Path,
    training: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    resume: dict[str, Any] | None = None,
    snapshots: TrainingHistory | None = None,
) -> Path:
    """Save weights and metadata. ``resume`` ({"optimizer": state_dict, "scheduler": state_dict | None,
    "epochs_completed": n}) makes the checkpoint resumable: the run continues where it stopped. ``snapshots``: the
    run's training history (``history.{index}.{param}`` tensors, its fields in the header's ``history`` entry);
    it must fit ``model`` (CnndeskError), and should hold no snapshot later than ``model``'s weights."""
    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_name(path.name + ".safetensors")
    tensors = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    header = {
        "format": FORMAT,
        "version": VERSION,
        "model": model.config,
        "training": training or {},
        "metrics": metrics or {},
    }
    if resume is not None:
        optimizer_tensors, optimizer_json = _optimizer_payload(resume["optimizer"])
        tensors.update(optimizer_tensors)
        header["resume"] = {"epochs_completed": resume["epochs_completed"], "optimizer": optimizer_json,
                            "scheduler": resume.get("scheduler")}
    if snapshots:  # (an empty history is no history)
        from .history import HISTORY_KEY, history_payload

        history_tensors, header[HISTORY_KEY] = history_payload(snapshots, model)
        tensors.update(history_tensors)
    metadata = {METADATA_KEY: json.dumps(header)}
    try:
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
    except OSError as exc:
        raise CnndeskError(f"Could not write {path}: {exc.strerror or exc}.") from None
    return path


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint, without loading its weights."""
    path = Path(path)
    if not path.exists():
        raise CnndeskError(f"No such checkpoint: {path}")
    if path.is_dir():
        raise CnndeskError(f"{path} is a folder, not a checkpoint (a .safetensors file).")
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
    except (SafetensorError, OSError, ValueError):
        raise CnndeskError(f"{path} is not a cnndesk checkpoint, or it is damaged (cut short, or not a "
                           "safetensors file).") from None
    if raw is None:
        raise CnndeskError(f"{path} is a safetensors file but not a cnndesk checkpoint (no '{METADATA_KEY}' header).")
    try:
        meta = json.loads(raw)
    except json.JSONDecodeError:
        raise CnndeskError(f"{path} has a damaged cnndesk header.") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CnndeskError(f"{path} is not a cnndesk checkpoint.")
    model = meta.get("model")
    if (not isinstance(model, dict) or not isinstance(model.get("name"), str)
            or not isinstance(model.get("options", {}), dict) or not isinstance(meta.get("version", 0), int)
            or not all(isinstance(meta.get(k, {}), dict) for k in ("training", "metrics"))):
        raise CnndeskError(f"{path} has a damaged cnndesk header.")
    problem = _field_problem(meta)
    if problem:
        raise CnndeskError(f"{path} has a damaged cnndesk header: {problem}.")
    if meta.get("version", 0) > VERSION:
        raise CnndeskError(f"{path} was written by a newer cnndesk (format {meta['version']}); please upgrade.")
    return meta


# The metrics a command may read, and the JSON types each may hold (True: it may be null). The training record is
# checked against TrainConfig's annotations (resume.training_record_problem): a field of another type (a crafted or
# damaged file) is one clear error when the file is read, not a traceback wherever the field is used.
METRIC_FIELDS: dict[str, tuple[tuple[type, ...], bool]] = {
    "test_accuracy": ((int, float), True), "epochs_completed": ((int,), False), "train_seconds": ((int, float), True),
    "samples_per_second": ((int, float), True), "stopped": ((bool,), False), "history": ((list,), False),
}


def _field_problem(meta: dict[str, Any]) -> str | None:
    """What is wrong with the header's known fields, or None."""
    from .resume import _show, training_record_problem

    problem = training_record_problem(meta.get("training", {}))
    if problem:
        return problem
    for name, (types, nullable) in METRIC_FIELDS.items():
        value = meta.get("metrics", {}).get(name)
        if value is None and (nullable or name not in meta.get("metrics", {})):
            continue
        # (bool is an int in Python, but true is not a number of epochs)
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            kind = {bool: "true or false", list: "a list", int: "a number"}[types[0]]
            return f"its metrics record has '{name}' = {_show(value)}, which is not {kind}"
    return None


def load_model(path: str | Path | None = None, device: torch.device | str = "cpu") -> tuple[Network, dict[str, Any]]:
    """Rebuild the model a checkpoint describes and load its weights. ``None`` loads the bundled LeNet5.

    Returns ``(model, metadata)``; the model is in eval mode on ``device``.
    """
    path = Path(path) if path is not None else pretrained_path("lenet5")
    meta = read_metadata(path)
    try:
        model = build_model(meta["model"])
    except (CnndeskError, TypeError, ValueError) as exc:
        raise CnndeskError(f"{path} needs a model this cnndesk cannot build: {exc}") from None
    with safe_open(str(path), framework="pt") as handle:
        # Only the model's own tensors: safe_open reads lazily, so optimizer state and history cost nothing here.
        state = {key: handle.get_tensor(key) for key in handle.keys()  # noqa: SIM118
                 if not key.startswith((OPTIMIZER_PREFIX, HISTORY_PREFIX))}
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        details = [line.strip() for line in str(exc).splitlines()[1:] if line.strip()]
        detail = " ".join(details)[:300]
        raise CnndeskError(f"{path} does not fit the '{meta['model']['name']}' architecture: {detail}") from None
    broken = [key for key, value in state.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if broken:  # a diverged or damaged model would predict nothing but NaN
        raise CnndeskError(f"{path} holds weights that are not numbers (NaN or infinity) in '{broken[0]}'.")
    model.to(device).eval()
    return model, meta
