"""The Filters tab: what each layer looks for — its kernels, following the weights while a run trains, and, when
asked, the input that excites each channel most with the MNIST patches that do (computed in the background, kept per
weights, redone once a run has trained new ones)."""

from __future__ import annotations

import copy
import time

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QTabWidget, QWidget

from cnndesk.ui.filters_view import FiltersView
from cnndesk.ui.settings import open_settings
from cnndesk.ui.wants_view import WantsView

from .base import INSPECT, Panel

WANTS_LAYER = "filters/wantsLayer"  # the layer last chosen on the "What excites each channel" page


def _wants(network, layer: str):
    from cnndesk.engine.maximize import maximize_layer

    started = time.perf_counter()
    return maximize_layer(network, layer), time.perf_counter() - started


class FiltersPanel(Panel):
    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.filtersView = FiltersView()
        self.wantsView = WantsView()
        self.filterPages = QTabWidget(objectName="filterPages")
        self.filterPages.setDocumentMode(True)
        self.filterPages.addTab(self.filtersView, self.tr("Kernels"))
        self.filterPages.addTab(self.wantsView, self.tr("What excites each channel"))
        self._stale = False  # weights changed while the tab was hidden: drawn when it is shown
        self._weights = 0  # a new number for each set of weights shown
        self._cache: dict[tuple[int, str], tuple[list, float]] = {}  # (weights, layer) -> (wants, seconds)
        self._shown: str | None = None  # the layer whose wants are on show
        self._task = None
        self.session.network_changed.connect(self._network_changed)
        self.session.weights_changed.connect(self._changed)
        self.session.model_changed.connect(self._model_changed)
        self.wantsView.requested.connect(self.show_wants)
        self.wantsView.layerBox.activated.connect(
            lambda _index: open_settings().setValue(WANTS_LAYER, self.wantsView.layer))
        self.filtersView.installEventFilter(self)

    def widget(self) -> QWidget:
        return self.filterPages

    def title(self) -> str:
        return self.tr("Filters")

    def _no_weights_text(self) -> str:
        return self.tr("This model runs in onnxruntime: its kernels are inside the ONNX graph, not PyTorch weights "
                       "cnndesk can show, and without gradients nothing can be found that excites a channel.")

    def _network_changed(self, network) -> None:
        from cnndesk.engine.maximize import maximizable_layers

        if not self.session.has_weights:  # (an ONNX file run by onnxruntime)
            self._shown = None
            self._cache.clear()
            self.wantsView.set_layers([])
            self.wantsView.graphics.ci.clear()  # (another model's pictures)
            self.wantsView.wants = []
            self.wantsView.status.setText(self._no_weights_text())
        else:
            self.wantsView.set_layers(maximizable_layers(network), open_settings().value(WANTS_LAYER))
            if not self.wantsView.wants:
                self.wantsView.status.clear()  # (the sentence above, of the model before)
        self._changed(network)

    def _changed(self, network) -> None:
        self._weights += 1
        self._cache.clear()
        if self._shown is not None:
            self.wantsView.show_stale()
        if self.filtersView.isVisible():
            self._show(network)
        else:
            self._stale = True  # a hidden tab costs the training nothing

    def _model_changed(self, _current) -> None:
        """A run ended or a model was opened: what was on show is computed again for the new weights."""
        if self._shown is not None and not self.session.following_run:
            # After the session has shown the new network (network_changed follows model_changed).
            QTimer.singleShot(0, lambda: self.show_wants(self._shown))

    def _show(self, network) -> None:
        from cnndesk.engine.inspect import layer_filters

        self._stale = False
        if not self.session.has_weights:
            self.filtersView.show_filters([])
            self.filtersView.hoverLabel.setText(self._no_weights_text())
            return
        limits = None
        model = self.session.model
        if self.session.snapshot is not None and model is not None and not self.session.following_run:
            # The replay of a trained model: one scale for every step, its final weights'.
            limits = {layer.name: layer.limit for layer in layer_filters(model.model)}
        self.filtersView.show_filters(layer_filters(network), limits)

    def show_wants(self, layer: str) -> None:
        """What each channel of ``layer`` wants, for the weights now shown: from the cache, or computed."""
        if not layer or self.session.predictor is None or not self.session.has_weights:
            return
        cached = self._cache.get((self._weights, layer))
        if cached is not None:
            self._shown = layer
            self.wantsView.show_wants(*cached)
            return
        if self._task is not None and not self._task.done():
            self._task.cancel()
        key = (self._weights, layer)
        self.wantsView.show_waiting(layer)
        network = copy.deepcopy(self.session.predictor.model)  # the window's copy keeps predicting meanwhile
        self._task = self.shell.tasks.submit(_wants, network, layer, name="filter wants",
                                             on_done=lambda result, key=key: self._computed(key, result),
                                             on_error=lambda message: self.wantsView.show_message(message))

    def _computed(self, key: tuple[int, str], result) -> None:
        self._task = None
        self._cache[key] = result
        self._shown = key[1]
        self.wantsView.show_wants(*result)
        if key[0] != self._weights:
            self.wantsView.show_stale()

    def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.filtersView and event.type() == QEvent.Type.Show and self._stale \
                and self.session.predictor is not None:
            self._show(self.session.predictor.model)
        return False
