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
def window(make_window, monkeypatch, tmp_path):
    monkeypatch.setenv("CNNDESK_DATA_DIR", str(tmp_path))
    return make_window()


def test_digits_kept_by_key_and_button_are_read_and_counted(window, stroke, qtbot, tmp_path):
    assert "No digits of your own yet" in window.myDigitsAccuracy.text()
    stroke(window.canvas, SEVEN)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=2000)
    QTest.keyClick(window.canvas, Qt.Key.Key_7)  # the canvas has the keys once drawn on
    kept = list((tmp_path / "my-digits" / "7").iterdir())
    assert len(kept) == 1 and kept[0].suffix == ".png"
    assert window.digitGallery.count() == 1 and window.digitGallery.item(0).text() == "7"
    assert "100.0% of your 1 digits" in window.myDigitsAccuracy.text()
    assert "99.41% of MNIST" in window.myDigitsAccuracy.text()
    window.labelButtons[1].click()  # the same 7, kept as a 1 by mistake: read as a 7
    assert window.digitGallery.count() == 2
    assert "50.0% of your 2 digits" in window.myDigitsAccuracy.text()
    wrong = next(window.digitGallery.item(i) for i in range(2) if window.digitGallery.item(i).text() == "1 → 7")
    wrong.setSelected(True)
    window.deleteButton.click()
    assert window.digitGallery.count() == 1 and not any((tmp_path / "my-digits" / "1").iterdir())


def test_keeping_an_empty_canvas_keeps_nothing(window, qtbot, tmp_path):
    window.labelButtons[3].click()
    assert window.digitGallery.count() == 0
    assert not (tmp_path / "my-digits" / "3").exists()
