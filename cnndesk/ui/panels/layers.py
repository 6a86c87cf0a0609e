"""Inside the network: every layer's output for the current input, and the model's summary."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import QLabel, QSplitter, QVBoxLayout, QWidget

from cnndesk.errors import CnndeskError
from cnndesk.session.state import Selection
from cnndesk.ui.activations import ActivationsView
from cnndesk.ui.cell_explainer import CellExplainer
from cnndesk.ui.summary_view import SummaryView

from .base import INSPECT, Panel

RECEPTIVE_FIELD_COLUMN = 6  # (the summary's last column)
UNKNOWN_WITHOUT_WEIGHTS = (3, 4, 5, RECEPTIVE_FIELD_COLUMN)  # parameters, mult-adds, the formula, receptive field


class LayersPanel(Panel):
    """Feature maps as image grids, fully connected layers as bars, for the input being drawn; below them, how the
    clicked cell's value was computed."""

    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.activations = ActivationsView()
        self.cellExplainer = CellExplainer()
        self.cellValue = QLabel(self._hint(), objectName="cellValue")
        self.cellValue.setWordWrap(True)  # the hint, in a narrow column (presentation mode's larger font)
        top = QWidget()
        box = QVBoxLayout(top)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.activations, 1)
        box.addWidget(self.cellValue)
        self.layersSplitter = QSplitter(Qt.Orientation.Vertical, objectName="layersSplitter")
        self.layersSplitter.addWidget(top)
        self.layersSplitter.addWidget(self.cellExplainer)
        self.layersSplitter.setStretchFactor(0, 3)
        self.layersSplitter.setStretchFactor(1, 2)
        self.cellExplainer.hide()  # until a cell is clicked: the maps get the room
        self.cellExplainer.closeRequested.connect(lambda: self.session.select(None))
        self.activations.cellClicked.connect(self._select_cell)
        self.activations.hovered.connect(self._show_value)
        self.session.network_changed.connect(self._show_architecture)
        self.session.inspection_changed.connect(self._show_inspection)
        self.session.selection_changed.connect(self._show_selection)
        self._stale = False  # the input changed while the tab was hidden
        self.layersSplitter.installEventFilter(self)

    def widget(self) -> QWidget:
        return self.layersSplitter

    def _select_cell(self, layer: str, cell: tuple) -> None:
        if not self.session.has_weights:  # nothing to recompute a cell from: the hint says so
            self.cellValue.setText(self._hint())
            return
        self.session.select(Selection.of_cell(layer, cell))

    def _hint(self) -> str:
        if not self.session.has_weights:
            return self.tr("Point at a map to read a value. This model runs in onnxruntime: without its kernels "
                           "cnndesk cannot show how a cell was computed.")
        return self.tr("Point at a map to read a value; click a cell to see how it was computed.")

    def _show_value(self, text: str) -> None:
        self.cellValue.setText(text or self._hint())

    def _show_inspection(self, inspection) -> None:
        if not self.layersSplitter.isVisible():
            self._stale = True  # another tab is in front: the pen does not wait for maps nobody sees
            return
        self._stale = False
        self.activations.show_inspection(inspection)
        if self.session.selection is not None:
            self._explain()

    def _show_selection(self, selection) -> None:
        self.activations.mark(None if selection is None else selection.layer,
                              None if selection is None else selection.cell)
        if selection is not None and self.cellExplainer.isHidden():
            self.cellExplainer.show()
            sizes = self.layersSplitter.sizes()
            if sizes[1] < 0.5 * sum(sizes):  # first shown: about half the height, the maps keep the rest
                self.layersSplitter.setSizes([int(0.45 * sum(sizes)), int(0.55 * sum(sizes))])
        self.cellExplainer.setVisible(selection is not None)
        if selection is None:
            self.cellExplainer.show_explanation(None)
        else:
            self._explain()

    def _explain(self) -> None:
        if not self.layersSplitter.isVisible() or self.cellExplainer.isHidden():
            return
        try:
            explanation = self.session.explain_selection()
        except CnndeskError as exc:  # a selection the network shown lost (never expected: the session drops it)
            self.shell.status(str(exc))
            explanation = None
        self.cellExplainer.show_explanation(explanation)

    def title(self) -> str:
        return self.tr("Every layer")

    def _show_architecture(self, network) -> None:
        predictor = self.session.predictor
        empty = predictor.inspect(np.zeros((28, 28), np.float32))
        self.activations.set_architecture(empty.layers)
        if not self.session.has_weights and self.session.selection is not None:
            self.session.select(None)  # (a cell of the network before: nothing explains this one's)
        selection = self.session.selection
        self.activations.mark(None if selection is None else selection.layer,
                              None if selection is None else selection.cell)
        self.cellValue.setText(self._hint())

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.layersSplitter and event.type() == QEvent.Type.Show and self._stale:
            self._show_inspection(self.session.inspection)  # the input changed while another tab was in front
        return False


class SummaryPanel(Panel):
    """The model layer by layer: shapes, parameters, multiply-adds, formulas, receptive fields."""

    area = INSPECT

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.summaryView = SummaryView()
        self.session.network_changed.connect(self._show_model)

    def widget(self) -> QWidget:
        return self.summaryView

    def title(self) -> str:
        return self.tr("Summary")

    def _show_model(self, network) -> None:
        self.summaryView.show_model(network)
        if not self.session.has_weights:
            # An onnxruntime model's layers carry no PyTorch weights nor kernel sizes: its parameters, mult-adds and
            # receptive fields are not known here (the summary would count 0 and 1×1); its names, operations and
            # shapes are.
            unknown = self.tr("in the ONNX graph: not counted here")
            for row in range(self.summaryView.rowCount()):
                for column in UNKNOWN_WITHOUT_WEIGHTS:
                    item = self.summaryView.item(row, column)
                    if item is not None:
                        item.setText("—" if column != RECEPTIVE_FIELD_COLUMN else "")
                        item.setToolTip(unknown)
