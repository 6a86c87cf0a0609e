"""pyqtgraph, configured once for cnndesk: every view imports ``pg`` from here."""

import pyqtgraph as pg

# Arrays are (rows, cols) everywhere in cnndesk; tell pyqtgraph before any item exists.
pg.setConfigOptions(imageAxisOrder="row-major", antialias=True, background="w", foreground="k")

# The selected cell, and the input pixels it sees (its receptive field), in every view that marks them.
SELECTION_RGB = (255, 120, 0)

ACCURACY_MARGIN = 0.02  # room above 100% and below 0% for the markers drawn on them


def bound_accuracy_axis(plot: pg.PlotWidget) -> None:
    """An accuracy plot's y axis never leaves 0–1 (plus a margin for the markers); it zooms in on the data."""
    plot.getViewBox().setLimits(yMin=-ACCURACY_MARGIN, yMax=1 + ACCURACY_MARGIN)
    reset_accuracy_axis(plot)


def reset_accuracy_axis(plot: pg.PlotWidget) -> None:
    """An emptied accuracy plot shows the whole 0–1 range again, not the last run's."""
    plot.setYRange(0, 1, padding=0)
    plot.enableAutoRange(axis="y")


__all__ = ["ACCURACY_MARGIN", "SELECTION_RGB", "bound_accuracy_axis", "pg", "reset_accuracy_axis"]
