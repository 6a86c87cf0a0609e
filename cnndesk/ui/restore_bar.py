"""A bar across the top of the window that offers to restore a run cnndesk closed in the middle of."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class RestoreBar(QFrame):
    """Non-modal: the window stays usable, and nothing waits on the user's answer."""

    resumeRequested = Signal()
    openRequested = Signal()
    discardRequested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("restoreBar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#restoreBar { background: #fff4ce; border: 1px solid #e3c55f; border-radius: 3px; }"
                           "#restoreBar QLabel { color: #3d3200; }")
        self.label = QLabel(objectName="restoreText")
        self.label.setWordWrap(True)
        self.resumeButton = QPushButton(self.tr("Resume training"), objectName="restoreResumeButton")
        self.openButton = QPushButton(self.tr("Open the model"), objectName="restoreOpenButton")
        self.discardButton = QPushButton(self.tr("Discard"), objectName="restoreDiscardButton")
        self.discardButton.setToolTip(self.tr("Forget the interrupted run; its checkpoint stays in the checkpoints "
                                              "folder"))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 4, 6, 4)
        layout.addWidget(self.label, 1)
        for button in (self.resumeButton, self.openButton, self.discardButton):
            layout.addWidget(button)
        self.resumeButton.clicked.connect(self.resumeRequested)
        self.openButton.clicked.connect(self.openRequested)
        self.discardButton.clicked.connect(self.discardRequested)
        self.hide()

    def offer(self, text: str, can_resume: bool) -> None:
        self.label.setText(text)
        self.resumeButton.setVisible(can_resume)
        self.show()
