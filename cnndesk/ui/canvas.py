"""The drawing canvas: smooth anti-aliased strokes on a fixed-resolution ink image."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QDragEnterEvent,
    QDropEvent,
    QImage,
    QMouseEvent,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
)
from PySide6.QtWidgets import QSizePolicy, QWidget

from .plotting import SELECTION_RGB

CANVAS_SIZE = 280  # ink image resolution; the widget scales it to fit
DEFAULT_BRUSH = 22  # in canvas pixels: after scaling to MNIST's 20 px box, a stroke is ~2 px wide like MNIST's
# The model sees every drawing re-drawn with strokes this fraction of the digit's longer side wide (MNIST: ~2 px of
# a 20 px box; the default brush on a digit of ~200 px), and at least MIN_NORMALISED_WIDTH canvas pixels.
STROKE_FRACTION = 0.11
MIN_NORMALISED_WIDTH = 3.0
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".pgm", ".ppm"}


@dataclass
class Stroke:
    width: float
    points: list[QPointF] = field(default_factory=list)

    def path(self) -> QPainterPath:
        """A smooth curve through the points: quadratic segments between the midpoints."""
        pts = self.points
        path = QPainterPath(pts[0])
        if len(pts) == 1:
            path.lineTo(pts[0])
            return path
        for i in range(1, len(pts) - 1):
            mid = (pts[i] + pts[i + 1]) / 2
            path.quadTo(pts[i], mid)
        path.lineTo(pts[-1])
        return path


class DrawingCanvas(QWidget):
    """Draw with mouse or pen; open or drop an image. Ink is white-on-black inside, shown dark-on-paper."""

    changed = Signal()  # the ink changed, also in the middle of a stroke
    penDown = Signal(bool)  # a stroke started (True) or ended (False)
    committed = Signal()  # a finished change: stroke released, undo, clear, image loaded
    imageLoadFailed = Signal(str)
    imageLoaded = Signal(str)  # the file's path, once it is on the canvas
    digitKey = Signal(int)  # a digit key pressed on the canvas: keep the drawing with that label

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("canvas")
        self.setAcceptDrops(True)
        self.setMinimumSize(200, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # drawing gives it the keys: 0–9 keep the drawing
        self.setToolTip(self.tr("Draw a digit. Esc clears, Ctrl+Z undoes the last stroke; drop an image to load it."))
        self.brush_width: float = DEFAULT_BRUSH
        self._strokes: list[Stroke] = []
        self._current: Stroke | None = None
        self._background: QImage | None = None  # a loaded image, as ink
        self._committed = self._blank()  # background + finished strokes
        self._ink = self._committed.copy()  # committed + the stroke being drawn
        self._outline: QRectF | None = None  # the selected cell's receptive field, in ink pixels
        self._evened: tuple[tuple, QImage] | None = None  # normalised_ink's finished strokes: (width, strokes), image

    # -- state -----------------------------------------------------------------------------------------
    @staticmethod
    def _blank() -> QImage:
        image = QImage(CANVAS_SIZE, CANVAS_SIZE, QImage.Format.Format_Grayscale8)
        image.fill(0)
        return image

    def is_empty(self) -> bool:
        return not self._strokes and self._current is None and self._background is None

    def stroke_count(self) -> int:
        return len(self._strokes)

    def ink_array(self) -> np.ndarray:
        """The ink as float32 (280, 280) in [0, 1], ink high."""
        return self._as_array(self._ink)

    @staticmethod
    def _as_array(image: QImage) -> np.ndarray:
        buffer = np.frombuffer(image.constBits(), dtype=np.uint8)
        rows = buffer[: image.bytesPerLine() * CANVAS_SIZE].reshape(CANVAS_SIZE, image.bytesPerLine())
        return rows[:, :CANVAS_SIZE].astype(np.float32) / 255.0

    def has_image(self) -> bool:
        """An opened image is part of the drawing (its strokes have no paths to draw again)."""
        return self._background is not None

    def normalised_ink(self) -> np.ndarray:
        """The drawing as the model should see it: its strokes drawn again at a width proportional to the digit's
        size (STROKE_FRACTION of its longer side, as MNIST's strokes are to its 20 px box), whatever the brush —
        so a small digit drawn with a thick brush keeps its loops instead of becoming a blob, and a pen-thin one
        does not fade away when scaled down. A loaded image has no strokes: its ink is used as it is."""
        strokes = self._strokes + ([self._current] if self._current is not None else [])
        strokes = [stroke for stroke in strokes if len(stroke.points) > 1]  # a pen just put down: no line yet
        if self._background is not None or not strokes:
            return self.ink_array()
        xs = [p.x() for stroke in strokes for p in stroke.points]
        ys = [p.y() for stroke in strokes for p in stroke.points]
        extent = max(max(xs) - min(xs), max(ys) - min(ys))
        width = round(max(MIN_NORMALISED_WIDTH, STROKE_FRACTION * extent), 1)
        # The finished strokes at this width are drawn once and kept: while the pen moves, only the stroke being
        # drawn is drawn again (as on the canvas itself), unless the digit grew enough to change the width.
        key = (width, tuple(id(stroke) for stroke in self._strokes))
        if self._evened is None or self._evened[0] != key:
            finished = self._blank()
            for stroke in self._strokes:
                self._draw_stroke(finished, Stroke(width, stroke.points))
            self._evened = (key, finished)
        image = self._evened[1]
        if self._current is not None and len(self._current.points) > 1:
            image = image.copy()
            self._draw_stroke(image, Stroke(width, self._current.points))
        return self._as_array(image)

    def clear(self) -> None:
        self._strokes.clear()
        self._drop_current_stroke()
        self._background = None
        self._rebuild()

    def _drop_current_stroke(self) -> None:
        if self._current is not None:
            self._current = None
            self.penDown.emit(False)

    def undo(self) -> None:
        """Remove the last stroke (then the loaded image, if that is all that is left)."""
        if self._strokes:
            self._strokes.pop()
        elif self._background is not None:
            self._background = None
        else:
            return
        self._rebuild()

    def set_brush_width(self, width: float) -> None:
        self.brush_width = float(width)

    def load_file(self, path: str | Path) -> None:
        """Replace the drawing with an image file (either polarity); errors go to ``imageLoadFailed``."""
        from cnndesk.engine import CnndeskError, load_image, preprocess  # NumPy only

        try:
            ink = load_image(path)
        except CnndeskError as exc:
            self.imageLoadFailed.emit(str(exc))
            return
        if preprocess(ink) is None:  # all paper: nothing would be predicted, and the drawing would just vanish
            self.imageLoadFailed.emit(self.tr("{path}: no digit found (the image is blank).").format(path=path))
            return
        self.set_ink_image(ink)
        self.imageLoaded.emit(str(path))

    def set_ink_image(self, ink: np.ndarray, margin: int = 20) -> None:
        """Show an ink array (any size, [0, 1], ink high), fitted into the canvas with a margin (px each side)."""
        data = np.ascontiguousarray((np.clip(ink, 0.0, 1.0) * 255).astype(np.uint8))
        h, w = data.shape
        source = QImage(data.data, w, h, w, QImage.Format.Format_Grayscale8).copy()
        fitted = source.scaled(
            QSize(CANVAS_SIZE - 2 * margin, CANVAS_SIZE - 2 * margin),
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        background = self._blank()
        painter = QPainter(background)
        painter.drawImage((CANVAS_SIZE - fitted.width()) // 2, (CANVAS_SIZE - fitted.height()) // 2, fitted)
        painter.end()
        self._strokes.clear()
        self._drop_current_stroke()
        self._background = background
        self._rebuild()

    # -- painting --------------------------------------------------------------------------------------
    def _pen(self, width: float) -> QPen:
        pen = QPen(QColor(255, 255, 255), width)
        pen.setCapStyle(Qt.PenCapStyle.RoundCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        return pen

    def _draw_stroke(self, image: QImage, stroke: Stroke) -> None:
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(self._pen(stroke.width))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(stroke.path())
        painter.end()

    def _rebuild(self) -> None:
        self._committed = self._background.copy() if self._background is not None else self._blank()
        for stroke in self._strokes:
            self._draw_stroke(self._committed, stroke)
        self._ink = self._committed.copy()
        if self._current is not None:
            self._draw_stroke(self._ink, self._current)
        self.update()
        self.changed.emit()
        self.committed.emit()

    def placeholder_text(self) -> str:
        """What an empty canvas says, painted in its middle."""
        return self.tr("Draw a digit here")

    def _target_rect(self) -> QRectF:
        side = min(self.width(), self.height())
        return QRectF((self.width() - side) / 2, (self.height() - side) / 2, side, side)

    def _to_canvas(self, pos: QPointF) -> QPointF:
        """A widget position in canvas pixels, held inside the canvas: a stroke that runs off its edge follows the
        edge, as the model is given it (off the canvas it was invisible, yet the model read it)."""
        rect = self._target_rect()
        scale = CANVAS_SIZE / max(rect.width(), 1.0)
        x, y = (pos.x() - rect.x()) * scale, (pos.y() - rect.y()) * scale
        return QPointF(min(max(x, 0.0), CANVAS_SIZE), min(max(y, 0.0), CANVAS_SIZE))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        shown = self._ink.copy()
        if self.palette().color(self.backgroundRole()).lightness() >= 128:
            shown.invertPixels()  # dark ink on white paper; in the dark theme white on black, as MNIST is
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        rect = self._target_rect()
        painter.drawImage(rect, shown)
        painter.setPen(QPen(QColor(150, 150, 150), 1))
        painter.drawRect(rect.adjusted(0, 0, -1, -1))
        if self._outline is not None and not self.is_empty():
            scale = rect.width() / CANVAS_SIZE
            box = QRectF(rect.x() + self._outline.x() * scale, rect.y() + self._outline.y() * scale,
                         self._outline.width() * scale, self._outline.height() * scale)
            painter.setPen(QPen(QColor(*SELECTION_RGB), 2, Qt.PenStyle.DashLine))
            painter.drawRect(box.intersected(rect.adjusted(1, 1, -2, -2)))  # a clipped side stays visible
        if self.is_empty():
            painter.setPen(QColor(160, 160, 160))
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.placeholder_text())
        painter.end()

    def set_outline(self, box: tuple[float, float, float, float] | None) -> None:
        """Outline (x0, y0, x1, y1) in ink pixels (the selected cell's receptive field); None removes it."""
        outline = None if box is None else QRectF(box[0], box[1], box[2] - box[0], box[3] - box[1])
        if outline != self._outline:  # a repaint of the canvas costs ~1 ms: only when the outline moves
            self._outline = outline
            self.update()

    def outline(self) -> QRectF | None:
        return self._outline

    def keyPressEvent(self, event) -> None:
        text = event.text()
        if len(text) == 1 and text.isdigit() and not event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier:
            self.digitKey.emit(int(text))
            return
        super().keyPressEvent(event)

    # -- input -----------------------------------------------------------------------------------------
    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self._current = Stroke(self.brush_width, [self._to_canvas(event.position())])
        self._ink = self._committed.copy()
        self._draw_stroke(self._ink, self._current)
        self.update()
        self.penDown.emit(True)
        self.changed.emit()

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._current is None:
            return
        point = self._to_canvas(event.position())
        if self._current.points and (point - self._current.points[-1]).manhattanLength() < 0.5:
            return
        self._current.points.append(point)
        self._ink = self._committed.copy()
        self._draw_stroke(self._ink, self._current)
        self.update()
        self.changed.emit()

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self._current is None:
            return
        stroke, self._current = self._current, None
        if len(stroke.points) > 1:  # a click without a move leaves no ink: it must not widen the digit either
            self._strokes.append(stroke)
            self._draw_stroke(self._committed, stroke)
        self._ink = self._committed.copy()
        self.update()
        self.penDown.emit(False)
        self.changed.emit()
        self.committed.emit()

    @staticmethod
    def _dropped_image(event: QDragEnterEvent | QDropEvent) -> str | None:
        mime = event.mimeData()
        if not mime.hasUrls():
            return None
        for url in mime.urls():
            if url.isLocalFile() and Path(url.toLocalFile()).suffix.lower() in IMAGE_SUFFIXES:
                return url.toLocalFile()
        return None

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if self._dropped_image(event):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        path = self._dropped_image(event)
        if path:
            event.acceptProposedAction()
            self.load_file(path)
