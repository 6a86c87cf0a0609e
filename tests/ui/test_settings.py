"""Remembered between launches (cnndesk.ui.settings): the window opens to fit the screen it is on, and what the user
set (geometry, splitters, tabs, brush, the training form) comes back in the next window.

Every test has a settings file of its own (tests/conftest.py: isolated_settings, through CNNDESK_SETTINGS). The
offscreen screen is 800×800: the tests that need another one replace ``settings.screen_area``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QSettings, QSize
from PySide6.QtWidgets import QApplication, QSplitter

from cnndesk.locations import pretrained_path
from cnndesk.ui import MainWindow
from cnndesk.ui import settings as window_settings

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")

LAPTOP = QRect(0, 0, 1280, 720)
BIG = QRect(0, 0, 3840, 2160)
ROOMY = QSize(1600, 1000)  # a window with room for its splitters to be where the user put them


@pytest.fixture
def screen(monkeypatch):
    """``screen(rect)``: from now on every screen offers this available area."""

    def use(area: QRect) -> QRect:
        monkeypatch.setattr(window_settings, "screen_area", lambda at=None: QRect(area))
        return area

    return use


@pytest.fixture
def big_monitor(screen, monkeypatch):
    """A 3840×2160 monitor, for a ROOMY window. The offscreen screen (800×800) is smaller than the window's own
    minimum, and Qt's restoreGeometry fits what it restores to the real screen: the restored window is resized back
    to ROOMY, as it would be on a monitor that big."""
    screen(BIG)
    original = MainWindow.restoreGeometry

    def restore(self: MainWindow, geometry) -> bool:
        restored = original(self, geometry)
        if restored:
            self.resize(ROOMY)
        return restored

    monkeypatch.setattr(MainWindow, "restoreGeometry", restore)


@pytest.fixture
def open_window(qtbot):
    """``open_window(**kwargs)``: a MainWindow shown as the app shows it (unlike make_window, no resize of its own)."""
    opened: list[MainWindow] = []

    def make(**kwargs) -> MainWindow:
        win = MainWindow(**kwargs)
        opened.append(win)
        qtbot.addWidget(win)
        win.show()
        qtbot.waitExposed(win)
        return win

    yield make
    for win in opened:
        win.close()


def store(path: Path) -> QSettings:
    return QSettings(str(path), QSettings.Format.IniFormat)


def splitter(win: MainWindow, name: str) -> QSplitter:
    found = win.findChild(QSplitter, name)
    assert found is not None, name
    return found


def close_enough(a: list[int], b: list[int], slack: int = 3) -> bool:
    return len(a) == len(b) and all(abs(x - y) <= slack for x, y in zip(a, b, strict=True))


# -- geometry -----------------------------------------------------------------------------------------------
def test_the_first_launch_fits_a_small_screen_whole_and_centred(open_window, screen):
    area = screen(LAPTOP)
    win = open_window(load_engine=False)
    frame = win.frameGeometry()
    assert area.contains(frame), f"the window {frame} overflows the screen {area}"
    assert win.width() >= 0.9 * area.width() and win.height() >= 0.85 * area.height(), "shrunk, not tiny"
    assert abs(frame.center().x() - area.center().x()) <= 2
    assert abs(frame.center().y() - area.center().y()) <= 25  # (room is left for a title bar above)


def test_the_window_still_fits_once_the_training_panel_is_in(open_window, screen, qtbot):
    """The panel's minimum height would otherwise grow the window past the bottom of a 720 px screen."""
    area = screen(LAPTOP)
    win = open_window(load_engine=False)
    with qtbot.waitSignal(win.engineReady, timeout=60000):
        win.start_loading()
    qtbot.wait(50)  # the layout settles
    assert area.contains(win.frameGeometry()), f"the window {win.frameGeometry()} overflows the screen {area}"


def test_the_first_launch_on_a_big_screen_is_1400_by_900_centred(open_window, screen):
    area = screen(QRect(0, 0, 1920, 1080))
    win = open_window(load_engine=False)
    assert win.size() == QSize(1400, 900)
    assert abs(win.frameGeometry().center().x() - area.center().x()) <= 2
    assert abs(win.frameGeometry().center().y() - area.center().y()) <= 25


def test_a_geometry_saved_on_a_big_monitor_is_brought_onto_a_smaller_one(open_window, screen, qtbot):
    screen(BIG)
    win = open_window(load_engine=False)
    win.resize(3000, 1900)
    win.move(2500, 1500)  # off the smaller screen altogether
    qtbot.wait(20)
    win.close()

    # Smaller than the offscreen screen and away from its corner: Qt's own check of the restored geometry (against
    # the real screen) does not do this on its own.
    area = screen(QRect(100, 50, 700, 500))
    again = open_window(load_engine=False)
    assert area.contains(again.frameGeometry()), f"the window {again.frameGeometry()} is not all on {area}"


def test_a_window_that_fits_opens_exactly_where_it_was(open_window, screen, qtbot):
    screen(QRect(0, 0, 800, 800))  # the offscreen screen itself: Qt's own check leaves the geometry alone
    win = open_window(load_engine=False)
    win.move(20, 30)  # (Qt itself nudges a restored window whose style's title bar would touch an edge)
    qtbot.wait(20)
    where = win.frameGeometry()
    win.close()
    for _ in range(2):  # and does not creep by a frame's width each launch
        again = open_window(load_engine=False)
        assert again.frameGeometry() == where
        again.close()


def test_a_maximised_window_opens_maximised(open_window, screen, qtbot):
    screen(BIG)
    win = open_window(load_engine=False)
    win.showMaximized()
    qtbot.waitUntil(win.isMaximized)
    win.close()

    area = screen(LAPTOP)
    again = open_window(load_engine=False)
    assert again.isMaximized()
    assert area.contains(again.normalGeometry()), "un-maximised, it would not fit"


# -- what the user set ---------------------------------------------------------------------------------------
def test_form_brush_splitters_and_tabs_survive_closing(open_window, big_monitor, qtbot):
    win = open_window()
    win.resize(ROOMY)
    panel = win.trainingPanel
    panel.modelCombo.setCurrentIndex(panel.modelCombo.findData("cnn3-bn"))
    panel.dropoutSpin.setValue(0.4)
    panel.epochsSpin.setValue(7)
    panel.samplesSpin.setValue(5000)
    panel.lrSpin.setValue(0.0123)
    panel.optimizerCombo.setCurrentIndex(panel.optimizerCombo.findData("sgd"))
    panel.deviceCombo.setCurrentIndex(panel.deviceCombo.findData("cpu"))
    panel.seedSpin.setValue(1234)
    panel.augmentCheck.setChecked(False)
    win.brushSlider.setValue(31)
    qtbot.wait(20)
    win.mainSplitter.setSizes([400, 550])  # the defaults: 560:340
    splitter(win, "topSplitter").setSizes([420, 250, 900])  # the defaults: 440:320:640
    win.inspectTabs.setCurrentIndex(1)
    win.bottomTabs.setCurrentIndex(1)
    qtbot.wait(20)
    form = panel.form_state()
    main_sizes, top_sizes = win.mainSplitter.sizes(), splitter(win, "topSplitter").sizes()
    win.close()

    again = open_window()
    assert again.trainingPanel.form_state() == form
    assert again.trainingPanel.modelCombo.currentData() == "cnn3-bn"
    assert again.trainingPanel.dropoutSpin.value() == pytest.approx(0.4)
    assert again.trainingPanel.epochsSpin.value() == 7 and again.trainingPanel.seedSpin.value() == 1234
    assert again.brushSlider.value() == 31 and again.canvas.brush_width == 31
    assert again.inspectTabs.currentIndex() == 1 and again.bottomTabs.currentIndex() == 1
    qtbot.wait(20)
    assert close_enough(again.mainSplitter.sizes(), main_sizes), (again.mainSplitter.sizes(), main_sizes)
    assert close_enough(splitter(again, "topSplitter").sizes(), top_sizes), \
        (splitter(again, "topSplitter").sizes(), top_sizes)


def test_the_restored_layout_holds_still_as_the_engine_arrives(open_window, big_monitor, stroke, qtbot):
    """Splitters restored in the first step; the panel, its form and the Experiments tab come in the second, and the
    canvas under the pen does not move."""
    win = open_window()
    win.resize(ROOMY)
    qtbot.wait(20)
    win.mainSplitter.setSizes([400, 550])
    win.bottomTabs.setCurrentIndex(1)
    win.trainingPanel.seedSpin.setValue(99)
    qtbot.wait(20)
    main_sizes = win.mainSplitter.sizes()
    win.close()

    shell = open_window(load_engine=False)
    qtbot.wait(20)
    assert close_enough(shell.mainSplitter.sizes(), main_sizes), (shell.mainSplitter.sizes(), main_sizes)
    stroke(shell.canvas, [(140, 40), (140, 240)])
    canvas_at = shell.canvas.geometry(), shell.canvas.mapTo(shell, shell.canvas.rect().topLeft())
    with qtbot.waitSignal(shell.engineReady, timeout=60000):
        shell.start_loading()
    qtbot.wait(50)  # the layout settles
    assert (shell.canvas.geometry(), shell.canvas.mapTo(shell, shell.canvas.rect().topLeft())) == canvas_at
    assert shell.bottomTabs.currentIndex() == 1, "the Experiments tab, chosen once it exists"
    assert shell.trainingPanel.seedSpin.value() == 99


def test_a_model_or_device_that_is_not_here_falls_back_to_the_default(make_window, isolated_settings, qtbot):
    from cnndesk.engine import available_devices
    from cnndesk.ui.training_panel import TrainingPanel

    absent = next(d for d in ("cuda", "mps", "xpu", "tpu") if d not in available_devices())
    saved = store(isolated_settings)
    saved.setValue(window_settings.TRAINING_FORM, json.dumps({
        "model": "alexnet-9000", "device": absent, "options": {"dropout": 0.5},  # its options are not lenet5's
        "epochs": 10**9, "lr": "fast", "augment": "yes", "batch": True, "seed": 42,
    }))
    saved.sync()

    win = make_window()
    fresh = TrainingPanel()
    qtbot.addWidget(fresh)
    # Everything the widgets cannot take keeps the default; the one valid value (the seed) still comes back.
    assert win.trainingPanel.form_state() == {**fresh.form_state(), "seed": 42}


def test_options_restore_only_where_the_model_takes_them_and_in_range(make_window, isolated_settings):
    saved = store(isolated_settings)
    saved.setValue(window_settings.TRAINING_FORM, json.dumps({
        "model": "resnet-mini", "options": {"pooling": "avg", "dropout": 2.0, "activation": "swish", "width": 2.0},
    }))
    saved.sync()
    panel = make_window().trainingPanel
    assert panel.modelCombo.currentData() == "resnet-mini"
    assert not panel.poolingCombo.isEnabled() and panel.poolingCombo.currentData() != "avg"  # it has no pooling
    assert panel.dropoutSpin.value() == 0.0 and panel.activationCombo.currentData() == "relu"  # out of range, unknown
    assert panel.widthSpin.value() == 2.0


@pytest.mark.parametrize("content", [
    bytes(range(256)) * 8,
    b"[window]\ngeometry=hello\nstate=1\nmainSplitter=42\ntopSplitter=@ByteArray(xyz)\nbottomTab=abc\n"
    b"inspectTab=99\n[canvas]\nbrushWidth=1e9\n[training]\nform={not json\n",
    b'[training]\nform="[1, 2, 3]"\n',
    b'[training]\nform="{\\"model\\": 5, \\"options\\": 7, \\"epochs\\": null, \\"lr\\": NaN}"\n',
], ids=["binary", "wrong-types", "form-not-a-dict", "form-wrong-values"])
def test_a_damaged_settings_file_opens_with_the_defaults(content, open_window, isolated_settings, screen, qtbot):
    from cnndesk.ui.training_panel import TrainingPanel

    area = screen(LAPTOP)
    isolated_settings.write_bytes(content)
    win = open_window()
    assert area.contains(win.frameGeometry())
    assert win.inspectTabs.currentIndex() == 0 and win.bottomTabs.currentIndex() == 0
    assert win.brushSlider.value() == round(win.canvas.brush_width)
    fresh = TrainingPanel()
    qtbot.addWidget(fresh)
    assert win.trainingPanel.form_state() == fresh.form_state()
    win.close()  # saving over it does not fail either


def test_settings_that_cannot_be_written_are_ignored(make_window, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(window_settings.SETTINGS_ENV, str(blocker / "cnndesk.ini"))
    win = make_window()
    win.brushSlider.setValue(30)
    win.close()  # no exception, no message box
    assert not (blocker / "cnndesk.ini").exists()


def test_quitting_with_the_window_open_saves_it_and_saving_again_changes_nothing(make_window, isolated_settings):
    win = make_window()
    win.brushSlider.setValue(29)
    win.trainingPanel.seedSpin.setValue(5)
    QApplication.instance().aboutToQuit.emit()  # as app.quit() does, before any closeEvent
    assert store(isolated_settings).value(window_settings.BRUSH_WIDTH) in (29, "29")
    assert json.loads(store(isolated_settings).value(window_settings.TRAINING_FORM))["seed"] == 5
    before = isolated_settings.read_bytes()
    win.close()  # saves once more: the same
    assert isolated_settings.read_bytes() == before


def test_without_the_variable_the_per_user_settings_of_cnndesk_are_used(monkeypatch, tmp_path):
    monkeypatch.delenv(window_settings.SETTINGS_ENV)
    user = window_settings.open_settings()
    assert (user.organizationName(), user.applicationName()) == ("cnndesk", "cnndesk")
    assert user.scope() == QSettings.Scope.UserScope and user.format() == QSettings.Format.NativeFormat

    monkeypatch.setenv(window_settings.SETTINGS_ENV, str(tmp_path / "portable.ini"))
    portable = window_settings.open_settings()
    assert portable.format() == QSettings.Format.IniFormat
    assert Path(portable.fileName()) == tmp_path / "portable.ini"
