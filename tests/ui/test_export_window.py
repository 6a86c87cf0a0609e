"""File → Export model…: the current model written as ONNX or TorchScript in the background, then checked."""

from __future__ import annotations

import onnxruntime
import pytest
import torch
from PySide6.QtWidgets import QFileDialog

from cnndesk.ui.panels.files import EXPORT_FILTERS


def files_panel(window):
    return next(panel for panel in window.panels if hasattr(panel, "export_model_dialog"))


def test_export_writes_an_onnx_file_that_predicts_as_the_current_model(window, qtbot, tmp_path, monkeypatch):
    out = tmp_path / "mine"  # no suffix: the ONNX filter picked gives it one
    monkeypatch.setattr(QFileDialog, "getSaveFileName",
                        lambda *args, **kwargs: (str(out), EXPORT_FILTERS["onnx"]))
    panel = files_panel(window)
    assert window.exportModelAction.isEnabled() and window.exportModelAction.shortcut().toString() == "Ctrl+Shift+X"
    window.exportModelAction.trigger()
    assert "Exporting lenet5" in window.statusBar().currentMessage()
    qtbot.waitUntil(lambda: "Exporting" not in window.statusBar().currentMessage(), timeout=60_000)
    written = tmp_path / "mine.onnx"
    message = window.statusBar().currentMessage()
    assert panel._export_task.status == "done"
    assert written.exists() and "Exported" in message and "10,000 MNIST test images" in message, message
    session = onnxruntime.InferenceSession(str(written), providers=["CPUExecutionProvider"])
    image = torch.rand(3, 1, 28, 28)
    with torch.no_grad():
        expected = window.session.model.model(image).numpy()
    assert (session.run(None, {"image": image.numpy()})[0].argmax(1) == expected.argmax(1)).all()
    # The folder is remembered for the next export.
    seen = {}

    def dialog(parent, title, start, filters):
        seen["start"] = start
        return "", ""

    monkeypatch.setattr(QFileDialog, "getSaveFileName", dialog)
    window.exportModelAction.trigger()
    assert seen["start"] == str(tmp_path / "lenet5.onnx")


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_an_export_that_cannot_be_written_is_one_error_message(window, qtbot, tmp_path, monkeypatch):
    errors = []
    monkeypatch.setattr(window, "show_error", errors.append)
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    task = files_panel(window).export_model_to(blocker / "x.pt", "torchscript")
    qtbot.waitUntil(lambda: bool(errors), timeout=60_000)  # (the error arrives on the GUI thread)
    qtbot.wait(100)
    assert task.status == "failed" and len(errors) == 1, errors
    assert errors[0].startswith("Export failed: Could not write"), errors
