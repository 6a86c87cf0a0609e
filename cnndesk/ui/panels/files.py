"""The current model's files: open a checkpoint or a bundled model, save it, save it elsewhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QMenu

from cnndesk.errors import CnndeskError
from cnndesk.locations import checkpoints_dir, pretrained_path

from ..settings import open_settings
from .base import FILE, Panel

CHECKPOINT_FILTER = QT_TRANSLATE_NOOP("ModelFilesPanel", "cnndesk checkpoints (*.safetensors)")
# The formats File → Export writes, with their file dialog filters (the first is the default).
EXPORT_FILTERS = {
    "onnx": QT_TRANSLATE_NOOP("ModelFilesPanel", "ONNX, for onnxruntime and Netron (*.onnx)"),
    "torchscript": QT_TRANSLATE_NOOP("ModelFilesPanel", "TorchScript, for torch.jit.load (*.pt)"),
}
EXPORT_SUFFIXES = {"onnx": ".onnx", "torchscript": ".pt"}
EXPORT_FOLDER = "files/exportFolder"  # settings: the folder the last export went to


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
        self.exportModelAction = self.add_action(
            FILE, self.tr("E&xport model…"), self.export_model_dialog, ["Ctrl+Shift+X"],
            self.tr("Write the current model as ONNX or TorchScript, checked on the MNIST test set"),
            needs_engine=True)
        self._export_task = None

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

    # -- export ------------------------------------------------------------------------------------------------
    def export_model_dialog(self) -> None:
        current = self.session.model
        if current is None:
            return
        filters = {fmt: QCoreApplication.translate("ModelFilesPanel", text) for fmt, text in EXPORT_FILTERS.items()}
        settings = open_settings()
        folder = settings.value(EXPORT_FOLDER)
        folder = Path(folder) if isinstance(folder, str) and Path(folder).is_dir() else Path.home()
        path, chosen = QFileDialog.getSaveFileName(self.shell, self.tr("Export model"),
                                                   str(folder / f"{current.name}.onnx"), ";;".join(filters.values()))
        if not path:
            return
        # The file's suffix decides, then the filter picked (a name without a suffix gets the filter's).
        by_suffix = {suffix: fmt for fmt, suffix in EXPORT_SUFFIXES.items()}
        fmt = by_suffix.get(Path(path).suffix.lower()) or next(
            (f for f, text in filters.items() if text == chosen), "onnx")
        if Path(path).suffix.lower() not in by_suffix:
            path += EXPORT_SUFFIXES[fmt]
        settings.setValue(EXPORT_FOLDER, str(Path(path).parent))
        self.export_model_to(path, fmt)

    def export_model_to(self, path: str | Path, fmt: str):
        """Export a copy of the current model's weights in the background (writing, then running the file on the
        MNIST test set); the result in the status bar, a failure as an error. Returns the task."""
        import copy

        from cnndesk.engine.export import export_checked

        current = self.session.model
        network = copy.deepcopy(current.model).cpu().eval()  # a run may train the live one meanwhile
        self.shell.status(self.tr("Exporting {name} to {path}…").format(name=current.name, path=path), 0)
        self._export_task = self.shell.tasks.submit(export_checked, network, Path(path), fmt, name="export",
                                                    on_done=self._on_exported, on_error=self._on_export_failed)
        return self._export_task

    def _on_exported(self, check) -> None:
        if not check.passed:
            self.shell.show_error(self.tr("{path} was written, but it does not compute what the model computes: "
                                          "{same} of {images} test images predicted alike, largest logit "
                                          "difference {diff:.1e}.").format(path=check.path, same=check.same_predictions,
                                                                            images=check.images,
                                                                            diff=check.max_logit_difference))
            return
        self.shell.status(self.tr("Exported {path}: {runtime} predicts all {images} MNIST test images as the model "
                                  "does (largest logit difference {diff:.1e})").format(
            path=check.path, runtime=check.runtime, images=f"{check.images:,}", diff=check.max_logit_difference),
            15000)

    def _on_export_failed(self, message: str) -> None:
        self.shell.show_error(self.tr("Export failed: {error}").format(error=message.split(": ", 1)[-1]))
