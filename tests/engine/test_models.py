"""The model registry: every architecture builds, classifies 28×28 digits, trains, and rebuilds from its config."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from cnndesk.engine import MODELS, CnndeskError, build_model, count_parameters, model_config, model_names

ALL_MODELS = model_names()


def test_registry_lists_the_models():
    assert list(MODELS) == ALL_MODELS
    assert "lenet5" in ALL_MODELS
    assert len(set(ALL_MODELS)) == len(ALL_MODELS)
    for name in ALL_MODELS:
        assert MODELS[name].description


@pytest.mark.parametrize("name", ALL_MODELS)
@pytest.mark.parametrize("batch", [1, 5])
def test_every_model_maps_digits_to_ten_logits(name, batch, mnist):
    model = build_model(name).eval()
    x = mnist.test.float_images()[:batch]
    with torch.no_grad():
        logits = model(x)
    assert logits.shape == (batch, 10)
    assert logits.dtype == torch.float32
    assert torch.isfinite(logits).all()
    assert model.name == name


def test_lenet5_has_the_parameter_count_of_its_spec():
    def conv(cin: int, cout: int, k: int) -> int:
        return cout * cin * k * k + cout

    def linear(fin: int, fout: int) -> int:
        return fin * fout + fout

    # conv 1→6 5×5 (pad 2), conv 6→16 5×5, fc 16·5·5=400 → 120 → 84 → 10
    by_hand = conv(1, 6, 5) + conv(6, 16, 5) + linear(400, 120) + linear(120, 84) + linear(84, 10)
    assert by_hand == 61_706
    assert count_parameters(build_model("lenet5")) == by_hand


def test_lenet5_layers_are_the_tutorial_network():
    model = build_model("lenet5")
    layers = dict(model.named_children())
    assert (layers["conv1"].in_channels, layers["conv1"].out_channels) == (1, 6)
    assert layers["conv1"].kernel_size == (5, 5) and layers["conv1"].padding == (2, 2)
    assert (layers["conv2"].in_channels, layers["conv2"].out_channels) == (6, 16)
    assert [(layers[f].in_features, layers[f].out_features) for f in ("fc1", "fc2", "fc3")] == [
        (400, 120), (120, 84), (84, 10)
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: build_model("resnet152"), "Unknown model 'resnet152'"),
        (lambda: build_model("lenet5", dropout=0.5), "no option dropout"),
        (lambda: build_model("lenet5", activation="swish"), "Unknown activation 'swish'"),
        (lambda: build_model({"name": "nope", "options": {}}), "Unknown model 'nope'"),
        (lambda: model_config("mlp", width=3), "no option width"),
    ],
    ids=["unknown-model", "unknown-option", "unknown-activation", "unknown-model-config", "config-option"],
)
def test_bad_model_requests_raise_a_clear_error(call, message):
    with pytest.raises(CnndeskError, match=message):
        call()


def test_unknown_model_error_lists_the_known_ones():
    with pytest.raises(CnndeskError) as info:
        build_model("alexnet")
    for name in ALL_MODELS:
        assert name in str(info.value)


@pytest.mark.parametrize(("option", "module_type"), [("tanh", nn.Tanh), ("Sigmoid", nn.Sigmoid), ("relu", nn.ReLU)])
def test_activation_option_changes_the_activation_layers(option, module_type):
    model = build_model("lenet5", activation=option)
    activations = [m for name, m in model.named_children() if name.startswith("act")]
    assert len(activations) == 4
    assert all(isinstance(m, module_type) for m in activations)


@pytest.mark.parametrize("name", ALL_MODELS)
def test_one_optimizer_step_changes_every_weight(name, mnist):
    torch.manual_seed(0)
    model = build_model(name).train()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x, y = mnist.train.float_images()[:32], mnist.train.labels[:32]
    loss = nn.functional.cross_entropy(model(x), y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    unchanged = [k for k, v in model.named_parameters() if torch.equal(v.detach(), before[k])]
    assert unchanged == []
    with torch.no_grad():
        assert nn.functional.cross_entropy(model(x), y) != loss


@pytest.mark.parametrize("name", ALL_MODELS)
def test_config_rebuilds_the_same_architecture(name):
    model = build_model(name)
    clone = build_model(model.config)
    assert clone.config == model.config
    assert [type(m) for m in clone.children()] == [type(m) for m in model.children()]
    original = {k: v.shape for k, v in model.state_dict().items()}
    rebuilt = {k: v.shape for k, v in clone.state_dict().items()}
    assert rebuilt == original
    clone.load_state_dict(model.state_dict(), strict=True)


def test_config_keeps_options():
    model = build_model("cnn2", activation="leakyrelu")
    assert model.config == {"name": "cnn2", "options": {"activation": "leakyrelu"}}
    clone = build_model(model.config)
    assert isinstance(dict(clone.named_children())["act1"], nn.LeakyReLU)


def test_fresh_models_are_independent():
    a, b = build_model("mlp"), build_model("mlp")
    with torch.no_grad():
        next(a.parameters()).add_(1.0)
    assert not torch.equal(next(a.parameters()), next(b.parameters()))
