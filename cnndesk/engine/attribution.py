"""Which input pixels made the model say what it said: saliency, Integrated Gradients, Grad-CAM and occlusion.

Every method explains one score f of one input: the logit of the target class, or, with ``versus``, the logit
of the target minus the logit of ``versus`` ("why a 3 and not an 8?"). Logits rather than probabilities: the
softmax saturates, so the gradient of a confident prediction's probability is almost zero everywhere.

The methods are Captum's (imported on first use: Captum loads matplotlib, ~0.7 s, which the engine must not pay
at import time). They run on the model as given, without copying it: the window calls this on every pen stroke.
The model is put in eval mode for the call and each module's mode restored afterwards; gradients are taken with
``torch.autograd.grad`` (Captum's way), which never touches the weights' ``.grad``.

cnndesk's ``Network.forward`` pools before some activations (the same numbers, faster); here the layers run in
their declared order, as the inspector runs them, so that Grad-CAM's layer outputs are the maps the views show.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import CnndeskError
from .models import Normalize

METHODS = ("saliency", "integrated-gradients", "gradcam", "occlusion")

# Integrated Gradients: Gauss-Legendre steps along the straight path from the black image. 64 steps keep the
# completeness error under 1% for 99% of the first 200 MNIST test images on the bundled LeNet5 (median 0.2%;
# Captum's default of 50 steps, or a trapezoid rule, falls short more often); when they do not, the steps double
# (up to IG_MAX_STEPS) until it does.
IG_STEPS = 64
IG_MAX_STEPS = 256
IG_TOLERANCE = 0.01
# Occlusion: a 4×4 window of black moved in steps of 2 over the 28×28 input, 13×13 positions. MNIST strokes are
# about 2–4 pixels wide, so a 4×4 window takes out a short piece of one stroke: a 2×2 one would mostly thin a
# stroke, a 7×7 one blank a quarter of the digit's 20×20 box at once. A stride of half the window gives each
# pixel the average of up to 4 windows, a smooth map for 169 forward passes (one batch).
OCCLUSION_WINDOW = 4
OCCLUSION_STRIDE = 2

_FOLDED_TYPES = (nn.BatchNorm2d, nn.ReLU, nn.LeakyReLU, nn.Tanh, nn.Sigmoid, nn.GELU, nn.ELU, nn.SiLU)
# Layers that keep every value where it is (for following where a layer's cells lie on the input).
_PIXELWISE_TYPES = (*_FOLDED_TYPES, Normalize, nn.Identity, nn.Dropout, nn.Dropout2d)


@dataclass(frozen=True)
class Attribution:
    """One explanation of one input."""

    method: str  # one of METHODS
    target: int  # the class explained
    versus: int | None  # "why target and not versus": the score is target's logit minus versus's
    predicted: int  # the model's prediction for this input
    layer: str | None  # Grad-CAM's layer (None for the other methods)
    values: np.ndarray  # (28, 28) float32, signed, on the model input's pixel grid
    # Integrated Gradients only: |Σ values − (f(x) − f(baseline))| / |f(x) − f(baseline)|, baseline all black.
    completeness_error: float | None = None
    n_steps: int | None = None  # Integrated Gradients only: the number of steps it took

    @property
    def limit(self) -> float:
        """The largest absolute value: a diverging colour scale runs from -limit to +limit (0 for an empty map)."""
        return float(np.abs(self.values).max()) if self.values.size else 0.0


def _model_name(model: nn.Module) -> str:
    name = getattr(model, "name", None)
    return name if isinstance(name, str) else type(model).__name__


def gradcam_layers(model: nn.Module) -> list[str]:
    """The names (as in ``named_modules``, e.g. "conv2" or "block3.conv2") of the conv layers Grad-CAM can use."""
    return [name for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]


def default_gradcam_layer(model: nn.Module) -> str | None:
    """The layer Grad-CAM uses unless told: the last conv layer with a spatial kernel and an output larger than
    one cell (None without conv layers).

    1×1 convolutions only mix channels (ResNet's shortcut projections come after the block's last 3×3 conv in
    ``named_modules``); a 1×1 output (LeNet-5 of 1998's conv3) would give a map of one colour. A model without
    such a layer gets its last conv layer. The output sizes come from one forward pass of a blank input.
    """
    convs = [(name, module) for name, module in model.named_modules() if isinstance(module, nn.Conv2d)]
    if not convs:
        return None
    sizes: dict[nn.Module, tuple[int, ...]] = {}

    def keep_size(module: nn.Module, _inputs: object, output: torch.Tensor) -> None:  # None: output unchanged
        sizes[module] = tuple(output.shape[-2:])

    hooks = [module.register_forward_hook(keep_size) for _, module in convs]
    modes = [(module, module.training) for module in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            _declared_order(model)(torch.zeros(1, 1, 28, 28, device=next(model.parameters()).device))
    finally:
        for hook in hooks:
            hook.remove()
        for module, training in modes:
            module.training = training
    useful = [name for name, module in convs
              if tuple(module.kernel_size) != (1, 1) and sizes.get(module, (1, 1)) != (1, 1)]
    return useful[-1] if useful else convs[-1][0]


def _gradcam_module(model: nn.Module, layer: str) -> nn.Module:
    """The module whose output Grad-CAM weighs: the conv layer, or, for a layer of a Sequential followed by
    BatchNorm and an activation, the last of those (the maps the inspector shows as "conv2 · ReLU", and the
    rectified maps Grad-CAM's paper uses)."""
    module = model.get_submodule(layer)
    parent_name, _, child_name = layer.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    if isinstance(parent, nn.Sequential):
        children = list(parent.named_children())
        index = [name for name, _ in children].index(child_name)
        for _, following in children[index + 1:]:
            if not isinstance(following, _FOLDED_TYPES):
                break
            module = following
    return module


def _pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    return (int(value[0]), int(value[1])) if isinstance(value, tuple | list) else (int(value), int(value))


def _pixel_grid(model: nn.Module, layer: str, size: tuple[int, int]) -> list[tuple[float, float]]:
    """Where the centres of a layer's output cells lie on the 28×28 input, per axis: (first centre, spacing).

    Followed through the convolutions and poolings in front of a layer of a Sequential: LeNet5's conv2 (no
    padding) has its 10×10 centres at pixels 4.5, 6.5, …, 22.5, not spread over the whole image as a plain
    resize would put them (up to 4 pixels off at the edges). Elsewhere (a conv inside a residual block) the
    cells are taken as centred on the image, which padded convolutions and 2×2 poolings keep them.
    """
    centred = [((28 / n - 1) / 2, 28 / n) for n in size]
    parent_name, _, child_name = layer.rpartition(".")
    if parent_name or not isinstance(model, nn.Sequential):
        return centred
    grid = [(0.0, 1.0), (0.0, 1.0)]
    for name, module in model.named_children():
        if isinstance(module, nn.Conv2d | nn.MaxPool2d | nn.AvgPool2d):
            kernel, stride, padding = _pair(module.kernel_size), _pair(module.stride or module.kernel_size), \
                _pair(module.padding)
            dilation = _pair(getattr(module, "dilation", 1))
            grid = [(start + ((d * (k - 1)) / 2 - p) * jump, jump * s)
                    for (start, jump), k, s, p, d in zip(grid, kernel, stride, padding, dilation, strict=True)]
        elif list(module.children()) or not isinstance(module, _PIXELWISE_TYPES):
            return centred  # a block or layer whose geometry is not followed here
        if name == child_name:
            return grid
    return centred


def _upsample(cam: torch.Tensor, grid: list[tuple[float, float]]) -> torch.Tensor:
    """A (1, 1, h, w) map sampled bilinearly at the 28×28 pixels' centres, clamped at its outer cells.

    For centred cells this is exactly Captum's ``LayerAttribution.interpolate(cam, (28, 28), "bilinear")``.
    """
    (row_start, row_jump), (column_start, column_jump) = grid
    h, w = cam.shape[-2:]
    pixels = torch.arange(28, dtype=torch.float32, device=cam.device)

    def normalised(start: float, jump: float, cells: int) -> torch.Tensor:
        position = ((pixels - start) / jump).clamp(0, cells - 1)  # in cells
        return position / (cells - 1) * 2 - 1 if cells > 1 else torch.zeros_like(position)

    ys, xs = normalised(row_start, row_jump, h), normalised(column_start, column_jump, w)
    sample_at = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), dim=-1)[None]  # (1, 28, 28, (x, y))
    return torch.nn.functional.grid_sample(cam, sample_at.to(cam.dtype), mode="bilinear", align_corners=True)


def _declared_order(model: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """The model's forward with a Sequential's layers in declared order (see the module docstring)."""
    if not isinstance(model, nn.Sequential):
        return model

    def forward(x: torch.Tensor) -> torch.Tensor:
        for module in model:
            x = module(x)
        return x

    return forward


def _as_input(image: np.ndarray, device: torch.device) -> torch.Tensor:
    array = np.asarray(image, dtype=np.float32)
    if array.shape not in ((28, 28), (1, 28, 28), (1, 1, 28, 28)):
        raise CnndeskError(f"An attribution needs the 28×28 model input, not an array of shape {array.shape}.")
    if not np.isfinite(array).all():
        raise CnndeskError("The input image holds values that are not numbers (NaN or infinity).")
    return torch.from_numpy(np.ascontiguousarray(array)).reshape(1, 1, 28, 28).to(device)


def _check_class(kind: str, value: int, classes: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or not 0 <= value < classes:
        raise CnndeskError(f"The {kind} is a class from 0 to {classes - 1}, not {value!r}.")
    return int(value)


def _check_layer(model: nn.Module, method: str, layer: str | None) -> str | None:
    if method != "gradcam":
        if layer is not None:
            raise CnndeskError(f"A layer goes with Grad-CAM only; {method} attributes to the input pixels.")
        return None
    names = gradcam_layers(model)
    if not names:
        raise CnndeskError(f"{_model_name(model)} has no convolution layer for Grad-CAM.")
    if layer is None:
        return default_gradcam_layer(model)
    if layer not in names:
        raise CnndeskError(f"{_model_name(model)} has no convolution layer '{layer}' for Grad-CAM. "
                           f"Known: {', '.join(names)}.")
    return layer


def _integrated_gradients(score: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor,
                          ) -> tuple[torch.Tensor, float, int]:
    """IG from the black image, with as many steps as completeness within IG_TOLERANCE needs (see IG_STEPS)."""
    from captum.attr import IntegratedGradients

    baseline = torch.zeros_like(x)
    with torch.no_grad():
        ends = score(torch.cat([x, baseline]))[:, 0]
    difference = float(ends[0] - ends[1])
    explainer = IntegratedGradients(score)
    steps = IG_STEPS
    while True:
        values = explainer.attribute(x, baselines=baseline, target=0, n_steps=steps, method="gausslegendre")
        gap = abs(float(values.sum(dtype=torch.float64)) - difference)
        error = gap / abs(difference) if difference else (0.0 if gap == 0 else float("inf"))
        if error <= IG_TOLERANCE or steps >= IG_MAX_STEPS:
            return values, error, steps
        steps *= 2


@torch.inference_mode(False)  # gradients whatever mode the caller is in (the window predicts in inference mode)
def attribute(model: nn.Module, image: np.ndarray, method: str, target: int | None = None,
              versus: int | None = None, layer: str | None = None) -> Attribution:
    """Explain the model's score of ``target`` (default: the predicted class) for one input.

    ``image``: the 28×28 model input, float in [0, 1], ink high. ``method``: one of METHODS —
    saliency (the signed gradient of the score with respect to each pixel), integrated-gradients (from an
    all-black baseline; Σ values ≈ f(image) − f(black)), gradcam (at ``layer``, default
    ``default_gradcam_layer``; rectified and upsampled bilinearly to 28×28) or occlusion (how much the score
    drops when a 4×4 patch around the pixel is blacked out). ``versus``: explain target's logit minus versus's.
    """
    from captum.attr import LayerGradCam, Occlusion, Saliency

    if method not in METHODS:
        raise CnndeskError(f"Unknown attribution method '{method}'. Known: {', '.join(METHODS)}.")
    layer = _check_layer(model, method, layer)
    device = next(model.parameters()).device
    x = _as_input(image, device)
    modes = [(module, module.training) for module in model.modules()]
    model.eval()  # BatchNorm must use its running statistics (and not update them), dropout must be off
    try:
        forward = _declared_order(model)
        with torch.no_grad():
            logits = forward(x)[0]
        classes = logits.numel()
        predicted = int(logits.argmax())
        target = predicted if target is None else _check_class("target", target, classes)
        if versus is not None:
            versus = _check_class("class to compare with (versus)", versus, classes)
            if versus == target:
                raise CnndeskError(f"Compare the target {target} with another class, not with itself.")

        def score(batch: torch.Tensor) -> torch.Tensor:
            """f as one column: target's logit, minus versus's when given (Captum's target is then 0)."""
            out = forward(batch)
            column = out[:, target] if versus is None else out[:, target] - out[:, versus]
            return column.unsqueeze(1)

        completeness_error = n_steps = None
        with torch.enable_grad():
            if method == "saliency":
                values = Saliency(score).attribute(x.requires_grad_(), target=0, abs=False)
            elif method == "integrated-gradients":
                values, completeness_error, n_steps = _integrated_gradients(score, x)
            elif method == "gradcam":
                cam = LayerGradCam(score, _gradcam_module(model, layer)).attribute(x, target=0,
                                                                                     relu_attributions=True)
                values = _upsample(cam.detach(), _pixel_grid(model, layer, tuple(cam.shape[-2:])))
            else:
                window, stride = OCCLUSION_WINDOW, OCCLUSION_STRIDE
                positions = ((28 - window) // stride + 1) ** 2
                with torch.no_grad():
                    values = Occlusion(score).attribute(x, sliding_window_shapes=(1, window, window),
                                                        strides=(1, stride, stride), baselines=0.0, target=0,
                                                        perturbations_per_eval=positions)
                    # A window over blank background changes nothing: its pixels get exactly 0, not the ~1e-6
                    # by which the batched forward passes differ from the single one.
                    changed = torch.nn.functional.max_pool2d((x != 0).float(), window, stride)
                    covered = torch.nn.functional.conv_transpose2d(changed, torch.ones(1, 1, window, window,
                                                                                       device=x.device), stride=stride)
                    values = values * (covered > 0)
    finally:
        for module, training in modes:
            module.training = training
    # + 0.0 turns the -0.0 of a blank pixel (0 × a negative gradient) into 0.0 in what is printed.
    values = values.detach().to("cpu", torch.float32).reshape(28, 28).numpy() + np.float32(0.0)
    return Attribution(method, target, versus, predicted, layer, values, completeness_error, n_steps)
