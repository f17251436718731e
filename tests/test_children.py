"""The benchmarks' child-process runner and the ablation's cut into parallel parts."""
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from ablation import GROUPS, ROWS, row_groups  # noqa: E402
from children import run_children  # noqa: E402


def test_children_report_done_and_failed(tmp_path):
    py = sys.executable
    commands = {"ok": [py, "-c", "print('fine')"], "bad": [py, "-c", "raise SystemExit(3)"]}
    assert run_children(commands, jobs=2, log_folder=tmp_path, poll_s=0.05) == {"ok": "done", "bad": "failed"}
    assert (tmp_path / "ok.log").read_text().strip() == "fine"


def test_deadline_kills_the_running_and_skips_the_waiting(tmp_path):
    py = sys.executable
    commands = {"slow": [py, "-c", "import time; time.sleep(30)"], "never": [py, "-c", "print('started')"]}
    t0 = time.time()
    outcome = run_children(commands, jobs=1, log_folder=tmp_path, deadline=t0 + 1.0, poll_s=0.05)
    assert outcome == {"slow": "cut", "never": "cut"}
    assert time.time() - t0 < 15  # killed, not waited for
    assert not (tmp_path / "never.log").exists()


def test_meanwhile_runs_once_while_children_run(tmp_path):
    marker = tmp_path / "started"
    calls = []
    commands = {"a": [sys.executable, "-c", f"import pathlib; pathlib.Path({str(marker)!r}).touch()"]}
    run_children(commands, jobs=1, log_folder=tmp_path, meanwhile=lambda: calls.append(1), poll_s=0.01)
    assert calls == [1] and marker.exists()


def test_row_groups_keep_shared_stages_together_and_cover_every_row():
    assert sorted(r for g in GROUPS for r in g) == sorted(ROWS)
    groups = row_groups(["kfold+attention", "regnety", "+swav+bilstm", "+swav", "floor: stage prior"])
    assert groups == [["floor: stage prior"], ["regnety"], ["+swav", "+swav+bilstm"], ["kfold+attention"]]
    # a blend with the floor needs its kfold row's folds: the same part
    assert row_groups(["kfold+attention+floor", "kfold"]) == [["kfold", "kfold+attention+floor"]]
