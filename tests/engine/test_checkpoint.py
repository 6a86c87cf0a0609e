"""Checkpoints: one .safetensors file that rebuilds the exact model, written atomically, never unpickled."""

from __future__ import annotations

import importlib
import json
import os
import pickle
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

from cnndesk.engine import (
    CnndeskError,
    build_model,
    load_model,
    model_config,
    model_names,
    read_metadata,
    save_checkpoint,
)
from cnndesk.locations import pretrained_path

checkpoint_module = importlib.import_module("cnndesk.engine.checkpoint")


def outputs(model, x: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return model.eval()(x)


@pytest.fixture(scope="module")
def batch(mnist) -> torch.Tensor:
    return mnist.test.float_images()[:16]


def settled(name: str, mnist) -> torch.nn.Module:
    """A model with non-default weights and, where it has batch norm, non-default running statistics."""
    torch.manual_seed(model_names().index(name))
    model = build_model(name).train()
    with torch.no_grad():
        model(mnist.train.float_images()[:256])
    return model


def raw_tensors(model) -> dict[str, torch.Tensor]:
    return {k: v.detach().contiguous() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", model_names())
def test_save_then_load_gives_the_same_model(name, mnist, batch, tmp_path):
    model = settled(name, mnist)
    path = save_checkpoint(model, tmp_path / f"{name}.safetensors")
    loaded, meta = load_model(path)
    assert loaded.config == model.config
    assert not loaded.training
    assert torch.equal(outputs(loaded, batch), outputs(model, batch))
    assert meta["model"] == model.config


def test_trained_model_round_trips_with_its_metadata(trained_lenet, batch, tmp_path):
    training = trained_lenet.config.to_dict()
    metrics = trained_lenet.metrics()
    path = save_checkpoint(trained_lenet.model, tmp_path / "run.safetensors", training=training, metrics=metrics)
    loaded, meta = load_model(path)
    torch.testing.assert_close(outputs(loaded, batch), outputs(trained_lenet.model, batch), rtol=1e-5, atol=1e-5)
    assert outputs(loaded, batch).argmax(1).tolist() == outputs(trained_lenet.model, batch).argmax(1).tolist()
    assert meta["model"] == model_config("lenet5")  # every option, defaults included: it rebuilds exactly
    assert meta["training"] == training
    assert meta["metrics"] == metrics
    assert meta["metrics"]["test_accuracy"] == trained_lenet.test_accuracy
    assert meta["format"] == "cnndesk.checkpoint" and meta["version"] == 1
    assert read_metadata(path) == meta


def test_model_options_survive_the_round_trip(batch, tmp_path):
    model = build_model("cnn2", activation="tanh")
    loaded, _ = load_model(save_checkpoint(model, tmp_path / "tanh.safetensors"))
    assert loaded.config["options"]["activation"] == "tanh"
    assert torch.equal(outputs(loaded, batch), outputs(model, batch))


def test_suffix_is_added_and_folders_are_created(tmp_path):
    path = save_checkpoint(build_model("mlp"), tmp_path / "a" / "b" / "my-model")
    assert path == tmp_path / "a" / "b" / "my-model.safetensors"
    assert path.is_file()
    assert load_model(str(path))[0].name == "mlp"


def test_saving_over_a_checkpoint_replaces_it(batch, tmp_path):
    path = tmp_path / "same.safetensors"
    save_checkpoint(build_model("lenet5"), path)
    second = build_model("cnn1")
    save_checkpoint(second, path)
    loaded, _ = load_model(path)
    assert loaded.name == "cnn1"
    assert torch.equal(outputs(loaded, batch), outputs(second, batch))


def test_loaded_model_can_go_to_a_device(tmp_path):
    model, _ = load_model(save_checkpoint(build_model("mlp"), tmp_path / "m"), device="cpu")
    assert next(model.parameters()).device.type == "cpu"


def test_checkpoint_is_an_ordinary_file_for_the_umask(tmp_path):
    umask = os.umask(0)
    os.umask(umask)
    path = save_checkpoint(build_model("mlp"), tmp_path / "perm.safetensors")
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


# ---------------------------------------------------------------- files that are not (good) checkpoints


def write_with_header(path: Path, tensors: dict[str, torch.Tensor], header) -> Path:
    save_file(tensors, str(path), metadata={"cnndesk": header if isinstance(header, str) else json.dumps(header)})
    return path


@pytest.fixture
def lenet_tensors() -> dict[str, torch.Tensor]:
    return raw_tensors(build_model("lenet5"))


def good_header(**changes) -> dict:
    header = {
        "format": "cnndesk.checkpoint",
        "version": 1,
        "model": {"name": "lenet5", "options": {"activation": "relu"}},
        "training": {},
        "metrics": {},
    }
    header.update(changes)
    return header


def test_the_hand_written_header_is_a_valid_checkpoint(lenet_tensors, tmp_path):
    """The baseline for the broken variants below: this header and these weights load."""
    model, meta = load_model(write_with_header(tmp_path / "ok.safetensors", lenet_tensors, good_header()))
    assert model.name == "lenet5" and meta["model"]["name"] == "lenet5"


def test_missing_checkpoint(tmp_path):
    path = tmp_path / "nope.safetensors"
    with pytest.raises(CnndeskError, match="No such checkpoint") as info:
        load_model(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "content",
    [os.urandom(4096), b"", b"hello, I am a text file\n", (10**12).to_bytes(8, "little") + b"{}"],
    ids=["random-bytes", "empty", "text", "huge-header-length"],
)
def test_file_that_is_not_safetensors(content, tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(CnndeskError, match="is not a cnndesk checkpoint, or it is damaged") as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_folder_is_not_a_checkpoint(tmp_path):
    folder = tmp_path / "folder.safetensors"
    folder.mkdir()
    with pytest.raises(CnndeskError, match=f"{folder} is a folder, not a checkpoint"):
        load_model(folder)


@pytest.mark.parametrize("metadata", [None, {"format": "pt"}], ids=["no-metadata", "foreign-metadata"])
def test_safetensors_file_without_cnndesk_header(metadata, lenet_tensors, tmp_path):
    path = tmp_path / "foreign.safetensors"
    save_file(lenet_tensors, str(path), metadata=metadata)
    with pytest.raises(CnndeskError, match="not a cnndesk checkpoint"):
        load_model(path)


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (good_header(model={"name": "resnet50", "options": {}}), "cannot build: Unknown model 'resnet50'"),
        (good_header(model={"name": "lenet5", "options": {"activation": "swish"}}), "Unknown activation"),
        (good_header(model={"name": "lenet5", "options": {"depth": 3}}), "no option depth"),
        (good_header(model={"name": "mlp", "options": {}}), "does not fit the 'mlp' architecture"),
        (good_header(model={"name": "lenet5-classic", "options": {}}), "does not fit the 'lenet5-classic'"),
        (good_header(version=2), "newer cnndesk"),
        (good_header(format="someone.else"), "not a cnndesk checkpoint"),
        (good_header(model="lenet5"), "damaged cnndesk header"),
        ("{not json", "damaged"),
    ],
    ids=["unknown-model", "unknown-activation", "unknown-option", "other-architecture", "similar-architecture",
         "newer-format", "other-format", "model-not-a-dict", "bad-json"],
)
def test_checkpoint_the_engine_cannot_use(header, message, lenet_tensors, tmp_path):
    path = write_with_header(tmp_path / "odd.safetensors", lenet_tensors, header)
    with pytest.raises(CnndeskError, match=message) as info:
        load_model(path)
    assert str(path) in str(info.value)


def test_weights_of_the_wrong_shape_do_not_fit(tmp_path):
    """Same layer names, other sizes: net2's weights (conv1, conv2, fc1) under a header that claims cnn2."""
    tensors = raw_tensors(build_model("net2"))
    assert set(tensors) == set(build_model("cnn2").state_dict())
    path = write_with_header(tmp_path / "shapes.safetensors", tensors, good_header(model={"name": "cnn2"}))
    with pytest.raises(CnndeskError, match="does not fit the 'cnn2' architecture"):
        load_model(path)


def test_weights_that_do_not_fit_name_the_layer(tmp_path):
    tensors = raw_tensors(build_model("net2"))
    path = write_with_header(tmp_path / "shapes.safetensors", tensors, good_header(model={"name": "cnn2"}))
    with pytest.raises(CnndeskError) as info:
        load_model(path)
    message = str(info.value)
    assert "conv1" in message
    assert not message.rstrip().endswith(":")




@pytest.mark.parametrize(
    "header",
    [
        pytest.param([1, 2, 3], marks=(), id="json-list"),
        pytest.param(good_header(model={"options": {}}), marks=(), id="model-without-name"),
        pytest.param(good_header(model={"name": "lenet5", "options": [1]}), marks=(),
                     id="options-list"),
        pytest.param(good_header(version="one"), marks=(), id="version-text"),
    ],
)
def test_damaged_header_is_a_clear_error(header, lenet_tensors, tmp_path):
    path = write_with_header(tmp_path / "damaged.safetensors", lenet_tensors, header)
    with pytest.raises(CnndeskError):
        load_model(path)


@pytest.mark.parametrize(("section", "name", "value"), [
    ("training", "dataset", 123), ("training", "model", ["lenet5"]), ("training", "epochs", "8"),
    ("training", "epochs", True), ("training", "lr", "fast"), ("training", "augment", 1),
    ("training", "model_options", []), ("metrics", "test_accuracy", "99%"), ("metrics", "history", {}),
])
def test_a_header_field_of_the_wrong_type_is_one_clear_error(section, name, value, lenet_tensors, tmp_path,
                                                             capsys):
    """(``training.dataset: 123`` made ``cnndesk eval`` crash with "'int' object has no attribute …".)"""
    path = write_with_header(tmp_path / "odd.safetensors", lenet_tensors, good_header(**{section: {name: value}}))
    with pytest.raises(CnndeskError, match=f"its {section} record has .{name}. = "):
        load_model(path)
    from cnndesk.cli import main

    assert main(["eval", "--checkpoint", str(path)]) == 2
    assert f"its {section} record has '{name}' = " in capsys.readouterr().err


def test_null_is_fine_where_a_field_may_be_missing(lenet_tensors, tmp_path):
    header = good_header(training={"train_samples": None, "target_accuracy": None, "dataset": "mnist"},
                         metrics={"test_accuracy": None})
    load_model(write_with_header(tmp_path / "nulls.safetensors", lenet_tensors, header))


# ---------------------------------------------------------------- atomic writes, no pickle


@pytest.mark.parametrize(
    ("failure", "expected"),
    [(OSError(28, "No space left on device"), CnndeskError), (KeyboardInterrupt(), KeyboardInterrupt)],
    ids=["disk-full", "interrupted"],
)
def test_failed_save_leaves_the_previous_checkpoint_intact(failure, expected, batch, tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    first = build_model("lenet5")
    save_checkpoint(first, path)
    before = path.read_bytes()

    def half_write(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"\x00" * 1000)  # some bytes reach the disk, then the write dies
        raise failure

    monkeypatch.setattr(checkpoint_module, "save_file", half_write)
    with pytest.raises(expected) as info:
        save_checkpoint(build_model("cnn1"), path)
    if expected is CnndeskError:
        assert str(path) in str(info.value) and "No space left" in str(info.value)
    monkeypatch.undo()

    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.safetensors"]  # no temp files left
    loaded, _ = load_model(path)
    assert torch.equal(outputs(loaded, batch), outputs(first, batch))


def test_failed_first_save_leaves_nothing(tmp_path, monkeypatch):
    def broken(tensors, filename, metadata=None):
        Path(filename).write_bytes(b"partial")
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(checkpoint_module, "save_file", broken)
    with pytest.raises(CnndeskError, match="Could not write"):
        save_checkpoint(build_model("mlp"), tmp_path / "new.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_unwritable_location_is_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CnndeskError, match="Could not write"):
        save_checkpoint(build_model("mlp"), blocker / "model.safetensors")


def test_loading_never_unpickles(tmp_path, monkeypatch, batch):
    model = build_model("cnn2-bn")
    path = save_checkpoint(model, tmp_path / "safe.safetensors", metrics={"note": "no pickle here"})

    def forbidden(*args, **kwargs):
        raise AssertionError("a checkpoint was unpickled")

    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(pickle, "Unpickler", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    loaded, meta = load_model(path)
    assert meta["metrics"] == {"note": "no pickle here"}
    assert torch.equal(outputs(loaded, batch), outputs(model, batch))


def test_a_pickled_torch_file_is_refused(tmp_path):
    """A classic torch.save file renamed to .safetensors is rejected, not executed."""
    path = tmp_path / "legacy.safetensors"
    torch.save(build_model("mlp").state_dict(), path)
    with pytest.raises(CnndeskError, match="is not a cnndesk checkpoint, or it is damaged"):
        load_model(path)


@pytest.mark.skipif(not pretrained_path().exists(), reason="the bundled LeNet5 has not been trained yet")
def test_bundled_model_loads_by_default():
    model, meta = load_model()
    assert model.name == "lenet5"
    assert meta["model"]["name"] == "lenet5"
    assert not model.training


def test_a_checkpoint_whose_weights_are_not_numbers_is_refused(trained_lenet, tmp_path):
    """A NaN model would predict "0 · nan%" and evaluate at chance: one clear error instead."""
    from safetensors import safe_open

    path = save_checkpoint(trained_lenet.model, tmp_path / "nan.safetensors")
    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = handle.metadata()
    tensors["fc3.weight"][0, 0] = float("inf")
    save_file(tensors, str(path), metadata=metadata)
    with pytest.raises(CnndeskError, match=r"not numbers .* 'fc3.weight'"):
        load_model(path)
