"""Start the desktop app: a splash at once, then the main window once PyTorch has loaded."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QApplication, QSplashScreen

from cnndesk import __version__


def make_application() -> QApplication:
    app = QApplication.instance() or QApplication(sys.argv)
    app.setApplicationName("cnndesk")
    app.setApplicationVersion(__version__)
    return app


def show_splash(app: QApplication) -> QSplashScreen:
    """A window within a fraction of a second of launch, while PyTorch and the model load.

    The splash is a pre-rendered image: drawing text here would initialise the font database first (a second).
    """
    from cnndesk.locations import resource_path

    splash = QSplashScreen(QPixmap(str(resource_path("splash.png"))))
    splash.show()
    app.processEvents()
    return splash


def run_app(checkpoint: str | Path | None = None) -> int:
    app = make_application()
    splash = show_splash(app)
    from .main_window import MainWindow

    window = MainWindow(checkpoint=checkpoint)
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    splash.finish(window)
    return app.exec()
