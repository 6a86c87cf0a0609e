"""An ONNX model of MNIST shape that fits no registry architecture runs in onnxruntime: it predicts and evaluates as
the torch module it was exported from does, every layer shows with that module's values, and what needs PyTorch
weights (export, gradients, filters, the cell explainer, training on) is refused in one sentence."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnndesk.engine import (
    CnndeskError,
    OnnxRuntimeNetwork,
    describe_match,
    evaluate,
    inspect_input,
    load_model,
    predict_probabilities,
    require_weights,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (torch's legacy ONNX exporter says it is)

# The command line's match line for such a model ends with this.
CANNOT = "runs in onnxruntime: no PyTorch weights, so it cannot be trained, saved as a checkpoint, exported, or " \
         "explained with gradients"


class OddNet(nn.Module):
    """7 and 11 channels, 3×3 kernels: no registry architecture has these tensors."""

    def __init__(self, softmax: bool = False) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 7, 3), nn.Conv2d(7, 11, 3)
        self.fc1, self.fc2 = nn.Linear(11 * 5 * 5, 32), nn.Linear(32, 10)
        self.softmax = softmax

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc2(F.relu(self.fc1(torch.flatten(x, 1))))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.softmax(self.logits(x), dim=1) if self.softmax else self.logits(x)


def trained(mnist, softmax: bool = False, steps: int = 60) -> OddNet:
    """A few Adam steps on [0, 1] pixels: enough to read most digits, so that agreement is not agreement on noise."""
    torch.manual_seed(0)
    module = OddNet(softmax)
    images = torch.as_tensor(mnist.train.images[:steps * 32], dtype=torch.float32) / 255.0
    labels = torch.as_tensor(np.asarray(mnist.train.labels[:steps * 32]), dtype=torch.long)
    optimizer = torch.optim.Adam(module.parameters(), lr=3e-3)
    for start in range(0, len(images), 32):
        loss = F.cross_entropy(module.logits(images[start:start + 32]), labels[start:start + 32])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return module.eval()


def export(module: nn.Module, path: Path, batch: int | None = None, dynamo: bool = False) -> Path:
    """``batch``: a file that takes only batches of that size (None: any size)."""
    example = (torch.zeros(batch or 2, 1, 28, 28),)
    if dynamo:
        torch.onnx.export(module, example, str(path), dynamo=True, input_names=["x"],
                          dynamic_shapes=None if batch else ({0: torch.export.Dim("N")},))
    else:
        torch.onnx.export(module, example, str(path), dynamo=False, input_names=["x"],
                          dynamic_axes=None if batch else {"x": {0: "N"}})
    return path


@pytest.fixture(scope="module")
def odd(mnist) -> OddNet:
    return trained(mnist)


@pytest.fixture(scope="module")
def odd_onnx(odd, tmp_path_factory) -> Path:
    return export(odd, tmp_path_factory.mktemp("onnx") / "odd.onnx")


@pytest.fixture(scope="module")
def test_images(mnist) -> torch.Tensor:
    return torch.as_tensor(mnist.test.images[:500], dtype=torch.float32) / 255.0


@pytest.mark.parametrize("dynamo", [False, True], ids=["torchscript-exporter", "dynamo-exporter"])
def test_an_onnx_file_no_architecture_fits_runs_in_onnxruntime_as_the_torch_module_does(
        odd, test_images, mnist, tmp_path, dynamo):
    path = export(odd, tmp_path / "odd.onnx", dynamo=dynamo)
    model, meta = load_model(path)
    assert isinstance(model, OnnxRuntimeNetwork) and not model.has_weights
    report = meta["foreign"]
    assert report["runtime"] == "onnxruntime" and report["architecture"] is None
    assert report["unmatched"].startswith(f"{path} fits none of cnndesk's architectures")
    assert describe_match(report).startswith(f"odd.onnx: fits no registry architecture, so it {CANNOT}")
    with torch.inference_mode():
        expected = odd(test_images)
        assert (model(test_images) - expected).abs().max() <= 1e-4
    assert torch.equal(predict_probabilities(model, test_images).argmax(1), expected.argmax(1))
    # In batches, as `cnndesk eval` and the Test set tab run it (the CLI test below runs all 10,000).
    test = mnist.test.subset(2000)
    result = evaluate(model, test, per_sample=True)
    with torch.inference_mode():
        images = torch.as_tensor(test.images, dtype=torch.float32) / 255.0
        assert result.samples.predictions.tolist() == odd(images).argmax(1).tolist()
    assert result.accuracy > 0.7


def test_every_layer_shows_the_torch_modules_values_activations_folded(odd, odd_onnx, test_images):
    model, _ = load_model(odd_onnx)
    x = test_images[:1]
    inspection = inspect_input(model, x)
    with torch.inference_mode():
        conv1 = F.relu(odd.conv1(x))
        pool1 = F.max_pool2d(conv1, 2)
        conv2 = F.relu(odd.conv2(pool1))
        pool2 = F.max_pool2d(conv2, 2)
        fc1 = F.relu(odd.fc1(torch.flatten(pool2, 1)))
        fc2 = odd.fc2(fc1)
    expected = {"conv1": conv1, "pool1": pool1, "conv2": conv2, "pool2": pool2, "fc1": fc1, "fc2": fc2}
    assert [layer.name for layer in inspection.layers] == list(expected)
    assert [layer.label for layer in inspection.layers] == ["conv1 · Relu", "pool1", "conv2 · Relu", "pool2",
                                                           "fc1 · Relu", "fc2"]
    for layer in inspection.layers:
        assert np.abs(layer.output - expected[layer.name][0].numpy()).max() <= 1e-4, layer.name
    assert [layer.is_map for layer in inspection.layers] == [True, True, True, True, False, False]
    assert np.allclose(inspection.probabilities, torch.softmax(fc2[0], 0).numpy(), atol=1e-5)


def test_a_file_for_a_fixed_batch_size_that_ends_in_softmax_evaluates_every_image(mnist, tmp_path):
    module = trained(mnist, softmax=True, steps=20)
    model, _ = load_model(export(module, tmp_path / "fixed.onnx", batch=4))
    test = mnist.test.subset(37)  # 9 batches of 4 and one image more
    images = torch.as_tensor(test.images, dtype=torch.float32) / 255.0
    with torch.inference_mode():
        logits = model(images)
        # the softmax's input is taken as the logits: the same probabilities, and a loss that means something
        assert (torch.softmax(logits, 1) - module(images)).abs().max() <= 1e-5
    assert len(logits) == 37
    assert evaluate(model, test, per_sample=True).samples.predictions.tolist() == module(images).argmax(1).tolist()


def test_what_needs_pytorch_weights_is_one_sentence(odd_onnx):
    model, _ = load_model(odd_onnx)
    with pytest.raises(CnndeskError, match=r"^odd.onnx runs in onnxruntime: it has no PyTorch weights, so it cannot "
                                           r"be exported\.$"):
        require_weights(model, "exported")
    require_weights(load_model(None)[0], "exported")  # a cnndesk model has them: nothing is raised


def test_the_command_line_runs_it_and_refuses_what_needs_weights_in_one_sentence(odd_onnx, capsys, tmp_path):
    from cnndesk.cli import main

    assert main(["eval", "--checkpoint", str(odd_onnx), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out.strip().splitlines()[-1])
    assert report["matched"]["runtime"] == "onnxruntime" and report["test_images"] == 10_000
    assert report["test_accuracy"] > 0.7
    assert f"odd.onnx: fits no registry architecture, so it {CANNOT}" in captured.err
    out = tmp_path / "maps.png"
    assert main(["inspect", "--test-index", "0", "--layer", "conv2", "--out", str(out), "--checkpoint",
                 str(odd_onnx), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert shown["label"] == "conv2 · Relu" and shown["shape"] == [11, 11, 11] and out.stat().st_size > 0
    assert main(["explain", "--test-index", "0", "--method", "occlusion", "--checkpoint", str(odd_onnx),
                 "--json"]) == 0  # forward passes only
    assert len(json.loads(capsys.readouterr().out.strip().splitlines()[-1])["attribution"]) == 28
    refused = {
        "exported": ["export", "--format", "onnx", "--out", str(tmp_path / "x.onnx"), "--checkpoint", str(odd_onnx)],
        "explained with gradients": ["explain", "--test-index", "0", "--method", "saliency", "--checkpoint",
                                     str(odd_onnx)],
        "drawn as filters": ["filters", "--out", str(tmp_path / "f.png"), "--checkpoint", str(odd_onnx)],
        "explained cell by cell": ["inspect", "--test-index", "0", "--layer", "conv1", "--cell", "0,1,1",
                                   "--checkpoint", str(odd_onnx)],
        "trained further": ["train", "--init-from", str(odd_onnx), "--epochs", "1", "--train-samples", "64"],
    }
    for what, argv in refused.items():
        assert main(argv) == 2, argv
        errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("cnndesk: error:")]
        assert errors == [errors[0]] and errors[0].startswith(
            f"cnndesk: error: odd.onnx runs in onnxruntime: it has no PyTorch weights, so it cannot be {what}"), argv
    assert not (tmp_path / "x.onnx").exists() and not (tmp_path / "f.png").exists()
