"""Datasets as whole tensors on the training device.

MNIST ships with cnndesk (resources/mnist, the original gzipped IDX files). On first use it is unpacked once,
with its checksums verified, into the user data folder where torchvision's ``MNIST`` class reads it. Other
torchvision datasets are downloaded on demand; offline, that fails with one clear message.

What torchvision read is kept beside it as one safetensors file of whole tensors: later processes load that
(~0.1 s) instead of importing torchvision and parsing the IDX files again (~2 s of every start-up).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from cnndesk.locations import datasets_dir, resource_path

from .errors import CnndeskError

# MD5 of the uncompressed IDX files (resources/mnist/README.md).
MNIST_FILES = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# Datasets torchvision can download (title, torchvision class name); same 28×28 grey format as MNIST.
# torchvision is imported only when a dataset is loaded: it costs seconds of start-up otherwise.
DOWNLOADABLE = {
    "fashion-mnist": ("Fashion-MNIST", "FashionMNIST"),
    "kmnist": ("Kuzushiji-MNIST", "KMNIST"),
}
DATASETS = ("mnist", *DOWNLOADABLE)


@dataclass(frozen=True)
class TensorDataset:
    """A whole split as tensors: images uint8 (N, 1, 28, 28), labels int64 (N,)."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def to(self, device: torch.device | str) -> TensorDataset:
        return TensorDataset(self.images.to(device), self.labels.to(device))

    def subset(self, count: int | None) -> TensorDataset:
        if count is None or count >= len(self):
            return self
        return TensorDataset(self.images[:count], self.labels[:count])

    def float_images(self) -> torch.Tensor:
        """Pixels as float in [0, 1], ink high: the models' input convention."""
        return self.images.float().div_(255.0)


@dataclass(frozen=True)
class Splits:
    name: str
    train: TensorDataset
    test: TensorDataset

    def to(self, device: torch.device | str) -> Splits:
        return Splits(self.name, self.train.to(device), self.test.to(device))


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
        source = resource_path("mnist", f"{name}.gz")
        if not source.exists():
            raise CnndeskError(f"The bundled MNIST file {source} is missing; reinstall cnndesk.")
        partial = target.with_suffix(".partial")
        with gzip.open(source, "rb") as src, partial.open("wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if _md5(partial) != md5:
            partial.unlink(missing_ok=True)
            raise CnndeskError(f"The bundled MNIST file {source.name} is corrupt (checksum mismatch).")
        partial.replace(target)


def _from_torchvision(dataset) -> TensorDataset:
    images = dataset.data.to(torch.uint8).unsqueeze(1).contiguous()
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
    splits = []
    for split in ("train", "test"):
        images, labels = tensors[f"{split}.images"], tensors[f"{split}.labels"]
        if (images.dtype != torch.uint8 or images.dim() != 4 or tuple(images.shape[1:]) != (1, 28, 28)
                or labels.dtype != torch.int64 or labels.shape != (images.shape[0],)
                or (len(labels) and not 0 <= int(labels.min()) <= int(labels.max()) <= 9)):
            return None
        splits.append(TensorDataset(images, labels))
    return Splits(name, *splits)


def _write_tensor_cache(path: Path, splits: Splits) -> None:
    from .checkpoint import atomic_write

    tensors = {"train.images": splits.train.images, "train.labels": splits.train.labels,
               "test.images": splits.test.images, "test.labels": splits.test.labels}
    metadata = {"cnndesk.tensor_cache": TENSOR_CACHE_VERSION, "dataset": splits.name}
    with contextlib.suppress(OSError):  # only a cache: the next start reads the dataset through torchvision again
        atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


_cache: dict[str, Splits] = {}
_cache_lock = threading.Lock()


def load_splits(name: str = "mnist", root: Path | None = None) -> Splits:
    """Train and test splits of a dataset on the CPU, cached for the life of the process."""
    name = name.lower()
    if name not in DATASETS:
        raise CnndeskError(f"Unknown dataset '{name}'. Known: {', '.join(DATASETS)}.")
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
        from torchvision import datasets as tv_datasets

        if name == "mnist":
            _unpack_mnist(root)
            train = tv_datasets.MNIST(str(root), train=True, download=False)
            test = tv_datasets.MNIST(str(root), train=False, download=False)
        else:
            title, class_name = DOWNLOADABLE[name]
            cls = getattr(tv_datasets, class_name)
            try:
                train = cls(str(root), train=True, download=True)
                test = cls(str(root), train=False, download=True)
            except (OSError, RuntimeError) as exc:
                raise CnndeskError(
                    f"{title} is not bundled with cnndesk and could not be downloaded ({exc}). "
                    f"Connect to the internet once, or copy its IDX files into {root}."
                ) from exc
        splits = Splits(name, _from_torchvision(train), _from_torchvision(test))
        _write_tensor_cache(cache_file, splits)
        _cache[key] = splits
        return splits


def load_mnist() -> Splits:
    return load_splits("mnist")
