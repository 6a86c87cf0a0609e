"""The background task runner: outcomes on the GUI thread, errors as messages, order, cancel, shutdown; and the
window's start-up tasks (the imports, then the MNIST preload) on it."""

from __future__ import annotations

import threading
import time

import pytest
from PySide6.QtCore import QCoreApplication, QThread

import cnndesk.ui.main_window as main_window
from cnndesk.errors import CnndeskError
from cnndesk.locations import pretrained_path
from cnndesk.ui.tasks import TaskRunner

WAIT_MS = 10000


def on_gui_thread() -> bool:
    return (QThread.currentThread() is QCoreApplication.instance().thread()
            and threading.get_ident() == threading.main_thread().ident)


@pytest.fixture
def runner(qtbot):
    """A runner, shut down after the test; its pool must then be idle (what conftest checks for QThreads)."""
    tasks = TaskRunner()
    yield tasks
    assert tasks.shutdown(timeout_s=10)
    assert tasks.is_idle() and tasks._pool.activeThreadCount() == 0, "a task thread outlived the test"


def test_a_result_is_delivered_on_the_gui_thread(runner, qtbot):
    seen = []

    def work() -> int:
        seen.append(("ran on GUI thread", on_gui_thread()))
        return 42

    runner.submit(work, name="answer", on_done=lambda result: seen.append((result, on_gui_thread())))
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=WAIT_MS)
    assert seen == [("ran on GUI thread", False), (42, True)]


def test_an_exception_becomes_a_message_on_the_gui_thread_and_nothing_on_stderr(runner, qtbot, capfd):
    errors = []

    def broken() -> None:
        raise ValueError("the disk is on fire")

    task = runner.submit(broken, name="broken", on_done=lambda _: errors.append("done?!"),
                         on_error=lambda message: errors.append((message, on_gui_thread())))
    qtbot.waitUntil(lambda: bool(errors), timeout=WAIT_MS)
    assert errors == [("ValueError: the disk is on fire", True)]
    assert task.status == "failed" and task.error == "ValueError: the disk is on fire"

    # Without on_error, the runner's failed signal says which task failed.
    with qtbot.waitSignal(runner.failed, timeout=WAIT_MS) as failed:
        runner.submit(broken, name="preload")
    assert failed.args == ["preload: ValueError: the disk is on fire"]
    assert runner.shutdown(timeout_s=10)
    err = capfd.readouterr().err
    assert "Traceback" not in err and "disk is on fire" not in err, err


def test_tasks_run_one_at_a_time_in_submission_order(runner, qtbot):
    log: list[str] = []
    release = threading.Event()

    def first() -> None:
        log.append("first start")
        release.wait(WAIT_MS / 1000)
        log.append("first end")

    def second() -> None:
        log.append("second start")

    one = runner.submit(first, name="first")
    qtbot.waitUntil(lambda: runner.active() == [one], timeout=WAIT_MS)
    two = runner.submit(second, name="second")
    qtbot.wait(200)  # time enough for a second task to start, were it allowed to
    assert log == ["first start"]
    assert runner.pending() == [two] and two.status == "pending"
    release.set()
    assert two.wait(WAIT_MS / 1000)
    assert log == ["first start", "first end", "second start"]


def test_a_non_exclusive_task_runs_beside_the_serial_one(runner, qtbot):
    release = threading.Event()
    serial = runner.submit(lambda: release.wait(WAIT_MS / 1000), name="serial")
    qtbot.waitUntil(lambda: runner.active() == [serial], timeout=WAIT_MS)
    beside = runner.submit(lambda: "beside", name="beside", exclusive=False)
    assert beside.wait(WAIT_MS / 1000), "an exclusive=False task waited for the serial lane"
    assert serial.status == "running"
    release.set()


def test_a_task_cancelled_before_it_starts_never_runs(runner, qtbot):
    release = threading.Event()
    ran, delivered = [], []
    blocker = runner.submit(lambda: release.wait(WAIT_MS / 1000), name="blocker")
    qtbot.waitUntil(lambda: runner.active() == [blocker], timeout=WAIT_MS)
    waiting = runner.submit(lambda: ran.append(True), name="waiting", on_done=delivered.append,
                            on_error=delivered.append)
    waiting.cancel()
    assert waiting.status == "cancelled" and waiting.wait(0) and runner.pending() == []
    after = runner.submit(lambda: "after", name="after")  # the lane moves on past the cancelled task
    release.set()
    assert blocker.wait(WAIT_MS / 1000) and after.wait(WAIT_MS / 1000)
    qtbot.wait(50)  # deliver whatever was queued
    assert ran == [] and delivered == []


def test_a_running_task_sees_cancelled_and_its_result_is_not_delivered(runner, qtbot):
    started = threading.Event()
    seen, delivered = [], []

    def poll(state) -> str:
        started.set()
        deadline = time.monotonic() + WAIT_MS / 1000
        while not state.cancelled and time.monotonic() < deadline:
            time.sleep(0.005)
        seen.append(state.cancelled)
        return "partial"

    task = runner.submit(poll, name="poll", on_done=delivered.append)
    assert started.wait(WAIT_MS / 1000)
    assert task.status == "running" and runner.active() == [task]
    task.cancel()
    assert task.wait(WAIT_MS / 1000)
    qtbot.wait(50)
    assert seen == [True] and task.status == "cancelled" and delivered == []


def test_progress_is_coalesced_and_delivered_on_the_gui_thread(runner, qtbot):
    progress = []

    def steps(state) -> None:
        for i in range(1, 1001):
            state.report_progress(i / 1000)

    task = runner.submit(steps, name="steps", on_progress=lambda f: progress.append((f, on_gui_thread())))
    assert task.wait(WAIT_MS / 1000)
    qtbot.waitUntil(lambda: bool(progress) and progress[-1][0] == 1.0, timeout=WAIT_MS)
    assert all(gui for _, gui in progress)
    assert 50 <= len(progress) <= 101  # about one per percent, not one per call


def test_shutdown_waits_for_a_running_task_cancels_the_rest_and_is_idempotent(runner, qtbot):
    started, release = threading.Event(), threading.Event()
    log, delivered = [], []

    def slow() -> None:
        started.set()
        release.wait(WAIT_MS / 1000)
        time.sleep(0.2)
        log.append("slow end")

    runner.submit(slow, name="slow", on_done=delivered.append)
    queued = runner.submit(lambda: log.append("queued ran"), name="queued")
    assert started.wait(WAIT_MS / 1000)
    assert not runner.shutdown(timeout_s=0.1), "shutdown returned before the running task ended"
    assert queued.status == "cancelled"
    release.set()
    assert runner.shutdown(timeout_s=10)
    assert log == ["slow end"]  # waited for, not abandoned; the queued one never ran
    assert runner.is_idle()
    assert runner.shutdown(timeout_s=10)  # again: nothing to do
    late = runner.submit(lambda: log.append("late ran"), name="late")
    qtbot.wait(50)
    assert late.status == "cancelled" and log == ["slow end"] and delivered == []  # no callback after shutdown


needs_weights = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")


@needs_weights
def test_the_window_preloads_only_after_the_import_task_ended(make_window, qtbot, monkeypatch):
    log: list[tuple[str, bool]] = []
    real_import = main_window.import_engine

    def recorded_import() -> None:
        log.append(("import start", on_gui_thread()))
        time.sleep(0.3)  # a slow import: a preload started by timing would begin meanwhile
        real_import()
        log.append(("import end", on_gui_thread()))

    monkeypatch.setattr(main_window, "import_engine", recorded_import)
    monkeypatch.setattr(main_window.MainWindow, "_preload_data",
                        staticmethod(lambda: log.append(("preload start", on_gui_thread()))))
    shell = make_window(load_engine=False)
    with qtbot.waitSignal(shell.engineReady, timeout=30000):
        shell.start_loading()
    assert shell.wait_for_preload(timeout=10)
    assert log == [("import start", False), ("import end", False), ("preload start", False)]
    qtbot.waitUntil(lambda: not shell.tasks.active(), timeout=WAIT_MS)


@needs_weights
def test_a_failed_preload_is_one_status_line_not_a_traceback(make_window, qtbot, monkeypatch, capfd):
    def broken() -> None:
        raise OSError("mnist.npz: the disk is on fire\nand a second line")

    monkeypatch.setattr(main_window.MainWindow, "_preload_data", staticmethod(broken))
    win = make_window()
    qtbot.waitUntil(lambda: "disk is on fire" in win.statusBar().currentMessage(), timeout=WAIT_MS)
    shown = win.statusBar().currentMessage()
    assert shown == "Background task failed: preload: OSError: mnist.npz: the disk is on fire"
    err = capfd.readouterr().err
    assert "Traceback" not in err and "disk is on fire" not in err, err


@needs_weights
def test_missing_mnist_while_preloading_is_left_to_training_to_report(make_window, qtbot, monkeypatch, capfd):
    def missing() -> None:
        raise CnndeskError("MNIST is not there")

    monkeypatch.setattr(main_window.engine, "load_mnist", missing)
    win = make_window()
    assert win.wait_for_preload(timeout=10)
    qtbot.wait(50)  # deliver whatever the preload posted
    assert win._preload_task.status == "done"
    assert "MNIST" not in win.statusBar().currentMessage()
    assert "Traceback" not in capfd.readouterr().err
