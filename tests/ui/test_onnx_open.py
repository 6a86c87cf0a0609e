"""File → Open model… on an ONNX file that fits no registry architecture: it runs in onnxruntime, the prediction,
Every layer, Test set and Side by side work on it; the views that need PyTorch weights say why they are empty, Save
and Export refuse in one sentence; training a new model from the form still works."""

from __future__ import annotations

import logging
import os

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog
from torch import nn

from cnndesk.ui.panels.files import InputScaleDialog

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")  # (torch's legacy ONNX exporter says it is)


class OddNet(nn.Module):
    """7 and 11 channels, 3×3 kernels: no registry architecture has these tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.conv2 = nn.Conv2d(1, 7, 3), nn.Conv2d(7, 11, 3)
        self.fc = nn.Linear(11 * 5 * 5, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


@pytest.fixture(scope="module")
def odd(tmp_path_factory):
    """The module (seeded, untrained: the window must compute what it computes) and its ONNX file."""
    torch.manual_seed(0)
    module = OddNet().eval()
    path = tmp_path_factory.mktemp("onnx") / "odd.onnx"
    torch.onnx.export(module, (torch.zeros(2, 1, 28, 28),), str(path), dynamo=False, input_names=["x"],
                      dynamic_axes={"x": {0: "N"}})
    return module, path


def show_tab(window, qtbot, title: str, widget) -> None:
    tabs = window.inspectTabs
    tabs.setCurrentIndex([tabs.tabText(i) for i in range(tabs.count())].index(title))
    qtbot.waitExposed(widget)


def open_onnx(window, qtbot, monkeypatch, path) -> None:
    monkeypatch.setattr(InputScaleDialog, "exec", lambda dialog: QDialog.DialogCode.Accepted)  # [0, 1] pixels
    panel = next(panel for panel in window.panels if hasattr(panel, "open_foreign_model"))
    assert panel.open_model(path)
    qtbot.waitUntil(lambda: not window.session.model.has_weights, timeout=60_000)


def test_an_onnx_model_without_an_architecture_opens_predicts_and_says_what_it_cannot_do(
        window, qtbot, stroke, monkeypatch, odd, caplog):
    module, path = odd
    caplog.set_level(logging.WARNING)
    errors: list[str] = []
    monkeypatch.setattr(window, "show_error", errors.append)
    open_onnx(window, qtbot, monkeypatch, path)
    assert "odd.onnx" in window.statusBar().currentMessage() and "runs in onnxruntime" in \
        window.statusBar().currentMessage()

    # The prediction and Every layer: the torch module's numbers for the drawn input.
    show_tab(window, qtbot, "Every layer", window.activations)
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: window.inspection is not None, timeout=5000)
    with torch.inference_mode():
        x = torch.from_numpy(window.session.input.centred).reshape(1, 1, 28, 28)
        expected = torch.softmax(module(x), 1)[0].numpy()
        conv2 = F.relu(module.conv2(F.max_pool2d(F.relu(module.conv1(x)), 2)))[0].numpy()
    np.testing.assert_allclose(window.inspection.probabilities, expected, atol=1e-5)
    assert window.predictionLabel.text().startswith(str(int(expected.argmax())))
    assert [layer.label for layer in window.inspection.layers] == ["conv1 · Relu", "pool1", "conv2 · Relu",
                                                                   "pool2", "fc1"]
    assert [row.name for row in window.activations.rows] == ["conv1", "pool1", "conv2", "pool2", "fc1"]
    np.testing.assert_allclose(window.inspection.layers[2].output, conv2, atol=1e-4)
    # A click on a cell opens no explainer (no kernels to recompute it from): the hint says why.
    window.activations.cellClicked.emit("conv1", (0, 5, 5))
    assert window.session.selection is None and window.cellExplainer.isHidden()
    assert "onnxruntime" in window.cellValue.text()

    # Summary: names and shapes; no parameter count of 0 where the weights are in the ONNX graph.
    table = window.summaryView
    assert table.item(0, 0).text() == "conv1"
    assert all(table.item(row, 3).text() == "—" for row in range(table.rowCount()) if table.item(row, 3))

    # Filters and Why?: empty, with the reason; occlusion, which needs no gradients, still works.
    show_tab(window, qtbot, "Filters", window.filterPages)
    assert window.filtersView.rows == [] and "runs in onnxruntime" in window.filtersView.hoverLabel.text()
    assert window.wantsView.layerBox.count() == 0 and not window.wantsView.showButton.isEnabled()
    assert "runs in onnxruntime" in window.wantsView.status.text()
    show_tab(window, qtbot, "Why?", window.attributionView)
    view = window.attributionView
    assert view.method != "occlusion" and "runs in onnxruntime" in view.status.text()
    assert view.attribution is None
    view.methodBox.setCurrentIndex(view.methodBox.findData("occlusion"))
    qtbot.waitUntil(lambda: view.attribution is not None, timeout=30_000)
    assert view.attribution.method == "occlusion" and view.attribution.values.shape == (28, 28)
    show_tab(window, qtbot, "Layer health", window.healthView)
    assert "runs in onnxruntime" in window.healthView.warningsLabel.text()

    # Save and Export: one sentence each, and no file dialog.
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args: pytest.fail("a file dialog opened"))
    window.saveAction.trigger()
    window.exportModelAction.trigger()
    assert len(errors) == 2 and all(e.startswith("odd.onnx runs in onnxruntime: it has no PyTorch weights") and
                                    e.count(". ") == 0 for e in errors), errors

    # Side by side and the Test set work on it.
    pinned = window.session.pin()
    assert not pinned.has_weights and window.session.pinned_inspection is not None
    np.testing.assert_allclose(window.session.pinned_inspection.probabilities, expected, atol=1e-5)
    window.session.unpin()
    show_tab(window, qtbot, "Test set", window.evaluateButton)
    window.evaluateButton.click()
    qtbot.waitUntil(lambda: window.session.evaluation is not None, timeout=60_000)
    assert len(window.session.evaluation.samples.predictions) == 10_000
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.records


def test_training_a_new_model_from_the_form_still_works_and_has_weights(window, qtbot, monkeypatch, odd):
    open_onnx(window, qtbot, monkeypatch, odd[1])
    panel = window.trainingPanel
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData("lenet5"))
    panel.samplesSpin.setValue(128)
    panel.epochsSpin.setValue(1)
    panel.batchSpin.setValue(64)
    with qtbot.waitSignal(window.runner.finished, timeout=60_000) as finished:
        qtbot.mouseClick(panel.trainButton, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10_000)
    assert finished.args[0].checkpoint is not None
    current = window.session.model
    assert current.has_weights and current.name == "lenet5" and window.session.has_weights
    show_tab(window, qtbot, "Filters", window.filterPages)
    assert [row.layer.name for row in window.filtersView.rows] == ["conv1", "conv2"]
    assert window.wantsView.layerBox.count() > 0
