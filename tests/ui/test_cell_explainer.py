"""Clicking a cell of any map: the explainer writes out how its value came about, matching PyTorch, and its receptive
field is outlined on the model input and on the canvas."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtTest import QTest

from cnndesk.engine import build_model
from cnndesk.locations import pretrained_path

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")

THREE = [(80, 60), (190, 60), (120, 140), (200, 190), (90, 240)]


def click_cell(window, layer: str, cell: tuple[int, ...]) -> None:
    """A real mouse click on one cell of a layer's maps (or on one bar of a vector layer)."""
    view = window.activations
    row = next(row for row in view.rows if row.name == layer)
    if len(cell) == 3:
        channel, y, x = cell
        height, width = row.signature[1][1:]
        tile_row, tile_col = divmod(channel, row.columns)
        scene = row.view.mapViewToScene(QPointF(tile_col * (width + 1) + x + 0.5, tile_row * (height + 1) + y + 0.5))
    else:
        scene = row.plot.vb.mapViewToScene(QPointF(cell[0], row.y_range[1] / 2))
    view.ensureVisible(0, int(view.graphics.mapFromScene(scene).y()), 10, 60)
    point = view.graphics.mapFromScene(scene)
    QTest.mouseClick(view.graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     QPoint(point.x(), point.y()))


@pytest.fixture
def three(window, stroke, qtbot):
    stroke(window.canvas, THREE)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=3000)
    return window


def brightest(window, layer: str) -> tuple[int, int, int]:
    values = next(row for row in window.inspection.layers if row.name == layer).output
    return tuple(int(i) for i in np.unravel_index(values.argmax(), values.shape))


def test_clicking_a_bright_cell_of_conv2_writes_out_its_sum_and_outlines_its_field(three, qtbot):
    window = three
    cell = brightest(window, "conv2")
    click_cell(window, "conv2", cell)
    qtbot.waitUntil(lambda: window.cellExplainer.explanation is not None, timeout=2000)
    explanation = window.cellExplainer.explanation
    assert (explanation.layer, explanation.cell) == ("conv2", cell)
    shown = next(layer for layer in window.inspection.layers if layer.name == "conv2").output[cell]
    assert abs(explanation.value - shown) <= 1e-4 and abs(explanation.torch_value - shown) <= 1e-6
    # The sum written out: one tile per input channel, their sums, the bias.
    assert window.cellExplainer.rows[0].values.shape == (6, 5, 5)
    text = window.cellExplainer.formula.text()
    assert f"{explanation.pre_activation:+.4f}" in text and f"{explanation.bias:+.4f}" in text
    # Its 14×14 receptive field on the model input, and where the drawing had it on the canvas.
    x0, y0, x1, y1 = explanation.receptive_field
    assert (x1 - x0, y1 - y0) == (14, 14) or min(x0, y0) == 0 or max(x1, y1) == 28  # clipped only at an edge
    outline = window.inputView.outline
    assert outline.isVisible() and outline.rect().getCoords() == pytest.approx((x0, y0, x1, y1))
    on_canvas = window.canvas.outline()
    expected = window.session.input.to_source((x0, y0, x1, y1))
    assert on_canvas is not None and on_canvas.getCoords() == pytest.approx(expected)
    # The clicked cell is marked on the maps.
    row = next(row for row in window.activations.rows if row.name == "conv2")
    assert row.marker.isVisible()


def test_pool_and_fc_cells_are_explained_too(three, qtbot):
    window = three
    click_cell(window, "pool1", (2, 7, 7))
    qtbot.waitUntil(lambda: window.cellExplainer.explanation is not None
                    and window.cellExplainer.explanation.layer == "pool1", timeout=2000)
    explanation = window.cellExplainer.explanation
    assert explanation.winner is not None and np.asarray(explanation.window).max() == pytest.approx(
        explanation.pre_activation)
    click_cell(window, "fc3", (3,))
    qtbot.waitUntil(lambda: window.cellExplainer.explanation.layer == "fc3", timeout=2000)
    explanation = window.cellExplainer.explanation
    assert explanation.cell == (3,) and explanation.contributions
    assert explanation.receptive_field == (0, 0, 28, 28)
    assert abs(explanation.value - window.inspection.layers[-1].output[3]) <= 1e-4


def test_the_explanation_follows_the_pen_and_a_new_model_drops_a_cell_it_lacks(three, stroke, qtbot):
    window = three
    click_cell(window, "conv2", (5, 4, 4))
    qtbot.waitUntil(lambda: window.cellExplainer.explanation is not None, timeout=2000)
    before = window.cellExplainer.explanation.patch.copy()
    stroke(window.canvas, [(60, 150), (220, 150)])  # a bar across: the cell sees different ink
    qtbot.waitUntil(lambda: not np.array_equal(window.cellExplainer.explanation.patch, before), timeout=2000)
    now = next(layer for layer in window.inspection.layers if layer.name == "conv2").output[5, 4, 4]
    assert abs(window.cellExplainer.explanation.value - now) <= 1e-4
    mlp = build_model("mlp")
    window.set_model(mlp, {"model": mlp.config}, None)
    assert window.session.selection is None and window.cellExplainer.explanation is None
    assert not window.inputView.outline.isVisible() and window.canvas.outline() is None


def test_pointing_at_a_map_reads_its_value(three):
    window = three
    row = next(row for row in window.activations.rows if row.name == "conv1")
    channel, y, x = 1, 14, 12
    height, width = row.signature[1][1:]
    tile_row, tile_col = divmod(channel, row.columns)
    scene = row.view.mapViewToScene(QPointF(tile_col * (width + 1) + x + 0.5, tile_row * (height + 1) + y + 0.5))
    window.activations._hover(scene)
    value = window.inspection.layers[0].output[channel, y, x]
    assert window.cellValue.text() == f"conv1 · ReLU [{channel}, {y}, {x}] = {value:+.4f}"
