"""The "Why?" tab: which pixels made the model say what it said, following the pen for saliency and Grad-CAM, in the
background for Integrated Gradients and occlusion, for any class or the difference of two."""

from __future__ import annotations

import numpy as np
import pytest

from cnndesk.locations import pretrained_path

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")

THREE = [(80, 60), (190, 60), (120, 140), (200, 190), (90, 240)]


def show_why_tab(window, qtbot):
    tabs = window.inspectTabs
    tabs.setCurrentIndex([tabs.tabText(i) for i in range(tabs.count())].index("Why?"))
    qtbot.waitExposed(window.attributionView)


def choose(combo, data) -> None:
    combo.setCurrentIndex(combo.findData(data))


def test_saliency_follows_the_pen_and_lies_on_the_ink(window, stroke, qtbot):
    show_why_tab(window, qtbot)
    view = window.attributionView
    choose(view.methodBox, "saliency")
    stroke(window.canvas, THREE)
    qtbot.waitUntil(lambda: view.attribution is not None, timeout=3000)
    first = view.attribution
    assert first.method == "saliency" and first.target == window.inspection.label
    assert first.values.shape == (28, 28)
    near_ink = window.session.input.centred > 0
    for _ in range(2):  # the ink and two pixels around it, diagonals included
        padded = np.pad(near_ink, 1)
        near_ink = np.any([padded[1 + dy: 29 + dy, 1 + dx: 29 + dx] for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    mass = np.abs(first.values)
    assert mass[near_ink].sum() > 0.5 * mass.sum()
    count = window.attributions
    stroke(window.canvas, [(60, 150), (220, 150)], release=False)  # while the pen is down
    qtbot.waitUntil(lambda: window.attributions > count, timeout=3000)
    assert not np.array_equal(view.attribution.values, first.values)


def test_integrated_gradients_arrive_from_the_background_and_add_up(window, stroke, qtbot):
    show_why_tab(window, qtbot)
    view = window.attributionView
    stroke(window.canvas, THREE)
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=3000)
    choose(view.methodBox, "integrated-gradients")
    qtbot.waitUntil(lambda: view.attribution is not None and view.attribution.method == "integrated-gradients",
                    timeout=10000)
    assert view.attribution.completeness_error <= 0.01
    assert "Completeness" in view.status.text()


def test_why_three_and_not_eight_is_the_difference_of_the_two_maps(window, stroke, qtbot):
    show_why_tab(window, qtbot)
    view = window.attributionView
    choose(view.methodBox, "saliency")
    stroke(window.canvas, THREE)
    qtbot.waitUntil(lambda: view.attribution is not None, timeout=3000)
    choose(view.targetBox, "3")
    three = view.attribution.values.copy()
    choose(view.targetBox, "8")
    eight = view.attribution.values.copy()
    choose(view.targetBox, "3")
    choose(view.versusBox, "8")
    assert (view.attribution.target, view.attribution.versus) == (3, 8)
    np.testing.assert_allclose(view.attribution.values, three - eight, atol=1e-5)


def test_gradcam_offers_the_conv_layers_and_an_mlp_says_why_not(window, stroke, qtbot):
    from cnndesk.engine import build_model

    show_why_tab(window, qtbot)
    view = window.attributionView
    choose(view.methodBox, "gradcam")
    assert [view.layerBox.itemData(i) for i in range(view.layerBox.count())] == ["conv1", "conv2"]
    assert view.layerBox.isVisible() and view.layer == "conv2"
    stroke(window.canvas, THREE)
    qtbot.waitUntil(lambda: view.attribution is not None and view.attribution.layer == "conv2", timeout=3000)
    mlp = build_model("mlp")
    window.set_model(mlp, {"model": mlp.config}, None)
    qtbot.waitUntil(lambda: view.attribution is None, timeout=3000)
    assert "convolution" in view.status.text()
