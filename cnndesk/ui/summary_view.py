"""The current model, layer by layer: shapes, parameters, multiply-adds, output-size formula, receptive field."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from cnndesk import engine

if TYPE_CHECKING:
    from cnndesk.engine import ModelSummary, Network

# The header: translated where shown.
COLUMNS = [QT_TRANSLATE_NOOP("SummaryView", "Layer"), QT_TRANSLATE_NOOP("SummaryView", "Type"),
           QT_TRANSLATE_NOOP("SummaryView", "Output"), QT_TRANSLATE_NOOP("SummaryView", "Parameters"),
           QT_TRANSLATE_NOOP("SummaryView", "Mult-adds"), QT_TRANSLATE_NOOP("SummaryView", "O = (W − K + 2P) / S + 1"),
           QT_TRANSLATE_NOOP("SummaryView", "Receptive field")]


class SummaryView(QTableWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setObjectName("summary")
        self.setHorizontalHeaderLabels([QCoreApplication.translate("SummaryView", title) for title in COLUMNS])
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setAlternatingRowColors(True)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.summary: ModelSummary | None = None

    def show_model(self, model: Network) -> None:
        summary = engine.summarize(model)
        if self.summary is not None and self.summary == summary:
            return
        self.summary = summary
        self.setRowCount(len(summary.layers) + 1)
        for row, layer in enumerate(summary.layers):
            rf = f"{layer.receptive_field}×{layer.receptive_field}" if layer.receptive_field else ""
            values = [layer.name, layer.type, str(layer.output_shape), f"{layer.params:,}", f"{layer.macs:,}",
                      layer.formula or "", rf]
            for col, value in enumerate(values):
                self.setItem(row, col, self._item(value, numeric=col in (3, 4)))
        total = len(summary.layers)
        totals = [self.tr("total"), "", "", f"{summary.total_params:,}", f"{summary.total_macs:,}", "", ""]
        for col, value in enumerate(totals):
            item = self._item(value, numeric=col in (3, 4))
            font = QFont(item.font())
            font.setBold(True)
            item.setFont(font)
            self.setItem(total, col, item)

    @staticmethod
    def _item(text: str, numeric: bool) -> QTableWidgetItem:
        item = QTableWidgetItem(text)
        if numeric:
            item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return item
