"""Shared test setup: headless Qt, and a throwaway user data folder for the whole session."""

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

_data_dir = tempfile.mkdtemp(prefix="cnndesk-tests-")
os.environ["CNNDESK_DATA_DIR"] = _data_dir
atexit.register(shutil.rmtree, _data_dir, ignore_errors=True)
# The window's remembered settings (cnndesk.ui.settings): never the developer's own. Each test gets a file of its
# own as well (isolated_settings), so that no test opens a window as another one left it.
os.environ["CNNDESK_SETTINGS"] = str(Path(_data_dir) / "settings.ini")


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory, monkeypatch) -> Path:
    """This test's settings file (CNNDESK_SETTINGS), in a folder of its own: every window opens as at first launch."""
    path = tmp_path_factory.mktemp("settings") / "cnndesk.ini"
    monkeypatch.setenv("CNNDESK_SETTINGS", str(path))
    return path


@pytest.fixture
def markers(tmp_path, monkeypatch) -> Path:
    """A private folder for the markers of runs in progress (cnndesk.session.markers)."""
    from cnndesk.session import markers as run_markers

    folder = tmp_path / "active-runs"
    monkeypatch.setattr(run_markers, "markers_dir", lambda: folder)
    return folder


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has ended: what a crashed cnndesk leaves in its marker."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.fixture
def bundled_accuracy():
    """``bundled_accuracy(name)``: the MNIST test accuracy a bundled model's checkpoint records (what the window
    shows for it), so that tests follow a re-bundled model instead of a number written into them."""
    from cnndesk.engine.checkpoint import read_metadata
    from cnndesk.locations import pretrained_path

    return lambda name: float(read_metadata(pretrained_path(name))["metrics"]["test_accuracy"])
