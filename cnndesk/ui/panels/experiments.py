"""The Experiments tab: a queue of runs trained one after another and compared (see cnndesk.ui.experiments)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtWidgets import QWidget

from .base import BOTTOM, FILE, Panel

if TYPE_CHECKING:
    from cnndesk.ui.experiments import ExperimentsView


class ExperimentsTab(Panel):
    area = BOTTOM

    def __init__(self, shell, training) -> None:
        super().__init__(shell)
        self._training = training
        self.experiments: ExperimentsView | None = None

    def title(self) -> str:
        return self.tr("Experiments")

    def engine_ready(self) -> None:
        from cnndesk.ui.experiments import ExperimentsView

        # The queue's "current settings" are the Training tab's form.
        self.experiments = ExperimentsView(self.shell.runner, self._training.trainingPanel.config)
        self.experiments.statusMessage.connect(self.shell.status)
        self.shell.add_menu_entry(FILE, self.experiments.exportAction)  # Ctrl+E from any tab
        super().engine_ready()

    def engine_widget(self) -> QWidget | None:
        return self.experiments

    def shutdown(self) -> None:
        if self.experiments is not None:
            self.experiments.stop_queue()  # first, so that no queued run starts after this one
