"""The bundled MNIST: complete, verified, unpacked into the user data folder; other datasets fail clearly offline."""

from __future__ import annotations

import gzip
import hashlib
import importlib
import shutil
import socket
from pathlib import Path

import pytest
import torch

from cnndesk.engine import CnndeskError, load_mnist, load_splits

data = importlib.import_module("cnndesk.engine.data")

# resources/mnist/README.md
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}


def md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_mnist_has_sixty_and_ten_thousand_images(mnist):
    splits = load_mnist()
    assert splits is mnist  # cached for the life of the process
    assert splits.name == "mnist"
    for split, n in ((splits.train, 60_000), (splits.test, 10_000)):
        assert split.images.shape == (n, 1, 28, 28)
        assert split.images.dtype == torch.uint8
        assert split.labels.shape == (n,)
        assert split.labels.dtype == torch.int64
        assert len(split) == n
        assert int(split.images.max()) == 255 and int(split.images.min()) == 0


def test_mnist_class_counts_match_the_readme(mnist):
    assert torch.bincount(mnist.train.labels, minlength=10).tolist() == TRAIN_COUNTS
    assert torch.bincount(mnist.test.labels, minlength=10).tolist() == TEST_COUNTS


def test_mnist_is_in_the_original_order(mnist):
    assert mnist.test.labels[:2].tolist() == [7, 2]


def test_mnist_digits_are_ink_high(mnist):
    """The models' convention: background 0, ink bright, the digit in the middle of the field."""
    images = mnist.test.images[:500, 0].float()
    border = torch.cat([images[:, 0, :], images[:, -1, :], images[:, :, 0], images[:, :, -1]], dim=1)
    assert float(border.median()) == 0.0
    assert float(border.mean()) < 1.0
    assert float(images[:, 10:18, 10:18].mean()) > 50  # of 255: the middle is where the ink is


def test_mnist_is_unpacked_verified_into_the_data_folder(mnist, data_dir):
    raw = data_dir / "datasets" / "MNIST" / "raw"
    for name, digest in RAW_MD5.items():
        assert md5(raw / name) == digest
    assert not list(raw.glob("*.partial"))


def test_float_images_and_subset(mnist):
    subset = mnist.test.subset(100)
    assert len(subset) == 100
    assert torch.equal(subset.labels, mnist.test.labels[:100])
    pixels = subset.float_images()
    assert pixels.dtype == torch.float32
    assert float(pixels.min()) == 0.0 and float(pixels.max()) == 1.0
    assert torch.equal(pixels * 255, subset.images.float())
    assert mnist.test.subset(None) is mnist.test
    assert mnist.test.subset(10**6) is mnist.test
    # float_images never modifies the stored uint8 images
    assert subset.images.dtype == torch.uint8


@pytest.fixture
def cached_copy(mnist, data_dir, tmp_path) -> Path:
    """A fresh root holding a copy of the session's verified raw files."""
    root = tmp_path / "root"
    shutil.copytree(data_dir / "datasets" / "MNIST", root / "MNIST")
    return root


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing"])
def test_damaged_cached_file_is_unpacked_again(cached_copy, damage):
    raw = cached_copy / "MNIST" / "raw"
    victim = raw / "t10k-labels-idx1-ubyte"
    untouched = raw / "train-images-idx3-ubyte"
    untouched_stat = untouched.stat()
    if damage == "garbage":
        victim.write_bytes(b"\x00garbage" * 100)
    elif damage == "truncated":
        victim.write_bytes(b"")
    else:
        victim.unlink()

    data._unpack_mnist(cached_copy)

    assert md5(victim) == RAW_MD5[victim.name]
    for name, digest in RAW_MD5.items():
        assert md5(raw / name) == digest
    # a file that was fine is left alone, not rewritten
    assert untouched.stat().st_ino == untouched_stat.st_ino
    assert untouched.stat().st_mtime_ns == untouched_stat.st_mtime_ns
    assert not list(raw.glob("*.partial"))


def test_repaired_cache_loads_the_right_labels(cached_copy, mnist):
    (cached_copy / "MNIST" / "raw" / "t10k-labels-idx1-ubyte").write_bytes(b"\xff" * 10_008)
    splits = load_splits("mnist", root=cached_copy)
    assert torch.equal(splits.test.labels, mnist.test.labels)


def test_missing_bundled_file_says_reinstall(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "resource_path", lambda *parts: tmp_path / "nowhere" / Path(*parts))
    with pytest.raises(CnndeskError, match="missing; reinstall"):
        data._unpack_mnist(tmp_path / "root")


def test_corrupt_bundled_file_is_rejected_and_leaves_nothing(tmp_path, monkeypatch):
    bundled = tmp_path / "bundled"
    (bundled / "mnist").mkdir(parents=True)
    for name in RAW_MD5:
        with gzip.open(bundled / "mnist" / f"{name}.gz", "wb") as handle:
            handle.write(b"not the MNIST bytes")
    monkeypatch.setattr(data, "resource_path", lambda *parts: bundled.joinpath(*parts))
    root = tmp_path / "root"
    with pytest.raises(CnndeskError, match="corrupt"):
        data._unpack_mnist(root)
    raw = root / "MNIST" / "raw"
    assert list(raw.iterdir()) == []


@pytest.fixture
def offline(monkeypatch):
    """No network: every connection attempt fails at once, as on a machine without internet."""

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (blocked by the test)")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize(("name", "title"), [("fashion-mnist", "Fashion-MNIST"), ("kmnist", "Kuzushiji-MNIST")])
def test_downloadable_dataset_offline_fails_with_one_clear_error(offline, tmp_path, name, title):
    with pytest.raises(CnndeskError) as info:
        load_splits(name, root=tmp_path)
    message = str(info.value)
    assert title in message
    assert "could not be downloaded" in message
    assert str(tmp_path) in message  # tells the user where to copy the files
    # a failure is not cached: the next call tries again (and fails the same way, still offline)
    with pytest.raises(CnndeskError, match="could not be downloaded"):
        load_splits(name, root=tmp_path)


@pytest.mark.parametrize("name", ["cifar10", "", "emnist"])
def test_unknown_dataset_is_rejected(name, tmp_path):
    with pytest.raises(CnndeskError, match="Unknown dataset"):
        load_splits(name, root=tmp_path)


def test_dataset_names_are_case_insensitive(mnist):
    assert load_splits("MNIST") is mnist


def forget_loaded(root: Path) -> None:
    """Drop what this process loaded from ``root``, so the next load reads the disk as a new process would."""
    for key in [k for k in data._cache if k.endswith(f"@{root}")]:
        del data._cache[key]


def test_mnist_tensors_are_cached_beside_the_raw_files(cached_copy, mnist, monkeypatch):
    """The first load through torchvision leaves one tensor file; later processes read it instead."""
    first = load_splits("mnist", root=cached_copy)
    cache_file = data.tensor_cache_path(cached_copy, "mnist")
    assert cache_file.exists()
    forget_loaded(cached_copy)  # as in a new process

    def no_torchvision(*args, **kwargs):
        raise AssertionError("read through torchvision although the tensor cache was valid")

    monkeypatch.setattr(data, "_from_torchvision", no_torchvision)
    again = load_splits("mnist", root=cached_copy)
    assert again is not first
    for split in ("train", "test"):
        assert torch.equal(getattr(again, split).images, getattr(mnist, split).images)
        assert torch.equal(getattr(again, split).labels, getattr(mnist, split).labels)


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other version"])
def test_damaged_tensor_cache_is_rebuilt(cached_copy, mnist, damage, monkeypatch):
    load_splits("mnist", root=cached_copy)
    cache_file = data.tensor_cache_path(cached_copy, "mnist")
    if damage == "garbage":
        cache_file.write_bytes(b"\x00garbage" * 100)
    elif damage == "truncated":
        cache_file.write_bytes(cache_file.read_bytes()[: cache_file.stat().st_size // 2])
    else:
        monkeypatch.setattr(data, "TENSOR_CACHE_VERSION", "0")
        data._write_tensor_cache(cache_file, mnist)
        monkeypatch.undo()
    forget_loaded(cached_copy)
    splits = load_splits("mnist", root=cached_copy)
    assert torch.equal(splits.test.labels, mnist.test.labels)
    assert torch.equal(splits.train.images, mnist.train.images)
    assert data._read_tensor_cache(cache_file, "mnist") is not None  # written again, valid now
