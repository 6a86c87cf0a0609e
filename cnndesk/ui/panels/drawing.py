"""The canvas a digit is drawn on (or an image dropped on), with its brush and tools."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QT_TRANSLATE_NOOP, QCoreApplication, Qt, QTimer, Slot
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QFileDialog, QGridLayout, QLabel, QPushButton, QSlider, QVBoxLayout, QWidget

from cnndesk.ui.canvas import DrawingCanvas
from cnndesk.ui.presentation import presentation
from cnndesk.ui.settings import open_settings

from .base import DRAW, EDIT, FILE, Panel

IMAGE_FOLDER = "drawing/imageFolder"  # settings: the folder the last image was opened from

# While drawing, the mouse events already queued are coalesced into one prediction at the next turn of the
# event loop: the prediction trails the pen by one model pass and never by a fixed delay.
PREDICT_INTERVAL_MS = 0
IMAGE_FILTER = QT_TRANSLATE_NOOP(
    "DrawingPanel", "Images (*.png *.jpg *.jpeg *.bmp *.gif *.webp *.tif *.tiff *.pgm *.ppm)")


class DrawingPanel(Panel):
    area = DRAW

    def __init__(self, shell) -> None:
        super().__init__(shell)
        self.canvas = DrawingCanvas()
        self.clearButton = QPushButton(self.tr("Clear"), objectName="clearButton")
        self.clearButton.setToolTip(self.tr("Clear the canvas (Esc)"))
        self.undoButton = QPushButton(self.tr("Undo"), objectName="undoButton")
        self.undoButton.setToolTip(self.tr("Undo the last stroke (Ctrl+Z)"))
        self.openImageButton = QPushButton(self.tr("Open image…"), objectName="openImageButton")
        self.openImageButton.setToolTip(self.tr("Open a photo or scan of a digit (Ctrl+I), or drop it on the canvas"))
        self.brushSlider = QSlider(Qt.Orientation.Horizontal, objectName="brushSlider", minimum=6, maximum=48)
        self.brushSlider.setValue(int(self.canvas.brush_width))
        self.brushSlider.setToolTip(self.tr("Brush width"))
        self.brushSlider.setMinimumWidth(64)  # in a narrow window the buttons beside it would squeeze it to a dot
        self.brushLabel = QLabel(self.tr("Brush"))
        self.tools = QGridLayout()
        self._arrange_tools()
        presentation().changed.connect(self._arrange_tools)
        layout = QVBoxLayout()
        layout.addWidget(self.canvas, 1)
        layout.addLayout(self.tools)
        self._widget = QWidget()
        self._widget.setLayout(layout)

        self.openImageAction = self.add_action(FILE, self.tr("Open &image…"), self.open_image_dialog, ["Ctrl+I"],
                                               self.tr("Open an image of a digit"))
        self.undoAction = self.add_action(EDIT, self.tr("&Undo stroke"), self.canvas.undo,
                                          [QKeySequence.StandardKey.Undo])
        self.clearAction = self.add_action(EDIT, self.tr("&Clear canvas"), self.canvas.clear, ["Esc", "Delete"])

        self._predict_timer = QTimer(self, singleShot=True, interval=PREDICT_INTERVAL_MS)
        self._predict_timer.timeout.connect(self.update_prediction)
        self.canvas.changed.connect(self._schedule_prediction)
        self.canvas.committed.connect(self.update_prediction)
        self.canvas.imageLoadFailed.connect(shell.show_error)
        # (replacing an earlier failure's message, which would otherwise stay in the status bar)
        self.canvas.imageLoaded.connect(
            lambda path: shell.status(self.tr("Opened {file}").format(file=Path(path).name), 10000))
        self.clearButton.clicked.connect(self.canvas.clear)
        self.undoButton.clicked.connect(self.canvas.undo)
        self.openImageButton.clicked.connect(self.open_image_dialog)
        self.brushSlider.valueChanged.connect(self.canvas.set_brush_width)
        # The selected cell's receptive field, outlined where the drawing has it.
        self.session.selection_changed.connect(self._outline_field)
        self.session.input_changed.connect(self._outline_field)
        self.session.input_changed.connect(self._show_test_image)


    def _arrange_tools(self) -> None:
        """The brush and the buttons on one row; in presentation mode the buttons on a row of their own under the
        brush, so that their larger text leaves the maps' column the room it needs on a 1280 px screen."""
        for widget in (self.brushLabel, self.brushSlider, self.undoButton, self.clearButton, self.openImageButton):
            self.tools.removeWidget(widget)
        two_rows = presentation().active
        self.tools.addWidget(self.brushLabel, 0, 0)
        self.tools.addWidget(self.brushSlider, 0, 1, 1, 2 if two_rows else 1)
        for column, button in enumerate((self.undoButton, self.clearButton, self.openImageButton)):
            self.tools.addWidget(button, 1 if two_rows else 0, column if two_rows else column + 2)
        for column in range(5):  # one row: the slider takes the room left; two: the buttons share it
            self.tools.setColumnStretch(column, (1 if column < 3 else 0) if two_rows else int(column == 1))
    def widget(self) -> QWidget:
        return self._widget

    def _show_test_image(self, prepared) -> None:
        """A test image made the current input elsewhere (the Test set tab): the canvas shows it, ×10, without
        predicting it again from the canvas (the input is MNIST's own image, exactly)."""
        if self.session.test_index is None or prepared is None:
            return
        self.canvas.blockSignals(True)
        try:
            self.canvas.set_ink_image(prepared.source, margin=0)
        finally:
            self.canvas.blockSignals(False)

    def _outline_field(self, _changed=None) -> None:
        field = self.session.selection_field()
        prepared = self.session.input
        self.canvas.set_outline(None if field is None or prepared is None else prepared.to_source(field))

    def engine_ready(self) -> None:
        super().engine_ready()
        self.update_prediction()  # whatever was drawn while PyTorch loaded

    @Slot()
    def _schedule_prediction(self) -> None:
        if not self._predict_timer.isActive():
            self._predict_timer.start()

    @Slot()
    def update_prediction(self) -> None:
        """The drawing — its strokes evened to MNIST's width for its size (from their paths; an opened image's
        measured on its skeleton) — preprocessed, becomes the session's input (which predicts once PyTorch is in)."""
        self._predict_timer.stop()
        if self.canvas.is_empty():
            self.session.set_drawing(None)
        else:
            self.session.set_drawing(self.canvas.normalised_ink(), even_strokes=self.canvas.has_image())

    def open_image_dialog(self) -> None:
        settings = open_settings()
        folder = settings.value(IMAGE_FOLDER)
        start = folder if isinstance(folder, str) and Path(folder).is_dir() else str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self.shell, self.tr("Open image"), start,
                                              QCoreApplication.translate("DrawingPanel", IMAGE_FILTER))
        if path:
            settings.setValue(IMAGE_FOLDER, str(Path(path).parent))
            self.canvas.load_file(path)
