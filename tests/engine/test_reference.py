"""The NumPy reference layers (CS231N's naive forward passes) agree with PyTorch on random inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnndesk.engine.reference import (
    affine_forward,
    avg_pool_forward_naive,
    batchnorm_forward,
    conv_forward_naive,
    leaky_relu_forward,
    max_pool_forward_naive,
    relu_forward,
    sigmoid_forward,
    spatial_batchnorm_forward,
    tanh_forward,
)

TOLERANCE = 1e-4


def random(rng: np.random.Generator, *shape: int) -> np.ndarray:
    return rng.standard_normal(shape).astype(np.float32)


def torch_of(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array))


@pytest.mark.parametrize(("stride", "pad", "with_bias", "kernel"),
                         [(1, 0, True, 3), (1, 1, True, 3), (2, 1, False, 3), (1, 2, True, 5), (2, 0, True, 1),
                          (3, 2, True, 4)])
def test_conv_forward_naive_matches_pytorch(stride, pad, with_bias, kernel):
    rng = np.random.default_rng(stride * 10 + pad)
    x, w = random(rng, 2, 3, 9, 8), random(rng, 4, 3, kernel, kernel)
    b = random(rng, 4) if with_bias else None
    out = conv_forward_naive(x, w, b, {"stride": stride, "pad": pad})
    expected = F.conv2d(torch_of(x), torch_of(w), None if b is None else torch_of(b), stride=stride, padding=pad)
    assert out.shape == tuple(expected.shape)
    np.testing.assert_allclose(out, expected.numpy(), atol=TOLERANCE)


@pytest.mark.parametrize(("size", "stride"), [(2, 2), (3, 2), (3, 1), (7, 7)])
def test_pooling_matches_pytorch(size, stride):
    rng = np.random.default_rng(size * 10 + stride)
    x = random(rng, 2, 3, 7, 8)
    param = {"pool_height": size, "pool_width": size, "stride": stride}
    max_out, avg_out = max_pool_forward_naive(x, param), avg_pool_forward_naive(x, param)
    expected_max = F.max_pool2d(torch_of(x), size, stride).numpy()
    expected_avg = F.avg_pool2d(torch_of(x), size, stride).numpy()
    assert max_out.shape == expected_max.shape
    np.testing.assert_allclose(max_out, expected_max, atol=TOLERANCE)
    np.testing.assert_allclose(avg_out, expected_avg, atol=TOLERANCE)


def test_rectangular_pooling_window():
    x = random(np.random.default_rng(1), 1, 2, 6, 6)
    out = max_pool_forward_naive(x, {"pool_height": 2, "pool_width": 3, "stride": 3})
    np.testing.assert_allclose(out, F.max_pool2d(torch_of(x), (2, 3), 3).numpy(), atol=TOLERANCE)


def trained_looking(bn: nn.Module, rng: np.random.Generator) -> nn.Module:
    """A batch norm whose statistics and affine parameters are all far from their initial 0 and 1."""
    features = bn.num_features
    with torch.no_grad():
        bn.running_mean.copy_(torch_of(random(rng, features)))
        bn.running_var.copy_(torch_of(rng.uniform(0.2, 3.0, features).astype(np.float32)))
        bn.weight.copy_(torch_of(random(rng, features)))
        bn.bias.copy_(torch_of(random(rng, features)))
    return bn.eval()


def bn_param(bn: nn.Module) -> dict:
    return {"mode": "test", "running_mean": bn.running_mean.numpy(), "running_var": bn.running_var.numpy(),
            "eps": bn.eps}


def test_batchnorm_at_test_time_matches_pytorch():
    rng = np.random.default_rng(2)
    bn = trained_looking(nn.BatchNorm1d(5, eps=1e-3), rng)
    x = random(rng, 4, 5)
    out = batchnorm_forward(x, bn.weight.detach().numpy(), bn.bias.detach().numpy(), bn_param(bn))
    with torch.no_grad():
        np.testing.assert_allclose(out, bn(torch_of(x)).numpy(), atol=TOLERANCE)


def test_spatial_batchnorm_at_test_time_matches_pytorch():
    rng = np.random.default_rng(3)
    bn = trained_looking(nn.BatchNorm2d(3), rng)
    x = random(rng, 2, 3, 4, 5)
    out = spatial_batchnorm_forward(x, bn.weight.detach().numpy(), bn.bias.detach().numpy(), bn_param(bn))
    with torch.no_grad():
        np.testing.assert_allclose(out, bn(torch_of(x)).numpy(), atol=TOLERANCE)


def test_batchnorm_refuses_training_mode():
    with pytest.raises(ValueError, match="test-time"):
        batchnorm_forward(np.zeros((2, 3)), None, None, {"mode": "train", "running_mean": 0, "running_var": 1})


def test_affine_forward_matches_pytorch_linear():
    rng = np.random.default_rng(4)
    x, w, b = random(rng, 3, 2, 4, 5), random(rng, 40, 7), random(rng, 7)  # w is (D, M), the tutorial's way
    expected = F.linear(torch_of(x).reshape(3, -1), torch_of(w.T), torch_of(b)).numpy()
    np.testing.assert_allclose(affine_forward(x, w, b), expected, atol=TOLERANCE)
    np.testing.assert_allclose(affine_forward(x, w, None), expected - b, atol=TOLERANCE)


def test_activations_match_pytorch_even_far_from_zero():
    x = np.concatenate([random(np.random.default_rng(5), 50) * 3, [-1000.0, -80.0, 0.0, 80.0, 1000.0]])
    t = torch_of(x.astype(np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow in exp for the sigmoid of -1000
        pairs = [(relu_forward(x), torch.relu(t)), (tanh_forward(x), torch.tanh(t)),
                 (sigmoid_forward(x), torch.sigmoid(t)), (leaky_relu_forward(x), F.leaky_relu(t, 0.01))]
    for ours, theirs in pairs:
        np.testing.assert_allclose(ours, theirs.numpy(), atol=TOLERANCE)
    assert leaky_relu_forward(np.array([-2.0]))[0] == pytest.approx(-0.02)
