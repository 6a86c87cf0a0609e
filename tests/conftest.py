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


@pytest.fixture
def markers(tmp_path, monkeypatch) -> Path:
    """A private folder for the markers of runs in progress (cnndesk.runs)."""
    from cnndesk import runs

    folder = tmp_path / "active-runs"
    monkeypatch.setattr(runs, "markers_dir", lambda: folder)
    return folder


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has ended: what a crashed cnndesk leaves in its marker."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid
