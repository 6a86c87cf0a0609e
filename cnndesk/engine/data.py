"""Datasets as whole tensors on the training device.

MNIST ships with cnndesk (resources/mnist, the original gzipped IDX files). On first use it is unpacked once,
with its checksums verified, into the user data folder where torchvision's ``MNIST`` class reads it. Other
torchvision datasets are downloaded on demand; offline, that fails with one clear message.

Any folder of digit images is a dataset too (``folder:PATH``): ``PATH/0/*.png`` … ``PATH/9/*.png`` (torchvision's
ImageFolder layout; any format Pillow reads, either polarity, any size), each image prepared exactly as the app
prepares an image it opens (``digits.prepare_file``). ``PATH/train/<digit>/`` and ``PATH/test/<digit>/`` say which
images are for testing; without them, TEST_PERCENT of the images are held out for testing, chosen by a hash of each
file's label and name (``digits.is_held_out``), so a file keeps its side as others come and go. Files that cannot
be read are skipped and listed (``Splits.unreadable``). Folders change, so they are read again at every load.

``A+B`` mixes datasets for fine-tuning: A's training and test images, with B's training images (all of a folder's
images where it has no train/ folder) added to the training set, repeated until they are about MIX_PERCENT of it,
so that a few dozen own digits are a fair share of every epoch. The test set stays A's: the run's test accuracy
says what fine-tuning costs on A. ``mnist+folder:PATH`` fine-tunes on one's own digits.

What torchvision read is kept beside it as one safetensors file of whole tensors: later processes load that
(~0.1 s) instead of importing torchvision and parsing the IDX files again (~2 s of every start-up).

A data folder that cannot be written (CNNDESK_DATA_DIR naming a file, a read-only folder) costs only that cache:
MNIST is then read straight from the bundled files each time, and a one-line warning on the ``cnndesk.engine.data``
logger says why (the command line prints it; the window shows the folder's problem itself).
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import math
import re
import shutil
import threading
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from cnndesk.locations import DATA_DIR_VARIABLE, datasets_dir, resource_path, unwritable_reason

from .errors import CnndeskError

# MD5 of the uncompressed IDX files (resources/mnist/README.md).
MNIST_FILES = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Downloadable:
    """A dataset torchvision can download, in the same 28×28 grey format as MNIST."""

    title: str
    class_name: str  # in torchvision.datasets
    options: dict[str, str] = field(default_factory=dict)  # passed to the class
    transposed: bool = False  # stored column by column: EMNIST's images are MNIST's transposed


# torchvision is imported only when a dataset is loaded: it costs seconds of start-up otherwise.
DOWNLOADABLE = {
    "fashion-mnist": Downloadable("Fashion-MNIST", "FashionMNIST"),
    "kmnist": Downloadable("Kuzushiji-MNIST", "KMNIST"),
    # 280,000 handwritten digits from NIST Special Database 19 (240,000 train, 40,000 test), MNIST's format.
    "emnist-digits": Downloadable("EMNIST digits", "EMNIST", {"split": "digits"}, transposed=True),
}
DATASETS = ("mnist", *DOWNLOADABLE)
TITLES = {"mnist": "MNIST", **{name: source.title for name, source in DOWNLOADABLE.items()}}
FOLDER = "folder:"  # folder:PATH, a folder of digit images
MIX_PERCENT = 20  # the share of the training images a dataset mixed in with "+" is repeated up to
MIX_SEED = 0  # the fixed order of a mix's training images (so that the first N are a fair sample of it)
# A "+" that starts another dataset (not one inside a folder's path): followed by "folder:" or a dataset name.
_MIX_SPLIT = re.compile(r"\+(?=(?:folder:|(?:" + "|".join(map(re.escape, DATASETS)) + r")(?:\+|$)))", re.IGNORECASE)


@dataclass(frozen=True)
class TensorDataset:
    """A whole split as tensors: images uint8 (N, 1, 28, 28), labels int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor
    paths: tuple[str, ...] = ()  # the file of each image, for a folder dataset's (empty for the others)

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device | str) -> TensorDataset:
        return TensorDataset(self.images.to(device), self.labels.to(device), self.paths)

    def subset(self, count: int | None) -> TensorDataset:
        if count is None or count >= len(self):
            return self
        return TensorDataset(self.images[:count], self.labels[:count], self.paths[:count])

    def float_images(self) -> torch.Tensor:
        """Pixels as float in [0, 1], ink high: the models' input convention."""
        return self.images.float().div_(255.0)


@dataclass(frozen=True)
class Splits:
    name: str
    train: TensorDataset
    test: TensorDataset
    unreadable: tuple[str, ...] = ()  # one message per file of a folder dataset that was skipped

    def to(self, device: torch.device | str) -> Splits:
        return Splits(self.name, self.train.to(device), self.test.to(device), self.unreadable)


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _unpack_mnist(root: Path) -> None:
    """Decompress the bundled IDX files into ``root/MNIST/raw`` once, verifying each checksum."""
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    for name, md5 in MNIST_FILES.items():
        target = raw / name
        if target.exists() and target.stat().st_size > 0 and _md5(target) == md5:
            continue
        source = _bundled_mnist_file(name)
        partial = target.with_suffix(".partial")
        with gzip.open(source, "rb") as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if _md5(partial) != md5:
            partial.unlink(missing_ok=True)
            raise CnndeskError(_corrupt_message(source))
        partial.replace(target)


def _bundled_mnist_file(name: str) -> Path:
    source = resource_path("mnist", f"{name}.gz")
    if not source.exists():
        raise CnndeskError(f"The bundled MNIST file {source} is missing; reinstall cnndesk.")
    return source


def _corrupt_message(source: Path) -> str:
    return f"The bundled MNIST file {source.name} is corrupt (checksum mismatch)."


def _read_bundled_idx(name: str) -> np.ndarray:
    """One bundled IDX file, decompressed in memory and verified, as a uint8 array of the shape its header gives."""
    source = _bundled_mnist_file(name)
    with gzip.open(source, "rb") as handle:
        raw = bytearray(handle.read())  # writable, so that torch.from_numpy takes it without a copy or a warning
    if hashlib.md5(raw).hexdigest() != MNIST_FILES[name]:
        raise CnndeskError(_corrupt_message(source))
    # IDX: two zero bytes, the type (8: unsigned byte), the number of dimensions, then each size as a big-endian
    # 32-bit integer, then the values.
    dims = raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims))
    return np.frombuffer(raw, np.uint8, offset=4 + 4 * dims).reshape(shape)


def _read_bundled_mnist() -> Splits:
    """MNIST straight from the bundled files, without unpacking them or torchvision: for a data folder that cannot
    be written (the same tensors as torchvision reads from the unpacked files)."""
    splits = []
    for prefix in ("train", "t10k"):
        images = torch.from_numpy(_read_bundled_idx(f"{prefix}-images-idx3-ubyte")).unsqueeze(1).contiguous()
        labels = torch.from_numpy(_read_bundled_idx(f"{prefix}-labels-idx1-ubyte").astype(np.int64))
        splits.append(TensorDataset(images, labels))
    return Splits("mnist", *splits)


_cache_warned: set[Path] = set()  # the folders whose unwritable cache was reported already (once per process)


def _warn_cache_unwritable(root: Path, name: str, exc: Exception) -> None:
    if root in _cache_warned:
        return
    _cache_warned.add(root)
    log.warning("%s's cache cannot be written to %s (%s), so it is read from its files each time; set %s to a "
                "writable folder.", TITLES.get(name, name), root, unwritable_reason(root, exc), DATA_DIR_VARIABLE)


def _load_mnist(root: Path) -> Splits:
    """MNIST through torchvision, from the bundled files unpacked into ``root``; where ``root`` cannot be written,
    straight from the bundled files."""
    try:
        _unpack_mnist(root)
    except OSError as exc:
        _warn_cache_unwritable(root, "mnist", exc)
        return _read_bundled_mnist()
    from torchvision import datasets as tv_datasets

    train = tv_datasets.MNIST(str(root), train=True, download=False)
    test = tv_datasets.MNIST(str(root), train=False, download=False)
    return Splits("mnist", _from_torchvision(train), _from_torchvision(test))


def _from_torchvision(dataset, transposed: bool = False) -> TensorDataset:
    images = dataset.data.to(torch.uint8)
    if transposed:
        images = images.transpose(1, 2)
    images = images.unsqueeze(1).contiguous()
    labels = torch.as_tensor(dataset.targets, dtype=torch.int64)
    return TensorDataset(images, labels)


TENSOR_CACHE_VERSION = "1"
_SPLIT_KEYS = ("train.images", "train.labels", "test.images", "test.labels")


def tensor_cache_path(root: Path, name: str) -> Path:
    return root / f"{name}.tensors.safetensors"


def _read_tensor_cache(path: Path, name: str) -> Splits | None:
    """The cached splits, or None when the file is missing, damaged or of another format (then it is rebuilt)."""
    if not path.exists():
        return None
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            if (metadata.get("cnndesk.tensor_cache") != TENSOR_CACHE_VERSION or metadata.get("dataset") != name
                    or set(handle.keys()) != set(_SPLIT_KEYS)):
                return None
            tensors = {key: handle.get_tensor(key) for key in _SPLIT_KEYS}
    except (SafetensorError, OSError, ValueError, RuntimeError):
        return None
    if metadata.get("crc32") != _checksum(tensors):  # flipped pixels or shifted labels: read the IDX files again
        return None
    splits = []
    for split in ("train", "test"):
        images, labels = tensors[f"{split}.images"], tensors[f"{split}.labels"]
        if (images.dtype != torch.uint8 or images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28)
                or labels.dtype != torch.int64 or labels.shape != (images.shape[0],)
                or (len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) <= 9)):
            return None
        splits.append(TensorDataset(images, labels))
    return Splits(name, *splits)


def _checksum(tensors: dict[str, torch.Tensor]) -> str:
    """CRC-32 of the split tensors' bytes, in key order: written with the cache, checked when it is read (~70 ms for
    MNIST's 55 MB, in the background preload; it guards against damage, not against someone who rewrites the
    checksum too)."""
    crc = 0
    for key in _SPLIT_KEYS:
        crc = zlib.crc32(tensors[key].contiguous().numpy().tobytes(), crc)
    return f"{crc:08x}"


def _write_tensor_cache(path: Path, splits: Splits) -> None:
    from .checkpoint import atomic_write

    tensors = {"train.images": splits.train.images, "train.labels": splits.train.labels,
               "test.images": splits.test.images, "test.labels": splits.test.labels}
    metadata = {"cnndesk.tensor_cache": TENSOR_CACHE_VERSION, "dataset": splits.name, "crc32": _checksum(tensors)}
    try:
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
    except (OSError, SafetensorError) as exc:  # only a cache: the next start reads the dataset's files again
        _warn_cache_unwritable(path.parent, splits.name, exc)  # (safetensors reports a failed write its own way)


_cache: dict[str, Splits] = {}
_cache_lock = threading.Lock()


def dataset_parts(spec: str) -> list[str]:
    """The datasets a spec names, each in its canonical form: a name in lower case, ``folder:`` with an absolute
    path. CnndeskError for an unknown name."""
    parts = []
    for part in _MIX_SPLIT.split(spec.strip()):
        part = part.strip()
        if part[:len(FOLDER)].lower() == FOLDER:
            where = part[len(FOLDER):].strip()
            if not where:
                raise CnndeskError("folder: needs the folder's path, e.g. folder:~/my-digits.")
            parts.append(FOLDER + str(Path(where).expanduser().resolve()))
            continue
        if part.lower() not in DATASETS:
            raise CnndeskError(f"Unknown dataset '{part}'. Known: {', '.join(DATASETS)}, or folder:PATH "
                               f"(a folder of digit images, PATH/0/*.png … PATH/9/*.png).")
        parts.append(part.lower())
    return parts


def canonical_dataset(spec: str) -> str:
    """``spec`` as a run records it: names in lower case, folders as absolute paths (a checkpoint may be evaluated
    from another working folder)."""
    return "+".join(dataset_parts(spec))


def base_dataset(spec: str) -> str:
    """The dataset whose test set a spec tests on: the first of a mix."""
    return dataset_parts(spec)[0]


def load_splits(name: str = "mnist", root: Path | None = None) -> Splits:
    """Train and test splits of a dataset on the CPU (see the module's docstring for ``folder:PATH`` and ``A+B``).

    Named datasets are cached for the life of the process (and as a tensor file beside their files); folders are
    read again each time."""
    parts = dataset_parts(name)
    if len(parts) > 1:
        return _mix(parts, root)
    name = parts[0]
    if name.startswith(FOLDER):
        return load_folder(name[len(FOLDER):])
    root = root or datasets_dir()
    key = f"{name}@{root}"
    with _cache_lock:
        if key in _cache:
            return _cache[key]
        cache_file = tensor_cache_path(root, name)
        cached = _read_tensor_cache(cache_file, name)
        if cached is not None:
            _cache[key] = cached
            return cached
        if name == "mnist":
            splits = _load_mnist(root)
        else:
            from torchvision import datasets as tv_datasets

            source = DOWNLOADABLE[name]
            cls = getattr(tv_datasets, source.class_name)
            transposed = source.transposed
            try:
                train = cls(str(root), train=True, download=True, **source.options)
                test = cls(str(root), train=False, download=True, **source.options)
            except (OSError, RuntimeError) as exc:
                raise CnndeskError(
                    f"{source.title} is not bundled with cnndesk and could not be downloaded ({exc}). "
                    f"Connect to the internet once, or copy its IDX files into {root}."
                ) from exc
            splits = Splits(name, _from_torchvision(train, transposed), _from_torchvision(test, transposed))
        _write_tensor_cache(cache_file, splits)
        _cache[key] = splits
        return splits


def load_mnist() -> Splits:
    return load_splits("mnist")


def _as_dataset(images: np.ndarray, labels: np.ndarray, paths: list[str]) -> TensorDataset:
    pixels = torch.from_numpy(np.round(images * 255.0).astype(np.uint8)).reshape(-1, 1, 28, 28)
    return TensorDataset(pixels, torch.from_numpy(labels.astype(np.int64)), tuple(paths))


def load_folder(path: str | Path, hold_out: bool = True) -> Splits:
    """A folder of digit images as a dataset (the module's docstring says how it is split). ``hold_out=False``:
    every image trains where the folder has no train/ folder (a folder mixed into another dataset)."""
    from .digits import has_train_test_layout, image_files, is_held_out, no_digits_message, read_digits

    root = Path(path).expanduser().resolve()
    if not root.is_dir():
        raise CnndeskError(f"No such folder: {root}")
    if has_train_test_layout(root):
        train_files = image_files(root / "train")
        test_files = image_files(root / "test") if hold_out else []
    else:
        files = image_files(root)
        test_files = [digit for digit in files if hold_out and is_held_out(digit)]
        held = set(test_files)
        train_files = [digit for digit in files if digit not in held]
    if not train_files and not test_files:
        raise CnndeskError(no_digits_message(root))
    splits, problems = [], []
    for files in (train_files, test_files):
        images, labels, used, unreadable = read_digits(files)
        splits.append(_as_dataset(images, labels, [str(digit.path) for digit in used]))
        problems += unreadable
    if not len(splits[0]) and not len(splits[1]):
        raise CnndeskError(f"None of the {len(problems)} images in {root} could be read; the first: {problems[0]}")
    return Splits(FOLDER + str(root), splits[0], splits[1], tuple(problems))


def _mix(parts: list[str], root: Path | None) -> Splits:
    """The first dataset's splits, with each further one's training images added to its training set, repeated
    until they are about MIX_PERCENT of it (a larger set comes whole), all in one fixed shuffled order."""
    base = load_splits(parts[0], root)
    trains, unreadable = [base.train], list(base.unreadable)
    for part in parts[1:]:
        added = load_folder(part[len(FOLDER):], hold_out=False) if part.startswith(FOLDER) \
            else load_splits(part, root)
        unreadable += added.unreadable
        if not len(added.train):
            raise CnndeskError(f"{part[len(FOLDER):] if part.startswith(FOLDER) else part} has no training images "
                               "to mix in.")
        wanted = MIX_PERCENT / (100 - MIX_PERCENT) * len(base.train)
        repeats = max(1, math.ceil(wanted / len(added.train)))
        trains.append(TensorDataset(added.train.images.repeat(repeats, 1, 1, 1), added.train.labels.repeat(repeats)))
    order = torch.randperm(sum(len(t) for t in trains), generator=torch.Generator().manual_seed(MIX_SEED))
    images = torch.cat([t.images for t in trains]).index_select(0, order)
    labels = torch.cat([t.labels for t in trains]).index_select(0, order)
    return Splits("+".join(parts), TensorDataset(images, labels), base.test, tuple(unreadable))
