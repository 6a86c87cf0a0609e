"""What a channel wants: the input found by gradient ascent beats every MNIST digit at exciting its channel, the
top patches are the true strongest cells with their receptive fields, the model is left as it was, and
`cnndesk filters --maximize` draws it all."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from cnndesk.cli import main
from cnndesk.engine import (
    CnndeskError,
    build_model,
    inspect_input,
    load_model,
    maximizable_layers,
    maximize_layer,
    receptive_field,
)
from cnndesk.locations import pretrained_path

needs_pretrained = pytest.mark.skipif(not pretrained_path().exists(), reason="the bundled LeNet5 is not trained yet")
DIGITS = 1000  # the test images searched for top patches here (the first ones of MNIST's test set)


def layer_output(model, image: np.ndarray, layer: str) -> np.ndarray:
    """What the views show for ``layer`` on one 28×28 image: its maps (C, H, W), or the logits (10,)."""
    x = torch.from_numpy(np.ascontiguousarray(image, np.float32)).reshape(1, 1, 28, 28)
    if layer == "logits":
        with torch.no_grad():
            return model(x)[0].numpy()
    return next(entry.output for entry in inspect_input(model, x).layers if entry.name == layer)


@pytest.fixture(scope="module")
def lenet():
    return load_model(None)[0]


@pytest.fixture(scope="module")
def digits(mnist) -> torch.Tensor:
    return mnist.test.images[:DIGITS]


@pytest.fixture(scope="module")
def wants(lenet, digits) -> dict[str, list]:
    """Every channel of conv1, conv2 and pool2, and every class, from a blank start."""
    return {layer: maximize_layer(lenet, layer, test_images=digits) for layer in ("conv1", "conv2", "pool2", "logits")}


@needs_pretrained
@pytest.mark.parametrize("layer", ["conv1", "conv2", "pool2", "logits"])
def test_the_found_input_excites_its_channel_more_than_any_test_digit(lenet, wants, layer):
    for want in wants[layer]:
        # The reported value is the channel's own, as the views compute it, on the image found.
        output = layer_output(lenet, want.image, layer)
        value = output[want.channel] if layer == "logits" else output[want.channel][want.cell]
        assert want.activation == pytest.approx(float(value), rel=1e-4, abs=1e-5)
        # The strongest of the first 1000 test digits, anywhere in the map (checked against inspect_input below).
        assert want.activation > want.patches[0].activation, f"{layer} channel {want.channel}"


@needs_pretrained
def test_the_found_input_is_a_28x28_picture_in_0_1_and_the_same_for_a_seed(lenet, digits):
    first, again, other = (maximize_layer(lenet, "conv2", [3], start="noise", seed=seed, test_images=digits[:50])[0]
                           for seed in (0, 0, 1))
    for want in (first, other):
        assert want.image.shape == (28, 28) and want.image.dtype == np.float32
        assert want.image.min() >= 0.0 and want.image.max() <= 1.0 and want.image.max() > 0.5
    assert np.array_equal(first.image, again.image) and first.activation == again.activation
    assert np.abs(first.image - other.image).max() > 0.1  # another noise start, another picture


@needs_pretrained
def test_class_3_wanted_is_seen_as_a_3(lenet, wants):
    three = wants["logits"][3]
    assert three.channel == 3 and three.cell is None and three.box == (0, 0, 28, 28)
    assert int(np.argmax(layer_output(lenet, three.image, "logits"))) == 3


@needs_pretrained
def test_top_patches_are_the_strongest_cells_of_the_test_digits(lenet, mnist):
    images = mnist.test.images[:200]
    channel = 5
    patches = maximize_layer(lenet, "conv2", [channel], steps=2, test_images=images)[0].patches
    # Every one of the 200 digits through inspect_input: the channel's strongest cell on each.
    maps = [layer_output(lenet, image[0].float().div(255).numpy(), "conv2")[channel] for image in images]
    strongest = np.array([m.max() for m in maps])
    assert [p.index for p in patches] == list(np.argsort(-strongest, kind="stable")[:9])
    assert [p.activation for p in patches] == sorted((p.activation for p in patches), reverse=True)
    for patch in patches:
        assert patch.activation == pytest.approx(float(strongest[patch.index]), rel=1e-5)
        y, x = np.unravel_index(np.argmax(maps[patch.index]), maps[patch.index].shape)
        assert patch.box == receptive_field(lenet, "conv2", int(y), int(x))
        x0, y0, x1, y1 = patch.box
        assert patch.pixels.shape == (y1 - y0, x1 - x0)
        assert np.array_equal(patch.pixels, images[patch.index, 0, y0:y1, x0:x1].float().div(255).numpy())


def test_the_model_is_left_as_it_was(mnist):
    torch.manual_seed(0)
    model = build_model("cnn2-bn")  # batch norm: a pass in training mode would move its running statistics
    model.train()
    model.conv1.eval()
    model.fc1.weight.requires_grad_(False)
    state = {key: value.clone() for key, value in model.state_dict().items()}
    modes = [m.training for m in model.modules()]
    flags = [p.requires_grad for p in model.parameters()]
    for layer in ("conv2", "logits"):
        maximize_layer(model, layer, [0, 1], steps=4, test_images=mnist.test.images[:20])
    assert [m.training for m in model.modules()] == modes
    assert [p.requires_grad for p in model.parameters()] == flags
    assert all(torch.equal(value, state[key]) for key, value in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_what_can_be_maximised_and_clear_errors_for_the_rest(mnist):
    lenet5 = build_model("lenet5")
    assert maximizable_layers(lenet5) == ["conv1", "pool1", "conv2", "pool2", "logits"]
    assert maximizable_layers(build_model("mlp")) == ["logits"]
    with pytest.raises(CnndeskError, match="Known: conv1, pool1, conv2, pool2, logits"):
        maximize_layer(lenet5, "fc1")
    with pytest.raises(CnndeskError, match="0 to 15"):
        maximize_layer(lenet5, "conv2", [16], test_images=mnist.test.images[:5])
    with pytest.raises(CnndeskError, match="blank or noise"):
        maximize_layer(lenet5, "conv2", [0], start="grey")


@needs_pretrained
def test_filters_maximize_draws_a_row_per_channel(capsys, tmp_path, lenet, mnist):
    from cnndesk.engine.pictures import GAP, TITLE_HEIGHT, WANTS_LABEL_WIDTH, WANTS_ROW_HEIGHT, WANTS_SCALE

    out = tmp_path / "wants.png"
    code = main(["filters", "--maximize", "--layer", "conv1", "--out", str(out), "--json"])
    assert code == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["out"] == str(out) and [layer["name"] for layer in report["layers"]] == ["conv1"]
    channels = report["layers"][0]["channels"]
    assert [c["channel"] for c in channels] == list(range(6))
    assert all(len(c["top"]) == 9 and c["activation"] > 0 for c in channels)
    picture = np.asarray(Image.open(out).convert("RGB"))
    assert picture.shape[0] == GAP + TITLE_HEIGHT + 6 * WANTS_ROW_HEIGHT + GAP  # six rows, one per channel
    # Each row shows its channel's picture (ink dark), outlined in red where its cell's receptive field is.
    for want in maximize_layer(lenet, "conv1", test_images=mnist.test.images[:10]):
        top, left = GAP + TITLE_HEIGHT + want.channel * WANTS_ROW_HEIGHT, GAP + WANTS_LABEL_WIDTH
        shown = picture[top: top + 28 * WANTS_SCALE: WANTS_SCALE, left: left + 28 * WANTS_SCALE: WANTS_SCALE, 1]
        expected = np.round(255 * (1 - want.image)).astype(np.uint8)
        assert np.mean(shown == expected) > 0.95
        assert want.activation == pytest.approx(channels[want.channel]["activation"], rel=1e-5)


def test_filters_maximize_of_a_layer_without_maps_is_one_clear_error(capsys, tmp_path):
    code = main(["filters", "--maximize", "--layer", "fc1", "--out", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("cnndesk: error:") and "Known: conv1, pool1, conv2, pool2, logits" in err
    assert not (tmp_path / "x.png").exists()
