"""Start the desktop app: the window shows at once and completes itself once PyTorch has loaded."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from cnndesk import __version__
from cnndesk.errors import CnndeskError

from .i18n import install_translations

_translated: set[int] = set()  # the applications (by id) whose translations are installed


def make_application() -> QApplication:
    """The application, with cnndesk's translation for the user's locale installed (if one is bundled)."""
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("cnndesk")
    app.setApplicationVersion(__version__)
    if id(app) not in _translated:  # once: before any window, so that every text is built translated
        _translated.add(id(app))
        install_translations(app)
    return app


def require_display() -> None:
    """On Linux without a display Qt aborts the process with a page about plugins: say what is wrong instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise CnndeskError("There is no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set): "
                           "run cnndesk in a graphical session, or use its command line (cnndesk --help).")


def run_app(checkpoint: str | Path | None = None) -> int:
    require_display()
    app = make_application()
    from .main_window import MainWindow

    window = MainWindow(checkpoint=checkpoint, load_engine=False)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    window.start_loading()
    return app.exec()
