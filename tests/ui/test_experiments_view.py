"""The Experiments tab: a queue of runs trained one after another through the window's runner, compared."""

from __future__ import annotations

import csv

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QFileDialog

from cnndesk.engine import TrainConfig
from cnndesk.ui.experiments import LEGEND_MAX_RUNS


def tiny(model: str, activation: str | None = None, images: int = 256, epochs: int = 1) -> TrainConfig:
    config = TrainConfig.for_model(model, epochs=epochs, train_samples=images, batch_size=64, test_samples=500,
                                   device="cpu")
    config.augment = False
    if activation:
        config.model_options = {"activation": activation}
    return config


def click(qtbot, button) -> None:
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def test_a_queue_trains_its_runs_in_turn_and_compares_them(window, qtbot, tmp_path, monkeypatch):
    view, panel = window.experiments, window.trainingPanel
    window.bottomTabs.setCurrentWidget(view)
    view.add_configs([tiny("lenet5"), tiny("mlp", "tanh")])
    assert view.queueList.count() == 2 and "mlp · tanh" in view.queueList.item(1).text()
    train_enabled_while_running = []
    window.runner.runningChanged.connect(lambda _: train_enabled_while_running.append(panel.trainButton.isEnabled()))

    click(qtbot, view.runQueueButton)
    assert view.is_active() and window.runner.is_running()
    assert not panel.trainButton.isEnabled() and not view.runQueueButton.isEnabled()
    assert view.stopQueueButton.isEnabled()
    qtbot.waitUntil(lambda: not view.is_active(), timeout=120000)

    # Train stayed disabled from the first run to the last, gap between the runs included.
    assert train_enabled_while_running[:-1] and not any(train_enabled_while_running[:-1])
    assert panel.trainButton.isEnabled() and not window.runner.is_running()
    assert view.queueList.count() == 0 and "Queue done: 2 run(s)" in view.statusLabel.text()
    rows = view.rows()
    assert [(r.model, r.options["activation"]) for r in rows] == [("lenet5", "relu"), ("mlp", "tanh")]
    assert [r.params for r in rows] == [61706, 79510]
    for row in rows:
        assert 0 <= row.test_accuracy <= 1 and 0 <= row.train_accuracy <= 1
        assert row.epochs == 1 and not row.stopped and row.train_seconds > 0
    table = view.table.model()
    assert table.rowCount() == 2 and table.index(1, 1).data() == "mlp"
    # One curve per run in each plot: a test-accuracy point per epoch, a smoothed loss point per batch.
    accuracy = view.accuracyPlot.getPlotItem().listDataItems()
    losses = view.lossPlot.getPlotItem().listDataItems()
    assert [len(item.xData) for item in accuracy] == [1, 1]
    assert [len(item.xData) for item in losses] == [4, 4]  # 256 images / batch 64
    assert losses[0].xData[-1] == 1.0  # x is in epochs, so runs of different batch sizes line up
    assert "lenet5" in accuracy[0].name() and "mlp · tanh" in accuracy[1].name()  # the legend names the runs
    # The last run's model is the current one, as after a Train click.
    assert window.predictor.model.name == "mlp"

    # Sorted by test accuracy, best first; the export follows the table as shown.
    view.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    best_first = sorted(rows, key=lambda r: r.test_accuracy, reverse=True)
    assert view.rows() == best_first
    path = view.export_csv_to(tmp_path / "runs.csv")
    assert path is not None
    with path.open(newline="") as handle:
        exported = list(csv.DictReader(handle))
    assert [r["model"] for r in exported] == [r.model for r in best_first]
    assert {"test_accuracy", "train_accuracy", "train_seconds", "params", "options"} <= set(exported[0])
    assert float(exported[0]["test_accuracy"]) == best_first[0].test_accuracy

    # Ctrl+E (File menu) asks where, then writes there; it works from the Training tab too.
    target = tmp_path / "chosen.csv"
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *args, **kwargs: (str(target), ""))
    assert view.exportAction in window.fileMenu.actions()
    window.bottomTabs.setCurrentWidget(panel)
    window.canvas.setFocus()
    QTest.keyClick(window.canvas, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert target.exists() and len(target.read_text().splitlines()) == 3

    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert view.export_csv_to(blocker / "runs.csv") is None
    assert "Cannot write" in view.statusLabel.text() and "Cannot write" in window.statusBar().currentMessage()

    click(qtbot, view.clearResultsButton)
    assert view.rows() == [] and view.lossPlot.getPlotItem().listDataItems() == []
    assert not view.exportButton.isEnabled()


def test_stop_ends_the_queue_and_keeps_the_rest_queued(window, qtbot):
    view = window.experiments
    view.add_configs([tiny("lenet5", images=30000, epochs=3), tiny("mlp")])
    with qtbot.waitSignal(window.runner.metrics, timeout=30000):
        click(qtbot, view.runQueueButton)
    assert "Run 1/2" in view.statusLabel.text()
    click(qtbot, view.stopQueueButton)
    qtbot.waitUntil(lambda: not view.is_active(), timeout=60000)
    qtbot.wait(100)  # nothing may start after the stop
    assert not window.runner.is_running()
    # Stopped inside its first epoch, the run saved nothing: it has no row and waits at the head of the queue.
    assert view.rows() == [] and view.runs() == []
    assert [c.model for c in view.pending()] == ["lenet5", "mlp"] and view.queueList.count() == 2
    assert "2 still queued" in view.statusLabel.text()
    assert window.trainingPanel.trainButton.isEnabled() and view.runQueueButton.isEnabled()


def test_a_train_click_and_a_queue_never_run_at_once(window, qtbot):
    view, panel = window.experiments, window.trainingPanel
    view.add_configs([tiny("mlp")])
    panel.samplesSpin.setValue(30000)
    with qtbot.waitSignal(window.runner.metrics, timeout=30000):
        click(qtbot, panel.trainButton)
    assert not view.runQueueButton.isEnabled()
    view.run_queue()  # refused, with a reason
    assert not view.is_active() and "in progress" in view.statusLabel.text()
    with qtbot.waitSignal(window.runner.finished, timeout=30000):
        window.runner.stop()
    qtbot.waitUntil(lambda: not window.runner.is_running(), timeout=10000)
    assert view.runQueueButton.isEnabled() and view.rows() == []  # a Train run is not an experiment row


def test_presets_queue_the_tutorials_comparisons_from_the_training_form(window, qtbot):
    view, panel = window.experiments, window.trainingPanel
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData("net2"))
    panel.epochsSpin.setValue(2)
    panel.samplesSpin.setValue(1000)
    view.presetActions["activations"].trigger()
    assert [(c.model, c.model_options["activation"]) for c in view.pending()] == [
        ("net2", "relu"), ("net2", "tanh"), ("net2", "sigmoid"), ("net2", "leakyrelu")]
    assert all(c.epochs == 2 and c.train_samples == 1000 for c in view.pending())
    view.presetActions["cnn-vs-mlp"].trigger()
    assert [c.model for c in view.pending()[4:]] == ["lenet5", "cnn2", "mlp"]
    assert view.queueList.item(5).text() == "cnn2 · relu — 2 epochs, 1,000 images"
    click(qtbot, view.addCurrentButton)
    assert view.pending()[-1].model == "net2" and view.queueList.count() == 8

    view.queueList.item(0).setSelected(True)
    view.queueList.item(1).setSelected(True)
    click(qtbot, view.removeButton)
    assert [c.model_options.get("activation") for c in view.pending()[:2]] == ["sigmoid", "leakyrelu"]
    click(qtbot, view.clearQueueButton)
    assert view.pending() == [] and view.queueList.count() == 0 and not view.runQueueButton.isEnabled()


def test_closing_the_window_mid_queue_joins_the_thread_and_starts_nothing(qtbot):
    from cnndesk.ui import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    win.experiments.add_configs([tiny("lenet5", images=30000, epochs=3), tiny("mlp")])
    with qtbot.waitSignal(win.runner.metrics, timeout=30000):
        win.experiments.run_queue()
    win.close()
    assert not win.runner.is_running()
    qtbot.wait(200)
    assert not win.runner.is_running() and not win.experiments.is_active()


def test_closing_the_window_between_two_runs_starts_no_next_run(qtbot):
    from cnndesk.ui import MainWindow

    win = MainWindow()
    qtbot.addWidget(win)
    win.show()
    # The second run is long enough that closing stops it inside its first epoch, if it has started at all.
    win.experiments.add_configs([tiny("mlp"), tiny("mlp", "tanh", images=30000, epochs=3)])
    closed = []

    def close_once(_outcome) -> None:  # the first run has ended, the second is about to start
        if not closed:
            closed.append(True)
            win.close()

    win.runner.finished.connect(close_once)
    win.experiments.run_queue()
    qtbot.waitUntil(lambda: bool(closed), timeout=60000)
    qtbot.wait(200)
    assert not win.runner.is_running() and not win.experiments.is_active()
    assert [c.model_options["activation"] for c in win.experiments.pending()] == ["tanh"]


def test_many_runs_drop_the_legend_and_selected_rows_pick_out_their_curves(window, qtbot):
    view = window.experiments
    view.add_configs([tiny(model, images=128) for model in ("mlp", "net2", "mlp", "net2", "mlp")])
    legend_shown = {}  # runs in the plots -> legend visible, as each run starts
    window.runner.started.connect(lambda *_: legend_shown.setdefault(len(view.runs()), view.legend.isVisible()))
    click(qtbot, view.runQueueButton)
    qtbot.waitUntil(lambda: not view.is_active(), timeout=120000)
    runs = view.runs()
    assert len(runs) == 5
    # Every row's text fits its column (a narrow table scrolls rather than cutting "tanh, lr 0.01" to "t…").
    assert all(view.table.columnWidth(c) >= view.table.sizeHintForColumn(c) for c in range(3))
    # Each run named in the plot while the names fit; beyond that they would cover the curves: the table names them.
    assert legend_shown == {n: n <= LEGEND_MAX_RUNS for n in range(1, 6)}
    assert not view.legend.isVisible()

    def pens(run):
        return [curve.opts["pen"] for curve in (run.accuracy.item, run.loss.item)]

    assert all(p.widthF() == pens(runs[0])[0].widthF() and p.color().alpha() == 255 for r in runs for p in pens(r))
    view.table.sortByColumn(5, Qt.SortOrder.DescendingOrder)
    view.table.selectRow(0)  # the best test accuracy
    best = max(runs, key=lambda r: r.row.test_accuracy)
    assert view.selected_runs() == [best]
    for run in runs:
        for pen in pens(run):
            if run is best:
                assert pen.color().alpha() == 255 and pen.widthF() > 2
            else:
                assert pen.color().alpha() < 255 and pen.widthF() < 2
    assert best.accuracy.item.zValue() > runs[0 if best is not runs[0] else 1].accuracy.item.zValue()

    view.table.clearSelection()
    assert all(p.color().alpha() == 255 and p.widthF() == 2 for r in runs for p in pens(r))
