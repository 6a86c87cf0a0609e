"""An ONNX model of MNIST shape that fits no registry architecture, run by onnxruntime with its layers exposed.

engine.foreign rebuilds an ONNX file as a registry ``Network`` when its tensors fit one. When none fits (7 and 11
channels, a 3×3 kernel, an operation no registry model has), the file itself is run: every intermediate tensor the
views should show (the outputs of convolutions, fully connected layers, activations, pooling, BatchNorm, residual
additions) is added to the graph's outputs, so that ONE onnxruntime call per batch yields all of them.

The result is an ``nn.Sequential`` shaped like cnndesk's own networks, so that inspection, evaluation and the
Every layer view work on it unchanged: ``normalize`` (the input scale), ``onnx`` (an identity that runs the session
and keeps every output), then one child per exposed tensor, in graph order, which hands on its tensor. Those children
are named like cnndesk's layers (conv1, pool1, fc1, …) and their classes after the ONNX operation ("Conv", "Relu");
an activation's child is also an instance of a torch activation, and BatchNorm's of ``nn.BatchNorm2d``, so the
inspector folds them into the layer before them as it does for torch models ("conv1 · Relu").

What it cannot do: it has no PyTorch weights, so nothing can train it, save it as a checkpoint, export it, or take
gradients through it (attributions, the cell explainer, filters). ``require_weights`` says so in one sentence.
"""

from __future__ import annotations

import contextlib
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .errors import CnndeskError
from .models import INPUT_SCALES, Normalize

RUNTIME = "onnxruntime"
# What a model without PyTorch weights cannot do (the command line's match line ends with it).
NO_WEIGHTS = "no PyTorch weights, so it cannot be trained, saved as a checkpoint, exported, or explained with gradients"
FIXED_BATCH_CHUNK = 250  # a file exported for batches of B is run B images at a time; this is for dynamic ones

# The operations whose outputs the views show, and the name prefix of their layers.
_LAYER_PREFIXES = {
    "Conv": "conv", "ConvTranspose": "deconv", "Gemm": "fc", "MatMul": "fc",
    "MaxPool": "pool", "AveragePool": "pool", "GlobalAveragePool": "pool", "GlobalMaxPool": "pool", "LpPool": "pool",
    "BatchNormalization": "bn", "InstanceNormalization": "norm", "LayerNormalization": "norm", "Add": "add",
}
# Activations fold into the layer before them: each one's child is an instance of this torch class (the
# inspector's test for "an activation"); the ones torch has no class for pass as ReLU, their label keeps their name.
_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "Relu": nn.ReLU, "LeakyRelu": nn.LeakyReLU, "Sigmoid": nn.Sigmoid, "Tanh": nn.Tanh, "Elu": nn.ELU, "Gelu": nn.GELU,
    "Selu": nn.ReLU, "Celu": nn.ReLU, "PRelu": nn.ReLU, "Softplus": nn.ReLU, "HardSigmoid": nn.ReLU,
    "HardSwish": nn.ReLU, "Mish": nn.ReLU, "Clip": nn.ReLU,
}
_FINAL_SOFTMAX = ("Softmax", "LogSoftmax")  # a graph ending in one: its input is the logits
_NUMPY_TYPES = {"tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16}


class _Session:
    """The onnxruntime session and what it returns; shared, never copied, by every copy of the network (a session
    is immutable and ``run`` is thread-safe)."""

    def __init__(self, session: Any, outputs: list[str], batch: int | None) -> None:
        self.session = session
        self.input = session.get_inputs()[0].name
        self.dtype = _NUMPY_TYPES.get(session.get_inputs()[0].type, np.float32)
        self.outputs = outputs
        self.batch = batch  # the one batch size the file takes, or None (any)

    def __deepcopy__(self, memo: dict) -> _Session:
        return self

    def run(self, images: np.ndarray) -> list[np.ndarray]:
        """Every exposed output for a batch of (N, 1, 28, 28) images, already scaled as the file wants them."""
        images = images.astype(self.dtype, copy=False)
        step = self.batch or max(1, len(images))
        parts = []
        for start in range(0, len(images), step):
            chunk = images[start:start + step]
            short = step - len(chunk) if self.batch else 0
            if short:  # a fixed batch size: the last images padded with blank ones, their outputs dropped
                chunk = np.concatenate([chunk, np.zeros((short, *chunk.shape[1:]), chunk.dtype)])
            outputs = self.session.run(self.outputs, {self.input: chunk})
            parts.append([value[:len(value) - short] for value in outputs])
        return [np.concatenate([part[i] for part in parts]) for i in range(len(self.outputs))]


class _Outputs:
    """The latest batch's outputs by tensor name: written by the ``onnx`` child, read by the layers after it. Each
    copy of the network has its own (a background task's copy never sees the window's batch)."""

    def __init__(self) -> None:
        self.values: dict[str, torch.Tensor] = {}


class OnnxSession(nn.Identity):
    """Runs the whole graph once per batch and keeps every exposed output; passes its input on (an identity, so
    that the views hide it, as they hide the input normalisation)."""

    def __init__(self, session: _Session, outputs: _Outputs) -> None:
        super().__init__()
        self.session = session
        self.outputs = outputs
        # (a parameter with no values: the engine finds a model's device from its first parameter)
        self.device_anchor = nn.Parameter(torch.zeros(0), requires_grad=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        values = self.session.run(x.detach().to("cpu", torch.float32).numpy())
        self.outputs.values = {name: torch.from_numpy(np.ascontiguousarray(value, dtype=np.float32)).to(x.device)
                               for name, value in zip(self.session.outputs, values, strict=True)}
        return x


class OnnxLayer(nn.Module):
    """One exposed tensor of the graph: calling it returns that tensor of the batch just run (its input, the
    previous layer's output, was computed by the same run). ``node``: the ONNX node that computes it."""

    def __init__(self, outputs: _Outputs, tensor: str, node: str, *base_args: Any, **base_kwargs: Any) -> None:
        super().__init__(*base_args, **base_kwargs)
        self.outputs = outputs
        self.tensor = tensor
        self.node = node

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        try:
            return self.outputs.values[self.tensor]
        except KeyError:
            raise CnndeskError(f"The layer {self.tensor} of an onnxruntime model runs only inside the whole "
                               "model.") from None

    def extra_repr(self) -> str:
        return f"node={self.node!r}, tensor={self.tensor!r}"


_LAYER_CLASSES: dict[str, type[OnnxLayer]] = {}


def _layer_class(op: str) -> type[OnnxLayer]:
    """The class of an ``op`` layer, named after it (the views' labels and the summary show the class name)."""
    if op not in _LAYER_CLASSES:
        if op == "BatchNormalization":
            bases: tuple[type, ...] = (OnnxLayer, nn.BatchNorm2d)  # (without parameters: see _base_arguments)
        elif op in _ACTIVATIONS:
            bases = (OnnxLayer, _ACTIVATIONS[op])
        else:
            bases = (OnnxLayer,)
        name = op if op.isidentifier() else "Output"
        _LAYER_CLASSES[op] = type(name, bases, {"__module__": __name__, "__doc__": f"The output of an ONNX {op}."})
    return _LAYER_CLASSES[op]


def _base_arguments(op: str) -> tuple[tuple[Any, ...], dict[str, Any]]:
    # BatchNorm's class only makes the inspector fold it; affine=False and no running statistics: no tensors.
    return ((1,), {"affine": False, "track_running_stats": False}) if op == "BatchNormalization" else ((), {})


class OnnxRuntimeNetwork(nn.Sequential):
    """An ONNX file run by onnxruntime, its layers exposed as children (see the module's docstring). It takes
    [0, 1] pixels like every cnndesk model; ``config["input"]`` is the scale the file itself wants."""

    has_weights = False  # nothing can train it, save it, export it or take gradients through it

    def __init__(self, config: dict[str, Any], session: _Session, outputs: _Outputs,
                 layers: OrderedDict[str, nn.Module]) -> None:
        scale = INPUT_SCALES[config["input"]]
        super().__init__(OrderedDict([("normalize", Normalize(*scale)), ("onnx", OnnxSession(session, outputs)),
                                      *layers.items()]))
        self.config = config

    @property
    def name(self) -> str:
        return self.config["name"]

    @property
    def source(self) -> Path:
        return Path(self.config["source"])

    def layer_nodes(self) -> dict[str, str]:
        """Each exposed layer's name and the ONNX node it shows."""
        return {name: module.node for name, module in self.named_children() if isinstance(module, OnnxLayer)}


def is_onnx_runtime(model: nn.Module) -> bool:
    """True for a model run by onnxruntime (no PyTorch weights)."""
    return isinstance(model, OnnxRuntimeNetwork)


def require_weights(model: nn.Module, what: str) -> None:
    """A CnndeskError when ``model`` runs in onnxruntime, where ``what`` (e.g. "exported") needs PyTorch weights."""
    if is_onnx_runtime(model):
        raise CnndeskError(f"{model.name} runs in onnxruntime: it has no PyTorch weights, so it cannot be {what}.")


# ---------------------------------------------------------------- building


def _layer_name(prefix: str, taken: dict[str, int]) -> str:
    taken[prefix] = taken.get(prefix, 0) + 1
    return f"{prefix}{taken[prefix]}"


def _exposed(graph: Any, logits: str) -> list[tuple[str, str, str]]:
    """(tensor, op, node name) of each tensor the views show, in graph order, the logits last."""
    constants = {t.name for t in graph.initializer} | {o for n in graph.node if n.op_type == "Constant"
                                                       for o in n.output}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    found: list[tuple[str, str, str]] = []
    for node in graph.node:
        op = node.op_type
        if not node.output or (op not in _LAYER_PREFIXES and op not in _ACTIVATIONS):
            continue
        tensor, shown_op = node.output[0], op
        if op == "Add" and any(name in constants for name in node.input):
            continue  # a bias (shown with its MatMul), not a residual connection
        if op == "MatMul":
            after = consumers.get(tensor, [])
            if len(after) == 1 and after[0].op_type == "Add" and any(n in constants for n in after[0].input):
                tensor = after[0].output[0]  # the fully connected layer's output is after its bias
        found.append((tensor, shown_op, node.name or tensor))
    found = [item for item in found if item[0] != logits]
    producer = next((n for n in graph.node if logits in n.output), None)
    found.append((logits, producer.op_type if producer is not None else "Output",
                   producer.name if producer is not None and producer.name else logits))
    return found


def _logits_tensor(graph: Any) -> str:
    """The graph's output, or, when it ends in a softmax, the softmax's input (the logits: same probabilities)."""
    output = graph.output[0].name
    producer = next((n for n in graph.node if output in n.output), None)
    if producer is not None and producer.op_type in _FINAL_SOFTMAX:
        return producer.input[0]
    return output


def load_onnx_runtime(path: str | Path, input: str = "unit") -> OnnxRuntimeNetwork:
    """The ONNX file at ``path`` (input N×1×28×28, output N×10: engine.foreign has checked) as a network run by
    onnxruntime; ``input``: the pixel scale the file was trained on. CnndeskError if onnxruntime cannot run it."""
    import onnx
    import onnxruntime

    path = Path(path)
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # (protobuf's DecodeError, missing external data: the file cannot be read)
        raise CnndeskError(f"{path} is not an ONNX file, or it is damaged ({type(exc).__name__}).") from None
    # The exposed outputs' types and shapes (an operator shape inference does not know: outputs without them work)
    with contextlib.suppress(Exception):
        model = onnx.shape_inference.infer_shapes(model)
    graph = model.graph
    logits = _logits_tensor(graph)
    exposed = _exposed(graph, logits)
    known = {info.name: info for info in [*graph.value_info, *graph.output, *graph.input]}
    outputs = [tensor for tensor, _, _ in exposed]
    floats = {onnx.TensorProto.FLOAT, onnx.TensorProto.DOUBLE, onnx.TensorProto.FLOAT16}
    outputs = [t for t in outputs if t == logits or t not in known
               or known[t].type.tensor_type.elem_type in floats]
    graph_outputs = {o.name for o in graph.output}
    for tensor in outputs:
        if tensor not in graph_outputs:
            graph.output.append(known[tensor] if tensor in known else
                                onnx.helper.make_tensor_value_info(tensor, onnx.TensorProto.FLOAT, None))
    try:
        session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise CnndeskError(f"{path} cannot run in onnxruntime: {str(exc).splitlines()[0][:160]}") from None
    batch = session.get_inputs()[0].shape[0]
    shared = _Session(session, outputs, batch if isinstance(batch, int) and batch > 0 else None)
    values = _Outputs()
    layers: OrderedDict[str, nn.Module] = OrderedDict()
    taken: dict[str, int] = {}
    for tensor, op, node in exposed:
        if tensor not in outputs:
            continue
        prefix = _LAYER_PREFIXES.get(op) or re.sub(r"[^a-z0-9]", "", op.lower()) or "layer"
        args, kwargs = _base_arguments(op)
        layers[_layer_name(prefix, taken)] = _layer_class(op)(values, tensor, node, *args, **kwargs)
    config = {"name": path.name, "runtime": RUNTIME, "source": str(path), "input": input, "options": {}}
    return OnnxRuntimeNetwork(config, shared, values, layers).eval()
