"""A model out of cnndesk: ONNX (for onnxruntime, Netron and the rest) or TorchScript, checked after writing.

What is exported is the network as declared — its layers in their order, with PyTorch's own max-pool — not the
forward pass cnndesk trains with (pooling before the activation, a pairwise max-pool: the same numbers, faster on
a CPU, but not standard operators). The input is ``(N, 1, 28, 28)`` float pixels in [0, 1], ink high, N free; the
output is the 10 logits; the MNIST normalisation is the first layer, inside the file.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .checkpoint import atomic_write
from .errors import CnndeskError
from .models import INPUT_METADATA_KEY, Network
from .pooling import MaxPool2d

FORMATS = ("onnx", "torchscript")
SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
INPUT_NAME, OUTPUT_NAME = "image", "logits"
ONNX_OPSET = 18
# An export is accepted when it gives the same prediction for every image checked and no logit further than this
# from PyTorch's (float32 arithmetic in another order differs by ~1e-6).
MAX_LOGIT_DIFFERENCE = 1e-4
CHECK_BATCH = 1000


@dataclass(frozen=True)
class ExportCheck:
    """An exported file run on images beside the PyTorch model it came from."""

    path: Path
    format: str
    runtime: str  # what ran the file: "onnxruntime 1.x", "torch.jit 2.x"
    images: int
    same_predictions: int
    max_logit_difference: float
    seconds: float  # writing and checking

    @property
    def passed(self) -> bool:
        return self.same_predictions == self.images and self.max_logit_difference <= MAX_LOGIT_DIFFERENCE

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "path": str(self.path), "passed": self.passed,
                "max_logit_difference_allowed": MAX_LOGIT_DIFFERENCE}


def standard_network(model: Network) -> nn.Sequential:
    """``model``'s layers in their declared order (sharing its weights), with cnndesk's max-pool replaced by
    PyTorch's: what an exporter turns into standard operators. In eval mode, on the CPU."""
    layers = []
    for name, module in model.named_children():
        if isinstance(module, MaxPool2d):
            module = nn.MaxPool2d(module.kernel_size, module.stride, module.padding, module.dilation,
                                  ceil_mode=module.ceil_mode)
        layers.append((name, module))
    return nn.Sequential(OrderedDict(layers)).cpu().eval()


def export_model(model: Network, path: str | Path, format: str) -> Path:
    """Write ``model`` as ``format`` (see FORMATS) to ``path``, atomically; CnndeskError in one sentence if it
    cannot be written or a package it needs is missing."""
    if format not in FORMATS:
        raise CnndeskError(f"Unknown export format {format!r}: choose {' or '.join(FORMATS)}.")
    path = Path(path)
    if path.is_dir():
        raise CnndeskError(f"{path} is a folder: give the file to write (e.g. {path / ('model' + SUFFIXES[format])}).")
    network = standard_network(model)
    example = torch.zeros(1, 1, 28, 28)
    writer = _onnx_writer(network, example) if format == "onnx" else _torchscript_writer(network, example)
    try:
        atomic_write(path, writer)
    except OSError as exc:
        raise CnndeskError(f"Could not write {path}: {exc.strerror or exc}.") from None
    return path


def _onnx_writer(network: nn.Module, example: torch.Tensor) -> Callable[[Path], None]:
    try:
        import onnx  # noqa: F401  (the exporter's own dependencies: one message instead of its ImportError)
        import onnxscript  # noqa: F401
    except ImportError:
        raise CnndeskError("ONNX export needs the onnx and onnxscript packages (cnndesk's dependencies): "
                           "pip install onnx onnxscript.") from None

    def write(tmp: Path) -> None:
        with _quiet():
            program = torch.onnx.export(network, (example,), dynamo=True, input_names=[INPUT_NAME],
                                        output_names=[OUTPUT_NAME], opset_version=ONNX_OPSET,
                                        dynamic_shapes=({0: torch.export.Dim("batch")},), verbose=False)
            # The pixels the file takes, for whoever opens it (cnndesk's own import reads it and asks nothing).
            program.model.metadata_props[INPUT_METADATA_KEY] = "unit"
            program.save(str(tmp))  # one file: the weights are far below ONNX's 2 GB limit

    return write


def _torchscript_writer(network: nn.Module, example: torch.Tensor) -> Callable[[Path], None]:
    def write(tmp: Path) -> None:
        with _quiet(), torch.no_grad():
            torch.jit.trace(network, example).save(str(tmp))  # no branch depends on the input: tracing is exact

    return write


@contextlib.contextmanager
def _quiet():
    """The exporters' progress lines and deprecation notices are not cnndesk's output."""
    import warnings

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def check_export(model: Network, path: str | Path, format: str, images: torch.Tensor,
                 started: float | None = None) -> ExportCheck:
    """Run the exported file on ``images`` (N, 1, 28, 28) float in [0, 1] — with onnxruntime for ONNX, torch.jit
    for TorchScript — and compare with ``model``: predictions and the largest logit difference."""
    started = time.perf_counter() if started is None else started
    path = Path(path)
    run, runtime = _onnx_runner(path) if format == "onnx" else _torchscript_runner(path)
    # Against the model as cnndesk runs it (its faster forward): the export must compute what the app shows.
    reference = model
    was_training = reference.training
    reference.eval()
    same, worst = 0, 0.0
    with torch.no_grad():
        for start in range(0, len(images), CHECK_BATCH):
            batch = images[start:start + CHECK_BATCH].float().cpu()
            expected = reference(batch.to(next(reference.parameters()).device)).cpu().numpy()
            got = np.asarray(run(batch.numpy()), dtype=np.float32)
            same += int((expected.argmax(1) == got.argmax(1)).sum())
            worst = max(worst, float(np.abs(expected - got).max()))
    reference.train(was_training)
    return ExportCheck(path, format, runtime, len(images), same, worst, time.perf_counter() - started)


def _onnx_runner(path: Path) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    try:
        import onnxruntime
    except ImportError:
        raise CnndeskError("Checking an ONNX export needs onnxruntime (a cnndesk dependency): pip install "
                           "onnxruntime.") from None
    try:
        session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime's own exception types: a damaged or foreign file
        raise CnndeskError(f"onnxruntime cannot run {path}: {str(exc).splitlines()[0]}") from None
    name = session.get_inputs()[0].name
    return (lambda batch: session.run(None, {name: batch})[0]), f"onnxruntime {onnxruntime.__version__}"


def _torchscript_runner(path: Path) -> tuple[Callable[[np.ndarray], np.ndarray], str]:
    with _quiet():
        try:
            loaded = torch.jit.load(str(path), map_location="cpu")
        except (RuntimeError, ValueError, OSError) as exc:
            raise CnndeskError(f"torch.jit cannot load {path}: {str(exc).splitlines()[0]}") from None
    loaded.eval()

    def run(batch: np.ndarray) -> np.ndarray:
        with torch.no_grad(), _quiet():
            return loaded(torch.from_numpy(batch)).numpy()

    return run, f"torch.jit {torch.__version__}"


def export_checked(model: Network, path: str | Path, format: str) -> ExportCheck:
    """``export_model``, then ``check_export`` on the 10,000 MNIST test images: what `cnndesk export` and
    File → Export do."""
    from .data import load_splits

    started = time.perf_counter()
    written = export_model(model, path, format)
    return check_export(model, written, format, load_splits("mnist").test.float_images(), started)
