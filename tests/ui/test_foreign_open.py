"""File → Open model… on a model from elsewhere: the input-scale dialog, a background match, the status bar says
what it was matched to, and the choice is remembered."""

from __future__ import annotations

import os

import pytest
import torch
from PySide6.QtWidgets import QDialog, QFileDialog

from cnndesk.engine import build_model
from cnndesk.ui.panels.files import FOREIGN_INPUT, OPEN_FILTERS, InputScaleDialog
from cnndesk.ui.settings import open_settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def files_panel(window):
    return next(panel for panel in window.panels if hasattr(panel, "open_foreign_model"))


@pytest.fixture
def tutorial_pth(tmp_path):
    """A tutorial's LeNet5 state_dict under its own names (the Chinese tutorials' Sequential blocks)."""
    weights = build_model("lenet5", activation="sigmoid", pooling="avg").state_dict()
    names = ["conv1.0.weight", "conv1.0.bias", "conv2.0.weight", "conv2.0.bias", "fc1.0.weight", "fc1.0.bias",
             "fc2.0.weight", "fc2.0.bias", "fc3.weight", "fc3.bias"]
    path = tmp_path / "lenet5.pth"
    torch.save(dict(zip(names, weights.values(), strict=True)), path)
    return path


def answer_dialog(monkeypatch, choice: str | None, seen: dict) -> None:
    """The dialog answers ``choice`` (None: Cancel) instead of waiting for a click; what it offered goes to seen."""

    def exec_(dialog: InputScaleDialog) -> int:
        seen["preselected"] = dialog.choice()
        seen["texts"] = [dialog.unitButton.text(), dialog.normalizedButton.text()]
        if choice is None:
            return QDialog.DialogCode.Rejected
        (dialog.normalizedButton if choice == "mnist-normalized" else dialog.unitButton).setChecked(True)
        return QDialog.DialogCode.Accepted

    monkeypatch.setattr(InputScaleDialog, "exec", exec_)


def test_opening_a_pth_asks_the_scale_matches_in_the_background_and_says_what(window, qtbot, monkeypatch,
                                                                              tutorial_pth):
    seen: dict = {}
    answer_dialog(monkeypatch, "mnist-normalized", seen)

    def open_dialog(parent, title, folder, filters):
        seen["filter"] = filters
        return str(tutorial_pth), ""

    monkeypatch.setattr(QFileDialog, "getOpenFileName", open_dialog)
    window.openModelAction.trigger()
    assert all(pattern in seen["filter"].split(";;")[0] for pattern in ("*.pth", "*.pt", "*.onnx", "*.safetensors"))
    assert len(seen["filter"].split(";;")) == len(OPEN_FILTERS)
    qtbot.waitUntil(lambda: "preselected" in seen, timeout=30_000)  # asked once the file is known to open
    assert seen["preselected"] == "unit"  # nothing remembered yet: the default
    assert "matching it to an architecture" in window.statusBar().currentMessage()
    panel = files_panel(window)
    qtbot.waitUntil(lambda: panel._open_task.status in ("done", "failed"), timeout=60_000)
    qtbot.waitUntil(lambda: "Opened" in window.statusBar().currentMessage(), timeout=10_000)
    message = window.statusBar().currentMessage()
    assert "lenet5.pth as lenet5" in message and "MNIST test images" in message, message
    current = window.session.model
    assert current.meta["foreign"]["input"] == "mnist-normalized" and current.model.config["input"] == \
        "mnist-normalized"
    assert open_settings().value(FOREIGN_INPUT) == "mnist-normalized"


def test_the_last_scale_is_preselected_and_cancel_opens_nothing(window, qtbot, monkeypatch, tutorial_pth):
    open_settings().setValue(FOREIGN_INPUT, "mnist-normalized")
    seen: dict = {}
    answer_dialog(monkeypatch, None, seen)
    before = window.session.model
    assert files_panel(window).open_model(tutorial_pth)
    qtbot.waitUntil(lambda: "preselected" in seen, timeout=30_000)
    assert seen["preselected"] == "mnist-normalized"
    qtbot.wait(200)
    assert window.session.model is before
    assert window.statusBar().currentMessage() == "Nothing opened."


def test_cnndesk_s_own_onnx_export_opens_without_a_question(window, qtbot, monkeypatch, tmp_path):
    """The file says its pixels (cnndesk writes them in its ONNX metadata): nothing to ask."""
    from cnndesk.engine import export_model

    path = export_model(window.session.model.model, tmp_path / "mine.onnx", "onnx")
    seen: dict = {}
    answer_dialog(monkeypatch, "mnist-normalized", seen)
    assert files_panel(window).open_model(path)
    qtbot.waitUntil(lambda: "mine.onnx as" in window.statusBar().currentMessage(), timeout=60_000)
    assert not seen, "the pixel scale was asked"
    assert window.session.model.meta["foreign"]["input"] == "unit"


def test_a_file_that_fits_nothing_is_one_error(window, qtbot, monkeypatch, tmp_path):
    path = tmp_path / "odd.pth"
    torch.save({"w": torch.zeros(7, 3)}, path)
    seen: dict = {}
    answer_dialog(monkeypatch, "unit", seen)
    errors: list[str] = []
    monkeypatch.setattr(window, "show_error", errors.append)
    panel = files_panel(window)
    assert panel.open_model(path)
    qtbot.waitUntil(lambda: bool(errors), timeout=60_000)
    assert errors[0].startswith(f"{path} fits none of cnndesk's architectures"), errors
    assert not seen, "asked about its pixels before finding out it cannot open"
