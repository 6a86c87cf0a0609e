"""Checkpoints: one .safetensors file that rebuilds the exact model, written atomically, never unpickled."""

from __future__ import annotations

import importlib
import json
import os
import pickle
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
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
@pytest.mark.parametrize("suffix", [".safetensors", ".pth"])
def test_file_that_is_not_safetensors(content, suffix, tmp_path):
    path = tmp_path / f"bad{suffix}"
    path.write_bytes(content)
    expected = "is empty (0 bytes)" if not content else "is not a cnndesk checkpoint, or it is damaged"
    with pytest.raises(CnndeskError, match=re.escape(expected)) as info:
        load_model(path)
    assert str(path) in str(info.value)
    if content:  # it says what cnndesk does read
        assert ".pth" in str(info.value) and ".onnx" in str(info.value)


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

    def half_write(filename, data):
        Path(filename).write_bytes(data[:1000])  # some bytes reach the disk, then the write dies
        raise failure

    monkeypatch.setattr(checkpoint_module, "_write_synced", half_write)
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
    def broken(filename, data):
        Path(filename).write_bytes(b"partial")
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(checkpoint_module, "_write_synced", broken)
    with pytest.raises(CnndeskError, match="Could not write"):
        save_checkpoint(build_model("mlp"), tmp_path / "new.safetensors")
    assert list(tmp_path.iterdir()) == []


def test_a_temp_file_a_killed_save_left_is_removed_by_the_next_save_once_it_is_old(tmp_path):
    path = tmp_path / "model.safetensors"
    stale, fresh = tmp_path / ".model.safetensors.abc123.tmp", tmp_path / ".model.safetensors.def456.tmp"
    other = tmp_path / ".other.safetensors.abc123.tmp"  # another file's: not this save's to tidy
    for leftover in (stale, fresh, other):
        leftover.write_bytes(b"half a checkpoint")
    long_ago = time.time() - 2 * checkpoint_module.STALE_TEMP_SECONDS
    os.utime(stale, (long_ago, long_ago))
    os.utime(other, (long_ago, long_ago))
    save_checkpoint(build_model("mlp"), path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([path.name, fresh.name, other.name])


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


class TouchOnUnpickling:
    """Unpickling this creates ``marker``: the proof that a file was unpickled (any code could have run)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return Path.touch, (self.marker,)


PICKLE_WRITERS = {
    "torch-save": lambda payload, path: torch.save(payload, path),  # a zip archive holding data.pkl
    "torch-save-legacy": lambda payload, path: torch.save(payload, path, _use_new_zipfile_serialization=False),
    "pickle": lambda payload, path: path.write_bytes(pickle.dumps(payload)),
}
SUFFIXES = [".safetensors", ".pth", ".pt", ".ckpt", ".bin", ""]


def write_pickle_bomb(tmp_path: Path, writer: str, suffix: str) -> tuple[Path, Path]:
    """A real state_dict with one value that touches a marker file when unpickled; (file, marker)."""
    marker = tmp_path / f"unpickled-{writer}{suffix}"
    payload = {**build_model("mlp").state_dict(), "fc1.weight": TouchOnUnpickling(marker)}
    path = tmp_path / f"model-{writer}{suffix}"
    PICKLE_WRITERS[writer](payload, path)
    return path, marker


@pytest.mark.parametrize("writer", list(PICKLE_WRITERS))
def test_the_pickle_bomb_is_real(writer, tmp_path):
    """The payload the tests below feed to cnndesk does run when unpickled (else they would prove nothing)."""
    path, marker = write_pickle_bomb(tmp_path, writer, ".pth")
    if writer == "pickle":
        pickle.loads(path.read_bytes())
    else:
        torch.load(path, weights_only=False)
    assert marker.exists()


@pytest.mark.parametrize("suffix", SUFFIXES, ids=lambda s: s or "no-suffix")
@pytest.mark.parametrize("writer", list(PICKLE_WRITERS))
def test_a_pickle_is_never_unpickled_whatever_its_suffix(writer, suffix, tmp_path, capsys, write_png):
    """A torch.save or pickle file that carries code, named as anything a PyTorch user names weights: one clear
    error from load_model and from the command line, and the code in it never runs. (A torch.save state_dict of
    plain tensors opens: engine.foreign reads it with weights_only; a bare pickle is never unpickled at all.)"""
    path, marker = write_pickle_bomb(tmp_path, writer, suffix)
    refusal = ("holds objects that only running its code could rebuild .*: cnndesk refused it and ran none of it"
               if writer.startswith("torch-save") else "is not a cnndesk checkpoint: it is a pickle or zip file that "
               "torch.save did not write, and cnndesk never unpickles")
    with pytest.raises(CnndeskError, match=refusal) as info:
        load_model(path)
    assert str(info.value).startswith(str(path))
    from cnndesk.cli import main

    digit = write_png(np.eye(28, dtype=np.float32))
    assert main(["predict", str(digit), "--checkpoint", str(path), "--json"]) == 2
    assert f"cnndesk: error: {path} " in capsys.readouterr().err
    assert not marker.exists()


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy"])
def test_a_plain_torch_save_state_dict_now_opens(legacy, trained_lenet, tmp_path, batch):
    """What the tests above refuse is the code, not the format: the same kind of state_dict without it opens."""
    model = trained_lenet.model
    path = tmp_path / "lenet5.pth"
    torch.save(model.state_dict(), path, _use_new_zipfile_serialization=not legacy)
    loaded, meta = load_model(path, input="mnist-normalized")
    assert meta["foreign"]["architecture"] == "lenet5"
    assert torch.allclose(outputs(loaded, batch), outputs(model, batch), atol=1e-5)


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


# ---------------------------------------------------------------- tensors of the wrong kind, bounded work, unreadable


def rewrite_tensors(path: Path, change) -> Path:
    """Read a checkpoint's tensors and header, let ``change(tensors)`` alter them, write them back."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
        metadata = handle.metadata()
    change(tensors)
    save_file(tensors, str(path), metadata=metadata)
    return path


@pytest.mark.parametrize("dtype", [torch.int8, torch.uint8, torch.int32, torch.int64, torch.bool,
                                   torch.float8_e4m3fn], ids=str)
def test_weights_that_are_not_floats_are_refused_by_name(dtype, tmp_path):
    """int8 weights loaded silently before (copied into float32 as whole numbers): one sentence naming the tensor."""
    path = save_checkpoint(build_model("lenet5"), tmp_path / "ints.safetensors")
    rewrite_tensors(path, lambda t: t.update({"conv2.weight": (t["conv2.weight"] * 100).to(dtype)}))
    with pytest.raises(CnndeskError) as info:
        load_model(path)
    message = str(info.value)
    assert message.startswith(f"{path} holds 'conv2.weight' as {str(dtype).removeprefix('torch.')} values")
    assert "needs floating-point numbers" in message and message.count(".") <= message.count(".safetensors") + 3


def test_a_count_stored_as_a_float_is_refused(tmp_path):
    """BatchNorm's num_batches_tracked is an int64 count: a float there is not what cnndesk writes."""
    path = save_checkpoint(build_model("cnn2-bn"), tmp_path / "bn.safetensors")
    rewrite_tensors(path, lambda t: t.update({"bn1.num_batches_tracked": t["bn1.num_batches_tracked"].float()}))
    with pytest.raises(CnndeskError, match=r"holds 'bn1.num_batches_tracked' as float32 values, where the 'cnn2-bn' "
                                           r"architecture needs int64"):
        load_model(path)


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64], ids=str)
def test_weights_stored_at_another_float_width_load(dtype, batch, tmp_path):
    model = build_model("lenet5")
    path = save_checkpoint(model, tmp_path / "wide.safetensors")
    rewrite_tensors(path, lambda t: t.update({k: v.to(dtype) for k, v in t.items() if v.is_floating_point()}))
    loaded, _ = load_model(path)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    tolerance = 1e-6 if dtype == torch.float64 else 5e-2
    torch.testing.assert_close(outputs(loaded, batch), outputs(model, batch), rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize(("key", "value", "dtype"), [
    ("fc1.bias", float("nan"), torch.float32),
    ("bn2.running_var", float("-inf"), torch.float32),
    ("conv1.weight", 1e300, torch.float64),  # finite as float64, infinity once loaded as float32
], ids=["nan", "minus-infinity-in-a-buffer", "float64-beyond-float32"])
def test_weights_that_are_not_numbers_once_loaded_are_refused(key, value, dtype, tmp_path):
    path = save_checkpoint(build_model("cnn2-bn" if key.startswith("bn") else "lenet5"), tmp_path / "nan.safetensors")

    def spoil(tensors):
        tensors[key] = tensors[key].to(dtype)
        tensors[key].view(-1)[0] = value

    rewrite_tensors(path, spoil)
    with pytest.raises(CnndeskError, match=f"holds weights that are not numbers .* in '{key}'"):
        load_model(path)


def test_predict_json_has_no_bare_nan_when_finite_weights_overflow(tmp_path, capsys, write_png):
    """Weights of 3e38 are finite (so the checkpoint loads) but the logits overflow: the image is reported as an
    error, never as label 0 with NaN (or null) probabilities."""
    model = build_model("lenet5")
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.fill_(3e38)
    path = save_checkpoint(model, tmp_path / "huge.safetensors")
    digit = write_png(np.eye(28, dtype=np.float32))
    from cnndesk.cli import main

    assert main(["predict", str(digit), "--checkpoint", str(path), "--json"]) == 2
    captured = capsys.readouterr()

    def no_constants(name):
        raise AssertionError(f"bare {name} in the JSON output")

    result = json.loads(captured.out.strip().splitlines()[-1], parse_constant=no_constants)
    assert result == {"predictions": [{"path": str(digit), "error": result["predictions"][0]["error"]}]}
    assert "not a number" in result["predictions"][0]["error"]


def header_claiming(model: dict, tensors_from: str = "lenet5", path: Path | None = None) -> Path:
    """A checkpoint holding ``tensors_from``'s (small) weights under a header that names another architecture."""
    return write_with_header(path, raw_tensors(build_model(tensors_from)), good_header(model=model))


WIDE_CONVNET3 = {"name": "convnet3", "options": {"width": 16}}  # 160 M parameters: 640 MB as float32


def test_a_small_file_claiming_a_huge_model_is_refused_by_shape(tmp_path):
    path = header_claiming(WIDE_CONVNET3, path=tmp_path / "claims-big.safetensors")
    with pytest.raises(CnndeskError) as info:
        load_model(path)
    assert str(info.value) == (f"{path} does not fit the 'convnet3' architecture: its 'conv1.weight' has shape "
                               "[6, 1, 5, 5], where the model's has [512, 1, 7, 7] (9 more differences).")


# The peak resident memory of this process (VmHWM, KiB). Not ru_maxrss: a child process starts with its parent's
# (through fork and exec), so a pytest process of 1 GB hid a 600 MB peak in the child.
MEASURE_PEAK_MEMORY = """
import sys
from cnndesk.engine import CnndeskError, load_model

def peak_mib():
    with open("/proc/self/status") as status:
        return int(next(line for line in status if line.startswith("VmHWM:")).split()[1]) / 1024

load_model(sys.argv[1])  # every import and lazy path once, so that only the second load is measured
before = peak_mib()
try:
    load_model(sys.argv[2])
except CnndeskError as exc:
    print(exc)
print(peak_mib() - before)
"""


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="VmHWM is Linux's")
def test_a_small_file_claiming_a_huge_model_costs_little_memory(tmp_path):
    """The 250 KB file used to build the whole 640 MB model (peak +612 MB) before its shapes were compared."""
    small = save_checkpoint(build_model("lenet5"), tmp_path / "small.safetensors")
    crafted = header_claiming(WIDE_CONVNET3, path=tmp_path / "claims-big.safetensors")
    assert crafted.stat().st_size < 300_000
    result = subprocess.run([sys.executable, "-c", MEASURE_PEAK_MEMORY, str(small), str(crafted)],
                            capture_output=True, text=True, check=True, timeout=120)
    message, growth_mib = result.stdout.strip().splitlines()
    assert "does not fit the 'convnet3' architecture" in message
    assert float(growth_mib) < 200


def test_loading_draws_no_random_numbers(tmp_path):
    """Weights come from the file: loading does not initialise a model first (nor move the global generator)."""
    path = save_checkpoint(build_model("cnn2"), tmp_path / "m.safetensors")
    torch.manual_seed(0)
    load_model(path)
    after_load = torch.rand(3)
    torch.manual_seed(0)
    assert torch.equal(after_load, torch.rand(3))


def test_an_unreadable_checkpoint_is_named_unreadable(tmp_path, monkeypatch, capsys, write_png):
    """safetensors reports a file it may not open as "No such file or directory"; the tests run as root, so the
    denial is simulated where Python opens the file."""
    import builtins

    path = save_checkpoint(build_model("mlp"), tmp_path / "private.safetensors")
    real_open = builtins.open

    def denying_open(file, *args, **kwargs):
        if isinstance(file, str | os.PathLike) and Path(file) == path:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", denying_open)
    with pytest.raises(CnndeskError) as info:
        load_model(path)
    assert str(info.value) == f"{path} cannot be read: permission denied."
    from cnndesk.cli import main

    digit = write_png(np.eye(28, dtype=np.float32))
    assert main(["predict", str(digit), "--checkpoint", str(path)]) == 2
    err = capsys.readouterr().err
    assert "cannot be read: permission denied" in err and "No such" not in err
