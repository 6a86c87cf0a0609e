"""2×2 max-pooling as element-wise maxima of neighbours: the same results as ``nn.MaxPool2d``, faster on a CPU.

PyTorch's CPU max-pool reads each window with scalar code in NCHW, and in channels_last vectorises over the
channels, which leaves it scalar too when a map has fewer channels than a vector holds (LeNet5's 6). Taking
the maximum of neighbouring columns, then of neighbouring rows, is three vectorised element-wise passes:
at batch 256, LeNet5's first pool takes ~0.25 ms instead of ~1.7 ms without a gradient (evaluation), and
~1.4–1.8 instead of ~2.3–2.8 ms forward and backward in training. With 16 channels or more PyTorch's own
backward is the faster one, and for a few images its single call, so those keep PyTorch's pool.
"""

from __future__ import annotations

import torch
import torch.nn as nn

# Below this many channels, training uses the pairwise path (channels_last maps only).
PAIRWISE_TRAINING_CHANNELS = 16
# Smaller inputs (e.g. the one drawn digit the window predicts) go to PyTorch's pool: there one kernel call costs
# less than three (~9 vs ~18 µs for one image's 6×28×28 maps; the pairwise path wins from ~8 images on).
PAIRWISE_MIN_ELEMENTS = 32768


def pairwise_max_pool(x: torch.Tensor) -> torch.Tensor:
    """``F.max_pool2d(x, 2)`` for any layout, without indices (and without a gradient of its own)."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    top = torch.maximum(x[..., 0:h:2, 0:w:2], x[..., 0:h:2, 1:w:2])
    bottom = torch.maximum(x[..., 1:h:2, 0:w:2], x[..., 1:h:2, 1:w:2])
    return torch.maximum(top, bottom)


class _PairwiseMaxPool(torch.autograd.Function):
    """2×2 max-pool of a channels_last (N, C, H, W) map with even H and W, and its gradient.

    The gradient goes to the first maximum of each window in row-major order, as ``max_pool2d`` sends it
    (ties are common: a blank background gives equal values everywhere). Which of two columns, then which
    of two rows won is kept as 0/1 floats, because multiplying by floats is several times faster than
    ``where`` or ``masked_fill`` with a boolean mask.
    """

    @staticmethod
    def forward(ctx: torch.autograd.function.FunctionCtx, x: torch.Tensor) -> torch.Tensor:
        n, c, height, width = x.shape
        h, w = height // 2, width // 2
        # channels_last memory is (N, H, W, C): a column pair is 2C consecutive values.
        pairs = x.permute(0, 2, 3, 1).reshape(n, height, w, 2 * c)
        left, right = pairs[..., :c], pairs[..., c:]
        right_won = torch.gt(right, left, out=x.new_empty(n, height, w, c))
        rows = torch.maximum(left, right).view(n, h, 2, w, c)
        top, bottom = rows[:, :, 0], rows[:, :, 1]
        bottom_won = torch.gt(bottom, top, out=x.new_empty(n, h, w, c))
        ctx.save_for_backward(right_won, bottom_won)
        return torch.maximum(top, bottom).permute(0, 3, 1, 2)

    @staticmethod
    def backward(ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor) -> torch.Tensor:
        right_won, bottom_won = ctx.saved_tensors
        n, h, w, c = bottom_won.shape
        g = grad.permute(0, 2, 3, 1)
        # Written straight into the interleaved layout of the input: g·won to the winner, g − g·won (exactly
        # g or 0) to the other.
        rows = grad.new_empty(n, h, 2, w, c)
        torch.mul(g, bottom_won, out=rows[:, :, 1])
        torch.sub(g, rows[:, :, 1], out=rows[:, :, 0])
        rows = rows.view(n, 2 * h, w, c)
        columns = grad.new_empty(n, 2 * h, w, 2, c)
        torch.mul(rows, right_won, out=columns[:, :, :, 1])
        torch.sub(rows, columns[:, :, :, 1], out=columns[:, :, :, 0])
        return columns.view(n, 2 * h, 2 * w, c).permute(0, 3, 1, 2)


def _plain_2x2(pool: nn.MaxPool2d) -> bool:
    def pair(value: int | tuple[int, ...]) -> tuple[int, ...]:
        return tuple(value) if isinstance(value, tuple | list) else (value, value)

    return (pair(pool.kernel_size) == (2, 2) and pair(pool.stride) == (2, 2) and pair(pool.padding) == (0, 0)
            and pair(pool.dilation) == (1, 1) and not pool.ceil_mode and not pool.return_indices)


class MaxPool2d(nn.MaxPool2d):
    """``nn.MaxPool2d`` (same arguments, same results) that pools 2×2 windows on a CPU with ``pairwise_max_pool``
    when no gradient is needed, and with ``_PairwiseMaxPool`` when training a channels_last map with few
    channels; everything else goes to PyTorch's own."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (x.device.type != "cpu" or x.dim() not in (3, 4) or x.numel() < PAIRWISE_MIN_ELEMENTS
                or min(x.shape[-2:]) < 2 or not _plain_2x2(self)):
            return super().forward(x)  # (maps smaller than a window: PyTorch's error)
        if not (torch.is_grad_enabled() and x.requires_grad):
            return pairwise_max_pool(x)
        if (x.dim() == 4 and x.shape[1] < PAIRWISE_TRAINING_CHANNELS and x.shape[2] % 2 == 0
                and x.shape[3] % 2 == 0 and x.is_contiguous(memory_format=torch.channels_last)):
            return _PairwiseMaxPool.apply(x)
        return super().forward(x)
