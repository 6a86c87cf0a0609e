"""One cell explained: the NumPy reference agrees with PyTorch for every visible layer of every registry model, the
explanation's parts add up, and the receptive field is exactly the pixels a cell depends on."""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from cnndesk.cli import main
from cnndesk.engine import CnndeskError, build_model, explain_cell, inspect_input, model_names, receptive_field
from cnndesk.engine.models import Residual
from cnndesk.locations import pretrained_path

TOLERANCE = 1e-4
needs_pretrained = pytest.mark.skipif(not pretrained_path().exists(), reason="the bundled LeNet5 is not trained yet")


def seeded_model(name: str) -> nn.Module:
    """A registry model built with a fixed seed, in eval mode. Batch norms get statistics and affine parameters
    away from their initial 0 and 1 (a few random batches in train mode), so that a mix-up between them shows."""
    torch.manual_seed(0)
    model = build_model(name)
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d)]
    if norms:
        with torch.no_grad():
            for bn in norms:
                bn.weight.uniform_(0.5, 1.5)
                bn.bias.normal_(0.0, 0.3)
            model.train()
            for _ in range(3):
                model(torch.rand(8, 1, 28, 28))
    return model.eval()


@pytest.fixture(scope="module")
def models() -> dict[str, nn.Module]:
    return {name: seeded_model(name) for name in model_names()}


@pytest.fixture(scope="module")
def digit(mnist) -> np.ndarray:
    """MNIST test image 0 (a 7) as the model input: 28×28 float32 in [0, 1]."""
    return mnist.test.images[0, 0].float().div(255.0).numpy()


@pytest.fixture(scope="module")
def lenet(models) -> nn.Module:
    return models["lenet5"]


def cells_of(shape: tuple[int, ...], rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Two opposite corners, the centre and a random cell of a layer's output."""
    last = tuple(n - 1 for n in shape)
    centre = tuple(n // 2 for n in shape)
    corners = [(0, 0, 0), last, (0, 0, shape[2] - 1)] if len(shape) == 3 else [(0,), last]
    return [*corners, centre, tuple(int(rng.integers(n)) for n in shape)]


def inputs_of(model: nn.Module, digit: np.ndarray) -> tuple[list, list[np.ndarray]]:
    """inspect_input's layers, and what fed each: the previous visible layer's output (the first: the normalised
    image)."""
    inspection = inspect_input(model, torch.from_numpy(digit).reshape(1, 1, 28, 28))
    first = model.normalize(torch.from_numpy(digit).reshape(1, 28, 28)).numpy()
    return inspection.layers, [first] + [layer.output for layer in inspection.layers[:-1]]


def own_output(module: nn.Module, fed: np.ndarray, vector: bool) -> np.ndarray:
    """PyTorch's output of the layer's own module (no folded BN or activation) on what fed it."""
    x = torch.from_numpy(np.ascontiguousarray(fed))[None]
    with torch.no_grad():
        out = module(x.reshape(1, -1) if isinstance(module, nn.Linear) else x)[0].numpy()
    return out.reshape(-1) if vector else out


@pytest.mark.parametrize("name", model_names())
def test_every_visible_layer_agrees_with_pytorch(models, digit, name):
    model = models[name]
    rng = np.random.default_rng(0)
    layers, fed_by = inputs_of(model, digit)
    modules = dict(model.named_children())
    for index, (layer, fed) in enumerate(zip(layers, fed_by, strict=True)):
        module = modules[layer.name]
        own = own_output(module, fed, vector=not layer.is_map)
        for cell in cells_of(layer.shape, rng):
            e = explain_cell(model, digit, layer.name, cell)
            where = f"{name} {layer.name} {cell}"
            assert (e.layer, e.label, e.kind, e.cell) == (layer.name, layer.label, layer.kind, cell), where
            assert e.input_layer == (layers[index - 1].name if index else None), where
            # PyTorch's value is the one the views show, and the NumPy reference lands on it.
            assert e.torch_value == float(layer.output[cell]), where
            assert abs(e.value - e.torch_value) <= TOLERANCE, where
            last_name, last_value = e.steps[-1]
            if last_name in ("sum", "bias"):  # nothing folded into a conv or fc layer
                assert e.value == e.pre_activation, where
            else:
                assert last_value == e.value, where
            if isinstance(module, Residual):
                check_residual(e, module, fed, cell)
            else:
                # Before any folded batch norm or activation: the layer's own output.
                assert e.pre_activation == pytest.approx(float(own[cell]), abs=TOLERANCE), where
                check_parts(e, module, fed, cell)
            if layer.is_map:
                assert e.receptive_field == receptive_field(model, layer.name, cell[1], cell[2]), where


def check_parts(e, module: nn.Module, fed: np.ndarray, cell: tuple[int, ...]) -> None:
    """What the explainer shows adds up, and its inputs are the previous layer's numbers at the right place."""
    names = [name for name, _ in e.steps]
    if e.kind == "conv":
        channel, y, x = cell if len(cell) == 3 else (cell[0], 0, 0)
        k, s, p = module.kernel_size[0], module.stride[0], module.padding[0]
        padded = np.pad(fed, ((0, 0), (p, p), (p, p)))
        np.testing.assert_array_equal(e.patch, padded[:, y * s: y * s + k, x * s: x * s + k])
        np.testing.assert_array_equal(e.kernel, module.weight[channel].detach().numpy())
        np.testing.assert_allclose(e.products, e.patch * e.kernel, rtol=1e-12)
        np.testing.assert_allclose(e.products.sum(axis=(1, 2)), e.channel_sums, rtol=1e-9, atol=1e-12)
        assert (e.stride, e.padding) == (s, p)
        steps = dict(e.steps)
        assert steps["sum"] == pytest.approx(e.channel_sums.sum(), abs=1e-9)
        assert steps["sum"] + (e.bias or 0.0) == pytest.approx(e.pre_activation, abs=1e-9)
        assert names[0] == "sum"
        assert ("bias" in names) == (e.bias is not None) == (module.bias is not None)
    elif e.kind == "pool":
        assert e.window is not None and e.patch is None and e.contributions == []
        channel = cell[0]
        if isinstance(module, nn.AdaptiveAvgPool2d):
            np.testing.assert_array_equal(e.window, fed[channel])  # global pooling: the whole map
        else:
            k, s = module.kernel_size, module.stride
            y, x = cell[1], cell[2]
            np.testing.assert_array_equal(e.window, fed[channel, y * s: y * s + k, x * s: x * s + k])
        if e.pool_op == "max":
            flat = e.window.reshape(-1)
            first = int(np.flatnonzero(flat == flat.max())[0])
            assert e.winner == divmod(first, e.window.shape[1])  # the first maximum, row-major
            assert e.window[e.winner] == e.pre_activation == flat.max()
        else:
            assert e.winner is None
            assert e.pre_activation == pytest.approx(e.window.mean(), abs=1e-12)
        assert names[0] == e.pool_op
    elif e.kind == "fc":
        flat = fed.reshape(-1)
        unit = cell[0]
        assert len(e.contributions) == min(16, flat.size)
        magnitudes = [abs(c.product) for c in e.contributions]
        assert magnitudes == sorted(magnitudes, reverse=True)
        assert magnitudes[0] == pytest.approx(np.abs(flat * module.weight[unit].detach().numpy()).max(), rel=1e-6)
        for c in e.contributions:
            assert c.input == flat[c.index] == fed[c.where]
            assert c.weight == module.weight[unit, c.index].item()
            assert c.product == pytest.approx(c.input * c.weight, rel=1e-12)
        assert dict(e.steps)["sum"] + (e.bias or 0.0) == pytest.approx(e.pre_activation, abs=1e-9)


def check_residual(e, block: Residual, fed: np.ndarray, cell: tuple[int, ...]) -> None:
    """A residual block, step by step against PyTorch running the block's own parts."""
    x = torch.from_numpy(fed)[None]
    with torch.no_grad():
        main = block.bn2(block.conv2(block.act1(block.bn1(block.conv1(x)))))[0][cell].item()
        shortcut = block.shortcut(x)[0][cell].item()
    steps = dict(e.steps)
    assert [name for name, _ in e.steps] == ["main", "shortcut", "add", "ReLU"]
    assert steps["main"] == pytest.approx(main, abs=TOLERANCE)
    assert steps["shortcut"] == pytest.approx(shortcut, abs=TOLERANCE)
    assert steps["add"] == e.pre_activation == pytest.approx(steps["main"] + steps["shortcut"], abs=1e-12)
    assert e.bias is None and e.patch is None


def test_a_conv_cell_is_the_patch_times_the_kernel_plus_the_bias(lenet, digit):
    e = explain_cell(lenet, digit, "conv2", (3, 5, 5))
    assert (e.label, e.kind, e.input_layer) == ("conv2 · ReLU", "conv", "pool1")
    assert e.patch.shape == e.kernel.shape == e.products.shape == (6, 5, 5)
    assert e.channel_sums.shape == (6,)
    assert [name for name, _ in e.steps] == ["sum", "bias", "ReLU"]
    assert e.value == max(e.pre_activation, 0.0)


def test_a_padded_conv_cell_sees_zeros_beyond_the_edge(lenet, digit):
    e = explain_cell(lenet, digit, "conv1", (0, 0, 0))
    assert e.padding == 2
    assert np.all(e.patch[:, :2, :] == 0) and np.all(e.patch[:, :, :2] == 0)
    # inside the image the patch holds the normalised pixels (the model's first layer): the background is < 0
    assert np.all(e.patch[:, 2:, 2:] < 0)


def test_receptive_fields_of_lenet5(lenet):
    assert receptive_field(lenet, "conv1", 0, 0) == (0, 0, 3, 3)
    x0, y0, x1, y1 = receptive_field(lenet, "conv2", 5, 5)
    assert (x1 - x0, y1 - y0) == (14, 14)
    assert (x0, y0) == (8, 8)
    assert receptive_field(lenet, "conv2", 0, 0) == (0, 0, 12, 12)  # clipped at the top-left corner
    assert receptive_field(lenet, "pool1", 13, 13) == (24, 24, 28, 28)
    assert receptive_field(lenet, "fc1", 0, 0) == (0, 0, 28, 28)


def linear_copy(model: nn.Module) -> nn.Module:
    """The same geometry with nothing that can zero a gradient: activations become identities and max-pools
    become average pools of the same window, so every pixel a cell reads gets a non-zero gradient."""
    clone = copy.deepcopy(model).eval()
    swaps = []
    for parent in clone.modules():
        for child_name, child in parent.named_children():
            if isinstance(child, nn.ReLU | nn.LeakyReLU | nn.Tanh | nn.Sigmoid):
                swaps.append((parent, child_name, nn.Identity()))
            elif isinstance(child, nn.MaxPool2d):
                swaps.append((parent, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding)))
    for parent, child_name, replacement in swaps:
        setattr(parent, child_name, replacement)
    return clone


def gradient_box(model: nn.Module, layer: str, cell: tuple[int, int, int]) -> tuple[int, int, int, int]:
    """The bounding box (x0, y0, x1, y1) of the input pixels with a non-zero gradient on the cell of the layer's
    own output, in the model's declared layer order."""
    x = torch.zeros(1, 1, 28, 28, requires_grad=True)
    h = x
    for name, module in model.named_children():
        h = module(h)
        if name == layer:
            break
    h[0][cell].backward()
    rows, cols = np.nonzero(x.grad[0, 0].numpy())
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


@pytest.mark.parametrize("name", model_names())
def test_receptive_field_is_where_the_gradient_is(models, digit, name):
    model = models[name]
    clone = linear_copy(model)
    layers = inspect_input(model, torch.from_numpy(digit).reshape(1, 1, 28, 28)).layers
    spatial = [layer for layer in layers if layer.is_map]
    for layer in spatial:
        _, height, width = layer.shape
        for y, x in {(0, 0), (height - 1, width - 1), (height // 2, width // 2), (1, width - 2)}:
            if 0 <= y < height and 0 <= x < width:
                expected = gradient_box(clone, layer.name, (0, y, x))
                assert receptive_field(model, layer.name, y, x) == expected, f"{name} {layer.name} ({y}, {x})"
    # Vector layers (fc, global pooling) see every pixel.
    for layer in layers:
        if not layer.is_map:
            assert explain_cell(model, digit, layer.name, (0,)).receptive_field == (0, 0, 28, 28)


def test_unknown_layer_names_the_known_ones(lenet, digit):
    with pytest.raises(CnndeskError, match=r"^lenet5 has no layer 'conv9'\. Known: conv1, pool1, conv2, pool2, "
                                           r"fc1, fc2, fc3\.$"):
        explain_cell(lenet, digit, "conv9", (0, 0, 0))
    with pytest.raises(CnndeskError, match="no layer 'act1'"):  # folded into conv1: not a layer of its own
        explain_cell(lenet, digit, "act1", (0, 0, 0))
    with pytest.raises(CnndeskError, match="no layer 'conv9'"):
        receptive_field(lenet, "conv9", 0, 0)


@pytest.mark.parametrize(("layer", "cell", "message"), [
    ("conv2", (16, 0, 0), "conv2's cells are 16×10×10"),
    ("conv2", (0, 10, 3), "conv2's cells are 16×10×10"),
    ("conv2", (0, -1, 3), "conv2's cells are 16×10×10"),
    ("conv2", (3,), r"\(channel, y, x\)"),
    ("fc1", (120,), "fc1's cells are 120"),
    ("fc1", (0, 0, 0), r"\(unit,\)"),
])
def test_a_cell_outside_the_layer_is_one_clear_error(lenet, digit, layer, cell, message):
    with pytest.raises(CnndeskError, match=message):
        explain_cell(lenet, digit, layer, cell)


def test_receptive_field_of_a_cell_outside_the_maps(lenet):
    with pytest.raises(CnndeskError, match="10×10"):
        receptive_field(lenet, "conv2", 10, 0)


def test_explaining_leaves_a_training_model_as_it_was(models, digit):
    """A model in train mode (batch norm, dropout) is explained in eval mode and handed back in train mode, its
    running statistics untouched."""
    model = copy.deepcopy(models["cnn3-bn"]).train()
    before = model.bn1.running_mean.clone()
    e = explain_cell(model, digit, "conv1", (5, 14, 14))
    assert model.training and model.bn1.training and model.dropout.training
    assert torch.equal(model.bn1.running_mean, before)
    shown = inspect_input(models["cnn3-bn"], torch.from_numpy(digit).reshape(1, 1, 28, 28)).layers[0]
    assert e.torch_value == float(shown.output[5, 14, 14])
    # A model training with one layer frozen in eval mode (fine-tuning) gets that layer back in eval mode too.
    model.bn1.eval()
    explain_cell(model, digit, "conv2", (3, 7, 7))
    assert model.training and not model.bn1.training and model.bn2.training


# ---------------------------------------------------------------- cnndesk inspect


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@needs_pretrained
def test_inspect_cell_json(capsys):
    code, out, _ = run(capsys, "inspect", "--test-index", "0", "--layer", "conv2", "--cell", "3,5,5", "--json")
    assert code == 0
    report = json.loads(out.strip().splitlines()[-1])
    assert (report["layer"], report["label"], report["kind"], report["cell"]) == ("conv2", "conv2 · ReLU", "conv",
                                                                                 [3, 5, 5])
    assert abs(report["value"] - report["torch_value"]) <= TOLERANCE
    x0, y0, x1, y1 = report["receptive_field"]
    assert (x1 - x0, y1 - y0) == (14, 14)
    assert np.array(report["patch"]).shape == np.array(report["kernel"]).shape == (6, 5, 5)
    assert [step["name"] for step in report["steps"]] == ["sum", "bias", "ReLU"]
    products = np.array(report["patch"]) * np.array(report["kernel"])
    assert products.sum() + report["bias"] == pytest.approx(report["pre_activation"], abs=1e-9)


@needs_pretrained
def test_inspect_pool_and_fc_cells_json(capsys):
    code, out, _ = run(capsys, "inspect", "--test-index", "1", "--layer", "pool1", "--cell", "2,7,7", "--json")
    pool = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and pool["patch"] is None and pool["kernel"] is None
    window = np.array(pool["window"])
    assert window.shape == (2, 2) and window[tuple(pool["winner"])] == window.max() == pool["value"]
    code, out, _ = run(capsys, "inspect", "--test-index", "1", "--layer", "fc1", "--cell", "7", "--json")
    fc = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and fc["cell"] == [7] and len(fc["contributions"]) == 16
    assert fc["contributions"][0]["where"][0] < 16  # (c, y, x) in pool2's 16×5×5 maps


@needs_pretrained
def test_inspect_cell_writes_out_the_computation(capsys):
    code, out, _ = run(capsys, "inspect", "--test-index", "0", "--layer", "conv2", "--cell", "3,5,5")
    assert code == 0
    for text in ("input channel 0:", "input channel 5:", "bias", "pre-activation", "ReLU", "PyTorch",
                 "14×14 pixels"):
        assert text in out


def test_inspect_unknown_layer_is_one_line_and_status_2(capsys):
    code, out, err = run(capsys, "inspect", "--test-index", "0", "--layer", "conv9", "--cell", "0,0,0")
    assert code == 2 and out == ""
    assert err.startswith("cnndesk: error: lenet5 has no layer 'conv9'. Known: conv1")
    assert err.count("\n") == 1


@pytest.mark.parametrize("arguments", [("--cell", "3,x"), ("--cell", "3,5"), ()])
def test_inspect_bad_cell_or_nothing_to_do_is_an_error(capsys, arguments):
    code, _, err = run(capsys, "inspect", "--test-index", "0", "--layer", "conv2", *arguments)
    assert code == 2 and err.startswith("cnndesk: error: ") and err.count("\n") == 1


def test_inspect_out_writes_the_layer_maps_as_a_png(capsys, tmp_path):
    out = tmp_path / "conv2.png"
    code, stdout, _ = run(capsys, "inspect", "--test-index", "0", "--layer", "conv2", "--out", str(out), "--json")
    assert code == 0
    assert json.loads(stdout.strip().splitlines()[-1]) == {"layer": "conv2", "label": "conv2 · ReLU",
                                                           "shape": [16, 10, 10], "out": str(out)}
    with Image.open(out) as picture:
        assert picture.format == "PNG"
        maps_size = picture.size
    vector = tmp_path / "fc1.png"
    assert run(capsys, "inspect", "--test-index", "0", "--layer", "fc1", "--out", str(vector))[0] == 0
    with Image.open(vector) as picture:
        width, height = picture.size
    assert width > 4 * height  # a vector layer is one row
    assert maps_size[1] > height  # two rows of eight maps are taller than it


def test_inspect_out_with_a_cell_outlines_that_cell(capsys, tmp_path):
    from cnndesk.engine.pictures import MARK_RGB

    def marked(path) -> np.ndarray:
        with Image.open(path) as picture:
            pixels = np.asarray(picture.convert("RGB"))
        return np.argwhere((pixels == MARK_RGB).all(axis=2))

    plain, cell = tmp_path / "plain.png", tmp_path / "cell.png"
    assert run(capsys, "inspect", "--test-index", "0", "--layer", "conv2", "--out", str(plain))[0] == 0
    assert len(marked(plain)) == 0
    assert run(capsys, "inspect", "--test-index", "0", "--layer", "conv2", "--cell", "3,5,5", "--out",
               str(cell))[0] == 0
    other = tmp_path / "other.png"
    assert run(capsys, "inspect", "--test-index", "0", "--layer", "conv2", "--cell", "12,0,9", "--out",
               str(other))[0] == 0
    first, second = marked(cell), marked(other)
    assert len(first) > 0 and len(second) > 0
    # channel 3 is in the first row of eight maps, channel 12 in the second: the outline moves down and across
    assert second[:, 0].mean() > first[:, 0].mean() + 20
