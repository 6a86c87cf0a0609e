"""Digits of one's own: kept as PNGs in a folder per digit, read back as model inputs, and a model's accuracy on
them."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from cnndesk.engine import CnndeskError, load_model
from cnndesk.engine.digits import DigitFolder, accuracy_on


def upscaled(mnist, index: int) -> np.ndarray:
    """MNIST test image ``index`` as a 280×280 drawing."""
    image = mnist.test.images[index, 0].numpy().astype(np.float32) / 255.0
    return np.kron(image, np.ones((10, 10), np.float32))


def test_digits_are_kept_as_pngs_in_a_folder_per_label_and_read_back(tmp_path, mnist):
    folder = DigitFolder(tmp_path / "mine")
    first = folder.add(upscaled(mnist, 0), 7)  # test image 0 is a 7
    second = folder.add(upscaled(mnist, 1), 2)
    assert first.path.parent.name == "7" and first.path.suffix == ".png"
    with Image.open(first.path) as picture:  # dark ink on white paper, as drawn
        pixels = np.asarray(picture)
    assert pixels.shape == (280, 280) and pixels[0, 0] == 255 and pixels.min() < 50
    assert [d.label for d in folder.digits()] == [2, 7]
    images, labels, used, problems = folder.inputs()
    assert images.shape == (2, 28, 28) and labels.tolist() == [2, 7] and not problems
    assert [d.path for d in used] == [second.path, first.path]
    model, _ = load_model(None)
    accuracy, predicted = accuracy_on(model, images, labels)
    assert accuracy == 1.0 and predicted.tolist() == [2, 7]
    folder.remove(first)
    assert [d.label for d in folder.digits()] == [2]


def test_a_wrong_label_an_empty_drawing_and_a_broken_file_each_say_so(tmp_path, mnist):
    folder = DigitFolder(tmp_path / "mine")
    with pytest.raises(CnndeskError, match="0 to 9"):
        folder.add(upscaled(mnist, 0), 12)
    with pytest.raises(CnndeskError, match="empty"):
        folder.add(np.zeros((280, 280), np.float32), 3)
    assert folder.digits() == []
    folder.add(upscaled(mnist, 0), 7)
    (tmp_path / "mine" / "4").mkdir()
    (tmp_path / "mine" / "4" / "broken.png").write_bytes(b"not a png")
    images, labels, _, problems = folder.inputs()
    assert labels.tolist() == [7] and len(problems) == 1 and "broken.png" in problems[0]
    model, _ = load_model(None)
    assert np.isnan(accuracy_on(model, images[:0], labels[:0])[0])
