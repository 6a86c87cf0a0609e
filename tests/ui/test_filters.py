"""The Filters tab: every conv layer's kernels (an MLP's templates) on a scale with zero in the middle, following
the weights, with the value under the pointer."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF

from cnndesk.engine import build_model, layer_filters


def show_filters_tab(window, qtbot):
    tabs = window.inspectTabs
    tabs.setCurrentIndex([tabs.tabText(i) for i in range(tabs.count())].index("Filters"))
    qtbot.waitExposed(window.filtersView)


def test_lenet5s_kernels_are_shown_on_a_scale_centred_on_zero(window, qtbot):
    show_filters_tab(window, qtbot)
    view = window.filtersView
    expected = layer_filters(window.predictor.model)
    assert [row.layer.name for row in view.rows] == ["conv1", "conv2"]
    for row, layer in zip(view.rows, expected, strict=True):
        low, high = row.image.levels
        assert low == -high == -layer.limit  # white is zero, whatever the weights' own range
        tiles = row.image.image
        assert np.nanmax(np.abs(tiles)) == layer.limit  # every weight is in the image
        assert np.isnan(tiles).sum() > 0  # with gutters between the kernels


def test_pointing_at_a_weight_reads_its_value(window, qtbot):
    show_filters_tab(window, qtbot)
    row = window.filtersView.rows[1]  # conv2: a row per output channel, a column per input channel
    weights = row.layer.weights
    # Kernel (output 2, input 3), weight (1, 4): tile origin at (3 * 6, 2 * 6) in the image's pixels.
    point = row.view.mapViewToScene(QPointF(3 * 6 + 4.5, 2 * 6 + 1.5))
    window.filtersView._hover(point)
    assert window.filtersView.hoverLabel.text() == f"conv2[2, 3] (1, 4): {weights[2, 3, 1, 4]:+.4f}"


def test_the_filters_follow_the_weights_and_an_mlp_shows_templates(window, qtbot):
    show_filters_tab(window, qtbot)
    view = window.filtersView
    before = view.rows[0].image.image.copy()
    state = {k: v * 2 for k, v in window.predictor.model.state_dict().items()}
    window.session.follow_run(build_model("lenet5"))
    window.session.load_weights(state)  # a snapshot of the run in progress
    after = view.rows[0].image.image
    np.testing.assert_allclose(np.nan_to_num(after), np.nan_to_num(2 * before), rtol=1e-6)
    mlp = build_model("mlp")
    window.set_model(mlp, {"model": mlp.config}, None)
    assert [(row.layer.name, row.layer.kind) for row in view.rows] == [("fc1", "templates")]


def test_a_hidden_filters_tab_costs_nothing_and_catches_up_when_shown(window, qtbot):
    show_filters_tab(window, qtbot)
    view = window.filtersView
    before = view.rows[0].image.image.copy()
    window.inspectTabs.setCurrentIndex(0)  # Every layer
    qtbot.waitUntil(lambda: not view.isVisible())
    window.session.follow_run(build_model("lenet5"))
    window.session.load_weights({k: -v for k, v in window.predictor.model.state_dict().items()})
    np.testing.assert_array_equal(np.nan_to_num(view.rows[0].image.image), np.nan_to_num(before))  # not redrawn
    show_filters_tab(window, qtbot)
    expected = layer_filters(window.predictor.model)[0].weights
    assert np.nanmax(view.rows[0].image.image) == expected.max()


def test_what_excites_each_channel_is_computed_in_the_background_and_kept_per_weights(window, qtbot):
    show_filters_tab(window, qtbot)
    pages, wants = window.filterPages, window.wantsView
    pages.setCurrentWidget(wants)
    assert [wants.layerBox.itemData(i) for i in range(wants.layerBox.count())] == [
        "conv1", "pool1", "conv2", "pool2", "logits"]
    wants.layerBox.setCurrentIndex(wants.layerBox.findData("conv1"))
    wants.showButton.click()
    assert not wants.showButton.isEnabled()  # while it runs
    qtbot.waitUntil(lambda: len(wants.wants) == 6, timeout=20000)
    assert [w.channel for w in wants.wants] == list(range(6)) and all(len(w.patches) == 9 for w in wants.wants)
    assert "conv1" in wants.status.text()
    first = wants.wants
    wants.showButton.click()  # the same weights: from the cache, at once
    assert wants.wants is first and wants.showButton.isEnabled()
    # New weights from a run: the pictures are said to be of the earlier ones.
    window.session.follow_run(build_model("lenet5"))
    window.session.load_weights({k: v * 0.5 for k, v in window.predictor.model.state_dict().items()})
    assert "changed" in wants.status.text()


def test_the_layer_chosen_for_what_excites_it_is_remembered(make_window, qtbot):
    window = make_window()
    wants = window.wantsView
    wants.layerBox.setCurrentIndex(wants.layerBox.findData("pool2"))
    wants.layerBox.activated.emit(wants.layerBox.currentIndex())  # as a user's choice in the list does
    window.close()
    again = make_window()
    assert again.wantsView.layer == "pool2"
