"""Mutation spot checks of cnndesk's safety-critical code: each mutant must make a test fail.

Each mutant below breaks one rule the README promises (a checkpoint is never unpickled, writes are atomic, the
data and checkpoint checks hold, stop and close join the worker) by replacing one piece of code. The script copies
the working tree into a temporary folder, applies one mutant there (the working tree is never touched), runs the
tests named for it against the copy and counts the mutant *killed* when they fail. A mutant that survives is a
rule the tests do not hold: the script exits 1 and names it.

    python scripts/mutants.py            # every mutant (about 5 minutes on 2 cores)
    python scripts/mutants.py --list     # what each mutant breaks
    python scripts/mutants.py atomic-in-place pickle-fallback --json
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Mutant:
    name: str
    breaks: str  # the rule the mutant breaks, in words
    file: str  # relative to the repository
    original: str  # must occur exactly once in the file
    mutated: str
    tests: tuple[str, ...]  # pytest arguments: the tests that must catch it


MUTANTS = (
    Mutant("pickle-fallback", "a file safetensors cannot read is unpickled (torch.load, weights_only=False)",
           "cnndesk/engine/checkpoint.py",
           "    except (SafetensorError, OSError, ValueError):\n"
           "        raise CnndeskError(_not_safetensors(path)) from None\n    if raw is None:",
           "    except (SafetensorError, OSError, ValueError):\n"
           "        torch.load(open(path, 'rb'), weights_only=False)\n"
           "        raise CnndeskError(_not_safetensors(path)) from None\n    if raw is None:",
           ("tests/engine/test_checkpoint.py", "-k", "pickle")),
    Mutant("foreign-unpickled", "a torch.save file from elsewhere is unpickled in full (weights_only=False)",
           "cnndesk/engine/foreign.py",
           '            loaded = torch.load(file, map_location="cpu", weights_only=True)',
           '            loaded = torch.load(file, map_location="cpu", weights_only=False)',
           ("tests/engine/test_foreign.py", "-k", "run_code")),
    Mutant("weights-any-dtype", "integer or boolean weights load, quietly converted",
           "cnndesk/engine/checkpoint.py",
           "    if wanted.is_floating_point:\n        return stored in FLOAT_DTYPES",
           "    if wanted.is_floating_point:\n        return True",
           ("tests/engine/test_checkpoint.py",)),
    Mutant("weights-not-finite", "NaN or infinite weights load",
           "cnndesk/engine/checkpoint.py",
           "    broken = [key for key, value in state.items() if value.is_floating_point() and not "
           "torch.isfinite(value).all()]",
           "    broken = []",
           ("tests/engine/test_checkpoint.py",)),
    Mutant("shapes-unchecked", "a file's tensors are not checked against the architecture before loading",
           "cnndesk/engine/checkpoint.py",
           "            problem = _fit_problem(expected, stored)",
           "            problem = None",
           ("tests/engine/test_checkpoint.py",)),
    Mutant("header-types-unchecked", "a training record field of the wrong type is not refused on reading",
           "cnndesk/engine/resume.py",
           "    hints = typing.get_type_hints(TrainConfig)\n",
           "    return None\n    hints = typing.get_type_hints(TrainConfig)\n",
           ("tests/engine/test_checkpoint.py", "tests/engine/test_resume_validation.py")),
    Mutant("atomic-in-place", "a checkpoint is written in place: a failed write destroys the previous one",
           "cnndesk/engine/checkpoint.py",
           "        write(Path(tmp))",
           "        write(path)",
           ("tests/engine/test_checkpoint.py", "tests/engine/test_faults.py")),
    Mutant("atomic-temp-left", "a failed write leaves its temp file behind",
           "cnndesk/engine/checkpoint.py",
           "        Path(tmp).unlink(missing_ok=True)\n        raise",
           "        raise",
           ("tests/engine/test_checkpoint.py", "tests/engine/test_faults.py")),
    Mutant("write-error-escapes", "a refused write is not turned into one clear error",
           "cnndesk/engine/checkpoint.py",
           "    except OSError as exc:\n        raise CnndeskError(f\"Could not write {path}:",
           "    except ZeroDivisionError as exc:\n        raise CnndeskError(f\"Could not write {path}:",
           ("tests/engine/test_checkpoint.py", "tests/engine/test_faults.py")),
    Mutant("tensor-cache-unchecked", "the MNIST tensor cache is used without its checksum",
           "cnndesk/engine/data.py",
           "    if metadata.get(\"crc32\") != _checksum(tensors):",
           "    if False:",
           ("tests/engine/test_data.py",)),
    Mutant("idx-unchecked", "an unpacked MNIST file is used without its MD5",
           "cnndesk/engine/data.py",
           "        if _md5(partial) != md5:",
           "        if False:",
           ("tests/engine/test_data.py",)),
    Mutant("image-pixels-unbounded", "an image of any size is decoded",
           "cnndesk/engine/preprocess.py",
           "            if width * height > MAX_IMAGE_PIXELS:",
           "            if False:",
           ("tests/engine/test_preprocess.py",)),
    Mutant("data-folder-unchecked", "an unusable data folder is not refused before a write",
           "cnndesk/locations.py",
           "    problem = folder_problem(path)\n    if problem is not None:",
           "    problem = None\n    if problem is not None:",
           ("tests/engine/test_data_folder.py",)),
    Mutant("stop-ignored", "the training loop never sees a stop request",
           "cnndesk/engine/train.py",
           "        return self._stop.is_set()",
           "        return False",
           ("tests/engine/test_train.py", "-k", "stop")),
    Mutant("close-does-not-join", "closing the window does not wait for the training thread",
           "cnndesk/ui/worker.py",
           "        ended = thread.wait(timeout_ms)",
           "        ended = True",
           ("tests/ui/test_training.py", "-k", "closing")),
)


def copy_tree(target: Path) -> None:
    ignore = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", ".ruff_cache", "build", "dist", "docs")
    shutil.copytree(ROOT, target, ignore=ignore, symlinks=True)


def run_tests(tree: Path, tests: tuple[str, ...]) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "QT_QPA_PLATFORM": "offscreen"}
    done = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *tests],
                          cwd=tree, env=env, capture_output=True, text=True, check=False)
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode, lines[-1] if lines else ""


def apply(tree: Path, mutant: Mutant) -> None:
    path = tree / mutant.file
    text = path.read_text(encoding="utf-8")
    count = text.count(mutant.original)
    if count != 1:
        raise SystemExit(f"mutant {mutant.name}: its code occurs {count} times in {mutant.file} (the code changed: "
                         "update the mutant)")
    path.write_text(text.replace(mutant.original, mutant.mutated), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="mutants to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the mutants and what each breaks")
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    args = parser.parse_args(argv)
    if args.list:
        for mutant in MUTANTS:
            print(f"{mutant.name:26} {mutant.file:32} {mutant.breaks}")
        return 0
    unknown = set(args.names) - {m.name for m in MUTANTS}
    if unknown:
        parser.error(f"no such mutant: {', '.join(sorted(unknown))}")
    chosen = [m for m in MUTANTS if not args.names or m.name in args.names]
    results = []
    with tempfile.TemporaryDirectory(prefix="cnndesk-mutants-") as work:
        pristine = Path(work) / "pristine"
        copy_tree(pristine)
        # The unmutated tests must pass first: a mutant "killed" by a test that fails anyway proves nothing.
        selections = sorted({m.tests for m in chosen})
        for tests in selections:
            code, line = run_tests(pristine, tests)
            if code != 0:
                print(f"the tests {' '.join(tests)} fail without a mutant ({line}): fix them first", file=sys.stderr)
                return 2
        for mutant in chosen:
            tree = Path(work) / mutant.name
            copy_tree(tree)
            apply(tree, mutant)
            started = time.monotonic()
            code, line = run_tests(tree, mutant.tests)
            # Killed: the tests ran and failed (1), or the process died of a signal (a QThread destroyed while it
            # runs aborts); 2 to 5 are pytest's usage, collection and internal errors, which prove nothing.
            killed = code == 1 or code < 0
            results.append({"mutant": mutant.name, "breaks": mutant.breaks, "killed": killed, "exit": code,
                            "seconds": round(time.monotonic() - started, 1), "tests": " ".join(mutant.tests)})
            outcome = "SURVIVED" if not killed else "killed  " if code == 1 else "crashed "
            print(f"{outcome} {mutant.name:26} {results[-1]['seconds']:6.1f} s  "
                  f"{line if code >= 0 else f'killed by signal {-code}'}", flush=True)
            shutil.rmtree(tree, ignore_errors=True)
    survived = [r["mutant"] for r in results if not r["killed"]]
    summary = {"mutants": len(results), "killed": len(results) - len(survived), "survived": survived,
               "results": results}
    print(f"{summary['killed']} of {len(results)} mutants killed" + (f"; survived: {', '.join(survived)}"
                                                                     if survived else ""))
    if args.json:
        print(json.dumps(summary))
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main())
