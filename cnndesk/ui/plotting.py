"""pyqtgraph, configured once for cnndesk: every view imports ``pg`` from here."""

import pyqtgraph as pg

# Arrays are (rows, cols) everywhere in cnndesk; tell pyqtgraph before any item exists.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="w", foreground="k")

__all__ = ["pg"]
