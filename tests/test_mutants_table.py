"""The planted-bug table (tests/mutants.py) stays in step with the code: each entry's code is
found exactly once in its file and its tests exist, so `make mutants` cannot stop half-way on
an entry that an edit made stale."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import mutants  # noqa: E402


def test_every_planted_bug_finds_its_code_once_and_names_existing_tests():
    stale = [(i, file, code) for i, (file, code, mutant, tests) in enumerate(mutants.MUTANTS)
             if (ROOT / file).read_text().count(code) != 1]
    assert not stale, f"update tests/mutants.py: {stale}"
    for file, code, mutant, tests in mutants.MUTANTS:
        assert mutant != code
        assert all((ROOT / "tests" / name).exists() for name in tests.split()), tests
