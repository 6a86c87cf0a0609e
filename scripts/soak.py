#!/usr/bin/env python
"""Soak test: drive the real main window offscreen for N cycles of random user actions and count what went wrong.

Each cycle draws on the canvas and then does a few actions drawn from a shuffled deck (so that every kind comes up
within a few cycles, in a random order): train a run on a small slice, pause / resume / stop one, resume an
interrupted run (by the Resume run… dialog or directly), open a checkpoint (Ctrl+O; now and then a damaged file),
switch bundled models (File → Open bundled model), queue a small Experiments run, close the window and open a new
one. Some of them happen while a run trains (drawing, opening a model, closing the window). All of it goes through
the window's own widgets and actions, as the UI tests do.

The soak runs in a child process so that a crash (or a hang, killed by a watchdog) is counted, not fatal: the parent
starts another child at the next cycle. Every cycle's actions and randomness come from ``--seed`` and the cycle's
number alone, so ``--seed S`` replays a failure: the same actions with the same strokes and settings (a stop after a
random delay may land in another batch on a faster or busier machine); ``--start K`` begins at cycle K, without the
files the cycles before it left. The child writes one JSON line per cycle to an events file; the parent adds them up.

Measured, each with its goal: cycles; crashes and hangs (0); Python exceptions — sys.excepthook,
threading.excepthook, sys.unraisablehook, and those raised into the soak's own calls (0); Qt warnings and criticals
through qInstallMessageHandler (0, but for QT_ALLOWED, each with its reason); RSS after warm-up and at the end, each
the median of RSS_CYCLES cycles (growth < 50 MB, judged over 20 cycles or more); QThreads and threads still running
after the last window closed (none); temporary files left in a private TMPDIR and the throwaway CNNDESK_DATA_DIR
(none: its MNIST cache aside); checkpoints per run that saved one (one, and no file without a run); runs that
failed, error boxes nobody asked for, broken invariants (none); closed windows still in memory (none, the process's
first aside). Everything runs against a throwaway CNNDESK_DATA_DIR and CNNDESK_SETTINGS, deleted afterwards unless
a goal was missed (or ``--keep``).

    python scripts/soak.py --cycles 100 --seed 0 --json

The exit status is 0 when every goal is met, 1 otherwise. With ``--json`` the last stdout line is one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import faulthandler
import gc
import itertools
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import weakref
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

# The actions a cycle draws from (after its drawing). Drawing is also in the deck: it happens while runs train too.
ACTIONS = ("draw", "train", "interrupt", "resume", "open_checkpoint", "bundled", "experiments", "reopen")
ACTIONS_PER_CYCLE = (2, 3)  # how many deck actions a cycle takes, at least / at most
TRAIN_MODELS = ("lenet5", "mlp", "net2")  # small and quick to train; cnn3-bn only opens (bundled)
RUN_TIMEOUT_S = 180.0  # one small run or queue; past this the run is stopped and the timeout counted
WINDOW_TIMEOUT_S = 120.0  # a new window until its engine half is in and MNIST is read
HANG_TIMEOUT_S = 600.0  # the parent kills a child that reported nothing for this long (a hang)
STARTUP_GRACE_S = 120.0  # more, before a child's first line
MAX_RESTARTS = 5  # children started after crashes or hangs, before the parent gives up
RSS_GOAL_MB = 50.0
RSS_CYCLES = 5  # RSS after warm-up and at the end: each the median of this many cycles
# Qt messages that are not the app's doing, with the reason; every other warning or critical counts.
QT_ALLOWED: dict[str, str] = {
    "This plugin does not support propagateSizeHints()":
        "the offscreen platform plugin says so whenever a dialog or message box is shown (Resume run…, an error): it "
        "does not implement QPlatformWindow::propagateSizeHints, whose default warns; real platforms implement it",
}


# -- the plan: which actions each cycle does, from the seed alone ------------------------------------------------
def plan_cycles(seed: int, cycles: int) -> list[list[str]]:
    """Every cycle's actions: a drawing, then 2–3 actions dealt from a deck of all kinds, reshuffled when empty."""
    rng = random.Random(f"cnndesk-soak-plan:{seed}")
    deck: list[str] = []
    plan = []
    for _ in range(cycles):
        actions = ["draw"]
        for _ in range(rng.randint(*ACTIONS_PER_CYCLE)):
            if not deck:
                deck = list(ACTIONS)
                rng.shuffle(deck)
            actions.append(deck.pop())
        plan.append(actions)
    return plan


def cycle_rng(seed: int, cycle: int) -> random.Random:
    """A cycle's own randomness (strokes, settings, timings): replaying a cycle needs only the seed and its number."""
    return random.Random(f"cnndesk-soak:{seed}:{cycle}")


# -- the child: the soak itself, in a process of its own ----------------------------------------------------------
class Recorder:
    """What went wrong, as it happens: Python exceptions, Qt messages, failed background tasks, error boxes."""

    def __init__(self) -> None:
        self.exceptions: list[dict[str, str]] = []
        self.qt_messages: list[dict[str, str]] = []
        self.task_failures: list[str] = []
        self.error_boxes: list[dict[str, Any]] = []
        self.checks: list[str] = []  # invariants the soak checks on the way (a run that would not end, …)
        self._lock = threading.Lock()

    def install(self) -> None:
        from PySide6.QtCore import QtMsgType, qInstallMessageHandler

        kinds = {QtMsgType.QtWarningMsg: "warning", QtMsgType.QtCriticalMsg: "critical",
                 QtMsgType.QtFatalMsg: "fatal"}

        def on_qt_message(mode: QtMsgType, context: Any, message: str) -> None:
            kind = kinds.get(mode)
            if kind is not None:
                with self._lock:
                    self.qt_messages.append({"kind": kind, "message": message,
                                             "category": str(getattr(context, "category", "") or "")})
                sys.stderr.write(f"qt {kind}: {message}\n")

        def on_exception(kind: type[BaseException], value: BaseException, tb: Any) -> None:
            self._exception("excepthook", kind, value, tb)
            sys.__excepthook__(kind, value, tb)

        def on_thread_exception(args: threading.ExceptHookArgs) -> None:
            if args.exc_type is not None:
                self._exception(f"thread {args.thread.name if args.thread else '?'}", args.exc_type,
                                args.exc_value, args.exc_traceback)
            threading.__excepthook__(args)

        def on_unraisable(unraisable: Any) -> None:
            self._exception(f"unraisable ({unraisable.err_msg or 'ignored'})", unraisable.exc_type,
                            unraisable.exc_value, unraisable.exc_traceback)
            sys.__unraisablehook__(unraisable)

        qInstallMessageHandler(on_qt_message)
        sys.excepthook = on_exception
        threading.excepthook = on_thread_exception
        sys.unraisablehook = on_unraisable

    def record_exception(self, where: str, exc: BaseException) -> None:
        self._exception(where, type(exc), exc, exc.__traceback__)
        traceback.print_exception(exc)

    def _exception(self, where: str, kind: type[BaseException] | None, value: BaseException | None, tb: Any) -> None:
        frames = traceback.extract_tb(tb)[-3:] if tb is not None else []
        with self._lock:
            self.exceptions.append({"where": where, "type": getattr(kind, "__name__", str(kind)),
                                    "message": str(value)[:300],
                                    "at": " < ".join(f"{Path(f.filename).name}:{f.lineno} {f.name}"
                                                     for f in reversed(frames))})

    def check(self, condition: bool, what: str) -> bool:
        """Note a broken invariant (``what`` says which); True if it held."""
        if not condition:
            self.checks.append(what)
            sys.stderr.write(f"soak: check failed: {what}\n")
        return condition


class QThreadTracker:
    """Every QThread started from Python (the training threads), as weak references: which still run at the end."""

    def __init__(self) -> None:
        self.started: list[weakref.ref] = []

    def install(self) -> None:
        from PySide6.QtCore import QThread

        original = QThread.start
        tracker = self

        def recording_start(thread: QThread, *args: Any, **kwargs: Any) -> Any:
            tracker.started.append(weakref.ref(thread))
            return original(thread, *args, **kwargs)

        QThread.start = recording_start

    def running(self) -> list[str]:
        names = []
        for ref in self.started:
            thread = ref()
            try:
                if thread is not None and thread.isRunning():
                    names.append(thread.objectName() or repr(thread))
            except RuntimeError:  # the C++ object is gone: it finished and was deleted
                pass
        return names


class Soak:
    """Drives one window at a time through the plan's actions and records every run's outcome."""

    def __init__(self, seed: int, recorder: Recorder, threads: QThreadTracker, max_samples: int) -> None:
        from cnndesk.ui.app import make_application

        self.seed = seed
        self.recorder = recorder
        self.threads = threads
        self.max_samples = max_samples
        self.app = make_application()
        self.window: Any = None
        self.windows_opened = 0
        # Windows still in memory after they were closed and deleted, by what was done when they closed. The
        # process's first window is not checked: the app freezes what lives once its first window has loaded
        # (gc.freeze, MainWindow._preload_data), by design for an app with one window.
        self.leaks: list[str] = []
        self.outcomes: list[dict[str, Any]] = []  # every run's end, in order (a failed one included)
        self.rng = random.Random(0)  # the cycle's, set by run_cycle
        self.expect_error = False  # an error box is the expected answer to what is being done (a damaged file)
        self.open_path: str = ""  # what the patched Open dialog answers
        self.bad_file = Path(os.environ["CNNDESK_SOAK_INPUTS"]) / "damaged.safetensors"
        self._patch_file_dialogs()

    # -- plumbing ---------------------------------------------------------------------------------------------
    def _patch_file_dialogs(self) -> None:
        """File → Open asks a dialog that cannot be clicked offscreen: it answers with the path the soak chose."""
        from PySide6.QtWidgets import QFileDialog

        QFileDialog.getOpenFileName = lambda *args, **kwargs: (self.open_path, "")

    def pump(self, ms: int) -> None:
        """Run the event loop for ``ms`` milliseconds, as the app's own loop would.

        Not QTest.qWait: PySide's binding holds the GIL while it sleeps between events, which slowed every other
        Python thread (the training thread, the task runner's imports) about tenfold.
        """
        from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QTimer

        loop = QEventLoop()
        QTimer.singleShot(ms, loop.quit)
        loop.exec()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # as qWait does: deleteLater() is done

    def wait_until(self, condition: Any, timeout_s: float, what: str) -> bool:
        deadline = time.monotonic() + timeout_s
        while not condition():
            if time.monotonic() > deadline:
                return self.recorder.check(False, f"timed out after {timeout_s:.0f} s waiting for {what}")
            self.pump(20)
        return True

    def sweep_error_boxes(self, action: str) -> None:
        """Note and close the message boxes the window opened (an error it showed); only expected ones are fine."""
        from PySide6.QtWidgets import QMessageBox

        for widget in self.app.topLevelWidgets():
            if isinstance(widget, QMessageBox) and widget.isVisible():
                self.recorder.error_boxes.append({"action": action, "text": widget.text()[:300],
                                                  "expected": self.expect_error})
                widget.close()

    # -- the window ---------------------------------------------------------------------------------------------
    def open_window(self) -> None:
        """A new window as the app makes one: the Qt half shown first, PyTorch's half once it has loaded."""
        from cnndesk.ui.main_window import MainWindow

        window = MainWindow(load_engine=False)
        window.resize(1280, 800)
        window.show()
        window.start_loading()
        self.windows_opened += 1
        if not self.wait_until(lambda: window.engine_ready, WINDOW_TIMEOUT_S, "a new window's engine half"):
            raise RuntimeError("the window never completed itself")
        window.runner.finished.connect(self._on_outcome)
        window.tasks.failed.connect(self.recorder.task_failures.append)
        self.wait_until(lambda: window.wait_for_preload(0), WINDOW_TIMEOUT_S, "the MNIST preload")
        self.window = window
        bar = window.restoreBar
        if bar.isVisible():  # a run a crashed child left: restore or discard it, as a user would
            button = self.rng.choice([bar.resumeButton, bar.openButton, bar.discardButton])
            button.click()
            self.wait_for_idle("the restored run")

    def close_window(self, context: str) -> None:
        """Close the window (its closeEvent stops and joins everything), delete it, check that it is gone."""
        window, self.window = self.window, None
        first = self.windows_opened == 1
        window.close()
        self.recorder.check(not window.runner.is_running(), "the training thread ran on after the window closed")
        self.recorder.check(window.tasks.is_idle(), "background tasks ran on after the window closed")
        self.pump(50)  # the outcome of a run the close stopped is delivered now
        ref = weakref.ref(window)
        window.deleteLater()
        del window
        from PySide6.QtCore import QCoreApplication, QEvent

        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        self.pump(20)
        gc.collect()
        if ref() is not None and not first:
            self.leaks.append(context)

    def _on_outcome(self, outcome: Any) -> None:
        self.outcomes.append({
            "status": outcome.status, "model": outcome.plan.config.model,
            "checkpoint": str(outcome.checkpoint) if outcome.checkpoint is not None else None,
            "resumed_from": str(outcome.plan.resume.path) if outcome.plan.resume is not None else None,
            "resumable": bool(outcome.resumable), "error": outcome.error})

    def wait_for_idle(self, what: str) -> None:
        """Until no run trains (a stuck one is stopped, and that counted)."""
        runner = self.window.runner
        if not self.wait_until(lambda: not runner.is_running(), RUN_TIMEOUT_S, what):
            runner.stop()
            self.wait_until(lambda: not runner.is_running(), 30, f"{what} to stop")
        self.pump(10)
        self.recorder.check(self.window.trainingPanel.trainButton.isEnabled(),
                            f"Train stayed disabled after {what} ended")

    # -- the cycle ----------------------------------------------------------------------------------------------
    def run_cycle(self, cycle: int, actions: list[str]) -> list[str]:
        self.rng = cycle_rng(self.seed, cycle)
        done = []
        for action in actions:
            try:
                if self.window is None:
                    self.open_window()
                name = getattr(self, f"do_{action}")() or action
                self.sweep_error_boxes(action)
            except Exception as exc:
                # A slot's exception reaches sys.excepthook from an event loop, but one raised in a slot the soak
                # calls (or inside QTest's helpers) comes out here: counted the same, and the cycle goes on.
                self.recorder.record_exception(f"during {action}", exc)
                name = f"{action} (raised)"
            self.expect_error = False
            done.append(name)
        return done

    def random_stroke(self, points: int) -> None:
        """Press, move through random points (every few pixels, like a hand), release: on the canvas widget."""
        from PySide6.QtCore import QPoint, Qt
        from PySide6.QtTest import QTest

        from cnndesk.ui.canvas import CANVAS_SIZE

        canvas = self.window.canvas
        side = min(canvas.width(), canvas.height())
        scale = side / CANVAS_SIZE
        origin = ((canvas.width() - side) / 2, (canvas.height() - side) / 2)

        def at(x: float, y: float) -> QPoint:
            return QPoint(round(origin[0] + x * scale), round(origin[1] + y * scale))

        corners = [(self.rng.uniform(30, 250), self.rng.uniform(30, 250)) for _ in range(points)]
        path = [corners[0]]
        for (x0, y0), (x1, y1) in itertools.pairwise(corners):
            steps = max(1, int(math.hypot(x1 - x0, y1 - y0) / 6))
            path += [(x0 + (x1 - x0) * t / steps, y0 + (y1 - y0) * t / steps) for t in range(1, steps + 1)]
        left, none = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
        QTest.mousePress(canvas, left, none, at(*path[0]))
        for point in path[1:]:
            QTest.mouseMove(canvas, at(*point))
        QTest.mouseRelease(canvas, left, none, at(*path[-1]))

    def do_draw(self) -> str:
        """Strokes on the canvas with some view in front, then now and then Undo or Clear (button or shortcut)."""
        from PySide6.QtCore import Qt
        from PySide6.QtTest import QTest

        window = self.window
        tabs = window.inspectTabs
        tabs.setCurrentIndex(self.rng.randrange(tabs.count()))
        window.brushSlider.setValue(self.rng.randint(10, 36))
        before = window.predictions_made
        for _ in range(self.rng.randint(1, 3)):
            self.random_stroke(self.rng.randint(2, 6))
        self.pump(30)
        self.wait_until(lambda: window.predictions_made > before, 10, "the drawing's prediction")
        roll = self.rng.random()
        window.canvas.setFocus()
        if roll < 0.25:
            if self.rng.random() < 0.5:
                window.undoButton.click()
            else:
                QTest.keyClick(window.canvas, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
        elif roll < 0.45:
            if self.rng.random() < 0.5:
                window.clearButton.click()
            else:
                QTest.keyClick(window.canvas, Qt.Key.Key_Escape)
        self.pump(20)
        return "draw"

    def set_form(self, model: str, samples: int, epochs: int) -> None:
        panel = self.window.trainingPanel
        panel.modelCombo.setCurrentIndex(panel.modelCombo.findData(model))  # fills in the model's recipe first
        panel.samplesSpin.setValue(samples)
        panel.epochsSpin.setValue(epochs)
        panel.batchSpin.setValue(self.rng.choice([32, 64, 128]))
        panel.augmentCheck.setChecked(self.rng.random() < 0.5)
        panel.deviceCombo.setCurrentIndex(panel.deviceCombo.findData("cpu"))
        panel.seedSpin.setValue(self.rng.randrange(1000))

    def samples(self) -> int:
        return self.rng.randint(max(100, self.max_samples // 2), self.max_samples)

    def while_training(self) -> None:
        """What a user does while a run trains: draw, switch the bundled model, both or nothing."""
        roll = self.rng.random()
        if roll < 0.4:
            self.do_draw()
        elif roll < 0.55:
            self.do_bundled()

    def do_train(self) -> str:
        """Train (Ctrl+T or the button) a small run to its end."""
        window = self.window
        self.set_form(self.rng.choice(TRAIN_MODELS), self.samples(), self.rng.randint(1, 2))
        if self.rng.random() < 0.5:
            window.trainingPanel.trainButton.click()
        else:
            window.trainAction.trigger()
        if not self.recorder.check(window.runner.is_running(), "Train started no run"):
            return "train"
        self.while_training()
        self.wait_for_idle("a training run")
        return "train"

    def do_interrupt(self) -> str:
        """Train, pause, resume, then stop: before the first epoch ends (nothing saved) or after it (resumable)."""
        window = self.window
        runner = window.runner
        self.set_form(self.rng.choice(("lenet5", "mlp")), self.samples(), 3)
        window.trainingPanel.trainButton.click()
        if not self.recorder.check(runner.is_running(), "Train started no run"):
            return "interrupt"
        got: dict[str, bool] = {}

        def note_metrics(_chunk: object) -> None:
            got["metrics"] = True

        def note_epoch(_metrics: object) -> None:
            got["epoch"] = True

        runner.metrics.connect(note_metrics)
        runner.epochDone.connect(note_epoch)
        try:
            self.wait_until(lambda: got.get("metrics") or not runner.is_running(), RUN_TIMEOUT_S, "the first batch")
            if self.rng.random() < 0.5:
                window.trainingPanel.pauseButton.click()
            else:
                window.pauseAction.trigger()
            self.recorder.check(not runner.is_running() or runner.is_paused(), "Pause did not pause the run")
            self.pump(self.rng.randint(50, 600))
            if self.rng.random() < 0.3:
                self.do_draw()  # drawing while paused
            window.trainingPanel.pauseButton.click()
            after_epoch = self.rng.random() < 0.7
            if after_epoch:
                self.wait_until(lambda: got.get("epoch") or not runner.is_running(), RUN_TIMEOUT_S,
                                "the first epoch")
            else:
                self.pump(self.rng.randint(0, 300))
            if self.rng.random() < 0.5:
                window.trainingPanel.stopButton.click()
            else:
                window.stopAction.trigger()
            self.wait_for_idle("a stopped run")
        finally:
            runner.metrics.disconnect(note_metrics)
            runner.epochDone.disconnect(note_epoch)
        return "interrupt"

    def resumable(self) -> list[Path]:
        """Checkpoints of runs stopped after a whole epoch and not resumed to their end since."""
        live = live_checkpoints(self.outcomes)
        return sorted(path for path, resumable in live.items() if resumable and path.exists())

    def do_resume(self) -> str:
        """Continue an interrupted run, by the Resume run… dialog or directly; now and then stop it again."""
        window = self.window
        candidates = self.resumable()
        if not candidates:
            return "resume (none to resume: skipped)"
        path = self.rng.choice(candidates)
        if self.rng.random() < 0.5:
            from cnndesk.ui.resume_dialog import PATH_ROLE

            window.resumeRunAction.trigger()
            dialog = window.dialog
            items = [dialog.runsList.topLevelItem(i) for i in range(dialog.runsList.topLevelItemCount())]
            item = next((i for i in items if Path(i.data(0, PATH_ROLE)) == path), None)
            if not self.recorder.check(item is not None and not item.isDisabled(),
                                       f"Resume run… does not offer {path.name}"):
                dialog.reject()
                return "resume"
            dialog.runsList.setCurrentItem(item)
            dialog.resumeButton.click()
        else:
            window.resume_from(path)
        if not self.recorder.check(window.runner.is_running(), f"resuming {path.name} started no run"):
            return "resume"
        if self.rng.random() < 0.3:
            self.pump(self.rng.randint(100, 1500))
            window.runner.stop()
        else:
            self.while_training()
        self.wait_for_idle("a resumed run")
        return "resume"

    def do_open_checkpoint(self) -> str:
        """File → Open (Ctrl+O) a checkpoint a run kept, a bundled one, or now and then a damaged file."""
        window = self.window
        kept = sorted(path for path in live_checkpoints(self.outcomes) if path.exists())
        roll = self.rng.random()
        if roll < 0.15:
            self.bad_file.parent.mkdir(parents=True, exist_ok=True)
            self.bad_file.write_bytes(b"\x00not a checkpoint" * self.rng.randint(1, 50))
            self.open_path = str(self.bad_file)
            self.expect_error = True  # it must say why in a box, and keep the model
            model_before = window.predictor.model
            window.openModelAction.trigger()
            self.recorder.check(window.predictor.model is model_before, "a damaged checkpoint replaced the model")
            return "open_checkpoint (damaged)"
        from cnndesk.locations import pretrained_path

        path = self.rng.choice(kept) if kept and roll < 0.8 else pretrained_path(self.rng.choice(("lenet5", "mlp")))
        self.open_path = str(path)
        window.openModelAction.trigger()
        self.pump(20)
        if not window.runner.is_running():  # (while a run trains, its end decides the model shown)
            current = window.session.model
            self.recorder.check(current is not None and current.path is not None and current.path.resolve()
                                == path.resolve(), f"opening {path.name} did not make it the model")
        return "open_checkpoint"

    def do_bundled(self) -> str:
        """File → Open bundled model: one of lenet5, cnn3-bn, mlp."""
        actions = self.window.bundledMenu.actions()
        if not self.recorder.check(bool(actions), "no bundled model to open"):
            return "bundled"
        self.rng.choice(actions).trigger()
        self.pump(20)
        return "bundled"

    def do_experiments(self) -> str:
        """Queue one or two small runs (tiny configs, or the form's settings) and run the queue; now and then stop
        it midway and clear the queue, or clear the results."""
        from cnndesk.engine import TrainConfig

        window = self.window
        view = window.experiments
        window.bottomTabs.setCurrentWidget(view)
        if self.rng.random() < 0.5:
            configs = []
            for _ in range(self.rng.randint(1, 2)):
                config = TrainConfig.for_model(self.rng.choice(TRAIN_MODELS), epochs=1, batch_size=64,
                                               train_samples=self.samples(), test_samples=500, device="cpu",
                                               seed=self.rng.randrange(1000))
                config.augment = False
                configs.append(config)
            view.add_configs(configs)
        else:
            self.set_form(self.rng.choice(TRAIN_MODELS), self.samples(), 1)
            view.addCurrentButton.click()
        view.runQueueButton.click()
        if not self.recorder.check(view.is_active(), "Run queue started nothing"):
            view.clearQueueButton.click()
            return "experiments"
        if self.rng.random() < 0.25:
            self.pump(self.rng.randint(200, 2000))
            view.stopQueueButton.click()
        self.wait_until(lambda: not view.is_active(), RUN_TIMEOUT_S, "the Experiments queue")
        self.wait_for_idle("an Experiments queue")
        view.clearQueueButton.click()  # what a stop left queued
        if self.rng.random() < 0.3:
            view.clearResultsButton.click()
        window.bottomTabs.setCurrentIndex(0)
        return "experiments"

    def do_reopen(self) -> str:
        """Close the window — now and then in the middle of a run or a queue — and open a new one."""
        roll = self.rng.random()
        name = "reopen"
        if roll < 0.25:
            self.set_form(self.rng.choice(TRAIN_MODELS), self.max_samples, 3)
            self.window.trainingPanel.trainButton.click()
            self.pump(self.rng.randint(100, 2500))
            name = "reopen (mid-run)"
        elif roll < 0.4:
            from cnndesk.engine import TrainConfig

            self.window.experiments.add_configs([TrainConfig.for_model(model, epochs=1, train_samples=self.samples(),
                                                                       test_samples=500, device="cpu")
                                                 for model in self.rng.sample(TRAIN_MODELS, 2)])
            self.window.experiments.runQueueButton.click()
            self.pump(self.rng.randint(100, 2500))
            name = "reopen (mid-queue)"
        # (No local reference to the window here: it would keep the closed window alive through the check.)
        self.close_window(name)
        self.open_window()
        return name

    def finish(self) -> dict[str, Any]:
        """Close the last window and look for what outlived it."""
        if self.window is not None:
            self.close_window("the end")
        self.pump(200)
        gc.collect()
        python_threads = [t.name for t in threading.enumerate()
                          if t is not threading.main_thread() and t.is_alive() and not t.daemon]
        return {"qthreads_running": self.threads.running(), "python_threads": python_threads}


def live_checkpoints(outcomes: list[dict[str, Any]]) -> dict[Path, bool]:
    """The checkpoint each run that saved one holds now (a resumed run saves into, and renames, its run's file),
    mapped to whether it can still be resumed."""
    live: dict[Path, bool] = {}
    for outcome in outcomes:
        if outcome["checkpoint"] is None:
            continue  # nothing saved (failed, stopped too early): a resumed run's file keeps what it held
        if outcome["resumed_from"] is not None:
            live.pop(Path(outcome["resumed_from"]), None)
        live[Path(outcome["checkpoint"])] = outcome["status"] == "stopped" and outcome["resumable"]
    return live


class FaultInjector:
    """``--self-check``: instead of the window, cycles that do what the soak must catch, so that a test can see
    every detector fire. Cycle 0: exceptions in two Qt slots (one while the soak waits, one in the event loop) and
    in a thread, a Qt warning, a file left in TMPDIR and a checkpoint no run saved; cycle 1: a crash (abort);
    cycle 2: a hang; later cycles: nothing."""

    def __init__(self, recorder: Recorder) -> None:
        from PySide6.QtWidgets import QApplication

        self.recorder = recorder
        self.app = QApplication.instance() or QApplication([])
        self.outcomes: list[dict[str, Any]] = []
        self.windows_opened = 0
        self.leaks: list[str] = []

    def run_cycle(self, cycle: int, actions: list[str]) -> list[str]:
        from PySide6.QtCore import QTimer, qWarning
        from PySide6.QtTest import QTest
        from PySide6.QtWidgets import QPushButton

        if cycle == 0:
            def broken_slot() -> None:
                raise ValueError("injected: an exception in a slot")

            def broken_thread() -> None:
                raise RuntimeError("injected: an exception in a thread")

            QTimer.singleShot(0, broken_slot)
            try:
                QTest.qWait(50)
            except Exception as exc:
                self.recorder.record_exception("during faults", exc)
            button = QPushButton()
            button.clicked.connect(broken_slot)
            button.click()
            worker = threading.Thread(target=broken_thread, name="injected")
            worker.start()
            worker.join()
            qWarning("injected: a Qt warning")
            with tempfile.NamedTemporaryFile(prefix="injected-", delete=False):
                pass
            checkpoints = Path(os.environ["CNNDESK_DATA_DIR"]) / "checkpoints"
            checkpoints.mkdir(parents=True, exist_ok=True)
            (checkpoints / "orphan-2026-01-01-0000.safetensors").write_bytes(b"")
            return ["faults"]
        if cycle == 1:
            os.abort()
        if cycle == 2:
            time.sleep(3600)  # the parent's watchdog ends it
        return ["nothing"]

    def finish(self) -> dict[str, Any]:
        return {"qthreads_running": [], "python_threads": []}


def rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def memory(trim: bool) -> dict[str, float]:
    """RSS after a full collection, and what a leak would also grow: Python objects the collector tracks (the ones
    frozen at start-up aside) and live widgets. With ``trim``, glibc first returns its free heap to the system, so
    that RSS counts what is in use rather than what the allocator keeps for later."""
    from PySide6.QtWidgets import QApplication

    gc.collect()
    if trim:
        with contextlib.suppress(OSError, AttributeError):
            import ctypes

            ctypes.CDLL("libc.so.6").malloc_trim(0)
    return {"rss_mb": rss_mb(), "objects": len(gc.get_objects()), "widgets": len(QApplication.allWidgets())}


def run_child(seed: int, start: int, cycles: int, warmup: int, events: Path, max_samples: int,
              self_check: bool = False, trim: bool = False) -> int:
    """The soak, in this process: cycles ``start`` … ``cycles - 1``, one JSON line per cycle appended to ``events``."""
    faulthandler.enable()  # a crash prints every thread's Python stack to stderr
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)  # the parent asks for stacks before killing a hang
    recorder = Recorder()
    recorder.install()
    threads = QThreadTracker()
    threads.install()
    plan = plan_cycles(seed, cycles)
    with events.open("a", encoding="utf-8") as log:

        def emit(record: dict[str, Any]) -> None:
            log.write(json.dumps(record) + "\n")
            log.flush()

        emit({"event": "child", "start": start, "pid": os.getpid()})
        soak: Any = FaultInjector(recorder) if self_check else Soak(seed, recorder, threads, max_samples)
        seen = {"exceptions": 0, "qt": 0, "tasks": 0, "boxes": 0, "checks": 0, "outcomes": 0, "leaks": 0}
        for cycle in range(start, cycles):
            began = time.monotonic()
            emit({"event": "begin", "cycle": cycle, "actions": plan[cycle]})
            done = soak.run_cycle(cycle, plan[cycle])
            record = {"event": "cycle", "cycle": cycle, "actions": done, "seconds": time.monotonic() - began,
                      **memory(trim), "warm": cycle - start >= warmup - 1, "windows_opened": soak.windows_opened}
            for key, items in (("exceptions", recorder.exceptions), ("qt", recorder.qt_messages),
                               ("tasks", recorder.task_failures), ("boxes", recorder.error_boxes),
                               ("checks", recorder.checks), ("outcomes", soak.outcomes), ("leaks", soak.leaks)):
                record[key] = items[seen[key]:]
                seen[key] = len(items)
            emit(record)
        end = soak.finish()
        emit({"event": "end", **end, "exceptions": recorder.exceptions[seen["exceptions"]:],
              "qt": recorder.qt_messages[seen["qt"]:], "checks": recorder.checks[seen["checks"]:],
              "outcomes": soak.outcomes[seen["outcomes"]:], "rss_mb": memory(trim)["rss_mb"],
              "leaks": soak.leaks[seen["leaks"]:], "windows_opened": soak.windows_opened})
    return 0


# -- the parent: children, the watchdog, the sums ---------------------------------------------------------------
def list_files(folder: Path) -> set[Path]:
    return {path.relative_to(folder) for path in folder.rglob("*") if path.is_file()} if folder.exists() else set()


def read_events(path: Path) -> list[dict[str, Any]]:
    events = []
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError):
                events.append(json.loads(line))
    return events


def run_children(args: argparse.Namespace, root: Path, env: dict[str, str]) -> tuple[list[dict[str, Any]],
                                                                                      list[dict[str, Any]]]:
    """Children until every cycle has run (or too many crashed): the events, and a record per crash or hang."""
    events_path = root / "events.jsonl"
    failures: list[dict[str, Any]] = []
    start = args.start
    for attempt in range(MAX_RESTARTS + 1):
        stderr_path = root / f"child-{attempt}.log"
        command = [sys.executable, str(Path(__file__).resolve()), "--child", "--seed", str(args.seed), "--cycles",
                   str(args.cycles), "--start", str(start), "--warmup", str(args.warmup), "--max-samples",
                   str(args.max_samples), "--events", str(events_path)]
        command += ["--self-check"] * args.self_check + ["--malloc-trim"] * args.malloc_trim
        with stderr_path.open("w") as stderr:
            child = subprocess.Popen(command, env=env, cwd=REPO, stdout=stderr, stderr=subprocess.STDOUT)
            hung = False

            def size() -> int:
                return events_path.stat().st_size if events_path.exists() else 0

            # Until its first line the child is importing (slow on a busy host): it gets a grace period on top.
            last_size, last_change, grace = size(), time.monotonic(), STARTUP_GRACE_S
            while child.poll() is None:
                time.sleep(0.5)
                if size() != last_size:
                    last_size, last_change, grace = size(), time.monotonic(), 0.0
                elif time.monotonic() - last_change > args.hang_timeout + grace:
                    hung = True
                    with contextlib.suppress(OSError, AttributeError):
                        child.send_signal(signal.SIGUSR1)  # every thread's stack into the log
                        time.sleep(1)
                    child.kill()
                    child.wait()
        events = read_events(events_path)
        if not hung and child.returncode == 0 and events and events[-1].get("event") == "end":
            return events, failures
        begun = [e["cycle"] for e in events if e.get("event") == "begin"]
        failed_cycle = begun[-1] if begun else start
        tail = stderr_path.read_text(errors="replace").splitlines()[-25:]
        failures.append({"kind": "hang" if hung else "crash", "cycle": failed_cycle, "returncode": child.returncode,
                         "log": str(stderr_path), "tail": tail})
        sys.stderr.write(f"soak: child {'hung' if hung else 'crashed'} in cycle {failed_cycle} "
                         f"(exit status {child.returncode}); see {stderr_path}\n")
        start = failed_cycle + 1  # the next child goes on after the cycle that failed
        if start >= args.cycles:
            break
    return read_events(events_path), failures


def child_segments(events: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The events of each child, in order (its cycles and its end)."""
    segments: list[list[dict[str, Any]]] = []
    for event in events:
        if event.get("event") == "child":
            segments.append([])
        elif segments and event.get("event") in ("cycle", "end"):
            segments[-1].append(event)
    return segments


def summarize(args: argparse.Namespace, events: list[dict[str, Any]], failures: list[dict[str, Any]], root: Path,
              seconds: float) -> dict[str, Any]:
    cycles = [e for e in events if e.get("event") == "cycle"]
    end = next((e for e in reversed(events) if e.get("event") == "end"), {})
    records = [*cycles, end]
    exceptions = [x for e in records for x in e.get("exceptions", [])]
    qt = [m for e in records for m in e.get("qt", [])]
    checks = [c for e in records for c in e.get("checks", [])]
    outcomes = [o for e in records for o in e.get("outcomes", [])]
    boxes = [b for e in cycles for b in e.get("boxes", [])]
    tasks = [t for e in cycles for t in e.get("tasks", [])]
    qt_counted = [m for m in qt if m["message"] not in QT_ALLOWED]

    # Memory: RSS of the last child's cycles, from the end of its warm-up to its end.
    segments = child_segments(events)
    warm = [e for e in segments[-1] if e.get("warm") and e.get("event") == "cycle"] if segments else []
    # Both readings with a window open, each the median of RSS_CYCLES cycles: one cycle's RSS swings by ±40 MB with
    # what it did (a run's batches, a model's history). The figure after the last window closed is reported beside.
    def median_rss(records: list[dict[str, Any]]) -> float | None:
        values = sorted(e["rss_mb"] for e in records)
        return (values[(len(values) - 1) // 2] + values[len(values) // 2]) / 2 if values else None

    rss_warm = median_rss(warm[:RSS_CYCLES])
    rss_end = median_rss(warm[-RSS_CYCLES:])
    growth = None if rss_warm is None or rss_end is None else rss_end - rss_warm
    slope = None
    if len(warm) >= 3:  # least squares, MB per cycle: a leak grows steadily, allocator noise does not
        xs = [e["cycle"] for e in warm]
        ys = [e["rss_mb"] for e in warm]
        mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
        slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / \
            sum((x - mean_x) ** 2 for x in xs)

    # Checkpoints: every file in the checkpoints folder is the one file of one run, and every run's file is there.
    data = root / "data"
    checkpoints = {p.resolve() for p in (data / "checkpoints").glob("*.safetensors")}
    live = {p.resolve() for p in live_checkpoints(outcomes)}
    saved_runs = len(live)
    orphans = sorted(p.name for p in checkpoints - live)
    missing = sorted(p.name for p in live - checkpoints)

    # Temporary files: anything in the private TMPDIR, and in the data folder anything but the runs' checkpoints
    # and MNIST's cache (datasets/: unpacked once, kept on purpose). A run's marker left in active-runs/ counts.
    left = sorted(f"TMPDIR/{p}" for p in list_files(root / "tmp"))
    left += sorted(f"data/{p}" for p in list_files(data) if p.parts[0] != "datasets"
                   and not (p.parts[0] == "checkpoints" and p.suffix == ".safetensors" and len(p.parts) == 2))

    statuses = Counter(o["status"] for o in outcomes)
    actions = Counter(a.split(" ")[0] + (" (skipped)" if "skipped" in a else "") for e in cycles
                      for a in e["actions"])
    unexpected_boxes = [b for b in boxes if not b["expected"]]
    threads_left = end.get("qthreads_running", []) + end.get("python_threads", [])
    leaks = [x for e in records for x in e.get("leaks", [])]
    # Windows: each child counts its own; the last record of each child has its count.
    windows_opened = sum(segment[-1].get("windows_opened", 0) for segment in child_segments(events) if segment)
    crashes = sum(f["kind"] == "crash" for f in failures)
    hangs = sum(f["kind"] == "hang" for f in failures)
    long_run = len(warm) >= 4 * RSS_CYCLES  # in a short run, RSS growth is warm-up noise
    goals = {
        "no crash or hang": crashes + hangs == 0,
        "no Python exception": not exceptions,
        "no Qt warning": not qt_counted,
        "no QThread or thread left": not threads_left,
        "no temporary file left": not left,
        "one checkpoint per run": not orphans and not missing,
        "no failed run": statuses.get("failed", 0) == 0,
        "no unexpected error message": not unexpected_boxes,
        "no broken check": not checks,
        "every closed window freed (the first aside)": not leaks,
    }
    if long_run:
        goals[f"RSS growth after warm-up < {RSS_GOAL_MB:g} MB"] = growth is not None and growth < RSS_GOAL_MB
    return {
        "seed": args.seed,
        "cycles_planned": args.cycles - args.start,
        "cycles": len(cycles),
        "crashes": crashes,
        "hangs": hangs,
        "failures": failures,
        "exceptions": len(exceptions),
        "exception_samples": exceptions[:10],
        "qt_warnings": sum(m["kind"] == "warning" for m in qt_counted),
        "qt_criticals": sum(m["kind"] in ("critical", "fatal") for m in qt_counted),
        "qt_allowed": len(qt) - len(qt_counted),
        "qt_messages": dict(Counter(m["message"][:200] for m in qt).most_common(10)),
        "rss_warmup_mb": rss_warm,
        "rss_end_mb": rss_end,
        "rss_growth_mb": growth,
        "rss_slope_mb_per_cycle": slope,
        "rss_after_close_mb": end.get("rss_mb"),
        "malloc_trim": args.malloc_trim,
        # Leak indicators beside RSS, from the end of the warm-up to the last cycle.
        "objects_growth": warm[-1]["objects"] - warm[0]["objects"] if warm else None,
        "widgets_growth": warm[-1]["widgets"] - warm[0]["widgets"] if warm else None,
        "warmup_cycles": args.warmup,
        "qthreads_running": len(end.get("qthreads_running", [])),
        "threads_left": threads_left,
        "temp_files_left": left,
        "runs": dict(statuses),
        "runs_saved": saved_runs,
        "checkpoints_kept": len(checkpoints),
        "checkpoints_per_run": len(checkpoints & live) / saved_runs if saved_runs else None,
        "orphan_checkpoints": orphans,
        "missing_checkpoints": missing,
        "failed_runs": [o["error"] for o in outcomes if o["status"] == "failed"][:10],
        "task_failures": tasks[:10],
        "error_messages": len(boxes),
        "unexpected_error_messages": [b["text"] for b in unexpected_boxes][:10],
        "checks_failed": checks[:20],
        "windows_opened": windows_opened,
        "windows_leaked": len(leaks),
        "windows_leaked_when": dict(Counter(leaks)),
        "actions": dict(sorted(actions.items())),
        "seconds": seconds,
        # CPU time of the children (user + system): on a shared, busy host the wall time says little.
        "cpu_seconds": cpu_seconds(),
        "goals": goals,
        "ok": all(goals.values()),
    }


def cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def print_report(report: dict[str, Any]) -> None:
    def mb(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.1f} MB"

    memory_line = (f"  RSS after warm-up {mb(report['rss_warmup_mb'])}, at the end {mb(report['rss_end_mb'])}: growth "
                   f"{mb(report['rss_growth_mb'])}")
    if report["rss_slope_mb_per_cycle"] is not None:
        memory_line += f" ({report['rss_slope_mb_per_cycle']:+.2f} MB/cycle)"
    if report["malloc_trim"]:
        memory_line += " after malloc_trim"
    if report["objects_growth"] is not None:
        memory_line += f"; Python objects {report['objects_growth']:+}, widgets {report['widgets_growth']:+}"

    lines = [
        f"soak: seed {report['seed']}, {report['cycles']}/{report['cycles_planned']} cycles in "
        f"{report['seconds']:.0f} s ({report['cpu_seconds']:.0f} s of CPU), {report['windows_opened']} windows",
        f"  crashes {report['crashes']}, hangs {report['hangs']}, Python exceptions {report['exceptions']}, "
        f"Qt warnings {report['qt_warnings']}, criticals {report['qt_criticals']} ({report['qt_allowed']} allowed)",
        memory_line,
        f"  threads left {report['threads_left'] or 0}, temporary files left {len(report['temp_files_left'])}, "
        f"windows not freed {report['windows_leaked']} {report['windows_leaked_when'] or ''}",
        f"  runs {report['runs']}, saved {report['runs_saved']}, checkpoints kept {report['checkpoints_kept']} "
        f"(orphans {len(report['orphan_checkpoints'])}, missing {len(report['missing_checkpoints'])})",
        f"  actions {report['actions']}",
    ]
    for goal, met in report["goals"].items():
        lines.append(f"  [{'ok' if met else 'MISSED'}] {goal}")
    for key in ("exception_samples", "checks_failed", "unexpected_error_messages", "failed_runs", "task_failures",
                "temp_files_left", "orphan_checkpoints", "missing_checkpoints"):
        if report[key]:
            lines.append(f"  {key}: {json.dumps(report[key])[:2000]}")
    for failure in report["failures"]:
        lines.append(f"  {failure['kind']} in cycle {failure['cycle']}: " + " | ".join(failure["tail"][-5:]))
    if report["qt_messages"]:
        lines.append(f"  Qt messages: {json.dumps(report['qt_messages'])[:2000]}")
    print("\n".join(lines), flush=True)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Soak the cnndesk window with random user actions, offscreen.")
    parser.add_argument("--cycles", type=int, default=100, help="cycles to run (default 100)")
    parser.add_argument("--seed", type=int, default=0, help="the seed every cycle's actions derive from")
    parser.add_argument("--start", type=int, default=0, help="begin at this cycle (to replay a failure)")
    parser.add_argument("--warmup", type=int, default=None,
                        help="cycles before RSS is first measured (default: a tenth of the cycles, 1–10)")
    parser.add_argument("--max-samples", type=int, default=512,
                        help="training images per run, at most (runs take between half of it and all of it)")
    parser.add_argument("--hang-timeout", type=float, default=HANG_TIMEOUT_S,
                        help="seconds without progress before a child counts as hung and is killed")
    parser.add_argument("--malloc-trim", action="store_true",
                        help="return the C heap's free memory to the system before each RSS reading (glibc): tells "
                             "a leak from memory the allocator keeps")
    parser.add_argument("--keep", action="store_true", help="keep the throwaway data folder")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last stdout line")
    parser.add_argument("--self-check", action="store_true",
                        help="inject the faults the soak must catch instead of driving the window (for its test)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cycles < 1 or not 0 <= args.start < args.cycles:
        parser.error("--cycles must be at least 1 and --start one of the cycles")
    if args.max_samples < 100:
        parser.error("--max-samples must be at least 100 (the training form's minimum)")
    if args.warmup is None:
        args.warmup = max(1, min(10, (args.cycles - args.start) // 10))
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.child:
        return run_child(args.seed, args.start, args.cycles, args.warmup, args.events, args.max_samples,
                         args.self_check, args.malloc_trim)
    began = time.monotonic()
    root = Path(tempfile.mkdtemp(prefix="cnndesk-soak-"))
    for folder in ("data", "tmp", "inputs"):
        (root / folder).mkdir()
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "CNNDESK_DATA_DIR": str(root / "data"),
           "CNNDESK_SETTINGS": str(root / "settings.ini"), "TMPDIR": str(root / "tmp"),
           "CNNDESK_SOAK_INPUTS": str(root / "inputs")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    events, failures = run_children(args, root, env)
    report = summarize(args, events, failures, root, time.monotonic() - began)
    keep = args.keep or not report["ok"]
    report["folder"] = str(root) if keep else None
    print_report(report)
    if keep:
        print(f"soak: the data folder, events and child logs are kept in {root}", flush=True)
    else:
        shutil.rmtree(root, ignore_errors=True)
    if args.json:
        print(json.dumps(report, allow_nan=False, default=str), flush=True)
    return 0 if report["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
