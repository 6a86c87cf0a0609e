"""The "Why?" tab: which pixels made the model say what it said, for the input being drawn.

Saliency and Grad-CAM are a forward and a backward pass: they follow the pen on the GUI thread. Integrated
Gradients and occlusion take many passes: they run on the task runner with a copy of the network, the newest input
only (a stroke drawn meanwhile is computed once the running one is done), and appear when ready.
"""

from __future__ import annotations

import copy

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

from cnndesk.errors import CnndeskError
from cnndesk.ui.attribution_view import LIVE_METHODS, AttributionView
from cnndesk.ui.settings import remember_choice

from .base import INSPECT, Panel

NO_GRADIENT_METHOD = "occlusion"  # forward passes only: it works on a model without PyTorch weights too


class AttributionPanel(Panel):
    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.attributionView = AttributionView()
        for combo, key in ((self.attributionView.methodBox, "attribution/method"),
                           (self.attributionView.targetBox, "attribution/target"),
                           (self.attributionView.versusBox, "attribution/versus")):
            remember_choice(combo, key)
        self._stale = False  # something changed while the tab was hidden: computed when it is shown
        self._task = None  # the background attribution running, if any
        self._again = False  # the input or the choice changed while it ran
        self.attributions = 0  # maps shown (for tests)
        self.session.network_changed.connect(self._network_changed)
        self.session.inspection_changed.connect(self._changed)
        self.attributionView.choiceChanged.connect(self._changed)
        self.attributionView.installEventFilter(self)

    def widget(self) -> QWidget:
        return self.attributionView

    def title(self) -> str:
        return self.tr("Why?")

    def _network_changed(self, network) -> None:
        from cnndesk.engine.attribution import default_gradcam_layer, gradcam_layers

        try:
            if not self.session.has_weights:
                raise CnndeskError("no gradients")  # (an ONNX file run by onnxruntime: no layer to choose)
            layers, default = gradcam_layers(network), default_gradcam_layer(network)
        except CnndeskError:
            layers, default = [], None
        self.attributionView.set_layers(layers, default)

    def _changed(self, *_args) -> None:
        if not self.attributionView.isVisible():
            self._stale = True  # a hidden tab costs the pen nothing
            return
        self.update_attribution()

    def update_attribution(self) -> None:
        """Compute the map for the current input and choices (now, or in the background)."""
        self._stale = False
        view, session = self.attributionView, self.session
        if session.predictor is None or session.input is None:
            view.show_attribution(None, None)
            return
        if not session.has_weights and view.method != NO_GRADIENT_METHOD:
            view.show_message(self.tr("This model runs in onnxruntime: without PyTorch weights cnndesk cannot take "
                                      "gradients through it. Occlusion needs none: choose it to see which pixels "
                                      "decide."))
            return
        image = session.input.centred
        args = (image, view.method, view.target, view.versus, view.layer)
        if view.method in LIVE_METHODS:
            self._compute_now(session.predictor.model, *args)
            return
        if self._task is not None and not self._task.done():
            self._again = True
            return
        view.show_waiting()
        from cnndesk.engine.attribution import attribute

        network = copy.deepcopy(session.predictor.model)  # the window's copy keeps predicting meanwhile
        self._task = self.shell.tasks.submit(attribute, network, *args, name="attribution",
                                             on_done=lambda result, image=image: self._show(result, image),
                                             on_error=self._failed)

    def _compute_now(self, network, image, method, target, versus, layer) -> None:
        from cnndesk.engine.attribution import attribute

        try:
            result = attribute(network, image, method, target, versus, layer)
        except CnndeskError as exc:
            self.attributionView.show_message(str(exc))
            return
        self._show(result, image, background=False)

    def _show(self, result, image, background: bool = True) -> None:
        if background and result.method != self.attributionView.method:
            self._next()  # the user chose a method that follows the pen meanwhile: it is shown already
            return
        self.attributions += 1
        self.attributionView.show_attribution(result, image)
        if background:
            self._next()

    def _failed(self, message: str) -> None:
        self.attributionView.show_message(message.split(": ", 1)[-1])
        self._next()

    def _next(self) -> None:
        self._task = None
        if self._again:
            self._again = False
            self.update_attribution()

    def shutdown(self) -> None:
        if self._task is not None:
            self._task.cancel()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.attributionView and event.type() == QEvent.Type.Show and self._stale:
            self.update_attribution()
        return False
