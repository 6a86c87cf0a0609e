"""The Side by side tab: a pinned model beside the current one on the same drawing, and the CNN-vs-MLP lesson in one
click — moving the digit throws the MLP off more than LeNet5."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QRect
from PySide6.QtGui import QImage

from cnndesk.locations import pretrained_path
from cnndesk.ui.side_by_side import BARS_MIN_HEIGHT, MAP_ROW_MIN_HEIGHT, shift_image

pytestmark = pytest.mark.skipif(not (pretrained_path("lenet5").exists() and pretrained_path("mlp").exists()),
                                reason="bundled LeNet5 or MLP weights missing")

SEVEN = [[(70, 60), (210, 60), (170, 140), (130, 240)]]
ONE = [[(140, 40), (140, 240)]]
TWO = [[(80, 90), (110, 50), (170, 50), (195, 95), (170, 150), (80, 235), (210, 235)]]


def draw(window, stroke, strokes) -> None:
    for points in strokes:
        stroke(window.canvas, points)


def show_side_by_side(window, qtbot):
    window.inspectTabs.setCurrentWidget(window.sideBySide)
    qtbot.waitExposed(window.sideBySide)


def shown_digit(column) -> int | None:
    text = column.prediction.text()
    return int(text[0]) if text[:1].isdigit() else None


def test_shift_image_moves_the_ink_and_fills_with_blank():
    image = np.zeros((28, 28), np.float32)
    image[10:14, 12:16] = 1.0
    moved = shift_image(image, -5, 3)
    assert moved.sum() == image.sum()
    assert moved[13:17, 7:11].all() and moved[10:13].sum() == 0
    edge = np.ones((28, 28), np.float32)
    assert shift_image(edge, 4, 0)[:, :4].sum() == 0 and shift_image(edge, 0, -2)[-2:].sum() == 0


def test_cnn_vs_mlp_is_one_click_and_both_read_the_drawn_digit(window, stroke, qtbot):
    view = window.sideBySide
    assert view.pinnedColumn.is_empty and "Pin a model" in view.pinnedColumn.emptyLabel.text()
    draw(window, stroke, SEVEN)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=3000)
    view.lessonButton.click()
    assert window.inspectTabs.currentWidget() is view  # the click shows the tab
    assert window.session.pinned.name == "lenet5" and window.session.model.name == "mlp"
    assert "lenet5" in view.pinnedColumn.title.text() and "mlp" in view.currentColumn.title.text()
    assert view.explanation.isVisible() and view.shift() != (0, 0)
    # Centred, both read the seven; each column lists its own model's layers and shows the chosen one.
    view.set_shift(0, 0)
    assert shown_digit(view.pinnedColumn) == shown_digit(view.currentColumn) == 7
    assert view.pinnedColumn.layerBox.itemData(0) == "conv1" and view.currentColumn.layerBox.itemData(0) == "fc1"
    assert view.pinnedColumn.layerView.rows[0].image.image.shape == (28, 6 * 29 - 1)  # six maps in a row
    assert view.currentColumn.layerView.rows[0].bars is not None  # fc1's 100 units, as bars
    # The main prediction is the current model's, on the centred drawing.
    np.testing.assert_allclose(window.probabilities.values, view.currentColumn.probabilities.values, rtol=1e-6)


@pytest.mark.parametrize(("digit", "strokes"), [(1, ONE), (2, TWO)])
def test_moving_the_digit_throws_the_mlp_off_where_the_cnn_holds(window, stroke, qtbot, digit, strokes):
    draw(window, stroke, strokes)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=3000)
    view = window.sideBySide
    view.lessonButton.click()
    lesson_shift = view.shift()
    view.set_shift(0, 0)
    assert shown_digit(view.pinnedColumn) == shown_digit(view.currentColumn) == digit
    centred = [column.probabilities.values[digit] for column in (view.pinnedColumn, view.currentColumn)]
    main_prediction = window.probabilities.values.copy()
    view.set_shift(*lesson_shift)
    moved = [column.probabilities.values[digit] for column in (view.pinnedColumn, view.currentColumn)]
    lenet5_loss, mlp_loss = centred[0] - moved[0], centred[1] - moved[1]
    assert mlp_loss > lenet5_loss + 0.5, (centred, moved)
    assert shown_digit(view.pinnedColumn) == digit and shown_digit(view.currentColumn) != digit
    # Only this tab sees the moved digit: the main prediction stays on the centred drawing.
    np.testing.assert_array_equal(window.probabilities.values, main_prediction)
    # The moved input is shown as both models see it: dark ink on white, each pixel 2×2.
    image = view.movedInput.pixmap().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    shown = np.array([[image.pixelColor(2 * x, 2 * y).value() for x in range(28)] for y in range(28)])
    expected = 255 - 255 * shift_image(window.session.input.centred, *lesson_shift)
    np.testing.assert_allclose(shown, expected, atol=1)


def test_pinning_the_current_model_and_unpinning_it(window, stroke, qtbot):
    show_side_by_side(window, qtbot)
    draw(window, stroke, SEVEN)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=3000)
    window.pinAction.trigger()  # the menu's entry (and its shortcut)
    view = window.sideBySide
    assert not view.pinnedColumn.is_empty and shown_digit(view.pinnedColumn) == 7
    assert view.unpinButton.isEnabled() and window.unpinAction.isEnabled()
    box = view.pinnedColumn.layerBox
    box.setCurrentIndex(box.findData("conv2"))
    assert view.pinnedColumn.layerView.layer_titles() == ["conv2 · ReLU"]
    view.unpinButton.click()
    window.pinAction.trigger()  # pinned again: the layer chosen last comes back (a remembered choice)
    assert view.pinnedColumn.layer == "conv2" and view.pinnedColumn.layerView.rows[0].values is not None
    view.unpinButton.click()
    assert window.session.pinned is None and view.pinnedColumn.is_empty
    assert view.pinnedColumn.layerBox.count() == 0 and not view.unpinButton.isEnabled()
    assert shown_digit(view.currentColumn) == 7  # the current column stays


def test_the_hidden_tab_does_not_inspect_and_catches_up_when_shown(window, stroke, qtbot):
    view = window.sideBySide
    view.lessonButton.click()
    view.set_shift(-5, 0)
    window.inspectTabs.setCurrentIndex(0)  # Every layer
    qtbot.waitUntil(lambda: not view.isVisible())
    redraws, inspections = window.redraws, window.session.inspections
    compared = []
    original = window.session.compare
    window.session.compare = lambda image: compared.append(image) or original(image)
    draw(window, stroke, SEVEN)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=3000)
    assert window.session.inspections > inspections  # the drawing was predicted...
    assert window.redraws == redraws and not compared  # ...but the hidden tab neither drew nor inspected
    assert shown_digit(view.currentColumn) is None
    show_side_by_side(window, qtbot)
    assert window.redraws == redraws + 1 and len(compared) == 1
    assert shown_digit(view.pinnedColumn) == 7 and shown_digit(view.currentColumn) is not None




def shown_output(column) -> tuple[QRect, QRect]:
    """Where the column's layer output is drawn (a map mosaic's image, a vector's bars), and the viewport of its
    scroll area, both in the viewport's coordinates."""
    view = column.layerView
    row = view.rows[0]
    scene_rect = (row.image if row.bars is None else row.plot.vb).sceneBoundingRect()
    drawn = view.graphics.mapFromScene(scene_rect).boundingRect()
    return QRect(view.graphics.mapTo(view.viewport(), drawn.topLeft()), drawn.size()), view.viewport().rect()


# 1280×720 as asked; 1216×680 is what the window opens at on a 1280×720 screen (fitted to 95% of it).
@pytest.mark.parametrize("size", [(1280, 720), (1216, 680)])
def test_the_tab_reads_in_a_1280x720_window(window, stroke, qtbot, size):
    """At 1280×720 the tab has about 530×290 px: the message of an empty column fits, and each model's column shows
    its prediction on the model's line, its probabilities clear of the layer combo and the chosen layer's output
    in view; the tab asks no more width than such a window can spare."""
    window.resize(*size)
    show_side_by_side(window, qtbot)
    view = window.sideBySide
    assert view.minimumSizeHint().width() <= 520  # more squeezes the drawing's column next to it

    def rect(widget) -> QRect:  # in the tab's coordinates
        return QRect(widget.mapTo(view, QPoint(0, 0)), widget.size())

    draw(window, stroke, SEVEN)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=3000)
    empty = view.pinnedColumn.emptyLabel
    assert view.pinnedColumn.is_empty and empty.isVisible()
    assert empty.heightForWidth(empty.width()) <= empty.height()  # the whole message, none of it cut off
    view.lessonButton.click()
    qtbot.wait(50)  # the layouts' posted requests
    assert view.explanation.isVisible() and view.rect().contains(rect(view.explanation))
    for column, layer in ((view.pinnedColumn, "conv1"), (view.currentColumn, "fc1")):
        assert column.layer == layer
        head, prediction = rect(column.title), rect(column.prediction)
        assert head.top() == prediction.top() and not head.intersects(prediction)  # one line
        assert column.title.toolTip() == column.title.text() and column.prediction.text()[:1].isdigit()
        bars, combo, output = rect(column.probabilities), rect(column.layerBox), rect(column.layerView)
        assert bars.height() >= BARS_MIN_HEIGHT and not bars.intersects(combo)
        assert not combo.intersects(output) and not output.intersects(rect(view.explanation))
        assert column.layerView.isVisible() and output.height() > 0 and view.rect().contains(output)
        # The output itself: conv1's one row of six maps, fc1's bars, whole in the scroll area's viewport.
        drawn, viewport = shown_output(column)
        assert drawn.height() >= MAP_ROW_MIN_HEIGHT - 2 and viewport.adjusted(-1, -1, 1, 1).contains(drawn), \
            (layer, drawn, viewport)
    # The probabilities are level: one reads across from one model's to the other's (the two columns share an odd
    # width as they can, so one may be a pixel wider).
    pinned, current = rect(view.pinnedColumn.probabilities), rect(view.currentColumn.probabilities)
    assert (pinned.top(), pinned.height()) == (current.top(), current.height())
    assert pinned.left() - rect(view.pinnedColumn).left() == current.left() - rect(view.currentColumn).left()
    assert abs(pinned.width() - current.width()) <= 1
