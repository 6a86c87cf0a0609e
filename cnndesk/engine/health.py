"""Layer health while a run trains: activations, dead and saturated units, gradient norms, update ratios.

``LayerHealthMonitor`` is a training callback that, about once every ``every_s`` seconds, measures one training
step: for every layer with weights (conv and fc, in the model's order) the mean and spread of its output after its
activation, the fraction of dead ReLU units, the fraction of saturated sigmoid/tanh outputs, the norm of the
weights' gradient and the step's update-to-weight ratio ‖Δw‖/‖w‖. The steps in between cost one clock read.

It only reads: forward hooks are attached for the sampled step alone and removed right after it, everything is
computed on detached tensors without autograd, and the gradients are read where the loop leaves them
(``on_batch_end`` comes after ``optimizer.step()``; ``zero_grad`` runs only before the next backward). The
numbers stay on the training device until one host sync per sampled step.

``warnings(sample)`` names the classic signs of trouble: saturated sigmoids, dead ReLUs, vanishing gradients,
stalled or exploding updates (the rule of thumb for a healthy update ratio is about 1e-3).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .train import FitInfo, FitLoop, FitResult, TrainingCallback

# A "dead" warning: at least this fraction of a layer's ReLU units output 0 for every image of the batch.
DEAD_WARNING = 0.5
# A "saturated" warning: at least this fraction of a sigmoid/tanh layer's outputs sit on the flat tails.
SATURATED_WARNING = 0.5
SIGMOID_SATURATION = 0.01  # sigmoid outputs below it or above 1 - it
TANH_SATURATION = 0.99  # |tanh| above it
# A "vanishing" warning: a layer's gradient norm below this fraction of the largest layer's in the same step.
VANISHING_GRAD_RATIO = 1e-3
# Update-to-weight ratios ‖Δw‖/‖w‖ of one step: about HEALTHY_UPDATE is the classic rule of thumb (CS231n).
HEALTHY_UPDATE = 1e-3
STALLED_UPDATE = 1e-5  # below: the layer barely learns ("stalled")
EXPLODING_UPDATE = 1e-1  # above: each step rewrites a tenth of the weights ("exploding")
# Updates are small by design while a schedule holds the learning rate low (OneCycle's warm-up and its end): no
# "stalled" warning below this fraction of the run's configured rate.
STALLED_MIN_LR_FRACTION = 0.1
_TINY = 1e-30  # guards a division by the norm of all-zero weights


@dataclass(frozen=True)
class LayerHealth:
    """One layer with weights, measured on one training step."""

    name: str  # as in ``named_modules``: "conv1", "block2.conv1"
    activation: str  # the activation measured after the layer: "relu", "leakyrelu", "sigmoid", "tanh", … or "none"
    act_mean: float  # mean of the layer's output after its activation, over the batch, units and positions
    act_std: float  # its standard deviation
    dead_fraction: float  # ReLU: fraction of units (channels of a conv) at 0 for every image of the batch; else NaN
    saturated_fraction: float  # sigmoid/tanh: fraction of outputs on the flat tails; else NaN
    grad_norm: float  # L2 norm of the weight's gradient (the bias is not included)
    update_ratio: float  # ‖w_after − w_before‖ / ‖w_before‖ over this step's optimizer update


@dataclass(frozen=True)
class HealthSample:
    """Every weighted layer's health at one training step."""

    step: int  # 1-based over the run, as ``BatchMetrics.step``
    epoch: float  # epochs trained at the end of the step: 1.5 = half-way through epoch 2
    layers: list[LayerHealth]
    lr: float = math.nan  # the learning rate of the step (first parameter group)
    base_lr: float = math.nan  # the run's configured rate (OneCycle's peak): ``lr`` below it means a schedule


@dataclass(frozen=True)
class HealthWarning:
    """A classic sign of trouble in one layer. ``value``'s meaning depends on ``kind``:

    "dead": the fraction of dead ReLU units; "saturated": the fraction of saturated sigmoid/tanh outputs;
    "vanishing": the layer's gradient norm as a fraction of the largest layer's; "stalled" and "exploding": the
    update-to-weight ratio (a gradient that is not a number is "exploding" with ``value`` NaN or inf).
    """

    layer: str
    kind: str
    value: float


WARNING_KINDS = ("dead", "saturated", "vanishing", "stalled", "exploding")


def warnings(sample: HealthSample) -> list[HealthWarning]:
    """The warning signs in ``sample``, layer by layer in the model's order."""
    grads = [layer.grad_norm for layer in sample.layers if math.isfinite(layer.grad_norm)]
    largest = max(grads, default=0.0)
    low_lr = (math.isfinite(sample.lr) and math.isfinite(sample.base_lr)
              and sample.lr < STALLED_MIN_LR_FRACTION * sample.base_lr)
    found: list[HealthWarning] = []
    for layer in sample.layers:
        if layer.dead_fraction >= DEAD_WARNING:  # (NaN compares False: not a ReLU layer)
            found.append(HealthWarning(layer.name, "dead", layer.dead_fraction))
        if layer.saturated_fraction >= SATURATED_WARNING:
            found.append(HealthWarning(layer.name, "saturated", layer.saturated_fraction))
        if not math.isfinite(layer.grad_norm):
            found.append(HealthWarning(layer.name, "exploding", layer.grad_norm))
            continue
        if largest > 0 and layer.grad_norm < VANISHING_GRAD_RATIO * largest:
            found.append(HealthWarning(layer.name, "vanishing", layer.grad_norm / largest))
        if not math.isfinite(layer.update_ratio) or layer.update_ratio > EXPLODING_UPDATE:
            found.append(HealthWarning(layer.name, "exploding", layer.update_ratio))
        elif layer.update_ratio < STALLED_UPDATE and not low_lr:
            found.append(HealthWarning(layer.name, "stalled", layer.update_ratio))
    return found


# -- which tensor is measured for each layer ---------------------------------------------------------------
_ACTIVATIONS: dict[type[nn.Module], str] = {nn.ReLU: "relu", nn.LeakyReLU: "leakyrelu", nn.Sigmoid: "sigmoid",
                                            nn.Tanh: "tanh", nn.GELU: "gelu", nn.ELU: "elu", nn.SiLU: "silu"}
_WEIGHTED = (nn.Conv2d, nn.Linear)


def _activation_name(module: nn.Module) -> str | None:
    for kind, name in _ACTIVATIONS.items():
        if isinstance(module, kind):
            return name
    return None


@dataclass
class _Probe:
    """One weighted layer and where its activated output is read."""

    name: str
    weight: nn.Parameter
    activation: str
    watched: nn.Module  # the module whose forward output is captured
    apply: nn.Module | None  # applied to that output first: the activation, when ``watched`` is its input


def _probes(model: nn.Module) -> list[_Probe]:
    """Every conv and fc layer in ``named_modules`` order, each with the activation that follows it.

    The activation is the first one among the layer's later siblings, past BatchNorm, pooling, dropout or a
    shortcut branch, but not past another weighted layer (the last fc layer has none: its logits are measured).
    Inside an ``nn.Sequential`` the activation is computed from its declared input, because ``Network.forward``
    runs some activations after the max-pool that follows them (same values, faster): the health view shows the
    network as declared, like the inspector. Elsewhere (a residual block) the activation's own output is read.
    """
    parents = {module: parent for parent in model.modules() for module in parent.children()}
    probes: list[_Probe] = []
    for name, layer in model.named_modules():
        if not isinstance(layer, _WEIGHTED):
            continue
        parent = parents.get(layer)
        siblings = list(parent.children()) if parent is not None else []
        activation, index = None, None
        for i in range(siblings.index(layer) + 1 if parent is not None else 0, len(siblings)):
            if isinstance(siblings[i], _WEIGHTED):
                break
            if _activation_name(siblings[i]) is not None:
                activation, index = siblings[i], i
                break
        if activation is None:
            probes.append(_Probe(name, layer.weight, "none", layer, None))
        elif isinstance(parent, nn.Sequential) and index:
            probes.append(_Probe(name, layer.weight, _activation_name(activation) or "", siblings[index - 1],
                                 activation))
        else:
            probes.append(_Probe(name, layer.weight, _activation_name(activation) or "", activation, None))
    return probes


def _activation_stats(out: torch.Tensor, activation: str) -> list[torch.Tensor]:
    """Mean, std, and the dead or saturated fraction where it applies, as 0-dim tensors on ``out``'s device.

    Few passes over the batch, each a plain sum: the mean and the spread come from the sum and the sum of squares,
    and a ReLU unit is dead when its outputs (never negative) sum to 0. ``amax`` or ``std`` over a channels_last
    map took ~4 ms of LeNet5's conv1 outputs on a CPU; these take ~0.5 ms.
    """
    out = out.float()
    count = max(1, out.numel())
    if activation == "relu" and out.dim() >= 2:
        # A unit is a channel of a feature map or one output of an fc layer; dead if 0 for every image and position.
        per_unit = out.sum(dim=[d for d in range(out.dim()) if d != 1])
        total = per_unit.sum()
        extra = [torch.count_nonzero(per_unit == 0) / max(1, per_unit.numel())]
    else:
        total = out.sum()
        extra = []
        if activation == "sigmoid":  # below 0.01 or above 0.99: 0.49 or more away from 0.5
            extra = [torch.count_nonzero((out - 0.5).abs() > 0.5 - SIGMOID_SATURATION) / count]
        elif activation == "tanh":
            extra = [torch.count_nonzero(out.abs() > TANH_SATURATION) / count]
    mean = total / count
    std = (torch.linalg.vector_norm(out).square() / count - mean.square()).clamp_min(0).sqrt()
    return [mean, std, *extra]


class LayerHealthMonitor(TrainingCallback):
    """Samples one training step about every ``every_s`` seconds (0: every step) and hands each ``HealthSample``
    to ``on_sample``, on the training thread.

    The first step of a run is always sampled. ``clock`` is for tests. The samples are also kept in ``samples``
    when ``keep`` is true (the command line and the tests; the window takes them from ``on_sample``).
    """

    def __init__(self, every_s: float = 1.0, on_sample: Callable[[HealthSample], None] | None = None,
                 keep: bool = False, clock: Callable[[], float] = time.perf_counter) -> None:
        self.every_s = every_s
        self.on_sample = on_sample
        self.keep = keep
        self.clock = clock
        self.samples: list[HealthSample] = []
        self._loop: FitLoop | None = None
        self._probes: list[_Probe] = []
        self._next_at = -math.inf
        self._armed = False
        self._hooks: list[torch.utils.hooks.RemovableHandle] = []
        self._before: list[torch.Tensor] = []
        self._activations: dict[str, list[torch.Tensor]] = {}
        self._lr = math.nan
        self._base_lr = math.nan
        self._batches_per_epoch = 1

    def on_fit_start(self, info: FitInfo) -> None:
        self._loop = info.loop
        self._probes = _probes(info.model)
        self._batches_per_epoch = max(1, info.batches_per_epoch)
        self._base_lr = float(info.config.lr)
        self._next_at = -math.inf
        self.samples = []

    def on_batch_start(self, batch: int) -> None:
        if not self._probes:
            return
        now = self.clock()
        if now < self._next_at:
            return
        self._next_at = now + self.every_s
        self._arm()

    def on_batch_end(self, batch: int) -> None:
        if not self._armed:
            return
        try:
            sample = self._measure()
        finally:
            self._disarm()
        if self.keep:
            self.samples.append(sample)
        if self.on_sample is not None:
            self.on_sample(sample)

    def on_fit_end(self, result: FitResult) -> None:
        self._disarm()

    # -- one sampled step ------------------------------------------------------------------------------------
    def _arm(self) -> None:
        self._armed = True
        self._activations = {}
        with torch.no_grad():
            self._before = [probe.weight.detach().clone() for probe in self._probes]
        loop = self._loop
        if loop is not None and loop.optimizer.param_groups:
            self._lr = float(loop.optimizer.param_groups[0]["lr"])  # the rate this step uses (the schedule steps after)
        for probe in self._probes:
            self._hooks.append(probe.watched.register_forward_hook(self._hook(probe)))

    def _hook(self, probe: _Probe) -> Callable[[nn.Module, object, object], None]:
        def capture(_module: nn.Module, _inputs: object, output: object) -> None:
            # Only the training forward of the sampled step: not an evaluation another callback may run meanwhile.
            if probe.name in self._activations or not isinstance(output, torch.Tensor) or not _module.training:
                return
            with torch.no_grad():
                out = output.detach()
                if probe.apply is not None:
                    out = probe.apply(out)
                self._activations[probe.name] = _activation_stats(out, probe.activation)
        return capture

    def _disarm(self) -> None:
        for handle in self._hooks:
            handle.remove()
        self._hooks = []
        self._before = []
        self._activations = {}
        self._armed = False

    def _measure(self) -> HealthSample:
        measured: list[torch.Tensor] = []
        layout: list[tuple[_Probe, int]] = []  # each probe and how many of its numbers are activation statistics
        with torch.no_grad():
            for probe, before in zip(self._probes, self._before, strict=True):
                stats = self._activations.get(probe.name, [])
                weight = probe.weight.detach()
                grad = probe.weight.grad
                grad_norm = (torch.linalg.vector_norm(grad.detach().float()) if grad is not None
                             else torch.full((), math.nan, device=weight.device))
                change = torch.linalg.vector_norm((weight - before).float())
                ratio = change / torch.linalg.vector_norm(before.float()).clamp_min(_TINY)
                measured += [*stats, grad_norm, ratio]
                layout.append((probe, len(stats)))
            values = torch.stack(measured).tolist() if measured else []  # the one host sync of the step
        layers: list[LayerHealth] = []
        at = 0
        for probe, count in layout:
            stats, (grad_norm, ratio) = values[at:at + count], values[at + count:at + count + 2]
            at += count + 2
            mean, std = (stats[0], stats[1]) if count >= 2 else (math.nan, math.nan)
            extra = stats[2] if count >= 3 else math.nan
            layers.append(LayerHealth(
                probe.name, probe.activation, mean, std,
                dead_fraction=extra if probe.activation == "relu" else math.nan,
                saturated_fraction=extra if probe.activation in ("sigmoid", "tanh") else math.nan,
                grad_norm=grad_norm, update_ratio=ratio))
        loop = self._loop
        step = loop.step if loop is not None else 0
        return HealthSample(step, step / self._batches_per_epoch, layers, self._lr, self._base_lr)
