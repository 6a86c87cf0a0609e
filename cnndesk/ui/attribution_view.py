"""Which pixels made the model say what it said: an attribution map (saliency, Integrated Gradients, Grad-CAM,
occlusion) for the predicted class or one the user picks, or the difference of two ("why 3 and not 8?"), beside the
model input it is overlaid on, with a colour scale."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, QPointF, Qt, Signal
from PySide6.QtWidgets import QComboBox, QFrame, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from .enlarged_map import enlarge
from .plotting import pg
from .presentation import diverging_colormap, presentation, style_graphics

if TYPE_CHECKING:
    from cnndesk.engine.attribution import Attribution

# (method, its name in the window): the engine's names
METHOD_TITLES = (
    ("saliency", QT_TRANSLATE_NOOP("AttributionView", "Saliency (gradient)")),
    ("gradcam", QT_TRANSLATE_NOOP("AttributionView", "Grad-CAM")),
    ("integrated-gradients", QT_TRANSLATE_NOOP("AttributionView", "Integrated Gradients")),
    ("occlusion", QT_TRANSLATE_NOOP("AttributionView", "Occlusion")),
)
LIVE_METHODS = ("saliency", "gradcam")  # cheap enough to follow the pen; the others run in the background
INPUT_INK = 0.45  # how dark the strokes under the overlay are (1: black)
OVERLAY_ALPHA = 210  # the strongest attribution's opacity over the input (of 255)
SCALE_SLACK = 1.25  # a new colour scale has this much room above the map's largest value


def overlay_lut() -> np.ndarray:
    """The diverging colour map as RGBA with opacity growing with |value|: zero shows the input beneath."""
    colours = diverging_colormap().getLookupTable(nPts=256, alpha=False)
    alpha = (np.abs(np.linspace(-1.0, 1.0, 256)) * OVERLAY_ALPHA).astype(np.uint8)
    return np.concatenate([colours, alpha[:, None]], axis=1)


class AttributionView(QWidget):
    """The controls, the map alone, and the map over the input. It shows what it is given (``show_attribution``);
    the panel decides when to compute."""

    choiceChanged = Signal()  # method, class, "versus" class or layer changed

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("attributionView")
        self.methodBox = QComboBox(objectName="attributionMethod")
        for method, title in METHOD_TITLES:
            self.methodBox.addItem(QCoreApplication.translate("AttributionView", title), method)
        self.targetBox = QComboBox(objectName="attributionTarget")
        self.targetBox.addItem(self.tr("predicted class"), "predicted")
        self.versusBox = QComboBox(objectName="attributionVersus")
        self.versusBox.addItem(self.tr("—"), "none")
        for digit in range(10):
            self.targetBox.addItem(str(digit), str(digit))
            self.versusBox.addItem(str(digit), str(digit))
        self.layerBox = QComboBox(objectName="attributionLayer")
        self.layerBox.setToolTip(self.tr("The convolution layer Grad-CAM weighs"))
        self.methodBox.setToolTip(self.tr("Saliency and Grad-CAM follow the pen; Integrated Gradients and "
                                          "occlusion are computed in the background and appear when ready"))
        self.versusBox.setToolTip(self.tr("Why this class and not that one: the difference of the two maps"))
        controls = self.controlRow = QHBoxLayout()
        controls.addWidget(QLabel(self.tr("Method")))
        controls.addWidget(self.methodBox)
        controls.addWidget(QLabel(self.tr("Class")))
        controls.addWidget(self.targetBox)
        controls.addWidget(QLabel(self.tr("not")))
        controls.addWidget(self.versusBox)
        controls.addStretch(1)
        # Grad-CAM's layer on a second row: one row of all four was too wide for a column at presentation zoom.
        controls = self.layerRow = QHBoxLayout()
        self.layerLabel = QLabel(self.tr("Layer"))
        for widget in (self.layerLabel, self.layerBox):  # shown for Grad-CAM only, without moving the rest
            policy = widget.sizePolicy()
            policy.setRetainSizeWhenHidden(True)
            widget.setSizePolicy(policy)
        controls.addWidget(self.layerLabel)
        controls.addWidget(self.layerBox)
        controls.addStretch(1)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setFrameShape(QFrame.Shape.NoFrame)
        layout = self.graphics.ci
        self.mapTitle = layout.addLabel("", row=0, col=0, size="9pt")
        layout.addLabel(self.tr("over the model input"), row=0, col=1, size="9pt")
        self.mapView = layout.addViewBox(row=1, col=0, lockAspect=True, enableMouse=False, invertY=True)
        self.overlayView = layout.addViewBox(row=1, col=1, lockAspect=True, enableMouse=False, invertY=True)
        for view in (self.mapView, self.overlayView):
            view.setMenuEnabled(False)
            view.setRange(xRange=(0, 28), yRange=(0, 28), padding=0.01)
        self.mapImage = pg.ImageItem()
        self.mapView.addItem(self.mapImage)
        self.inputImage = pg.ImageItem(levels=(0.0, 1.0))
        self.overlayImage = pg.ImageItem()
        self.overlayImage.setLookupTable(overlay_lut())
        self.overlayView.addItem(self.inputImage)
        self.overlayView.addItem(self.overlayImage)
        self.bar = pg.ColorBarItem(values=(-1, 1), colorMap=diverging_colormap(), interactive=False, width=12)
        self.bar.setImageItem(self.mapImage)
        layout.addItem(self.bar, row=1, col=2)

        self.status = QLabel(objectName="attributionStatus")
        self.status.setWordWrap(True)
        self.legend = QLabel(self.tr("Red: these pixels raise the class's score; blue: they lower it; white and "
                                     "transparent: no effect."), objectName="attributionLegend")
        self.legend.setWordWrap(True)
        box = QVBoxLayout(self)
        box.setContentsMargins(4, 4, 4, 4)
        box.addLayout(self.controlRow)
        box.addLayout(self.layerRow)
        box.addWidget(self.graphics, 1)
        box.addWidget(self.legend)
        box.addWidget(self.status)
        self.hoverLabel = QLabel(self.tr("Point at a pixel to read its attribution."), objectName="attributionValue")
        box.addWidget(self.hoverLabel)
        self.attribution: Attribution | None = None
        self._scale = 1.0  # the colour scale's end (see _fit_scale)
        for combo in (self.methodBox, self.targetBox, self.versusBox, self.layerBox):
            combo.currentIndexChanged.connect(self._choice_changed)
        self.graphics.scene().sigMouseMoved.connect(self._hover)
        self.graphics.scene().sigMouseClicked.connect(self._clicked)
        self.graphics.setToolTip(self.tr("Double-click the map to enlarge it."))
        presentation().changed.connect(self._restyle)
        style_graphics(self.graphics)
        self._update_layer_box()
        self.show_attribution(None, None)

    # -- the choices -----------------------------------------------------------------------------------
    @property
    def method(self) -> str:
        return self.methodBox.currentData()

    @property
    def target(self) -> int | None:
        data = self.targetBox.currentData()
        return None if data == "predicted" else int(data)

    @property
    def versus(self) -> int | None:
        data = self.versusBox.currentData()
        return None if data == "none" else int(data)

    @property
    def layer(self) -> str | None:
        return self.layerBox.currentData() if self.method == "gradcam" else None

    def set_layers(self, names: list[str], default: str | None = None) -> None:
        """The conv layers Grad-CAM can use (``default`` chosen, else the last, unless the previous choice is among
        them)."""
        previous = self.layerBox.currentData()
        self.layerBox.blockSignals(True)
        self.layerBox.clear()
        for name in names:
            self.layerBox.addItem(name, name)
        index = self.layerBox.findData(previous)
        if index < 0:
            index = self.layerBox.findData(default) if default in names else len(names) - 1
        self.layerBox.setCurrentIndex(index)
        self.layerBox.blockSignals(False)
        self._update_layer_box()

    def _update_layer_box(self) -> None:
        gradcam = self.method == "gradcam"
        self.layerBox.setVisible(gradcam)
        self.layerLabel.setVisible(gradcam)

    def _choice_changed(self, _index: int) -> None:
        self._update_layer_box()
        self.choiceChanged.emit()

    # -- what is shown ---------------------------------------------------------------------------------
    def show_waiting(self) -> None:
        self.status.setText(self.tr("Computing…"))

    def show_message(self, message: str) -> None:
        self.attribution = None
        self.mapImage.clear()
        self.overlayImage.clear()
        self.status.setText(message)

    def show_attribution(self, attribution: Attribution | None, image: np.ndarray | None) -> None:
        self.attribution = attribution
        # The input in light grey (ink at most half dark), so the colours over the strokes stay readable.
        self.inputImage.setImage(1.0 - INPUT_INK * (np.zeros((28, 28), np.float32) if image is None else image),
                                 levels=(0.0, 1.0), autoLevels=False)
        if attribution is None:
            self.mapImage.clear()
            self.overlayImage.clear()
            self.mapTitle.setText(self.tr("attribution"))
            self.status.setText(self.tr("Draw a digit to see which pixels decide the prediction.")
                                if image is None else "")
            return
        self._fit_scale(attribution.limit or 1.0)
        self.mapImage.setImage(attribution.values, autoLevels=False)
        self.overlayImage.setImage(attribution.values, levels=(-self._scale, self._scale), autoLevels=False)
        if attribution.versus is None:
            title = self.tr("{method} for {target}")
        else:
            title = self.tr("{method}: {target} minus {versus}")
        method = dict(METHOD_TITLES).get(attribution.method, attribution.method)
        self.mapTitle.setText(title.format(method=QCoreApplication.translate("AttributionView", method),
                                           target=attribution.target, versus=attribution.versus))
        details = [self.tr("The model says {predicted}.").format(predicted=attribution.predicted)]
        if attribution.completeness_error is not None:
            details.append(self.tr("Completeness: the map sums to the score's rise from a blank input within "
                                   "{error:.2%}.").format(error=attribution.completeness_error))
        if attribution.layer:
            details.append(self.tr("Grad-CAM on {layer}, scaled up to 28×28.").format(layer=attribution.layer))
        self.status.setText(" ".join(details))

    def _fit_scale(self, limit: float) -> None:
        """The colour scale runs from -scale to +scale (zero white). It grows at once to hold a larger map and
        shrinks only once the map uses less than half of it: redrawing the scale's axis on every stroke point
        would cost more than the map itself."""
        if limit > self._scale or limit < 0.5 * self._scale:
            self._scale = SCALE_SLACK * limit
            self.bar.setLevels((-self._scale, self._scale))

    def _restyle(self) -> None:
        """Presentation mode turned on or off: its colour map (the legend follows), label sizes and lines."""
        self.bar.setColorMap(diverging_colormap())
        self.overlayImage.setLookupTable(overlay_lut())
        style_graphics(self.graphics)

    def _clicked(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and event.double():
            self.enlarge()

    def enlarge(self) -> None:
        """Show the attribution map large, on its colour scale (nothing while there is none)."""
        if self.attribution is not None:
            enlarge(self, self.mapTitle.text, self.attribution.values, (-self._scale, self._scale),
                    diverging_colormap())

    def _hover(self, scene_pos: QPointF) -> None:
        if self.attribution is None:
            return
        for view in (self.mapView, self.overlayView):
            if view.sceneBoundingRect().contains(scene_pos):
                point = view.mapSceneToView(scene_pos)
                x, y = math.floor(point.x()), math.floor(point.y())
                if 0 <= x < 28 and 0 <= y < 28:
                    self.hoverLabel.setText(self.tr("Pixel ({x}, {y}): {value:+.4f}").format(
                        x=x, y=y, value=float(self.attribution.values[y, x])))
                return
