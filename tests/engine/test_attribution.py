"""Attributions (engine.attribution) on the bundled LeNet5 and MNIST test digits, and `cnndesk explain`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from PIL import Image

from cnndesk.cli import main
from cnndesk.engine import MODELS, CnndeskError, attribute, build_model, gradcam_layers, load_model
from cnndesk.engine.attribution import METHODS, Attribution, _pixel_grid, default_gradcam_layer
from cnndesk.engine.pictures import ATTRIBUTION_SCALE, GAP, NEGATIVE, POSITIVE, TITLE_HEIGHT, attribution_png


@pytest.fixture(scope="module")
def lenet():
    return load_model(None)[0]


@pytest.fixture(scope="module")
def digits(mnist) -> list[np.ndarray]:
    """MNIST test images 0–3 (a 7, a 2, a 1, a 0) as the model takes them: 28×28 floats in [0, 1]."""
    return [mnist.test.images[i, 0].float().div(255.0).numpy() for i in range(4)]


def logits(model: torch.nn.Module, image: np.ndarray) -> torch.Tensor:
    with torch.no_grad():
        return model(torch.from_numpy(image).reshape(1, 1, 28, 28))[0]


def near(mask: np.ndarray, pixels: int) -> np.ndarray:
    """``mask`` grown by ``pixels`` in every direction (diagonals included)."""
    grown = mask.copy()
    for _ in range(pixels):
        padded = np.pad(grown, 1)
        grown = np.any([padded[1 + dy: 29 + dy, 1 + dx: 29 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    return grown


@pytest.mark.parametrize("versus", [None, 3])
def test_integrated_gradients_add_up_to_the_logit_change_from_a_black_image(lenet, digits, versus):
    for image in digits:
        result = attribute(lenet, image, "integrated-gradients", versus=versus)
        with_black = logits(lenet, image) - logits(lenet, np.zeros_like(image))
        change = float(with_black[result.target] - (with_black[versus] if versus is not None else 0.0))
        assert abs(float(result.values.sum()) - change) <= 0.01 * abs(change)
        assert result.completeness_error == pytest.approx(abs(float(result.values.sum()) - change) / abs(change),
                                                          abs=1e-4)
        assert result.n_steps is not None and result.layer is None


def test_saliency_is_the_gradient_of_the_logit_through_the_models_own_forward(lenet, digits):
    """The model's forward pools before its ReLUs and uses cnndesk's max-pool: the gradient must not change."""
    for image, versus in ((digits[0], None), (digits[1], 7)):
        result = attribute(lenet, image, "saliency", versus=versus)
        x = torch.from_numpy(image).reshape(1, 1, 28, 28).requires_grad_()
        out = lenet(x)[0]
        score = out[result.target] - (out[versus] if versus is not None else 0)
        (gradient,) = torch.autograd.grad(score, x)
        np.testing.assert_allclose(result.values, gradient[0, 0].numpy(), rtol=1e-5, atol=1e-7)
        assert (result.values < 0).any() and (result.values > 0).any()  # signed, not |gradient|


def test_saliency_lies_mostly_on_the_ink_and_around_it(lenet, digits):
    for image in digits[:2]:
        magnitude = np.abs(attribute(lenet, image, "saliency").values)
        region = near(image > 0, 2)
        share = magnitude[region].sum() / magnitude.sum()
        # Measured 0.56 (the 7, region 38% of the image) and 0.69 (the 2, region 48%): background pixels keep
        # real gradients (ink there would change the answer), but the stroke's neighbourhood is denser.
        assert share > 0.5 and share > 1.25 * region.mean()


@pytest.mark.parametrize("method", ["saliency", "occlusion"])
def test_versus_is_the_difference_of_the_two_classes_maps(lenet, digits, method):
    image = digits[0]
    both = attribute(lenet, image, method, target=7, versus=1)
    seven = attribute(lenet, image, method, target=7)
    one = attribute(lenet, image, method, target=1)
    assert (both.target, both.versus, both.predicted) == (7, 1, 7)
    np.testing.assert_allclose(both.values, seven.values - one.values, atol=1e-4 * seven.limit)


def test_gradcam_lights_up_the_stroke_rather_than_the_far_background(lenet, mnist):
    """Over the first 50 test digits: one digit's map can light the paper (a channel firing on empty paper is
    evidence too), but for most digits the strokes must outshine the background more than 5 px from any ink."""
    ratios = []
    for index in range(50):
        image = mnist.test.images[index, 0].float().div(255.0).numpy()
        result = attribute(lenet, image, "gradcam")
        assert result.layer == "conv2" and result.values.shape == (28, 28)
        assert (result.values >= 0).all()  # rectified
        stroke, far = image > 0.5, ~near(image > 0, 5)
        ratios.append(result.values[stroke].mean() / max(result.values[far].mean(), 1e-12))
    ratios = np.array(ratios)
    assert (ratios > 1).mean() >= 0.75 and np.median(ratios) > 3, np.round(ratios, 2)


@pytest.mark.parametrize(("name", "layer"), [("lenet5", "conv2"), ("net2", "conv2"), ("lenet5", "conv1")])
def test_gradcam_cells_sit_where_their_receptive_field_is_centred(name, layer):
    """LeNet5's conv2 (no padding) sees pixels 4.5 ± 6 from its first cell: a plain resize to 28×28 would put
    that cell at pixel 1."""
    model = build_model(name).eval()
    found = {}
    hook = model.get_submodule(layer).register_forward_hook(lambda _m, _i, out: found.setdefault("maps", out))
    x = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0)).requires_grad_()
    out = x
    for module in model:  # declared order, as attribute runs it
        out = module(out)
    hook.remove()
    maps = found["maps"]
    (row_start, row_jump), (column_start, column_jump) = _pixel_grid(model, layer, tuple(maps.shape[-2:]))
    i, j = maps.shape[-2] // 2, maps.shape[-1] // 3
    (gradient,) = torch.autograd.grad(maps[0, :, i, j].sum(), x)
    rows, columns = np.nonzero(gradient[0, 0].numpy())
    assert (rows.min() + rows.max()) / 2 == row_start + i * row_jump
    assert (columns.min() + columns.max()) / 2 == column_start + j * column_jump


def test_gradcam_on_a_padded_network_is_captums_bilinear_upsampling():
    from captum.attr import LayerAttribution, LayerGradCam

    model = build_model("cnn2").eval()
    image = np.random.default_rng(0).random((28, 28), dtype=np.float32)
    result = attribute(model, image, "gradcam", target=4)
    def declared_order(x: torch.Tensor) -> torch.Tensor:  # the model's forward would pool before act2
        for module in model:
            x = module(x)
        return x

    cam = LayerGradCam(declared_order, model.act2).attribute(torch.from_numpy(image).reshape(1, 1, 28, 28), target=4,
                                                    relu_attributions=True)
    expected = LayerAttribution.interpolate(cam, (28, 28), interpolate_mode="bilinear")
    np.testing.assert_allclose(result.values, expected[0, 0].detach().numpy(), atol=1e-6)


def test_blacking_out_the_top_occlusion_patch_lowers_the_logit_more_than_other_patches(lenet, digits):
    image = digits[0]
    result = attribute(lenet, image, "occlusion")
    corners = [(r, c) for r in range(25) for c in range(25)]
    batch = torch.from_numpy(image).reshape(1, 1, 28, 28).repeat(len(corners), 1, 1, 1)
    for k, (r, c) in enumerate(corners):
        batch[k, 0, r: r + 4, c: c + 4] = 0
    with torch.no_grad():
        drops = (logits(lenet, image)[result.target] - lenet(batch)[:, result.target]).numpy()
    mass = np.array([result.values[r: r + 4, c: c + 4].sum() for r, c in corners])
    on_ink = np.array([image[r: r + 4, c: c + 4].max() > 0 for r, c in corners])
    top = int(mass.argmax())
    assert drops[top] > 0 and drops[top] >= np.quantile(drops[on_ink], 0.9)
    assert np.abs(drops[~on_ink]).max() < 1e-4  # blank background: nothing to take away
    assert (result.values[~near(image > 0, 3)] == 0).all()


def test_attribute_leaves_the_model_as_it_was():
    model = build_model("cnn3-bn")  # BatchNorm and dropout: both behave differently when training
    model.train()
    model.dropout.eval()  # a mixed state must come back as it was, too
    before = {k: v.clone() for k, v in model.state_dict().items()}
    image = np.random.default_rng(1).random((28, 28), dtype=np.float32)
    model.eval()
    expected = attribute(model, image, "saliency").values
    model.train()
    model.dropout.eval()
    for method in METHODS:
        result = attribute(model, image, method)
        if method == "saliency":
            np.testing.assert_array_equal(result.values, expected)  # computed in eval mode
    assert model.training and model.bn1.training and not model.dropout.training
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key  # running statistics included
    assert all(p.grad is None for p in model.parameters())


def test_attribute_works_where_the_caller_turned_gradients_off(lenet, digits):
    """The window predicts under inference_mode; an attribution asked for from there still gets its gradients."""
    expected = attribute(lenet, digits[0], "saliency").values
    with torch.inference_mode():
        np.testing.assert_array_equal(attribute(lenet, digits[0], "saliency").values, expected)
        assert attribute(lenet, digits[0], "gradcam").limit > 0
    with torch.no_grad():
        np.testing.assert_array_equal(attribute(lenet, digits[0], "saliency").values, expected)


@pytest.mark.parametrize("name", list(MODELS))
def test_every_registry_model_explains_with_every_method_it_has(name):
    torch.manual_seed(0)
    model = build_model(name).eval()
    image = np.random.default_rng(2).random((28, 28), dtype=np.float32)
    layers = gradcam_layers(model)
    for method in METHODS:
        if method == "gradcam" and not layers:
            with pytest.raises(CnndeskError, match=f"^{name} has no convolution layer for Grad-CAM"):
                attribute(model, image, method)
            continue
        result = attribute(model, image, method, versus=(int(logits(model, image).argmax()) + 1) % 10)
        assert result.values.shape == (28, 28) and result.values.dtype == np.float32
        assert np.isfinite(result.values).all()
        assert result.layer == (default_gradcam_layer(model) if method == "gradcam" else None)
    if name == "resnet-mini":
        assert "block3.conv2" in layers and default_gradcam_layer(model) == "block3.conv2"
        assert attribute(model, image, "gradcam", layer="block2.conv1").values.shape == (28, 28)
    if name == "lenet5-classic":
        assert default_gradcam_layer(model) == "conv2"  # conv3's output is 1×1: a map of one colour


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"method": "lime"}, "Unknown attribution method 'lime'. Known: saliency, integrated-gradients, gradcam, "
                         "occlusion."),
    ({"method": "saliency", "target": 12}, "The target is a class from 0 to 9, not 12."),
    ({"method": "saliency", "target": 3, "versus": 3}, "Compare the target 3 with another class"),
    ({"method": "saliency", "layer": "conv1"}, "A layer goes with Grad-CAM only"),
    ({"method": "gradcam", "layer": "fc1"}, "lenet5 has no convolution layer 'fc1' for Grad-CAM. Known: conv1, conv2."),
])
def test_bad_choices_are_errors_that_name_the_choices(lenet, digits, kwargs, message):
    with pytest.raises(CnndeskError) as error:
        attribute(lenet, digits[0], **kwargs)
    assert str(error.value).startswith(message)


def test_the_picture_shows_positive_red_negative_blue_and_the_input_where_zero(tmp_path):
    values = np.zeros((28, 28), np.float32)
    values[5, 6], values[20, 21] = 2.0, -2.0
    image = np.zeros((28, 28), np.float32)
    image[10, 10] = 1.0
    picture = np.asarray(Image.open(attribution_png(Attribution("saliency", 3, None, 3, None, values), image,
                                                    tmp_path / "a.png")).convert("RGB"))

    def pixel(row: int, column: int) -> tuple[int, ...]:
        top = GAP + 2 * TITLE_HEIGHT
        return tuple(int(v) for v in picture[top + row * ATTRIBUTION_SCALE + 5, GAP + column * ATTRIBUTION_SCALE + 5])

    assert pixel(5, 6) == tuple(POSITIVE.astype(int))
    assert pixel(20, 21) == tuple(NEGATIVE.astype(int))
    assert pixel(0, 0) == (255, 255, 255)  # paper
    assert pixel(10, 10) == (95, 95, 95)  # ink, grey


def test_importing_the_engine_does_not_import_captum():
    code = ("import sys, cnndesk.engine, cnndesk.engine.attribution, cnndesk.engine.pictures; "
            "cnndesk.engine.attribute; print('captum' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_explain_json_gives_the_map_and_integrated_gradients_completeness(capsys):
    code, out, _ = run(capsys, "explain", "--test-index", "0", "--method", "integrated-gradients", "--json")
    assert code == 0
    report = json.loads(out.strip().splitlines()[-1])
    assert (report["method"], report["target"], report["predicted"], report["versus"]) == (
        "integrated-gradients", 7, 7, None)
    assert report["completeness_error"] <= 0.01
    assert len(report["attribution"]) == 28 and all(len(row) == 28 for row in report["attribution"])
    assert report["out"] is None


def test_explain_gradcam_writes_a_picture(capsys, tmp_path):
    out = tmp_path / "x.png"
    code, stdout, err = run(capsys, "explain", "--test-index", "1", "--method", "gradcam", "--versus", "3",
                            "--out", str(out))
    assert code == 0 and str(out) in err
    assert "gradcam at conv2" in stdout and "predicted: 2 (" in stdout and "target: 2 versus 3" in stdout
    with Image.open(out) as picture:
        assert picture.format == "PNG" and picture.width > 28 * ATTRIBUTION_SCALE
        assert (np.asarray(picture.convert("RGB")) == POSITIVE.astype(np.uint8)).all(axis=-1).any()  # the bar


def test_explain_with_an_unknown_method_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["explain", "--test-index", "0", "--method", "lime"])
    assert exit_.value.code == 2 and "invalid choice: 'lime'" in capsys.readouterr().err


def test_explain_with_a_class_that_does_not_exist_is_one_clear_error(capsys, tmp_path):
    code, out, err = run(capsys, "explain", "--test-index", "0", "--method", "saliency", "--target", "12",
                         "--out", str(tmp_path / "never.png"))
    assert code == 2 and out == ""
    assert err == "cnndesk: error: The target is a class from 0 to 9, not 12.\n"
    assert not (tmp_path / "never.png").exists()


def test_the_cli_spells_out_the_engines_methods():
    from cnndesk.cli import EXPLAIN_METHODS

    assert EXPLAIN_METHODS == METHODS
