"""My digits: keep the drawing with its label (a key on the canvas, or a button), see what the model reads in each
kept digit, its accuracy on them beside MNIST's, and delete."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from cnndesk.locations import pretrained_path

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")

SEVEN = [(70, 60), (210, 60), (170, 140), (130, 240)]


@pytest.fixture
def shared_mnist(tmp_path):
    """The session's unpacked MNIST in this test's data folder (a link): read from its tensor file, not unpacked
    again for every test."""
    from cnndesk.engine import load_splits
    from cnndesk.locations import datasets_dir

    load_splits("mnist")  # into the session's data folder, once
    (tmp_path / "datasets").symlink_to(datasets_dir(), target_is_directory=True)


@pytest.fixture
def window(make_window, monkeypatch, tmp_path, shared_mnist):
    monkeypatch.setenv("CNNDESK_DATA_DIR", str(tmp_path))
    return make_window()


def test_digits_kept_by_key_and_button_are_read_and_counted(window, stroke, qtbot, tmp_path, bundled_accuracy):
    assert "No digits of your own yet" in window.myDigitsAccuracy.text()
    stroke(window.canvas, SEVEN)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=10000)  # (a busy machine)
    QTest.keyClick(window.canvas, Qt.Key.Key_7)  # the canvas has the keys once drawn on
    kept = list((tmp_path / "my-digits" / "7").iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".png"
    assert window.digitGallery.count() == 1 and window.digitGallery.item(0).text() == "7"
    assert "100.0% of your one digit" in window.myDigitsAccuracy.text()
    assert f"{100 * bundled_accuracy('lenet5'):.2f}% of MNIST" in window.myDigitsAccuracy.text()
    QTest.keyClick(window.canvas, Qt.Key.Key_7)  # again, the canvas untouched: no second copy
    assert window.digitGallery.count() == 1
    window.labelButtons[2].click()  # another label for the same drawing corrects the first
    assert window.digitGallery.count() == 1 and window.digitGallery.item(0).text() == "2 → 7"
    assert not any((tmp_path / "my-digits" / "7").iterdir())
    window.labelButtons[7].click()
    stroke(window.canvas, SEVEN)  # drawn again: a second digit
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=10000)  # (a busy machine)
    window.labelButtons[1].click()  # this 7 kept as a 1 by mistake: read as a 7
    assert window.digitGallery.count() == 2
    assert "50.0% of your 2 digits" in window.myDigitsAccuracy.text()
    wrong = next(window.digitGallery.item(i) for i in range(2) if window.digitGallery.item(i).text() == "1 → 7")
    assert not window.deleteButton.isEnabled()  # nothing selected: nothing to delete
    wrong.setSelected(True)
    assert window.deleteButton.isEnabled()
    window.deleteButton.click()
    assert window.digitGallery.count() == 1 and not any((tmp_path / "my-digits" / "1").iterdir())
    assert not window.deleteButton.isEnabled()


def test_keeping_an_empty_canvas_keeps_nothing(window, qtbot, tmp_path):
    window.labelButtons[3].click()
    assert window.digitGallery.count() == 0
    assert not (tmp_path / "my-digits" / "3").exists()


# -- fine-tuning, import and export -----------------------------------------------------------------------------
def panel_of(window):
    from cnndesk.ui.panels.my_digits import MyDigitsTab

    return next(panel for panel in window.panels if isinstance(panel, MyDigitsTab))


def leaning_digit(index: int):
    """MNIST test digit ``index`` as a hand that leans far to the right draws it (the bundled LeNet5 reads ~65% of
    them; the same hand as tests/engine/test_digits.py's ``leaning``)."""
    import numpy as np
    from PIL import Image

    from cnndesk.engine import load_splits

    test = load_splits("mnist").test
    picture = Image.fromarray(np.kron(test.images[index, 0].numpy(), np.ones((6, 6), np.uint8)))
    picture = picture.rotate(-30, resample=Image.BICUBIC)
    picture = picture.transform(picture.size, Image.AFFINE, (1, 1.0, -1.0 * picture.size[1] / 2, 0, 1, 0),
                                resample=Image.BICUBIC)
    return np.asarray(picture, np.float32) / 255.0, int(test.labels[index])


def percentages(text: str) -> list[float]:
    import re

    return [float(value) for value in re.findall(r"(\d+\.\d+)%", text)]


def test_fine_tune_waits_for_ten_digits_then_trains_and_shows_before_and_after(window, qtbot, tmp_path, monkeypatch,
                                                                           bundled_accuracy):
    import hashlib

    import cnndesk.engine.digits as digits
    from cnndesk.engine.digits import DigitFolder

    monkeypatch.setattr(digits, "FINE_TUNE_SAMPLES", 2000)  # a second of training, not a few
    # One training thread: a 16-step run never gets to tune its threads, and on a busy 2-core machine two threads
    # wait for each other (see ThreadLimit).
    monkeypatch.setenv("CNNDESK_TRAIN_THREADS", "1")
    button = window.fineTuneButton
    assert not button.isEnabled() and "at least 10" in button.toolTip()
    mine = DigitFolder(tmp_path / "my-digits")
    for index in range(20):  # two of each digit at least, in a hand the model reads badly
        mine.add(*leaning_digit(index))
    panel_of(window).refresh()
    assert button.isEnabled() and "20 digits" in button.toolTip()
    bundled = window.session.model.path
    bundled_bytes = hashlib.sha256(bundled.read_bytes()).hexdigest()
    with qtbot.waitSignal(window.runner.finished, timeout=120_000):
        button.click()
        qtbot.waitUntil(lambda: window.runner.is_running(), timeout=30_000)
        assert not button.isEnabled() and "in progress" in button.toolTip()
    report = window.myDigitsReport.text()
    assert "your digits" in report and "MNIST test" in report, report
    mine_before, mine_after, mnist_before, mnist_after = percentages(report)
    assert mine_after >= mine_before + 10 and mnist_after >= 98.0, report
    assert mnist_before == round(100 * bundled_accuracy("lenet5"), 2), report
    saved = list((tmp_path / "checkpoints").glob("lenet5-*.safetensors"))
    assert len(saved) == 1 and saved[0].name in report
    assert window.session.model.path == saved[0]  # the fine-tuned model is the current one
    assert hashlib.sha256(bundled.read_bytes()).hexdigest() == bundled_bytes  # and the bundled one untouched
    assert f"{mine_after:.1f}% of your 20 digits" in window.myDigitsAccuracy.text()
    qtbot.waitUntil(button.isEnabled, timeout=5000)


def test_import_and_export_go_through_non_blocking_folder_dialogs_and_remember_the_folders(window, qtbot,
                                                                                          tmp_path):
    from cnndesk.engine.digits import DigitFolder
    from cnndesk.ui.panels.my_digits import EXPORT_FOLDER, IMPORT_FOLDER
    from cnndesk.ui.settings import open_settings

    source = DigitFolder(tmp_path / "scans")
    for index in range(3):
        source.add(*leaning_digit(index))
    (tmp_path / "scans" / "5").mkdir()
    (tmp_path / "scans" / "5" / "torn.png").write_bytes(b"not a png")
    assert not window.exportDigitsButton.isEnabled()  # nothing to export yet

    window.importDigitsButton.click()
    dialog = panel_of(window).folderDialog
    qtbot.waitExposed(dialog)
    assert dialog.isVisible() and window.isEnabled()  # open(), not exec(): the window's event loop runs on
    dialog.fileSelected.emit(str(tmp_path / "scans"))  # the folder the user picked
    dialog.close()
    qtbot.waitUntil(lambda: window.digitGallery.count() == 3, timeout=10_000)
    report = window.myDigitsReport.text()
    assert "Imported 3 digits" in report and "1 files could not be read" in report and "torn.png" in report
    assert open_settings().value(IMPORT_FOLDER) == str(tmp_path / "scans")

    qtbot.waitUntil(window.exportDigitsButton.isEnabled, timeout=5000)
    window.exportDigitsButton.click()
    dialog = panel_of(window).folderDialog
    qtbot.waitExposed(dialog)
    dialog.fileSelected.emit(str(tmp_path / "out"))
    dialog.close()
    qtbot.waitUntil(lambda: "Exported 3 digits" in window.myDigitsReport.text(), timeout=10_000)
    assert sorted(d.label for d in DigitFolder(tmp_path / "out").digits()) == \
        sorted(d.label for d in DigitFolder(tmp_path / "my-digits").digits())
    assert open_settings().value(EXPORT_FOLDER) == str(tmp_path / "out")
    window.exportDigitsButton.click()  # the next dialog opens where the last export went
    assert panel_of(window).folderDialog.directory().absolutePath() == str(tmp_path / "out")
    panel_of(window).folderDialog.close()


def test_fine_tune_says_why_it_cannot_start_from_a_model_never_saved(window, tmp_path):
    from cnndesk.engine import build_model
    from cnndesk.engine.digits import DigitFolder

    mine = DigitFolder(tmp_path / "my-digits")
    for index in range(10):
        mine.add(*leaning_digit(index))
    window.session.set_model(build_model("lenet5"), {"model": {"name": "lenet5"}}, path=None)
    assert not window.fineTuneButton.isEnabled()
    assert "starts from a saved model" in window.fineTuneButton.toolTip()


def test_the_delete_key_in_the_gallery_deletes_the_selected_digit_and_leaves_the_canvas(window, stroke, qtbot,
                                                                                         tmp_path):
    stroke(window.canvas, SEVEN)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=10000)  # (a busy machine)
    window.labelButtons[7].click()
    window.bottomTabs.setCurrentWidget(window.myDigits)
    window.digitGallery.setFocus()
    window.digitGallery.item(0).setSelected(True)
    QTest.keyClick(window.digitGallery, Qt.Key.Key_Delete)
    assert window.digitGallery.count() == 0 and not any((tmp_path / "my-digits" / "7").iterdir())
    assert not window.canvas.is_empty()  # the window's Delete (Clear canvas) did not fire instead
