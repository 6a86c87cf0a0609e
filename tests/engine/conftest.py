"""Engine fixtures: a private data folder for the session, MNIST once, one small trained LeNet5."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cnndesk.engine import FitResult, Splits, TrainConfig, fit, load_splits


@pytest.fixture(scope="session", autouse=True)
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """CNNDESK_DATA_DIR points at a throwaway folder: no test writes to the real user folder."""
    path = tmp_path_factory.mktemp("cnndesk-data")
    previous = os.environ.get("CNNDESK_DATA_DIR")
    os.environ["CNNDESK_DATA_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("CNNDESK_DATA_DIR", None)
    else:
        os.environ["CNNDESK_DATA_DIR"] = previous


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread() -> Iterator[None]:
    """The engine tests train tiny models on tiny batches: one intra-op thread is faster than two, and on a
    busy 2-core machine OpenMP's spinning worker threads make a run tens of times slower. Results do not
    depend on it (each test compares runs made under the same setting)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="session")
def mnist(data_dir: Path) -> Splits:
    """The bundled MNIST, unpacked into the session's data folder (cached per process by the engine)."""
    return load_splits("mnist")


@pytest.fixture(scope="session")
def trained_lenet(mnist: Splits) -> FitResult:
    """LeNet5 after one epoch on 3,000 images in batches of 64 (the recipe otherwise), tested on 1,000 images."""
    config = TrainConfig.for_model("lenet5", epochs=1, batch_size=64, train_samples=3000, test_samples=1000)
    return fit(config, splits=mnist)


def ink_to_png(ink: np.ndarray, path: Path, polarity: str = "dark-on-light") -> Path:
    """Save an ink-high float image in [0, 1] as an 8-bit grey PNG, dark ink on light paper or the reverse."""
    values = np.clip(ink, 0.0, 1.0)
    if polarity == "dark-on-light":
        values = 1.0 - values
    Image.fromarray(np.round(values * 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def write_png(tmp_path: Path) -> Callable[..., Path]:
    """``write_png(ink, name="digit.png", polarity="dark-on-light")`` → the path of the written PNG."""

    def write(ink: np.ndarray, name: str = "digit.png", polarity: str = "dark-on-light") -> Path:
        return ink_to_png(ink, tmp_path / name, polarity)

    return write


def vertical_bar(size: int = 280) -> np.ndarray:
    """A '1' as a person draws it: a thick vertical stroke in the middle of a square canvas."""
    canvas = np.zeros((size, size), dtype=np.float32)
    canvas[size * 2 // 10: size * 8 // 10, size // 2 - size // 28: size // 2 + size // 28] = 1.0
    return canvas


@pytest.fixture
def bar_image() -> np.ndarray:
    return vertical_bar()
