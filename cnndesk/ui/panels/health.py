"""The Layer health tab: how each layer's activations, gradients and updates evolve while a run trains."""

from __future__ import annotations

from PySide6.QtWidgets import QWidget

from cnndesk.ui.health_view import HealthView

from .base import INSPECT, Panel


class HealthPanel(Panel):
    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.healthView = HealthView()
        self.session.model_changed.connect(self._model_changed)

    def widget(self) -> QWidget:
        return self.healthView

    def title(self) -> str:
        return self.tr("Layer health")

    def engine_ready(self) -> None:
        runner = self.shell.runner  # exists from now on
        runner.runStarted.connect(self._on_run_started)
        runner.health.connect(self.healthView.add_sample)  # ~1 a second; drawn only while the tab is shown
        super().engine_ready()

    def _model_changed(self, current) -> None:
        """An ONNX file run by onnxruntime became current: an earlier run's lines are not its health, and it has
        none of its own (nothing trains it)."""
        if not current.has_weights and not self.session.following_run:
            self.healthView.clear()
            self.healthView._set_warnings(self.tr(
                "This model runs in onnxruntime: it has no PyTorch weights to train, so it has no layer health. "
                "Train a new model to watch its layers learn."))

    def _on_run_started(self, _plan: object) -> None:
        self.healthView.clear()  # each run's own lines, from its first step
