"""A one-line label that cuts its text short with "…" instead of widening its layout (the whole text in its
tooltip): a model's name in a narrow column, the current model in the status bar."""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    """One line of plain text, cut short with "…" where the room ends (it never widens its layout); the whole text
    is its tooltip."""

    def __init__(self, objectName: str = "", parent: QWidget | None = None, preferred_chars: int = 12) -> None:
        super().__init__(parent, objectName=objectName)
        self.preferred_chars = preferred_chars  # the most room it asks for, in average characters
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def minimumSizeHint(self) -> QSize:
        return QSize(self.fontMetrics().horizontalAdvance("mmmm…"), super().minimumSizeHint().height())

    def sizeHint(self) -> QSize:
        return QSize(min(super().sizeHint().width(), self.preferred_chars * self.fontMetrics().averageCharWidth()),
                     super().sizeHint().height())

    def paintEvent(self, _event) -> None:
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        self.style().drawItemText(painter, rect, int(self.alignment() | Qt.AlignmentFlag.AlignVCenter),
                                  self.palette(), self.isEnabled(), shown, self.foregroundRole())
