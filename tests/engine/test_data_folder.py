"""A user data folder that cannot be used (CNNDESK_DATA_DIR naming a file, a read-only folder): one clear message
where something must be written there, and everything else works from the bundled MNIST and models.

Tests run as root, where permission bits stop no write: a read-only folder is simulated by refusing, with the
system's PermissionError, every folder or file created inside it.
"""

from __future__ import annotations

import builtins
import io
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from safetensors import SafetensorError

from cnndesk import locations
from cnndesk.cli import main
from cnndesk.engine import CnndeskError, Splits, TensorDataset, TrainConfig, build_model, data, save_checkpoint
from cnndesk.locations import checkpoints_dir, data_dir, datasets_dir, my_digits_dir, writable_data_dir
from cnndesk.session.runs import RunController, new_run


@pytest.fixture
def fresh_dataset_cache(monkeypatch) -> None:
    """No dataset read earlier in this process is reused, and the MNIST read here is dropped after the test."""
    monkeypatch.setattr(data, "_cache", {})
    monkeypatch.setattr(data, "_cache_warned", set())


@pytest.fixture
def data_folder_is_a_file(tmp_path, monkeypatch, fresh_dataset_cache) -> Path:
    """CNNDESK_DATA_DIR names a regular file: nothing can be created below it."""
    path = tmp_path / "cnndesk-data"
    path.write_text("not a folder")
    monkeypatch.setenv("CNNDESK_DATA_DIR", str(path))
    return path


def _inside(path, folder: Path) -> bool:
    try:
        return Path(os.fsdecode(path)).resolve().is_relative_to(folder.resolve())
    except TypeError:  # a file descriptor
        return False


@pytest.fixture
def read_only_data_folder(tmp_path, monkeypatch, fresh_dataset_cache) -> Iterator[Path]:
    """CNNDESK_DATA_DIR names an existing folder in which creating a folder or opening a file to write fails."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    monkeypatch.setenv("CNNDESK_DATA_DIR", str(folder))

    def refused(path) -> PermissionError:
        return PermissionError(13, "Permission denied", os.fsdecode(path))

    real_mkdir, real_os_open, real_io_open = os.mkdir, os.open, io.open

    def mkdir(path, *args, **kwargs):
        if _inside(path, folder):
            raise refused(path)
        return real_mkdir(path, *args, **kwargs)

    def os_open(path, flags, *args, **kwargs):  # tempfile's files, os-level writes
        if flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT) and _inside(path, folder):
            raise refused(path)
        return real_os_open(path, flags, *args, **kwargs)

    def open_file(file, mode="r", *args, **kwargs):  # Path.open and open()
        if set(mode) & set("wax+") and _inside(file, folder):
            raise refused(file)
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "mkdir", mkdir)
    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(io, "open", open_file)
    monkeypatch.setattr(builtins, "open", open_file)
    yield folder
    monkeypatch.undo()
    assert list(folder.iterdir()) == [], "something was written into the read-only folder"


def test_asking_where_the_data_folders_are_creates_none_of_them(tmp_path, monkeypatch):
    monkeypatch.setenv("CNNDESK_DATA_DIR", str(tmp_path / "data"))
    folders = [data_dir(), datasets_dir(), checkpoints_dir(), my_digits_dir()]
    assert folders[0] == tmp_path / "data" and all(folder.parent == folders[0] for folder in folders[1:])
    assert not (tmp_path / "data").exists()
    assert writable_data_dir(checkpoints_dir()).is_dir()  # made once something is to be written there


def test_a_data_folder_that_is_a_file_is_one_sentence_naming_it_and_what_to_do(data_folder_is_a_file):
    with pytest.raises(CnndeskError) as raised:
        writable_data_dir(checkpoints_dir())
    message = str(raised.value)
    assert message == (f"cnndesk cannot write to its data folder {data_folder_is_a_file / 'checkpoints'} "
                       f"({data_folder_is_a_file} is a file, not a folder); set CNNDESK_DATA_DIR to a writable "
                       "folder.")
    assert data_folder_is_a_file.read_text() == "not a folder"


def test_a_read_only_data_folder_is_named_with_the_systems_reason(read_only_data_folder):
    assert locations.folder_problem(read_only_data_folder) == "Permission denied"  # it exists, but takes no file
    with pytest.raises(CnndeskError, match=r"cannot write to its data folder .*read-only/datasets "
                                           r"\(Permission denied\); set CNNDESK_DATA_DIR"):
        writable_data_dir(datasets_dir())


def _assert_same_splits(loaded: Splits, expected: Splits) -> None:
    for split in ("train", "test"):
        got, want = getattr(loaded, split), getattr(expected, split)
        assert got.images.dtype == torch.uint8 and got.labels.dtype == torch.int64
        assert torch.equal(got.images, want.images) and torch.equal(got.labels, want.labels)


def test_mnist_is_read_from_the_bundled_files_when_the_data_folder_is_a_file(mnist, data_folder_is_a_file, caplog):
    with caplog.at_level(logging.WARNING, logger="cnndesk"):
        loaded = data.load_splits("mnist")
        data._cache.clear()
        data.load_splits("mnist")  # read again: said once per process, not at every load
    _assert_same_splits(loaded, mnist)  # the very tensors torchvision reads from the unpacked files
    assert [record.getMessage() for record in caplog.records] == [
        f"MNIST's cache cannot be written to {data_folder_is_a_file / 'datasets'} ({data_folder_is_a_file} is a "
        "file, not a folder), so it is read from its files each time; set CNNDESK_DATA_DIR to a writable folder."]


def test_mnist_is_read_from_the_bundled_files_when_the_data_folder_is_read_only(mnist, read_only_data_folder,
                                                                                 caplog):
    with caplog.at_level(logging.WARNING, logger="cnndesk"):
        loaded = data.load_splits("mnist")
    _assert_same_splits(loaded, mnist)
    assert len(caplog.records) == 1 and "(Permission denied)" in caplog.records[0].getMessage()
    # (the fixture checks that nothing was written into the folder)


def test_a_cache_write_that_fails_midway_is_a_warning_and_leaves_no_file(tmp_path, monkeypatch, caplog,
                                                                         fresh_dataset_cache):
    def disk_full(*args, **kwargs):
        raise SafetensorError("No space left on device (os error 28)")  # how safetensors reports a failed write

    monkeypatch.setattr(data, "save_file", disk_full)
    tiny = TensorDataset(torch.zeros(2, 1, 28, 28, dtype=torch.uint8), torch.tensor([3, 7]))
    with caplog.at_level(logging.WARNING, logger="cnndesk"):
        data._write_tensor_cache(data.tensor_cache_path(tmp_path, "mnist"), Splits("mnist", tiny, tiny))
    assert list(tmp_path.iterdir()) == []
    assert [record.getMessage() for record in caplog.records] == [
        f"MNIST's cache cannot be written to {tmp_path} (No space left on device (os error 28)), so it is read from "
        "its files each time; set CNNDESK_DATA_DIR to a writable folder."]


def test_a_run_for_the_checkpoints_folder_is_refused_before_it_trains(read_only_data_folder, monkeypatch):
    def no_training(*args, **kwargs):
        raise AssertionError("the run trained although it could not be saved")

    monkeypatch.setattr("cnndesk.engine.fit", no_training)
    config = TrainConfig.for_model("mlp", epochs=1, train_samples=100, test_samples=100)
    with pytest.raises(CnndeskError, match=r"read-only/checkpoints \(Permission denied\); nothing was trained: "
                                           r"set CNNDESK_DATA_DIR to a writable folder, or save the run elsewhere"):
        RunController(mark_runs=False).run(new_run(config))


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_eval_and_predict_work_with_a_data_folder_that_is_a_file(data_folder_is_a_file, tmp_path, capsys, write_png,
                                                                 bar_image):
    small_model = save_checkpoint(build_model("mlp"), tmp_path / "mlp.safetensors")  # evaluates in a blink
    code, stdout, stderr = run_cli(capsys, "eval", "--checkpoint", str(small_model), "--json")
    assert code == 0, stderr
    assert json.loads(stdout.splitlines()[-1])["test_images"] == 10_000  # MNIST's test set, from the bundled files
    # One line on stderr says why MNIST was slower to read, not a traceback.
    assert stderr.splitlines() == [f"cnndesk: warning: MNIST's cache cannot be written to "
                                   f"{data_folder_is_a_file / 'datasets'} ({data_folder_is_a_file} is a file, not a "
                                   "folder), so it is read from its files each time; set CNNDESK_DATA_DIR to a "
                                   "writable folder."]
    code, stdout, stderr = run_cli(capsys, "predict", str(write_png(bar_image)), "--json")  # the bundled LeNet5
    assert code == 0 and stderr == ""
    assert json.loads(stdout.splitlines()[-1])["predictions"][0]["label"] == 1


def test_train_without_out_refuses_before_reading_and_with_out_elsewhere_trains(data_folder_is_a_file, tmp_path,
                                                                                capsys):
    small = ("train", "--model", "mlp", "--epochs", "1", "--train-samples", "200", "--no-augment")
    code, stdout, stderr = run_cli(capsys, *small)
    assert code == 2 and stdout == ""
    # The one message, before MNIST is read (no warning about its cache yet) and before any training.
    assert stderr.splitlines() == [
        f"cnndesk: error: cnndesk cannot write to its data folder {data_folder_is_a_file / 'checkpoints'} "
        f"({data_folder_is_a_file} is a file, not a folder); nothing was trained: set CNNDESK_DATA_DIR to a writable "
        "folder, or save the run elsewhere (cnndesk train --out FILE)."]

    out = tmp_path / "elsewhere" / "mlp.safetensors"
    code, _, stderr = run_cli(capsys, *small, "--out", str(out))
    assert code == 0, stderr
    assert out.is_file() and "Traceback" not in stderr
