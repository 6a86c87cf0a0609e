"""Faults: `cnndesk train` killed with SIGKILL (at random, and while its checkpoint is written), and a disk that
fills up during a save. The file at --out is always the previous checkpoint or a complete new one.

The injections live in scripts/faults.py (its long run: `python scripts/faults.py --kills 200`); these tests run
a handful of them. Each child is a real `cnndesk train` process (500 test images, one thread).
"""

from __future__ import annotations

import importlib.util
import random
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from cnndesk import cli
from cnndesk.engine import checkpoint, load_model, read_metadata
from cnndesk.session.runs import saved_runs

_spec = importlib.util.spec_from_file_location("cnndesk_faults", Path(__file__).parents[2] / "scripts" / "faults.py")
faults = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = faults  # (dataclasses look their module up)
_spec.loader.exec_module(faults)


@pytest.fixture(scope="module")
def previous_checkpoint(tmp_path_factory, mnist) -> Path:
    """What --out holds before each run: a resumable run of the same settings (seed 1) after its first epoch."""
    return faults.make_previous_checkpoint(tmp_path_factory.mktemp("previous") / "previous.safetensors")


@pytest.fixture
def out(tmp_path, previous_checkpoint) -> Path:
    folder = tmp_path / "runs"
    folder.mkdir()
    return Path(shutil.copyfile(previous_checkpoint, folder / "run.safetensors"))


HELD = {"write": 1, "rename": 1, "replaced": 2}  # where each kill lands: the phase of the N-th checkpoint write


@pytest.fixture(scope="module")
def held_kills(tmp_path_factory, previous_checkpoint) -> dict[str, tuple[Path, object]]:
    """`cnndesk train --out RUN` over the previous checkpoint, SIGKILLed with its first checkpoint half written
    ("write"), written but not yet renamed over RUN ("rename"), and right after its second was renamed
    ("replaced"). The three children run side by side. Phase → (RUN, what check_after_kill found)."""
    started = {}
    for phase, save in HELD.items():
        folder = tmp_path_factory.mktemp(phase)
        (folder / "runs").mkdir()
        out = Path(shutil.copyfile(previous_checkpoint, folder / "runs" / "run.safetensors"))
        signal_file = folder / "hold.signal"
        started[phase] = out, signal_file, faults.start_train(out, faults.FaultSpec(str(out), phase, save,
                                                                                    str(signal_file)))
    results = {}
    try:
        for phase, (out, signal_file, child) in started.items():
            kill = faults.kill_when(child, signal_file)
            assert kill.killed, kill.stderr
            results[phase] = out, faults.check_after_kill(out, previous_checkpoint.read_bytes())
    finally:
        for _, _, child in started.values():  # none left holding (or training) if one of them failed
            if child.poll() is None:
                child.kill()
            if not child.stderr.closed:  # (kill_when did not get to it)
                child.communicate()
    return results


@pytest.mark.parametrize("phase", ["write", "rename"])
def test_a_kill_before_the_rename_leaves_the_previous_checkpoint(held_kills, phase):
    """Killed with the new file half written, or whole but not yet renamed over --out: --out is untouched."""
    out, after = held_kills[phase]
    assert after.state == "previous" and after.loadable and after.epochs_saved == 1
    # What the kill leaves beside it: atomic_write's temp file, which nothing removes later (see the report)...
    assert list(after.leftovers.values()) == ["cnndesk-temp"]
    # ...but nothing reads it as a checkpoint: the list of saved runs shows the one file.
    assert [run.path.name for run in saved_runs(out.parent)] == ["run.safetensors"]


def test_a_kill_after_the_rename_leaves_the_new_checkpoint_and_resume_continues_it(held_kills):
    out, after = held_kills["replaced"]  # killed right after epoch 2 of the new run was written
    assert after.state == "new" and after.loadable and after.epochs_saved == 2
    assert not after.leftovers
    killed_epochs = read_metadata(out)["metrics"]["history"]

    status, result, stderr = faults.resume(out)
    assert status == 0, stderr
    assert result["status"] == "finished" and result["epochs"] == 3
    meta = read_metadata(out)
    assert meta["resume"]["epochs_completed"] == 3 and meta["training"]["seed"] == faults.NEW_SEED
    # It went on from epoch 2 (the killed run's first two epochs are kept as they were), not from the start.
    assert meta["metrics"]["history"][:2] == killed_epochs and len(meta["metrics"]["history"]) == 3


def test_a_kill_at_a_random_moment_leaves_a_loadable_checkpoint(out, previous_checkpoint):
    """One kill at a seeded moment of the run, its checkpoint written slowly (16 KB pieces) so that the moment can
    fall inside a write; the long run (scripts/faults.py) makes hundreds."""
    delay = random.Random(13).uniform(2.5, 6.0)  # after the imports: somewhere in the epochs and their saves
    child = faults.start_train(out, faults.FaultSpec(str(out), "slow"))
    faults.kill_when(child, delay=delay)
    after = faults.check_after_kill(out, previous_checkpoint.read_bytes())
    assert after.intact, after.problem
    assert set(after.leftovers.values()) <= {"cnndesk-temp", "write-probe", "safetensors-temp"}


def few_test_images(monkeypatch) -> None:
    """An in-process `cnndesk train` tests on 500 images (the children's setting)."""
    new_config = cli._new_train_config

    def config(args):
        made = new_config(args)
        made.test_samples = faults.TEST_SAMPLES
        return made

    monkeypatch.setattr(cli, "_new_train_config", config)


def test_a_full_disk_during_a_save_is_one_error_and_keeps_the_previous_file(out, previous_checkpoint, monkeypatch,
                                                                            capsys):
    """The first epoch's save fails with ENOSPC half-way through its temp file."""
    few_test_images(monkeypatch)
    fault = faults.FaultSpec(str(out), "enospc", save=1)
    monkeypatch.setattr(checkpoint, "atomic_write", faults.faulty_atomic_write(fault, checkpoint.atomic_write))
    status = cli.main(faults.train_arguments(out))
    err = capsys.readouterr().err
    assert status == 2
    errors = [line for line in err.splitlines() if line.startswith("cnndesk: error:")]
    assert errors == [f"cnndesk: error: Could not write {out}: No space left on device."]
    assert "Traceback" not in err
    assert out.read_bytes() == previous_checkpoint.read_bytes()
    load_model(out)
    assert [p.name for p in out.parent.iterdir()] == ["run.safetensors"]  # the half-written temp file is removed


def test_a_write_the_kernel_refuses_is_one_error_and_keeps_the_previous_file(out, previous_checkpoint, monkeypatch,
                                                                             capsys):
    """A real refusal: files may not grow past 256 KB (EFBIG, as a full disk gives ENOSPC), through safetensors'
    own writer."""
    few_test_images(monkeypatch)
    try:
        with faults.file_size_limit(256 << 10):
            status = cli.main(faults.train_arguments(out))
    finally:
        err = capsys.readouterr().err
        assert out.read_bytes() == previous_checkpoint.read_bytes()  # (whatever the error looked like)
        load_model(out)
        assert [p.name for p in out.parent.iterdir()] == ["run.safetensors"]
    assert status == 2 and "Traceback" not in err
    [error] = [line for line in err.splitlines() if line.startswith("cnndesk: error:")]
    assert error.startswith(f"cnndesk: error: Could not write {out}") and "File too large" in error


def test_the_long_run_documents_itself():
    done = subprocess.run([sys.executable, str(faults.SCRIPT), "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "--kills" in done.stdout and "kill -9" in done.stdout
