"""A model's summary, layer by layer: output shape, parameters, multiply-adds, the output-size formula
O = (W − K + 2P) / S + 1 with the layer's numbers filled in, and the receptive field."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from .models import Network, Normalize

_SKIPPED = (Normalize, nn.Flatten, nn.Dropout, nn.Identity)


@dataclass(frozen=True)
class LayerSummary:
    name: str
    type: str
    output_shape: list[int]  # per sample, e.g. [6, 28, 28]
    params: int
    macs: int  # multiply-adds per sample (convolutions and fully connected layers)
    formula: str | None  # the output-size formula with this layer's numbers, for convolutions and pooling
    receptive_field: int | None  # input pixels (per side) one output value sees, for spatial layers


@dataclass(frozen=True)
class ModelSummary:
    model: str
    layers: list[LayerSummary]
    total_params: int
    total_macs: int

    def to_dict(self) -> dict[str, Any]:
        return {"model": self.model, "layers": [asdict(layer) for layer in self.layers],
                "total_params": self.total_params, "total_macs": self.total_macs}


def _pair(value: Any) -> int:
    return int(value[0] if isinstance(value, tuple | list) else value)


def _geometry(module: nn.Module) -> tuple[int, int, int] | None:
    """(kernel, stride, padding) of a sliding-window layer, else None."""
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        stride = module.stride if module.stride is not None else module.kernel_size
        return _pair(module.kernel_size), _pair(stride), _pair(module.padding)
    return None


def _formula(width: int, geometry: tuple[int, int, int]) -> str:
    k, s, p = geometry
    out = (width - k + 2 * p) // s + 1
    return f"({width} − {k} + 2·{p}) / {s} + 1 = {out}"


@torch.no_grad()
def summarize(model: Network) -> ModelSummary:
    """Walk the model's layers on one 28×28 input and describe each."""
    was_training = model.training
    model.eval()
    macs_by_leaf: dict[nn.Module, int] = {}

    def count(module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        if isinstance(module, nn.Conv2d):
            per_output = module.in_channels // module.groups * _pair(module.kernel_size) ** 2
            macs_by_leaf[module] = macs_by_leaf.get(module, 0) + output[0].numel() * per_output
        elif isinstance(module, nn.Linear):
            macs_by_leaf[module] = macs_by_leaf.get(module, 0) + module.in_features * module.out_features

    hooks = [m.register_forward_hook(count) for m in model.modules() if isinstance(m, nn.Conv2d | nn.Linear)]
    rows: list[LayerSummary] = []
    x = torch.zeros(1, 1, 28, 28)
    field, jump = 1, 1  # receptive field and distance between neighbouring outputs, in input pixels
    try:
        for name, module in model.named_children():
            width = x.shape[-1] if x.dim() == 4 else None
            macs_before = sum(macs_by_leaf.values())
            x = module(x)
            if isinstance(module, _SKIPPED):
                continue
            formula = None
            geometry = _geometry(module)
            windows = [geometry] if geometry else [_geometry(m) for m in module.modules() if _main_path(m, module)]
            for window in filter(None, windows):
                k, s, _ = window
                field += (k - 1) * jump
                jump *= s
            if geometry and width is not None:
                formula = _formula(width, geometry)
            spatial = x.dim() == 4 and x.shape[-1] > 1
            rows.append(LayerSummary(
                name=name,
                type=type(module).__name__,
                output_shape=list(x.shape[1:]),
                params=sum(p.numel() for p in module.parameters()),
                macs=sum(macs_by_leaf.values()) - macs_before,
                formula=formula,
                receptive_field=min(field, 28) if spatial else None,
            ))
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    return ModelSummary(model.name, rows, sum(r.params for r in rows), sum(r.macs for r in rows))


def _main_path(module: nn.Module, block: nn.Module) -> bool:
    """Sliding-window layers on a block's main path (a shortcut's 1×1 conv does not widen the field)."""
    if module is block or _geometry(module) is None:
        return False
    shortcut = getattr(block, "shortcut", None)
    return shortcut is None or all(module is not m for m in shortcut.modules())
