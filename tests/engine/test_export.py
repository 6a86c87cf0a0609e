"""Export (engine.export, `cnndesk export`): ONNX run by onnxruntime and TorchScript by torch.jit compute what the
model computes in cnndesk, with standard operators and a free batch size."""

from __future__ import annotations

import json

import numpy as np
import onnx
import onnxruntime
import pytest
import torch

from cnndesk.cli import main
from cnndesk.engine import CnndeskError, build_model, check_export, export_model, load_model


@pytest.fixture(scope="module")
def lenet():
    return load_model(None)[0]


@pytest.fixture(scope="module")
def onnx_file(lenet, tmp_path_factory):
    return export_model(lenet, tmp_path_factory.mktemp("onnx") / "lenet5.onnx", "onnx")


def test_onnx_gives_the_same_logits_as_the_model_in_the_app(lenet, onnx_file, mnist):
    images = mnist.test.float_images()[:2000]
    check = check_export(lenet, onnx_file, "onnx", images)
    assert check.passed and check.images == 2000 and check.same_predictions == 2000
    assert check.max_logit_difference <= 1e-4 and check.runtime.startswith("onnxruntime")
    # The same, from onnxruntime directly, at batch sizes the example never had (the batch axis is free).
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["image"] and [o.name for o in session.get_outputs()] == [
        "logits"]
    for size in (1, 37):
        batch = images[:size]
        got = session.run(None, {"image": batch.numpy()})[0]
        with torch.no_grad():
            np.testing.assert_allclose(got, lenet(batch).numpy(), atol=1e-4)


def test_onnx_holds_standard_operators_only_with_a_max_pool_and_the_normalisation_inside(onnx_file):
    graph = onnx.load(str(onnx_file)).graph
    ops = {node.op_type for node in graph.node}
    assert {node.domain for node in graph.node} <= {"", "ai.onnx"}  # no custom operator domain
    assert "MaxPool" in ops and "Conv" in ops and ({"Sub", "Div"} <= ops)  # normalisation: (x - mean) / std
    batch = graph.input[0].type.tensor_type.shape.dim[0]
    assert batch.dim_param and not batch.dim_value  # a named, free batch axis
    # Valid for every ONNX tool (Netron, other runtimes), not only onnxruntime: the specification's own checker,
    # with shape inference; and the file says which pixels it takes.
    full = onnx.load(str(onnx_file))
    onnx.checker.check_model(full, full_check=True)
    assert {entry.key: entry.value for entry in full.metadata_props}.get("cnndesk.input") == "unit"


@pytest.mark.filterwarnings("ignore:`torch.jit.load` is deprecated:FutureWarning")
def test_torchscript_loads_with_torch_jit_and_gives_the_same_outputs(lenet, tmp_path, mnist):
    path = export_model(lenet, tmp_path / "lenet5.pt", "torchscript")
    loaded = torch.jit.load(str(path))
    images = mnist.test.float_images()[:500]
    with torch.no_grad():
        torch.testing.assert_close(loaded(images), lenet(images), atol=1e-5, rtol=0)
    assert check_export(lenet, path, "torchscript", images).passed


@pytest.mark.parametrize("name", ["cnn3-bn", "resnet-mini", "mlp"])
def test_batchnorm_residual_and_plain_models_export_too(name, tmp_path):
    model = build_model(name).eval()
    images = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    for fmt in ("onnx", "torchscript"):
        assert check_export(model, export_model(model, tmp_path / f"{name}.{fmt}", fmt), fmt, images).passed


def test_the_check_catches_a_file_that_computes_something_else(tmp_path):
    images = torch.rand(200, 1, 28, 28, generator=torch.Generator().manual_seed(1))
    torch.manual_seed(0)
    first, second = build_model("cnn1").eval(), build_model("cnn1").eval()  # two different initialisations
    check = check_export(second, export_model(first, tmp_path / "first.onnx", "onnx"), "onnx", images)
    assert not check.passed and check.max_logit_difference > 1e-3


def test_bad_places_and_formats_are_one_clear_error(lenet, tmp_path):
    with pytest.raises(CnndeskError, match="is a folder"):
        export_model(lenet, tmp_path, "onnx")
    with pytest.raises(CnndeskError, match="Unknown export format 'tflite'"):
        export_model(lenet, tmp_path / "x.tflite", "tflite")
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CnndeskError, match="Could not write"):
        export_model(lenet, blocker / "x.pt", "torchscript")


def test_cli_exports_and_checks_on_the_whole_test_set(tmp_path, capsys):
    out = tmp_path / "lenet5.pt"
    assert main(["export", "--format", "torchscript", "--out", str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["path"] == str(out) and out.stat().st_size == report["bytes"] > 0
    assert report["model"] == "lenet5" and report["format"] == "torchscript"
    assert report["images"] == report["same_predictions"] == 10_000 and report["passed"] is True
    assert report["max_logit_difference"] <= report["max_logit_difference_allowed"] == 1e-4
    assert main(["export", "--format", "onnx", "--out", str(tmp_path)]) == 2
    assert "is a folder" in capsys.readouterr().err
