"""Start the desktop app: the window shows at once and completes itself once PyTorch has loaded."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from cnndesk import __version__

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


def run_app(checkpoint: str | Path | None = None) -> int:
    app = make_application()
    from .main_window import MainWindow

    window = MainWindow(checkpoint=checkpoint, load_engine=False)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    window.start_loading()
    return app.exec()
