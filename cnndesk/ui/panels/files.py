"""The current model's files: open a checkpoint or a bundled model, save it, save it elsewhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from cnndesk.errors import CnndeskError
from cnndesk.locations import checkpoints_dir, pretrained_path

from .base import FILE, Panel

CHECKPOINT_FILTER = QT_TRANSLATE_NOOP("ModelFilesPanel", "cnndesk checkpoints (*.safetensors)")


def checkpoint_filter() -> str:
    """The file dialogs' filter for checkpoints, translated."""
    return QCoreApplication.translate("ModelFilesPanel", CHECKPOINT_FILTER)


class ModelFilesPanel(Panel):
    def __init__(self, shell) -> None:
        super().__init__(shell)
        K = QKeySequence.StandardKey
        self.openModelAction = self.add_action(FILE, self.tr("&Open model…"), self.open_model_dialog, [K.Open],
                                               self.tr("Open a cnndesk checkpoint"), needs_engine=True)
        self.bundledMenu = QMenu(self.tr("Open &bundled model"), shell)
        self.bundledMenu.setEnabled(False)
        self._menu_entries.append((FILE, self.bundledMenu))
        self.saveAction = self.add_action(FILE, self.tr("&Save model"), self.save_model, [K.Save],
                                          self.tr("Save the current model"), needs_engine=True)
        self.saveAsAction = self.add_action(FILE, self.tr("Save model &as…"), self.save_model_as, [K.SaveAs],
                                            needs_engine=True)

    def engine_ready(self) -> None:
        super().engine_ready()
        from cnndesk.engine import MODELS

        for name, spec in MODELS.items():
            path = pretrained_path(name)
            if path.exists():
                action = self.bundledMenu.addAction(f"{name} — {spec.description}")
                action.triggered.connect(lambda _=False, p=path: self.open_model(p))
        self.bundledMenu.setEnabled(not self.bundledMenu.isEmpty())

    def open_model(self, path: str | Path) -> bool:
        try:
            self.session.open_model(path)
        except CnndeskError as exc:
            self.shell.show_error(str(exc))
            return False
        # (and not the message of an earlier failure, still in the status bar)
        self.shell.status(self.tr("Opened {file}").format(file=Path(path).name), 10000)
        return True

    def open_model_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self.shell, self.tr("Open model"), str(checkpoints_dir()),
                                              checkpoint_filter())
        if path:
            self.open_model(path)

    def save_model_to(self, path: str | Path) -> Path | None:
        try:
            saved = self.session.save_model(path)
        except CnndeskError as exc:
            self.shell.show_error(str(exc))
            return None
        if self.session.snapshot is not None:
            # The replay shows an earlier step; the model (and its file) is the trained one, history included.
            self.shell.status(self.tr("Saved {path}: the final weights and their history, not the replay's step "
                                      "(Latest shows what was saved)").format(path=saved), 15000)
        else:
            self.shell.status(self.tr("Saved {path}").format(path=saved), 10000)
        return saved

    def save_model(self) -> None:
        """Save over the file the model came from, unless that is a bundled model or a run's own checkpoint in
        the data folder: then ask where."""
        current = self.session.model
        own_file = (current is not None and current.path is not None and not current.bundled
                    and current.path.parent.resolve() != checkpoints_dir().resolve())
        if own_file:
            self.save_model_to(current.path)
        else:
            self.save_model_as()

    def save_model_as(self) -> None:
        current = self.session.model
        name = current.name if current is not None else "model"
        suggested = str(checkpoints_dir() / f"{name}.safetensors")
        path, _ = QFileDialog.getSaveFileName(self.shell, self.tr("Save model as"), suggested,
                                              checkpoint_filter())
        if path:
            self.save_model_to(path)
