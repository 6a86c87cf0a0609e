"""The Test set tab: evaluate in the background, the confusion matrix, a cell's images, and a test image as the
current input that every view explains."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest

from cnndesk.engine import build_model, load_mnist
from cnndesk.locations import pretrained_path

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")


def show_test_set_tab(window, qtbot):
    tabs = window.inspectTabs
    tabs.setCurrentIndex([tabs.tabText(i) for i in range(tabs.count())].index("Test set"))
    qtbot.waitUntil(lambda: window.testBrowser is not None and window.testBrowser.isVisible(), timeout=5000)


def test_evaluating_fills_the_matrix_and_a_cell_lists_its_images(window, qtbot, bundled_accuracy):
    show_test_set_tab(window, qtbot)
    browser, matrix = window.testBrowser, window.confusionMatrix
    assert len(browser.shown_indices()) == 10_000 and not browser.wrongCheck.isEnabled()
    window.evaluateButton.click()
    qtbot.waitUntil(lambda: window.session.evaluation is not None, timeout=30000)
    evaluation = window.session.evaluation
    assert evaluation.accuracy == pytest.approx(bundled_accuracy("lenet5"), abs=5e-5)  # the bundled LeNet5's figure
    np.testing.assert_array_equal(matrix.matrix, evaluation.confusion_matrix)
    assert f"{100 * evaluation.accuracy:.2f}%" in window.evaluateResult.text()
    # A click on the 4 → 9 cell lists exactly those images, most confident first.
    point = matrix.plot.vb.mapViewToScene(QPointF(9.5, 4.5))
    view_point = matrix.mapFromScene(point)
    QTest.mouseClick(matrix.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, view_point)
    qtbot.waitUntil(lambda: browser.predictedBox.currentData() == 9, timeout=2000)
    shown = browser.shown_indices()
    labels = load_mnist().test.labels.numpy()
    samples = evaluation.samples
    assert len(shown) == evaluation.confusion_matrix[4][9]
    assert all(labels[i] == 4 and samples.predictions[i] == 9 for i in shown)
    assert list(samples.confidences[shown]) == sorted(samples.confidences[shown], reverse=True)
    # Mistakes only, all digits: every wrong one and nothing else.
    browser.trueBox.setCurrentIndex(0)
    browser.predictedBox.setCurrentIndex(0)
    browser.wrongCheck.setChecked(True)
    assert len(browser.shown_indices()) == round((1 - evaluation.accuracy) * 10_000)


def test_a_test_image_becomes_the_current_input_and_new_weights_forget_the_evaluation(window, qtbot):
    show_test_set_tab(window, qtbot)
    browser = window.testBrowser
    browser.trueBox.setCurrentIndex(browser.trueBox.findData(2))
    first = browser.model.index(0, 0)
    qtbot.waitUntil(lambda: browser.grid.visualRect(first).isValid(), timeout=2000)  # laid out in batches
    rect = browser.grid.visualRect(first)
    QTest.mouseClick(browser.grid.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     rect.center())
    index = browser.shown_indices()[0]
    qtbot.waitUntil(lambda: window.session.test_index == index, timeout=2000)
    image = load_mnist().test.images[index, 0].numpy() / 255.0
    np.testing.assert_allclose(window.session.input.centred, image, atol=1e-6)  # MNIST's own, not redrawn
    assert window.inspection.label == 2
    assert not window.canvas.is_empty()  # the canvas shows it
    # An evaluation is of the weights it tested: another model forgets it.
    window.evaluateButton.click()
    qtbot.waitUntil(lambda: window.session.evaluation is not None, timeout=30000)
    mlp = build_model("mlp")
    window.set_model(mlp, {"model": mlp.config}, None)
    assert window.session.evaluation is None and not browser.wrongCheck.isEnabled()
