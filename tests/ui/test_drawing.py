"""Drawing on the canvas and seeing the prediction, the input and every layer."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtTest import QTest

from cnndesk.engine import load_mnist
from cnndesk.locations import pretrained_path
from tests.ui.conftest import canvas_point

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")


def predicted_digit(window) -> int | None:
    text = window.predictionLabel.text()
    return int(text[0]) if text[:1].isdigit() else None


def test_empty_canvas_predicts_nothing(window):
    assert predicted_digit(window) is None
    assert not window.probabilities.values.any()
    assert window.inspection is None


def test_vertical_stroke_is_a_one(window, stroke, qtbot):
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: predicted_digit(window) == 1, timeout=2000)
    probs = window.probabilities.values
    assert probs.argmax() == 1 and abs(probs.sum() - 1) < 1e-4


def test_circle_is_a_zero(window, stroke, qtbot):
    angles = np.linspace(0, 2 * np.pi, 40)
    points = [(140 + 60 * np.sin(a), 140 - 95 * np.cos(a)) for a in angles]
    stroke(window.canvas, points)
    qtbot.waitUntil(lambda: predicted_digit(window) == 0, timeout=2000)


def test_seven_is_a_seven(window, stroke, qtbot):
    stroke(window.canvas, [(70, 60), (210, 60), (170, 140), (130, 240)])
    qtbot.waitUntil(lambda: predicted_digit(window) == 7, timeout=2000)


def test_prediction_updates_while_drawing_before_release(window, stroke, qtbot):
    stroke(window.canvas, [(140, 40), (140, 240)], release=False)
    qtbot.waitUntil(lambda: predicted_digit(window) is not None, timeout=2000)
    QTest.mouseRelease(window.canvas, Qt.MouseButton.LeftButton)


def test_every_layer_is_shown_with_its_shape(window, stroke, qtbot):
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=2000)
    titles = window.activations.layer_titles()
    assert titles == ["conv1 · ReLU", "pool1", "conv2 · ReLU", "pool2", "fc1 · ReLU", "fc2 · ReLU", "fc3"]
    shapes = [layer.shape for layer in window.inspection.layers]
    assert shapes == [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), (120,), (84,), (10,)]
    conv1 = window.activations.rows[0].image.image
    assert conv1 is not None and np.nanmax(conv1) > 0  # the feature maps are painted
    model_input = window.inputView.images["centred"].image
    assert model_input.shape == (28, 28)


def test_fully_connected_bars_stay_inside_their_plot(window, stroke, qtbot):
    """The value axis of each fc layer follows the values: no bar is cut off, none is squashed flat."""
    fc_rows = [row for row in window.activations.rows if row.bars is not None]
    assert fc_rows
    for points in ([(140, 40), (140, 240)], [(80, 70), (200, 70), (140, 230)]):
        window.canvas.clear()
        stroke(window.canvas, points)
        for row in fc_rows:
            values = row.bars.getData()[1]
            low, high = row.plot.viewRange()[1]
            assert low <= values.min() and values.max() <= high
            assert values.max() - min(values.min(), 0) >= 0.25 * (high - low)


def test_clear_button_and_escape_clear_the_prediction(window, stroke, qtbot):
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: predicted_digit(window) == 1, timeout=2000)
    qtbot.mouseClick(window.clearButton, Qt.MouseButton.LeftButton)
    assert window.canvas.is_empty() and predicted_digit(window) is None
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: predicted_digit(window) == 1, timeout=2000)
    QTest.keyClick(window, Qt.Key.Key_Escape)
    assert window.canvas.is_empty() and predicted_digit(window) is None
    assert not window.probabilities.values.any()


def test_ctrl_z_undoes_the_last_stroke(window, stroke, qtbot):
    stroke(window.canvas, [(140, 40), (140, 240)])
    stroke(window.canvas, [(60, 150), (220, 150)])
    assert window.canvas.stroke_count() == 2
    QTest.keyClick(window, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert window.canvas.stroke_count() == 1
    qtbot.waitUntil(lambda: predicted_digit(window) == 1, timeout=2000)


def test_brush_width_changes_the_stroke(window, stroke):
    window.brushSlider.setValue(10)
    stroke(window.canvas, [(140, 40), (140, 240)])
    thin = window.canvas.ink_array().sum()
    window.canvas.clear()
    window.brushSlider.setValue(40)
    stroke(window.canvas, [(140, 40), (140, 240)])
    assert window.canvas.ink_array().sum() > 2.5 * thin


def _mnist_png(tmp_path, index: int, dark_on_light: bool):
    splits = load_mnist()
    pixels = splits.test.images[index, 0].numpy()
    if dark_on_light:
        pixels = 255 - pixels
    path = tmp_path / f"digit{index}.png"
    Image.fromarray(pixels).resize((112, 112), Image.Resampling.BILINEAR).save(path)
    return path, int(splits.test.labels[index])


@pytest.mark.parametrize("dark_on_light", [True, False])
def test_opened_image_is_recognised(window, qtbot, tmp_path, dark_on_light):
    path, label = _mnist_png(tmp_path, 0, dark_on_light)
    window.canvas.load_file(path)
    qtbot.waitUntil(lambda: predicted_digit(window) == label, timeout=2000)


def test_dropped_image_is_recognised(window, qtbot, tmp_path):
    path, label = _mnist_png(tmp_path, 1, True)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                       Qt.KeyboardModifier.NoModifier)
    window.canvas.dropEvent(event)
    qtbot.waitUntil(lambda: predicted_digit(window) == label, timeout=2000)


def test_unreadable_image_gives_a_message_not_a_crash(window, tmp_path):
    bad = tmp_path / "notes.png"
    bad.write_text("not an image")
    window.canvas.load_file(bad)
    assert "not an image" in window.statusBar().currentMessage()
    assert window.canvas.is_empty()
    # A good image next: its name replaces the error, which no longer holds.
    path, _ = _mnist_png(tmp_path, 0, True)
    window.canvas.load_file(path)
    assert window.statusBar().currentMessage() == f"Opened {path.name}"


def test_summary_tab_describes_the_current_model(window):
    table = window.summaryView
    assert table.item(0, 0).text() == "conv1" and table.item(0, 2).text() == "[6, 28, 28]"
    assert table.item(0, 5).text() == "(28 − 5 + 2·2) / 1 + 1 = 28"
    last = table.rowCount() - 1
    assert table.item(last, 0).text() == "total" and table.item(last, 3).text() == "61,706"


def test_a_blank_image_keeps_the_drawing_and_says_why(window, stroke, tmp_path, qtbot):
    from PIL import Image

    blank = tmp_path / "white.png"
    Image.new("L", (64, 64), 255).save(blank)
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: window.predictionLabel.text().startswith("1"), timeout=5000)
    window.canvas.load_file(blank)
    assert not window.canvas.is_empty()  # the digit drawn is still there
    message = window.statusBar().currentMessage()
    assert "no digit found" in message and "white.png" in message


def test_hidden_layer_maps_cost_the_pen_nothing_and_catch_up_when_shown(window, stroke, qtbot):
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=2000)
    before = window.activations.rows[0].image.image.copy()
    tabs = window.inspectTabs
    tabs.setCurrentIndex([tabs.tabText(i) for i in range(tabs.count())].index("Why?"))
    qtbot.waitUntil(lambda: not window.activations.isVisible())
    stroke(window.canvas, [(60, 140), (220, 140)])  # a cross now
    qtbot.waitUntil(lambda: window.inspection.layers[0].output.sum() != before.sum(), timeout=2000)
    assert np.array_equal(window.activations.rows[0].image.image, before, equal_nan=True)  # not redrawn while hidden
    tabs.setCurrentIndex(0)
    qtbot.waitUntil(lambda: window.activations.isVisible())
    shown = window.activations.rows[0].image.image
    assert np.allclose(np.nan_to_num(shown[:28, :28]), window.inspection.layers[0].output[0])


@pytest.mark.parametrize(("digit", "points"), [
    (2, [(40, 60), (70, 20), (120, 15), (160, 50), (150, 100), (60, 180), (40, 195), (170, 195)]),
    (4, [(60, 20), (40, 120), (160, 120)]),
])
def test_a_small_digit_drawn_with_a_thick_brush_keeps_its_shape(window, stroke, qtbot, digit, points):
    """A 2 or a 4 a third of the usual size, drawn with a brush of 40: the strokes as drawn would fill its loops in
    once scaled to MNIST's 20 px box (a blob: "8" or "9"); the model sees them evened to the digit's size."""
    window.brushSlider.setValue(40)
    small = [(40 + 0.35 * x, 40 + 0.35 * y) for x, y in points]
    stroke(window.canvas, small)
    if digit == 4:
        stroke(window.canvas, [(40 + 0.35 * 130, 40 + 0.35 * 60), (40 + 0.35 * 130, 40 + 0.35 * 200)])
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=2000)
    qtbot.wait(50)
    assert predicted_digit(window) == digit
    # What the model sees has thinner strokes than the canvas shows: evened to about a tenth of the digit's size.
    assert window.session.input.source.sum() < 0.6 * window.canvas.ink_array().sum()


def test_an_opened_pen_thin_digit_has_its_strokes_evened_before_the_model_sees_it(window, qtbot, tmp_path):
    from cnndesk.engine.preprocess import measure_strokes

    picture = Image.new("L", (280, 280), 255)  # a 0 drawn with a 2 px pen on white paper
    ImageDraw.Draw(picture).ellipse((90, 40, 190, 240), outline=0, width=2)
    path = tmp_path / "thin-zero.png"
    picture.save(path)
    window.canvas.load_file(path)
    qtbot.waitUntil(lambda: window.session.input is not None, timeout=2000)
    prepared = window.session.input
    assert prepared.evened is not None  # the step ran: an image has no stroke paths to draw again
    before, after = measure_strokes(prepared.source), measure_strokes(prepared.evened)
    assert before.ratio < 0.05 and 0.09 < after.ratio < 0.13  # a pen line grown to MNIST's width for its size
    qtbot.waitUntil(lambda: predicted_digit(window) == 0, timeout=2000)


def test_a_click_without_a_move_leaves_the_reading_as_it_was(window, qtbot, stroke):
    stroke(window.canvas, [(125, 110), (140, 100), (155, 110), (155, 125), (125, 160), (160, 160)])  # a small 2
    qtbot.waitUntil(lambda: window.session.input is not None, timeout=2000)
    before = window.session.input.centred.copy()
    point = canvas_point(window.canvas, 260, 260)  # far from the digit, as before pressing a key
    QTest.mouseClick(window.canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, point)
    window.update_prediction()
    np.testing.assert_array_equal(window.session.input.centred, before)


def test_the_prediction_asks_for_the_same_room_whatever_it_says(window):
    """Its size drives the columns beside it: a size that followed the text made them jump at each prediction."""
    label = window.predictionLabel
    sizes = set()
    for show in (label.show_empty, lambda: label.show_prediction(1, 0.97), lambda: label.show_prediction(8, 1.0)):
        show()
        sizes.add((label.sizeHint().width(), label.minimumSizeHint().width()))
    assert len(sizes) == 1


def test_open_image_starts_in_the_folder_of_the_last_image_opened(window, qtbot, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    path, _ = _mnist_png(tmp_path, 0, True)
    starts = []

    def pick(_parent, _title, start, _filter):
        starts.append(start)
        return str(path), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", pick)
    window.open_image_dialog()
    window.open_image_dialog()
    assert starts[1] == str(tmp_path)  # the first started at home, the second where the image was


def test_a_stroke_that_runs_off_the_canvas_is_given_to_the_model_as_shown(window, stroke, qtbot):
    """Off the canvas the ink was invisible, yet the model read it: a stroke is held to the canvas's edge."""
    stroke(window.canvas, [(140, 40), (140, 280)])
    qtbot.waitUntil(lambda: window.session.input is not None, timeout=5000)
    inside = window.session.input.centred.copy()
    window.canvas.clear()
    stroke(window.canvas, [(140, 40), (140, 420)])  # on past the bottom edge: what is past it does not count
    qtbot.waitUntil(lambda: window.session.input is not None, timeout=5000)
    assert np.abs(window.session.input.centred - inside).max() < 0.05
