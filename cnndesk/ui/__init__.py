"""The Qt desktop app: a thin layer of views over cnndesk.engine."""

import pyqtgraph as pg

# Arrays are (rows, cols) everywhere in cnndesk; tell pyqtgraph once, before any item exists.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="w", foreground="k")

from .main_window import MainWindow  # noqa: E402

__all__ = ["MainWindow"]
