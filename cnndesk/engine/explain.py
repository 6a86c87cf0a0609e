"""How one cell of a layer was computed: the layer's input, its weights, and the arithmetic, redone in NumPy.

``explain_cell`` runs the model once, layer by layer, keeping each visible layer's input (the layers
``inspect_input`` shows: batch norm and activations fold into the layer before them; normalisation, flatten and
dropout are not shown). It then recomputes the one cell with the tutorial-style reference functions of
``reference.py`` and the layer's own weights — the patch under the kernel, the element-wise products, their sum,
the bias, then each folded batch norm and activation — and reports PyTorch's value of the same cell beside it.
The two agree to float32 rounding: that agreement is what makes the explanation trustworthy.

``receptive_field`` says which pixels of the 28×28 input a cell can see, walking back through the convolutions
and pooling windows between the cell and the input.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import CnndeskError
from .inspect import _FOLDED_TYPES, _HIDDEN_TYPES, LayerActivation, _kind, _short
from .models import Residual
from .reference import (
    affine_forward,
    avg_pool_forward_naive,
    batchnorm_forward,
    conv_forward_naive,
    conv_output_size,
    leaky_relu_forward,
    max_pool_forward_naive,
    relu_forward,
    sigmoid_forward,
    spatial_batchnorm_forward,
    tanh_forward,
)

MAX_CONTRIBUTIONS = 16  # a fully connected unit's inputs listed, largest |input × weight| first
INPUT_SIZE = 28
# Layers that map each position to the same position: a receptive field passes through them unchanged.
_POINTWISE_TYPES = (*_FOLDED_TYPES, *(t for t in _HIDDEN_TYPES if t is not nn.Flatten))


@dataclass(frozen=True)
class Contribution:
    """One input of a fully connected unit."""

    index: int  # position in the flattened input
    where: tuple[int, ...]  # that position in the previous layer's shape: (c, y, x) for maps, (i,) for vectors
    input: float
    weight: float
    product: float  # input × weight


@dataclass(frozen=True, kw_only=True)
class CellExplanation:
    """One cell of a visible layer, recomputed in NumPy. Fields that do not apply to the layer's kind are None
    (or empty)."""

    layer: str  # the visible layer's name, as in inspect_input(...).layers[i].name (e.g. "conv2")
    label: str  # its label there (e.g. "conv2 · ReLU")
    kind: str  # "conv", "pool", "fc" or "other" (a residual block, a lone activation or batch norm)
    cell: tuple[int, ...]  # (channel, y, x) for a map layer, (unit,) for a vector layer
    value: float  # the cell's value after the folded BN/activation, computed by the NumPy reference
    torch_value: float  # PyTorch's value of the same cell (what inspect_input shows)
    pre_activation: float  # conv/fc: Σ products + bias; pool: the pooled value; residual: main + shortcut
    bias: float | None
    # Named values in order, from the layer's own result to ``value``: conv/fc ("sum", Σ products) then ("bias",
    # the bias itself) when there is one — their total is ``pre_activation`` —; pool ("max" or "avg", the pooled
    # value); a residual block ("main", a), ("shortcut", b), ("add", a + b), then its activation; then each folded
    # layer's output, named "BN", "ReLU", "Tanh", "Sigmoid", "LeakyReLU". The last step's value is ``value``,
    # except for a conv/fc layer with nothing folded, whose last steps are "sum" and "bias": its value is their
    # total, ``pre_activation``.
    steps: list[tuple[str, float]]
    input_layer: str | None  # the visible layer whose output feeds this one (None: the model input)
    # convolution
    patch: np.ndarray | None = None  # (C_in, k, k) input values under the kernel, zero padding included
    kernel: np.ndarray | None = None  # (C_in, k, k)
    products: np.ndarray | None = None  # patch × kernel
    channel_sums: np.ndarray | None = None  # (C_in,) Σ of each input channel's products
    stride: int | None = None
    padding: int | None = None
    # pooling
    window: np.ndarray | None = None  # (k, k) values of the pooled input channel (global pooling: the whole map)
    winner: tuple[int, int] | None = None  # max pooling: (row, col) in the window of the first maximum (row-major)
    pool_op: str | None = None  # "max" or "avg"
    # fully connected
    contributions: list[Contribution] = field(default_factory=list)
    receptive_field: tuple[int, int, int, int]  # x0, y0, x1, y1 (x1, y1 exclusive) on the 28×28 input, clipped

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types (``cnndesk inspect --cell … --json``): arrays as nested lists, pooling and fc fields
        only for those kinds."""
        out: dict[str, Any] = {
            "layer": self.layer, "label": self.label, "kind": self.kind, "cell": list(self.cell),
            "value": self.value, "torch_value": self.torch_value, "pre_activation": self.pre_activation,
            "bias": self.bias, "steps": [{"name": name, "value": value} for name, value in self.steps],
            "input_layer": self.input_layer,
            "patch": None if self.patch is None else self.patch.tolist(),
            "kernel": None if self.kernel is None else self.kernel.tolist(),
            "receptive_field": list(self.receptive_field),
        }
        if self.patch is not None:
            out.update(channel_sums=self.channel_sums.tolist(), stride=self.stride, padding=self.padding)
        if self.pool_op is not None:
            out.update(pool_op=self.pool_op, window=self.window.tolist(),
                       winner=None if self.winner is None else list(self.winner))
        if self.kind == "fc":
            out["contributions"] = [{"index": c.index, "where": list(c.where), "input": c.input, "weight": c.weight,
                                     "product": c.product} for c in self.contributions]
        return out


# ---------------------------------------------------------------- running the model, as inspect_input does


@dataclass
class _Record:
    """One top-level layer's run on the single input (batch dimension dropped)."""

    name: str
    module: nn.Module
    input: torch.Tensor | None
    output: Any


@dataclass
class _Visible:
    """A layer as inspect_input shows it: its own module, the modules folded into it, and what went in and out."""

    name: str
    label: str
    kind: str
    module: nn.Module
    record: int  # index of the module's own _Record
    input: np.ndarray | None  # what the module received (float32, batch dimension dropped); None: not a tensor
    output: np.ndarray  # what the view shows: after the folded layers; 1×1 maps as vectors
    input_layer: str | None
    input_shape: tuple[int, ...]  # the shape of the previous visible layer's output (or the model input's)
    folded: list[nn.Module] = field(default_factory=list)


def _trace(model: nn.Module, x: torch.Tensor) -> list[_Record]:
    """Every top-level layer's input and output: in declared order for an nn.Sequential (as inspect_input runs
    it), through forward hooks for any other module."""
    records: list[_Record] = []
    if isinstance(model, nn.Sequential):
        for name, module in model.named_children():
            out = module(x)
            records.append(_Record(name, module, x[0], out))
            x = out
        return records
    names = {module: name for name, module in model.named_children()}

    def keep(module: nn.Module, inputs: tuple[Any, ...], out: Any) -> None:
        first = inputs[0] if inputs and isinstance(inputs[0], torch.Tensor) else None
        records.append(_Record(names[module], module, None if first is None else first[0], out))

    hooks = [module.register_forward_hook(keep) for module in names]
    try:
        model(x)
    finally:
        for hook in hooks:
            hook.remove()
    return records


def _visible_layers(records: list[_Record], model_input: torch.Tensor) -> list[_Visible]:
    """inspect_input's grouping of the records into visible layers (the same rules, the same names and labels)."""
    layers: list[_Visible] = []
    for index, record in enumerate(records):
        out = record.output
        if isinstance(record.module, _HIDDEN_TYPES) or not isinstance(out, torch.Tensor):
            continue
        values = out[0].detach().cpu().numpy()
        if values.ndim == 3 and values.shape[1:] == (1, 1):
            values = values.reshape(-1)  # 1×1 maps (after global pooling) are a vector
        if isinstance(record.module, _FOLDED_TYPES) and layers and layers[-1].output.shape == values.shape:
            prev = layers[-1]
            prev.label = f"{prev.label} · {_short(record.module)}"
            prev.folded.append(record.module)
            prev.output = values
            continue
        input_shape = layers[-1].output.shape if layers else tuple(model_input.shape[1:])
        layers.append(_Visible(record.name, record.name, _kind(record.module), record.module, index,
                               None if record.input is None else record.input.detach().cpu().numpy(), values,
                               layers[-1].name if layers else None, tuple(input_shape)))
    return layers


@contextmanager
def _evaluating(model: nn.Module) -> Iterator[None]:
    """Evaluation mode for the duration (batch norm on its running statistics, no dropout), then as it was."""
    modes = [(module, module.training) for module in model.modules()]  # each module's own: some may differ
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        for module, training in modes:
            module.training = training


def _model_input(model: nn.Module, image: np.ndarray) -> torch.Tensor:
    try:
        device = next(model.parameters()).device
    except StopIteration:
        device = torch.device("cpu")
    pixels = np.ascontiguousarray(image, dtype=np.float32)
    if pixels.size != INPUT_SIZE * INPUT_SIZE:
        raise CnndeskError(f"The model input is a 28×28 image, not an array of shape {pixels.shape}.")
    return torch.from_numpy(pixels).reshape(1, 1, INPUT_SIZE, INPUT_SIZE).to(device)


def _model_name(model: nn.Module) -> str:
    name = getattr(model, "name", None)
    return name if isinstance(name, str) else type(model).__name__


def _find(model: nn.Module, layers: Sequence[_Visible], name: str) -> _Visible:
    for layer in layers:
        if layer.name == name:
            return layer
    known = ", ".join(layer.name for layer in layers)
    raise CnndeskError(f"{_model_name(model)} has no layer '{name}'. Known: {known}.")


def layer_activation(model: nn.Module, image: np.ndarray, layer: str) -> LayerActivation:
    """The named visible layer's output for ``image`` (28×28, [0, 1], ink high), as inspect_input shows it."""
    with _evaluating(model):
        x = _model_input(model, image)
        found = _find(model, _visible_layers(_trace(model, x), x), layer)
    return LayerActivation(found.name, found.label, found.kind, found.output)


# ---------------------------------------------------------------- small NumPy pieces


def _pair(value: Any) -> tuple[int, int]:
    return (int(value[0]), int(value[1])) if isinstance(value, tuple | list) else (int(value), int(value))


def _numpy(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().to("cpu", torch.float64).numpy()


def _unsupported(layer: str, what: str) -> CnndeskError:
    return CnndeskError(f"Layer '{layer}' is {what}: cnndesk cannot recompute it in NumPy.")


def _padded_window(x: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """x[:, top:top+height, left:left+width] (float64), zeros where the window hangs over the map's edge — what a
    zero-padded convolution sees, without padding the whole map."""
    channels, map_h, map_w = x.shape
    out = np.zeros((channels, height, width))
    y0, y1 = max(top, 0), min(top + height, map_h)
    x0, x1 = max(left, 0), min(left + width, map_w)
    if y0 < y1 and x0 < x1:
        out[:, y0 - top: y1 - top, x0 - left: x1 - left] = x[:, y0:y1, x0:x1]
    return out


def _conv_geometry(layer: str, conv: nn.Conv2d) -> tuple[tuple[int, int], int, int]:
    """(kernel (kh, kw), stride, padding) of a plain convolution; anything fancier is refused."""
    stride, padding = _pair(conv.stride), conv.padding
    if isinstance(padding, str) or conv.groups != 1 or _pair(conv.dilation) != (1, 1) \
            or conv.padding_mode != "zeros" or stride[0] != stride[1] or _pair(padding)[0] != _pair(padding)[1]:
        raise _unsupported(layer, "a grouped, dilated or non-square-stepped convolution")
    return _pair(conv.kernel_size), stride[0], _pair(padding)[0]


def _conv_outputs(layer: str, conv: nn.Conv2d, x: np.ndarray, rows: range, cols: range,
                  filters: slice | list[int]) -> np.ndarray:
    """The convolution's outputs (len(filters), len(rows), len(cols)) on the maps x (C, H, W), computed by the
    reference on just the input region those outputs see."""
    (kh, kw), stride, pad = _conv_geometry(layer, conv)
    region = _padded_window(x, rows.start * stride - pad, cols.start * stride - pad,
                            (len(rows) - 1) * stride + kh, (len(cols) - 1) * stride + kw)
    weight = _numpy(conv.weight[filters])
    bias = None if conv.bias is None else _numpy(conv.bias[filters])
    return conv_forward_naive(region[None], weight, bias, {"stride": stride, "pad": 0})[0]


def _elementwise(layer: str, module: nn.Module, values: np.ndarray, channels: slice | list[int]) -> np.ndarray:
    """A batch norm (eval mode) or an activation applied to ``values`` — the given channels first, maps or
    single values after."""
    if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
        if module.running_mean is None or module.running_var is None:
            raise _unsupported(layer, "followed by a batch norm without running statistics")
        gamma = None if module.weight is None else _numpy(module.weight[channels])
        beta = None if module.bias is None else _numpy(module.bias[channels])
        bn_param = {"mode": "test", "running_mean": _numpy(module.running_mean[channels]),
                    "running_var": _numpy(module.running_var[channels]), "eps": module.eps}
        if values.ndim == 3:
            return spatial_batchnorm_forward(values[None], gamma, beta, bn_param)[0]
        return batchnorm_forward(values.reshape(1, -1), gamma, beta, bn_param).reshape(values.shape)
    if isinstance(module, nn.ReLU):
        return relu_forward(values)
    if isinstance(module, nn.LeakyReLU):
        return leaky_relu_forward(values, module.negative_slope)
    if isinstance(module, nn.Tanh):
        return tanh_forward(values)
    if isinstance(module, nn.Sigmoid):
        return sigmoid_forward(values)
    raise _unsupported(layer, f"followed by a {type(module).__name__}")


def _scalar(layer: str, module: nn.Module, value: float, channel: int) -> float:
    return float(_elementwise(layer, module, np.array([value]), [channel])[0])


# ---------------------------------------------------------------- one cell, per kind of layer

# What each kind of layer contributes to a CellExplanation: its fields, the pre-activation, the layer's own
# result (before the folded layers) and the steps from one to the other.
_Part = tuple[dict[str, Any], float, float, list[tuple[str, float]]]


def _explain_conv(layer: _Visible, channel: int, y: int, x: int) -> _Part:
    conv = layer.module
    (kh, kw), stride, pad = _conv_geometry(layer.name, conv)
    patch = _padded_window(layer.input, y * stride - pad, x * stride - pad, kh, kw)
    kernel = _numpy(conv.weight[channel])
    bias = None if conv.bias is None else float(conv.bias[channel])
    products = patch * kernel
    channel_sums = products.sum(axis=(1, 2))
    pre = conv_forward_naive(patch[None], kernel[None], None if bias is None else np.array([bias]),
                             {"stride": 1, "pad": 0})[0, 0, 0, 0]
    steps = [("sum", float(channel_sums.sum()))] + ([("bias", bias)] if bias is not None else [])
    fields = {"patch": patch, "kernel": kernel, "products": products, "channel_sums": channel_sums,
              "stride": stride, "padding": pad, "bias": bias}
    return fields, float(pre), float(pre), steps


def _explain_pool(layer: _Visible, channel: int, y: int, x: int) -> _Part:
    pool = layer.module
    op = "max" if isinstance(pool, nn.MaxPool2d | nn.AdaptiveMaxPool2d) else "avg"
    if isinstance(pool, nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
        if _pair(pool.output_size) != (1, 1):
            raise _unsupported(layer.name, "an adaptive pooling to more than one value per map")
        window = layer.input[channel].astype(np.float64)  # global pooling: the whole map is the window
    else:
        (kh, kw), (sh, sw) = _pair(pool.kernel_size), _pair(pool.stride or pool.kernel_size)
        if _pair(pool.padding) != (0, 0) or pool.ceil_mode or getattr(pool, "divisor_override", None) \
                or _pair(getattr(pool, "dilation", 1)) != (1, 1):
            raise _unsupported(layer.name, "a padded, dilated or ceil-mode pooling")
        window = layer.input[channel, y * sh: y * sh + kh, x * sw: x * sw + kw].astype(np.float64)
    reference = max_pool_forward_naive if op == "max" else avg_pool_forward_naive
    pooled = float(reference(window[None, None], {"pool_height": window.shape[0], "pool_width": window.shape[1],
                                                  "stride": 1})[0, 0, 0, 0])
    winner = None
    if op == "max":
        row, col = np.unravel_index(int(np.argmax(window)), window.shape)  # argmax: the first maximum
        winner = (int(row), int(col))
    return {"window": window, "winner": winner, "pool_op": op, "bias": None}, pooled, pooled, [(op, pooled)]


def _explain_fc(layer: _Visible, unit: int) -> _Part:
    linear = layer.module
    inputs = layer.input.astype(np.float64)
    if inputs.ndim != 1:
        raise _unsupported(layer.name, "a fully connected layer on more than a vector")
    weights = _numpy(linear.weight[unit])
    bias = None if linear.bias is None else float(linear.bias[unit])
    products = inputs * weights
    pre = affine_forward(inputs[None], weights[:, None], None if bias is None else np.array([bias]))[0, 0]
    # Where each input sits in the previous layer: (c, y, x) in its maps, or (i,) in its vector.
    shape = layer.input_shape if int(np.prod(layer.input_shape)) == inputs.size else inputs.shape
    top = np.argsort(-np.abs(products), kind="stable")[:MAX_CONTRIBUTIONS]
    contributions = [Contribution(int(i), tuple(int(v) for v in np.unravel_index(int(i), shape)), float(inputs[i]),
                                  float(weights[i]), float(products[i])) for i in top]
    steps = [("sum", float(products.sum()))] + ([("bias", bias)] if bias is not None else [])
    return {"contributions": contributions, "bias": bias}, float(pre), float(pre), steps


def _explain_residual(layer: _Visible, channel: int, y: int, x: int) -> _Part:
    """ResNet's basic block at one output cell: conv1·BN·act on the k×k neighbourhood conv2 reads, conv2·BN at
    the cell (the main path), the shortcut (identity, or 1×1 conv + BN), their sum, the activation."""
    block: Residual = layer.module
    name = layer.name
    (k2h, k2w), stride2, pad2 = _conv_geometry(name, block.conv2)
    (k1h, k1w), stride1, pad1 = _conv_geometry(name, block.conv1)
    hidden_h = conv_output_size(layer.input.shape[1], k1h, stride1, pad1)
    hidden_w = conv_output_size(layer.input.shape[2], k1w, stride1, pad1)
    top, left = y * stride2 - pad2, x * stride2 - pad2
    rows = range(max(top, 0), min(top + k2h, hidden_h))
    cols = range(max(left, 0), min(left + k2w, hidden_w))
    # conv1 → BN → activation, every channel, on the part of conv2's window inside the map; zero padding around.
    hidden = _conv_outputs(name, block.conv1, layer.input, rows, cols, slice(None))
    hidden = _elementwise(name, block.act1, _elementwise(name, block.bn1, hidden, slice(None)), slice(None))
    window = np.zeros((hidden.shape[0], k2h, k2w))
    window[:, rows.start - top: rows.stop - top, cols.start - left: cols.stop - left] = hidden
    conv2_bias = None if block.conv2.bias is None else _numpy(block.conv2.bias[[channel]])
    conv2 = float(conv_forward_naive(window[None], _numpy(block.conv2.weight[[channel]]), conv2_bias,
                                     {"stride": 1, "pad": 0})[0, 0, 0, 0])
    main = _scalar(name, block.bn2, conv2, channel)
    if isinstance(block.shortcut, nn.Identity):
        shortcut = float(layer.input[channel, y, x])
    else:
        shortcut_conv, shortcut_bn = block.shortcut
        projected = float(_conv_outputs(name, shortcut_conv, layer.input, range(y, y + 1), range(x, x + 1),
                                        [channel])[0, 0, 0])
        shortcut = _scalar(name, shortcut_bn, projected, channel)
    added = main + shortcut
    activated = _scalar(name, block.act2, added, channel)
    steps = [("main", main), ("shortcut", shortcut), ("add", added), (_short(block.act2), activated)]
    return {"bias": None}, added, activated, steps


def _explain_elementwise(layer: _Visible, cell: tuple[int, ...]) -> _Part:
    """A batch norm or activation shown on its own (nothing before it to fold into)."""
    value = float(layer.input[cell])
    result = _scalar(layer.name, layer.module, value, cell[0])
    return {"bias": None}, value, result, [("input", value), (_short(layer.module), result)]


def _check_cell(model: nn.Module, layer: _Visible, cell: Sequence[int]) -> tuple[int, ...]:
    shape = layer.output.shape
    try:
        cell = tuple(int(v) for v in cell)
    except (TypeError, ValueError):
        cell = ()
    if len(cell) != len(shape) or any(not 0 <= v < n for v, n in zip(cell, shape, strict=True)):
        size = "×".join(map(str, shape))
        form = "(channel, y, x)" if len(shape) == 3 else "(unit,)"
        raise CnndeskError(f"{layer.name}'s cells are {size}: give {form} with each index below those, "
                           f"not {cell or '?'}.")
    return cell


def explain_cell(model: nn.Module, image: np.ndarray, layer: str, cell: tuple[int, ...]) -> CellExplanation:
    """How ``cell`` of the visible layer ``layer`` was computed for ``image`` (28×28 float in [0, 1], ink high).

    ``cell`` is (channel, y, x) for a map layer and (unit,) for a vector layer, indexing the layer's output as
    inspect_input shows it (a conv or pooling whose maps are 1×1 shows a vector: its cell is (channel,)). The
    model runs in evaluation mode; its mode is restored afterwards. A layer's input is the output of the layer
    before it as the network computed it; the first layer's input is the output of the model's ``normalize``
    layer — the standardised pixels (x − 0.1307) / 0.3081 — not the [0, 1] image.
    """
    with _evaluating(model):
        x = _model_input(model, image)
        records = _trace(model, x)
        layers = _visible_layers(records, x)
        found = _find(model, layers, layer)
        cell = _check_cell(model, found, cell)
        # Map layers shown as vectors (1×1 maps) are still maps to the arithmetic: (c,) is (c, 0, 0).
        spatial = cell if len(cell) == 3 else (cell[0], 0, 0)
        module = found.module
        if found.input is None:
            raise _unsupported(found.name, "fed something other than one tensor")
        if isinstance(module, nn.Conv2d):
            fields, pre, value, steps = _explain_conv(found, *spatial)
        elif isinstance(module, nn.MaxPool2d | nn.AvgPool2d | nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d):
            fields, pre, value, steps = _explain_pool(found, *spatial)
        elif isinstance(module, nn.Linear):
            fields, pre, value, steps = _explain_fc(found, cell[0])
        elif isinstance(module, Residual):
            fields, pre, value, steps = _explain_residual(found, *spatial)
        elif isinstance(module, _FOLDED_TYPES) and found.input.shape == found.output.shape:
            fields, pre, value, steps = _explain_elementwise(found, cell)
        else:
            raise _unsupported(found.name, f"a {type(module).__name__}")
        for folded in found.folded:
            value = _scalar(found.name, folded, value, cell[0])
            steps.append((_short(folded), value))
        field_of_view = _field(records, found.record, spatial[1], spatial[2], tuple(x.shape[-2:]))
        return CellExplanation(layer=found.name, label=found.label, kind=found.kind, cell=cell, value=float(value),
                               torch_value=float(found.output[cell]), pre_activation=float(pre), steps=steps,
                               input_layer=found.input_layer, receptive_field=field_of_view, **fields)


# ---------------------------------------------------------------- receptive field


def _window_back(span: tuple[int, int], kernel: int, stride: int, pad: int, dilation: int, size: int
                 ) -> tuple[int, int]:
    """The input rows [a, b) that outputs [start, stop) of a sliding window read, clipped to the input's size."""
    start, stop = span
    a = start * stride - pad
    b = (stop - 1) * stride - pad + (kernel - 1) * dilation + 1
    return max(a, 0), min(b, size)


def _module_back(module: nn.Module, rows: tuple[int, int], cols: tuple[int, int], in_h: int, in_w: int
                 ) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """rows/cols of a layer's output → those of its input; None: the layer mixes the whole input."""
    if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
        kernel, stride = _pair(module.kernel_size), _pair(module.stride or module.kernel_size)
        pad = _pair(module.padding) if not isinstance(module.padding, str) else None
        dilation = _pair(getattr(module, "dilation", 1))
        if pad is None:
            return None
        return (_window_back(rows, kernel[0], stride[0], pad[0], dilation[0], in_h),
                _window_back(cols, kernel[1], stride[1], pad[1], dilation[1], in_w))
    if isinstance(module, Residual):
        # The main path is the wider: conv2, then conv1 (the shortcut reads inside what conv1 reads).
        conv1 = module.conv1
        (kh, kw), (sh, sw), (ph, pw) = _pair(conv1.kernel_size), _pair(conv1.stride), _pair(conv1.padding)
        hidden_h, hidden_w = conv_output_size(in_h, kh, sh, ph), conv_output_size(in_w, kw, sw, pw)
        inner = _module_back(module.conv2, rows, cols, hidden_h, hidden_w)
        return None if inner is None else _module_back(conv1, *inner, in_h, in_w)
    if isinstance(module, _POINTWISE_TYPES):
        return rows, cols
    return None


def _field(records: list[_Record], index: int, y: int, x: int, input_size: tuple[int, int]
           ) -> tuple[int, int, int, int]:
    """Walk from output (y, x) of records[index] back to the model input; (x0, y0, x1, y1), x1 and y1 exclusive."""
    height, width = input_size
    rows, cols = (y, y + 1), (x, x + 1)
    for record in reversed(records[: index + 1]):
        shape = record.input.shape if record.input is not None else ()
        if len(shape) != 3:
            return 0, 0, width, height  # a vector (after a flatten) feeds it: every pixel counts
        back = _module_back(record.module, rows, cols, shape[1], shape[2])
        if back is None:
            return 0, 0, width, height
        rows, cols = back
    return cols[0], rows[0], cols[1], rows[1]


def receptive_field(model: nn.Module, layer: str, y: int, x: int) -> tuple[int, int, int, int]:
    """The pixels of the 28×28 input that cell (·, y, x) of ``layer`` can see: (x0, y0, x1, y1), x1 and y1
    exclusive, clipped to the image (zero padding sees no pixel).

    Geometric: it walks back through every convolution and pooling window between the cell and the input (in a
    residual block, its two convolutions: the shortcut reads inside them). A cell of a fully connected layer, of
    a global pooling, or of anything after a flatten sees the whole input, and so does a layer cnndesk does not
    know the geometry of.
    """
    with _evaluating(model):
        x_in = _model_input(model, np.zeros((INPUT_SIZE, INPUT_SIZE), np.float32))
        records = _trace(model, x_in)
        found = _find(model, _visible_layers(records, x_in), layer)
    shape = found.output.shape
    if len(shape) == 3 and not (0 <= y < shape[1] and 0 <= x < shape[2]):
        raise CnndeskError(f"{found.name}'s maps are {shape[1]}×{shape[2]}: y and x must be below those, "
                           f"not ({y}, {x}).")
    if len(shape) != 3:
        y = x = 0  # a 1×1 map shown as a vector (or a true vector, which sees everything anyway)
    return _field(records, found.record, y, x, (INPUT_SIZE, INPUT_SIZE))

