"""Help: F1 opens the guide, whose shortcut table is the window's real shortcuts; About names the versions and the
device."""

from __future__ import annotations

import platform

import torch
from PySide6 import __version__ as PYSIDE_VERSION
from PySide6.QtCore import Qt, qVersion
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox, QTextBrowser

from cnndesk import __version__ as CNNDESK_VERSION


def test_f1_opens_the_guide_with_every_view_and_the_real_shortcuts(make_window, qtbot):
    win = make_window()
    win.guideAction.trigger()
    guide = win.findChild(QDialog, "guideDialog")
    qtbot.waitUntil(lambda: guide is not None and guide.isVisible())
    text = guide.findChild(QTextBrowser, "guideBrowser").toPlainText()
    # Every view of the window is explained under its own tab title.
    for tabs in (win.inspectTabs, win.bottomTabs):
        for index in range(tabs.count()):
            title = tabs.tabText(index).replace("&", "")
            assert any(title in line for line in text.splitlines()), f"the guide does not explain {title!r}"
    # What the colours mean and what the model is given.
    assert "inferno" in text and "Blue is a negative weight" in text and "28×28" in text
    # The shortcuts are the actions' own: each action with a shortcut is listed with its key.
    assert "F1" in text
    for action in (win.trainAction, win.undoAction, win.openImageAction):
        key = action.shortcut().toString()
        assert key and key in text, f"{action.text()!r} ({key}) missing from the shortcuts"


def test_the_guide_lists_a_shortcut_added_later(make_window, qtbot):
    """The table is read from the window when the guide opens, so it cannot drift from the real keys."""
    win = make_window()
    win.trainAction.setShortcut("Ctrl+Alt+Shift+Y")
    win.guideAction.trigger()
    browser = win.findChild(QTextBrowser, "guideBrowser")
    assert "Ctrl+Alt+Shift+Y" in browser.toPlainText()


def test_f1_key_reaches_the_guide(make_window, qtbot):
    win = make_window()
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win)  # shortcuts go to the active window
    QTest.keyClick(win, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: win.findChild(QDialog, "guideDialog") is not None
                    and win.findChild(QDialog, "guideDialog").isVisible())


def test_about_states_the_versions_and_the_device(make_window, qtbot):
    win = make_window()
    win.aboutAction.trigger()
    box = None

    def found() -> bool:
        nonlocal box
        box = next((w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible()), None)
        return box is not None

    qtbot.waitUntil(found)
    text = box.text()
    for version in (CNNDESK_VERSION, torch.__version__, qVersion(), PYSIDE_VERSION, platform.python_version()):
        assert version in text
    assert "CPU" in text and ("CUDA" in text) == torch.cuda.is_available()
    box.close()


def test_the_window_has_cnndesk_s_icon(make_window):
    from cnndesk.ui.app import make_application

    app = make_application()
    win = make_window()
    assert not app.windowIcon().isNull() and not win.windowIcon().isNull()
    assert win.windowIcon().availableSizes() and win.windowIcon().availableSizes()[0].width() >= 64
