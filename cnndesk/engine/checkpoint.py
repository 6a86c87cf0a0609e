"""Checkpoints: one ``.safetensors`` file, weights plus JSON metadata in its header. Never unpickled.

The header's ``cnndesk`` entry holds ``{"format", "version", "model": {name, options}, "training": {...},
"metrics": {...}}``; the model config rebuilds the architecture exactly. Writes are atomic.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save

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


STALE_TEMP_SECONDS = 600  # a temp file this old beside its target was left by a killed writer, not one at work


def atomic_write(path: Path, write: Any) -> None:
    """Call ``write(tmp_path)`` then rename over ``path``: a crash never leaves a half-written file. Temp files
    that a killed writer left beside ``path`` are removed once they are old enough not to be another's at work."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale_temps(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp (and safetensors) make the file private; it is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _remove_stale_temps(path: Path) -> None:
    now = time.time()
    for leftover in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
        with contextlib.suppress(OSError):  # (gone meanwhile, or not ours to remove: it is only tidying)
            if now - leftover.stat().st_mtime > STALE_TEMP_SECONDS:
                leftover.unlink()


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
    # Serialised in memory (the size of the file) and written by Python: a refused write is then an OSError with
    # its reason (safetensors' own writer reports it as a SafetensorError, and leaves a temp file of its own).
    data = save(tensors, metadata={METADATA_KEY: json.dumps(header)})
    try:
        atomic_write(path, lambda tmp: _write_synced(tmp, data))
    except OSError as exc:
        raise CnndeskError(f"Could not write {path}: {exc.strerror or exc}.") from None
    return path


def _write_synced(path: Path, data: bytes) -> None:
    """Write ``data`` and flush it to the disk before the rename makes it the checkpoint (a power cut then leaves
    the old file or the new one, never a renamed file whose blocks were not written yet)."""
    with open(path, "wb") as file:
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def read_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON metadata of a checkpoint, without loading its weights."""
    path = Path(path)
    _check_readable(path)
    try:
        with safe_open(str(path), framework="pt") as handle:
            raw = (handle.metadata() or {}).get(METADATA_KEY)
    except (SafetensorError, OSError, ValueError):
        raise CnndeskError(_not_safetensors(path)) from None
    if raw is None:
        raise CnndeskError(f"{path} is a safetensors file but not a cnndesk checkpoint (no '{METADATA_KEY}' header).")
    try:
        meta = json.loads(raw)
    except (json.JSONDecodeError, RecursionError):  # (nesting deeper than Python's stack is a RecursionError)
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


def _check_readable(path: Path) -> None:
    """A CnndeskError unless ``path`` is a file this process may open. safetensors reports a file it may not read
    as "No such file or directory": Python's own open tells the two apart."""
    try:
        if path.is_dir():
            raise CnndeskError(f"{path} is a folder, not a checkpoint (a .safetensors file, or a model from "
                               "elsewhere: .pth, .pt or .onnx).")
        with open(path, "rb"):
            pass
    except (FileNotFoundError, NotADirectoryError):
        raise CnndeskError(f"No such checkpoint: {path}") from None
    except PermissionError:
        raise CnndeskError(f"{path} cannot be read: permission denied.") from None
    except OSError as exc:
        raise CnndeskError(f"{path} cannot be read: {(exc.strerror or str(exc)).lower()}.") from None


# The first bytes of what torch.save writes: a zip archive (since PyTorch 1.6) or a bare pickle (protocol 2 to 5).
_TORCH_SAVE_MAGIC = (b"PK\x03\x04", b"\x80\x02", b"\x80\x03", b"\x80\x04", b"\x80\x05")


def _not_safetensors(path: Path) -> str:
    """Why a file safetensors cannot open is refused: a torch.save file is named as one (it is never unpickled)."""
    try:
        with open(path, "rb") as file:
            start = file.read(4)
    except OSError:
        start = b""
    from .foreign import foreign_kind

    if foreign_kind(path) is not None:
        return (f"{path} is a model from elsewhere ({'ONNX' if path.suffix.lower() == '.onnx' else 'torch.save'}), "
                "not a cnndesk checkpoint: it holds weights only, without the training record and history a "
                "cnndesk checkpoint keeps.")
    if start.startswith(b"PK\x03\x04"):
        import zipfile

        try:
            with zipfile.ZipFile(path):
                pass
        except (zipfile.BadZipFile, OSError, ValueError):
            return (f"{path} is a damaged zip archive, cut short or altered (a torch.save file not written or "
                    "copied to its end?): cnndesk cannot read it.")
    if start.startswith(_TORCH_SAVE_MAGIC):
        # (torch.save's own files are read by engine.foreign, with weights_only: what is left here is a bare pickle
        # or a zip that torch.save did not write)
        return (f"{path} is not a cnndesk checkpoint: it is a pickle or zip file that torch.save did not write, "
                "and cnndesk never unpickles such a file, since that can run any code in it; cnndesk reads "
                ".safetensors checkpoints and torch.save state_dicts.")
    try:
        if path.stat().st_size == 0:
            return f"{path} is empty (0 bytes): it holds no model."
    except OSError:
        pass
    return (f"{path} is not a cnndesk checkpoint, or it is damaged (cut short): cnndesk reads its own .safetensors "
            "checkpoints, PyTorch state_dicts saved with torch.save (.pth, .pt) and ONNX models (.onnx).")


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


# Where the model holds floats, the file may hold them at any of these widths (they load as the model's float32).
# Integers, booleans or 8-bit floats are no weights cnndesk writes: loading would quietly convert them.
FLOAT_DTYPES = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32, "F64": torch.float64}
# safetensors' dtype names as PyTorch spells them, for messages.
_DTYPE_NAMES = {"BOOL": "bool", "U8": "uint8", "I8": "int8", "U16": "uint16", "I16": "int16", "U32": "uint32",
                "I32": "int32", "U64": "uint64", "I64": "int64", "F8_E4M3": "float8_e4m3fn", "F8_E5M2": "float8_e5m2",
                **{key: str(dtype).removeprefix("torch.") for key, dtype in FLOAT_DTYPES.items()}}


def _dtype_fits(stored: str, wanted: torch.dtype) -> bool:
    """Whether a tensor stored as ``stored`` (a safetensors dtype name) may load where the model has ``wanted``."""
    if wanted.is_floating_point:
        return stored in FLOAT_DTYPES
    return _DTYPE_NAMES.get(stored) == str(wanted).removeprefix("torch.")


def _fit_problem(expected: dict[str, torch.Tensor], stored: dict[str, tuple[list[int], str]]) -> str | None:
    """What keeps tensors of these (shape, dtype) from loading into a model with the ``expected`` state_dict: the
    first difference in the model's order, and how many more there are; None when they fit."""
    problems = []
    for key, value in expected.items():
        if key not in stored:
            problems.append(f"it has no '{key}'")
        elif tuple(stored[key][0]) != tuple(value.shape):
            problems.append(f"its '{key}' has shape {list(stored[key][0])}, where the model's has {list(value.shape)}")
    problems += [f"it holds a tensor '{key}' the model does not have" for key in stored if key not in expected]
    if not problems:
        return None
    more = len(problems) - 1
    return problems[0] + (f" ({more} more difference{'s' if more > 1 else ''})" if more else "")


def load_model(path: str | Path | None = None, device: torch.device | str = "cpu",
               input: str | None = None) -> tuple[Network, dict[str, Any]]:
    """Rebuild the model a checkpoint describes and load its weights. ``None`` loads the bundled LeNet5.

    A model trained elsewhere (a torch.save state_dict, an ONNX file) is matched to a registry architecture by
    engine.foreign; ``input`` ("unit" or "mnist-normalized") says on which pixel scale it was trained. A cnndesk
    checkpoint knows its own, so ``input`` is for those files only.

    Returns ``(model, metadata)``; the model is in eval mode on ``device``. Every tensor's name, shape and dtype is
    checked against the architecture before anything is allocated, so a small file whose header claims a huge
    model costs nothing but its header; the weights must then be finite numbers. Any problem is one CnndeskError.
    """
    path = Path(path) if path is not None else pretrained_path("lenet5")
    from .foreign import foreign_kind, load_foreign

    if foreign_kind(path) is not None:
        return load_foreign(path, input=input, device=device)
    if input is not None:
        raise CnndeskError(f"{path} is a cnndesk checkpoint, which knows the pixel scale its model was trained on: "
                           "the input scale is given only for a .pth, .pt or .onnx file from elsewhere.")
    meta = read_metadata(path)
    name = meta["model"]["name"]
    try:
        with torch.device("meta"):  # shapes and dtypes only: no memory, no random numbers
            template = build_model(meta["model"])
    except (CnndeskError, TypeError, ValueError) as exc:
        raise CnndeskError(f"{path} needs a model this cnndesk cannot build: {exc}") from None
    expected = template.state_dict()
    try:
        with safe_open(str(path), framework="pt") as handle:
            # Only the model's own tensors: optimizer state and history (read elsewhere) are neither read nor checked.
            slices = {key: handle.get_slice(key) for key in handle.keys()  # noqa: SIM118
                      if not key.startswith((OPTIMIZER_PREFIX, HISTORY_PREFIX))}
            stored = {key: (part.get_shape(), part.get_dtype()) for key, part in slices.items()}
            problem = _fit_problem(expected, stored)
            if problem:
                raise CnndeskError(f"{path} does not fit the '{name}' architecture: {problem}.")
            for key, value in expected.items():
                if not _dtype_fits(stored[key][1], value.dtype):
                    kind = stored[key][1]
                    wanted = ("floating-point numbers (float16, bfloat16, float32 or float64)"
                              if value.dtype.is_floating_point else str(value.dtype).removeprefix("torch."))
                    raise CnndeskError(f"{path} holds '{key}' as {_DTYPE_NAMES.get(kind, kind)} values, where the "
                                       f"'{name}' architecture needs {wanted}.")
            # Converted to the model's dtype before the check: a float64 beyond float32's range becomes infinity.
            state = {key: handle.get_tensor(key).to(value.dtype) for key, value in expected.items()}
    except (SafetensorError, OSError, ValueError):
        raise CnndeskError(_not_safetensors(path)) from None
    broken = [key for key, value in state.items() if value.is_floating_point() and not torch.isfinite(value).all()]
    if broken:  # a diverged or damaged model would predict nothing but NaN
        raise CnndeskError(f"{path} holds weights that are not numbers (NaN or infinity) in '{broken[0]}'.")
    # The real model, its memory bounded by the file's own tensors now that they fit; loading overwrites every
    # parameter and buffer, so it is not initialised first.
    model = template.to_empty(device=device)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model, meta
