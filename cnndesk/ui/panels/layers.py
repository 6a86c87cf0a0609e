"""Inside the network: every layer's output for the current input, and the model's summary."""

from __future__ import annotations

import numpy as np
from PySide6.QtWidgets import QWidget

from cnndesk.ui.activations import ActivationsView
from cnndesk.ui.summary_view import SummaryView

from .base import INSPECT, Panel


class LayersPanel(Panel):
    """Feature maps as image grids, fully connected layers as bars, for the input being drawn."""

    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.activations = ActivationsView()
        self.session.network_changed.connect(self._show_architecture)
        self.session.inspection_changed.connect(self.activations.show_inspection)

    def widget(self) -> QWidget:
        return self.activations

    def title(self) -> str:
        return self.tr("Every layer")

    def _show_architecture(self, network) -> None:
        predictor = self.session.predictor
        empty = predictor.inspect(np.zeros((28, 28), np.float32))
        self.activations.set_architecture(empty.layers)


class SummaryPanel(Panel):
    """The model layer by layer: shapes, parameters, multiply-adds, formulas, receptive fields."""

    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.summaryView = SummaryView()
        self.session.network_changed.connect(self.summaryView.show_model)

    def widget(self) -> QWidget:
        return self.summaryView

    def title(self) -> str:
        return self.tr("Summary")
