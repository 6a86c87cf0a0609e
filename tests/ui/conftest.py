"""UI fixtures: a main window per test, and a check that no test leaves a QThread running."""

from __future__ import annotations

import itertools
import weakref

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt, QThread
from PySide6.QtTest import QTest

from cnndesk.locations import pretrained_path
from cnndesk.ui.canvas import CANVAS_SIZE


@pytest.fixture(autouse=True)
def no_dangling_threads(monkeypatch):
    """Fail any test that leaves a QThread it started still running."""
    started: list[weakref.ref] = []
    original = QThread.start

    def recording_start(self, *args, **kwargs):
        started.append(weakref.ref(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", recording_start)
    yield
    running = []
    for ref in started:
        thread = ref()
        try:
            if thread is not None and thread.isRunning():
                running.append(thread.objectName() or repr(thread))
        except RuntimeError:  # the C++ object is gone: it finished and was deleted
            pass
    assert not running, f"QThreads still running after the test: {running}"


@pytest.fixture
def make_window(qtbot):
    """``make_window(**kwargs)``: a shown MainWindow(**kwargs), closed after the test."""
    from cnndesk.ui import MainWindow

    opened = []

    def make(**kwargs):
        # The tests are written around LeNet5, the tutorials' model; the window starts with STARTING_MODEL
        # (make_window(checkpoint=None) gets it, as tests/ui/test_startup.py checks).
        kwargs.setdefault("checkpoint", str(pretrained_path("lenet5")))
        win = MainWindow(**kwargs)
        opened.append(win)
        qtbot.addWidget(win)
        win.resize(1200, 800)
        win.show()
        qtbot.waitExposed(win)
        return win

    yield make
    for win in opened:
        win.close()


@pytest.fixture
def window(make_window):
    return make_window()


def canvas_point(canvas, x: float, y: float) -> QPoint:
    """Widget coordinates of a point given in canvas-image pixels (0..280)."""
    side = min(canvas.width(), canvas.height())
    ox, oy = (canvas.width() - side) / 2, (canvas.height() - side) / 2
    scale = side / CANVAS_SIZE
    return QPoint(round(ox + x * scale), round(oy + y * scale))


def draw_stroke(canvas, points, release: bool = True) -> None:
    """Press, move through the points (interpolated every few pixels), release: like a hand."""
    dense = []
    for (x0, y0), (x1, y1) in itertools.pairwise(points):
        steps = max(1, int(np.hypot(x1 - x0, y1 - y0) / 4))
        dense += [(x0 + (x1 - x0) * t / steps, y0 + (y1 - y0) * t / steps) for t in range(steps)]
    dense.append(points[-1])
    QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, canvas_point(canvas, *dense[0]))
    for x, y in dense[1:]:
        QTest.mouseMove(canvas, canvas_point(canvas, x, y))
    if release:
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                           canvas_point(canvas, *dense[-1]))


@pytest.fixture
def stroke():
    """``stroke(canvas, points, release=True)``: draw like a hand would."""
    return draw_stroke
