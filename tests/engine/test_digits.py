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


def test_keeping_a_digit_where_the_folder_cannot_be_written_names_the_folder_and_why(tmp_path, mnist):
    blocker = tmp_path / "data"
    blocker.write_text("a file where the data folder should be")
    folder = DigitFolder(blocker / "my-digits")
    with pytest.raises(CnndeskError, match=r"could not be kept in .*my-digits.7 \(.*data is a file, not a folder\)"):
        folder.add(upscaled(mnist, 0), 7)
    assert blocker.read_text() == "a file where the data folder should be"


# -- import and export ----------------------------------------------------------------------------------------
def write_digit(mnist, index: int, path, polarity: str = "dark-on-light", scale: int = 10):
    """MNIST test image ``index`` as a file a person might have: any size, any format, either polarity."""
    ink = mnist.test.images[index, 0].numpy()
    pixels = np.kron(255 - ink if polarity == "dark-on-light" else ink, np.ones((scale, scale), np.uint8))
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path)
    return path


def test_import_copies_the_readable_digits_skips_the_rest_and_never_twice(tmp_path, mnist):
    source = tmp_path / "scans"
    seven = write_digit(mnist, 0, source / "7" / "a.png")  # test image 0 is a 7, 1 a 2
    two = write_digit(mnist, 1, source / "2" / "b.jpg", polarity="light-on-dark", scale=3)
    write_digit(mnist, 0, source / "train" / "7" / "c.png", scale=2)  # a train/ folder laid out so comes too
    (source / "4").mkdir()
    (source / "4" / "broken.png").write_bytes(b"not a png")
    Image.new("L", (50, 50), 255).save(source / "4" / "blank.png")
    (source / "4" / "notes.txt").write_text("not an image: not counted")
    mine = DigitFolder(tmp_path / "mine")
    report = mine.import_from(source)
    assert report.copied == 3 and report.already_there == 0
    assert len(report.skipped) == 2 and any("broken.png" in s for s in report.skipped) \
        and any("blank.png" in s for s in report.skipped)
    assert sorted(p.name for p in report.files) == ["a.png", "b.jpg", "c.png"]
    assert (tmp_path / "mine" / "7" / "a.png").read_bytes() == seven.read_bytes()  # copied as they are
    _, labels, _, problems = mine.inputs()
    assert labels.tolist() == [2, 7, 7] and not problems
    again = mine.import_from(source)  # importing the same folder twice does not double the digits
    assert again.copied == 0 and again.already_there == 3
    assert len(mine.digits()) == 3
    assert (tmp_path / "mine" / "2" / "b.jpg").read_bytes() == two.read_bytes()


def test_export_writes_the_imagefolder_layout_without_overwriting(tmp_path, mnist):
    mine = DigitFolder(tmp_path / "mine")
    kept = [mine.add(upscaled(mnist, 0), 7), mine.add(upscaled(mnist, 1), 2)]
    out = tmp_path / "out"
    (out / "7").mkdir(parents=True)
    (out / "7" / kept[0].path.name).write_bytes(b"someone else's file of the same name")
    report = mine.export_to(out)
    assert report.copied == 2 and report.already_there == 0
    assert (out / "7" / kept[0].path.name).read_bytes() == b"someone else's file of the same name"
    assert sorted(p.relative_to(out).as_posix() for p in report.files) == sorted(
        [f"2/{kept[1].path.name}", f"7/{kept[0].path.stem}-2.png"])
    assert mine.export_to(out).copied == 0  # all there already
    _, labels, _, _ = DigitFolder(out).inputs()
    assert labels.tolist() == [2, 7]


def test_import_and_export_refuse_what_would_not_make_sense(tmp_path, mnist):
    mine = DigitFolder(tmp_path / "mine")
    mine.add(upscaled(mnist, 0), 7)
    with pytest.raises(CnndeskError, match="is your digits folder"):
        mine.import_from(tmp_path / "mine")
    with pytest.raises(CnndeskError, match="inside your digits folder"):
        mine.export_to(tmp_path / "mine" / "copy")
    (tmp_path / "flat").mkdir()
    write_digit(mnist, 0, tmp_path / "flat" / "seven.png")  # not in a folder named after its digit
    with pytest.raises(CnndeskError, match="sub-folders 0 … 9"):
        mine.import_from(tmp_path / "flat")
    with pytest.raises(CnndeskError, match="No such folder"):
        mine.import_from(tmp_path / "missing")


# -- fine-tuning ---------------------------------------------------------------------------------------------
def leaning(mnist, index: int) -> np.ndarray:
    """A test digit as a hand that leans far to the right writes it: rotated and sheared further than MNIST's
    digits and the training augmentation ever are (the bundled LeNet5 reads ~65% of such digits)."""
    picture = Image.fromarray(np.kron(mnist.test.images[index, 0].numpy(), np.ones((6, 6), np.uint8)))
    picture = picture.rotate(-30, resample=Image.BICUBIC)
    picture = picture.transform(picture.size, Image.AFFINE, (1, 1.0, -1.0 * picture.size[1] / 2, 0, 1, 0),
                                resample=Image.BICUBIC)
    return np.asarray(picture, np.float32) / 255.0


def per_class(mnist, start: int, count: int) -> list[int]:
    labels = mnist.test.labels.numpy()
    return [start + int(i) for digit in range(10) for i in np.flatnonzero(labels[start:] == digit)[:count]]


def test_fine_tune_config_is_a_short_gentle_run_of_the_same_architecture():
    from cnndesk.engine import build_model, fine_tune_config

    model = build_model("lenet5", width=0.5)
    config = fine_tune_config(model.config, "mnist+folder:/somewhere")
    assert config.model == "lenet5" and config.model_options == model.config["options"]
    assert config.epochs == 1 and config.train_samples == 12_000 and config.schedule == "cosine"
    assert config.lr == pytest.approx(0.0006)  # a tenth of LeNet5's recipe
    assert config.dataset == "mnist+folder:/somewhere" and config.augment
    assert fine_tune_config(model.config, epochs=3, lr=None).epochs == 3  # given options win, None ones do not


def test_fine_tuning_on_a_few_own_digits_closes_the_gap(tmp_path, mnist):
    """Twenty digits of a leaning hand, seconds of fine-tuning mixed with MNIST: the model reads them, and other
    digits of that hand it never saw, much better; MNIST stays where it was."""
    from cnndesk.engine import fine_tune_config, fit
    from cnndesk.engine.digits import my_digits_dataset
    from cnndesk.engine.preprocess import preprocess

    mine = DigitFolder(tmp_path / "mine")
    for index in per_class(mnist, 0, 2):
        mine.add(leaning(mnist, index), int(mnist.test.labels[index]))
    images, labels, _, _ = mine.inputs()
    unseen = per_class(mnist, 5000, 10)
    unseen_images = np.stack([preprocess(leaning(mnist, i)).centred for i in unseen])
    unseen_labels = mnist.test.labels[unseen].numpy()
    model, _ = load_model(None)
    before = accuracy_on(model, images, labels)[0], accuracy_on(model, unseen_images, unseen_labels)[0]
    config = fine_tune_config(model.config, my_digits_dataset(mine.root), test_samples=1000)  # the app's recipe
    result = fit(config, init_from=model)
    after = accuracy_on(result.model, images, labels)[0], accuracy_on(result.model, unseen_images, unseen_labels)[0]
    # (20 and 100 digits: a step of 5 and 1 points.)
    assert after[0] >= before[0] + 0.15 - 1e-9 and after[1] >= before[1] + 0.05 - 1e-9, (before, after)
    assert result.test_accuracy >= 0.98  # MNIST (the mix's test set is MNIST's)
