"""Start the desktop app."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication

from cnndesk import __version__


def run_app(checkpoint: str | Path | None = None) -> int:
    from .main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("cnndesk")
    app.setApplicationVersion(__version__)
    window = MainWindow(checkpoint=checkpoint)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    return app.exec()
