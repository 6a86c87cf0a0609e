"""The Qt desktop app: a thin layer of views over cnndesk.engine."""

__all__ = ["MainWindow"]


def __getattr__(name: str):
    # The main window pulls in pyqtgraph (~0.3 s): imported on first use, not by every command.
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
