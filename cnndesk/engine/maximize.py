"""What a channel wants: the input that excites it most (gradient ascent), and the MNIST patches that do.

For a feature-map channel the objective is its value at the map's *centre cell*, not the mean of the whole map.
The mean of a map is maximised by the kernel tiled over the whole image — a texture of stripes, hard to read as
"a stroke" — and, for a linear first layer, by pixels at 0 or 1 wherever the kernel's sign says: noise. One cell
sees only its receptive field, so what comes out is one stroke fragment (an edge, a bar, a corner, a curve) on a
black background, the same kind of thing as the nine MNIST patches beside it, which are crops of that same
receptive field around the cell that fired most on each test image. For "logits" the objective is the class logit.

The ascent runs the model's layers one after another in declared order (as ``inspect_input`` does), stopping at
the layer asked for. All the requested channels are optimised at once, one batch row each: batch norm is in eval
mode and nothing else mixes rows, so each row's gradient is its own channel's. Tools made for 224×224 colour give
coloured noise on a 28×28 grey input; what keeps the pictures MNIST-like here (tuned by looking at LeNet5's and
cnn3-bn's pictures, and checked against the MNIST test set's own best patches):

- each step moves along the row's gradient divided by its largest component, so every channel moves as fast
  whatever the scale of its values (Adam's per-pixel scaling makes faint pixels as loud as strong ones: noise);
- for the first 5/8 of the steps, a regularised ascent: a one-pixel random shift (jitter) before each step, so
  that a pattern must work a pixel either way (strokes, not speckle); every pixel decaying towards 0 (black, the
  MNIST background), so that only what the objective needs stays; a light blur every few steps;
- then the pattern stretched to full ink (decay and blur leave it dim, and MNIST strokes are saturated), and the
  last 3/8 of the steps without regularisation, which take the objective above what the best MNIST test patches
  reach while keeping the strokes the first phase drew;
- pixels clamped to [0, 1] after every step.

ReLUs inside the ascent pass a "redirected" gradient (Lucid's trick) for a row whose gradient they would zero
entirely: from a blank start, a pool cell whose ReLU inputs are all below zero would otherwise never move (without
it, most of LeNet5's pool2 channels stay blank). The channel's own activation at the end of its layer is left out
of the ascent: it is monotone, and its flat part would stall the ascent the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .errors import CnndeskError
from .inspect import _FOLDED_TYPES, _HIDDEN_TYPES

LOGITS = "logits"
STARTS = ("both", "blank", "noise")
DEFAULT_STEPS = 64
TOP_PATCHES = 9

STEP_SIZE = 0.1  # the largest pixel change per step (pixels are in [0, 1])
DECAY = 0.01  # each regularised step, every pixel loses this fraction: what is not needed fades to black
BLUR_EVERY = 8  # regularised steps between two light blurs
JITTER = 1  # pixels: the random shift before each regularised step
POLISH = 0.375  # the fraction of the steps, at the end, without regularisation
STRETCH_MIN_PEAK = 0.05  # a row fainter than this wants no ink: stretching would only amplify its remains
TEST_BATCH = 1000  # test images per forward pass in the top-patch search (bounds the memory of the maps)


@dataclass(frozen=True)
class TopPatch:
    """One of the MNIST test images that excite a channel most, cropped to where it does."""

    index: int  # the MNIST test image's number
    activation: float  # the channel's value at its strongest cell on that image
    box: tuple[int, int, int, int]  # that cell's receptive field (x0, y0, x1, y1) on the 28×28 image, x1/y1 excl.
    pixels: np.ndarray  # the image cropped to ``box``: float32 in [0, 1], ink high, shape (y1 - y0, x1 - x0)


@dataclass(frozen=True)
class ChannelWants:
    """What one channel (or class) responds to most: an input made for it, and the test patches that excite it."""

    layer: str  # a visible layer name (as in ``inspect_input(...).layers[i].name``) or "logits"
    channel: int  # the channel number in that layer; for "logits", the class
    image: np.ndarray  # (28, 28) float32 in [0, 1], ink high: the input found by gradient ascent
    activation: float  # the objective reached on ``image``: the channel's value at ``cell``, or the class logit
    patches: list[TopPatch]  # the nine MNIST test patches that excite the channel most, strongest first
    cell: tuple[int, int] | None = None  # (y, x): the map cell whose value was maximised; None for "logits"
    box: tuple[int, int, int, int] = (0, 0, 28, 28)  # ``cell``'s receptive field (x0, y0, x1, y1); logits: all


class _RedirectedReLU(torch.autograd.Function):
    """ReLU forward; backward as ReLU's, except for a batch row whose whole ReLU gradient would be zero: there
    the gradient also passes where the input is negative and the objective wants it higher (towards 0)."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return x.clamp_min(0)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        relu_grad = grad * (x > 0)
        redirected = grad * ((x > 0) | (grad > 0))  # `grad` is d(objective)/dx: positive means "push x up"
        dead_rows = relu_grad.flatten(1).abs().amax(dim=1) == 0
        return torch.where(dead_rows.view(-1, *([1] * (grad.dim() - 1))), redirected, relu_grad)


@dataclass(frozen=True)
class _Target:
    """Where a visible layer ends among the model's children, and what it outputs."""

    name: str
    end: int  # run children[:end] to get the visible layer's output (its folded BN and activation included)
    ascent_end: int  # children[:ascent_end]: the same, less the activations at its end
    channels: int
    height: int
    width: int


def _children(model: nn.Module) -> list[tuple[str, nn.Module]]:
    if not isinstance(model, nn.Sequential):
        raise CnndeskError("Only a model that is a sequence of layers (every cnndesk model) can be run "
                           "layer by layer to maximise a channel.")
    return list(model.named_children())


@torch.no_grad()
def _layout(model: nn.Module) -> tuple[dict[str, _Target], int]:
    """Every visible layer whose output is feature maps (larger than 1×1), and the number of logits.

    Layers are grouped as ``inspect_input`` groups them: batch norm and activations with the same output shape
    fold into the layer before them; normalise, flatten and dropout are not shown. One blank input goes through
    the model in eval mode (so that batch norm's running statistics are left alone).
    """
    children = _children(model)
    groups: list[list] = []  # [name, shape, end, ascent_end]
    with _ModelUnchanged(model):
        x = torch.zeros(1, 1, 28, 28, device=_device(model))
        for i, (name, module) in enumerate(children):
            x = module(x)
            if isinstance(module, _HIDDEN_TYPES) or not isinstance(x, torch.Tensor):
                continue
            shape = tuple(x.shape[1:])
            if len(shape) == 3 and shape[1:] == (1, 1):
                shape = (shape[0],)  # 1×1 maps (after global pooling) are a vector, as in inspect_input
            if isinstance(module, _FOLDED_TYPES) and groups and groups[-1][1] == shape:
                groups[-1][2] = i + 1
                if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                    groups[-1][3] = i + 1  # an activation, by contrast, is left out of the ascent
                continue
            groups.append([name, shape, i + 1, i + 1])
    # Every layer that outputs maps: convolutions, pools, and blocks of convolutions (resnet-mini's residual blocks).
    targets = {name: _Target(name, end, ascent_end, *shape)
               for name, shape, end, ascent_end in groups if len(shape) == 3}
    return targets, int(x.flatten(1).shape[1])


def maximizable_layers(model: nn.Module) -> list[str]:
    """The visible feature-map layers (conv, pool, residual block) in declared order, then "logits" (a channel is
    a class)."""
    return [*_layout(model)[0], LOGITS]


def _device(model: nn.Module) -> torch.device:
    parameter = next(model.parameters(), None)
    return parameter.device if parameter is not None else torch.device("cpu")


def _resolve(model: nn.Module, layer: str) -> _Target:
    targets, classes = _layout(model)
    if layer == LOGITS:
        children = _children(model)
        return _Target(LOGITS, len(children), len(children), classes, 1, 1)
    if layer not in targets:
        known = ", ".join([*targets, LOGITS])
        raise CnndeskError(f"There is no feature-map layer '{layer}' to maximise in this model. Known: {known}.")
    return targets[layer]


def _check_channels(target: _Target, channels: Sequence[int] | None) -> list[int]:
    if channels is None:
        return list(range(target.channels))
    chosen = [int(c) for c in channels]
    what = "classes" if target.name == LOGITS else "channels"
    bad = [c for c in chosen if not 0 <= c < target.channels]
    if bad or not chosen:
        raise CnndeskError(f"{target.name} has {what} 0 to {target.channels - 1}, not {bad or 'none'}.")
    return chosen


def _centre_cell(target: _Target) -> tuple[int, int]:
    # (size - 1) // 2 puts the cell's receptive field nearest the image's centre (or as near as size // 2 does) for
    # every registry model: LeNet5 conv2's cell 4 sees pixels 6 to 19, cell 5 pixels 8 to 21, of 0 to 27.
    return (target.height - 1) // 2, (target.width - 1) // 2


def _run(children: list[tuple[str, nn.Module]], x: torch.Tensor, end: int, redirect_relu: bool) -> torch.Tensor:
    for _, module in children[:end]:
        x = _RedirectedReLU.apply(x) if redirect_relu and type(module) is nn.ReLU else module(x)
    return x


def _objective(out: torch.Tensor, target: _Target, channels: torch.Tensor, cell: tuple[int, int]) -> torch.Tensor:
    """Each batch row's own channel: its centre-cell value, or its class logit."""
    rows = torch.arange(len(channels), device=out.device)
    if target.name == LOGITS:
        return out[rows, channels]
    return out[rows, channels, cell[0], cell[1]]


def _blur(x: torch.Tensor) -> torch.Tensor:
    """A light 3×3 binomial blur (zero padding: the border, like MNIST's, tends to black)."""
    kernel = torch.tensor([1.0, 2.0, 1.0], device=x.device) / 4
    kernel = (kernel[:, None] * kernel[None, :]).view(1, 1, 3, 3)
    return nn.functional.conv2d(x, kernel, padding=1)


class _ModelUnchanged:
    """Eval mode and no weight gradients while the ascent runs; the model's own mode and flags after."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model

    def __enter__(self) -> None:
        self.modes = [(m, m.training) for m in self.model.modules()]
        self.flags = [(p, p.requires_grad) for p in self.model.parameters()]
        self.model.eval()
        for p, _ in self.flags:
            p.requires_grad_(False)

    def __exit__(self, *exc: object) -> None:
        for m, training in self.modes:
            m.training = training
        for p, flag in self.flags:
            p.requires_grad_(flag)


def _ascend(model: nn.Module, target: _Target, channels: list[int], starts: Sequence[str], steps: int,
            seed: int) -> tuple[torch.Tensor, torch.Tensor, tuple[int, int] | None]:
    """(images (C, 1, 28, 28), objectives (C,), cell): one batch row per channel; ``starts`` splits the rows into
    equal parts, each starting from its own ("blank" or "noise")."""
    children = _children(model)
    device = _device(model)
    generator = torch.Generator().manual_seed(seed)
    count = len(channels)
    # Blank: no ink at all, MNIST's black background. Noise: dim, in [0, 0.5), leaving room to add ink and remove it.
    part = count // len(starts)
    x = torch.cat([torch.rand(part, 1, 28, 28, generator=generator) * 0.5 if start == "noise"
                   else torch.zeros(part, 1, 28, 28) for start in starts]).to(device)
    shifts = torch.randint(-JITTER, JITTER + 1, (steps, 2), generator=generator).tolist()
    wanted = torch.tensor(channels, device=device)
    cell = None if target.name == LOGITS else _centre_cell(target)

    def objective(images: torch.Tensor, end: int, redirect_relu: bool) -> torch.Tensor:
        return _objective(_run(children, images, end, redirect_relu), target, wanted, cell)

    polish_from = steps - int(steps * POLISH)
    for step in range(steps):
        polish = step >= polish_from
        if step == polish_from:
            x = _stretched(x.detach())
        dy, dx = (0, 0) if polish else shifts[step]
        x.requires_grad_(True)
        (grad,) = torch.autograd.grad(
            objective(torch.roll(x, shifts=(dy, dx), dims=(2, 3)), target.ascent_end, True).sum(), x)
        with torch.no_grad():
            scale = grad.flatten(1).abs().amax(dim=1).clamp_min(1e-12).view(-1, 1, 1, 1)
            x = x.detach() + STEP_SIZE * grad / scale
            if not polish:
                x = x * (1 - DECAY)
                if (step + 1) % BLUR_EVERY == 0:
                    x = _blur(x)
            x = x.clamp(0.0, 1.0)
    with torch.no_grad():
        reached = objective(x, target.end, False)
    return x.detach(), reached, cell


def _stretched(x: torch.Tensor) -> torch.Tensor:
    """Each row scaled so that its brightest pixel is full ink (no new pattern, only the contrast); a row that
    wants almost no ink is left as it is."""
    peak = x.flatten(1).amax(dim=1).view(-1, 1, 1, 1)
    return torch.where(peak > STRETCH_MIN_PEAK, x / peak.clamp_min(STRETCH_MIN_PEAK), x)


@torch.no_grad()
def _top_patches(model: nn.Module, target: _Target, channels: list[int],
                 test_images: torch.Tensor) -> list[list[TopPatch]]:
    """One batched pass of the test images up to the layer: each channel's nine strongest images, and where."""
    children = _children(model)
    device = _device(model)
    wanted = torch.tensor(channels)
    maxima, positions = [], []
    for first in range(0, len(test_images), TEST_BATCH):
        batch = test_images[first: first + TEST_BATCH].to(device).float().div_(255.0)
        out = _run(children, batch, target.end, redirect_relu=False).float()
        if target.name == LOGITS:
            out = out[:, :, None, None]
        out = out[:, wanted.to(out.device)].flatten(2)  # (n, channels, cells)
        where = out.argmax(dim=2, keepdim=True)  # the first strongest cell in row-major order
        value = out.gather(2, where)[..., 0]
        where = where[..., 0]
        maxima.append(value.cpu())
        positions.append(where.cpu())
    values = torch.cat(maxima).numpy()  # (N, channels)
    cells = torch.cat(positions).numpy()
    fields: dict[tuple[int, int], tuple[int, int, int, int]] = {}  # cell -> receptive field (a trace each)
    patches: list[list[TopPatch]] = []
    for column in range(len(channels)):
        order = np.argsort(-values[:, column], kind="stable")[:TOP_PATCHES]  # ties: the lower image number first
        row = []
        for index in order.tolist():
            if target.name == LOGITS:
                box = (0, 0, 28, 28)
            else:
                cell = divmod(int(cells[index, column]), target.width)
                if cell not in fields:
                    fields[cell] = _receptive_field(model, target.name, *cell)
                box = fields[cell]
            x0, y0, x1, y1 = box
            pixels = test_images[index, 0, y0:y1, x0:x1].float().div(255.0).numpy()
            row.append(TopPatch(index, float(values[index, column]), box, pixels))
        patches.append(row)
    return patches


def _receptive_field(model: nn.Module, layer: str, y: int, x: int) -> tuple[int, int, int, int]:
    from .explain import receptive_field  # written alongside; imported on use

    x0, y0, x1, y1 = receptive_field(model, layer, y, x)
    return int(x0), int(y0), int(x1), int(y1)


def maximize_layer(model: nn.Module, layer: str, channels: Sequence[int] | None = None, *, start: str = "both",
                   steps: int = DEFAULT_STEPS, seed: int = 0,
                   test_images: torch.Tensor | None = None) -> list[ChannelWants]:
    """What each of ``channels`` (default: all) of ``layer`` wants, in the order asked.

    ``layer``: one of ``maximizable_layers(model)``; for "logits" the channels are the classes. ``start``: "blank"
    (all pixels 0, no ink), "noise" (seeded, dim uniform noise), or "both" (the default): one ascent from each, in
    the same batch, and per channel the input that excites it more — from blank, a channel that wants a solid blob
    of ink can stall on a few strokes (a LeNet5 trained with thickness augmentation: 2.1 where a test digit gives
    6.4), while noise starts leave faint speckle on the others. ``test_images``: uint8 (N, 1, 28, 28) to
    search for the top patches (default: the MNIST test set). The same seed gives the same images. The model's
    weights, modes and ``requires_grad`` flags are left as they were.
    """
    if start not in STARTS:
        raise CnndeskError(f"The ascent starts from {' or '.join(STARTS)}, not '{start}'.")
    if steps < 1:
        raise CnndeskError(f"The ascent needs at least one step, not {steps}.")
    target = _resolve(model, layer)
    chosen = _check_channels(target, channels)
    if test_images is None:
        from .data import load_splits

        test_images = load_splits("mnist").test.images
    if (test_images.dtype != torch.uint8 or test_images.dim() != 4 or tuple(test_images.shape[1:]) != (1, 28, 28)
            or len(test_images) == 0):
        raise CnndeskError(f"Test images are uint8 (N, 1, 28, 28) with N > 0, not {test_images.dtype} "
                           f"{tuple(test_images.shape)}.")
    with _ModelUnchanged(model), torch.inference_mode(False), torch.enable_grad():
        if start == "both":
            images, reached, cell = _ascend(model, target, chosen + chosen, ("blank", "noise"), steps, seed)
            count = len(chosen)
            noise_wins = reached[count:] > reached[:count]
            images = torch.where(noise_wins.view(-1, 1, 1, 1), images[count:], images[:count])
            reached = torch.where(noise_wins, reached[count:], reached[:count])
        else:
            images, reached, cell = _ascend(model, target, chosen, (start,), steps, seed)
        patches = _top_patches(model, target, chosen, test_images)
        box = (0, 0, 28, 28) if cell is None else _receptive_field(model, target.name, *cell)
        if cell is not None:  # what a noise start left outside the cell's field changes nothing: paper again
            x0, y0, x1, y1 = box
            inside = torch.zeros_like(images, dtype=torch.bool)
            inside[..., y0:y1, x0:x1] = True
            images = images.where(inside, torch.zeros_like(images))
    pictures = images[:, 0].float().cpu().numpy()
    return [ChannelWants(target.name, channel, pictures[row].copy(), float(reached[row]), patches[row], cell, box)
            for row, channel in enumerate(chosen)]
