"""Digits of one's own: labelled drawings kept as PNG files in a folder per digit (torchvision's ImageFolder
layout), what a model makes of them, and a model fine-tuned on them.

A drawing is stored as drawn (the canvas's ink, dark on white paper, as anyone would save a digit) and goes through
the same preprocessing as an image opened in the app (``prepare_file``) whenever it is read, so a folder of scans
or photos in this layout works the same way — as the My digits tab's gallery, or as a dataset
(``load_splits("folder:PATH")``, see ``cnndesk.engine.data``).
"""

from __future__ import annotations

import hashlib
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from cnndesk.locations import unwritable_reason

from .errors import CnndeskError
from .preprocess import load_image, preprocess

if TYPE_CHECKING:
    from .train import TrainConfig

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm")
LABELS = tuple(str(digit) for digit in range(10))
# A folder dataset without train/ and test/ folders holds out this share of its images for testing, chosen by a
# hash of each file's label and name: a file stays on its side as others are added or removed.
TEST_PERCENT = 20

# Fine-tuning: a short run from a model's weights at a low learning rate, on the data it was trained on with one's
# own digits mixed in (``my_digits_dataset``). One epoch of FINE_TUNE_SAMPLES images takes LeNet5 a few seconds.
MIN_FINE_TUNE_DIGITS = 10  # fewer own digits teach the model nothing but those few drawings
FINE_TUNE_EPOCHS = 1
FINE_TUNE_SAMPLES = 12_000
FINE_TUNE_LR_FACTOR = 0.1  # of the model's own recipe's learning rate
FINE_TUNE_SCHEDULE = "cosine"  # from the low rate down to zero: no warm-up that would shake the trained weights


@dataclass(frozen=True)
class Digit:
    path: Path
    label: int


@dataclass(frozen=True)
class CopyReport:
    """What an import or an export did."""

    source: Path
    target: Path
    files: list[Path] = field(default_factory=list)  # the files written into ``target``
    already_there: int = 0  # files the target held already, byte for byte (not copied again)
    skipped: list[str] = field(default_factory=list)  # one message per file left out (unreadable, blank)

    @property
    def copied(self) -> int:
        return len(self.files)


def image_files(folder: str | Path) -> list[Digit]:
    """Every image file in ``folder/0`` … ``folder/9``, by label, then by name (oldest first for cnndesk's names)."""
    folder = Path(folder)
    found = []
    for label in range(10):
        sub = folder / str(label)
        if sub.is_dir():
            found += [Digit(path, label) for path in sorted(sub.iterdir())
                      if path.suffix.lower() in SUFFIXES and path.is_file()]
    return found


def has_digit_folders(folder: str | Path) -> bool:
    folder = Path(folder)
    return any((folder / label).is_dir() for label in LABELS)


def has_train_test_layout(folder: str | Path) -> bool:
    """``folder/train/<digit>/`` exists: the folder says itself which images are for testing (``folder/test``)."""
    return has_digit_folders(Path(folder) / "train")


def is_held_out(digit: Digit) -> bool:
    """Whether a folder dataset without train/ and test/ folders tests on this file rather than training on it."""
    key = f"{digit.label}/{digit.path.name}".encode()
    return int.from_bytes(hashlib.sha1(key).digest()[:4], "big") % 100 < TEST_PERCENT


def prepare_file(path: str | Path) -> np.ndarray:
    """An image file as the model input (28×28 float32 in [0, 1], ink high), exactly as the app prepares an image
    it opens (its strokes evened to MNIST's width: a file has no stroke paths); CnndeskError if it cannot be read or
    holds no ink."""
    prepared = preprocess(load_image(path), even_strokes=True)
    if prepared is None:
        raise CnndeskError(f"{path}: no digit found (the image is blank).")
    return prepared.centred


def read_digits(digits: Sequence[Digit], progress: Callable[[float], None] | None = None,
                cancelled: Callable[[], bool] | None = None) -> tuple[np.ndarray, np.ndarray, list[Digit], list[str]]:
    """The readable ``digits`` as model inputs (N, 28, 28) float32 with their labels, the digits they are, and one
    message per file that could not be used."""
    images, labels, used, problems = [], [], [], []
    for index, digit in enumerate(digits):
        if cancelled is not None and cancelled():
            raise CnndeskError("Reading the images was cancelled.")
        try:
            images.append(prepare_file(digit.path))
        except CnndeskError as exc:
            problems.append(str(exc))
        else:
            labels.append(digit.label)
            used.append(digit)
        if progress is not None:
            progress((index + 1) / len(digits))
    stacked = np.stack(images) if images else np.zeros((0, 28, 28), np.float32)
    return stacked, np.asarray(labels, dtype=np.int64), used, problems


class DigitFolder:
    """A folder with sub-folders ``0`` … ``9`` of digit images."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def add(self, ink: np.ndarray, label: int) -> Digit:
        """Store a drawing (2-D, [0, 1], ink high) as ``<label>/<time>.png``, written atomically."""
        from PIL import Image

        from .checkpoint import atomic_write

        if not (isinstance(label, int | np.integer) and 0 <= int(label) <= 9):
            raise CnndeskError(f"A digit's label is 0 to 9, not {label!r}.")
        ink = np.asarray(ink, dtype=np.float32)
        if ink.ndim != 2 or preprocess(ink) is None:
            raise CnndeskError("There is no digit to keep: the drawing is empty.")
        paper = Image.fromarray(np.round(255 * (1.0 - ink.clip(0, 1))).astype(np.uint8), mode="L")
        folder = self.root / str(int(label))
        try:
            folder.mkdir(parents=True, exist_ok=True)
            path = _free_name(folder / f"{time.strftime('%Y%m%d-%H%M%S')}.png")
            atomic_write(path, lambda tmp: paper.save(tmp, format="PNG"))
        except OSError as exc:  # a data folder that cannot be written: its reason, not the system's errno line
            raise CnndeskError(f"The digit could not be kept in {folder} ({unwritable_reason(folder, exc)}).") from exc
        return Digit(path, int(label))

    def digits(self) -> list[Digit]:
        """Every image in the folders 0–9, by label, then by name (oldest first for cnndesk's own names)."""
        return image_files(self.root)

    def remove(self, digit: Digit) -> None:
        digit.path.unlink(missing_ok=True)

    def inputs(self) -> tuple[np.ndarray, np.ndarray, list[Digit], list[str]]:
        """The readable digits as model inputs (N, 28, 28) float32 with their labels, the digits they are, and one
        message per file that could not be used."""
        return read_digits(self.digits())

    # -- import and export ----------------------------------------------------------------------------------
    def export_to(self, target: str | Path, progress: Callable[[float], None] | None = None) -> CopyReport:
        """Copy every digit into ``target/<label>/`` (the same layout: a dataset as ``folder:TARGET``). A file the
        target already holds byte for byte is not copied again; another file of the same name gets a new name."""
        target = Path(target).expanduser()
        if _inside(target, self.root):
            raise CnndeskError(f"{target} is inside your digits folder: export them to a folder outside it.")
        if target.exists() and not target.is_dir():
            raise CnndeskError(f"{target} is a file, not a folder.")
        digits = self.digits()
        copier = _Copier()
        written, already = [], 0
        for index, digit in enumerate(digits):
            copy = copier.copy(digit.path, target / str(digit.label))
            if copy is None:
                already += 1
            else:
                written.append(copy)
            if progress is not None:
                progress((index + 1) / len(digits))
        return CopyReport(self.root, target, written, already)

    def import_from(self, source: str | Path, progress: Callable[[float], None] | None = None,
                    cancelled: Callable[[], bool] | None = None) -> CopyReport:
        """Copy the digit images of a folder in the ImageFolder layout (``source/<label>/``, and its ``train/`` and
        ``test/`` folders laid out so) into this folder. Files that cannot be read or hold no ink are skipped, one
        message each; a file this folder already holds byte for byte is not copied again."""
        source = Path(source).expanduser()
        if not source.is_dir():
            raise CnndeskError(f"No such folder: {source}")
        if _inside(source, self.root) or _inside(self.root, source):
            raise CnndeskError(f"{source} is your digits folder (or holds it): import from another folder.")
        found = image_files(source) + image_files(source / "train") + image_files(source / "test")
        if not found:
            raise CnndeskError(no_digits_message(source))
        copier = _Copier()
        written, already, skipped = [], 0, []
        for index, digit in enumerate(found):
            if cancelled is not None and cancelled():
                raise CnndeskError("The import was cancelled.")
            try:
                prepare_file(digit.path)  # only digits the app can read come in
            except CnndeskError as exc:
                skipped.append(str(exc))
            else:
                copy = copier.copy(digit.path, self.root / str(digit.label))
                if copy is None:
                    already += 1
                else:
                    written.append(copy)
            if progress is not None:
                progress((index + 1) / len(found))
        return CopyReport(source, self.root, written, already, skipped)


def no_digits_message(folder: Path) -> str:
    """The one error for a folder that is no dataset of digit images."""
    return (f"{folder} holds no digit images: a dataset folder has sub-folders 0 … 9 of images "
            f"({folder / '0' / '*.png'} …), or train/ and test/ folders laid out so.")


def _inside(path: Path, folder: Path) -> bool:
    path, folder = path.resolve(), folder.resolve()
    return path == folder or folder in path.parents


def _free_name(path: Path) -> Path:
    """``path``, or ``name-2.png``, ``name-3.png``… where a file of that name is there already."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.stem}-{number}{path.suffix}")
    return candidate


class _Copier:
    """Copies files into label folders, leaving out those a folder holds already byte for byte (found by size
    first, so that importing into a large folder does not read every file in it)."""

    def __init__(self) -> None:
        self._sizes: dict[Path, dict[int, list[Path]]] = {}

    def copy(self, path: Path, folder: Path) -> Path | None:
        """Copy ``path`` into ``folder`` under its own name (or a free one); None if the folder holds it already."""
        sizes = self._sizes.get(folder)
        if sizes is None:
            folder.mkdir(parents=True, exist_ok=True)
            sizes = self._sizes[folder] = {}
            for other in folder.iterdir():
                if other.is_file():
                    sizes.setdefault(other.stat().st_size, []).append(other)
        size = path.stat().st_size
        data = path.read_bytes()  # digit images are small
        if any(other.read_bytes() == data for other in sizes.get(size, [])):
            return None
        target = _free_name(folder / path.name)
        shutil.copyfile(path, target)
        sizes.setdefault(size, []).append(target)
        return target


def accuracy_on(model, images: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The share of ``images`` the model reads as their label, and its prediction for each."""
    import torch

    from .inspect import predict_probabilities

    if len(images) == 0:
        return float("nan"), np.zeros(0, np.int64)
    predicted = predict_probabilities(model, torch.from_numpy(images[:, None])).argmax(1).numpy()
    return float((predicted == labels).mean()), predicted


# -- fine-tuning -------------------------------------------------------------------------------------------
def my_digits_dataset(folder: str | Path, base: str = "mnist") -> str:
    """The dataset spec that mixes one's digits into ``base``'s training images (its test set stays ``base``'s)."""
    return f"{base}+folder:{Path(folder).expanduser().resolve()}"


def fine_tune_config(model: dict[str, Any], dataset: str = "mnist", **overrides: Any) -> TrainConfig:
    """A run that fine-tunes a model of this architecture (``model``: a Network's ``config``, {name, options}):
    its own recipe with one epoch of FINE_TUNE_SAMPLES images at a tenth of the learning rate, decaying to zero.
    ``overrides`` (TrainConfig fields; None values are ignored) win. Start it from the weights with
    ``new_run(config, init_from=checkpoint)``."""
    from .models import model_spec
    from .train import TrainConfig

    name = model["name"]
    recipe_lr = float(model_spec(name).recipe.get("lr", TrainConfig.lr))
    settings: dict[str, Any] = {"epochs": FINE_TUNE_EPOCHS, "lr": recipe_lr * FINE_TUNE_LR_FACTOR,
                                "schedule": FINE_TUNE_SCHEDULE, "train_samples": FINE_TUNE_SAMPLES,
                                "dataset": dataset}
    settings.update({key: value for key, value in overrides.items() if value is not None})
    config = TrainConfig.for_model(name, **settings)
    config.model_options = dict(model.get("options", {}))
    return config
