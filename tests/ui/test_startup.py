"""Start-up in two steps: the window shows before PyTorch has loaded, then completes itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import cnndesk.ui.main_window as main_window
from cnndesk.errors import CnndeskError
from cnndesk.locations import pretrained_path
from cnndesk.ui import MainWindow

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")


def test_the_window_and_its_views_import_without_pytorch():
    """What the first window needs is Qt and NumPy only: PyTorch (1–2 s) loads once it shows."""
    code = (
        "import sys\n"
        "import cnndesk.ui.main_window, cnndesk.engine\n"
        "from cnndesk.engine import preprocess, Preprocessed, CnndeskError\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
        "from cnndesk.engine import build_model\n"
        "assert 'torch' in sys.modules\n"
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def shell(make_window):
    """The window as the app first shows it: the Qt half, PyTorch not yet asked for."""
    return make_window(load_engine=False)


def test_drawing_before_the_model_loads_is_predicted_once_it_has(shell, stroke, qtbot):
    assert not shell.engine_ready
    assert not shell.trainAction.isEnabled() and not shell.saveAction.isEnabled()
    assert shell.bottomTabs.count() == 1 and "Loading" in shell.bottomTabs.widget(0).text()

    stroke(shell.canvas, [(140, 40), (140, 240)])  # a "1", drawn while PyTorch loads
    qtbot.wait(50)
    assert shell.predictions_made == 0
    assert shell.predictionLabel.text() == "Loading…"
    canvas_at = shell.canvas.geometry(), shell.canvas.mapTo(shell, shell.canvas.rect().topLeft())

    with qtbot.waitSignal(shell.engineReady, timeout=30000):
        shell.start_loading()
    assert shell.engine_ready
    assert shell.predictionLabel.text().startswith("1")
    qtbot.wait(50)  # the layout settles
    assert (shell.canvas.geometry(), shell.canvas.mapTo(shell, shell.canvas.rect().topLeft())) == canvas_at, \
        "the canvas moved when the window completed"
    assert shell.trainAction.isEnabled() and shell.saveAction.isEnabled()
    assert [shell.bottomTabs.tabText(i) for i in range(shell.bottomTabs.count())] == ["Training", "Experiments",
                                                                                   "My digits"]
    assert not shell.bundledMenu.isEmpty()
    assert shell.activations.graphics.isVisible()


def test_the_window_starts_with_the_bundled_model_that_reads_drawings_best(make_window, stroke, qtbot):
    from cnndesk.locations import STARTING_MODEL

    window = make_window(checkpoint=None)  # as the app starts: no checkpoint named
    current = window.session.model
    assert current.name == STARTING_MODEL == "cnn3-bn" and current.bundled
    assert current.path == pretrained_path(STARTING_MODEL)
    assert STARTING_MODEL in window.windowTitle()
    stroke(window.canvas, [(140, 40), (140, 240)])
    qtbot.waitUntil(lambda: window.predictionLabel.text().startswith("1"), timeout=5000)


def test_a_broken_pytorch_install_is_reported_and_drawing_still_works(shell, stroke, qtbot, monkeypatch):
    def broken() -> None:
        raise ImportError("libtorch_cpu.so: cannot open shared object file")

    monkeypatch.setattr(main_window, "import_engine", broken)
    shell.start_loading()
    qtbot.waitUntil(lambda: "could not load PyTorch" in shell.statusBar().currentMessage(), timeout=10000)
    assert "libtorch_cpu.so" in shell.statusBar().currentMessage()
    assert shell.predictionLabel.text() == "No model"
    assert not shell.engine_ready and not shell.trainAction.isEnabled()
    stroke(shell.canvas, [(140, 40), (140, 240)])
    assert not shell.canvas.is_empty()


def test_closing_while_loading_waits_for_the_import_and_builds_nothing(qtbot):
    win = MainWindow(load_engine=False)
    qtbot.addWidget(win)
    win.show()
    win.start_loading()
    win.close()  # waits for the import task
    assert win._import_task.done() and win.tasks.is_idle()
    qtbot.wait(50)  # the queued "loaded" is delivered now, to a closed window
    assert not win.engine_ready


def test_gui_self_test_reports_start_up_and_the_other_gui_rows():
    """`cnndesk gui --self-test` (the GUI half of `cnndesk bench`) runs the app as it starts and reports."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    # A wrapper whose only child is the self-test: its RUSAGE_CHILDREN peak is the self-test's own, measured by
    # the kernel, to check the report's figure against.
    wrapper = ("import resource, subprocess, sys; "
               "done = subprocess.run([sys.executable, '-m', 'cnndesk', 'gui', '--self-test', '--train-samples', "
               "'4096'], capture_output=True, text=True); "
               "sys.stderr.write(done.stderr); print(done.stdout.strip().splitlines()[-1] if done.stdout else ''); "
               "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(done.returncode)")
    done = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, env=env, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    report_line, kernel_peak_kib = done.stdout.strip().splitlines()[-2:]
    report = json.loads(report_line)
    assert 0 < report["visible_s"] < report["ready_s"]
    assert report["draw_idle_median_ms"] > 0 and report["draw_idle_p95_ms"] >= report["draw_idle_median_ms"]
    assert report["gui_train_samples_per_s"] > 0 and report["train_samples"] == 4096
    # A click on a cell until the explainer has repainted, and drawing with the saliency map in front.
    assert 0 < report["explain_click_median_ms"] <= report["explain_click_p95_ms"] < 500  # 500: the paint timeout
    assert report["draw_saliency_idle_p95_ms"] > 0 and report["draw_saliency_training_p95_ms"] > 0
    # The timer it watches ticks every 5 ms: no gap between two ticks can be much shorter.
    assert report["timer_gap_p99_ms"] >= 4.0
    # The memory figure is the process's real peak, in MB (a unit or a process mixed up is off by 1000x or more).
    assert report["peak_rss_mb"] == pytest.approx(int(kernel_peak_kib) / 1024, rel=0.05)


def test_without_a_display_the_app_says_so_in_one_line():
    """Qt alone would abort with a page about platform plugins and 'reinstalling the application'."""
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "cnndesk"], capture_output=True, text=True, env=env, timeout=60,
                          check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("cnndesk: error: There is no display"), done.stderr


# -- the libraries Qt's X11 plugin needs ------------------------------------------------------------------------
@pytest.fixture
def x11_session(monkeypatch):
    """The environment in which Qt would load its X11 plugin: a DISPLAY, no platform named, no Wayland."""
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)


@pytest.mark.skipif(not shutil.which("gcc"), reason="needs a C compiler to build a plugin with a missing library")
def test_a_platform_plugin_whose_library_is_missing_is_named_in_one_sentence(tmp_path, x11_session):
    """A stand-in for libqxcb.so, linked against a library that is then removed: what a bare machine looks like."""
    from cnndesk.ui.app import missing_libraries, require_platform_libraries

    (tmp_path / "missing.c").write_text("int cnndesk_missing(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int cnndesk_missing(void);\nint plugin(void) { return cnndesk_missing(); }\n")
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", tmp_path / "libcnndesk-missing.so.1",
                    "-Wl,-soname,libcnndesk-missing.so.1", tmp_path / "missing.c"], check=True)
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", tmp_path / "libqxcb.so", tmp_path / "plugin.c",
                    tmp_path / "libcnndesk-missing.so.1"], check=True)
    (tmp_path / "libcnndesk-missing.so.1").unlink()
    assert missing_libraries(tmp_path / "libqxcb.so") == ["libcnndesk-missing.so.1"]
    with pytest.raises(CnndeskError, match=r"^The window cannot open: Qt's X11 plugin needs libcnndesk-missing\.so\.1, "
                                           r"which this system lacks; install the package that provides it\.$"):
        require_platform_libraries(tmp_path / "libqxcb.so")


def test_missing_x11_libraries_come_with_the_apt_get_line_for_them(x11_session, monkeypatch):
    import cnndesk.ui.app as app

    monkeypatch.setattr(app, "missing_libraries", lambda plugin: ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"])
    with pytest.raises(CnndeskError, match=r"needs libxcb-icccm\.so\.4, libxcb-keysyms\.so\.1, which this system "
                                           r"lacks; install them \(Debian/Ubuntu\): sudo apt-get install "
                                           r"libxcb-icccm4 libxcb-keysyms1\.$"):
        app.require_platform_libraries(Path(app.__file__))  # (any file that exists)
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")  # another platform: nothing to check
    app.require_platform_libraries(Path(app.__file__))


def test_qts_x11_plugin_loads_here_and_the_readme_and_ci_install_all_it_needs():
    from cnndesk.ui.app import XCB_PACKAGES, missing_libraries, xcb_plugin_path

    assert missing_libraries(xcb_plugin_path()) == []  # (.ci/run installs the README's list first)
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.split("<!-- apt-packages -->", 1)[1].splitlines() if "apt-get install" in line)
    assert set(XCB_PACKAGES.values()) <= set(line.split("apt-get install", 1)[1].split())
    assert "<!-- apt-packages -->" in (Path(__file__).parents[2] / ".ci" / "run").read_text(encoding="utf-8")
