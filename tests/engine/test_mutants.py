"""scripts/mutants.py, the mutation spot checks of the safety-critical code (its whole run: `python
scripts/mutants.py`): every mutant still names code that exists, and one mutant is run end to end."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
_spec = importlib.util.spec_from_file_location("cnndesk_mutants", ROOT / "scripts" / "mutants.py")
mutants = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = mutants  # (dataclasses look their module up)
_spec.loader.exec_module(mutants)


@pytest.mark.parametrize("mutant", mutants.MUTANTS, ids=lambda m: m.name)
def test_each_mutant_names_code_that_is_there_once_and_tests_that_exist(mutant):
    """Code that moved would turn the mutant into a no-op that 'survives' for the wrong reason, or into an error."""
    assert (ROOT / mutant.file).read_text(encoding="utf-8").count(mutant.original) == 1
    assert mutant.original != mutant.mutated
    assert (ROOT / mutant.tests[0]).is_file()


def test_a_mutant_that_unpickles_is_killed_and_the_working_tree_is_untouched():
    checkpoint = ROOT / "cnndesk" / "engine" / "checkpoint.py"
    before = checkpoint.read_bytes()
    done = subprocess.run([sys.executable, str(ROOT / "scripts" / "mutants.py"), "pickle-fallback"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "killed   pickle-fallback" in done.stdout and "1 of 1 mutants killed" in done.stdout
    assert checkpoint.read_bytes() == before
