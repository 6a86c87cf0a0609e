#!/usr/bin/env python
"""Fault injection for cnndesk's checkpoints: `kill -9` of `cnndesk train` at random moments and while the
checkpoint is being written, and a disk that fills up in the middle of a save.

Each kill starts `cnndesk train --train-samples 512 --epochs 3 --out RUN` (500 test images, one thread) over a
previous checkpoint at RUN (a resumable run of the same settings, seed 1, stopped after its first epoch), kills it
with SIGKILL, then checks that

- RUN is either the previous checkpoint, byte for byte, or a complete new one (seed 0) that `load_model` reads;
- what is left beside RUN: cnndesk's own temp file (``.RUN.XXXX.tmp``, atomic_write), its write probe
  (``.RUN.XXXX.probe``, the check that the folder is writable) or safetensors' temp file (``.tmpXXXXXX``: the
  `save_file` of safetensors 0.8 writes its own temp file and renames it), and whether a later run removes it;
- every --resume-every kills, `cnndesk train --resume RUN` continues the run to its end.

Kills come in three kinds, drawn at random (seeded):

- random: SIGKILL after a delay drawn over the length of a whole run (calibrated first by one run);
- slow: the checkpoint is written in 16 KB pieces, 2 ms apart, so that random kills land inside writes;
- held: the run stops at one moment of its N-th save and is killed there: the temp file half written ("write"),
  written but not yet renamed over RUN ("rename"), or just renamed ("replaced").

`python scripts/faults.py --kills 200` is the long run; tests/engine/test_faults.py and tests/ui/test_faults_window.py
run a handful of the same injections (they import this file). `faults.py child -- ARGS` and `faults.py gui-child`
are the processes the kills are aimed at: `cnndesk ARGS`, and a window that trains, with the fault that the
CNNDESK_FAULT environment variable describes (JSON, see ``FaultSpec``).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

FAULT_VARIABLE = "CNNDESK_FAULT"
SCRIPT = Path(__file__).resolve()
REPOSITORY = SCRIPT.parents[1]

TRAIN_SAMPLES, EPOCHS, TEST_SAMPLES = 512, 3, 500
NEW_SEED, PREVIOUS_SEED = 0, 1  # the killed run's seed, and the previous checkpoint's: tells the two files apart
HOLD_PHASES = ("write", "rename", "replaced")
SLOW_CHUNK, SLOW_PAUSE = 16 << 10, 0.002
HOLD_SECONDS = 120.0  # a held child waits this long for its SIGKILL, then goes on (the test failed anyway)


@dataclass
class FaultSpec:
    """What the child process does to its checkpoint writes (CNNDESK_FAULT holds it as JSON).

    ``target``: the checkpoint file, or a folder (any checkpoint written in it: the window names its own file).
    ``phase``: "write", "rename", "replaced" (hold there, at the ``save``-th save, and touch ``signal``),
    "enospc" (that save fails with OSError(ENOSPC) after half the file), "slow" (every save in small pieces),
    or "" (no fault). ``test_samples``: new runs test on this many images (fast epochs).
    """

    target: str
    phase: str = ""
    save: int = 1
    signal: str = ""
    test_samples: int | None = TEST_SAMPLES

    def to_env(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_env(cls) -> FaultSpec | None:
        raw = os.environ.get(FAULT_VARIABLE)
        return cls(**json.loads(raw)) if raw else None


# -- the injections (in the child, or in a test's own process) ------------------------------------------------
def _half_written(tmp: Path) -> None:
    """Cut a written file to half its length: what a write interrupted (or refused) half-way leaves."""
    with open(tmp, "r+b") as handle:
        handle.truncate(tmp.stat().st_size // 2)


def _hold(spec: FaultSpec) -> None:
    Path(spec.signal).touch()
    time.sleep(HOLD_SECONDS)


def _rewrite_slowly(tmp: Path) -> None:
    data = tmp.read_bytes()
    with open(tmp, "wb") as handle:
        for start in range(0, len(data), SLOW_CHUNK):
            handle.write(data[start:start + SLOW_CHUNK])
            handle.flush()
            time.sleep(SLOW_PAUSE)


def faulty_atomic_write(spec: FaultSpec, original: Callable[[Path, Any], None]) -> Callable[[Path, Any], None]:
    """``checkpoint.atomic_write`` with ``spec``'s fault in the writes of its target (other files: untouched)."""
    target = Path(spec.target).resolve()
    saves = 0

    def atomic_write(path: Path, write: Any) -> None:
        nonlocal saves
        resolved = Path(path).resolve()
        if spec.phase == "" or (resolved != target and resolved.parent != target) or resolved.suffix != ".safetensors":
            return original(path, write)
        saves += 1
        if spec.phase == "slow":
            return original(path, lambda tmp: (write(tmp), _rewrite_slowly(tmp)))
        if saves != spec.save:
            return original(path, write)
        if spec.phase == "replaced":
            original(path, write)
            _hold(spec)
            return None

        def broken_write(tmp: Path) -> None:
            write(tmp)
            if spec.phase == "rename":
                _hold(spec)
                return
            _half_written(tmp)
            if spec.phase == "enospc":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp))
            _hold(spec)  # "write"

        return original(path, broken_write)

    return atomic_write


def install(spec: FaultSpec) -> None:
    """Put ``spec``'s fault into this process's checkpoint writes, and its test-image count into new runs."""
    from cnndesk import cli
    from cnndesk.engine import checkpoint

    checkpoint.atomic_write = faulty_atomic_write(spec, checkpoint.atomic_write)
    if spec.test_samples is not None:
        new_config = cli._new_train_config

        def fewer_test_images(args: argparse.Namespace) -> Any:
            config = new_config(args)
            config.test_samples = spec.test_samples
            return config

        cli._new_train_config = fewer_test_images


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Files this process writes may not grow past ``limit`` bytes (RLIMIT_FSIZE): a write past it fails with
    EFBIG in the kernel, as on a full disk it fails with ENOSPC, through whatever library writes. Main thread."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    previous = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel ends the process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, previous)


def child_main(argv: Sequence[str]) -> int:
    """`cnndesk ARGV` with CNNDESK_FAULT's fault."""
    spec = FaultSpec.from_env()
    if spec is not None:
        install(spec)
    from cnndesk.cli import main

    return main(list(argv))


def gui_child_main() -> int:
    """A window (offscreen) that trains LeNet5 on 256 images for 3 epochs, with CNNDESK_FAULT's fault."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    spec = FaultSpec.from_env()
    from cnndesk.ui import MainWindow
    from cnndesk.ui.app import make_application
    from cnndesk.ui.training_panel import TrainingPanel

    if spec is not None:
        from cnndesk.engine import checkpoint

        checkpoint.atomic_write = faulty_atomic_write(spec, checkpoint.atomic_write)
        form_config = TrainingPanel.config

        def fewer_test_images(panel: TrainingPanel) -> Any:
            config = form_config(panel)
            config.test_samples = spec.test_samples
            return config

        TrainingPanel.config = fewer_test_images  # type: ignore[method-assign]
    app = make_application()
    window = MainWindow()
    app.aboutToQuit.connect(window.shutdown)
    window.show()
    panel = window.trainingPanel
    panel.samplesSpin.setValue(256)
    panel.epochsSpin.setValue(3)
    panel.batchSpin.setValue(64)
    panel.trainButton.click()
    return app.exec()


# -- the parent's side: start, kill, check -------------------------------------------------------------------
def child_environment(fault: FaultSpec | None = None, **extra: str) -> dict[str, str]:
    """The environment of a child: this one's (its CNNDESK_DATA_DIR: MNIST read once), one intra-op thread (the
    epochs are tiny, and several children and tests share two cores), and the fault."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPOSITORY), **extra}
    env.pop(FAULT_VARIABLE, None)
    if fault is not None:
        env[FAULT_VARIABLE] = fault.to_env()
    return env


def train_arguments(out: Path, seed: int = NEW_SEED) -> list[str]:
    return ["train", "--train-samples", str(TRAIN_SAMPLES), "--epochs", str(EPOCHS), "--seed", str(seed),
            "--device", "cpu", "--out", str(out), "--json"]


def start_train(out: Path, fault: FaultSpec | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(SCRIPT), "child", "--", *train_arguments(out)],
                            env=child_environment(fault), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def start_gui(fault: FaultSpec, data_dir: Path, settings: Path) -> subprocess.Popen:
    env = child_environment(fault, CNNDESK_DATA_DIR=str(data_dir), CNNDESK_SETTINGS=str(settings),
                            QT_QPA_PLATFORM="offscreen")
    return subprocess.Popen([sys.executable, str(SCRIPT), "gui-child"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


@dataclass(frozen=True)
class Kill:
    killed: bool  # SIGKILL ended the child (False: it ended first, its run finished or failed)
    stderr: str  # what it wrote there


def kill_when(child: subprocess.Popen, signal_file: Path | None = None, delay: float = 0.0,
              timeout: float = 90.0) -> Kill:
    """SIGKILL ``child`` once ``signal_file`` exists (or after ``delay`` s); TimeoutError (and the child killed)
    if the file does not appear within ``timeout`` s."""
    deadline = time.monotonic() + (delay if signal_file is None else timeout)
    reached = signal_file is None
    while child.poll() is None and time.monotonic() < deadline:
        if signal_file is not None and signal_file.exists():
            reached = True
            break
        time.sleep(0.005)
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
    _, stderr = child.communicate()  # (and closes the pipe)
    text = stderr.decode(errors="replace") if stderr else ""
    if not reached and child.returncode == -signal.SIGKILL:
        raise TimeoutError(f"the child never reached {signal_file}: {text[-500:]}")
    return Kill(child.returncode == -signal.SIGKILL, text)


def make_previous_checkpoint(path: Path, test_samples: int = TEST_SAMPLES) -> Path:
    """A resumable run of the killed run's settings (seed 1), stopped after its first epoch: the file at --out
    before each kill."""
    from cnndesk.engine import TrainConfig, TrainingCallback, TrainingControl, fit

    class StopAfterFirstEpoch(TrainingCallback):
        def on_epoch_end(self, metrics: Any) -> None:
            control.stop()

    config = TrainConfig.for_model("lenet5", epochs=EPOCHS, train_samples=TRAIN_SAMPLES, test_samples=test_samples,
                                   seed=PREVIOUS_SEED, device="cpu")
    control = TrainingControl()
    fit(config, callbacks=[StopAfterFirstEpoch()], control=control, autosave_path=path)
    return path


def leftover_kind(name: str, checkpoint: str) -> str:
    """What a file beside the checkpoint is: a temp file of which writer, or something else."""
    if name.startswith(f".{checkpoint}.") and name.endswith(".tmp"):
        return "cnndesk-temp"  # checkpoint.atomic_write
    if name.startswith(f".{checkpoint}.") and name.endswith(".probe"):
        return "write-probe"  # session.runs._check_writable
    if name.startswith(".tmp") and len(name) == 10:
        return "safetensors-temp"  # safetensors' save_file writes its own temp file and renames it
    return "other"


@dataclass
class AfterKill:
    """The state of the checkpoint's folder after a kill."""

    state: str  # "previous" (byte for byte), "new" (a complete checkpoint of the killed run) or "broken"
    loadable: bool  # load_model reads it
    epochs_saved: int | None  # the resume point's epochs, None if unreadable
    leftovers: dict[str, str] = field(default_factory=dict)  # file name → leftover_kind
    problem: str = ""

    @property
    def intact(self) -> bool:
        return self.state in ("previous", "new") and self.loadable


def check_after_kill(out: Path, previous: bytes) -> AfterKill:
    from cnndesk.engine import CnndeskError, load_model, read_metadata

    leftovers = {p.name: leftover_kind(p.name, out.name) for p in out.parent.iterdir() if p.name != out.name}
    try:
        load_model(out)
        meta = read_metadata(out)
    except (CnndeskError, OSError) as exc:
        return AfterKill("broken", False, None, leftovers, str(exc))
    epochs = meta.get("resume", {}).get("epochs_completed")
    if out.read_bytes() == previous:
        return AfterKill("previous", True, epochs, leftovers)
    seed = meta.get("training", {}).get("seed")
    if seed != NEW_SEED:
        return AfterKill("broken", True, epochs, leftovers,
                         f"neither the previous file nor the killed run's (seed {seed})")
    return AfterKill("new", True, epochs, leftovers)


def resume(out: Path, timeout: float = 300.0) -> tuple[int, dict[str, Any] | None, str]:
    """`cnndesk train --resume OUT --json` (no fault): exit status, its JSON, its stderr."""
    done = subprocess.run([sys.executable, "-m", "cnndesk", "train", "--resume", str(out), "--json"],
                          env=child_environment(), capture_output=True, text=True, timeout=timeout)
    lines = done.stdout.strip().splitlines()
    return done.returncode, json.loads(lines[-1]) if lines else None, done.stderr


# -- the long run --------------------------------------------------------------------------------------------
def _plan(rng: random.Random) -> tuple[str, FaultSpec | None]:
    kind = rng.choices(["random", "slow", "held"], weights=[4, 2, 4])[0]
    if kind == "held":
        return f"held-{(phase := rng.choice(HOLD_PHASES))}", FaultSpec("", phase, rng.randint(1, EPOCHS + 1))
    return kind, FaultSpec("", "slow") if kind == "slow" else None


def long_run(kills: int, seed: int, resume_every: int, work: Path, log: Callable[[str], None]) -> dict[str, Any]:
    from cnndesk.engine import load_splits

    os.environ.setdefault("CNNDESK_DATA_DIR", str(work / "data"))
    load_splits("mnist")  # the children read the cache this writes
    folder = work / "runs"
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / "run.safetensors"
    previous_path = make_previous_checkpoint(work / "previous.safetensors")
    previous = previous_path.read_bytes()

    # Calibration: how long a whole run takes, plain and with slow writes (the random delays span it).
    lengths = {}
    for kind, fault in (("random", None), ("slow", FaultSpec(str(out), "slow"))):
        shutil.copyfile(previous_path, out)
        started = time.monotonic()
        child = start_train(out, fault)
        _, stderr = child.communicate(timeout=600)
        if child.returncode != 0:
            raise SystemExit(f"the calibration run failed:\n{stderr.decode(errors='replace')}")
        lengths[kind] = time.monotonic() - started
    log(f"a whole run: {lengths['random']:.1f} s ({lengths['slow']:.1f} s with slow writes)")

    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    states: Counter[str] = Counter()
    leftover_kinds: Counter[str] = Counter()
    seen_leftovers: set[str] = set()
    failures: list[str] = []
    resumes = Counter[str]()
    for number in range(1, kills + 1):
        kind, fault = _plan(rng)
        kinds[kind] += 1
        shutil.copyfile(previous_path, out)
        signal_file = work / "hold.signal"
        signal_file.unlink(missing_ok=True)
        if fault is not None:
            fault.target, fault.signal = str(out), str(signal_file)
        before = {p.name for p in folder.iterdir()}
        child = start_train(out, fault)
        if kind.startswith("held"):
            killed = kill_when(child, signal_file).killed
        else:
            killed = kill_when(child, delay=rng.uniform(0.2, lengths[kind])).killed
        counts["killed" if killed else "ended before the kill"] += 1
        after = check_after_kill(out, previous)
        states[after.state] += 1
        counts["loadable"] += after.loadable
        counts["intact"] += after.intact
        new = set(after.leftovers) - before
        for name in new:
            leftover_kinds[after.leftovers[name]] += 1
        counts["cleaned by a later run"] += len(seen_leftovers - set(after.leftovers))
        seen_leftovers = set(after.leftovers)
        if not after.intact:
            failures.append(f"kill {number} ({kind}): {after.state}: {after.problem}")
        line = f"kill {number:>4} {kind:<14} {after.state:<8} epochs {after.epochs_saved} " \
               f"{'loadable' if after.loadable else 'NOT LOADABLE'}" + (f"  left: {sorted(new)}" if new else "")
        if resume_every and number % resume_every == 0 and after.loadable:
            status, result, stderr = resume(out)
            if status == 0 and result and result["status"] == "finished" and result["epochs"] == EPOCHS:
                resumes["continued to the end"] += 1
                line += "  --resume: finished"
            elif status == 2 and "nothing left to resume" in stderr:
                resumes["already finished (nothing to resume)"] += 1
                line += "  --resume: already finished"
            else:
                resumes["failed"] += 1
                failures.append(f"kill {number}: --resume failed ({status}): {stderr.strip()[-300:]}")
                line += "  --resume: FAILED"
        log(line)
    return {
        "kills": kills, "seed": seed, "run_seconds": round(lengths["random"], 2), "kinds": dict(kinds),
        "killed": counts["killed"], "ended_before_the_kill": counts["ended before the kill"],
        "intact": counts["intact"], "loadable": counts["loadable"], "states": dict(states),
        "temp_files_left": sum(leftover_kinds.values()), "temp_files_by_kind": dict(leftover_kinds),
        "temp_files_left_at_the_end": sorted(p.name for p in folder.iterdir() if p.name != out.name),
        "cleaned_by_a_later_run": counts["cleaned by a later run"], "resumes": dict(resumes), "failures": failures,
    }


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        return child_main(argv[2:] if argv[1:2] == ["--"] else argv[1:])
    if argv[:1] == ["gui-child"]:
        return gui_child_main()
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kills", type=int, default=20, help="how many runs to kill (default 20)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the kinds of kill and their delays")
    parser.add_argument("--resume-every", type=int, default=10, metavar="N",
                        help="after every N-th kill, `cnndesk train --resume` the file (0: never)")
    parser.add_argument("--work", type=Path, help="a folder for the runs (default: a temporary one, removed)")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON object, last line")
    args = parser.parse_args(argv)
    work = args.work or Path(tempfile.mkdtemp(prefix="cnndesk-faults-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        figures = long_run(args.kills, args.seed, args.resume_every, work, lambda line: print(line, flush=True))
    finally:
        if args.work is None:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{figures['killed']} killed of {figures['kills']} ({figures['ended_before_the_kill']} ended first); "
          f"intact {figures['intact']}, loadable {figures['loadable']}; states {figures['states']}; "
          f"temp files left {figures['temp_files_left']} {figures['temp_files_by_kind']}, "
          f"{figures['cleaned_by_a_later_run']} removed by a later run; resumes {figures['resumes']}")
    for failure in figures["failures"]:
        print("FAILED:", failure)
    if args.json:
        print(json.dumps(figures))
    return 1 if figures["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
