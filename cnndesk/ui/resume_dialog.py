"""Resume run…: the runs saved in the checkpoints folder — model, epochs, accuracy, when — and any other file."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QLabel,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from cnndesk.locations import checkpoints_dir
from cnndesk.session.runs import SavedRun, saved_runs

CHECKPOINT_FILTER = QT_TRANSLATE_NOOP("ResumeDialog", "cnndesk checkpoints (*.safetensors)")
PATH_ROLE = Qt.ItemDataRole.UserRole


class ResumeDialog(QDialog):
    """Pick a run to continue. ``chosen`` is the checkpoint picked (None: cancelled)."""

    def __init__(self, parent: QWidget | None = None, folder: Path | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("resumeDialog")
        self.setWindowTitle(self.tr("Resume a run"))
        self.chosen: Path | None = None
        self._folder = folder or checkpoints_dir()
        intro = QLabel(self.tr("Runs saved in {folder}, newest first. A run continues where its last whole epoch "
                               "ended, with its own settings.").format(folder=self._folder))
        intro.setWordWrap(True)
        self.runsList = QTreeWidget(objectName="runsList")
        self.runsList.setHeaderLabels([self.tr("Model"), self.tr("Epochs"), self.tr("Test accuracy"),
                                       self.tr("Saved"), self.tr("File")])
        self.runsList.setRootIsDecorated(False)
        self.runsList.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.runsList.header().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.runsList.itemSelectionChanged.connect(self._update_buttons)
        self.runsList.itemDoubleClicked.connect(lambda item, _column: self._accept_item(item))
        self.empty = QLabel(self.tr("No run to resume in this folder: runs are saved here as they train."))
        self.empty.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Cancel)
        self.resumeButton = QPushButton(self.tr("Resume"), objectName="resumeChosenButton")
        self.resumeButton.setDefault(True)
        self.otherButton = QPushButton(self.tr("Other file…"), objectName="otherFileButton")
        buttons.addButton(self.resumeButton, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.otherButton, QDialogButtonBox.ButtonRole.ActionRole)
        self.resumeButton.clicked.connect(lambda: self._accept_item(self.runsList.currentItem()))
        self.otherButton.clicked.connect(self._other_file)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(self.runsList, 1)
        layout.addWidget(self.empty)
        layout.addWidget(buttons)
        self.resize(720, 360)
        self._fill(saved_runs(self._folder))

    def _fill(self, runs: list[SavedRun]) -> None:
        for run in runs:
            point = run.point
            if point is None:
                continue  # weights only, or damaged: not a run (Open model… opens a weights-only file)
            accuracy = run.test_accuracy
            item = QTreeWidgetItem([
                point.config.model,
                self.tr("{done} of {total}").format(done=point.epochs_completed, total=point.config.epochs),
                "—" if accuracy is None else f"{accuracy:.2%}",
                time.strftime("%Y-%m-%d %H:%M", time.localtime(run.saved_at)),
                run.path.name,
            ])
            item.setData(0, PATH_ROLE, str(run.path))
            if not run.resumable:  # every epoch trained: shown, so that the user sees why it is not offered
                item.setDisabled(True)
                item.setToolTip(0, self.tr("This run finished all its epochs: open it as the model instead."))
            self.runsList.addTopLevelItem(item)
        first = next((self.runsList.topLevelItem(i) for i in range(self.runsList.topLevelItemCount())
                      if not self.runsList.topLevelItem(i).isDisabled()), None)
        if first is not None:
            self.runsList.setCurrentItem(first)
        self.empty.setVisible(self.runsList.topLevelItemCount() == 0)
        self._update_buttons()

    def _update_buttons(self) -> None:
        item = self.runsList.currentItem()
        self.resumeButton.setEnabled(item is not None and not item.isDisabled())

    def _accept_item(self, item: QTreeWidgetItem | None) -> None:
        if item is None or item.isDisabled():
            return
        self.chosen = Path(item.data(0, PATH_ROLE))
        self.accept()

    def _other_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, self.tr("Resume training"), str(self._folder),
                                              QCoreApplication.translate("ResumeDialog", CHECKPOINT_FILTER))
        if path:
            self.chosen = Path(path)
            self.accept()
