"""Regression: PySide6 6.12.0 on Python 3.11 aborts ("Fatal Python error: bool_dealloc") after a few hundred
Signal.emit() calls. cnndesk pins below it; this test emits many thousands of signals from a worker thread,
as the training bridge does, and would crash the test process on an affected build."""

from __future__ import annotations

from PySide6.QtCore import QObject, QThread, Signal, Slot

EMITS = 20000


class Emitter(QObject):
    payload = Signal(object)
    flag = Signal(bool)
    done = Signal()

    @Slot()
    def run(self) -> None:
        for i in range(EMITS):
            self.payload.emit((i, i % 2 == 0, {"loss": 0.5}))
            self.flag.emit(i % 2 == 0)
        self.done.emit()


class Receiver(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.payloads = 0
        self.trues = 0

    @Slot(object)
    def on_payload(self, value) -> None:
        self.payloads += 1

    @Slot(bool)
    def on_flag(self, value: bool) -> None:
        self.trues += bool(value)


def test_many_signals_from_a_worker_thread_arrive(qtbot):
    thread = QThread()
    emitter, receiver = Emitter(), Receiver()
    emitter.moveToThread(thread)
    emitter.payload.connect(receiver.on_payload)
    emitter.flag.connect(receiver.on_flag)
    emitter.done.connect(thread.quit)
    thread.started.connect(emitter.run)
    with qtbot.waitSignal(thread.finished, timeout=60000):
        thread.start()
    qtbot.waitUntil(lambda: receiver.payloads == EMITS, timeout=30000)
    assert receiver.trues == EMITS // 2
    assert thread.wait(5000)


def test_garbage_is_collected_on_the_gui_thread_only(window, qtbot):
    """Cyclic garbage holding Qt objects, collected in the training thread, deadlocked the suite: automatic
    collection is off once a window exists, and the GUI thread collects on a timer."""
    import gc
    import threading

    assert not gc.isenabled()
    threads = []

    class Cycle:
        def __init__(self):
            self.me = self
            self.qt = QObject()

        def __del__(self):
            threads.append(threading.current_thread())

    Cycle()  # garbage at once, but only the cyclic collector can free it
    # Live containers past the threshold at which the timer collects (the count is allocations minus frees).
    kept = [[] for _ in range(2 * gc.get_threshold()[0])]
    qtbot.waitUntil(lambda: bool(threads), timeout=5000)
    del kept
    assert threads == [threading.main_thread()]
