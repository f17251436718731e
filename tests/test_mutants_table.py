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


def test_an_entry_naming_a_test_that_is_gone_is_stale(monkeypatch):
    entry = mutants.MUTANTS[26]
    gone = [(*entry[:3], "test_gone.py"), (*entry[:3], "test_profiles.py::test_gone[gpu]"),
            (*entry[:3], "test_profiles.py::test_profile_runs_end_to_end[gpu]")]
    monkeypatch.setattr(mutants, "MUTANTS", gone)
    assert mutants.stale() == ["mutant 0: no tests/test_gone.py", "mutant 1: no tests/test_profiles.py::test_gone[gpu]"]


def test_mutants_run_side_by_side_report_in_order_and_name_the_survivor(monkeypatch, capsys):
    """Two copies at once: a real bug is caught, a no-op edit survives, an edit that breaks the
    import is told apart (no test ran), so is one that breaks conftest.py's imports (pytest
    says "usage error"), lines in the order asked."""
    no_op = ("utils/submission.py", "int(token) >= N_LABELS", "int(token)  >= N_LABELS", "test_submission.py")
    no_import = ("utils/submission.py", 'AUC_HEADER = ["Id"] + [', 'AUC_HEADER = ["Id"] - [', "test_submission.py")
    no_conftest = ("utils/labels.py", "(max(STAGES) + 1, N_LABELS)", "(max(STAGES) - 1, N_LABELS)", "test_submission.py")
    table = [mutants.MUTANTS[26], no_op, mutants.MUTANTS[33], no_import, no_conftest]  # off-by-one label, ..., short row
    monkeypatch.setattr(mutants, "MUTANTS", table)
    assert mutants.run([2, 1, 0, 3, 4], sys.executable, jobs=2) == {1: "SURVIVED", 3: "BROKE", 4: "BROKE"}
    lines = capsys.readouterr().out.splitlines()
    assert [int(line.split()[0]) for line in lines] == [2, 1, 0, 3, 4]
    assert [line.split()[1] for line in lines] == ["caught", "SURVIVED", "caught", "BROKE", "BROKE"]


def test_a_mutant_whose_tests_hang_is_stopped_and_not_counted_as_a_survivor(monkeypatch, capsys):
    """Left out, the suffix a second folder of the same second gets makes new_submission_folder
    try the same name forever (deletion sweep, session 39): the runner stops it, says so, and
    goes on to the next mutant."""
    endless = ("utils/submission.py", '            out = out.with_name(out.name + "x")\n', "            pass\n",
               "test_submission.py::test_each_run_gets_a_new_submission_folder_even_in_the_same_second")
    monkeypatch.setattr(mutants, "MUTANTS", [endless, mutants.MUTANTS[26]])
    assert mutants.run([0, 1], sys.executable, jobs=1, timeout=20) == {}
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:2] == ["0", "HUNG"] and "still running after 20 s" in lines[0]
    assert lines[1].split()[:2] == ["1", "caught"]


def test_sweep_swaps_one_operator_on_lines_found_once_and_leaves_chain_tests_out():
    import ast
    swaps = mutants.operator_mutants()
    assert len(swaps) > 300
    assert ("utils/splits.py", "        if k < n_folds:\n", "        if k <= n_folds:\n", "test_splits.py") in swaps
    # a file the chain tests also guard is swept with its other tests
    assert ("utils/pipeline.py", "    if n_folds < 2:\n", "    if n_folds <= 2:\n",
            "test_commands.py test_folds.py test_pipeline_loop.py test_runspec.py") in swaps
    line = "    if not any(n.startswith(start) for n in names):\n"  # two swaps on one line, each a mutant
    assert {m for f, c, m, _ in swaps if c == line} == {line.replace(" not ", " "), line.replace("any(", "all(")}
    for file, code, mutant, tests in swaps:
        source = (mutants.ROOT / file).read_text()
        assert source.count(code) == 1 and mutant != code, (file, code)
        ast.parse(source.replace(code, mutant))  # a swap is a bug, never a syntax error
        assert tests and not set(tests.split()) & mutants.SLOW_TESTS


def test_a_notebook_sweep_swaps_code_cells_as_the_file_stores_them():
    import ast
    import json
    path = "notebooks/05_bilstm.ipynb"
    swaps = mutants.operator_mutants([path])
    text = (mutants.ROOT / path).read_text()
    line = 'elif bag_inputs == "oof_probs":  # inputs no fold model memorised (utils.folds.stack_out_of_fold)\n'
    assert (path, json.dumps(line), json.dumps(line.replace(" == ", " != ")), mutants.NOTEBOOK_TESTS) in swaps
    assert len(swaps) >= 3
    for _, code, mutant, tests in swaps:
        assert text.count(code) == 1 and mutant != code
        cells = json.loads(text.replace(code, mutant))["cells"]  # still a notebook, one code line changed
        changed = [c for c in cells if json.loads(mutant) in c["source"]]
        assert len(changed) == 1 and changed[0]["cell_type"] == "code"
        ast.parse("".join(changed[0]["source"]))
        assert set(tests.split()) & mutants.SLOW_TESTS  # only the chains run a notebook


def test_a_deletion_sweep_leaves_out_one_forgettable_statement_at_a_time(tmp_path, monkeypatch):
    """By hand: calls kept for their effect, updates, names bound again, raise and continue are
    made `pass`, one at a time at their own indentation; a first binding (a NameError, not a
    quiet bug), a return, a docstring and a line holding two statements are not; a comment
    beside a statement goes with it."""
    source = '''def scale(x, rng):
    """Why."""
    y = x + 1
    y = y.clip(0, 1)  # why
    rng.shuffle(
        y)
    y += 1
    if y.any():
        raise ValueError("bad")
    for v in y:
        if v:
            continue
        w = v
        w = w * 2

    def inner(z):
        z = z - 1
        return z
    y = y * 2; a = 2
    return inner(y)
'''
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "x.py").write_text(source)
    monkeypatch.setattr(mutants, "ROOT", tmp_path)
    monkeypatch.setattr(mutants, "MUTANTS", [("utils/x.py", "y += 1", "y -= 1", "test_x.py::test_one")])
    monkeypatch.setattr(mutants, "SWEEP_ALSO", {"utils/x.py": "test_y.py"})
    left_out = ["    y = y.clip(0, 1)  # why\n", "    rng.shuffle(\n        y)\n", "    y += 1\n",
                '        raise ValueError("bad")\n', "            continue\n", "        w = w * 2\n",
                "        z = z - 1\n"]
    deletions = mutants.statement_deletions()
    assert [code for _, code, _, _ in deletions] == left_out
    for file, code, mutant, tests in deletions:
        assert (file, tests) == ("utils/x.py", "test_x.py test_y.py")
        assert mutant == code[:len(code) - len(code.lstrip())] + "pass\n"
        compile(source.replace(code, mutant), "x.py", "exec")


def test_the_kits_deletions_are_whole_statements_found_once():
    import ast
    import textwrap
    deletions = mutants.statement_deletions()
    assert len(deletions) > 300
    assert ("utils/features.py", "    model.eval()\n", "    pass\n") in {d[:3] for d in deletions}
    for file, code, mutant, tests in deletions:
        source = (mutants.ROOT / file).read_text()
        assert source.count(code) == 1 and mutant.strip() == "pass", (file, code)
        statement, = ast.parse(textwrap.dedent(code)).body
        assert isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign, ast.AugAssign, ast.Raise,
                                      ast.Continue, ast.Break)), (file, code)
        ast.parse(source.replace(code, mutant))
        assert tests and not set(tests.split()) & mutants.SLOW_TESTS


def test_a_notebook_deletion_sweep_leaves_out_cell_statements_as_the_file_stores_them(tmp_path, monkeypatch):
    """By hand: in a code cell, a name bound in an earlier cell bound again, a call kept for its
    effect, a statement over two lines and one inside a function are made `pass`; a first
    binding, a call or figure that only shows something, and the cell's shown value are not."""
    import ast
    import json

    import nbformat
    cells = [nbformat.v4.new_markdown_cell("model.eval()"),  # text, not code
             nbformat.v4.new_code_cell("x = 1\ny = 2"),
             nbformat.v4.new_code_cell("x = x + 1\nmodel.eval()\nprint(x)\nfig, ax = plt.subplots()\n"
                                       "ax.set_title('t')\ntotal = (x +\n         y)\ntotal = (x +\n         y * 2)\n"
                                       "def f(a):\n    a = a * 2\n    return a\nx")]
    (tmp_path / "notebooks").mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=cells), tmp_path / "notebooks" / "x.ipynb")
    monkeypatch.setattr(mutants, "ROOT", tmp_path)
    deletions = mutants.statement_deletions(["notebooks/x.ipynb"])
    left_out = [[json.loads(s) for s in code.split(",\n    ")] for _, code, _, _ in deletions]
    assert left_out == [["x = x + 1\n"], ["model.eval()\n"], ["total = (x +\n", "         y * 2)\n"], ["    a = a * 2\n"]]
    text = (tmp_path / "notebooks" / "x.ipynb").read_text()
    for (file, code, mutant, tests), lines in zip(deletions, left_out):
        assert (file, tests) == ("notebooks/x.ipynb", mutants.NOTEBOOK_TESTS)
        assert text.count(code) == 1
        assert mutants._as_code(file, code) == "".join(lines)  # as the runner's lines show it
        cell = json.loads(text.replace(code, mutant))["cells"][2]  # still a notebook, that cell changed
        source = "".join(cell["source"])
        assert source == cells[2].source.replace("".join(lines), lines[0][:len(lines[0]) - len(lines[0].lstrip())]
                                                 + "pass\n", 1)
        ast.parse(source)
