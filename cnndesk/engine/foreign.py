"""Models trained elsewhere: a PyTorch ``state_dict`` (``.pth``/``.pt``) or an ONNX file, matched to the registry.

A tutorial's LeNet5 names its tensors as it likes (``conv1.weight``, ``features.0.weight``, ``c1.weight``), but
the shapes in their declared order say which architecture it is. The file cannot say what the functional calls
of its ``forward`` were (ReLU or sigmoid, max- or average-pooling), nor on which pixel scale it was trained: the
architectures whose shapes fit are each tried with every activation and pooling they can take, and the one that
reads the first MNIST test images best is chosen (an ONNX file runs in onnxruntime: the variant that computes
what it computes is chosen). The result is an ordinary registry ``Network``, so every view works on it.

An ONNX file of MNIST shape that no architecture computes (other channel counts, other operations) runs in
onnxruntime instead, every layer's output exposed (engine.onnx_runtime): it predicts, evaluates and shows its layers,
but has no PyTorch weights to train, save, export or take gradients of (``foreign["runtime"] == "onnxruntime"``).

Safety: a ``torch.save`` file is read only by ``torch.load(path, map_location="cpu", weights_only=True)``, which
rebuilds tensors and plain containers and refuses anything else; a bare pickle (not a ``torch.save`` file) is never
handed to it. An ONNX file is protobuf data: parsing it runs nothing.
"""

from __future__ import annotations

import itertools
import math
import pickle
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .errors import CnndeskError
from .models import INPUT_METADATA_KEY, INPUT_SCALES, INPUT_WORDS, MODELS, Network, build_model
from .onnx_runtime import NO_WEIGHTS, RUNTIME, OnnxRuntimeNetwork, load_onnx_runtime

# "unit": pixels in [0, 1] (ToTensor); "mnist-normalized": (x - 0.1307) / 0.3081
INPUTS = FOREIGN_INPUTS = tuple(INPUT_SCALES)
DEFAULT_INPUT = "unit"
FORMAT = "cnndesk.foreign"
# Every registry model at its default width is under 2 MB of float32: a file 100 times that is no MNIST model.
MAX_FILE_BYTES = 200 * 1024 * 1024
SEARCH_IMAGES = 1000  # the variant search reads the first MNIST test images
# Variants are told apart by their mean cross-entropy on those images, not by accuracy: a trained ReLU/max-pool
# LeNet5 read with average pooling scores 99.9% where its own variant scores 99.2% on the first 1,000 (cnndesk's
# bundled one), but its loss is 2.7 times higher. ReLU and LeakyReLU(0.01) are nearly one function (their losses
# differ by ~2%): within this ratio, ReLU, by far the more common, is chosen.
TIE_RATIO = 1.10
# The other pixel scale is hinted only when its loss on the search images is below this share of the scale's own:
# a model fed the scale it was not trained on loses far more than that; near-equal readings are noise.
HINT_LOSS_RATIO = 0.8
# An ONNX file and the Network rebuilt from it agree to float32 rounding; a wrong variant differs by far more.
MAX_ONNX_LOGIT_DIFFERENCE = 1e-3
STATE_DICT_KEYS = ("state_dict", "model_state_dict")  # where tutorials' checkpoint dicts keep the weights
ONNX_SUFFIXES = (".onnx",)
# The first bytes of a legacy (non-zip) torch.save file: the pickled magic number 0x1950a86a20f9469cfc6c.
_LEGACY_TORCH_MAGIC = b"\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19"
_VARIANT_OPTIONS = ("activation", "pooling")  # what a state_dict cannot say; batchnorm shows in the tensors


@dataclass(frozen=True)
class _Candidate:
    """A registry architecture whose tensors have the shapes the file's have, in the same order."""

    name: str
    options: dict[str, Any]  # batchnorm (when the model takes it): decided by the shapes
    keys: list[str]  # the architecture's state_dict keys (without num_batches_tracked), in order


def foreign_kind(path: str | Path) -> str | None:
    """"pytorch" (a torch.save file), "onnx" (by its suffix), or None: anything else (a cnndesk checkpoint, a
    bare pickle, a damaged file) is for the safetensors reader, which refuses what it cannot read."""
    path = Path(path)
    if path.suffix.lower() in ONNX_SUFFIXES:
        return "onnx"
    try:
        with open(path, "rb") as file:
            start = file.read(len(_LEGACY_TORCH_MAGIC))
    except OSError:
        return None
    if start.startswith(_LEGACY_TORCH_MAGIC):
        return "pytorch"
    if start.startswith(b"PK\x03\x04"):
        # torch.save's zip archive holds <name>/data.pkl; a zip without one is not a torch.save file.
        try:
            with zipfile.ZipFile(path) as archive:
                return "pytorch" if any(n.endswith("data.pkl") for n in archive.namelist()) else None
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
    return None


def load_foreign(path: str | Path, input: str | None = None, device: torch.device | str = "cpu",
                 search_images: int = SEARCH_IMAGES) -> tuple[Network | OnnxRuntimeNetwork, dict[str, Any]]:
    """The registry ``Network`` a torch.save state_dict or an ONNX file holds, and its metadata; an ONNX file that
    fits no architecture, as an ``OnnxRuntimeNetwork`` (``foreign["runtime"]`` says which: "pytorch" or
    "onnxruntime").

    ``input``: the pixel scale the model was trained on ("unit" or "mnist-normalized"; None: "unit", and the
    metadata says which of the two reads the test images better). The metadata's ``foreign`` entry says what was
    matched: architecture, options, accuracy on the first ``search_images`` MNIST test images, the variants tried.
    """
    path = Path(path)
    kind, tensors, runner, declared = _read_foreign(path)
    if declared is not None and input not in (None, declared):
        raise CnndeskError(f"{path} says it takes {INPUT_WORDS[declared]} (it was exported by cnndesk): leave the "
                           f"input scale out (--input on the command line), or give {declared}.")
    given = input is not None or declared is not None  # (what the file says counts as said)
    scale = _check_input(input if input is not None else declared or DEFAULT_INPUT)
    images, labels = _search_set(search_images)
    try:
        candidates = _fitting(path, tensors)
    except CnndeskError as exc:
        if runner is None:
            raise
        return _run_in_onnxruntime(path, scale, given, images, labels, runner, str(exc), device)
    if runner is None:
        tried = _search(candidates, tensors, images, labels, scale)
        readings = None if given else {
            other: (tried if other == scale else _search(candidates, tensors, images, labels, other))[0]
            for other in INPUTS}
        hint = None if readings is None else {name: t["accuracy"] for name, t in readings.items()}
        # the scale whose best variant has the clearly lower loss reads MNIST better (the accuracies may tie)
        better = None if readings is None else _better_input(
            {name: reading["loss"] for name, reading in readings.items()}, scale)
    else:
        tried = _search_onnx(candidates, tensors, images, labels, scale, runner)
        hint, better = (None, None) if given else _input_hint(runner, images, labels, scale)
        if tried[0]["logit_difference"] > MAX_ONNX_LOGIT_DIFFERENCE:
            best = tried[0]
            return _run_in_onnxruntime(
                path, scale, given, images, labels, runner,
                f"{path} has the tensors of '{best['architecture']}', but no variant of it computes what the file "
                f"computes (the closest differs by {best['logit_difference']:.2g} in a logit): its graph has "
                "operations cnndesk's architectures do not.", device)
    best = tried[0]
    config = {"name": best["architecture"], "options": best["options"], "input": best["input"]}
    model = build_model(config)
    model.load_state_dict(_state_for(model, tensors), strict=True)
    model.to(device).eval()
    report = {
        "source": str(path), "format": kind, "runtime": "pytorch",
        "architecture": best["architecture"], "options": best["options"],
        "input": scale, "input_given": given,
        # the scale the weights see: an ONNX file with the MNIST normalisation inside is fed [0, 1] pixels
        "network_input": best["input"], "accuracy": best["accuracy"], "images": len(labels),
        "variants": [{k: v for k, v in t.items() if k != "input"} for t in tried],
        "input_accuracy": hint,
        "better_input": better,
    }
    meta = {"format": FORMAT, "version": 1, "model": model.config, "training": {"dataset": "mnist"}, "metrics": {},
            "foreign": report}
    return model, meta


def _run_in_onnxruntime(path: Path, scale: str, given: bool, images: torch.Tensor, labels: np.ndarray, runner: Any,
                        reason: str, device: torch.device | str) -> tuple[OnnxRuntimeNetwork, dict[str, Any]]:
    """An ONNX file that no registry architecture computes: the file itself, run by onnxruntime with every layer's
    output exposed (engine.onnx_runtime). ``reason``: why no architecture fits, kept in the report."""
    network = load_onnx_runtime(path, scale).to(device)
    with torch.inference_mode():
        logits = network(images.to(device)).cpu()
    hint, better = (None, None) if given else _input_hint(runner, images, labels, scale)
    report = {
        "source": str(path), "format": "onnx", "runtime": RUNTIME, "architecture": None, "options": {},
        "input": scale, "input_given": given, "network_input": scale,
        "accuracy": _accuracy(logits.numpy(), labels), "images": len(labels), "variants": [],
        "input_accuracy": hint,
        "better_input": better,
        "unmatched": reason,  # why it runs in onnxruntime: the registry architectures' sentence
        "layers": network.layer_nodes(),  # each exposed layer and the ONNX node it shows
    }
    meta = {"format": FORMAT, "version": 1, "model": network.config, "training": {"dataset": "mnist"},
            "metrics": {}, "foreign": report}
    return network, meta


def describe_match(report: dict[str, Any]) -> str:
    """One English line: what a foreign file was matched to (for the command line's human output)."""
    if report.get("runtime") == RUNTIME:
        return (f"{Path(report['source']).name}: fits no registry architecture, so it runs in onnxruntime: "
                f"{NO_WEIGHTS}; input {report['input']}, {report['accuracy']:.1%} on the first "
                f"{report['images']:,} MNIST test images")
    options = ", ".join(f"{report['options'][k]}" for k in _VARIANT_OPTIONS if k in report["options"])
    return (f"{Path(report['source']).name}: matched {report['architecture']} ({options}), input {report['input']}, "
            f"{report['accuracy']:.1%} on the first {report['images']:,} MNIST test images")


def _input_hint(run: Any, images: torch.Tensor, labels: np.ndarray, scale: str) -> tuple[dict[str, float], str]:
    """An ONNX file fed each pixel scale: the accuracy of each, and the one that reads MNIST clearly better."""
    accuracies, losses = {}, {}
    for other in INPUTS:
        log_probabilities = _log_probabilities(run(_scaled(images, other)))
        picked = log_probabilities[np.arange(len(log_probabilities)), labels[:len(log_probabilities)]]
        accuracies[other] = _accuracy(log_probabilities, labels)
        losses[other] = float(-picked.mean())
    return accuracies, _better_input(losses, scale)


def _better_input(losses: dict[str, float], scale: str) -> str:
    """``scale``, unless another scale's loss is below HINT_LOSS_RATIO of its own (the lowest such one)."""
    best = min(losses, key=lambda name: losses[name])
    return best if losses[best] < losses[scale] * HINT_LOSS_RATIO else scale


def inspect_foreign(path: str | Path) -> str | None:
    """Read a model from elsewhere far enough to know it opens, without the variant search (a fraction of a
    second): CnndeskError in one sentence if it is damaged, carries code, or (a state_dict) fits no architecture.
    Returns the pixel scale the file declares (cnndesk's own ONNX exports do), else None: then the user is asked."""
    path = Path(path)
    _kind, tensors, runner, declared = _read_foreign(path)
    if runner is None:
        _fitting(path, tensors)  # an ONNX file that fits nothing still runs, in onnxruntime
    return declared


# ---------------------------------------------------------------- reading


def _read_foreign(path: Path) -> tuple[str, list[tuple[str, torch.Tensor]], Any, str | None]:
    """(kind, the weights in order, the ONNX runner or None, the pixel scale the file declares or None)."""
    _check_size(path)
    kind = foreign_kind(path)
    if kind == "onnx":
        tensors, runner, declared = _read_onnx(path)
        return kind, tensors, runner, declared
    if kind == "pytorch":
        return kind, _read_state_dict(path), None, None
    raise CnndeskError(f"{path} is neither a torch.save state_dict nor an ONNX file.")


def _check_input(input: str) -> str:
    if input not in INPUT_SCALES:
        raise CnndeskError(f"The input scale is one of {', '.join(INPUTS)}, not {input!r}.")
    return input


def _check_size(path: Path) -> None:
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise CnndeskError(f"No such model file: {path}") from None
    except OSError as exc:
        raise CnndeskError(f"{path} cannot be read: {(exc.strerror or str(exc)).lower()}.") from None
    if size > MAX_FILE_BYTES:
        raise CnndeskError(f"{path} is {size / 2**20:,.0f} MB, too big for an MNIST model (at most "
                           f"{MAX_FILE_BYTES // 2**20} MB).")


def _read_state_dict(path: Path) -> list[tuple[str, torch.Tensor]]:
    """The floating-point tensors of a torch.save'd state_dict, in their order, as float32; never unpickled
    beyond what ``weights_only`` allows."""
    try:
        # (a file object: given a name, torch.load would hand a file named .safetensors to safetensors instead)
        with open(path, "rb") as file:
            loaded = torch.load(file, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        found = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({found.group(1)})" if found else ""
        raise CnndeskError(
            f"{path} holds objects that only running its code could rebuild{what}: cnndesk refused it and ran none "
            "of it; save the weights alone with torch.save(model.state_dict(), path).") from None
    except Exception as exc:  # bytes from anywhere: PyTorch's reader fails on them in many ways
        # (EOFError, IndexError, KeyError, struct.error… on a cut or altered file: tests/engine/test_fuzz.py)
        detail = (str(exc).splitlines() or [type(exc).__name__])[0][:120] or type(exc).__name__
        raise CnndeskError(f"{path} is a damaged torch.save file ({detail}).") from None
    if isinstance(loaded, dict):
        for key in STATE_DICT_KEYS:
            if isinstance(loaded.get(key), dict):
                loaded = loaded[key]
                break
    if not isinstance(loaded, dict) or not loaded:
        raise CnndeskError(f"{path} holds a {type(loaded).__name__}, not a state_dict (a dict of tensors, as "
                           "torch.save(model.state_dict(), path) writes).")
    tensors: list[tuple[str, torch.Tensor]] = []
    for key, value in loaded.items():
        if not isinstance(value, torch.Tensor):
            raise CnndeskError(f"{path} is not a state_dict: its '{key}' is a {type(value).__name__}, not a tensor.")
        if str(key).endswith("num_batches_tracked"):
            continue  # a BatchNorm counter, used only while training
        if not value.is_floating_point():
            raise CnndeskError(f"{path} holds '{key}' as {str(value.dtype).removeprefix('torch.')} values, where "
                               "weights are floating-point numbers.")
        tensors.append((str(key), value.detach().to(torch.float32)))
    return _finite(path, tensors)


def _finite(path: Path, tensors: list[tuple[str, torch.Tensor]]) -> list[tuple[str, torch.Tensor]]:
    broken = [key for key, value in tensors if not torch.isfinite(value).all()]
    if broken:
        raise CnndeskError(f"{path} holds weights that are not numbers (NaN or infinity) in '{broken[0]}'.")
    return tensors


def _read_onnx(path: Path) -> tuple[list[tuple[str, torch.Tensor]], Any, str | None]:
    """An ONNX file's weights in the order its nodes use them (as PyTorch lays them out), a function that runs the
    file in onnxruntime on (N, 1, 28, 28) float32 images, and the pixel scale its metadata declares (or None)."""
    import onnx
    import onnxruntime
    from onnx import numpy_helper

    try:
        graph_model = onnx.load(str(path), load_external_data=False)
    except Exception as exc:  # (protobuf's DecodeError and friends: the file is not ONNX)
        raise CnndeskError(f"{path} is not an ONNX file, or it is damaged ({type(exc).__name__}).") from None
    graph = graph_model.graph
    initializers = {tensor.name: tensor for tensor in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]

    def dims(value_info) -> list[int | str]:
        return [d.dim_value or d.dim_param or "?" for d in value_info.type.tensor_type.shape.dim]

    if len(inputs) != 1 or dims(inputs[0])[1:] != [1, 28, 28] or len(graph.output) != 1 \
            or dims(graph.output[0])[1:] != [10]:
        shapes = ", ".join(str(dims(i)) for i in inputs) + " → " + ", ".join(str(dims(o)) for o in graph.output)
        raise CnndeskError(f"{path} is not an MNIST model: cnndesk needs one input N×1×28×28 and one output N×10, "
                           f"it has {shapes}.")

    for tensor in graph.initializer:  # weights kept beside the file (torch.onnx.export writes model.onnx.data)
        location = next((entry.value for entry in tensor.external_data if entry.key == "location"), None)
        if location is not None and not (path.parent / location).is_file():
            raise CnndeskError(f"{path} keeps its weights in a second file, {location}, which is not beside it: "
                               "copy the two files together.")

    def weight(name: str, transpose: bool = False) -> tuple[str, torch.Tensor] | None:
        if name not in initializers:
            return None
        # (a tensor kept beside the file, as torch.onnx.export(dynamo=True) writes model.onnx.data, is read from
        # the file's folder, not the working one)
        array = numpy_helper.to_array(initializers[name], base_dir=str(path.parent)).astype(np.float32)
        return name, torch.from_numpy(np.ascontiguousarray(array.T if transpose else array))

    found: list[tuple[str, torch.Tensor] | None] = []
    for node in graph.node:
        attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        if node.op_type == "Conv":
            found += [weight(name) for name in node.input[1:3]]
        elif node.op_type == "Gemm":
            found += [weight(node.input[1], transpose=not attributes.get("transB", 0))]
            found += [weight(name) for name in node.input[2:3]]
        elif node.op_type == "MatMul":
            found.append(weight(node.input[1], transpose=True))
        elif node.op_type == "Add" and found and found[-1] is not None and found[-1][1].dim() == 2:
            found.append(weight(node.input[1]))  # a MatMul's bias
        elif node.op_type == "BatchNormalization":
            found += [weight(name) for name in node.input[1:5]]
    tensors = _finite(path, [item for item in found if item is not None])
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise CnndeskError(f"{path} cannot run in onnxruntime: {str(exc).splitlines()[0][:160]}") from None
    input_name = session.get_inputs()[0].name
    batch = dims(inputs[0])[0]
    step = batch if isinstance(batch, int) and batch > 0 else 250  # (a file exported for a fixed batch size)

    def run(images: np.ndarray) -> np.ndarray:
        return np.concatenate([session.run(None, {input_name: images[i:i + step]})[0]
                               for i in range(0, len(images) - len(images) % step, step)])

    declared = next((entry.value for entry in graph_model.metadata_props
                     if entry.key == INPUT_METADATA_KEY and entry.value in INPUT_SCALES), None)
    return tensors, run, declared


# ---------------------------------------------------------------- matching


def _weights_of(model: torch.nn.Module) -> list[tuple[str, torch.Tensor]]:
    return [(k, v) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]


def _fitting(path: Path, tensors: list[tuple[str, torch.Tensor]]) -> list[_Candidate]:
    """Every registry architecture (BatchNorm on or off) whose tensors' shapes are the file's, in order; a
    CnndeskError naming the closest and its first difference when none fits."""
    shapes = [tuple(value.shape) for _, value in tensors]
    fits: list[_Candidate] = []
    seen: set[tuple[Any, bool]] = set()
    closest: tuple[tuple[int, int], str, list[tuple[str, torch.Tensor]]] | None = None
    for name, spec in MODELS.items():
        for batchnorm in ([spec.defaults["batchnorm"], not spec.defaults["batchnorm"]]
                          if "batchnorm" in spec.defaults else [None]):
            # cnn2 with BatchNorm is cnn2-bn: one architecture, tried once under the name whose default it is.
            layout = (spec.build_layers, batchnorm)
            options = {} if batchnorm is None else {"batchnorm": batchnorm}
            with torch.device("meta"):
                expected = _weights_of(build_model(name, **options))
            want = [tuple(value.shape) for _, value in expected]
            if want == shapes:
                if layout not in seen:
                    fits.append(_Candidate(name, options, [k for k, _ in expected]))
                seen.add(layout)
                continue
            same = next((i for i, (a, b) in enumerate(zip(want, shapes, strict=False)) if a != b),
                        min(len(want), len(shapes)))
            rank = (same, -abs(len(want) - len(shapes)))
            if closest is None or rank > closest[0]:
                closest = (rank, name + (" with BatchNorm" if batchnorm and not spec.defaults["batchnorm"] else ""),
                           expected)
    if fits:
        # Each fitting architecture in the registry's order, its default BatchNorm first.
        return fits
    assert closest is not None
    (same, _), name, expected = closest
    if same < min(len(expected), len(tensors)):
        key, stored = tensors[same]
        difference = (f"its tensor {same + 1}, '{key}', has shape {list(stored.shape)} where {name}'s "
                      f"'{expected[same][0]}' has {list(expected[same][1].shape)}")
    elif len(tensors) < len(expected):
        difference = (f"it ends after {len(tensors)} tensors, where {name} goes on with '{expected[same][0]}' "
                      f"{list(expected[same][1].shape)}")
    else:
        difference = f"it holds {len(tensors) - len(expected)} more tensors after {name}'s {len(expected)}, " \
                     f"from '{tensors[same][0]}' {list(tensors[same][1].shape)}"
    raise CnndeskError(f"{path} fits none of cnndesk's architectures: the closest is {name}, but {difference}.")


def _state_for(model: Network, tensors: list[tuple[str, torch.Tensor]]) -> dict[str, torch.Tensor]:
    """The file's tensors under the model's own names (they fit in order), BatchNorm counters at zero."""
    weights = dict(zip([k for k, _ in _weights_of(model)], [v for _, v in tensors], strict=True))
    return {key: weights.get(key, torch.zeros_like(value)) for key, value in model.state_dict().items()}


def _variants(candidate: _Candidate) -> list[dict[str, Any]]:
    """Each activation × pooling the architecture takes, its defaults first (they win a tie)."""
    from .models import ACTIVATIONS, POOLINGS

    spec = MODELS[candidate.name]
    axes = {"activation": list(ACTIVATIONS), "pooling": list(POOLINGS)}
    choices = [[spec.defaults[o], *(v for v in axes[o] if v != spec.defaults[o])] if o in spec.defaults else [None]
               for o in _VARIANT_OPTIONS]
    return [{**candidate.options, **{o: v for o, v in zip(_VARIANT_OPTIONS, combo, strict=True) if v is not None}}
            for combo in itertools.product(*choices)]


def _search_set(count: int) -> tuple[torch.Tensor, np.ndarray]:
    """The first ``count`` MNIST test images as [0, 1] floats, and their labels."""
    from .data import load_splits

    test = load_splits("mnist").test
    images = torch.as_tensor(np.asarray(test.images[:count]), dtype=torch.float32) / 255.0
    return images, np.asarray(test.labels[:count])


def _scaled(images: torch.Tensor, input: str) -> np.ndarray:
    mean, std = INPUT_SCALES[input]
    return ((images - mean) / std).numpy()


def _accuracy(logits: np.ndarray | torch.Tensor, labels: np.ndarray) -> float:
    predicted = np.asarray(logits).argmax(axis=1)
    return float((predicted == labels[:len(predicted)]).mean())


def _built(name: str, options: dict[str, Any], input: str, tensors: list[tuple[str, torch.Tensor]]) -> Network:
    model = build_model({"name": name, "options": options, "input": input})
    model.load_state_dict(_state_for(model, tensors), strict=True)
    return model.eval()


def _search(candidates: list[_Candidate], tensors: list[tuple[str, torch.Tensor]], images: torch.Tensor,
            labels: np.ndarray, input: str) -> list[dict[str, Any]]:
    """Every variant of every fitting architecture with its accuracy, best first (a tie: the registry's order)."""
    tried = []
    with torch.inference_mode():
        for candidate in candidates:
            for options in _variants(candidate):
                model = _built(candidate.name, options, input, tensors)
                logits = model(images)
                loss = float(torch.nn.functional.cross_entropy(logits, torch.as_tensor(labels, dtype=torch.long)))
                tried.append({"architecture": candidate.name, "options": model.config["options"], "input": input,
                              "accuracy": _accuracy(logits.numpy(), labels),
                              "loss": loss if math.isfinite(loss) else math.inf})
    ranked = sorted(tried, key=lambda t: t["loss"])  # (stable: a tie keeps the registry's order)
    best = ranked[0]
    if best["options"].get("activation") == "leakyrelu":
        relu = {**best["options"], "activation": "relu"}
        best = next((t for t in ranked if t["architecture"] == best["architecture"] and t["options"] == relu
                     and t["loss"] <= ranked[0]["loss"] * TIE_RATIO), best)
    return [best, *(t for t in ranked if t is not best)]


def _log_probabilities(outputs: np.ndarray) -> np.ndarray:
    """Log-softmax of a model's outputs: logits, log-probabilities (a tutorial's log_softmax) and probabilities
    (a softmax layer) of the same model are then the same numbers."""
    outputs = np.asarray(outputs, dtype=np.float64)
    if (outputs >= 0).all() and np.allclose(outputs.sum(axis=1), 1.0, atol=1e-4):
        outputs = np.log(np.maximum(outputs, 1e-30))
    shifted = outputs - outputs.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def _search_onnx(candidates: list[_Candidate], tensors: list[tuple[str, torch.Tensor]], images: torch.Tensor,
                 labels: np.ndarray, input: str, run: Any) -> list[dict[str, Any]]:
    """Every variant beside the ONNX file fed ``input``-scaled pixels, the one that computes what it computes
    first. Its normalisation may be inside the graph (cnndesk's own exports): fed [0, 1] pixels, such a file is a
    network on MNIST-normalised pixels, so both scales are tried then."""
    reference = _log_probabilities(run(_scaled(images, input)))
    images, labels = images[:len(reference)], labels[:len(reference)]
    scales = INPUTS if input == "unit" else (input,)
    tried = []
    with torch.inference_mode():
        for candidate, scale in itertools.product(candidates, scales):
            for options in _variants(candidate):
                model = _built(candidate.name, options, scale, tensors)
                logits = _log_probabilities(model(images).numpy())
                tried.append({"architecture": candidate.name, "options": model.config["options"], "input": scale,
                              "accuracy": _accuracy(logits, labels),
                              "logit_difference": float(np.abs(logits - reference).max())})
    return sorted(tried, key=lambda t: t["logit_difference"])
