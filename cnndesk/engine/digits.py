"""Digits of one's own: labelled drawings kept as PNG files in a folder per digit (torchvision's ImageFolder
layout), and what a model makes of them.

A drawing is stored as drawn (the canvas's ink, dark on white paper, as anyone would save a digit) and goes through
the same preprocessing as a drawing on the canvas when it is tested, so a folder of scans or photos in this layout
works the same way.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import CnndeskError
from .preprocess import load_image, preprocess

SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm")


@dataclass(frozen=True)
class Digit:
    path: Path
    label: int


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
        stamp = time.strftime("%Y%m%d-%H%M%S")
        path = folder / f"{stamp}.png"
        count = 1
        while path.exists():
            count += 1
            path = folder / f"{stamp}-{count}.png"
        atomic_write(path, lambda tmp: paper.save(tmp, format="PNG"))
        return Digit(path, int(label))

    def digits(self) -> list[Digit]:
        """Every image in the folders 0–9, by label, then by name (oldest first for cnndesk's own names)."""
        found = []
        for label in range(10):
            folder = self.root / str(label)
            if folder.is_dir():
                found += [Digit(path, label) for path in sorted(folder.iterdir())
                          if path.suffix.lower() in SUFFIXES and path.is_file()]
        return found

    def remove(self, digit: Digit) -> None:
        digit.path.unlink(missing_ok=True)

    def inputs(self) -> tuple[np.ndarray, np.ndarray, list[Digit], list[str]]:
        """The readable digits as model inputs (N, 28, 28) float32 with their labels, the digits they are, and one
        message per file that could not be used."""
        images, labels, used, problems = [], [], [], []
        for digit in self.digits():
            try:
                prepared = preprocess(load_image(digit.path))
            except CnndeskError as exc:
                problems.append(str(exc))
                continue
            if prepared is None:
                problems.append(f"{digit.path}: no digit found (the image is blank).")
                continue
            images.append(prepared.centred)
            labels.append(digit.label)
            used.append(digit)
        stacked = np.stack(images) if images else np.zeros((0, 28, 28), np.float32)
        return stacked, np.asarray(labels, dtype=np.int64), used, problems


def accuracy_on(model, images: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """The share of ``images`` the model reads as their label, and its prediction for each."""
    import torch

    from .inspect import predict_probabilities

    if len(images) == 0:
        return float("nan"), np.zeros(0, np.int64)
    predicted = predict_probabilities(model, torch.from_numpy(images[:, None])).argmax(1).numpy()
    return float((predicted == labels).mean()), predicted
