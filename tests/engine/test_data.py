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


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other version", "flipped pixels", "shifted labels"])
def test_damaged_tensor_cache_is_rebuilt(cached_copy, mnist, damage, monkeypatch):
    load_splits("mnist", root=cached_copy)
    cache_file = data.tensor_cache_path(cached_copy, "mnist")
    if damage == "garbage":
        cache_file.write_bytes(b"\x00garbage" * 100)
    elif damage == "truncated":
        cache_file.write_bytes(cache_file.read_bytes()[: cache_file.stat().st_size // 2])
    elif damage == "other version":
        monkeypatch.setattr(data, "TENSOR_CACHE_VERSION", "0")
        data._write_tensor_cache(cache_file, mnist)
        monkeypatch.undo()
    else:  # a valid safetensors file whose numbers changed: only the checksum can tell
        from safetensors import safe_open
        from safetensors.torch import load_file, save_file

        with safe_open(str(cache_file), framework="pt") as handle:
            metadata = handle.metadata()
        tensors = load_file(str(cache_file))
        if damage == "flipped pixels":
            tensors["test.images"][5, 0, 14, 14] ^= 0xFF
        else:
            tensors["test.labels"] = tensors["test.labels"].roll(1)
        save_file(tensors, str(cache_file), metadata=metadata)
    forget_loaded(cached_copy)
    splits = load_splits("mnist", root=cached_copy)
    assert torch.equal(splits.test.labels, mnist.test.labels)
    assert torch.equal(splits.test.images, mnist.test.images)
    assert torch.equal(splits.train.images, mnist.train.images)
    assert data._read_tensor_cache(cache_file, "mnist") is not None  # written again, valid now


# -- folders of digit images ------------------------------------------------------------------------------------
def write_digit(mnist, index: int, path: Path, polarity: str = "dark-on-light", scale: int = 10) -> Path:
    """MNIST test image ``index`` as a file a person might have: any size, any format, either polarity."""
    import numpy as np
    from PIL import Image

    ink = mnist.test.images[index, 0].numpy()
    pixels = np.kron(255 - ink if polarity == "dark-on-light" else ink, np.ones((scale, scale), np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def digit_folder(mnist, root: Path, count: int = 60, start: int = 0) -> list[Path]:
    """``count`` MNIST test digits in ``root/<label>/``, in three formats, sizes and both polarities."""
    kinds = [(".png", "dark-on-light", 10), (".jpg", "light-on-dark", 3), (".bmp", "dark-on-light", 1)]
    written = []
    for index in range(start, start + count):
        suffix, polarity, scale = kinds[index % 3]
        label = int(mnist.test.labels[index])
        written.append(write_digit(mnist, index, root / str(label) / f"d{index}{suffix}", polarity, scale))
    return written


def test_a_folder_of_images_is_a_dataset_prepared_as_the_app_prepares_an_opened_image(tmp_path, mnist):
    import numpy as np

    from cnndesk.engine import load_image, preprocess

    files = digit_folder(mnist, tmp_path / "digits")
    splits = load_splits(f"folder:{tmp_path / 'digits'}")
    assert splits.name == f"folder:{(tmp_path / 'digits').resolve()}" and not splits.unreadable
    assert len(splits.train) + len(splits.test) == len(files)
    assert 0 < len(splits.test) < len(splits.train)  # about a fifth held out
    for split in (splits.train, splits.test):
        assert split.images.dtype == torch.uint8 and split.images.shape[1:] == (1, 28, 28)
        for image, label, path in zip(split.images, split.labels, split.paths, strict=True):
            index = int(Path(path).stem[1:])
            assert int(label) == int(mnist.test.labels[index])  # the folder's name is the label
            expected = np.round(preprocess(load_image(path), even_strokes=True).centred * 255)
            assert np.array_equal(image[0].numpy(), expected.astype(np.uint8))
    # The hold-out is by file: another image added later leaves every file on its side.
    held_out = set(splits.test.paths)
    write_digit(mnist, 100, tmp_path / "digits" / "3" / "late.png")
    again = load_splits(f"folder:{tmp_path / 'digits'}")  # read again, not cached: the folder changed
    assert len(again.train) + len(again.test) == len(files) + 1
    assert held_out <= set(again.test.paths) and not held_out & set(again.train.paths)
    assert not list(data.datasets_dir().glob("folder*"))  # nothing written to the tensor cache


def test_train_and_test_folders_say_which_images_test(tmp_path, mnist):
    digit_folder(mnist, tmp_path / "set" / "train", count=30)
    digit_folder(mnist, tmp_path / "set" / "test", count=12, start=30)
    splits = load_splits(f"FOLDER:{tmp_path / 'set'}")  # the prefix in any case
    assert (len(splits.train), len(splits.test)) == (30, 12)
    assert sorted(splits.test.labels.tolist()) == sorted(mnist.test.labels[30:42].tolist())


def test_unreadable_files_are_skipped_and_listed(tmp_path, mnist):
    digit_folder(mnist, tmp_path / "digits", count=20)
    (tmp_path / "digits" / "5" / "broken.png").write_bytes(b"not a png")
    (tmp_path / "digits" / "5" / "notes.txt").write_text("not an image file: not even looked at")
    splits = load_splits(f"folder:{tmp_path / 'digits'}")
    assert len(splits.train) + len(splits.test) == 20
    assert len(splits.unreadable) == 1 and "broken.png" in splits.unreadable[0]


@pytest.mark.parametrize("layout", ["missing", "empty", "no digit folders", "only unreadable files"])
def test_a_folder_that_is_no_dataset_is_one_clear_error(tmp_path, mnist, layout):
    folder = tmp_path / "digits"
    if layout != "missing":
        folder.mkdir()
    if layout == "no digit folders":
        write_digit(mnist, 0, folder / "sevens" / "a.png")
    if layout == "only unreadable files":
        (folder / "7").mkdir()
        (folder / "7" / "a.png").write_bytes(b"not a png")
    expected = {"missing": "No such folder", "empty": "holds no digit images",
                "no digit folders": "holds no digit images", "only unreadable files": "could be read"}[layout]
    with pytest.raises(CnndeskError, match=expected):
        load_splits(f"folder:{folder}")
    with pytest.raises(CnndeskError, match="folder: needs the folder's path"):
        load_splits("folder:")


def test_a_mix_adds_a_folders_images_to_the_training_set_as_a_fair_share(tmp_path, mnist):
    files = digit_folder(mnist, tmp_path / "mine", count=20)
    mix = load_splits(f"mnist+folder:{tmp_path / 'mine'}")
    assert mix.name == f"mnist+folder:{(tmp_path / 'mine').resolve()}"
    assert mix.test is mnist.test  # tested on MNIST: the run says what fine-tuning costs there
    # All 20 (no hold-out in a mix), repeated until they are a fifth of the training set, in one shuffled order.
    assert len(mix.train) == 60_000 + 20 * 750
    own = load_splits(f"folder:{tmp_path / 'mine'}")
    own_images = torch.cat([own.train.images, own.test.images])
    first = mix.train.images[:12_000]  # what a fine-tuning run of 12,000 images trains on
    is_own = (first[:, None] == own_images[None]).flatten(2).all(2).any(1)
    assert 0.17 < float(is_own.float().mean()) < 0.23
    assert torch.equal(load_splits(f"mnist+folder:{tmp_path / 'mine'}").train.labels, mix.train.labels)
    assert len(files) == 20


@pytest.mark.parametrize("spec", ["mnist+imagenet", "folder:/nowhere+mnist", "mnist+folder:/nowhere"])
def test_a_mix_with_an_unknown_or_missing_part_is_one_clear_error(spec):
    with pytest.raises(CnndeskError, match=r"Unknown dataset 'mnist\+imagenet'|No such folder"):
        load_splits(spec)


def test_a_plus_inside_a_folders_path_is_part_of_the_path():
    assert data.dataset_parts("folder:/a+b/digits+kmnist") == ["folder:/a+b/digits", "kmnist"]
    assert data.canonical_dataset("MNIST+folder:/x") == "mnist+folder:/x"
    assert data.base_dataset("mnist+folder:/x") == "mnist"


# -- EMNIST digits ----------------------------------------------------------------------------------------------
def write_idx(path: Path, array: torch.Tensor) -> None:
    """An IDX file as NIST writes them (magic 2051 for images, 2049 for labels, then big-endian sizes)."""
    import struct

    magic = 2051 if array.dim() == 3 else 2049
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(struct.pack(f">I{array.dim()}I", magic, *array.shape) + array.to(torch.uint8).numpy().tobytes())


def test_emnist_digits_are_read_upright(tmp_path, mnist):
    """EMNIST stores each image transposed; the dataset gives them as MNIST's are, the right way up."""
    raw = tmp_path / "EMNIST" / "raw"
    images, labels = mnist.test.images[:30, 0], mnist.test.labels[:30]
    for split in ("train", "test"):
        write_idx(raw / f"emnist-digits-{split}-images-idx3-ubyte", images.transpose(1, 2))
        write_idx(raw / f"emnist-digits-{split}-labels-idx1-ubyte", labels)
    splits = load_splits("emnist-digits", root=tmp_path)
    assert torch.equal(splits.train.images[:, 0], images) and torch.equal(splits.test.labels, labels)


def test_emnist_offline_is_the_same_one_clear_message(offline, tmp_path, monkeypatch):
    import torchvision.datasets.mnist as tv_mnist

    def no_download(*args, **kwargs):
        raise RuntimeError("download refused by the test")

    monkeypatch.setattr(tv_mnist, "download_and_extract_archive", no_download)
    with pytest.raises(CnndeskError) as info:
        load_splits("emnist-digits", root=tmp_path)
    message = str(info.value)
    assert message.startswith("EMNIST digits is not bundled with cnndesk and could not be downloaded")
    assert str(tmp_path) in message
