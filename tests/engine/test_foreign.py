"""Bring your own model: a tutorial's torch.save state_dict or an ONNX file opens as a registry architecture,
the variant that reads MNIST best is chosen and said, and a file that would run code is refused unrun."""

from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnndesk.engine import CnndeskError, attribute, build_model, inspect_input, load_model
from cnndesk.engine import foreign as foreign_module

MEAN, STD = 0.1307, 0.3081


class ChineseTutorialLeNet5(nn.Module):
    """The LeNet5 of the Chinese MNIST tutorials: blocks in nn.Sequential, ReLU and max-pooling, padding 2."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 6, 5, 1, 2), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.conv2 = nn.Sequential(nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2, 2))
        self.fc1 = nn.Sequential(nn.Linear(16 * 5 * 5, 120), nn.ReLU())
        self.fc2 = nn.Sequential(nn.Linear(120, 84), nn.ReLU())
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv2(self.conv1(x))
        return self.fc3(self.fc2(self.fc1(x.view(x.size(0), -1))))


def d2l_lenet() -> nn.Sequential:
    """d2l.ai's LeNet: sigmoid and average pooling, tensors named 0.weight, 3.weight, ... 11.bias."""
    return nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(), nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(), nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(), nn.Linear(120, 84), nn.Sigmoid(), nn.Linear(84, 10))


class BlitzNet(nn.Module):
    """The PyTorch 60-minute blitz's Net at 28×28 (no padding, fc 16·4·4), functional ReLU and max-pool."""

    def __init__(self) -> None:
        super().__init__()
        self.c1, self.c2 = nn.Conv2d(1, 6, 5), nn.Conv2d(6, 16, 5)
        self.f1, self.f2, self.f3 = nn.Linear(16 * 4 * 4, 120), nn.Linear(120, 84), nn.Linear(84, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        x = torch.flatten(x, 1)
        return F.log_softmax(self.f3(F.relu(self.f2(F.relu(self.f1(x))))), dim=1)


def train(module: nn.Module, mnist, normalized: bool, steps: int = 150, lr: float = 3e-3) -> nn.Module:
    """A few hundred Adam steps on MNIST, the way a tutorial feeds it (ToTensor, optionally Normalize)."""
    torch.manual_seed(0)
    images = torch.as_tensor(mnist.train.images[:steps * 32], dtype=torch.float32) / 255.0
    labels = torch.as_tensor(np.asarray(mnist.train.labels[:steps * 32]), dtype=torch.long)
    if normalized:
        images = (images - MEAN) / STD
    optimizer = torch.optim.Adam(module.parameters(), lr=lr)
    module.train()
    for start in range(0, len(images), 32):
        loss = F.cross_entropy(module(images[start:start + 32]), labels[start:start + 32])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return module.eval()


@pytest.fixture(scope="module")
def test_batch(mnist) -> torch.Tensor:
    return torch.as_tensor(mnist.test.images[2000:2064], dtype=torch.float32) / 255.0


@pytest.fixture(scope="module")
def chinese_lenet(mnist) -> nn.Module:
    return train(ChineseTutorialLeNet5(), mnist, normalized=False)


@pytest.fixture(scope="module")
def d2l(mnist) -> nn.Module:
    # Sigmoid LeNet learns slowly: 250 steps take it to ~38% (seeded), enough to tell it from the ReLU variants.
    return train(d2l_lenet(), mnist, normalized=False, steps=250, lr=1e-2)


@pytest.fixture(scope="module")
def blitz(mnist) -> nn.Module:
    return train(BlitzNet(), mnist, normalized=True)


def same_logits(model: nn.Module, tutorial: nn.Module, images: torch.Tensor, normalized: bool) -> bool:
    with torch.no_grad():
        ours = model(images)
        theirs = tutorial((images - MEAN) / STD if normalized else images)
    # (a log_softmax output differs from the logits by a constant per row)
    return torch.allclose(ours - ours.logsumexp(1, keepdim=True), theirs - theirs.logsumexp(1, keepdim=True),
                          atol=1e-4)


# ---------------------------------------------------------------- state_dicts


def test_a_chinese_tutorial_lenet5_opens_as_lenet5_with_relu_and_max_pooling(chinese_lenet, test_batch, tmp_path):
    path = tmp_path / "lenet5.pth"
    torch.save(chinese_lenet.state_dict(), path)
    model, meta = load_model(path)
    report = meta["foreign"]
    assert (report["architecture"], report["options"]["activation"], report["options"]["pooling"]) == \
        ("lenet5", "relu", "max")
    assert report["input"] == "unit" and report["accuracy"] > 0.8 and report["images"] == 1000
    assert len(report["variants"]) == 8  # four activations × two poolings, each measured
    assert same_logits(model, chinese_lenet, test_batch, normalized=False)
    assert not model.training


def test_d2l_lenet_is_told_apart_by_accuracy_sigmoid_and_average_pooling(d2l, test_batch, tmp_path):
    """Same shapes as the ReLU one: only reading the test images tells the variant."""
    path = tmp_path / "d2l.pt"
    torch.save({"epoch": 10, "model_state_dict": d2l.state_dict(), "optimizer": "adam"}, path)
    model, meta = load_model(path)
    options = meta["foreign"]["options"]
    assert (options["activation"], options["pooling"]) == ("sigmoid", "avg")
    assert meta["foreign"]["variants"][0]["loss"] == min(v["loss"] for v in meta["foreign"]["variants"])
    assert same_logits(model, d2l, test_batch, normalized=False)


def test_the_28x28_lenet_without_padding_opens_on_the_scale_it_was_trained_on(blitz, test_batch, tmp_path):
    path = tmp_path / "net.pth"
    torch.save({"state_dict": blitz.state_dict()}, path)
    model, meta = load_model(path, input="mnist-normalized")
    assert meta["foreign"]["architecture"] == "lenet5-28" and meta["foreign"]["input_given"]
    assert meta["foreign"]["input_accuracy"] is None  # the user said: no hint needed
    assert same_logits(model, blitz, test_batch, normalized=True)
    assert meta["foreign"]["accuracy"] > 0.8
    # Not told, it reads [0, 1] pixels, and says which scale reads MNIST better: a hint, not a switch. (A ReLU net
    # trained on normalised pixels still reads [0, 1] ones fairly well: the hint is a measurement, not a proof.)
    unit_model, unit_meta = load_model(path)
    hint = unit_meta["foreign"]["input_accuracy"]
    assert set(hint) == {"unit", "mnist-normalized"}
    assert unit_meta["foreign"]["better_input"] == "mnist-normalized"  # its best variant's loss is lower there
    assert unit_meta["foreign"]["input"] == "unit" and hint["unit"] == unit_meta["foreign"]["accuracy"]
    assert not same_logits(unit_model, blitz, test_batch, normalized=True)


def test_an_imported_model_works_with_the_views(chinese_lenet, tmp_path, mnist):
    path = tmp_path / "lenet5.pth"
    torch.save(chinese_lenet.state_dict(), path)
    model, _ = load_model(path)
    image = np.asarray(mnist.test.images[0, 0], dtype=np.float32) / 255.0
    inspection = inspect_input(model, torch.from_numpy(image).reshape(1, 1, 28, 28))
    assert [layer.label for layer in inspection.layers][:2] == ["conv1 · ReLU", "pool1"]
    result = attribute(model, image, "gradcam")
    assert result.predicted == int(mnist.test.labels[0])
    assert result.values.shape == (28, 28) and np.isfinite(result.values).all() and result.values.any()


def test_nothing_fits_names_the_closest_architecture_and_the_first_difference(tmp_path):
    wide = ChineseTutorialLeNet5()
    wide.conv2[0] = nn.Conv2d(6, 32, 5)  # 32 maps where LeNet5 has 16
    path = tmp_path / "wide.pth"
    torch.save(wide.state_dict(), path)
    with pytest.raises(CnndeskError) as info:
        load_model(path)
    message = str(info.value)
    assert str(path) in message and "closest is lenet5" in message
    assert "'conv2.0.weight', has shape [32, 6, 5, 5] where lenet5's 'conv2.weight' has [16, 6, 5, 5]" in message


@pytest.mark.parametrize(("payload", "expected"), [
    ([torch.zeros(3)], "holds a list, not a state_dict"),
    ({"conv1.weight": torch.zeros(6, 1, 5, 5), "note": "hello"}, "'note' is a str, not a tensor"),
    ({"conv1.weight": torch.zeros(6, 1, 5, 5, dtype=torch.int32)}, "'conv1.weight' as int32 values"),
    ({**build_model("lenet5").state_dict(), "fc3.bias": torch.full((10,), math.nan)}, r"not numbers .* 'fc3.bias'"),
], ids=["a-list", "not-tensors", "integers", "nan"])
def test_files_that_are_no_usable_state_dict_are_one_clear_error(payload, expected, tmp_path):
    path = tmp_path / "odd.pth"
    torch.save(payload, path)
    with pytest.raises(CnndeskError, match=expected):
        load_model(path)


def test_a_file_too_big_for_an_mnist_model_is_refused_unread(tmp_path, monkeypatch):
    path = tmp_path / "big.pth"
    torch.save(build_model("lenet5").state_dict(), path)
    monkeypatch.setattr(foreign_module, "MAX_FILE_BYTES", 1000)
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a too big file was read"))
    with pytest.raises(CnndeskError, match="too big for an MNIST model"):
        load_model(path)


class TouchOnUnpickling:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_state_dict_that_would_run_code_is_refused_and_never_run(legacy, tmp_path):
    marker = tmp_path / "ran"
    path = tmp_path / "model.pth"
    torch.save({**build_model("lenet5").state_dict(), "fc1.weight": TouchOnUnpickling(marker)}, path,
               _use_new_zipfile_serialization=not legacy)
    with pytest.raises(CnndeskError) as info:
        load_model(path)
    assert str(path) in str(info.value) and "ran none of it" in str(info.value)
    assert not marker.exists()


def test_a_whole_pickled_model_is_refused_with_the_way_to_save_its_weights(chinese_lenet, tmp_path):
    path = tmp_path / "whole.pth"
    torch.save(chinese_lenet, path)
    with pytest.raises(CnndeskError, match=r"ChineseTutorialLeNet5.*torch.save\(model.state_dict\(\), path\)"):
        load_model(path)


def test_a_bare_pickle_is_not_handed_to_torch_load(tmp_path, monkeypatch):
    path = tmp_path / "weights.pkl"
    path.write_bytes(pickle.dumps(build_model("mlp").state_dict()))
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("a bare pickle was handed to torch.load"))
    with pytest.raises(CnndeskError, match="never unpickles"):
        load_model(path)


def test_the_input_scale_is_for_files_from_elsewhere_only(trained_lenet, tmp_path):
    from cnndesk.engine import save_checkpoint

    path = save_checkpoint(trained_lenet.model, tmp_path / "own.safetensors")
    with pytest.raises(CnndeskError, match="knows the pixel scale"):
        load_model(path, input="unit")
    with pytest.raises(CnndeskError, match="one of unit, mnist-normalized"):
        load_model(_saved_lenet(tmp_path), input="0-255")


def _saved_lenet(tmp_path: Path) -> Path:
    path = tmp_path / "lenet.pth"
    torch.save(build_model("lenet5").state_dict(), path)
    return path


# ---------------------------------------------------------------- ONNX


def test_cnndesk_own_onnx_export_opens_as_the_model_it_was(trained_lenet, test_batch, tmp_path):
    from cnndesk.engine import export_model

    path = export_model(trained_lenet.model, tmp_path / "lenet5.onnx", "onnx")
    model, meta = load_model(path)
    report = meta["foreign"]
    assert (report["format"], report["architecture"]) == ("onnx", "lenet5")
    # Its MNIST normalisation is inside the graph: fed [0, 1] pixels, the weights see normalised ones.
    assert report["input"] == "unit" and report["network_input"] == "mnist-normalized"
    assert report["variants"][0]["logit_difference"] < 1e-4
    with torch.no_grad():
        assert torch.allclose(model(test_batch), trained_lenet.model(test_batch), atol=1e-4)
    # The file says which pixels it takes (cnndesk writes it in the ONNX metadata): no hint to give, and asking for
    # the other scale is one sentence instead of a model fed the wrong pixels.
    assert report["input_given"] and report["better_input"] is None
    with pytest.raises(CnndeskError, match=r"says it takes pixels in \[0, 1\] \(it was exported by cnndesk\)"):
        load_model(path, input="mnist-normalized")
    assert foreign_module.inspect_foreign(path) == "unit"


def test_the_other_scale_is_hinted_only_when_it_reads_clearly_better():
    better = foreign_module._better_input
    assert better({"unit": 0.30, "mnist-normalized": 0.28}, "unit") == "unit"  # noise: no hint
    assert better({"unit": 0.30, "mnist-normalized": 0.10}, "unit") == "mnist-normalized"
    assert better({"unit": 0.10, "mnist-normalized": 0.30}, "mnist-normalized") == "unit"


def test_a_tutorial_module_exported_with_torch_onnx_opens_and_explains(blitz, test_batch, tmp_path, mnist):
    path = tmp_path / "blitz.onnx"
    torch.onnx.export(blitz, (torch.zeros(1, 1, 28, 28),), str(path), dynamo=False, input_names=["x"])
    model, meta = load_model(path, input="mnist-normalized")
    assert meta["foreign"]["architecture"] == "lenet5-28"
    assert same_logits(model, blitz, test_batch, normalized=True)
    image = np.asarray(mnist.test.images[1, 0], dtype=np.float32) / 255.0
    assert attribute(model, image, "saliency").predicted == int(mnist.test.labels[1])


def test_an_onnx_file_of_another_shape_is_refused(tmp_path):
    path = tmp_path / "rgb.onnx"
    rgb = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 30 * 30, 10)).eval()
    torch.onnx.export(rgb, (torch.zeros(1, 3, 32, 32),), str(path), dynamo=False)
    with pytest.raises(CnndeskError, match=r"not an MNIST model: .* N×1×28×28"):
        load_model(path)


# ---------------------------------------------------------------- command line


def test_the_command_line_says_what_a_pth_was_matched_to(chinese_lenet, tmp_path, capsys):
    from cnndesk.cli import main

    path = tmp_path / "lenet5.pth"
    torch.save(chinese_lenet.state_dict(), path)
    assert main(["inspect", "--test-index", "0", "--layer", "conv1", "--cell", "0,14,14", "--checkpoint", str(path),
                 "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["matched"]["architecture"] == "lenet5" and report["matched"]["options"]["activation"] == "relu"
    assert "lenet5.pth: matched lenet5 (relu, max), input unit" in captured.err


def test_the_command_line_refuses_input_for_its_own_checkpoints(capsys):
    from cnndesk.cli import main

    assert main(["inspect", "--test-index", "0", "--layer", "conv1", "--cell", "0,1,1", "--input", "unit"]) == 2
    assert "cnndesk: error:" in capsys.readouterr().err


def test_an_onnx_file_without_the_weights_file_beside_it_is_one_sentence(blitz, tmp_path):
    """torch.onnx.export may keep the weights in model.onnx.data: the .onnx copied alone is named as such, not a
    traceback from deep inside onnx."""
    folder, alone = tmp_path / "export", tmp_path / "alone"
    folder.mkdir()
    alone.mkdir()
    torch.onnx.export(blitz.eval(), (torch.zeros(1, 1, 28, 28),), str(folder / "net.onnx"), dynamo=True,
                      external_data=True)
    assert (folder / "net.onnx.data").is_file()
    (alone / "net.onnx").write_bytes((folder / "net.onnx").read_bytes())
    with pytest.raises(CnndeskError, match=r"keeps its weights in a second file, net\.onnx\.data, which is not "
                                           r"beside it"):
        load_model(alone / "net.onnx")
