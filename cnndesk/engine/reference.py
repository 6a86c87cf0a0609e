"""Naive forward passes in NumPy, as CS231N's assignments write them: the reference the cell explainer computes with.

The argument conventions are the tutorial's (``x`` is (N, C, H, W), ``w`` is (F, C, HH, WW), ``conv_param`` is
``{'stride', 'pad'}``, an affine layer's ``w`` is (D, M)), so a student can lay their own solution beside these.
Each function returns its output only: there is no backward pass here, so there is no cache. The layers are loops
over output positions, as in the tutorial, written for reading rather than speed; each position is vectorised over
the filters (or channels), which keeps one explained cell (a 1×1 output) cheap.

Batch norm is evaluation mode only (the running statistics): a single input has no batch to take statistics of.
"""

from __future__ import annotations

from typing import Any

import numpy as np

# The negative slope of the registry's LeakyReLU (models.ACTIVATIONS).
LEAKY_RELU_SLOPE = 0.01


def conv_output_size(size: int, kernel: int, stride: int, pad: int) -> int:
    """The output-size formula O = (W − K + 2P) / S + 1, rounded down as PyTorch does."""
    return 1 + (size + 2 * pad - kernel) // stride


def conv_forward_naive(x: np.ndarray, w: np.ndarray, b: np.ndarray | None, conv_param: dict[str, Any]) -> np.ndarray:
    """A convolution (cross-correlation, as every framework computes it) with zero padding.

    x: (N, C, H, W); w: (F, C, HH, WW); b: (F,) or None (a layer without bias); conv_param: {'stride', 'pad'}.
    Returns (N, F, H', W') with H' = 1 + (H + 2·pad − HH) // stride, W' likewise.
    """
    stride, pad = int(conv_param["stride"]), int(conv_param["pad"])
    n_images, _, height, width = x.shape
    n_filters, _, kh, kw = w.shape
    out_h, out_w = conv_output_size(height, kh, stride, pad), conv_output_size(width, kw, stride, pad)
    x_padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    out = np.zeros((n_images, n_filters, out_h, out_w), dtype=np.result_type(x, w, np.float32))
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                window = x_padded[n, :, i * stride: i * stride + kh, j * stride: j * stride + kw]
                # Every filter at once: Σ over (c, y, x) of window × w[f].
                out[n, :, i, j] = np.sum(window[None] * w, axis=(1, 2, 3))
    if b is not None:
        out += b[None, :, None, None]
    return out


def _pool_forward_naive(x: np.ndarray, pool_param: dict[str, Any], reduce: Any) -> np.ndarray:
    ph, pw, stride = int(pool_param["pool_height"]), int(pool_param["pool_width"]), int(pool_param["stride"])
    n_images, channels, height, width = x.shape
    out_h, out_w = conv_output_size(height, ph, stride, 0), conv_output_size(width, pw, stride, 0)
    out = np.zeros((n_images, channels, out_h, out_w), dtype=np.result_type(x, np.float32))
    for n in range(n_images):
        for i in range(out_h):
            for j in range(out_w):
                window = x[n, :, i * stride: i * stride + ph, j * stride: j * stride + pw]
                out[n, :, i, j] = reduce(window, axis=(1, 2))
    return out


def max_pool_forward_naive(x: np.ndarray, pool_param: dict[str, Any]) -> np.ndarray:
    """Max pooling without padding. x: (N, C, H, W); pool_param: {'pool_height', 'pool_width', 'stride'}."""
    return _pool_forward_naive(x, pool_param, np.max)


def avg_pool_forward_naive(x: np.ndarray, pool_param: dict[str, Any]) -> np.ndarray:
    """Average pooling without padding, same arguments as max_pool_forward_naive."""
    return _pool_forward_naive(x, pool_param, np.mean)


def affine_forward(x: np.ndarray, w: np.ndarray, b: np.ndarray | None) -> np.ndarray:
    """A fully connected layer: x (N, d_1, …, d_k) is flattened to (N, D); w is (D, M) (the transpose of
    PyTorch's ``Linear.weight``); b is (M,) or None. Returns (N, M)."""
    out = x.reshape(x.shape[0], -1) @ w
    return out if b is None else out + b


def batchnorm_forward(x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                      bn_param: dict[str, Any]) -> np.ndarray:
    """Batch norm at test time on x (N, D): (x − running_mean) / √(running_var + eps) · gamma + beta.

    bn_param: {'running_mean', 'running_var', 'eps'} (and 'mode', which must be 'test' if given). gamma and beta
    None: a batch norm without learnable affine parameters (1 and 0).
    """
    if bn_param.get("mode", "test") != "test":
        raise ValueError("Only test-time batch norm (running statistics) is implemented here.")
    x_hat = (x - bn_param["running_mean"]) / np.sqrt(bn_param["running_var"] + bn_param.get("eps", 1e-5))
    if gamma is not None:
        x_hat = x_hat * gamma
    return x_hat if beta is None else x_hat + beta


def spatial_batchnorm_forward(x: np.ndarray, gamma: np.ndarray | None, beta: np.ndarray | None,
                              bn_param: dict[str, Any]) -> np.ndarray:
    """Batch norm at test time on maps x (N, C, H, W), one set of statistics per channel (as the tutorial does:
    reshaped to (N·H·W, C), normalised, reshaped back)."""
    n_images, channels, height, width = x.shape
    flat = x.transpose(0, 2, 3, 1).reshape(-1, channels)
    out = batchnorm_forward(flat, gamma, beta, bn_param)
    return out.reshape(n_images, height, width, channels).transpose(0, 3, 1, 2)


def relu_forward(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0)


def leaky_relu_forward(x: np.ndarray, negative_slope: float = LEAKY_RELU_SLOPE) -> np.ndarray:
    return np.where(x >= 0, x, x * negative_slope)


def tanh_forward(x: np.ndarray) -> np.ndarray:
    return np.tanh(x)


def sigmoid_forward(x: np.ndarray) -> np.ndarray:
    # 1 / (1 + e^-x) overflows for very negative x; this form is stable at both ends.
    return np.exp(-np.logaddexp(0, -x))
