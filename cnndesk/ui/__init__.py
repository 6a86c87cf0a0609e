"""The Qt desktop app: a thin layer of views over cnndesk.engine."""

__all__ = ["MainWindow"]


def __getattr__(name: str):
    # The main window pulls in PyTorch and pyqtgraph (~3 s): imported on first use, so that a splash shows first.
    if name == "MainWindow":
        from .main_window import MainWindow

        return MainWindow
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
