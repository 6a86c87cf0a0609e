"""The Filters tab: what each layer looks for, following the weights while a run trains."""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

from cnndesk.ui.filters_view import FiltersView

from .base import INSPECT, Panel


class FiltersPanel(Panel):
    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.filtersView = FiltersView()
        self._stale = False  # weights changed while the tab was hidden: drawn when it is shown
        self.session.network_changed.connect(self._changed)
        self.session.weights_changed.connect(self._changed)
        self.filtersView.installEventFilter(self)

    def widget(self) -> QWidget:
        return self.filtersView

    def title(self) -> str:
        return self.tr("Filters")

    def _changed(self, network) -> None:
        if self.filtersView.isVisible():
            self._show(network)
        else:
            self._stale = True  # a hidden tab costs the training nothing

    def _show(self, network) -> None:
        from cnndesk.engine.inspect import layer_filters

        self._stale = False
        self.filtersView.show_filters(layer_filters(network))

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.filtersView and event.type() == QEvent.Type.Show and self._stale \
                and self.session.predictor is not None:
            self._show(self.session.predictor.model)
        return False
