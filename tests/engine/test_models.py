"""The model registry: every architecture builds, classifies 28×28 digits, trains, and rebuilds from its config."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cnndesk.engine import (
    MODELS,
    CnndeskError,
    build_model,
    count_parameters,
    load_model,
    model_config,
    model_names,
    save_checkpoint,
)
from cnndesk.engine.models import OPTIONS
from cnndesk.engine.summary import summarize
from cnndesk.locations import pretrained_path

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
        (lambda: build_model("lenet5", depth=5), "no option depth"),
        (lambda: build_model("lenet5", activation="swish"), "Unknown activation 'swish'"),
        (lambda: build_model({"name": "nope", "options": {}}), "Unknown model 'nope'"),
        (lambda: model_config("mlp", pooling="max"), "no option pooling"),
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
    assert model.config == {"name": "cnn2", "options": {"activation": "leakyrelu", "pooling": "max",
                                                        "batchnorm": False, "dropout": 0.0, "width": 1.0,
                                                        "init": "default"}}
    clone = build_model(model.config)
    assert isinstance(dict(clone.named_children())["act1"], nn.LeakyReLU)


def test_fresh_models_are_independent():
    a, b = build_model("mlp"), build_model("mlp")
    with torch.no_grad():
        next(a.parameters()).add_(1.0)
    assert not torch.equal(next(a.parameters()), next(b.parameters()))


# ---------------------------------------------------------------- builder options


def _non_default(name: str) -> dict:
    """Every option this model takes, each away from its default."""
    defaults = MODELS[name].defaults
    flipped = {"activation": "tanh" if defaults["activation"] != "tanh" else "relu",
               "pooling": "avg" if defaults.get("pooling") == "max" else "max",
               "batchnorm": not defaults.get("batchnorm"), "dropout": 0.25, "width": 0.5, "init": "xavier"}
    return {k: v for k, v in flipped.items() if k in defaults}


def _wide(name: str) -> dict:
    return {"width": 1.5, "init": "kaiming", "activation": "leakyrelu"}


def test_every_model_takes_each_option_or_says_why_not():
    for name, spec in MODELS.items():
        assert set(spec.defaults).isdisjoint(spec.fixed), name
        assert set(spec.defaults) | set(spec.fixed) == set(OPTIONS), name
        assert all(reason for _, reason in spec.fixed.values())


@pytest.mark.parametrize("combo", [_non_default, _wide], ids=["non-default", "wide-kaiming"])
@pytest.mark.parametrize("name", ALL_MODELS)
def test_every_model_with_options_trains_and_round_trips(name, combo, mnist, tmp_path):
    """Builds, (N, 10) logits, one Adam step changes every weight, save → load gives identical outputs,
    and the summary adds up to the model."""
    options = combo(name)
    torch.manual_seed(0)
    model = build_model(name, **options).train()
    assert {k: model.config["options"][k] for k in options} == options
    x, y = mnist.train.float_images()[:8], mnist.train.labels[:8]
    logits = model(x)
    assert logits.shape == (8, 10) and torch.isfinite(logits).all()
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    nn.functional.cross_entropy(logits, y).backward()
    optimizer.step()
    assert [k for k, v in model.named_parameters() if torch.equal(v.detach(), before[k])] == []

    loaded, meta = load_model(save_checkpoint(model, tmp_path / "m.safetensors"))
    assert meta["model"] == model.config and loaded.config == model.config
    test = mnist.test.float_images()[:4]
    with torch.no_grad():
        assert torch.equal(loaded(test), model.eval()(test))

    summary = summarize(model)
    assert summary.total_params == count_parameters(model)
    assert summary.layers[-1].output_shape[0] == 10


def test_old_checkpoint_configs_take_the_defaults_of_new_options():
    """A checkpoint saved when activation was the only option rebuilds the same network."""
    for name in ALL_MODELS:
        old = build_model({"name": name, "options": {"activation": MODELS[name].defaults["activation"]}})
        assert old.config == model_config(name)
    assert any(isinstance(m, nn.BatchNorm2d) for m in build_model({"name": "cnn2-bn", "options": {}}).modules())
    assert any(isinstance(m, nn.Dropout) for m in build_model({"name": "vgg-mini", "options": {}}).modules())


@pytest.mark.skipif(not pretrained_path().exists(), reason="the bundled LeNet5 has not been trained yet")
def test_a_checkpoint_written_before_the_other_options_existed_still_loads(tmp_path):
    """Checkpoints of cnndesk's first versions name only the activation; the other options take their defaults."""
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(pretrained_path("lenet5")), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        header = json.loads(handle.metadata()["cnndesk"])
    header["model"] = {"name": "lenet5", "options": {"activation": "relu"}}
    old = tmp_path / "old.safetensors"
    save_file(tensors, str(old), metadata={"cnndesk": json.dumps(header)})
    model, meta = load_model(old)
    assert meta["model"]["options"] == {"activation": "relu"}
    assert model.config == model_config("lenet5")


def test_default_options_keep_the_layer_names():
    assert [name for name, _ in build_model("lenet5").named_children()] == [
        "normalize", "conv1", "act1", "pool1", "conv2", "act2", "pool2", "flatten",
        "fc1", "act3", "fc2", "act4", "fc3"]
    assert [name for name, _ in build_model("cnn2-bn").named_children()] == [
        "normalize", "conv1", "bn1", "act1", "pool1", "conv2", "bn2", "act2", "pool2", "flatten", "fc1"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"pooling": "x"}, r"Unknown pooling 'x'\. Known: max, avg\."),
        ({"init": "he"}, r"Unknown init 'he'\. Known: default, xavier, kaiming\."),
        ({"width": 0}, "width multiplier is a number above 0"),
        ({"width": -1.0}, "width multiplier is a number above 0"),
        ({"width": "wide"}, "width multiplier is a number above 0"),
        ({"width": float("nan")}, "width multiplier is a number above 0"),
        ({"width": 100}, "at most 16"),
        ({"dropout": 1.0}, r"Dropout is a probability p with 0 ≤ p < 1, not 1\.0"),
        ({"dropout": -0.1}, "Dropout is a probability"),
        ({"batchnorm": "yes"}, "BatchNorm is on or off"),
    ],
)
def test_bad_option_values_raise_one_clear_error(options, message):
    with pytest.raises(CnndeskError, match=message):
        build_model("lenet5", **options)


@pytest.mark.parametrize(
    ("name", "option", "message"),
    [
        ("mlp", "pooling", "Model 'mlp' has no option pooling: it has no convolutions"),
        ("mlp-deep", "pooling", "has no option pooling"),
        ("resnet-mini", "pooling", "strided convolutions"),
        ("resnet-mini", "batchnorm", "always has BatchNorm"),
        ("nin-mini", "dropout", "no fully connected layer"),
        ("lenet5", "depth", r"no option depth\. Its options: activation, pooling, batchnorm, dropout, width, init"),
    ],
)
def test_an_option_the_model_does_not_take_says_why(name, option, message):
    with pytest.raises(CnndeskError, match=message):
        model_config(name, **{option: 1})


def test_width_multiplier_scales_channels_and_units():
    def conv(cin: int, cout: int, k: int) -> int:
        return cout * cin * k * k + cout

    def linear(fin: int, fout: int) -> int:
        return fin * fout + fout

    model = build_model("lenet5", width=2)
    layers = dict(model.named_children())
    assert (layers["conv1"].out_channels, layers["conv2"].out_channels) == (12, 32)
    assert [(layers[f].in_features, layers[f].out_features) for f in ("fc1", "fc2", "fc3")] == [
        (32 * 5 * 5, 240), (240, 168), (168, 10)]
    by_hand = conv(1, 12, 5) + conv(12, 32, 5) + linear(800, 240) + linear(240, 168) + linear(168, 10)
    assert count_parameters(model) == by_hand == 244_362
    # Half up, at least one: 6 × 0.25 = 1.5 → 2 maps; 16 × 0.25 = 4; 0.01 still leaves one of each.
    assert dict(build_model("lenet5", width=0.25).named_children())["conv1"].out_channels == 2
    assert dict(build_model("mlp", width=0.01).named_children())["fc1"].out_features == 1
    # nin-mini's last block is the ten class maps: it keeps 10 channels at any width.
    nin = dict(build_model("nin-mini", width=0.5).named_children())
    assert (nin["conv1"].out_channels, nin["conv2"].out_channels, nin["conv3"].out_channels) == (16, 32, 10)


def test_xavier_and_kaiming_set_the_weight_scale_of_their_formulas():
    torch.manual_seed(0)
    xavier = dict(build_model("convnet3", init="xavier").named_children())
    kaiming = dict(build_model("convnet3", init="kaiming").named_children())
    leaky = dict(build_model("convnet3", init="kaiming", activation="leakyrelu").named_children())
    default = dict(build_model("convnet3").named_children())
    fan_in, fan_out = 32 * 14 * 14, 100  # fc1: 6272 → 100, 627,200 weights
    assert xavier["fc1"].weight.std().item() == pytest.approx(math.sqrt(2 / (fan_in + fan_out)), rel=0.01)
    assert xavier["fc1"].weight.abs().max().item() <= math.sqrt(6 / (fan_in + fan_out))  # uniform
    assert kaiming["fc1"].weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.01)
    assert leaky["fc1"].weight.std().item() == pytest.approx(math.sqrt(2 / (1 + 0.01**2) / fan_in), rel=0.01)
    # conv1: 32 maps of 7×7 over one channel, fan_in 49.
    assert kaiming["conv1"].weight.std().item() == pytest.approx(math.sqrt(2 / 49), rel=0.05)
    for layers in (xavier, kaiming):
        assert all(not layers[n].bias.any() for n in ("conv1", "fc1", "fc2"))
    # PyTorch's default: uniform with bound 1/√fan_in (std 1/√(3·fan_in)), biases not zero.
    assert default["fc1"].weight.std().item() == pytest.approx(1 / math.sqrt(3 * fan_in), rel=0.01)
    assert default["fc1"].bias.any()


def test_default_init_leaves_pytorchs_weights_untouched():
    torch.manual_seed(3)
    implicit = build_model("cnn2")
    torch.manual_seed(3)
    explicit = build_model("cnn2", init="default")
    assert all(torch.equal(a, b) for a, b in zip(implicit.parameters(), explicit.parameters(), strict=True))


def test_pooling_option_chooses_the_pooling_layers():
    def pools(model) -> list[type]:
        return [nn.MaxPool2d if isinstance(m, nn.MaxPool2d) else type(m)
                for name, m in model.named_children() if name.startswith("pool")]

    assert pools(build_model("lenet5")) == [nn.MaxPool2d, nn.MaxPool2d]
    assert pools(build_model("lenet5", pooling="avg")) == [nn.AvgPool2d, nn.AvgPool2d]
    assert pools(build_model("lenet5-classic")) == [nn.AvgPool2d, nn.AvgPool2d]
    assert pools(build_model("lenet5-classic", pooling="max")) == [nn.MaxPool2d, nn.MaxPool2d]
    assert pools(build_model("nin-mini", pooling="AVG")) == [nn.AvgPool2d, nn.AvgPool2d]


def test_batchnorm_sits_between_each_hidden_layer_and_its_activation():
    layers = list(build_model("lenet5", batchnorm=True).named_children())
    names = [name for name, _ in layers]
    assert names[1:5] == ["conv1", "bn1", "act1", "pool1"]
    bns = {name: m for name, m in layers if name.startswith("bn")}
    assert {n: (type(m), m.num_features) for n, m in bns.items()} == {
        "bn1": (nn.BatchNorm2d, 6), "bn2": (nn.BatchNorm2d, 16), "bn3": (nn.BatchNorm1d, 120),
        "bn4": (nn.BatchNorm1d, 84)}
    for name in bns:
        assert names[names.index(name) + 1] == name.replace("bn", "act")
    mlp = dict(build_model("mlp", batchnorm=True).named_children())
    assert isinstance(mlp["bn1"], nn.BatchNorm1d) and mlp["bn1"].num_features == 100
    # cnn2-bn is cnn2 with BatchNorm on by default, and either can switch it.
    assert build_model("cnn2", batchnorm=True).state_dict().keys() == build_model("cnn2-bn").state_dict().keys()
    assert not any(isinstance(m, nn.BatchNorm2d) for m in build_model("cnn2-bn", batchnorm=False).modules())


@pytest.mark.parametrize("name", ["lenet5", "net2", "vgg-mini", "nin-mini"])
def test_the_fast_path_with_batchnorm_and_either_pooling_matches_the_declared_order(name, mnist):
    """Network.forward may run an activation after its max-pool; with BatchNorm in the way or average pooling
    the result must still be that of the layers in their declared order."""
    x = mnist.test.float_images()[:4]
    for pooling in ("max", "avg"):
        torch.manual_seed(0)
        model = build_model(name, batchnorm=True, pooling=pooling, activation="leakyrelu").eval()
        with torch.no_grad():
            torch.testing.assert_close(model(x), nn.Sequential.forward(model, x), rtol=0, atol=0)


def test_dropout_goes_in_front_of_the_last_fc_layer():
    names = [name for name, _ in build_model("lenet5", dropout=0.5).named_children()]
    assert names[-2:] == ["dropout", "fc3"]
    assert dict(build_model("lenet5", dropout=0.5).named_children())["dropout"].p == 0.5
    assert not any(isinstance(m, nn.Dropout) for m in build_model("lenet5").modules())
    assert dict(build_model("vgg-mini").named_children())["dropout"].p == 0.3  # its own default
    assert not any(isinstance(m, nn.Dropout) for m in build_model("vgg-mini", dropout=0).modules())
    assert [name for name, _ in build_model("resnet-mini", dropout=0.2).named_children()][-2:] == ["dropout", "fc"]
