"""The soak test's short variant (scripts/soak.py): the real window, offscreen, through random cycles of what users
do — draw, train, pause and stop, resume, open checkpoints, switch bundled models, queue experiments, close and
reopen — in a child process, every goal checked; and the soak's own detectors, which must see the faults they are
for. RSS growth is a goal of the long soak only (100 cycles): over a few cycles it is warm-up noise."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cnndesk.locations import pretrained_path

REPO = Path(__file__).resolve().parents[2]
SOAK = REPO / "scripts" / "soak.py"
EVERY_ACTION = {"draw", "train", "interrupt", "resume", "open_checkpoint", "bundled", "experiments", "reopen"}

pytestmark = pytest.mark.skipif(not pretrained_path().exists(), reason="bundled LeNet5 weights missing")


def run_soak(*args: str, timeout: float) -> tuple[subprocess.CompletedProcess, dict[str, Any]]:
    done = subprocess.run([sys.executable, str(SOAK), "--json", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=timeout, check=False)
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-4000:]
    return done, json.loads(lines[-1])


def test_a_short_soak_meets_every_goal():
    # ~30 s of CPU on a 2-core machine; the timeout leaves room for a busy one.
    done, report = run_soak("--cycles", "8", "--seed", "0", "--max-samples", "256", timeout=900)
    details = json.dumps({k: v for k, v in report.items() if k != "goals"}, indent=1)[:8000]
    try:
        assert report["cycles"] == 8 and report["crashes"] == 0 and report["hangs"] == 0, details
        assert report["exceptions"] == 0, details
        # Qt's warnings and criticals all count, but for QT_ALLOWED in the script (each with its reason).
        assert report["qt_warnings"] == 0 and report["qt_criticals"] == 0, details
        assert report["qthreads_running"] == 0 and report["threads_left"] == [], details
        assert report["temp_files_left"] == [], details
        assert report["runs_saved"] >= 3 and report["checkpoints_per_run"] == 1.0, details
        assert report["orphan_checkpoints"] == [] and report["missing_checkpoints"] == [], details
        assert report["runs"].get("failed", 0) == 0 and report["unexpected_error_messages"] == [], details
        assert report["windows_opened"] >= 2 and report["windows_leaked"] == 0, details
        assert report["checks_failed"] == [], details
        # Every kind of action ran, a resume of an interrupted run included (not skipped for want of one).
        assert set(report["actions"]) >= EVERY_ACTION, report["actions"]
        assert report["ok"] and done.returncode == 0, details
    finally:
        if report.get("folder"):
            shutil.rmtree(report["folder"], ignore_errors=True)


def test_the_soak_counts_every_fault_it_is_there_to_catch():
    """--self-check: cycle 0 raises in two slots and a thread, warns through Qt, leaves a temporary file and a
    checkpoint no run saved; cycle 1 aborts the process; cycle 2 hangs. Each is counted, and the soak goes on."""
    done, report = run_soak("--self-check", "--cycles", "4", "--hang-timeout", "5", timeout=300)
    try:
        assert done.returncode == 1 and not report["ok"]
        assert [(f["kind"], f["cycle"]) for f in report["failures"]] == [("crash", 1), ("hang", 2)]
        assert report["crashes"] == 1 and report["hangs"] == 1
        assert report["cycles"] == 2  # 0 and 3: a child started after the crash, another after the hang
        assert sorted(e["type"] for e in report["exception_samples"]) == ["RuntimeError", "ValueError", "ValueError"]
        assert report["exceptions"] == 3 and report["qt_warnings"] == 1
        assert [Path(p).name.startswith("injected-") for p in report["temp_files_left"]] == [True]
        assert report["orphan_checkpoints"] == ["orphan-2026-01-01-0000.safetensors"]
        missed = {goal for goal, met in report["goals"].items() if not met}
        assert missed == {"no crash or hang", "no Python exception", "no Qt warning", "no temporary file left",
                          "one checkpoint per run"}
        assert report["folder"] and Path(report["folder"]).is_dir()  # kept, to look into
    finally:
        if report.get("folder"):
            shutil.rmtree(report["folder"], ignore_errors=True)
