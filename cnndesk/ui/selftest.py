"""``cnndesk gui --self-test``: launch the real window, exercise it as a user would, report measurements.

It checks a built or installed app headlessly and supplies the GUI rows of ``cnndesk bench``: start-up time
(window shown, ready to predict), drawing feedback latency (idle and while training), GUI-thread stalls while
training, training throughput inside the GUI, and peak memory. The last stdout line is one JSON object, with
``"ok": true``; when a check fails (PyTorch does not load, a stroke is not predicted, a run does not train) it is
``{"ok": false, "failure": "..."}`` and the exit status is 1, so a build script can rely on it.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QWidget

STROKE_POINTS = 240
PAINT_TIMEOUT_S = 0.5  # a view that never repaints counts as this late
# Bounds on waits that never end when something is broken (a frozen build missing a library): generous, for slow
# machines; a check that passes never comes near them.
ENGINE_TIMEOUT_S = 300.0  # PyTorch imported and the model in
PREDICTION_TIMEOUT_S = 30.0  # one mouse move until a new prediction
RUN_START_TIMEOUT_S = 300.0  # Train pressed until the first metrics (MNIST may be read first)


class SelfTestFailure(Exception):
    """One of the self-test's checks failed: the message says which, in one sentence."""


def _peak_rss_mb() -> float:
    """The process's peak resident memory in MB. ``resource`` is Unix-only; Windows asks psutil for the peak
    working set."""
    try:
        import resource
    except ImportError:
        import psutil

        info = psutil.Process().memory_info()
        return getattr(info, "peak_wset", info.rss) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB on Linux


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q)) if values else float("nan")


def _stroke_points(count: int) -> list[tuple[float, float]]:
    """A '2'-like path across the canvas, in canvas pixels."""
    t = np.linspace(0.0, 1.0, count)
    # The curve, then the base from left to right — inside the canvas (it once ran 20 px past its edge).
    xs = np.where(t < 0.62, 80 + 120 * np.sin(np.pi * np.clip(t * 1.6, 0, 1)), 80 + 140 * (t - 0.62) / 0.38)
    ys = 60 + 180 * np.clip(t * 1.3, 0, 1)
    return list(zip(xs.tolist(), ys.tolist(), strict=True))


class PaintCounter(QObject):
    """Notes which of some widgets have received a paint event since ``reset()``."""

    def __init__(self, widgets: list[QWidget]) -> None:
        super().__init__()
        self.painted: set[int] = set()
        for widget in widgets:
            widget.installEventFilter(self)

    def reset(self) -> None:
        self.painted.clear()

    def all_painted(self, widgets: list[QWidget]) -> bool:
        return all(id(w) in self.painted for w in widgets)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint:
            self.painted.add(id(watched))
        return False


def run_self_test(train_samples: int = 60000, epochs: int = 1) -> dict[str, Any]:
    launch = float(os.environ.get("CNNDESK_LAUNCH_TIME", time.time()))
    from PySide6.QtCore import QEventLoop, QPoint, QPointF, Qt, QTimer
    from PySide6.QtTest import QTest

    from .app import make_application

    # A fresh settings file: the measurements use the defaults, and the user's remembered window and form stay.
    os.environ["CNNDESK_SETTINGS"] = os.path.join(tempfile.mkdtemp(prefix="cnndesk-self-test-"), "settings.ini")
    app = make_application()
    from .canvas import CANVAS_SIZE
    from .main_window import MainWindow

    # As the app starts: the window first, PyTorch in the background.
    window = MainWindow(load_engine=False)
    # Errors the window shows (PyTorch failed to load) and background tasks that failed (the MNIST preload) fail
    # the self-test at its next wait, instead of leaving it waiting for what will never come.
    errors: list[str] = []
    show_error = window.show_error

    def record_error(message: str) -> None:
        errors.append(message)
        show_error(message)

    window.show_error = record_error
    window.tasks.failed.connect(errors.append)

    def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
        """Process events until ``condition()``; SelfTestFailure naming ``what`` on an error or past the timeout."""
        deadline = time.perf_counter() + timeout_s
        while not condition():
            if errors:
                raise SelfTestFailure(f"{what} failed: {errors[0]}")
            if time.perf_counter() > deadline:
                raise SelfTestFailure(f"{what} did not happen within {timeout_s:g} s.")
            app.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents, 50)

    window.resize(1400, 900)
    window.show()
    app.processEvents()
    visible_s = time.time() - launch
    window.start_loading()
    wait_until(lambda: window.engine_ready, ENGINE_TIMEOUT_S, "Loading PyTorch and the model")
    window.predictor.inspect(np.zeros((28, 28), np.float32))
    ready_s = time.time() - launch
    canvas = window.canvas
    # The views a new prediction repaints, as the event loop paints them (a forced repaint() would paint twice:
    # pyqtgraph schedules its own repaint of a changed scene).
    layer_views = [window.probabilities.viewport(), window.activations.graphics.viewport(),
                   window.inputView.viewport(), window.predictionLabel]
    # With the "Why?" tab in front: the saliency map follows the pen instead of the layers.
    why_views = [window.probabilities.viewport(), window.attributionView.graphics.viewport(),
                 window.inputView.viewport(), window.predictionLabel]
    paints = PaintCounter(layer_views + why_views[1:2] + [window.cellExplainer.graphics.viewport(),
                                                          window.cellExplainer.formula,
                                                          window.filtersView.graphics.viewport()])
    tabs = window.inspectTabs

    def show_tab(widget: QWidget) -> None:
        tabs.setCurrentIndex(tabs.indexOf(widget))
        app.processEvents()

    def to_widget(x: float, y: float) -> QPoint:
        side = min(canvas.width(), canvas.height())
        scale = side / CANVAS_SIZE
        return QPoint(round((canvas.width() - side) / 2 + x * scale), round((canvas.height() - side) / 2 + y * scale))

    def draw_and_time(views: list[QWidget] = layer_views) -> list[float]:
        """Per mouse move: from the event to new probabilities and every changed view repainted (ms)."""
        canvas.clear()
        app.processEvents()
        points = _stroke_points(STROKE_POINTS)
        latencies = []
        QTest.mousePress(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, to_widget(*points[0]))
        for x, y in points[1:]:
            before = window.predictions_made
            label = window.predictionLabel.text()
            paints.reset()
            start = time.perf_counter()
            QTest.mouseMove(canvas, to_widget(x, y))
            deadline = start + PREDICTION_TIMEOUT_S
            while window.predictions_made == before:  # without waiting for events: this is the latency measured
                if time.perf_counter() > deadline:
                    raise SelfTestFailure(f"The drawn stroke was not predicted within {PREDICTION_TIMEOUT_S:g} s.")
                app.processEvents()
            # Every graphics view shows new values; the label repaints only if its text changed.
            waiting = views[:3] + ([views[3]] if window.predictionLabel.text() != label else [])
            deadline = start + PAINT_TIMEOUT_S
            while not paints.all_painted(waiting) and time.perf_counter() < deadline:
                app.processEvents()
            latencies.append((time.perf_counter() - start) * 1000)
        QTest.mouseRelease(canvas, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, to_widget(*points[-1]))
        app.processEvents()
        return latencies

    def click_and_time(clicks: int = 24) -> list[float]:
        """Per click on a cell of conv2's maps (the digit drawn last on the canvas): from the click to the explainer
        repainted with that cell's computation (ms)."""
        row = next(row for row in window.activations.rows if row.name == "conv2")
        channels, height, width = row.signature[1]
        graphics = window.activations.graphics
        explainer = window.cellExplainer
        latencies = []
        for i in range(clicks):
            channel, y, x = i % channels, (3 * i) % height, (5 * i + 2) % width
            tile_row, tile_col = divmod(channel, row.columns)
            scene = row.view.mapViewToScene(QPointF(tile_col * (width + 1) + x + 0.5,
                                                    tile_row * (height + 1) + y + 0.5))
            window.activations.ensureVisible(0, int(graphics.mapFromScene(scene).y()), 10, 40)
            app.processEvents()
            point = graphics.mapFromScene(scene)
            paints.reset()
            start = time.perf_counter()
            QTest.mouseClick(graphics.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                             QPoint(point.x(), point.y()))
            waiting = [explainer.graphics.viewport(), explainer.formula]
            deadline = start + PAINT_TIMEOUT_S
            while (explainer.explanation is None or explainer.explanation.cell != (channel, y, x)
                   or not paints.all_painted(waiting)) and time.perf_counter() < deadline:
                app.processEvents()
            latencies.append((time.perf_counter() - start) * 1000)
        window.session.select(None)
        return latencies

    window.wait_for_preload()  # MNIST is read in the background during the first seconds; "idle" starts after
    idle = draw_and_time()
    probabilities = None if window.session.inspection is None else window.session.inspection.probabilities
    if probabilities is None or not math.isclose(float(np.sum(probabilities)), 1.0, abs_tol=1e-3):
        raise SelfTestFailure(f"The drawn stroke has no valid class probabilities: {probabilities}.")
    explain = click_and_time()
    show_tab(window.attributionView)
    window.attributionView.methodBox.setCurrentIndex(window.attributionView.methodBox.findData("saliency"))
    saliency_idle = draw_and_time(why_views)
    show_tab(window.layersSplitter)

    panel = window.trainingPanel
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData("lenet5"))
    panel.epochsSpin.setValue(epochs)
    panel.augmentCheck.setChecked(False)
    panel.deviceCombo.setCurrentIndex(panel.deviceCombo.findData("cpu"))
    outcome: dict[str, Any] = {}
    window.runner.finished.connect(lambda o: outcome.__setitem__("result", o.result))
    window.runner.failed.connect(lambda m: outcome.__setitem__("error", m))
    got_metrics: list[bool] = []
    window.runner.metrics.connect(lambda _: got_metrics.append(True))

    def train(samples: int) -> None:
        outcome.clear()
        got_metrics.clear()
        panel.samplesSpin.setValue(samples)
        panel.trainButton.click()
        wait_until(lambda: bool(got_metrics or outcome), RUN_START_TIMEOUT_S, "Starting a training run")

    def wait_for_end() -> None:
        if window.runner.is_running():
            loop = QEventLoop()
            window.runner.runningChanged.connect(lambda running: None if running else loop.quit())
            if window.runner.is_running():
                loop.exec()
        if "error" in outcome:
            raise SelfTestFailure(f"The training run failed: {outcome['error']}")

    # 1. A training run with the window open and the drawn digit following the weights, while a 5 ms timer
    #    ticks on the GUI thread: throughput and stalls.
    ticks: list[float] = []
    timer = QTimer(interval=5)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    train(train_samples)
    wait_for_end()
    timer.stop()
    result = outcome.get("result")
    if result is None or not result.samples_per_second > 0:
        raise SelfTestFailure("The training run ended without training (no samples per second).")

    # 2. The replay: the run just trained keeps its snapshots; each slider move until the views show that step.
    def replay_and_time(views: list[QWidget]) -> list[float]:
        slider = window.historySlider
        latencies = []
        positions = [*range(slider.maximum() + 1), *range(slider.maximum() - 1, -1, -3)]
        for position in positions:
            if position == slider.value():
                continue
            before = window.predictions_made
            paints.reset()
            start = time.perf_counter()
            slider.setValue(position)
            deadline = start + PAINT_TIMEOUT_S
            while (window.predictions_made == before or not paints.all_painted(views)) \
                    and time.perf_counter() < deadline:
                app.processEvents()
            latencies.append((time.perf_counter() - start) * 1000)
        window.show_latest()
        app.processEvents()
        return latencies

    replay_snapshots = 0 if window.session.history is None else len(window.session.history)
    replay = replay_and_time(layer_views[:2]) if window.session.history is not None else []
    show_tab(window.filterPages)
    replay_filters = replay_and_time([*layer_views[:1], window.filtersView.graphics.viewport()]) \
        if window.session.history is not None else []
    show_tab(window.layersSplitter)

    # 3. Drawing while another run trains: feedback latency under load, with the layers and then with the saliency
    #    map in front.
    train(45000)  # long enough for both strokes
    busy = draw_and_time() if window.runner.is_running() else []
    show_tab(window.attributionView)
    saliency_busy = draw_and_time(why_views) if window.runner.is_running() else []
    show_tab(window.layersSplitter)
    window.runner.stop()
    wait_for_end()

    gaps = np.diff(np.asarray(ticks)) * 1000 if len(ticks) > 1 else np.asarray([math.nan])
    peak_rss_mb = _peak_rss_mb()
    window.close()
    return {
        "ok": True,
        "visible_s": visible_s,
        "ready_s": ready_s,
        "draw_idle_p95_ms": _percentile(idle, 95),
        "draw_idle_median_ms": _percentile(idle, 50),
        "draw_training_p95_ms": _percentile(busy, 95),
        "draw_training_median_ms": _percentile(busy, 50),
        "draw_saliency_idle_p95_ms": _percentile(saliency_idle, 95),
        "draw_saliency_training_p95_ms": _percentile(saliency_busy, 95),
        "explain_click_p95_ms": _percentile(explain, 95),
        "explain_click_median_ms": _percentile(explain, 50),
        "replay_p95_ms": _percentile(replay, 95),
        "replay_filters_p95_ms": _percentile(replay_filters, 95),
        "replay_snapshots": replay_snapshots,
        "stroke_points": STROKE_POINTS,
        "timer_gap_max_ms": float(np.max(gaps)),
        "timer_gap_p99_ms": float(np.percentile(gaps, 99)),
        "gui_train_samples_per_s": result.samples_per_second,
        "train_samples": train_samples,
        "peak_rss_mb": peak_rss_mb,
    }


def main(train_samples: int = 60000) -> int:
    """Run the self-test; print its report (or the failure) as the last stdout line. 0 if every check passed."""
    try:
        report = run_self_test(train_samples=train_samples)
    except Exception as exc:  # any failure, expected or not, is a failed self-test with a non-zero exit status
        if not isinstance(exc, SelfTestFailure):
            traceback.print_exc()
        report = {"ok": False, "failure": str(exc) or type(exc).__name__}
    sys.stdout.write(json.dumps(report) + "\n")
    sys.stdout.flush()
    return 0 if report["ok"] else 1
