"""The current model's files: open a checkpoint or a bundled model, save it, save it elsewhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QFileDialog, QLabel, QMenu, QRadioButton, QVBoxLayout

from cnndesk.errors import CnndeskError
from cnndesk.locations import checkpoints_dir, pretrained_path

from ..settings import open_settings
from .base import FILE, Panel

CHECKPOINT_FILTER = QT_TRANSLATE_NOOP("ModelFilesPanel", "cnndesk checkpoints (*.safetensors)")
# What File → Open model… opens: cnndesk checkpoints and models from elsewhere (engine.foreign).
OPEN_FILTERS = (
    QT_TRANSLATE_NOOP("ModelFilesPanel", "Models (*.safetensors *.pth *.pt *.onnx)"),
    CHECKPOINT_FILTER,
    QT_TRANSLATE_NOOP("ModelFilesPanel", "PyTorch state_dicts, torch.save (*.pth *.pt)"),
    QT_TRANSLATE_NOOP("ModelFilesPanel", "ONNX models (*.onnx)"),
)
FOREIGN_INPUT = "files/foreignInput"  # settings: the pixel scale last chosen for a model from elsewhere
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


class InputScaleDialog(QDialog):
    """Asks on which pixels a model from elsewhere was trained: its file cannot say, and the wrong scale reads
    every digit a little worse (a tutorial's ToTensor gives [0, 1]; adding Normalize gives MNIST-normalised)."""

    def __init__(self, parent, file_name: str, chosen: str) -> None:
        super().__init__(parent)
        self.setWindowTitle(self.tr("Open a model from elsewhere"))
        layout = QVBoxLayout(self)
        question = QLabel(self.tr("On which pixels was {file} trained? The file does not say.").format(
            file=file_name))
        question.setWordWrap(True)
        layout.addWidget(question)
        self.unitButton = QRadioButton(self.tr("Pixels in [0, 1]: transforms.ToTensor() alone"))
        self.normalizedButton = QRadioButton(
            self.tr("MNIST-normalized: ToTensor(), then Normalize((0.1307,), (0.3081,))"))
        for button in (self.unitButton, self.normalizedButton):
            layout.addWidget(button)
        (self.normalizedButton if chosen == "mnist-normalized" else self.unitButton).setChecked(True)
        note = QLabel(self.tr("cnndesk then matches its tensors to an architecture and tries each activation and "
                              "pooling on 1,000 MNIST test images; an ONNX file that fits none runs in onnxruntime."))
        note.setWordWrap(True)
        layout.addWidget(note)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Open | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def choice(self) -> str:
        return "mnist-normalized" if self.normalizedButton.isChecked() else "unit"


class ModelFilesPanel(Panel):
    def __init__(self, shell) -> None:
        super().__init__(shell)
        K = QKeySequence.StandardKey
        self.openModelAction = self.add_action(FILE, self.tr("&Open model…"), self.open_model_dialog, [K.Open],
                                               self.tr("Open a cnndesk checkpoint, or a PyTorch (.pth, .pt) or "
                                                       "ONNX model trained elsewhere"), needs_engine=True)
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
        self._open_task = None

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
        from cnndesk.engine import foreign_kind

        if foreign_kind(path) is not None:
            return self.open_foreign_model(path)
        try:
            self.session.open_model(path)
        except CnndeskError as exc:
            self.shell.show_error(str(exc))
            return False
        # (and not the message of an earlier failure, still in the status bar)
        self.shell.status(self.tr("Opened {file}").format(file=Path(path).name), 10000)
        return True

    def open_foreign_model(self, path: str | Path, input: str | None = None) -> bool:
        """Read the file in the background far enough to know it opens (a damaged file, one carrying code or one
        that fits no architecture is said at once, before any question); then ask on which pixels the model was
        trained, unless ``input`` or the file says; then match it to an architecture in the background (about a
        second: each variant reads 1,000 test images)."""
        from cnndesk.engine import inspect_foreign

        path = Path(path)
        self.shell.status(self.tr("Opening {file}…").format(file=path.name), 0)
        self._open_task = self.shell.tasks.submit(
            inspect_foreign, path, name="read model",
            on_done=lambda declared: self._ask_and_load(path, input, declared), on_error=self._on_open_failed)
        return True

    def _ask_and_load(self, path: Path, input: str | None, declared: str | None) -> bool:
        """The file opens: the pixel scale (asked unless given or declared by the file), then the variant search.
        False if the user cancelled."""
        from cnndesk.engine import load_model

        settings = open_settings()
        if input is None and declared is None:
            remembered = settings.value(FOREIGN_INPUT, "unit")
            dialog = InputScaleDialog(self.shell, path.name, remembered if isinstance(remembered, str) else "")
            if dialog.exec() != QDialog.DialogCode.Accepted:
                self.shell.status(self.tr("Nothing opened."), 5000)
                return False
            input = dialog.choice()
        if input is not None:
            settings.setValue(FOREIGN_INPUT, input)
        self.shell.status(self.tr("Opening {file}: matching it to an architecture…").format(file=path.name), 0)
        self._open_task = self.shell.tasks.submit(
            load_model, Path(path), "cpu", input, name="open model",
            on_done=lambda loaded, p=Path(path): self._on_foreign_opened(p, loaded),
            on_error=self._on_open_failed)
        return True

    def _on_foreign_opened(self, path: Path, loaded) -> None:
        model, meta = loaded
        self.session.set_model(model, meta, path)
        report = meta["foreign"]
        if not self.session.model.has_weights:
            self.shell.status(self.tr("Opened {file}: it fits no cnndesk architecture, so it runs in onnxruntime "
                                      "({accuracy} on the first {images} MNIST test images); without PyTorch weights "
                                      "it cannot be trained, saved, exported or explained with gradients").format(
                file=path.name, accuracy=f"{report['accuracy']:.1%}", images=f"{report['images']:,}"), 30000)
            return
        options = report["options"]
        self.shell.status(self.tr("Opened {file} as {architecture} ({activation}, {pooling} pooling): {accuracy} on "
                                  "the first {images} MNIST test images").format(
            file=path.name, architecture=report["architecture"], activation=options.get("activation", "–"),
            pooling=options.get("pooling", "–"), accuracy=f"{report['accuracy']:.1%}",
            images=f"{report['images']:,}"), 30000)

    def _on_open_failed(self, message: str) -> None:
        self.shell.show_error(message.split(": ", 1)[-1])

    def open_model_dialog(self) -> None:
        filters = ";;".join(QCoreApplication.translate("ModelFilesPanel", text) for text in OPEN_FILTERS)
        folder = checkpoints_dir()
        # (a folder that does not exist yet — nothing trained so far — would be offered as a file name)
        start = str(folder) if folder.is_dir() else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self.shell, self.tr("Open model"), start, filters)
        if path:
            self.open_model(path)

    def _refuse_without_weights(self) -> bool:
        """True, with the reason as an error, when the current model has no PyTorch weights to save or export."""
        current = self.session.model
        if current is None or current.has_weights:
            return False
        self.shell.show_error(self.tr("{name} runs in onnxruntime: it has no PyTorch weights to save as a cnndesk "
                                      "checkpoint or to export (the .onnx file is the model).").format(
            name=current.name))
        return True

    def save_model_to(self, path: str | Path) -> Path | None:
        if self._refuse_without_weights():
            return None
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
        if self._refuse_without_weights():
            return
        current = self.session.model
        own_file = (current is not None and current.path is not None and not current.bundled
                    and current.path.suffix == ".safetensors"  # (a .pth or .onnx from elsewhere is not overwritten)
                    and current.path.parent.resolve() != checkpoints_dir().resolve())
        if own_file:
            self.save_model_to(current.path)
        else:
            self.save_model_as()

    def save_model_as(self) -> None:
        if self._refuse_without_weights():
            return
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
        if current is None or self._refuse_without_weights():
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

        if self._refuse_without_weights():
            return None
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
