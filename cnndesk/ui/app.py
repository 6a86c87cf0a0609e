"""Start the desktop app: the window shows at once and completes itself once PyTorch has loaded."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from cnndesk import __version__


def make_application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("cnndesk")
    app.setApplicationVersion(__version__)
    return app


def run_app(checkpoint: str | Path | None = None) -> int:
    app = make_application()
    from .main_window import MainWindow

    window = MainWindow(checkpoint=checkpoint, load_engine=False)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    window.start_loading()
    return app.exec()
