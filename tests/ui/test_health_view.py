"""The Layer health tab: live lines per layer while a run trains, the warning signs in words, drawn only when shown."""

from __future__ import annotations

import math

import numpy as np
import pytest
from PySide6.QtCore import QCoreApplication, Qt, QTranslator

from cnndesk.engine import HealthSample, LayerHealth
from cnndesk.ui.health_view import HealthView

LENET5 = ["conv1", "conv2", "fc1", "fc2", "fc3"]


def show_health_tab(window, qtbot) -> None:
    tabs = window.inspectTabs
    tabs.setCurrentIndex([tabs.tabText(i) for i in range(tabs.count())].index("Layer health"))
    qtbot.waitExposed(window.healthView)


def synthetic(step: int, dead_conv2: float = 0.1) -> HealthSample:
    """LeNet5's layers at ``step``; conv2 with ``dead_conv2`` of its ReLU units dead."""
    layers = [LayerHealth(name, "relu" if name != "fc3" else "none", 0.2, 0.3,
                          (dead_conv2 if name == "conv2" else 0.0) if name != "fc3" else math.nan, math.nan,
                          0.1 * (index + 1), 1e-3)
              for index, name in enumerate(LENET5)]
    return HealthSample(step, step / 100, layers, lr=0.004, base_lr=0.004)


def test_a_run_in_the_window_draws_a_line_per_layer(window, qtbot, monkeypatch):
    import cnndesk.ui.worker as worker

    monkeypatch.setattr(worker, "HEALTH_INTERVAL", 0.0)  # every step sampled: ten points for ten batches
    show_health_tab(window, qtbot)
    view = window.healthView
    panel = window.trainingPanel
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData("lenet5"))
    panel.epochsSpin.setValue(1)
    panel.batchSpin.setValue(64)

    def train(images: int) -> None:
        panel.samplesSpin.setValue(images)
        with qtbot.waitSignal(window.runner.finished, timeout=60000):
            qtbot.mouseClick(panel.trainButton, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)

    train(640)
    assert view.layer_names == LENET5
    legend = [label.text for _, label in view.legend.items]
    assert legend[:5] == LENET5  # the layers by name, then the update ratio's reference line
    for curves in (view.mean_curves, view.grad_curves, view.update_curves):
        assert len(curves) == 5
        for curve in curves:
            x, y = curve.getData()
            assert list(x) == list(range(1, 11))
            assert np.all(np.isfinite(y))
    assert all(len(curve.getData()[0]) == 10 for curve in view.unit_curves[:4])  # fc3 has no ReLU after it
    assert view.warningsLabel.text().startswith("Step 10:")
    # The next run starts from an empty view: its own five steps, not fifteen.
    train(320)
    assert list(view.mean_curves[0].getData()[0]) == [1, 2, 3, 4, 5]


def test_a_dead_layer_is_named_under_the_plots(qtbot):
    view = HealthView()
    qtbot.addWidget(view)
    view.resize(700, 450)
    view.show()
    view.add_sample(synthetic(1))
    assert view.warningsLabel.text() == "Step 1: no warning signs."
    view.add_sample(synthetic(2, dead_conv2=0.63))
    text = view.warningsLabel.text()
    assert "conv2: 63% of units dead" in text and "lower the learning rate" in text
    assert "conv1" not in text
    x, y = view.unit_curves[1].getData()
    assert list(x) == [1, 2] and list(y) == pytest.approx([0.1, 0.63])


def test_a_hidden_view_stores_samples_and_draws_them_when_shown(window, qtbot):
    view = window.healthView
    assert not view.isVisible()  # the first tab (Every layer) is shown
    for step in range(1, 4):
        view.add_sample(synthetic(step))
    assert all(len(curve.getData()[0] if curve.getData()[0] is not None else []) == 0 for curve in view.mean_curves)
    show_health_tab(window, qtbot)
    assert list(view.mean_curves[0].getData()[0]) == [1, 2, 3]


class Marking(QTranslator):
    """Every source text becomes ⟦text⟧ (its placeholders kept), so an untranslated text stands out."""

    def translate(self, context, source_text, disambiguation=None, n=-1):
        return f"⟦{source_text}⟧" if source_text else source_text

    def isEmpty(self):
        return False


def test_every_text_of_the_view_goes_through_the_translator(qapp, qtbot):
    translator = Marking()
    QCoreApplication.installTranslator(translator)
    try:
        view = HealthView()
        qtbot.addWidget(view)
        view.show()
        view.add_sample(synthetic(5, dead_conv2=0.7))
    finally:
        QCoreApplication.removeTranslator(translator)
    plots = (view.activationPlot, view.unitsPlot, view.gradientPlot, view.updatePlot)
    texts = [plot.titleLabel.text for plot in plots]
    texts += [view.gradientPlot.getAxis("bottom").labelText, view.warningsLabel.toolTip()]
    texts += [label.text for _, label in view.legend.items if label.text not in LENET5]  # layer names: identifiers
    texts += view.warningsLabel.text().splitlines()
    assert texts and all(text.startswith("⟦") for text in texts), texts
