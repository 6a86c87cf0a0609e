"""What the network says: the predicted digit, a bar per class, and the input as the model sees it, step by step."""

from __future__ import annotations

from PySide6.QtWidgets import QVBoxLayout, QWidget

from cnndesk.ui.input_view import InputView
from cnndesk.ui.predictions import PredictionLabel, ProbabilityBars

from .base import PREDICT, Panel


class PredictionPanel(Panel):
    area = PREDICT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.predictionLabel = PredictionLabel()
        self.probabilities = ProbabilityBars()
        self.inputView = InputView()
        layout = QVBoxLayout()
        layout.addWidget(self.predictionLabel)
        layout.addWidget(self.probabilities, 2)
        layout.addWidget(self.inputView, 1)
        self._widget = QWidget()
        self._widget.setLayout(layout)
        self.predictionLabel.setText(self.tr("Loading…"))
        self.session.inspection_changed.connect(self._show)
        self.session.selection_changed.connect(self._outline_field)

    def widget(self) -> QWidget:
        return self._widget

    def _outline_field(self, _selection=None) -> None:
        self.inputView.show_outline(self.session.selection_field())

    def engine_failed(self) -> None:
        self.predictionLabel.setText(self.tr("No model"))

    def _show(self, inspection) -> None:
        if inspection is None:
            self.predictionLabel.show_empty()
            self.probabilities.set_probabilities(None)
            self.inputView.show_steps(None)
            return
        self.predictionLabel.show_prediction(inspection.label, inspection.confidence)
        self.probabilities.set_probabilities(inspection.probabilities)
        self.inputView.show_steps(self.session.input)
