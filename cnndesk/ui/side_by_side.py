"""Two models side by side on the same input: each one's prediction, its ten probabilities and a chosen layer's
output, with a control that moves the digit inside the 28×28 input (the tutorials' CNN-vs-MLP lesson).

The drawing's preprocessing centres every digit by its centre of mass, so a digit drawn off-centre reaches the
models centred; to show what a shift does, this view moves the model input itself, for both models alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .activations import ActivationsView
from .predictions import PredictionLabel, ProbabilityBars

if TYPE_CHECKING:
    from cnndesk.engine.inspect import Inspection, LayerActivation

MAX_SHIFT = 8  # px either way: a 20 px digit moved further leaves the 28×28 input
PREDICTION_POINT_SIZE = 18  # the columns' predicted digit: smaller than the main prediction's, two fit side by side
BARS_HEIGHT = 110
THUMBNAIL_SCALE = 2  # the moved input, 28×28 shown at 56×56 px


def shift_image(image: np.ndarray, right: int, down: int) -> np.ndarray:
    """``image`` moved ``right`` and ``down`` pixels (negative: left, up); what moves out is lost, what moves in is
    zero (no ink)."""
    height, width = image.shape[-2:]
    out = np.zeros_like(image)
    if abs(right) >= width or abs(down) >= height:
        return out
    out[..., max(down, 0):height + min(down, 0), max(right, 0):width + min(right, 0)] = \
        image[..., max(-down, 0):height - max(down, 0), max(-right, 0):width - max(right, 0)]
    return out


def layer_text(layer: LayerActivation) -> str:
    """A layer as the combo lists it: its label and output shape, as the Every layer tab titles it."""
    return f"{layer.label}  {list(layer.shape)}"


class ModelColumn(QWidget):
    """One model: its name, its prediction with confidence, its probability bars and one layer's output; a message
    in their place while there is no model."""

    layerChosen = Signal(str)  # the layer's name in the model

    def __init__(self, name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{name}Column")
        self.title = QLabel(objectName=f"{name}Title")
        self.title.setTextFormat(Qt.TextFormat.RichText)
        self.emptyLabel = QLabel(objectName=f"{name}Empty", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
        self.emptyLabel.setStyleSheet("color: #666; padding: 12px;")
        self.prediction = PredictionLabel()
        self.prediction.setObjectName(f"{name}Prediction")
        font = QFont(self.prediction.font())
        font.setPointSize(PREDICTION_POINT_SIZE)
        self.prediction.setFont(font)
        self.probabilities = ProbabilityBars()
        self.probabilities.setObjectName(f"{name}Probabilities")
        self.probabilities.setMinimumHeight(BARS_HEIGHT)
        self.layerBox = QComboBox(objectName=f"{name}LayerBox")
        self.layerBox.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layerBox.currentIndexChanged.connect(self._chosen)
        self.layerView = ActivationsView()
        self.layerView.setObjectName(f"{name}Layer")

        content = QWidget()
        box = QVBoxLayout(content)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.prediction)
        box.addWidget(self.probabilities, 2)
        box.addWidget(self.layerBox)
        box.addWidget(self.layerView, 3)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.emptyLabel)
        self.pages.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.title)
        layout.addWidget(self.pages, 1)
        self._layers: list[LayerActivation] = []
        self.shown: Inspection | None = None  # what the column shows (None: nothing drawn, or no model)

    @property
    def layer(self) -> str | None:
        """The chosen layer's name."""
        return self.layerBox.currentData()

    def show_empty(self, title: str, message: str) -> None:
        self.title.setText(title)
        self.emptyLabel.setText(message)
        self.pages.setCurrentIndex(0)
        self.set_layers([], None)
        self.shown = None

    def show_model(self, title: str) -> None:
        self.title.setText(title)
        self.pages.setCurrentIndex(1)

    @property
    def is_empty(self) -> bool:
        return self.pages.currentIndex() == 0

    def set_layers(self, layers: list[LayerActivation], preferred: str | None) -> None:
        """List a model's visible layers; choose ``preferred`` if the model has it, else keep the choice, else the
        first layer (what a user sees first when the digit moves: the maps move with it, or do not)."""
        names = [layer.name for layer in layers]
        keep = preferred if preferred in names else self.layer if self.layer in names else names[0] if names else None
        self.layerBox.blockSignals(True)  # refilling is not a choice
        self.layerBox.clear()
        for layer in layers:
            self.layerBox.addItem(layer_text(layer), layer.name)
        if keep is not None:
            self.layerBox.setCurrentIndex(names.index(keep))
        self.layerBox.blockSignals(False)
        self._layers = list(layers)
        self.layerView.set_architecture([layer for layer in layers if layer.name == keep])

    def show_inspection(self, inspection: Inspection | None) -> None:
        self.shown = inspection
        if inspection is None:
            self.prediction.show_empty()
            self.probabilities.set_probabilities(None)
            self.layerView.show_inspection(None)
            return
        self.prediction.show_prediction(inspection.label, inspection.confidence)
        self.probabilities.set_probabilities(inspection.probabilities)
        chosen = [layer for layer in inspection.layers if layer.name == self.layer]
        if chosen:
            self.layerView.show_layers(chosen)

    def _chosen(self, _index: int) -> None:
        layer = self.layer
        if layer is None:
            return
        template = [row for row in self._layers if row.name == layer]
        self.layerView.set_architecture(template)
        if self.shown is not None:
            self.show_inspection(self.shown)
        self.layerChosen.emit(layer)


class SideBySideView(QWidget):
    """The pinned model's column beside the current model's, the "Move the digit" control with the moved input,
    the buttons that pin, unpin and set up the CNN-vs-MLP lesson, and a line that explains what is seen."""

    shiftChanged = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("sideBySide")
        self.pinButton = QPushButton(self.tr("Pin current model"), objectName="pinButton")
        self.pinButton.setToolTip(self.tr("Keep the current model in the left column; then open or train another"))
        self.unpinButton = QPushButton(self.tr("Unpin"), objectName="unpinButton")
        self.lessonButton = QPushButton(self.tr("CNN vs MLP"), objectName="lessonButton")
        self.lessonButton.setToolTip(self.tr("Pin the bundled LeNet5, make the bundled MLP current and move the "
                                             "digit: the CNN still reads it, the MLP does not"))
        buttons = QHBoxLayout()
        buttons.addWidget(self.pinButton)
        buttons.addWidget(self.unpinButton)
        buttons.addStretch(1)
        buttons.addWidget(self.lessonButton)

        self.pinnedColumn = ModelColumn("pinned")
        self.currentColumn = ModelColumn("current")
        columns = QHBoxLayout()
        columns.setSpacing(12)
        columns.addWidget(self.pinnedColumn, 1)
        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setFrameShadow(QFrame.Shadow.Sunken)
        columns.addWidget(separator)
        columns.addWidget(self.currentColumn, 1)

        self.shiftRight = self._shift_box("shiftRight", self.tr("Move the model input right (negative: left)"))
        self.shiftDown = self._shift_box("shiftDown", self.tr("Move the model input down (negative: up)"))
        self.centreButton = QPushButton(self.tr("Centre"), objectName="centreButton")
        self.centreButton.setToolTip(self.tr("Put the digit back where the preprocessing centred it"))
        self.centreButton.clicked.connect(lambda: self.set_shift(0, 0))
        self.movedInput = QLabel(objectName="movedInput")
        self.movedInput.setFixedSize(28 * THUMBNAIL_SCALE + 2, 28 * THUMBNAIL_SCALE + 2)
        self.movedInput.setStyleSheet("border: 1px solid #999; background: white;")
        self.movedInput.setToolTip(self.tr("The 28×28 input both models see"))
        move = QHBoxLayout()
        move.addWidget(QLabel(self.tr("Move the digit:")))
        move.addWidget(QLabel(self.tr("right")))
        move.addWidget(self.shiftRight)
        move.addWidget(QLabel(self.tr("down")))
        move.addWidget(self.shiftDown)
        move.addWidget(self.centreButton)
        move.addStretch(1)
        move.addWidget(self.movedInput)

        self.explanation = QLabel(objectName="sideBySideExplanation", wordWrap=True)
        self.explanation.setStyleSheet("color: #444;")
        self.explanation.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)
        layout.addLayout(buttons)
        layout.addLayout(columns, 1)
        layout.addLayout(move)
        layout.addWidget(self.explanation)
        self.show_input(None)

    def _shift_box(self, name: str, tip: str) -> QSpinBox:
        box = QSpinBox(objectName=name)
        box.setRange(-MAX_SHIFT, MAX_SHIFT)
        box.setSuffix(self.tr(" px"))
        box.setToolTip(tip)
        box.valueChanged.connect(lambda _value: self.shiftChanged.emit())
        return box

    def shift(self) -> tuple[int, int]:
        """(right, down) in pixels of the 28×28 input."""
        return self.shiftRight.value(), self.shiftDown.value()

    def set_shift(self, right: int, down: int) -> None:
        """Both at once: one ``shiftChanged``, not two."""
        if (right, down) == self.shift():
            return
        for box, value in ((self.shiftRight, right), (self.shiftDown, down)):
            box.blockSignals(True)
            box.setValue(value)
            box.blockSignals(False)
        self.shiftChanged.emit()

    def show_input(self, image: np.ndarray | None) -> None:
        """The moved 28×28 input, dark ink on white as on paper (None: blank)."""
        pixels = np.full((28, 28), 255, np.uint8) if image is None else \
            np.round(255 - np.clip(image, 0.0, 1.0) * 255).astype(np.uint8)
        picture = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
        self.movedInput.setPixmap(QPixmap.fromImage(picture).scaled(
            28 * THUMBNAIL_SCALE, 28 * THUMBNAIL_SCALE, Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation))  # sharp pixels: they are what the models see

    def show_explanation(self, text: str) -> None:
        self.explanation.setText(text)
        self.explanation.setVisible(bool(text))
