"""Help: the guide (F1) — what each view shows, what its colours mean, what the model is given, the shortcuts — and
About, with the versions and the device in use.

The shortcuts table is read from the window's own actions when the guide opens, so it lists exactly the keys that
work, in the user's language and keyboard notation.
"""

from __future__ import annotations

import html
import platform
import sys
from typing import TYPE_CHECKING

from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import Qt, qVersion
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QMessageBox, QTextBrowser, QVBoxLayout

from cnndesk import __version__ as CNNDESK_VERSION

from .base import HELP, Panel

if TYPE_CHECKING:
    from cnndesk.ui.main_window import MainWindow

GUIDE_SIZE = (760, 640)  # the guide's first size in pixels; it is resizable


def action_text(action: QAction) -> str:
    """An action's menu text without its ``&`` mnemonic markers (``&&`` stays one ``&``)."""
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&")


def window_shortcuts(shell: MainWindow) -> list[tuple[str, str, str]]:
    """(menu, action, keys) for every menu action with a shortcut, in menu-bar order; keys in the platform's notation
    (``Ctrl+T``, ``⌘T``), several joined by commas."""
    rows: list[tuple[str, str, str]] = []

    def walk(menu_title: str, actions: list[QAction]) -> None:
        for action in actions:
            if action.menu() is not None:
                walk(menu_title, action.menu().actions())
            elif not action.isSeparator() and action.shortcuts():
                keys = ", ".join(key.toString(QKeySequence.SequenceFormat.NativeText) for key in action.shortcuts())
                rows.append((menu_title, action_text(action), keys))

    for menu_action in shell.menuBar().actions():
        if menu_action.menu() is not None:
            walk(action_text(menu_action), menu_action.menu().actions())
    return rows


class HelpPanel(Panel):
    """Help → Guide (F1) and Help → About."""

    def __init__(self, shell: MainWindow) -> None:
        super().__init__(shell)
        self.guideAction = self.add_action(HELP, self.tr("cnndesk &guide"), self.show_guide,
                                           ["F1"],
                                           self.tr("What each view shows, what the colours mean, the shortcuts"))
        self.aboutAction = self.add_action(HELP, self.tr("&About cnndesk"), self.show_about)
        self.guide: QDialog | None = None

    # -- the guide -------------------------------------------------------------------------------------------------
    def guide_html(self) -> str:
        """The guide as HTML: the views, the colours, the model's input, then the shortcuts."""
        sections = [
            (self.tr("Drawing"),
             self.tr("Draw a digit on the canvas with the mouse (or a pen); the prediction and every view "
                     "follow while you draw. Undo removes the last stroke, Clear starts again. Open an image of a "
                     "digit (a photo or a scan), or drop one on the canvas, to read it instead.")),
            (self.tr("What the model is given"),
             self.tr("The drawing is turned into a 28×28 grey image the way MNIST's digits were made: the digit is "
                     "scaled to fit a 20×20 box, placed with its centre of mass in the middle, and its strokes are "
                     "evened to MNIST's width. Pixels are between 0 (paper) and 1 (ink), white ink on black as "
                     "in MNIST; each model then normalises them as it was trained. Under the prediction's bars, the "
                     "model's input shows each of these steps, the last one exactly what the model is given.")),
            (self.tr("Prediction"),
             self.tr("One bar per digit 0–9: the model's probability for it (softmax of its ten outputs). The "
                     "highest bar is the prediction, shown with its probability above the bars.")),
            (self.tr("Every layer"),
             self.tr("What each layer computes for your digit: one small map per channel (feature map), in the "
                     "inferno colours — black is low, through red and orange, to pale yellow for the highest value "
                     "of that layer. Click a cell of a map to see how it was computed: the input patch, the kernel "
                     "and their products.")),
            (self.tr("Filters"),
             self.tr("The learned convolution kernels. Blue is a negative weight, white zero, red positive: a kernel "
                     "with red strokes on blue responds to that stroke. During training you can watch them form.")),
            (self.tr("Why?"),
             self.tr("Which pixels made the model choose a class (attributions: saliency, integrated gradients, "
                     "Grad-CAM). Red raises the class's score, blue lowers it, white or transparent has no effect.")),
            (self.tr("Layer health"),
             self.tr("During training: for each layer the size of its weights, of their gradients, the share of "
                     "dead units and the update ratio; each layer has its colour in the legend above the plots.")),
            (self.tr("Test set"),
             self.tr("The model on MNIST's 10,000 test digits: the confusion matrix (light few, dark many, on a "
                     "log scale so the mistakes show) and the digits it gets wrong; click one to look inside.")),
            (self.tr("Summary and Side by side"),
             self.tr("Summary lists the layers with their output shapes and parameters. Side by side pins a model "
                     "and shows it next to the current one on the same digit (for example a CNN against an MLP).")),
            (self.tr("Keeping your own digits"),
             self.tr("With a digit drawn, press its key (0–9) on the canvas: the drawing is kept in My digits as "
                     "that digit (the status bar says where). My digits shows them with what the model reads; "
                     "select one there and press Delete to remove it.")),
            (self.tr("Training, Experiments and My digits"),
             self.tr("Training trains the current model on MNIST in the background with live loss and accuracy; "
                     "stop, pause or resume at any time, and replay how the layers changed. Experiments queues "
                     "several models or settings and compares them. My digits keeps digits you drew, so you can "
                     "test or fine-tune on your own hand.")),
        ]
        # (lupdate does not see a tr() inside an f-string: each text is translated on a line of its own)
        title, shortcuts = self.tr("cnndesk guide"), self.tr("Keyboard shortcuts")
        parts = [f"<h2>{html.escape(title)}</h2>"]
        for title, body in sections:
            parts.append(f"<h3>{html.escape(title)}</h3><p>{html.escape(body)}</p>")
        parts.append(f"<h3>{html.escape(shortcuts)}</h3>")
        parts.append("<table cellspacing='0' cellpadding='3'>")
        parts.append("<tr><th align='left'>{}</th><th align='left'>{}</th><th align='left'>{}</th></tr>".format(
            *(html.escape(header) for header in (self.tr("Keys"), self.tr("Action"), self.tr("Menu")))))
        for menu, action, keys in window_shortcuts(self.shell):
            parts.append(f"<tr><td><b>{html.escape(keys)}</b></td><td>{html.escape(action)}</td>"
                         f"<td>{html.escape(menu)}</td></tr>")
        parts.append("</table>")
        return "\n".join(parts)

    def show_guide(self) -> None:
        """Open the guide (or raise it); it blocks nothing, so the user can try what it says."""
        if self.guide is None:
            self.guide = QDialog(self.shell, objectName="guideDialog")
            self.guide.setWindowTitle(self.tr("cnndesk guide"))
            self.guideBrowser = QTextBrowser(objectName="guideBrowser", openExternalLinks=False)
            buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
            buttons.rejected.connect(self.guide.close)
            layout = QVBoxLayout(self.guide)
            layout.addWidget(self.guideBrowser)
            layout.addWidget(buttons)
            self.guide.resize(*GUIDE_SIZE)
        self.guideBrowser.setHtml(self.guide_html())  # the shortcuts as they are now
        self.guide.show()
        self.guide.raise_()
        self.guide.activateWindow()

    # -- about -----------------------------------------------------------------------------------------------------
    def device_in_use(self) -> str:
        """Where the window predicts, and what training can use."""
        import torch

        training = ["CPU"]
        if torch.cuda.is_available():
            training.append(f"CUDA ({torch.cuda.get_device_name(0)})")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            training.append("MPS")
        return self.tr("predicting on the CPU; training can use: {devices}").format(devices=", ".join(training))

    def about_html(self) -> str:
        # PyTorch is imported in the background at start-up: until it is in, About does not wait for it.
        torch = sys.modules.get("torch") if self.shell.engine_ready else None
        rows = [
            (self.tr("Version"), CNNDESK_VERSION),
            (self.tr("PyTorch"), torch.__version__ if torch is not None else self.tr("loading…")),
            (self.tr("Qt"), f"{qVersion()} (PySide6 {PYSIDE_VERSION})"),
            (self.tr("Python"), f"{platform.python_version()} ({sys.platform})"),
            (self.tr("Device"), self.device_in_use() if torch is not None else self.tr("loading…")),
        ]
        table = "".join(f"<tr><td>{html.escape(name)}</td><td>{html.escape(value)}</td></tr>" for name, value in rows)
        tagline = self.tr("Draw a digit, see inside a convolutional network, train it live.")
        return (f"<h3>cnndesk {html.escape(CNNDESK_VERSION)}</h3>"
                f"<p>{html.escape(tagline)}</p>"
                f"<table cellspacing='0' cellpadding='2'>{table}</table>")

    def show_about(self) -> None:
        box = QMessageBox(QMessageBox.Icon.NoIcon, self.tr("About cnndesk"), self.about_html(),
                          QMessageBox.StandardButton.Ok, self.shell, objectName="aboutBox")
        box.setTextFormat(Qt.TextFormat.RichText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
