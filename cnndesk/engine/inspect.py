"""Look inside a model for one input: probabilities and what every layer computes."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .models import Network, Normalize

_ACTIVATION_TYPES = (nn.ReLU, nn.Tanh, nn.Sigmoid, nn.LeakyReLU, nn.GELU, nn.ELU, nn.SiLU)
_HIDDEN_TYPES = (Normalize, nn.Flatten, nn.Dropout, nn.Dropout2d, nn.Identity)
_FOLDED_TYPES = (nn.BatchNorm1d, nn.BatchNorm2d, *_ACTIVATION_TYPES)


@dataclass(frozen=True)
class LayerActivation:
    name: str  # the layer's name in the model, e.g. "conv1"
    label: str  # what the view shows, e.g. "conv1 · ReLU"
    kind: str  # "conv", "pool", "fc" or "other"
    output: np.ndarray  # (C, H, W) for feature maps, (F,) for vectors

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.output.shape)

    @property
    def is_map(self) -> bool:
        return self.output.ndim == 3


@dataclass(frozen=True)
class Inspection:
    probabilities: np.ndarray  # (10,)
    layers: list[LayerActivation]

    @property
    def label(self) -> int:
        return int(self.probabilities.argmax())

    @property
    def confidence(self) -> float:
        return float(self.probabilities.max())


def _kind(module: nn.Module) -> str:
    if isinstance(module, nn.Conv2d):
        return "conv"
    if isinstance(module, nn.MaxPool2d | nn.AvgPool2d | nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        return "pool"
    if isinstance(module, nn.Linear):
        return "fc"
    return "other"


def _short(module: nn.Module) -> str:
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        return "BN"
    return type(module).__name__


@torch.inference_mode()
def inspect_input(model: nn.Module, x: torch.Tensor) -> Inspection:
    """One forward pass over ``x`` (1, 1, 28, 28), keeping every visible layer's output.

    Each top-level layer's output is captured by a forward hook while the model runs its own ``forward``, so any
    ``nn.Module`` works, not only a sequence of layers. For cnndesk's own networks (``nn.Sequential``) the layers are
    run in their declared order instead: their ``forward`` applies some activations after the pooling that follows
    them (the same numbers, computed faster), and the views show the network as declared.

    Batch-norm and activation layers fold into the layer before them ("conv1 · ReLU" shows the activated
    maps); normalisation, flatten and dropout are not shown.
    """
    outputs: list[tuple[str, nn.Module, torch.Tensor]] = []
    if isinstance(model, nn.Sequential):
        logits = x
        for name, module in model.named_children():
            logits = module(logits)
            outputs.append((name, module, logits))
    else:
        names = {module: name for name, module in model.named_children()}
        hooks = [module.register_forward_hook(lambda m, _inputs, out: outputs.append((names[m], m, out)))
                 for module in names]
        try:
            logits = model(x)
        finally:
            for hook in hooks:
                hook.remove()
    layers: list[LayerActivation] = []
    for name, module, out in outputs:
        if isinstance(module, _HIDDEN_TYPES) or not isinstance(out, torch.Tensor):
            continue
        values = out[0].numpy()
        if values.ndim == 3 and values.shape[1:] == (1, 1):
            values = values.reshape(-1)  # 1×1 maps (after global pooling) are a vector
        if isinstance(module, _FOLDED_TYPES) and layers and layers[-1].shape == values.shape:
            prev = layers[-1]
            layers[-1] = LayerActivation(prev.name, f"{prev.label} · {_short(module)}", prev.kind, values)
            continue
        layers.append(LayerActivation(name, name, _kind(module), values))
    probabilities = torch.softmax(logits[0].float(), dim=0).numpy()
    return Inspection(probabilities, layers)


@torch.inference_mode()
def predict_probabilities(model: nn.Module, images: torch.Tensor) -> torch.Tensor:
    """Class probabilities for a batch (N, 1, 28, 28) of [0, 1] pixels."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    probs = torch.softmax(model(images.to(device)), dim=1).cpu()
    model.train(was_training)
    return probs


class Predictor:
    """The UI's own CPU copy of a model, in eval mode, refreshed from weight snapshots.

    It is never the model being trained: training can go on in another thread while this one predicts.
    """

    def __init__(self, model: Network) -> None:
        self.model = self._cpu_copy(model)

    @staticmethod
    def _cpu_copy(model: Network) -> Network:
        clone = copy.deepcopy(model).to("cpu")
        clone.eval()
        return clone

    def set_model(self, model: Network) -> None:
        self.model = self._cpu_copy(model)

    def load_weights(self, state: Mapping[str, torch.Tensor]) -> None:
        self.model.load_state_dict(state, strict=True)

    def inspect(self, image: np.ndarray) -> Inspection:
        """``image``: the 28×28 model input, float in [0, 1], ink high."""
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32)).reshape(1, 1, 28, 28)
        return inspect_input(self.model, x)


def snapshot_weights(model: nn.Module) -> dict[str, torch.Tensor]:
    """CPU clones of the weights, safe to hand to another thread."""
    return {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}


@dataclass(frozen=True)
class LayerFilters:
    """What one layer looks for: a conv layer's kernels, or a first fc layer's weights as 28×28 templates."""

    name: str
    kind: str  # "conv" or "templates"
    weights: np.ndarray  # conv: (out, in, k, k); templates: (units, 28, 28)

    @property
    def limit(self) -> float:
        """The largest absolute weight: a diverging colour scale runs from -limit to +limit, zero in the middle."""
        return float(np.abs(self.weights).max()) if self.weights.size else 0.0


def layer_filters(model: nn.Module) -> list[LayerFilters]:
    """Every conv layer's kernels (in the order the model declares them), or, for a model whose first weighted
    layer is fully connected on the 28×28 input (an MLP), that layer's weights as one 28×28 template per unit."""
    found: list[LayerFilters] = []
    first_weighted = True
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            found.append(LayerFilters(name, "conv", module.weight.detach().to("cpu", torch.float32).numpy().copy()))
            first_weighted = False
        elif isinstance(module, nn.Linear):
            if first_weighted and module.in_features == 28 * 28:
                weights = module.weight.detach().to("cpu", torch.float32).numpy().reshape(-1, 28, 28).copy()
                found.append(LayerFilters(name, "templates", weights))
            first_weighted = False
    return found


TEMPLATE_COLUMNS = 10
MAX_TEMPLATES = 100


def filter_grid(layer: LayerFilters) -> tuple[np.ndarray, int, int]:
    """The layer's weights tiled into one image with one-weight NaN gutters, and its (rows, columns) of tiles.

    A conv layer is a row per output channel and a column per input channel; one with a single input channel
    (the first conv) is laid out as one row of kernels. An MLP's templates are rows of TEMPLATE_COLUMNS (at most
    MAX_TEMPLATES of them).
    """
    weights = layer.weights
    if layer.kind == "templates":
        tiles = weights[:MAX_TEMPLATES]
        columns = min(TEMPLATE_COLUMNS, len(tiles))
        rows = math.ceil(len(tiles) / columns)
        grid = [[tiles[r * columns + c] if r * columns + c < len(tiles) else None for c in range(columns)]
                for r in range(rows)]
    elif weights.shape[1] == 1:
        grid, rows, columns = [[weights[o, 0] for o in range(weights.shape[0])]], 1, weights.shape[0]
    else:
        rows, columns = weights.shape[0], weights.shape[1]
        grid = [[weights[o, i] for i in range(columns)] for o in range(rows)]
    h, w = weights.shape[-2:]
    out = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), np.nan, dtype=np.float32)
    for r, row in enumerate(grid):
        for c, tile in enumerate(row):
            if tile is not None:
                out[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = tile
    return out, rows, columns
