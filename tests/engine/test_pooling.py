"""Max-pooling's fast paths give PyTorch's results exactly: values, gradients (ties included) and training."""

from __future__ import annotations

from unittest import mock

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from cnndesk.engine import build_model, pooling
from cnndesk.engine.pooling import MaxPool2d


def _maps(n: int, c: int, h: int, w: int, seed: int, channels_last: bool) -> torch.Tensor:
    # Small integers: most windows hold equal values, which is where the gradient's routing can differ.
    x = torch.randint(-2, 3, (n, c, h, w), generator=torch.Generator().manual_seed(seed)).float()
    return x.contiguous(memory_format=torch.channels_last) if channels_last else x


def _pool_and_grad(pool: nn.Module, x: torch.Tensor, upstream: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    x = x.detach().clone().requires_grad_()
    out = pool(x)
    out.backward(upstream)
    return out.detach(), x.grad


def _any_size():
    """The pairwise paths for inputs of every size (small ones normally go to PyTorch's pool)."""
    return mock.patch.object(pooling, "PAIRWISE_MIN_ELEMENTS", 0)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 3), c=st.integers(1, 20), h=st.integers(2, 9), w=st.integers(2, 9),
       seed=st.integers(0, 10_000), channels_last=st.booleans())
def test_training_pool_matches_pytorch_in_values_and_gradients(n, c, h, w, seed, channels_last):
    x = _maps(n, c, h, w, seed, channels_last)
    upstream = torch.randn(n, c, h // 2, w // 2, generator=torch.Generator().manual_seed(seed + 1))
    with _any_size():
        ours, our_grad = _pool_and_grad(MaxPool2d(2), x, upstream)
    theirs, their_grad = _pool_and_grad(nn.MaxPool2d(2), x, upstream)
    assert torch.equal(ours, theirs)
    assert torch.equal(our_grad, their_grad)  # each window's gradient goes to its first maximum, as in PyTorch
    assert our_grad.is_contiguous(memory_format=torch.channels_last) == their_grad.is_contiguous(
        memory_format=torch.channels_last)


@settings(max_examples=60, deadline=None)
@given(shape=st.sampled_from([(2, 6, 28, 28), (1, 16, 10, 10), (3, 5, 7, 9), (6, 11, 13), (1, 1, 2, 2)]),
       seed=st.integers(0, 10_000), channels_last=st.booleans())
def test_inference_pool_matches_pytorch(shape, seed, channels_last):
    x = torch.randn(shape, generator=torch.Generator().manual_seed(seed))
    if channels_last and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    with torch.inference_mode(), _any_size():
        ours = MaxPool2d(2)(x)
    assert torch.equal(ours, F.max_pool2d(x, 2))


def test_other_windows_keep_pytorchs_pooling():
    x = torch.randn(2, 6, 12, 12).contiguous(memory_format=torch.channels_last)
    for kwargs in ({"kernel_size": 3}, {"kernel_size": 2, "stride": 1}, {"kernel_size": 2, "padding": 1},
                   {"kernel_size": 2, "ceil_mode": True}):
        with torch.inference_mode():
            assert torch.equal(MaxPool2d(**kwargs)(x), nn.MaxPool2d(**kwargs)(x)), kwargs
    with pytest.raises(RuntimeError), _any_size():  # a map smaller than a window: PyTorch's error, not an empty result
        MaxPool2d(2)(torch.randn(1, 6, 1, 8))
    values, indices = MaxPool2d(2, return_indices=True)(x)
    assert indices.dtype == torch.int64 and torch.equal(values, F.max_pool2d(x, 2))


@pytest.mark.parametrize("model_name", ["lenet5", "net2"])
def test_training_with_the_fast_pool_gives_the_same_network_as_pytorchs(model_name):
    def train(pool_type: type[nn.Module]) -> nn.Module:
        torch.manual_seed(0)
        model = build_model(model_name)
        for name, module in list(model.named_children()):
            if isinstance(module, nn.MaxPool2d):
                setattr(model, name, pool_type(2))
        model._plan = model._execution_plan()
        model = model.to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
        generator = torch.Generator().manual_seed(1)
        for _ in range(3):
            x = (torch.rand(32, 1, 28, 28, generator=generator) > 0.8).float()  # blank backgrounds: ties
            y = torch.randint(0, 10, (32,), generator=generator)
            loss = F.cross_entropy(model(x.contiguous(memory_format=torch.channels_last)), y)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        return model

    fast, reference = train(MaxPool2d), train(nn.MaxPool2d)
    for (name, a), (_, b) in zip(fast.state_dict().items(), reference.state_dict().items(), strict=True):
        assert torch.equal(a, b), name



def test_lenet5_training_takes_the_pairwise_path_for_its_six_channel_maps():
    model = build_model("lenet5").to(memory_format=torch.channels_last)
    maps = model.conv1(model.normalize(torch.rand(32, 1, 28, 28)))
    assert type(model.pool1(maps).grad_fn).__name__ == "_PairwiseMaxPoolBackward"
    # Sixteen channels: PyTorch's own backward is faster there.
    assert "MaxPool2DWithIndicesBackward" in type(model.pool2(model.conv2(model.pool1(maps))).grad_fn).__name__
    # One image (the drawn digit): a single PyTorch call costs less than the pairwise path's three.
    one = model.conv1(model.normalize(torch.rand(1, 1, 28, 28)))
    assert "MaxPool2DWithIndicesBackward" in type(model.pool1(one).grad_fn).__name__
