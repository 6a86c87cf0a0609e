"""The My digits tab: label the drawing on the canvas (a button, or its key 0–9 on the canvas) and keep it; the
gallery of kept digits with what the model shown reads in each, and its accuracy on them beside its accuracy on
MNIST's test set — the gap between the two is the lesson."""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
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

from .base import BOTTOM, Panel

THUMBNAIL_PX = 56


class MyDigitsTab(Panel):
    area = BOTTOM

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.myDigits: QWidget | None = None
        self.digitGallery: QListWidget | None = None
        self.labelButtons: list[QPushButton] = []
        self.myDigitsAccuracy: QLabel | None = None
        self._folder = None
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
        buttons.addStretch(1)
        buttons.addWidget(self.deleteButton)
        self.myDigitsAccuracy = QLabel(objectName="myDigitsAccuracy")
        self.myDigitsAccuracy.setWordWrap(True)
        self.digitGallery = QListWidget(objectName="digitGallery")
        self.digitGallery.setViewMode(QListView.ViewMode.IconMode)
        self.digitGallery.setResizeMode(QListView.ResizeMode.Adjust)
        self.digitGallery.setMovement(QListView.Movement.Static)
        self.digitGallery.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.digitGallery.setGridSize(QSize(THUMBNAIL_PX + 16, THUMBNAIL_PX + 22))
        self.digitGallery.setSelectionMode(QListWidget.SelectionMode.ExtendedSelection)
        delete = QShortcut(QKeySequence(QKeySequence.StandardKey.Delete), self.digitGallery)
        delete.setContext(Qt.ShortcutContext.WidgetShortcut)
        delete.activated.connect(self.delete_selected)
        box = QVBoxLayout(self.myDigits)
        box.addLayout(buttons)
        box.addWidget(self.myDigitsAccuracy)
        box.addWidget(self.digitGallery, 1)
        self.session.network_changed.connect(lambda _network: self.refresh())
        self.session.model_changed.connect(lambda _model: self.refresh())
        super().engine_ready()
        self.refresh()

    def engine_widget(self) -> QWidget | None:
        return self.myDigits

    # -- keeping and deleting ---------------------------------------------------------------------------
    def keep_drawing(self, digit: int) -> None:
        """The drawing on the canvas, as drawn, kept as a ``digit``."""
        if self._folder is None:
            return
        if self.shell.canvas.is_empty():
            self.shell.status(self.tr("Draw a digit first, then keep it with its label."), 4000)
            return
        try:
            kept = self._folder.add(self.shell.canvas.ink_array(), digit)
        except (CnndeskError, OSError) as exc:
            self.shell.show_error(str(exc))
            return
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
        """Read the folder again and show what the network shown reads in each digit."""
        if self._folder is None or self.session.predictor is None:
            return
        from cnndesk.engine.digits import accuracy_on

        images, labels, used, problems = self._folder.inputs()
        accuracy, predicted = accuracy_on(self.session.predictor.model, images, labels)
        self.digitGallery.clear()
        for digit, image, guess in zip(used, images, predicted, strict=True):
            item = QListWidgetItem(self._thumbnail(image), f"{digit.label}" if guess == digit.label
                                   else f"{digit.label} → {guess}")
            item.setData(Qt.ItemDataRole.UserRole, (digit.path, digit.label))
            item.setToolTip(self.tr("A {label}, read as {guess}: {path}").format(label=digit.label, guess=guess,
                                                                                 path=digit.path))
            if guess != digit.label:
                item.setForeground(Qt.GlobalColor.darkRed)
            self.digitGallery.addItem(item)
        self.myDigitsAccuracy.setText(self._accuracy_text(accuracy, len(used), problems))

    def _accuracy_text(self, accuracy: float, count: int, problems: list[str]) -> str:
        if count == 0:
            text = self.tr("No digits of your own yet: draw one, then keep it with its label (a button above, or "
                           "its key on the canvas). They are kept in {folder}.").format(folder=self._folder.root)
        else:
            mnist = self._mnist_accuracy()
            text = self.tr("The model reads {accuracy:.1%} of your {count} digits").format(accuracy=accuracy,
                                                                                           count=count)
            if mnist is not None:
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
        value = current.meta.get("metrics", {}).get("test_accuracy")
        return value if isinstance(value, float) and math.isfinite(value) else None

    @staticmethod
    def _thumbnail(image: np.ndarray) -> QPixmap:
        paper = np.ascontiguousarray(np.round(255 * (1.0 - image)).astype(np.uint8))
        picture = QImage(paper.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
        return QPixmap.fromImage(picture.scaled(THUMBNAIL_PX, THUMBNAIL_PX))
