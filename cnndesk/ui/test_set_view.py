"""The MNIST test set as the model sees it: the confusion matrix as a heat map, and the 10,000 test images as a
scrolling grid, filtered by true and predicted class or by mistakes, sorted by confidence or loss."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import QAbstractListModel, QModelIndex, QPersistentModelIndex, QSize, Qt, Signal
from PySide6.QtGui import QFont, QImage, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QGraphicsRectItem,
    QHBoxLayout,
    QLabel,
    QListView,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from .plotting import SELECTION_RGB, pg

if TYPE_CHECKING:
    from cnndesk.engine.train import Evaluation

THUMBNAIL_PX = 56  # a 28×28 test image, ×2
HEAT = pg.colormap.get("CET-L17")  # light (few) to dark (many); counts on a log scale, so the mistakes show


class TestImages(QAbstractListModel):
    """Some of the test images (their indices, in order), drawn on demand: the view asks only for those it shows."""

    def __init__(self, images: np.ndarray, labels: np.ndarray) -> None:
        super().__init__()
        self.images = images  # (N, 28, 28) uint8
        self.labels = labels
        self.indices = np.arange(len(labels))
        self.predictions: np.ndarray | None = None
        self.confidences: np.ndarray | None = None
        self._pixmaps: dict[int, QPixmap] = {}

    def set_indices(self, indices: np.ndarray) -> None:
        self.beginResetModel()
        self.indices = indices
        self.endResetModel()

    def set_results(self, predictions: np.ndarray | None, confidences: np.ndarray | None) -> None:
        self.beginResetModel()
        self.predictions, self.confidences = predictions, confidences
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.indices)

    def data(self, index: QModelIndex | QPersistentModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        image = int(self.indices[index.row()])
        if role == Qt.ItemDataRole.DecorationRole:
            return self._pixmap(image)
        if role == Qt.ItemDataRole.UserRole:
            return image
        label = int(self.labels[image])
        if role == Qt.ItemDataRole.DisplayRole:
            if self.predictions is None:
                return str(label)
            predicted = int(self.predictions[image])
            return f"{label}→{predicted} {self.confidences[image]:.0%}" if predicted != label else \
                f"{label} {self.confidences[image]:.0%}"
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.predictions is None:
                return self.tr("Test image {index}: a {label}").format(index=image, label=label)
            return self.tr("Test image {index}: a {label}, predicted {predicted} ({confidence:.1%})").format(
                index=image, label=label, predicted=int(self.predictions[image]),
                confidence=float(self.confidences[image]))
        return None

    def _pixmap(self, image: int) -> QPixmap:
        pixmap = self._pixmaps.get(image)
        if pixmap is None:
            paper = np.ascontiguousarray(255 - self.images[image])  # ink dark, as on paper
            picture = QImage(paper.data, 28, 28, 28, QImage.Format.Format_Grayscale8).copy()
            pixmap = QPixmap.fromImage(picture.scaled(THUMBNAIL_PX, THUMBNAIL_PX))
            self._pixmaps[image] = pixmap
        return pixmap


class ConfusionMatrixView(pg.GraphicsLayoutWidget):
    """Rows: the true digit; columns: the predicted one; each cell's count written in it. A click picks a cell."""

    cellClicked = Signal(int, int)  # (true digit, predicted digit)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("confusionMatrix")
        self.plot = self.addPlot()
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.invertY(True)
        self.plot.setAspectLocked(True)
        ticks = [[(i + 0.5, str(i)) for i in range(10)]]
        for side in ("bottom", "left"):
            self.plot.getAxis(side).setTicks(ticks)
        self.plot.setLabel("bottom", self.tr("predicted"))
        self.plot.setLabel("left", self.tr("true digit"))
        self.image = pg.ImageItem()
        self.image.setLookupTable(HEAT.getLookupTable(nPts=256))
        self.plot.addItem(self.image)
        self.plot.setRange(xRange=(0, 10), yRange=(0, 10), padding=0.02)
        self.texts: list[pg.TextItem] = []
        self.marker = QGraphicsRectItem(0, 0, 1, 1)
        pen = pg.mkPen(SELECTION_RGB, width=2)
        pen.setCosmetic(True)
        self.marker.setPen(pen)
        self.marker.setZValue(10)
        self.marker.hide()
        self.plot.addItem(self.marker)
        self.matrix: np.ndarray | None = None
        self._font = QFont()
        self._font.setPointSizeF(7.5)
        self.scene().sigMouseClicked.connect(self._clicked)
        self.scene().sigMouseMoved.connect(self._hover)

    def _hover(self, scene_pos) -> None:
        cell = self.cell_at(scene_pos)
        if cell is None:
            self.setToolTip(self.tr("Rows: the true digit; columns: what the model said. Click a cell to see its "
                                    "images."))
            return
        true, predicted = cell
        self.setToolTip(self.tr("A true {true} predicted as {predicted}: {count} images").format(
            true=true, predicted=predicted, count=int(self.matrix[true, predicted])))

    def show_matrix(self, matrix: list[list[int]] | None) -> None:
        for text in self.texts:
            self.plot.removeItem(text)
        self.texts = []
        self.marker.hide()
        if matrix is None:
            self.matrix = None
            self.image.clear()
            return
        self.matrix = np.asarray(matrix, dtype=np.int64)
        heat = np.log1p(self.matrix.astype(np.float64))
        self.image.setImage(heat, levels=(0.0, max(float(heat.max()), 1.0)), autoLevels=False)
        dark = 0.55 * float(heat.max())
        for true in range(10):
            for predicted in range(10):
                count = int(self.matrix[true, predicted])
                if count == 0 or true == predicted:
                    continue  # the mistakes are written out; the diagonal's hundreds do not fit (pointing tells)
                color = "w" if heat[true, predicted] > dark else "k"
                text = pg.TextItem(str(count), color=color, anchor=(0.5, 0.5))
                text.setFont(self._font)
                text.setPos(predicted + 0.5, true + 0.5)
                self.plot.addItem(text)
                self.texts.append(text)

    def mark(self, true: int | None, predicted: int | None) -> None:
        if true is None or predicted is None:
            self.marker.hide()
            return
        self.marker.setRect(predicted, true, 1, 1)
        self.marker.show()

    def cell_at(self, scene_pos) -> tuple[int, int] | None:
        if self.matrix is None or not self.plot.vb.sceneBoundingRect().contains(scene_pos):
            return None
        point = self.plot.vb.mapSceneToView(scene_pos)
        predicted, true = math.floor(point.x()), math.floor(point.y())
        return (true, predicted) if 0 <= true < 10 and 0 <= predicted < 10 else None

    def _clicked(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        cell = self.cell_at(event.scenePos())
        if cell is not None:
            self.cellClicked.emit(*cell)


class TestBrowser(QWidget):
    """The grid of test images with its filters. A click on an image asks for it as the current input."""

    imageChosen = Signal(int)  # a test image's index

    SORTS = ("index", "confident", "unsure", "loss")

    def __init__(self, images: np.ndarray, labels: np.ndarray, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("testBrowser")
        self.model = TestImages(images, labels)
        self.evaluation: Evaluation | None = None
        self.trueBox = QComboBox(objectName="browserTrue")
        self.predictedBox = QComboBox(objectName="browserPredicted")
        for box in (self.trueBox, self.predictedBox):
            box.addItem(self.tr("any"), None)
            for digit in range(10):
                box.addItem(str(digit), digit)
        self.wrongCheck = QCheckBox(self.tr("Mistakes only"), objectName="browserWrong")
        self.sortBox = QComboBox(objectName="browserSort")
        titles = {"index": self.tr("in test-set order"), "confident": self.tr("most confident first"),
                  "unsure": self.tr("least confident first"), "loss": self.tr("highest loss first")}
        for key in self.SORTS:
            self.sortBox.addItem(titles[key], key)
        self.count = QLabel(objectName="browserCount")
        self.count.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.grid = QListView(objectName="browserGrid")
        self.grid.setViewMode(QListView.ViewMode.IconMode)
        self.grid.setResizeMode(QListView.ResizeMode.Adjust)
        self.grid.setUniformItemSizes(True)
        self.grid.setLayoutMode(QListView.LayoutMode.Batched)  # 10,000 items: laid out a batch at a time
        self.grid.setBatchSize(200)
        self.grid.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.grid.setGridSize(QSize(THUMBNAIL_PX + 14, THUMBNAIL_PX + 22))
        self.grid.setMovement(QListView.Movement.Static)
        self.grid.setFrameShape(QFrame.Shape.NoFrame)
        self.grid.setModel(self.model)
        # The grid takes the width it is given: a size hint that follows its items would move the window's splitter.
        self.grid.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Expanding)
        self.grid.setMinimumWidth(2 * THUMBNAIL_PX)
        filters = QHBoxLayout()
        filters.addWidget(QLabel(self.tr("True")))
        filters.addWidget(self.trueBox)
        filters.addWidget(QLabel(self.tr("predicted")))
        filters.addWidget(self.predictedBox)
        filters.addWidget(self.count, 1)
        sorting = QHBoxLayout()
        sorting.addWidget(self.sortBox)
        sorting.addWidget(self.wrongCheck)
        sorting.addStretch(1)
        box = QVBoxLayout(self)
        box.setContentsMargins(0, 0, 0, 0)
        box.addLayout(filters)
        box.addLayout(sorting)
        box.addWidget(self.grid, 1)
        for combo in (self.trueBox, self.predictedBox, self.sortBox):
            combo.currentIndexChanged.connect(self.refilter)
        self.wrongCheck.toggled.connect(self.refilter)
        self.grid.clicked.connect(lambda index: self.imageChosen.emit(int(index.data(Qt.ItemDataRole.UserRole))))
        self.set_evaluation(None)

    def set_evaluation(self, evaluation: Evaluation | None) -> None:
        self.evaluation = evaluation
        samples = None if evaluation is None else evaluation.samples
        self.model.set_results(None if samples is None else samples.predictions,
                               None if samples is None else samples.confidences)
        evaluated = samples is not None
        for widget in (self.predictedBox, self.wrongCheck):
            widget.setEnabled(evaluated)
        self.sortBox.setEnabled(evaluated)
        tip = "" if evaluated else self.tr("Evaluate the model first: then the predictions are known")
        for widget in (self.predictedBox, self.wrongCheck, self.sortBox):
            widget.setToolTip(tip)
        self.refilter()

    def show_cell(self, true: int, predicted: int) -> None:
        """The images of one cell of the confusion matrix, most confident first."""
        for box in (self.trueBox, self.predictedBox, self.sortBox, self.wrongCheck):
            box.blockSignals(True)
        self.trueBox.setCurrentIndex(self.trueBox.findData(true))
        self.predictedBox.setCurrentIndex(self.predictedBox.findData(predicted))
        self.wrongCheck.setChecked(False)
        self.sortBox.setCurrentIndex(self.sortBox.findData("confident"))
        for box in (self.trueBox, self.predictedBox, self.sortBox, self.wrongCheck):
            box.blockSignals(False)
        self.refilter()

    def refilter(self, *_args) -> None:
        labels = self.model.labels
        true = self.trueBox.currentData()
        samples = None if self.evaluation is None else self.evaluation.samples
        if samples is None:
            found = np.arange(len(labels)) if true is None else np.flatnonzero(labels == true)
        else:
            found = np.sort(samples.where(label=true, predicted=self.predictedBox.currentData(),
                                          wrong_only=self.wrongCheck.isChecked()))
            order = self.sortBox.currentData()
            if order == "confident":
                found = found[np.argsort(-samples.confidences[found], kind="stable")]
            elif order == "unsure":
                found = found[np.argsort(samples.confidences[found], kind="stable")]
            elif order == "loss":
                found = found[np.argsort(-samples.losses[found], kind="stable")]
        self.model.set_indices(found)
        self.count.setText(self.tr("{count} / {total}").format(count=len(found), total=len(labels)))
        self.count.setToolTip(self.tr("{count} of the {total} test images").format(count=len(found),
                                                                                  total=len(labels)))

    def shown_indices(self) -> list[int]:
        return [int(i) for i in self.model.indices]
