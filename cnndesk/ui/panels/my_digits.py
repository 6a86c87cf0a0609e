"""The My digits tab: label the drawing on the canvas (a button, or its key 0–9 on the canvas) and keep it; the
gallery of kept digits with what the model shown reads in each, and its accuracy on them beside its accuracy on
MNIST's test set — the gap between the two is the lesson. *Fine-tune* closes it: a few seconds of training from the
current model's weights on these digits mixed with MNIST, an ordinary run (live curves in the Training tab, a new
checkpoint), then both accuracies before → after. *Import…* and *Export…* copy a folder of digits in or out."""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QSize, Qt
from PySide6.QtGui import QImage, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from cnndesk.errors import CnndeskError
from cnndesk.ui.settings import open_settings

from .base import BOTTOM, Panel

if TYPE_CHECKING:
    from cnndesk.session.runs import RunOutcome, RunPlan

THUMBNAIL_PX = 56
IMPORT_FOLDER = "myDigits/importFolder"  # settings: the folder last imported from
EXPORT_FOLDER = "myDigits/exportFolder"  # and the one last exported to


# -- background tasks (the task runner's threads: no widgets here) ---------------------------------------------
def _measure(network, images: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """The model's accuracy on one's digits and on the MNIST test set, before fine-tuning."""
    from cnndesk.engine import evaluate, load_splits
    from cnndesk.engine.digits import accuracy_on

    return accuracy_on(network, images, labels)[0], evaluate(network, load_splits("mnist").test).accuracy


def _prepared(paths) -> dict[tuple[Path, int], Any]:
    """Each file as the model input (or the reason it cannot be), keyed as the gallery's cache keys it."""
    from cnndesk.engine.digits import prepare_file

    found: dict[tuple[Path, int], Any] = {}
    for path in paths:
        try:
            key = (path, path.stat().st_mtime_ns)
            found[key] = prepare_file(path)
        except (CnndeskError, OSError) as exc:
            found[(path, 0)] = str(exc)
    return found


def _import(folder, source: str, state):
    report = folder.import_from(source, progress=lambda f: state.report_progress(0.9 * f),
                                cancelled=lambda: state.cancelled)
    return report, _prepared(report.files)  # read here, not on the GUI thread when the gallery refreshes


def _export(folder, target: str, state):
    return folder.export_to(target, progress=state.report_progress)


@dataclass(frozen=True)
class _FineTune:
    """A fine-tuning run started from this tab, and what it is to be compared with."""

    plan: RunPlan
    digits: int
    mine_before: float
    mnist_before: float


class MyDigitsTab(Panel):
    area = BOTTOM

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.myDigits: QWidget | None = None
        self.digitGallery: QListWidget | None = None
        self.labelButtons: list[QPushButton] = []
        self.myDigitsAccuracy: QLabel | None = None
        self.myDigitsReport: QLabel | None = None  # the last fine-tune's before → after, or import/export's outcome
        self.fineTuneButton: QPushButton | None = None
        self.importDigitsButton: QPushButton | None = None
        self.exportDigitsButton: QPushButton | None = None
        self.folderDialog: QFileDialog | None = None  # the Import/Export dialog last opened (for tests)
        self._folder = None
        # The digit kept from the canvas as it is now (forgotten once it changes): pressing again keeps no second
        # copy, and another label corrects the first.
        self._last_kept = None
        shell.canvas.changed.connect(self._canvas_changed)
        self._inputs: dict[tuple[Path, int], Any] = {}  # (file, mtime) -> the model input, or why it is unreadable
        self._images = np.zeros((0, 28, 28), np.float32)
        self._labels = np.zeros(0, np.int64)
        self._task = None  # the import, export or before-measurement in progress
        self._fine_tune: _FineTune | None = None
        self._problems: list[str] = []  # one message per file of the folder that cannot be read
        self._stale = False  # new weights arrived while the tab was hidden
        shell.canvas.digitKey.connect(self.keep_drawing)

    def title(self) -> str:
        return self.tr("My digits")

    def engine_ready(self) -> None:
        from cnndesk.engine.digits import DigitFolder
        from cnndesk.locations import my_digits_dir

        self._folder = DigitFolder(my_digits_dir())
        self.myDigits = QWidget(objectName="myDigits")
        buttons = QHBoxLayout()
        buttons.addWidget(QLabel(self.tr("Keep the drawing as a")))
        for digit in range(10):
            button = QPushButton(str(digit), objectName=f"keepAs{digit}")
            button.setMaximumWidth(36)
            button.setToolTip(self.tr("Keep the drawing on the canvas as a {digit} (or press {digit} on the "
                                      "canvas)").format(digit=digit))
            button.clicked.connect(lambda _checked=False, d=digit: self.keep_drawing(d))
            buttons.addWidget(button)
            self.labelButtons.append(button)
        self.deleteButton = QPushButton(self.tr("Delete"), objectName="deleteDigit")
        self.deleteButton.setToolTip(self.tr("Delete the selected digits (Delete)"))
        self.deleteButton.clicked.connect(self.delete_selected)
        self.importDigitsButton = QPushButton(self.tr("Import…"), objectName="importDigitsButton")
        self.importDigitsButton.setToolTip(self.tr("Copy the digits of a folder laid out as FOLDER/0/*.png … "
                                                   "FOLDER/9/*.png into yours (unreadable files are skipped)"))
        self.importDigitsButton.clicked.connect(self.import_dialog)
        self.exportDigitsButton = QPushButton(self.tr("Export…"), objectName="exportDigitsButton")
        self.exportDigitsButton.clicked.connect(self.export_dialog)
        buttons.addStretch(1)
        buttons.addWidget(self.importDigitsButton)
        buttons.addWidget(self.exportDigitsButton)
        buttons.addWidget(self.deleteButton)
        self.myDigitsAccuracy = QLabel(objectName="myDigitsAccuracy")
        self.myDigitsAccuracy.setWordWrap(True)
        self.fineTuneButton = QPushButton(self.tr("Fine-tune"), objectName="fineTuneButton")
        self.fineTuneButton.clicked.connect(self.fine_tune)
        accuracy = QHBoxLayout()
        accuracy.addWidget(self.myDigitsAccuracy, 1)
        accuracy.addWidget(self.fineTuneButton, 0, Qt.AlignmentFlag.AlignTop)
        self.myDigitsReport = QLabel(objectName="myDigitsReport")
        self.myDigitsReport.setWordWrap(True)
        self.myDigitsReport.hide()
        self.digitGallery = QListWidget(objectName="digitGallery")
        self.digitGallery.setViewMode(QListView.ViewMode.IconMode)
        self.digitGallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.digitGallery.setMovement(QListView.Movement.Static)
        self.digitGallery.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.digitGallery.setGridSize(QSize(THUMBNAIL_PX + 16, THUMBNAIL_PX + 22))
        self.digitGallery.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        # Delete in the gallery deletes digits: the key is claimed before the window's Delete (Clear canvas) sees it
        # (two shortcuts for one key would be ambiguous, and neither would run).
        self.digitGallery.installEventFilter(self)
        self.deleteButton.setEnabled(False)  # until digits are selected
        self.digitGallery.itemSelectionChanged.connect(
            lambda: self.deleteButton.setEnabled(bool(self.digitGallery.selectedItems())))
        box = QVBoxLayout(self.myDigits)
        box.addLayout(buttons)
        box.addLayout(accuracy)
        box.addWidget(self.myDigitsReport)
        box.addWidget(self.digitGallery, 1)
        self.myDigits.installEventFilter(self)
        self.session.network_changed.connect(lambda _network: self.refresh())
        self.session.model_changed.connect(lambda _model: self.refresh())
        self.session.weights_changed.connect(lambda _network: self._follow_weights())
        runner = self.shell.runner
        runner.runningChanged.connect(lambda _running: self._update_buttons())
        runner.finished.connect(self._on_run_finished)
        super().engine_ready()
        self.refresh()

    def engine_widget(self) -> QWidget | None:
        return self.myDigits

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.myDigits and event.type() == QEvent.Type.Show and self._stale:
            self._show_predictions()
        if watched is self.digitGallery and event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) \
                and event.matches(QKeySequence.StandardKey.Delete):
            if event.type() == QEvent.Type.ShortcutOverride:
                event.accept()  # a key press for the gallery, not the window's shortcut
            else:
                self.delete_selected()
            return True
        return False

    # -- keeping and deleting ---------------------------------------------------------------------------
    def _canvas_changed(self) -> None:
        self._last_kept = None

    def keep_drawing(self, digit: int) -> None:
        """The drawing on the canvas, as drawn, kept as a ``digit``."""
        if self._folder is None:
            return
        if self.shell.canvas.is_empty():
            self.shell.status(self.tr("Draw a digit first, then keep it with its label."), 4000)
            return
        ink = self.shell.canvas.ink_array()
        previous = self._last_kept if self._last_kept is not None and self._last_kept.path.exists() else None
        if previous is not None and previous.label == digit:
            self.shell.status(self.tr("This drawing is kept already, as a {digit}.").format(digit=digit), 4000)
            return
        try:
            kept = self._folder.add(ink, digit)
            if previous is not None:  # the same drawing again with another label: a correction, not a second digit
                self._folder.remove(previous)
        except (CnndeskError, OSError) as exc:
            self.shell.show_error(str(exc))
            return
        self._last_kept = kept
        if previous is not None:
            self.shell.status(self.tr("Kept as a {digit} instead of a {before}: {path}").format(
                digit=digit, before=previous.label, path=kept.path), 4000)
        else:
            self.shell.status(self.tr("Kept as a {digit}: {path}").format(digit=digit, path=kept.path), 4000)
        self.refresh()

    def delete_selected(self) -> None:
        if self.digitGallery is None:
            return
        from cnndesk.engine.digits import Digit

        for item in self.digitGallery.selectedItems():
            path, label = item.data(Qt.ItemDataRole.UserRole)
            self._folder.remove(Digit(path, label))
        self.refresh()

    # -- the gallery --------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the folder again (new files only) and show what the network shown reads in each digit."""
        if self._folder is None or self.session.predictor is None:
            return
        used, problems = self._read_folder()
        self.digitGallery.clear()
        for digit, image in zip(used, self._images, strict=True):
            item = QListWidgetItem(self._thumbnail(image), str(digit.label))
            item.setData(Qt.ItemDataRole.UserRole, (digit.path, digit.label))
            self.digitGallery.addItem(item)
        self._problems = problems
        self._show_predictions()
        self._update_buttons()

    def _read_folder(self):
        """The folder's digits as model inputs, each file read once (until it changes)."""
        cache: dict[tuple[Path, int], Any] = {}
        images, labels, used, problems = [], [], [], []
        for digit in self._folder.digits():
            try:
                key = (digit.path, digit.path.stat().st_mtime_ns)
            except OSError:
                continue  # deleted meanwhile
            value = self._inputs.get(key)
            if value is None:
                value = next(iter(_prepared([digit.path]).values()))
            cache[key] = value
            if isinstance(value, str):
                problems.append(value)
            else:
                images.append(value)
                labels.append(digit.label)
                used.append(digit)
        self._inputs = cache
        self._images = np.stack(images) if images else np.zeros((0, 28, 28), np.float32)
        self._labels = np.asarray(labels, np.int64)
        return used, problems

    def _follow_weights(self) -> None:
        """New weights of the network shown (a run's, a replayed step's): the gallery's readings follow them."""
        if self.myDigits is not None and self.myDigits.isVisible():
            self._show_predictions()
        else:
            self._stale = True  # read again when the tab is shown

    def _show_predictions(self) -> None:
        from cnndesk.engine.digits import accuracy_on

        self._stale = False
        if self.session.predictor is None:
            return
        accuracy, predicted = accuracy_on(self.session.predictor.model, self._images, self._labels)
        for row, guess in enumerate(predicted.tolist()):
            item = self.digitGallery.item(row)
            path, label = item.data(Qt.ItemDataRole.UserRole)
            item.setText(str(label) if guess == label else f"{label} → {guess}")
            item.setToolTip(self.tr("A {label}, read as {guess}: {path}").format(label=label, guess=guess,
                                                                                 path=path))
            item.setForeground(Qt.GlobalColor.darkRed if guess != label else self.digitGallery.palette().text())
        self.myDigitsAccuracy.setText(self._accuracy_text(accuracy, len(self._labels), self._problems))

    def _accuracy_text(self, accuracy: float, count: int, problems: list[str]) -> str:
        if count == 0:
            text = self.tr("No digits of your own yet: draw one, then keep it with its label (a button above, or "
                           "its key on the canvas). They are kept in {folder}.").format(folder=self._folder.root)
        else:
            mnist = self._mnist_accuracy()
            text = (self.tr("The model reads {accuracy:.1%} of your one digit") if count == 1 else
                    self.tr("The model reads {accuracy:.1%} of your {count} digits")).format(accuracy=accuracy,
                                                                                             count=count)
            snapshot = self.session.shown_snapshot
            if snapshot is not None and snapshot.test_accuracy is not None:
                # The replay shows an earlier step: its own MNIST figure, measured then.
                text += self.tr(" at step {step}, and {mnist:.1%} of MNIST's first {images} test digits").format(
                    step=f"{snapshot.step:,}", mnist=snapshot.test_accuracy,
                    images=f"{self.session.history.test_images:,}")
            elif mnist is not None:
                text += self.tr(" and {mnist:.2%} of MNIST's test digits").format(mnist=mnist)
            text += "."
        if problems:
            text += " " + self.tr("{count} files could not be read: {first}").format(count=len(problems),
                                                                                   first=problems[0])
        return text

    def _mnist_accuracy(self) -> float | None:
        if self.session.evaluation is not None:
            return self.session.evaluation.accuracy
        current = self.session.model
        if current is None or self.session.following_run:
            return None
        from cnndesk.engine.data import base_dataset

        training = current.meta.get("training", {})
        try:  # only a test accuracy measured on MNIST's whole test set is MNIST's test accuracy
            on_mnist = base_dataset(training.get("dataset") or "mnist") == "mnist" and not training.get("test_samples")
        except CnndeskError:
            on_mnist = False
        value = current.meta.get("metrics", {}).get("test_accuracy")
        return value if on_mnist and isinstance(value, float) and math.isfinite(value) else None

    @staticmethod
    def _thumbnail(image: np.ndarray) -> QPixmap:
        paper = np.ascontiguousarray(np.round(255 * (1.0 - image)).astype(np.uint8))
        picture = QImage(paper.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
        return QPixmap.fromImage(picture.scaled(THUMBNAIL_PX, THUMBNAIL_PX))

    # -- what can be done now ---------------------------------------------------------------------------
    def _why_no_fine_tune(self) -> str | None:
        """Why Fine-tune cannot start now, or None."""
        from cnndesk.engine.digits import MIN_FINE_TUNE_DIGITS

        count = len(self._labels)
        if count < MIN_FINE_TUNE_DIGITS:
            return self.tr("Keep at least {least} digits to fine-tune on (you have {count}).").format(
                least=MIN_FINE_TUNE_DIGITS, count=count)
        if self.shell.runner.is_running():
            return self.tr("A run is in progress: fine-tune once it has ended.")
        if self._busy():
            return self.tr("Busy with your digits: wait a moment.")
        current = self.session.model
        if current is None or current.path is None:
            return self.tr("Fine-tuning starts from a saved model: open or train one first.")
        if not current.has_weights:
            return self.tr("This model runs in onnxruntime: it has no PyTorch weights to fine-tune. Open or train "
                           "a cnndesk model first.")
        return None

    def _busy(self) -> bool:
        return self._task is not None and not self._task.done()

    def _update_buttons(self) -> None:
        if self.fineTuneButton is None:
            return
        why_not = self._why_no_fine_tune()
        self.fineTuneButton.setEnabled(why_not is None)
        self.fineTuneButton.setToolTip(why_not or self.tr(
            "Train the current model a few seconds more on your {count} digits mixed with MNIST, from its weights "
            "at a low learning rate; the run is saved as a new checkpoint, the current one stays as it "
            "is").format(count=len(self._labels)))
        self.importDigitsButton.setEnabled(not self._busy())
        self.exportDigitsButton.setEnabled(not self._busy() and len(self._inputs) > 0)
        self.exportDigitsButton.setToolTip(self.tr("Copy your digits into a folder, laid out as FOLDER/0/*.png … "
                                                   "FOLDER/9/*.png: a dataset for cnndesk train --dataset "
                                                   "folder:FOLDER"))

    def _report(self, text: str) -> None:
        self.myDigitsReport.setText(text)
        self.myDigitsReport.setVisible(bool(text))

    # -- fine-tuning ------------------------------------------------------------------------------------
    def fine_tune(self) -> None:
        """Measure the model on both sets, then train it a few seconds on these digits mixed with MNIST."""
        why_not = self._why_no_fine_tune()
        if why_not is not None:
            self.shell.status(why_not, 6000)
            return
        network = copy.deepcopy(self.session.model.model)  # the task's own: nothing else may touch it
        self._task = self.shell.tasks.submit(
            _measure, network, self._images.copy(), self._labels.copy(), name="fine-tune-before",
            on_done=self._start_fine_tune, on_error=self._task_failed)
        self._report(self.tr("Measuring the model on your digits and on MNIST before fine-tuning…"))
        self._update_buttons()

    def _start_fine_tune(self, before: tuple[float, float]) -> None:
        from cnndesk.engine.digits import fine_tune_config, my_digits_dataset
        from cnndesk.session.runs import new_run

        self._task = None
        current = self.session.model
        if self.shell.runner.is_running() or current is None or current.path is None:
            self._report(self.tr("Fine-tuning did not start: another run began meanwhile."))
            self._update_buttons()
            return
        try:
            config = fine_tune_config(current.model.config, my_digits_dataset(self._folder.root))
            plan = new_run(config, init_from=current.path)
        except CnndeskError as exc:
            self._report("")
            self._update_buttons()
            self.shell.show_error(str(exc))
            return
        self._fine_tune = _FineTune(plan, len(self._labels), *before)
        self.shell.runner.start(plan)
        self._report(self.tr("Fine-tuning {model} on your {count} digits mixed with MNIST: its curves are in the "
                             "Training tab, and the gallery follows its weights.").format(model=config.model,
                                                                                          count=len(self._labels)))
        self._update_buttons()

    def _on_run_finished(self, outcome: RunOutcome) -> None:
        """A run ended: if it is this tab's fine-tuning, before → after on both sets."""
        from cnndesk.engine.digits import accuracy_on
        from cnndesk.session.runs import SUCCESSFUL

        run, self._fine_tune = self._fine_tune, None
        if run is None or outcome.plan is not run.plan:
            return
        if outcome.model is None or outcome.status not in SUCCESSFUL:
            self._report(outcome.message)  # (what was saved, if anything, and which model is current now)
            return
        mine_after = accuracy_on(outcome.model, self._images, self._labels)[0]
        self._report(self.tr(
            "Fine-tuned on your {count} digits and MNIST in {seconds:.0f} s: your digits {mine_before:.1%} → "
            "{mine_after:.1%}, MNIST test {mnist_before:.2%} → {mnist_after:.2%}. It trained on these digits: draw "
            "new ones to see whether it learnt your hand. Saved as {file}; the model it started from is "
            "unchanged.").format(
            count=run.digits, seconds=outcome.result.train_seconds if outcome.result else 0.0,
            mine_before=run.mine_before, mine_after=mine_after, mnist_before=run.mnist_before,
            mnist_after=outcome.test_accuracy, file=outcome.checkpoint.name if outcome.checkpoint else "—"))

    # -- import and export ----------------------------------------------------------------------------------
    def import_dialog(self) -> None:
        self._folder_dialog(self.tr("Import digits from a folder"), IMPORT_FOLDER, self.import_from)

    def export_dialog(self) -> None:
        self._folder_dialog(self.tr("Export your digits to a folder"), EXPORT_FOLDER, self.export_to)

    def _folder_dialog(self, title: str, key: str, chosen) -> None:
        last = open_settings().value(key)
        start = last if isinstance(last, str) and Path(last).is_dir() else str(Path.home())
        dialog = QFileDialog(self.shell, title, start)
        dialog.setFileMode(QFileDialog.FileMode.Directory)
        dialog.setOption(QFileDialog.Option.ShowDirsOnly, True)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.fileSelected.connect(chosen)
        self.folderDialog = dialog
        dialog.open()  # not exec(): nothing blocks the event loop

    def import_from(self, source: str) -> None:
        """Copy a folder's digits into yours in the background; the gallery and a report follow."""
        if self._folder is None or self._busy() or not source:
            return
        open_settings().setValue(IMPORT_FOLDER, str(source))
        self._report(self.tr("Importing the digits of {folder}…").format(folder=source))
        self._task = self.shell.tasks.submit(_import, self._folder, source, name="import-digits",
                                             on_done=self._imported, on_error=self._task_failed)
        self._update_buttons()

    def _imported(self, result) -> None:
        report, prepared = result
        self._task = None
        self._inputs.update(prepared)
        text = self.tr("Imported {copied} digits from {folder}.").format(copied=report.copied,
                                                                        folder=report.source)
        if report.already_there:
            text += " " + (self.tr("One was yours already.") if report.already_there == 1 else
                           self.tr("{count} were yours already.").format(count=report.already_there))
        if report.skipped:
            text += " " + self.tr("{count} files could not be read and were skipped; the first: {first}").format(
                count=len(report.skipped), first=report.skipped[0])
        self._report(text)
        self.shell.status(text, 10000)
        self.refresh()

    def export_to(self, target: str) -> None:
        """Copy your digits into ``target`` in the background."""
        if self._folder is None or self._busy() or not target:
            return
        open_settings().setValue(EXPORT_FOLDER, str(target))
        self._report(self.tr("Exporting your digits to {folder}…").format(folder=target))
        self._task = self.shell.tasks.submit(_export, self._folder, target, name="export-digits",
                                             on_done=self._exported, on_error=self._task_failed)
        self._update_buttons()

    def _exported(self, report) -> None:
        self._task = None
        text = self.tr("Exported {copied} digits to {folder}: a dataset for cnndesk train --dataset "
                       "folder:{folder}.").format(copied=report.copied, folder=report.target)
        if report.already_there:
            text += " " + (self.tr("One was there already (the same image).") if report.already_there == 1 else
                           self.tr("{count} were there already (the same images).").format(
                               count=report.already_there))
        self._report(text)
        self.shell.status(text, 10000)
        self._update_buttons()

    def _task_failed(self, message: str) -> None:
        self._task = None
        self._report("")
        self._update_buttons()
        self.shell.show_error(message.split(": ", 1)[-1])  # "CnndeskError: …": the sentence is the message
