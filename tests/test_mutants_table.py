"""The planted-bug table (tests/mutants.py) stays in step with the code: each entry's code is
found exactly once in its file and its tests exist, so `make mutants` cannot stop on an
entry that an edit made stale."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import mutants  # noqa: E402


def test_every_planted_bug_finds_its_code_once_and_names_existing_tests():
    assert mutants.stale() == []
    assert all(mutant != code for _, code, mutant, _ in mutants.MUTANTS)
