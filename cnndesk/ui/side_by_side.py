"""Two models side by side on the same input: each one's prediction, its ten probabilities and a chosen layer's
output, with a control that moves the digit inside the 28×28 input (the tutorials' CNN-vs-MLP lesson).

The drawing's preprocessing centres every digit by its centre of mass, so a digit drawn off-centre reaches the
models centred; to show what a shift does, this view moves the model input itself, for both models alike.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from .activations import ActivationsView
from .elided_label import ElidedLabel
from .predictions import PredictionLabel, ProbabilityBars
from .presentation import is_dark, presentation

if TYPE_CHECKING:
    from cnndesk.engine.inspect import Inspection, LayerActivation

MAX_SHIFT = 8  # px either way: a 20 px digit moved further leaves the 28×28 input
# The tab must read in a 1280×720 window, where it has about 530×290 px: each column is then some 250 px wide and
# what is below its header shares some 150 px between the probabilities, the layer combo and the layer's output.
PREDICTION_POINT_SIZE = 13  # the columns' predicted digit, on the model's line: two columns fit side by side
BARS_MIN_HEIGHT = 56  # the probabilities: ten bars and their digits still read at this height
BARS_MAX_HEIGHT = 150  # more room goes to the layer's output
MAP_ROW_MIN_HEIGHT = 30  # px per row of feature maps, at least (less: the layer's view scrolls)
VECTOR_MIN_HEIGHT = 40  # a vector's bars, at least
VECTOR_HEIGHT = 56  # what a vector's bars ask for; the probabilities get what the room has left
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


class LayerView(ActivationsView):
    """The chosen layer's output alone, fitted to the column: no title (the combo above names the layer), no
    margins; maps as large as the column's width allows, and no taller (the room left goes to the probabilities);
    below ``MAP_ROW_MIN_HEIGHT`` px per row of maps the view scrolls, so that one row always shows."""

    fit_rows_to_width = False  # its one layer's height is its own (fit_bars, natural_height)

    reshaped = Signal()  # the height the layer wants changed (another layer, another width)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.graphics.ci.setContentsMargins(0, 0, 0, 0)
        self.graphics.ci.setSpacing(0)
        self.setMinimumHeight(MAP_ROW_MIN_HEIGHT)  # one row of maps; its height: SideBySideView.fit_bars
        self._aspect: float | None = None  # the maps' mosaic, height / width (None: a vector, no such limit)

    def _rebuild(self, layers: list[LayerActivation]) -> None:
        super()._rebuild(layers)
        grid = self.graphics.ci.layout
        least, self._aspect = 0, None
        for index, (row, layer) in enumerate(zip(self.rows, layers, strict=True)):
            self.graphics.ci.removeItem(row.title)  # hidden, it would still keep its room
            grid.setRowFixedHeight(2 * index, 0)
            if layer.is_map:
                tile_rows = math.ceil(layer.shape[0] / row.columns)
                height = MAP_ROW_MIN_HEIGHT * tile_rows
                self._aspect = (tile_rows * (layer.shape[1] + 1)) / (row.columns * (layer.shape[2] + 1))
            else:
                height = VECTOR_MIN_HEIGHT
            grid.setRowMinimumHeight(2 * index + 1, height)
            grid.setRowMaximumHeight(2 * index + 1, 16777215)  # QWIDGETSIZE_MAX: the room there is
            least += height
        self.graphics.setMinimumHeight(least)
        self.reshaped.emit()

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.reshaped.emit()

    @property
    def shows_maps(self) -> bool:
        return self._aspect is not None and len(self.rows) == 1

    def natural_height(self) -> int:
        """The height the layer wants: its maps as wide as the view (a vector: ``VECTOR_HEIGHT``; none: 0)."""
        if not self.rows:
            return 0
        if not self.shows_maps:
            return max(VECTOR_HEIGHT, self.graphics.minimumHeight()) + 2 * self.frameWidth()
        # The view's own width, not its viewport's: a scroll bar that comes and goes must not change it (a loop).
        natural = math.ceil((self.width() - 2 * self.frameWidth()) * self._aspect)
        return max(natural, self.graphics.minimumHeight()) + 2 * self.frameWidth()


class CompactPrediction(PredictionLabel):
    """The predicted digit and its confidence with narrow spacing ("7 · 98.6%"): it shares a line with the model."""

    points = PREDICTION_POINT_SIZE

    def show_prediction(self, label: int, confidence: float) -> None:
        self.setText(f"{label} · {confidence:.1%}")


class ModelColumn(QWidget):
    """One model: a line with its role, its name (cut short to fit, whole in the tooltip) and its prediction with
    confidence; its probability bars, the layer combo and that layer's output; a message in their place while there
    is no model."""

    layerChosen = Signal(str)  # the layer's name in the model
    reshaped = Signal()  # the room its layer wants changed, or the column emptied or filled

    def __init__(self, name: str, role: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName(f"{name}Column")
        self.role = QLabel(role, objectName=f"{name}Role")
        font = QFont(self.role.font())
        font.setBold(True)
        self.role.setFont(font)
        self.title = ElidedLabel(objectName=f"{name}Title")
        self.emptyLabel = QLabel(objectName=f"{name}Empty", wordWrap=True,
                                 alignment=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self.emptyLabel.setStyleSheet("color: palette(placeholder-text); padding: 8px 4px;")  # (either theme)
        # Never taller than the room it is given (its message is short enough for a 250×150 px column).
        self.emptyLabel.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Ignored)
        self.prediction = CompactPrediction()
        self.prediction.setObjectName(f"{name}Prediction")
        self.prediction.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.probabilities = ProbabilityBars()
        self.probabilities.setObjectName(f"{name}Probabilities")
        self.probabilities.setMinimumHeight(BARS_MIN_HEIGHT)
        self.probabilities.setMaximumHeight(BARS_MIN_HEIGHT)
        self.probabilities.getAxis("left").showLabel(False)  # the tooltip says what the bars are
        self.probabilities.getAxis("left").setTicks([[(0.0, "0"), (0.5, ".5"), (1.0, "1")]])
        self.probabilities.setToolTip(self.tr("Each digit's probability for this model"))
        self.layerBox = QComboBox(objectName=f"{name}LayerBox")
        self.layerBox.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.layerBox.setToolTip(self.tr("The layer whose output is shown below"))
        self.layerBox.currentIndexChanged.connect(self._chosen)
        self.layerView = LayerView()
        self.layerView.setObjectName(f"{name}Layer")
        self.layerView.reshaped.connect(self.reshaped)

        header = QHBoxLayout()
        header.setSpacing(4)
        header.addWidget(self.role)
        header.addWidget(self.title, 1)
        header.addWidget(self.prediction)
        content = QWidget()
        box = QVBoxLayout(content)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        box.addWidget(self.probabilities, 1)  # up to its most height, and the layer's: SideBySideView.fit_bars
        box.addWidget(self.layerBox)
        box.addWidget(self.layerView)
        box.addStretch(0)  # what maps that need less leave, below them
        self.pages = QStackedWidget()
        self.pages.addWidget(self.emptyLabel)
        self.pages.addWidget(content)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addLayout(header)
        layout.addWidget(self.pages, 1)
        self._layers: list[LayerActivation] = []
        self.shown: Inspection | None = None  # what the column shows (None: nothing drawn, or no model)

    @property
    def layer(self) -> str | None:
        """The chosen layer's name."""
        return self.layerBox.currentData()

    def show_empty(self, title: str, message: str) -> None:
        """``title``: what stands after the role ("no model"); ``message``: what the column says instead."""
        self.title.setText(title)
        self.emptyLabel.setText(message)
        self.prediction.hide()
        self.pages.setCurrentIndex(0)
        self.set_layers([], None)
        self.shown = None
        self.reshaped.emit()

    def show_model(self, title: str) -> None:
        """``title``: the model, after the role ("lenet5 (bundled, 99.41%)")."""
        self.title.setText(title)
        self.prediction.show()
        if self.is_empty:
            self.pages.setCurrentIndex(1)
            self.reshaped.emit()

    @property
    def is_empty(self) -> bool:
        return self.pages.currentIndex() == 0

    def room(self) -> int:
        """The height the probabilities and the layer's output share."""
        box = self.pages.widget(1).layout()
        return self.pages.height() - self.layerBox.sizeHint().height() - 2 * box.spacing()

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
    """On top, the buttons that pin, unpin and set up the CNN-vs-MLP lesson over the "Move the digit" control, the
    moved input beside both; below, the pinned model's column beside the current model's, and a line that explains
    what is seen. Compact enough for a 1280×720 window (about 530×290 px here)."""

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
        buttons.setSpacing(4)
        buttons.addWidget(self.pinButton)
        buttons.addWidget(self.unpinButton)
        buttons.addStretch(1)
        buttons.addWidget(self.lessonButton)

        self.pinnedColumn = ModelColumn("pinned", self.tr("Pinned:"))
        self.currentColumn = ModelColumn("current", self.tr("Current:"))
        columns = QHBoxLayout()
        columns.setSpacing(8)
        columns.addWidget(self.pinnedColumn, 1)
        separator = QFrame()
        separator.setFrameShape(QFrame.Shape.VLine)
        separator.setFrameShadow(QFrame.Shadow.Sunken)
        columns.addWidget(separator)
        columns.addWidget(self.currentColumn, 1)
        for column in (self.pinnedColumn, self.currentColumn):
            column.reshaped.connect(self.fit_bars)

        self.shiftRight = self._shift_box("shiftRight", self.tr("Move the model input right (negative: left)"))
        self.shiftDown = self._shift_box("shiftDown", self.tr("Move the model input down (negative: up)"))
        self.centreButton = QPushButton(self.tr("Centre"), objectName="centreButton")
        self.centreButton.setToolTip(self.tr("Put the digit back where the preprocessing centred it"))
        self.centreButton.clicked.connect(lambda: self.set_shift(0, 0))
        self.movedInput = QLabel(objectName="movedInput")
        self.movedInput.setFixedSize(28 * THUMBNAIL_SCALE + 2, 28 * THUMBNAIL_SCALE + 2)
        self.movedInput.setToolTip(self.tr("The 28×28 input both models see"))
        move = QHBoxLayout()
        move.setSpacing(4)
        move.addWidget(QLabel(self.tr("Move the digit:")))
        move.addWidget(QLabel(self.tr("right")))
        move.addWidget(self.shiftRight)
        move.addWidget(QLabel(self.tr("down")))
        move.addWidget(self.shiftDown)
        move.addWidget(self.centreButton)
        move.addStretch(1)
        self._move = move
        controls = self._controls = QGridLayout()
        controls.setContentsMargins(0, 0, 0, 0)
        controls.setHorizontalSpacing(8)
        controls.setVerticalSpacing(2)
        controls.addLayout(buttons, 0, 0)
        controls.addLayout(move, 1, 0)
        controls.addWidget(self.movedInput, 0, 1, 2, 1, Qt.AlignmentFlag.AlignCenter)
        controls.setColumnStretch(0, 1)

        self.explanation = QLabel(objectName="sideBySideExplanation", wordWrap=True)
        self.explanation.hide()

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addLayout(controls)
        layout.addLayout(columns, 1)
        layout.addWidget(self.explanation)
        self.show_input(None)
        self._place_centre_button()
        presentation().changed.connect(self._place_centre_button)

    def _place_centre_button(self) -> None:
        """Presentation mode's larger text makes the "Move the digit" line too wide for a 1280 px screen's column:
        Centre goes to a line of its own there (outside it, that line would take the fc layers' room)."""
        self._move.removeWidget(self.centreButton)
        self._controls.removeWidget(self.centreButton)
        if presentation().active:
            self._controls.addWidget(self.centreButton, 2, 0, Qt.AlignmentFlag.AlignLeft)
        else:
            self._move.insertWidget(self._move.indexOf(self.shiftDown) + 1, self.centreButton)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)  # the layout has placed the columns already
        self.fit_bars()

    def fit_bars(self) -> None:
        """Share each column's room between its probabilities and its layer: both columns' probabilities alike
        tall, level with each other, taking what is left once the taller of the two layers has its room (maps at
        the column's width), within ``BARS_MIN_HEIGHT`` and ``BARS_MAX_HEIGHT``; each layer gets the rest, its maps
        no taller than they need. Set as most heights, not fixed ones: a least that grew would grow the tab's
        least, and move the room that they are computed from."""
        shown = [column for column in (self.pinnedColumn, self.currentColumn) if not column.is_empty]
        if not shown:
            return
        room = shown[0].room()
        need = max(column.layerView.natural_height() for column in shown)
        bars = max(BARS_MIN_HEIGHT, min(BARS_MAX_HEIGHT, room - need))
        for column in shown:
            view = column.layerView
            rest = room - bars
            layer = max(view.minimumHeight(), min(view.natural_height(), rest) if view.shows_maps else rest)
            for widget, height in ((column.probabilities, bars), (view, layer)):
                if widget.maximumHeight() != height:
                    widget.setMaximumHeight(height)

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
        """The moved 28×28 input, dark ink on white as on paper — in the dark theme white on black, as MNIST is, like
        the model input's steps (None: blank)."""
        self._shown_input = image
        ink = np.zeros((28, 28), np.float32) if image is None else np.clip(image, 0.0, 1.0)
        dark = is_dark(self.palette())
        pixels = np.round((ink if dark else 1.0 - ink) * 255).astype(np.uint8)
        self.movedInput.setStyleSheet(f"border: 1px solid #999; background: {'black' if dark else 'white'};")
        picture = QImage(pixels.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
        self.movedInput.setPixmap(QPixmap.fromImage(picture).scaled(
            28 * THUMBNAIL_SCALE, 28 * THUMBNAIL_SCALE, Qt.AspectRatioMode.IgnoreAspectRatio,
            Qt.TransformationMode.FastTransformation))  # sharp pixels: they are what the models see

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange and hasattr(self, "_shown_input"):  # the theme: ink and paper
            self.show_input(self._shown_input)

    def show_explanation(self, text: str) -> None:
        self.explanation.setText(text)
        self.explanation.setVisible(bool(text))
