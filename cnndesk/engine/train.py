"""The training loop: whole-tensor batches on the device, events out, stop/pause flags in.

The loop knows nothing about who watches it. Observers implement ``TrainingCallback``; they are told about
batches in small groups (``on_batches``, at most every ``report_interval`` seconds, so a GPU is not synchronised
every step) and about each epoch. They influence the loop only through ``TrainingControl``, whose flags the loop
checks between batches.
"""

from __future__ import annotations

import ctypes
import math
import platform
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .data import Splits, TensorDataset, load_splits
from .errors import CnndeskError
from .models import Network, build_model, count_parameters, model_config, model_spec

if TYPE_CHECKING:
    from .history import HistoryRecorder, Snapshot, TrainingHistory

OPTIMIZERS = ("adam", "adamw", "sgd")
SCHEDULES = ("onecycle", "cosine", "step", "constant")
EVAL_BATCH = 1000
# Why a run ended before its last epoch (FitResult.stop_reason).
STOP_USER = "stopped"  # the stop flag (Stop, Ctrl+C)
STOP_TARGET = "target"  # the target accuracy was reached
STOP_DIVERGED = "diverged"  # the loss is no longer a number, or far above the first batches'
# Divergence: a loss this many times the mean of the run's first batches (cross-entropy starts near 2.3).
DIVERGENCE_FACTOR = 100.0
DIVERGENCE_WARMUP = 10  # batches that set the reference loss
# Thread tuning (ThreadLimit): after TUNE_AFTER warm-up steps, TUNE_BATCHES steps are timed with all threads and as
# many with one fewer; fewer are kept when at least 1 - TUNE_MARGIN faster. Looked at again every TUNE_EVERY steps
# while fewer run, and when the median of TUNE_WINDOW steps at all threads is TUNE_SLOWDOWN times the best seen.
TUNE_AFTER = 20
TUNE_BATCHES = 4
TUNE_MARGIN = 0.85
TUNE_EVERY = 300
TUNE_WINDOW = 20
TUNE_SLOWDOWN = 1.5
# ETA: the first steps (oneDNN picking kernels, memory being mapped) run several times slower than the rest, so the
# estimate uses the throughput measured after them: this fraction of the run, at least ETA_WARMUP_MIN steps.
ETA_WARMUP_FRACTION = 0.02
ETA_WARMUP_MIN = 5
# With a target accuracy, an epoch that starts within this much of it is also tested at each quarter, so that the
# run stops at most a quarter of an epoch after reaching the target, not up to a whole epoch later.
NEAR_TARGET = 0.01
CHECKS_PER_EPOCH = 4
# glibc malloc thresholds (see reuse_freed_memory): mallopt's parameter numbers, and the values set.
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 << 20  # glibc's largest on 64-bit: blocks below it come from the reusable heap
TRIM_THRESHOLD = 256 << 20  # free heap kept for reuse before any is given back to the OS


@dataclass
class TrainConfig:
    model: str = "lenet5"
    model_options: dict[str, Any] = field(default_factory=dict)
    dataset: str = "mnist"
    epochs: int = 8
    batch_size: int = 128
    lr: float = 0.004
    optimizer: str = "adam"
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "onecycle"
    augment: bool = True
    device: str = "auto"
    seed: int = 0
    train_samples: int | None = None  # first N training images only (quick runs, tests)
    test_samples: int | None = None
    target_accuracy: float | None = None  # stop once the test accuracy reaches it

    @classmethod
    def for_model(cls, model: str, **overrides: Any) -> TrainConfig:
        """The model's own recipe (registry), then ``overrides`` (``None`` values are ignored)."""
        recipe = dict(model_spec(model).recipe)
        recipe.update({k: v for k, v in overrides.items() if v is not None})
        return cls(model=model, **recipe)

    def validate(self) -> None:
        model_config(self.model, **self.model_options)  # unknown options and bad values: one clear error
        if not (self.weight_decay >= 0 and math.isfinite(self.weight_decay)):
            raise CnndeskError("Weight decay must be zero or a positive number.")
        if self.optimizer not in OPTIMIZERS:
            raise CnndeskError(f"Unknown optimizer '{self.optimizer}'. Known: {', '.join(OPTIMIZERS)}.")
        if self.schedule not in SCHEDULES:
            raise CnndeskError(f"Unknown schedule '{self.schedule}'. Known: {', '.join(SCHEDULES)}.")
        if self.epochs < 1:
            raise CnndeskError("Epochs must be at least 1.")
        if self.batch_size < 1:
            raise CnndeskError("Batch size must be at least 1.")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise CnndeskError("The learning rate must be a positive number.")
        if self.train_samples is not None and self.train_samples < 1:
            raise CnndeskError("The number of training images must be at least 1.")
        if self.test_samples is not None and self.test_samples < 0:
            raise CnndeskError("The number of test images cannot be negative.")
        if self.target_accuracy is not None and not 0 < self.target_accuracy <= 1:
            raise CnndeskError("The target accuracy is a fraction between 0 and 1, e.g. 0.99.")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class BatchMetrics:
    epoch: int  # 1-based
    batch: int  # 1-based within the epoch
    batches_per_epoch: int
    step: int  # 1-based over the whole run
    loss: float
    samples_seen: int
    samples_per_second: float  # training samples per second of training steps, as everywhere (see FitResult)
    elapsed: float  # seconds of training, pauses excluded
    eta: float  # seconds left, from the throughput after warm-up; NaN while still estimating


@dataclass(frozen=True)
class EpochMetrics:
    epoch: int
    train_loss: float
    train_accuracy: float
    test_accuracy: float
    seconds: float  # the epoch's wall time, its evaluation included, pauses excluded
    samples_per_second: float  # training samples per second of training steps (evaluation excluded)


@dataclass(frozen=True)
class FitInfo:
    config: TrainConfig
    model: Network
    device: torch.device
    train_samples: int
    test_samples: int
    batches_per_epoch: int
    params: int
    loop: FitLoop | None = None  # the run itself, for callbacks that may stop it or evaluate


@dataclass(frozen=True)
class Divergence:
    """Where a run's loss stopped being a number, or left the range of its first batches."""

    step: int
    loss: float


@dataclass
class FitResult:
    model: Network
    config: TrainConfig
    stopped: bool  # ended early: the stop flag, or a divergence
    reached_target: bool
    epochs_completed: int
    history: list[EpochMetrics]
    test_accuracy: float
    train_seconds: float  # whole run, evaluation included, pauses excluded
    # cnndesk's one definition of throughput: training samples per second of training steps (batch preparation,
    # forward, backward, optimizer step), evaluation and pauses excluded. Progress bars, epoch lines and JSON agree.
    samples_per_second: float
    # Optimizer and schedule state at the end, for a resumable checkpoint; None after a partial epoch.
    resume_state: dict[str, Any] | None = None
    epochs_trained: float = 0.0  # the run's, fractions included: 1.75 = three quarters into epoch 2
    stop_reason: str | None = None  # STOP_USER, STOP_TARGET, STOP_DIVERGED; None: every epoch trained
    divergence: Divergence | None = None
    # The run's weight snapshots (a resumed run's earlier ones included), the last one the final weights unless
    # the run diverged; None when fit(record_history=False).
    snapshots: TrainingHistory | None = None

    def metrics(self) -> dict[str, Any]:
        return {
            "test_accuracy": self.test_accuracy,
            "epochs_completed": self.epochs_completed,
            "train_seconds": self.train_seconds,
            "samples_per_second": self.samples_per_second,
            "stopped": self.stopped,
            "history": [asdict(h) for h in self.history],
        }


class TrainingCallback:
    """Observer of a run, Lightning-style. Called on the training thread; must be quick.

    ``on_batch_start``/``on_batch_end`` come with every step and must be nearly free; ``on_batches`` brings the
    steps' metrics in small groups (one host sync each). A callback changes the run only through ``info.loop``
    (``request_stop``), never by touching the model or the optimizer.
    """

    def on_fit_start(self, info: FitInfo) -> None: ...
    def on_epoch_start(self, epoch: int) -> None: ...
    def on_batch_start(self, batch: int) -> None: ...
    def on_batch_end(self, batch: int) -> None: ...
    def on_batches(self, batches: Sequence[BatchMetrics]) -> None: ...
    def on_epoch_end(self, metrics: EpochMetrics) -> None: ...
    def on_fit_end(self, result: FitResult) -> None: ...
    def on_snapshot(self, snapshot: Snapshot) -> None:
        """The run kept a weight snapshot for its history (``info.loop.recorder.history``: all of them so far)."""


class TrainingControl:
    """Thread-safe stop and pause flags and a thread limit, checked by the loop between batches."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._thread_limit: int | None = None  # one reference, written and read whole: safe across threads

    def limit_threads(self, threads: int | None) -> None:
        """Train with at most ``threads`` intra-op threads from the next batch on (None: as many as at the start).

        Leaves cores to the rest of the process for a while, e.g. a window being drawn on.
        """
        self._thread_limit = None if threads is None else max(1, int(threads))

    @property
    def thread_limit(self) -> int | None:
        return self._thread_limit

    def stop(self) -> None:
        self._stop.set()
        self._running.set()  # a paused loop wakes up to stop

    def pause(self) -> None:
        self._running.clear()

    def resume(self) -> None:
        self._running.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def paused(self) -> bool:
        return not self._running.is_set()

    def wait_while_paused(self) -> float:
        """Block while paused; returns the seconds spent waiting."""
        if self._running.is_set():
            return 0.0
        start = time.perf_counter()
        while not self._running.wait(0.1):
            pass
        return time.perf_counter() - start


def available_devices() -> list[str]:
    """Choices for the device option: always auto and cpu, then the accelerators present."""
    devices = ["auto", "cpu"]
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return devices


def resolve_device(name: str) -> torch.device:
    name = (name or "auto").lower()
    if name == "auto":
        present = available_devices()
        return torch.device("cuda" if "cuda" in present else "mps" if "mps" in present else "cpu")
    if name not in ("cpu", "cuda", "mps") and not name.startswith("cuda:"):
        raise CnndeskError(f"Unknown device '{name}'. Use auto, cpu, cuda or mps.")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CnndeskError("CUDA was asked for but no CUDA GPU is available; use --device cpu or auto.")
    if name == "mps" and "mps" not in available_devices():
        raise CnndeskError("MPS was asked for but is not available on this machine; use --device cpu or auto.")
    return torch.device(name)


_allocator_tuned = False


def reuse_freed_memory() -> bool:
    """Let the process keep freed memory for its next tensors instead of handing it back to the OS at once.

    With glibc's default thresholds, a training step's activations (megabytes each) are unmapped when freed and
    come back as fresh pages: thousands of page faults per batch, which cost LeNet5 15–30% of its steps on a
    2-core CPU. Raising the thresholds makes them reuse the same memory. Process-wide, done once; False where
    there is no glibc (macOS, Windows, musl), which is harmless.
    """
    global _allocator_tuned
    if _allocator_tuned:
        return True
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    _allocator_tuned = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _allocator_tuned


def preferred_memory_format(model: nn.Module) -> torch.memory_format:
    """channels_last for convolutional nets: oneDNN's fastest layout on a CPU (LeNet5 trains ~1.25× faster)."""
    has_conv = any(isinstance(m, nn.Conv2d) for m in model.modules())
    return torch.channels_last if has_conv else torch.contiguous_format


# Training augmentation (augment_batch), for what people's digits do that MNIST's seldom show. Each image draws its
# own: rotation, scale, shift and slant (degrees, shares, pixels, all either way; rotation and slant reach their
# limits but mostly stay small, see _spread), an elastic distortion (a random displacement of AUGMENT_ELASTIC px
# standard deviation at each node of a 4×4 grid, smooth in between) and a stroke thickness (from half a 3×3 erosion to a
# whole 3×3 dilation of the grey image).
AUGMENT_ROTATION = 20.0
AUGMENT_SCALE = 0.1
AUGMENT_SHIFT = 2.0
AUGMENT_SLANT = 20.0
AUGMENT_ELASTIC = 1.0
AUGMENT_ELASTIC_NODES = 4
AUGMENT_THICKNESS = (-0.5, 1.0)


def augment_batch(x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random rotation, scale, shift, slant, elastic distortion and stroke thickness, per image, on a whole batch
    (N, 1, H, W) in [0, 1]: one sampling pass and one 3×3 neighbourhood pass, so that it costs little per step."""
    n, _, height, width = x.shape
    rand = torch.rand(n, 6, device=x.device, generator=generator)
    angle = _spread(rand[:, 0]) * math.radians(AUGMENT_ROTATION)
    scale = 1 - AUGMENT_SCALE + rand[:, 1] * (2 * AUGMENT_SCALE)
    shift = (rand[:, 2:4] - 0.5) * (4 * AUGMENT_SHIFT / width)  # in [-1, 1] grid units
    shear = torch.tan(_spread(rand[:, 4]) * math.radians(AUGMENT_SLANT))
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # Where each output pixel samples the input: rotation and scale after a horizontal shear (the slant).
    theta = torch.stack([torch.stack([cos, cos * shear - sin, shift[:, 0]], 1),
                         torch.stack([sin, sin * shear + cos, shift[:, 1]], 1)], 1)
    nodes = torch.randn(n, 2, AUGMENT_ELASTIC_NODES, AUGMENT_ELASTIC_NODES, device=x.device, generator=generator)
    # One pixel of border all round, so the thickness pass has its neighbours without padding.
    grid = sampling_grid(theta, height, width, nodes * (2 * AUGMENT_ELASTIC / width), border=1)
    sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    out = sampled[:, :, 1:-1, 1:-1]
    # Thickness: a grey dilation (3×3 maximum) mixed in for thicker strokes; erosion is the dilation of the negative.
    low, high = AUGMENT_THICKNESS
    amount = (low + rand[:, 5] * (high - low)).view(n, 1, 1, 1)
    sign = torch.sign(amount)
    signed = sampled * sign
    rows = torch.maximum(torch.maximum(signed[:, :, :-2], signed[:, :, 1:-1]), signed[:, :, 2:])
    grown = torch.maximum(torch.maximum(rows[..., :-2], rows[..., 1:-1]), rows[..., 2:]) * sign
    return out + amount.abs() * (grown - out)


def _spread(uniform: torch.Tensor) -> torch.Tensor:
    """Uniform draws in [0, 1) → [-1, 1), half of them within ±0.25: the square of a uniform size, either way.

    Rotations and slants up to ±20° drawn uniformly cost LeNet5's 2-epoch recipe (seed 0) its 99% on MNIST
    (98.9–99.0%); drawn so, it keeps it (99.06–99.13%), and the models read rotated drawings as well (bench).
    """
    centred = 2 * uniform - 1
    return centred * centred.abs()


_grid_bases: dict[tuple, torch.Tensor] = {}


def _grid_basis(height: int, width: int, nodes: int, border: int, device: torch.device) -> torch.Tensor:
    """(2k, P·2) with k = 3 + nodes², P the grid's pixels: an image's grid, x then y for each pixel, is its 2k
    coefficients (theta's rows, then the displacement nodes' x and y) times this. Made once per shape."""
    key = (height, width, nodes, border, str(device))
    if key not in _grid_bases:
        # Pixel centres in [-1, 1] units (align_corners=False), the border's one pixel further out.
        xs = (2 * torch.arange(-border, width + border, dtype=torch.float64) + 1) / width - 1
        ys = (2 * torch.arange(-border, height + border, dtype=torch.float64) + 1) / height - 1
        grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
        functions = [grid_x.reshape(-1), grid_y.reshape(-1), torch.ones(grid_x.numel(), dtype=torch.float64)]
        if nodes:
            def hats(coords: torch.Tensor) -> torch.Tensor:  # linear interpolation weights between the nodes
                position = ((coords + 1) / 2 * (nodes - 1)).clamp(0, nodes - 1)
                return (1 - (position[:, None] - torch.arange(nodes, dtype=torch.float64)).abs()).clamp(min=0)

            functions += list(torch.einsum("ik,jl->klij", hats(ys), hats(xs)).reshape(nodes * nodes, -1))
        stacked = torch.stack(functions)
        k, pixels = stacked.shape
        basis = torch.zeros(2 * k, pixels, 2, dtype=torch.float64)
        basis[:k, :, 0] = stacked
        basis[k:, :, 1] = stacked
        _grid_bases[key] = basis.reshape(2 * k, pixels * 2).to(device=device, dtype=torch.float32)
    return _grid_bases[key]


def sampling_grid(theta: torch.Tensor, height: int, width: int, displacement: torch.Tensor | None = None,
                  border: int = 0) -> torch.Tensor:
    """``F.affine_grid(theta, (n, c, height, width), align_corners=False)`` plus a smooth displacement, as one
    small matrix product: ``displacement`` (n, 2, K, K) in grid units at a K×K grid of nodes over the image,
    interpolated linearly between them; ``border`` extra pixels all round. (n, height + 2·border, width +
    2·border, 2).

    F.affine_grid multiplies every pixel's (x, y, 1) by theta with a batched matmul whose inner dimension is 3,
    which took longer than the sampling itself (0.4 ms of a 7.7 ms LeNet5 step at batch 128).
    """
    n = theta.shape[0]
    nodes = 0 if displacement is None else displacement.shape[-1]
    # Each image's coefficients: x's theta row and displacements, then y's (the basis's order).
    per_axis = [theta[:, axis] if displacement is None
                else torch.cat([theta[:, axis], displacement[:, axis].reshape(n, -1)], 1) for axis in (0, 1)]
    grid = torch.cat(per_axis, 1) @ _grid_basis(height, width, nodes, border, theta.device)
    return grid.view(n, height + 2 * border, width + 2 * border, 2)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    params = list(model.parameters())
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    # Adam's fused kernel updates every parameter in one call: 0.10 ms a step for LeNet5 on the CPU, against
    # 0.32-0.36 ms for the default per-tensor loop; LeNet5's recipe trains 12% faster with it (18.2-18.7k vs
    # 16.1-16.4k samples/s, side by side).
    fused = all(p.device.type in ("cpu", "cuda") and p.dtype == torch.float32 for p in params)
    adam = torch.optim.AdamW if config.optimizer == "adamw" else torch.optim.Adam
    return adam(params, lr=config.lr, weight_decay=config.weight_decay, fused=fused or None)


def _match_parameter_layouts(optimizer: torch.optim.Optimizer) -> None:
    """Give loaded optimizer state its parameter's memory layout (checkpoints store tensors contiguous).

    The fused Adam kernel walks a parameter and its moments as flat memory: a moment stored contiguous for a
    channels_last convolution weight would be updated element by element against the wrong weights.
    """
    for group in optimizer.param_groups:
        for param in group["params"]:
            state = optimizer.state.get(param, {})
            for name, value in state.items():
                if isinstance(value, torch.Tensor) and value.shape == param.shape and value.stride() != param.stride():
                    state[name] = torch.empty_like(param).copy_(value)


def make_scheduler(
    optimizer: torch.optim.Optimizer, config: TrainConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler | None:
    """A per-step learning-rate schedule (None for a constant rate)."""
    total = max(1, config.epochs * steps_per_epoch)
    if total < 3:
        return None  # too short a run for a schedule to mean anything
    if config.schedule == "onecycle":
        # Warm up for a quarter of the run, but at least two steps (OneCycleLR needs both phases non-empty).
        pct_start = min(0.5, max(0.25, 2.0 / total))
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=config.lr, total_steps=total,
                                                   pct_start=pct_start)
    if config.schedule == "cosine":
        return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total)
    if config.schedule == "step":
        return torch.optim.lr_scheduler.StepLR(optimizer, step_size=max(1, steps_per_epoch * 3), gamma=0.3)
    return None


@dataclass(frozen=True)
class SampleResults:
    """What the model said about each image of an evaluated split, in the split's order."""

    labels: np.ndarray  # (N,) int64, the true digits
    predictions: np.ndarray  # (N,) int64
    confidences: np.ndarray  # (N,) float32, the probability of the predicted class
    losses: np.ndarray  # (N,) float32, the cross-entropy of the true class

    def where(self, label: int | None = None, predicted: int | None = None, wrong_only: bool = False) -> np.ndarray:
        """Indices of the images with that true label and that prediction (None: any), most confident first."""
        keep = np.ones(len(self.labels), dtype=bool)
        if label is not None:
            keep &= self.labels == label
        if predicted is not None:
            keep &= self.predictions == predicted
        if wrong_only:
            keep &= self.labels != self.predictions
        found = np.flatnonzero(keep)
        return found[np.argsort(-self.confidences[found], kind="stable")]

    def misclassified(self) -> list[dict[str, Any]]:
        """Every wrong prediction, in the split's order: {index, label, predicted, confidence}."""
        return [{"index": int(i), "label": int(self.labels[i]), "predicted": int(self.predictions[i]),
                 "confidence": float(self.confidences[i])} for i in np.flatnonzero(self.labels != self.predictions)]


@dataclass(frozen=True)
class Evaluation:
    accuracy: float
    per_class_accuracy: list[float]
    confusion_matrix: list[list[int]]  # rows: true label, columns: predicted
    loss: float
    samples: SampleResults | None = None  # per image, when asked for (``evaluate(..., per_sample=True)``)


@torch.inference_mode()
def evaluate(model: nn.Module, dataset: TensorDataset, batch_size: int = EVAL_BATCH, per_sample: bool = False,
             progress: Callable[[float], None] | None = None,
             cancelled: Callable[[], bool] | None = None) -> Evaluation:
    """Accuracy, per-class accuracy and confusion matrix; the model's device is used. ``per_sample`` also keeps
    each image's prediction, confidence and loss; ``progress`` hears the fraction done after each batch, and
    ``cancelled`` returning True ends the pass (CnndeskError)."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    confusion = torch.zeros(100, dtype=torch.int64, device=device)
    loss_sum = torch.zeros((), dtype=torch.float64, device=device)
    kept: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
    try:
        for start in range(0, len(dataset), batch_size):
            if cancelled is not None and cancelled():
                raise CnndeskError("The evaluation was cancelled.")
            x = dataset.images[start:start + batch_size].to(device, non_blocking=True).float().div_(255.0)
            y = dataset.labels[start:start + batch_size].to(device, non_blocking=True)
            logits = model(x)
            losses = F.cross_entropy(logits, y, reduction="none")
            loss_sum += losses.sum().double()
            predicted = logits.argmax(1)
            confusion += torch.bincount(y * 10 + predicted, minlength=100)
            if per_sample:
                confidence = torch.softmax(logits.float(), dim=1).gather(1, predicted[:, None])[:, 0]
                kept.append((predicted.cpu(), confidence.cpu(), losses.float().cpu()))
            if progress is not None:
                progress(min(1.0, (start + batch_size) / max(1, len(dataset))))
    finally:
        model.train(was_training)
    matrix = confusion.view(10, 10).cpu()
    totals = matrix.sum(1).clamp(min=1)
    n = max(1, len(dataset))
    samples = None
    if per_sample:
        samples = SampleResults(
            labels=dataset.labels.cpu().numpy().astype(np.int64),
            predictions=torch.cat([k[0] for k in kept]).numpy().astype(np.int64) if kept else np.zeros(0, np.int64),
            confidences=torch.cat([k[1] for k in kept]).numpy() if kept else np.zeros(0, np.float32),
            losses=torch.cat([k[2] for k in kept]).numpy() if kept else np.zeros(0, np.float32))
    return Evaluation(
        accuracy=float(matrix.diag().sum()) / n,
        per_class_accuracy=(matrix.diag().double() / totals).tolist(),
        confusion_matrix=matrix.tolist(),
        loss=float(loss_sum) / n,
        samples=samples,
    )


def _resume_state(
    optimizer: torch.optim.Optimizer, scheduler: torch.optim.lr_scheduler.LRScheduler | None, epochs: int
) -> dict[str, Any]:
    """What a checkpoint needs to continue the run after ``epochs`` whole epochs."""
    return {"optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict() if scheduler is not None else None,
            "epochs_completed": epochs}


class FitLoop:
    """A run in progress as its callbacks see it: what it trains, where it stands, and what it may be asked."""

    def __init__(self, config: TrainConfig, model: Network, optimizer: torch.optim.Optimizer,
                 scheduler: torch.optim.lr_scheduler.LRScheduler | None, test: TensorDataset,
                 batches_per_epoch: int, history: list[EpochMetrics], start_epoch: int) -> None:
        self.config = config
        self.model = model
        self.optimizer = optimizer
        self.scheduler = scheduler
        self.test = test
        self.batches_per_epoch = batches_per_epoch
        self.history = history  # whole epochs, a resumed run's earlier ones included
        self.epoch = start_epoch
        self.step = (start_epoch - 1) * batches_per_epoch
        self.stop_reason: str | None = None
        self.divergence: Divergence | None = None
        self.last_evaluation: Evaluation | None = None
        self._evaluated_at = -1
        self.recorder: HistoryRecorder | None = None  # takes the run's weight snapshots (fit's record_history)

    def request_stop(self, reason: str, divergence: Divergence | None = None) -> None:
        """End the run after this batch. The first reason given is the one reported."""
        if self.stop_reason is None:
            self.stop_reason = reason
            self.divergence = divergence

    def evaluate(self) -> Evaluation | None:
        """The model on the test set at this step (evaluated once per step); None without test images."""
        if not len(self.test):
            return None
        if self._evaluated_at != self.step:
            self.last_evaluation = evaluate(self.model, self.test)
            self._evaluated_at = self.step
        return self.last_evaluation

    def resume_state(self) -> dict[str, Any]:
        """What a checkpoint needs to continue the run after its last whole epoch (call it at an epoch's end)."""
        return _resume_state(self.optimizer, self.scheduler, len(self.history))


class ThreadLimit(TrainingCallback):
    """The training thread's intra-op thread count, set between batches: ``TrainingControl.limit_threads`` (a pen on
    the canvas) and, with ``tune``, what trains fastest now; the threads come back at the end.

    Tuning: OpenMP keeps every thread busy-waiting for the others, so when another program holds one of two cores,
    a step with both threads waits for the slower one (LeNet5 fell from 16.6k to ~3k samples/s; 10.6k with one
    thread). After the warm-up, a few batches are timed with one thread fewer; that count is kept if it is clearly
    faster. The comparison is made again when steps slow down, and now and then while fewer threads run, so the
    run goes back to all of them once the machine is free. An idle machine pays one short comparison per run.
    """

    def __init__(self, control: TrainingControl, tune: bool = False,
                 clock: Callable[[], float] = time.perf_counter) -> None:
        self.control = control
        self.clock = clock
        self.all_threads = self.threads = torch.get_num_threads()  # the training thread's own count
        self.tune = tune and self.all_threads > 1
        self.tuned = self.all_threads  # what the last comparison chose
        self.steps = 0
        self.next_check = TUNE_AFTER
        self.probing: int | None = None  # the count being timed
        self.timings: dict[int, list[float]] = {}
        self.recent: list[float] = []  # the latest step times at the chosen count
        self.best: float | None = None  # the fastest median seen at all threads
        self._start = 0.0

    def on_batch_start(self, batch: int) -> None:
        if self.tune and self.probing is None and self.steps >= self.next_check and not self.control.thread_limit:
            self.probing = self.all_threads
            self.timings = {self.all_threads: [], self.all_threads - 1: []}
        count = self.probing if self.probing is not None else self.tuned
        limit = self.control.thread_limit
        wanted = min(count, limit) if limit else count
        if wanted != self.threads:
            torch.set_num_threads(wanted)
            self.threads = wanted
        if self.tune:
            self._start = self.clock()

    def on_batch_end(self, batch: int) -> None:
        self.steps += 1
        if not self.tune:
            return
        took = self.clock() - self._start
        if self.control.thread_limit:  # a pen on the canvas: these steps do not compare; look again later
            self.probing, self.recent = None, []
            self.next_check = max(self.next_check, self.steps + TUNE_AFTER)
            return
        if self.probing is None:
            self._watch(took)
            return
        times = self.timings[self.probing]
        times.append(took)
        if len(times) <= TUNE_BATCHES:  # (the first step after a change of count is dropped: the team resizes)
            return
        if self.probing == self.all_threads:
            self.probing = self.all_threads - 1
            return
        full, fewer = (statistics.median(self.timings[n][1:]) for n in (self.all_threads, self.all_threads - 1))
        self.best = full if self.best is None else min(self.best, full)
        self.tuned = self.all_threads - 1 if fewer < TUNE_MARGIN * full else self.all_threads
        self.probing, self.recent = None, []
        self.next_check = self.steps + TUNE_EVERY if self.tuned < self.all_threads else 10**12

    def _watch(self, took: float) -> None:
        """At all threads: compare again if steps have become much slower than the best seen (something else
        started using a core)."""
        if self.tuned < self.all_threads or self.best is None:
            return
        self.recent.append(took)
        if len(self.recent) < TUNE_WINDOW:
            return
        if statistics.median(self.recent) > TUNE_SLOWDOWN * self.best:
            self.next_check = self.steps
        self.recent = []

    def on_fit_end(self, result: FitResult) -> None:
        self.restore()

    def restore(self) -> None:
        if self.threads != self.all_threads:
            torch.set_num_threads(self.all_threads)
            self.threads = self.all_threads


class DivergenceGuard(TrainingCallback):
    """Stops a run whose loss is no longer finite, or is far above its first batches' (too high a learning rate).

    Checked on the reported losses (no extra host sync). The last batch of an epoch is always reported before the
    epoch ends, so a diverged epoch is never saved.
    """

    def __init__(self, factor: float = DIVERGENCE_FACTOR, warmup: int = DIVERGENCE_WARMUP) -> None:
        self.factor, self.warmup = factor, warmup
        self.first: list[float] = []
        self.reference: float | None = None  # the mean of the first ``warmup`` losses, once there are that many
        self.loop: FitLoop | None = None

    def on_fit_start(self, info: FitInfo) -> None:
        self.loop = info.loop

    def on_batches(self, batches: Sequence[BatchMetrics]) -> None:
        for b in batches:
            if not math.isfinite(b.loss) or (self.reference is not None and b.loss > self.factor * self.reference):
                if self.loop is not None:
                    self.loop.request_stop(STOP_DIVERGED, Divergence(b.step, b.loss))
                return
            if self.reference is None:
                self.first.append(b.loss)
                if len(self.first) == self.warmup:
                    self.reference = sum(self.first) / self.warmup


class Autosave(TrainingCallback):
    """Writes a resumable checkpoint after every whole epoch, so a crash loses at most the epoch in progress.

    Weights that are no longer finite are never written: the run is stopped as diverged instead, and the file
    keeps the last good epoch.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.loop: FitLoop | None = None
        self.saved_epoch: int | None = None  # the last epoch written by this run

    def on_fit_start(self, info: FitInfo) -> None:
        self.loop = info.loop

    def on_epoch_end(self, metrics: EpochMetrics) -> None:
        from .checkpoint import save_checkpoint

        loop = self.loop
        assert loop is not None
        if not all(bool(torch.isfinite(p).all()) for p in loop.model.parameters()):
            loop.request_stop(STOP_DIVERGED, Divergence(loop.step, float("nan")))
            return
        save_checkpoint(
            loop.model, self.path, loop.config.to_dict(),
            {"test_accuracy": metrics.test_accuracy, "epochs_completed": metrics.epoch,
             "history": [asdict(h) for h in loop.history]},
            resume=loop.resume_state(),
            snapshots=loop.recorder.history if loop.recorder is not None else None,
        )
        self.saved_epoch = metrics.epoch


class TargetAccuracy(TrainingCallback):
    """Stops the run once the test accuracy reaches ``target``: tested after each epoch, and at each quarter of an
    epoch that starts within NEAR_TARGET of it (so the run stops at most a quarter of an epoch late)."""

    def __init__(self, target: float) -> None:
        self.target = target
        self.loop: FitLoop | None = None
        self.checks: set[int] = set()

    def on_fit_start(self, info: FitInfo) -> None:
        self.loop = info.loop

    def on_epoch_start(self, epoch: int) -> None:
        loop = self.loop
        assert loop is not None
        last = loop.last_evaluation
        near = last is not None and last.accuracy >= self.target - NEAR_TARGET
        batches = loop.batches_per_epoch
        self.checks = {batches * k // CHECKS_PER_EPOCH for k in range(1, CHECKS_PER_EPOCH)} if near else set()

    def on_batch_end(self, batch: int) -> None:
        if batch in self.checks:
            self._check()

    def on_epoch_end(self, metrics: EpochMetrics) -> None:
        self._check()

    def _check(self) -> None:
        loop = self.loop
        assert loop is not None
        evaluation = loop.evaluate()
        if evaluation is not None and evaluation.accuracy >= self.target:
            loop.request_stop(STOP_TARGET)


def _initial_weights(model: Network, source: str | Path | Network) -> None:
    """Start ``model`` from another model's weights (fine-tuning): same architecture, or one clear error."""
    from .checkpoint import load_model

    if isinstance(source, str | Path):
        source, _ = load_model(source)
    if source.config != model.config:
        raise CnndeskError(f"Cannot start a {model.name} from a {source.name}: the architectures differ.")
    model.load_state_dict(source.state_dict())


def fit(
    config: TrainConfig,
    callbacks: Sequence[TrainingCallback] = (),
    control: TrainingControl | None = None,
    splits: Splits | None = None,
    report_interval: float = 0.05,
    autosave_path: str | Path | None = None,
    resume_from: str | Path | None = None,
    init_from: str | Path | Network | None = None,
    record_history: bool = True,
) -> FitResult:
    """Train a model as ``config`` says. Returns when done, stopped, diverged, or the target is reached.

    ``autosave_path``: after every epoch, a resumable checkpoint is written there (a crash loses at most one
    epoch). ``resume_from``: continue such a checkpoint's run, optimizer and schedule included, after checking
    every tensor and field of it; every epoch is seeded from ``config.seed`` and its number, so a resumed run
    matches an uninterrupted one. ``init_from``: start from a checkpoint's (or a model's) weights with a fresh
    optimizer, for fine-tuning. ``record_history``: keep weight snapshots for the replay (``FitResult.snapshots``,
    and the autosaved checkpoint; a resumed run continues its checkpoint's history).
    """
    config.validate()
    if resume_from is not None and init_from is not None:
        raise CnndeskError("A run either resumes a checkpoint or starts from one's weights, not both.")
    control = control or TrainingControl()
    device = resolve_device(config.device)
    if device.type == "cpu":
        reuse_freed_memory()
    torch.manual_seed(config.seed)

    splits = splits or load_splits(config.dataset)
    train = splits.train.subset(config.train_samples).to(device)
    test = splits.test.subset(config.test_samples).to(device)
    n = len(train)
    if n == 0:
        raise CnndeskError("There are no training samples.")
    batch_size = min(config.batch_size, n)
    batches = math.ceil(n / batch_size)

    model = build_model(config.model, **config.model_options)
    if any(isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d) for m in model.modules()):
        # BatchNorm cannot normalise a batch of one image (one value per channel after an fc layer).
        if batch_size < 2:
            raise CnndeskError("A model with BatchNorm needs batches of at least 2 images.")
        if n % batch_size == 1:
            batches -= 1  # the epoch's last, single image joins the batch before it
    resume_state: dict[str, Any] | None = None
    history: list[EpochMetrics] = []
    if resume_from is not None:
        from .resume import load_resume_state

        saved, meta, resume_state = load_resume_state(resume_from, config, batches)
        if saved.config != model.config:
            raise CnndeskError(f"{resume_from} holds a {saved.name}, not the {config.model} this run trains.")
        model.load_state_dict(saved.state_dict())
        history = [EpochMetrics(**entry) for entry in meta.get("metrics", {}).get("history", [])]
        history = history[:resume_state["epochs_completed"]]
    elif init_from is not None:
        _initial_weights(model, init_from)
    model = model.to(device)
    memory_format = preferred_memory_format(model)
    model = model.to(memory_format=memory_format)
    optimizer = make_optimizer(model, config)
    scheduler = make_scheduler(optimizer, config, batches)
    start_epoch = 1
    if resume_state is not None:
        try:
            optimizer.load_state_dict(resume_state["optimizer"])
            if scheduler is not None and resume_state["scheduler"] is not None:
                scheduler.load_state_dict(resume_state["scheduler"])
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise CnndeskError(f"{Path(resume_from).name} cannot be resumed: its optimizer state does not fit "
                               f"this run ({exc}).") from None
        _match_parameter_layouts(optimizer)
        start_epoch = resume_state["epochs_completed"] + 1

    loop = FitLoop(config, model, optimizer, scheduler, test, batches, history, start_epoch)
    if record_history:
        from .history import HistoryRecorder, load_history

        loop.recorder = HistoryRecorder(load_history(resume_from) if resume_from is not None else None)
    thread_limit = ThreadLimit(control, tune=device.type == "cpu")
    hooks: list[TrainingCallback] = [thread_limit, DivergenceGuard(), *([loop.recorder] if loop.recorder else [])]
    if autosave_path is not None:
        hooks.append(Autosave(autosave_path))
    if config.target_accuracy is not None and len(test):
        hooks.append(TargetAccuracy(config.target_accuracy))
    hooks.extend(callbacks)
    if loop.recorder is not None:
        loop.recorder.listeners = [hook for hook in hooks if hook is not loop.recorder]
    try:
        return _run(loop, hooks, control, device, train, batch_size, memory_format, report_interval)
    finally:
        thread_limit.restore()  # the threads come back even after an error


def _run(loop: FitLoop, hooks: Sequence[TrainingCallback], control: TrainingControl, device: torch.device,
         train: TensorDataset, batch_size: int, memory_format: torch.memory_format,
         report_interval: float) -> FitResult:
    """The loop itself: epochs of batches, the callbacks told, the stop flag and stop requests obeyed."""
    config, model, optimizer, scheduler = loop.config, loop.model, loop.optimizer, loop.scheduler
    n, batches, history = len(train), loop.batches_per_epoch, loop.history
    info = FitInfo(config, model, device, n, len(loop.test), batches, count_parameters(model), loop)
    for cb in hooks:
        cb.on_fit_start(info)

    samples_seen = 0
    first_step = loop.step
    total_steps = config.epochs * batches
    warmup_steps = min(batches, max(ETA_WARMUP_MIN, math.ceil(ETA_WARMUP_FRACTION * (total_steps - first_step))))
    warmed_at: tuple[int, float] | None = None  # (step, elapsed) when the warm-up ended
    train_time = 0.0  # time inside training steps, pauses excluded
    run_start = time.perf_counter()
    paused_total = 0.0
    at_epoch_end = True  # the optimizer state matches the end of an epoch (resumable)
    pending_losses: list[torch.Tensor] = []
    pending_meta: list[tuple[int, int, int, float, float, float]] = []  # batch, step, seen, busy, elapsed, eta

    def report(epoch: int) -> None:
        if not pending_losses:
            return
        values = torch.stack(pending_losses).tolist()  # one host sync per report
        reports = [BatchMetrics(epoch, b, batches, s, v, seen, seen / max(busy, 1e-9), elapsed, eta)
                   for (b, s, seen, busy, elapsed, eta), v in zip(pending_meta, values, strict=True)]
        pending_losses.clear()
        pending_meta.clear()
        for cb in hooks:
            cb.on_batches(reports)

    for epoch in range(loop.epoch, config.epochs + 1):
        loop.epoch = epoch
        model.train()
        torch.manual_seed(config.seed * 100_003 + epoch)  # augmentation draws: a function of the epoch
        shuffle_gen = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        order = torch.randperm(n, generator=shuffle_gen).to(device)
        epoch_start = time.perf_counter()
        epoch_paused = epoch_busy = 0.0
        epoch_loss = torch.zeros((), device=device)
        epoch_correct = torch.zeros((), dtype=torch.int64, device=device)
        epoch_samples = 0
        last_report = time.perf_counter()
        for cb in hooks:
            cb.on_epoch_start(epoch)

        for batch in range(1, batches + 1):
            if control.paused:
                waited = control.wait_while_paused()
                epoch_paused += waited
                paused_total += waited
            if control.stopped:
                loop.request_stop(STOP_USER)
                break
            for cb in hooks:
                cb.on_batch_start(batch)
            t0 = time.perf_counter()
            idx = order[(batch - 1) * batch_size: batch * batch_size if batch < batches else n]
            x = train.images.index_select(0, idx).float().div_(255.0)
            y = train.labels.index_select(0, idx)
            if config.augment:
                x = augment_batch(x)
            x = x.contiguous(memory_format=memory_format)
            logits = model(x)
            loss = F.cross_entropy(logits, y)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            if scheduler is not None:
                scheduler.step()
            detached = loss.detach()
            epoch_loss += detached * y.shape[0]
            epoch_correct += (logits.detach().argmax(1) == y).sum()
            epoch_samples += y.shape[0]
            samples_seen += y.shape[0]
            loop.step += 1
            at_epoch_end = False
            now = time.perf_counter()
            train_time += now - t0
            epoch_busy += now - t0
            elapsed = now - run_start - paused_total
            done = loop.step - first_step
            if warmed_at is None and done >= warmup_steps:
                warmed_at = (loop.step, elapsed)
            eta = math.nan
            if warmed_at is not None and loop.step - warmed_at[0] >= ETA_WARMUP_MIN:
                eta = (total_steps - loop.step) * (elapsed - warmed_at[1]) / (loop.step - warmed_at[0])
            pending_losses.append(detached)
            pending_meta.append((batch, loop.step, samples_seen, train_time, elapsed, eta))
            if now - last_report >= report_interval or batch == batches:
                report(epoch)
                last_report = time.perf_counter()
            for cb in hooks:
                cb.on_batch_end(batch)
            if loop.stop_reason is not None:
                break
        report(epoch)

        if epoch_samples == 0 or loop.stop_reason == STOP_DIVERGED:
            break
        if loop.stop_reason is not None and epoch_samples < n:
            break  # a partial epoch gets no epoch entry; the final evaluation below still runs
        evaluation = loop.evaluate()
        seconds = time.perf_counter() - epoch_start - epoch_paused
        metrics = EpochMetrics(
            epoch=epoch,
            train_loss=float(epoch_loss) / epoch_samples,
            train_accuracy=float(epoch_correct) / epoch_samples,
            test_accuracy=evaluation.accuracy if evaluation else float("nan"),
            seconds=seconds,
            samples_per_second=epoch_samples / max(epoch_busy, 1e-9),
        )
        history.append(metrics)
        at_epoch_end = True
        for cb in hooks:
            cb.on_epoch_end(metrics)
        if loop.stop_reason is not None:
            break

    diverged = loop.stop_reason == STOP_DIVERGED
    # A diverged model is not evaluated: its outputs are not numbers.
    final = None if diverged or loop.step == 0 else loop.evaluate()
    model.eval()
    result = FitResult(
        model=model,
        config=config,
        stopped=loop.stop_reason in (STOP_USER, STOP_DIVERGED),
        reached_target=loop.stop_reason == STOP_TARGET,
        epochs_completed=len(history),
        history=history,
        test_accuracy=final.accuracy if final else float("nan"),
        train_seconds=time.perf_counter() - run_start - paused_total,
        samples_per_second=samples_seen / max(train_time, 1e-9),
        # Trained past the last whole epoch (stopped mid-epoch): the optimizer state no longer matches an epoch.
        resume_state=loop.resume_state() if at_epoch_end and not diverged else None,
        epochs_trained=loop.step / batches,
        stop_reason=loop.stop_reason,
        divergence=loop.divergence,
        snapshots=loop.recorder.finish() if loop.recorder is not None else None,
    )
    for cb in hooks:
        cb.on_fit_end(result)
    return result
