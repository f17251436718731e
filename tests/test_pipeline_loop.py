"""The pipeline's loop with each notebook stood in for by a function that writes what the
notebook would (its artifacts, 00's split and notes, 07's submission record): the order of
steps and folds, what each gets, the terminal lines and the run's status, in seconds. The
chain tests (test_chain.py) run the real notebooks and check their outputs, in minutes."""
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill as pm
import pytest
from nbclient.exceptions import DeadKernelError

from utils.pipeline import CHAIN, EXTRAS, PER_FOLD, REPO, main, run_chain
from utils.rundir import read_json, write_json

ARTIFACTS = dict(CHAIN + EXTRAS)


@pytest.fixture
def notebooks(monkeypatch):
    """Stand in for papermill: each call is recorded as (notebook, fold, parameters) and
    writes the notebook's artifacts. `folds_written` is how many folds 00's split holds (fewer
    than asked where the data has fewer genes); `fail_at` makes that step raise as a failing
    cell would; `kernel_deaths[name]` times, that notebook's kernel dies before it starts.
    `statuses` holds the run's status (state, step) as each step found it; the notebook named
    by `writes_nothing` ends without writing its artifacts."""
    calls, setup = [], {"folds_written": 0, "fail_at": None, "kernel_deaths": {}, "writes_nothing": None,
                    "kernel_death": "Kernel died before replying to kernel_info", "statuses": []}

    def execute(source, target, parameters, **options):
        name, fold = Path(source).stem, parameters.get("fold")
        calls.append((name, fold, parameters))
        if setup["kernel_deaths"].get(name, 0) > 0:
            setup["kernel_deaths"][name] -= 1
            raise RuntimeError(setup["kernel_death"])
        if (name, fold) == setup["fail_at"]:
            raise pm.PapermillExecutionError(3, 3, "fit(...)", "RuntimeError", "loss is nan", [])
        work = Path(parameters["work_dir"])
        status = read_json(work / "run.json")["status"]
        setup["statuses"].append((status["state"], status["step"]))
        folder = work / f"fold{fold}" if name in PER_FOLD and fold is not None else work
        for artifact in ARTIFACTS[name] if name != setup["writes_nothing"] else []:
            (folder / artifact).parent.mkdir(parents=True, exist_ok=True)
            (folder / artifact).write_text("{}" if artifact.endswith(".json") else f"{name} {fold}")
        if name == "00_demo_data":
            k = setup["folds_written"]
            rows = ["gene_stage,fold" + (",cv_fold" if k else "")]
            rows += [f"g{i}_s2,train" + (f",{i % k}" if k else "") for i in range(6)]
            (work / "split.csv").write_text("\n".join(rows) + "\n")
            write_json(work / "data.json", {"split": {"notes": ["2 training genes cannot fill 3 folds"]}})
        if name == "07_submission":
            write_json(work / "submission.json", {"f1": "s/f1.csv", "auc": "s/auc.csv",
                                                  "manifest": "s/manifest.json", "valid_scores": {"auc": 0.9}})
        Path(target).write_text(json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))

    monkeypatch.setattr(pm, "execute_notebook", execute)
    return calls, setup


def test_k_folds_run_each_notebook_once_per_fold_written_in_order_with_its_parameters(notebooks, tmp_path, capsys):
    calls, setup = notebooks
    setup["folds_written"] = 2  # 3 asked; the stand-in data has genes for 2
    work = tmp_path / "runs" / "deep" / "w"  # folders not yet made
    assert main(["--work", str(work), "--folds", "3", "--extras", "-p", "cnn_epochs", "2"]) == 0
    ran = [(name, fold) for name, fold, _ in calls]
    assert ran == [("00_demo_data", None), ("01_eda", None), ("02_swav_warmup", None),
                   ("03_cnn_tempering", 0), ("03_cnn_tempering", 1), ("04_feature_dump", 0),
                   ("04_feature_dump", 1), ("05_bilstm", 0), ("05_bilstm", 1),
                   ("06_threshold_tuning", None), ("07_submission", None), ("08_explain", 0)]
    by_name = {name: params for name, _, params in calls}
    assert by_name["00_demo_data"]["n_folds"] == 3 and by_name["06_threshold_tuning"]["n_folds"] == 2
    assert by_name["03_cnn_tempering"]["cnn_epochs"] == 2 and "cnn_epochs" not in by_name["05_bilstm"]
    out = capsys.readouterr().out
    labels = [line.split("] ")[1].split()[0] for line in out.splitlines() if line.startswith("[")]
    assert labels == [n if f is None or n not in PER_FOLD else f"{n}-fold{f}" for n, f in ran]
    assert setup["statuses"] == [("running", label) for label in labels]  # a run killed there says where
    assert out.count("    note: 2 training genes cannot fill 3 folds") == 1  # after 00, once
    assert f"report: {work / 'report.html'}" in out
    assert "validated submission files:\n  F1:       s/f1.csv\n  AUC:      s/auc.csv" in out
    assert 'validation scores: {"auc": 0.9}' in out
    assert read_json(work / "run.json")["status"]["state"] == "finished"
    assert read_json(work / "run.json")["status"]["step"] == "08_explain"

    # A part of the run (--from 06 --to 06): that notebook alone, with the time it took last
    # time; stopped, so the earlier run's submission is not shown as this one's.
    timings = read_json(work / "timings.json")
    write_json(work / "timings.json", {**timings, "06_threshold_tuning": 12.0})
    calls.clear()
    assert main(["--work", str(work), "--from", "06", "--to", "06"]) == 0
    assert [(name, fold) for name, fold, _ in calls] == [("06_threshold_tuning", None)]
    out = capsys.readouterr().out
    assert "06_threshold_tuning" in out and "(expected 12s)" in out
    assert "validated submission files" not in out and "report:" not in out
    status = read_json(work / "run.json")["status"]
    assert (status["state"], status["step"]) == ("stopped", "06_threshold_tuning")


def test_a_single_split_runs_each_notebook_of_the_chain_once(notebooks, tmp_path, capsys):
    calls, _ = notebooks
    work = tmp_path / "w"
    result = run_chain(work_dir=work, folds=0)  # as a script would call it: 08 only if asked
    assert [(name, fold) for name, fold, _ in calls] == [(name, None) for name, _ in CHAIN]
    assert result == read_json(work / "submission.json") and result["valid_scores"] == {"auc": 0.9}
    out = capsys.readouterr().out
    assert "] 03_cnn_tempering " in out and "fold" not in out.split("] 03_cnn_tempering")[1].split("\n")[0]
    assert sorted(p.name for p in (work / "executed").iterdir()) == [f"{n}.ipynb" for n, _, _ in calls]
    assert read_json(work / "run.json")["status"]["state"] == "finished"


def test_a_failing_step_stops_the_run_naming_its_copy_and_the_resume_command(notebooks, tmp_path, capsys):
    calls, setup = notebooks
    setup["folds_written"], setup["fail_at"] = 2, ("03_cnn_tempering", 1)
    work = tmp_path / "w"
    assert main(["--work", str(work), "--folds", "2"]) == 1
    assert calls[-1][:2] == ("03_cnn_tempering", 1)  # nothing after it ran
    err = capsys.readouterr().err
    assert "FAILED: 03_cnn_tempering-fold1 failed: RuntimeError: loss is nan" in err
    assert f"executed copy: {work / 'executed' / '03_cnn_tempering-fold1.ipynb'}" in err
    assert f"resume: python -m utils.pipeline --folds 2 --work {work} --from 03" in err
    status = read_json(work / "run.json")["status"]
    assert (status["state"], status["step"], status["error"]) == ("failed", "03_cnn_tempering-fold1",
                                                                 "RuntimeError: loss is nan")


def test_a_step_that_ends_without_its_files_stops_the_run_naming_them(notebooks, tmp_path, capsys):
    calls, setup = notebooks
    setup["folds_written"], setup["writes_nothing"] = 2, "04_feature_dump"
    work = tmp_path / "w"
    assert main(["--work", str(work), "--folds", "2"]) == 1
    assert calls[-1][:2] == ("04_feature_dump", 0)  # 05 never started on features that are not there
    err = capsys.readouterr().err
    missing = "fold0/features/features.npy, fold0/preds/cnn_valid.npy, fold0/preds/cnn_test.npy"
    assert f"FAILED: 04_feature_dump-fold0 ran to its end but did not write {missing}" in err
    assert f"resume: python -m utils.pipeline --folds 2 --work {work} --from 04" in err
    status = read_json(work / "run.json")["status"]
    assert (status["state"], status["step"], status["error"]) == ("failed", "04_feature_dump-fold0",
                                                                 f"did not write {missing}")


@pytest.mark.parametrize("death", ["Kernel died before replying to kernel_info", "Kernel didn't respond in 60 seconds"])
def test_a_kernel_that_dies_before_its_first_reply_is_started_again(notebooks, tmp_path, death):
    """Two kernels started at once can race for a port (jupyter/jupyter_client#154): the
    step starts again, and the run goes on as if nothing happened."""
    calls, setup = notebooks
    setup["kernel_deaths"], setup["kernel_death"] = {"03_cnn_tempering": 2}, death
    work = tmp_path / "w"
    assert main(["--work", str(work), "--folds", "0"]) == 0
    ran = [name for name, _, _ in calls]
    assert ran == [n for n, _ in CHAIN[:3]] + ["03_cnn_tempering"] * 3 + [n for n, _ in CHAIN[4:]]
    assert read_json(work / "run.json")["status"]["state"] == "finished"


def test_a_kernel_that_never_starts_stops_the_run_after_three_tries(notebooks, tmp_path, capsys):
    calls, setup = notebooks
    setup["kernel_deaths"] = {"02_swav_warmup": 99}
    work = tmp_path / "w"
    assert main(["--work", str(work), "--folds", "0"]) == 1
    assert [name for name, _, _ in calls] == [n for n, _ in CHAIN[:2]] + ["02_swav_warmup"] * 3
    out, err = capsys.readouterr()
    assert re.search(r"02_swav_warmup +kernel did not start\n", out), out  # its line in the terminal
    assert ("FAILED: 02_swav_warmup: the kernel did not start in 3 tries: "
            "Kernel died before replying to kernel_info") in err
    assert f"resume: python -m utils.pipeline --folds 0 --work {work} --from 02" in err
    status = read_json(work / "run.json")["status"]
    assert (status["state"], status["step"]) == ("failed", "02_swav_warmup")


def test_a_kernel_that_dies_while_a_cell_runs_stops_the_run_and_is_not_started_again(notebooks, tmp_path,
                                                                                     monkeypatch, capsys):
    """A kernel killed mid-cell (out of memory, say) may have written half an artifact:
    that is the user's to see, not something to paper over by running the cell twice."""
    calls, _ = notebooks
    stand_in = pm.execute_notebook

    def dies_in_04(source, target, parameters, **options):
        stand_in(source, target, parameters, **options)
        if Path(source).stem == "04_feature_dump":
            raise DeadKernelError("Kernel died")  # as nbclient raises it

    monkeypatch.setattr(pm, "execute_notebook", dies_in_04)
    work = tmp_path / "w"
    assert main(["--work", str(work), "--folds", "0"]) == 1
    assert [name for name, _, _ in calls] == [n for n, _ in CHAIN[:5]]
    err = capsys.readouterr().err
    assert "FAILED: 04_feature_dump: the kernel died while a cell ran (out of memory, or killed?)" in err
    assert f"executed copy: {work / 'executed' / '04_feature_dump.ipynb'}" in err
    assert f"resume: python -m utils.pipeline --folds 0 --work {work} --from 04" in err
    status = read_json(work / "run.json")["status"]
    assert (status["state"], status["step"], status["error"]) == ("failed", "04_feature_dump", "the kernel died")


FLAKY_KERNEL = """import sys
from pathlib import Path
launches, deaths = Path(sys.argv[1]), int(sys.argv[2])
n = len(launches.read_text()) if launches.exists() else 0
launches.write_text("x" * (n + 1))
if n < deaths:
    sys.exit(1)  # dies before binding a port, as a kernel that lost the port race does
from ipykernel import kernelapp
sys.argv = sys.argv[:1] + sys.argv[3:]
kernelapp.launch_new_instance()
"""


@pytest.mark.parametrize("deaths, launches", [(2, 3), (5, 3)])
def test_a_real_kernel_that_dies_at_start_is_started_again_up_to_three_times(tmp_path, deaths, launches):
    """With papermill and jupyter_client themselves: a python3 kernel spec that exits at
    start `deaths` times. The message matched is the one jupyter_client really raises."""
    (tmp_path / "flaky_kernel.py").write_text(FLAKY_KERNEL)
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, str(tmp_path / "flaky_kernel.py"), str(tmp_path / "launches"), str(deaths),
                 "-f", "{connection_file}"], "display_name": "flaky", "language": "python"}))
    source, target = tmp_path / "probe.ipynb", tmp_path / "probe-out.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")]), source)
    script = ("from pathlib import Path\nfrom utils.pipeline import KernelDidNotStart, execute_step\n"
              f"try:\n    execute_step(Path({str(source)!r}), Path({str(target)!r}), {{}})\n"
              "except KernelDidNotStart as e:\n    print(e)\n    raise SystemExit(3)\n")
    env = {**os.environ, "JUPYTER_PATH": str(tmp_path / "jupyter")}
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert len((tmp_path / "launches").read_text()) == launches
    if deaths < launches:
        assert done.returncode == 0, done.stderr
        assert nbformat.read(target, as_version=4).cells[0].outputs[0]["text"] == "42\n"
    else:
        assert done.returncode == 3, done.stderr
        assert done.stdout == "the kernel did not start in 3 tries: Kernel died before replying to kernel_info\n"


def test_a_checkouts_notebooks_run_with_its_own_utils(tmp_path):
    """Another checkout of the kit (here: a copy of utils/ alone) runs its notebooks with its
    own utils, not with the installed one that a kernel started elsewhere would import."""
    other = tmp_path / "other"
    shutil.copytree(REPO / "utils", other / "utils", ignore=shutil.ignore_patterns("__pycache__"))
    source, target = tmp_path / "probe.ipynb", tmp_path / "probe-out.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import utils\nprint(utils.__file__)")]),
                   source)
    script = ("from pathlib import Path\nfrom utils.pipeline import execute_step\n"
              f"execute_step(Path({str(source)!r}), Path({str(target)!r}), {{}}, cwd=Path({str(tmp_path)!r}))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=other, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar, no kernel or widget warnings in the terminal
    said = nbformat.read(target, as_version=4).cells[0].outputs[0]["text"]
    assert said == f"{other / 'utils' / '__init__.py'}\n"


def test_force_goes_on_past_a_stale_artifact_and_a_changed_parameter_saying_so(notebooks, tmp_path, capsys):
    calls, _ = notebooks
    work = tmp_path / "w"
    assert main(["--work", str(work), "-p", "cnn_epochs", "2"]) == 0
    os.utime(work / "split.csv", ns=(1, 1))  # changed after 01 and 02 read it
    calls.clear()
    capsys.readouterr()
    assert main(["--work", str(work), "--from", "04"]) == 1  # refused, nothing run
    assert calls == [] and "split.csv changed after 00_demo_data wrote it" in capsys.readouterr().err
    assert main(["--work", str(work), "--from", "04", "-p", "cnn_epochs", "5", "--force", "--dry-run"]) == 0
    assert calls == [] and "already ran with 2, you gave 5" in capsys.readouterr().out  # the plan says it too
    assert main(["--work", str(work), "--from", "04", "-p", "cnn_epochs", "5", "--force"]) == 0
    assert [name for name, _, _ in calls] == [name for name, _ in CHAIN[4:]]
    out = capsys.readouterr().out.splitlines()
    forced = [line for line in out if "--force" in line]
    assert len(forced) == 2, out
    assert "already ran with 2, you gave 5" in forced[0]
    assert forced[1].startswith("--force: split.csv changed after 00_demo_data wrote it")


def test_to_a_per_fold_notebook_runs_it_for_every_fold(notebooks, tmp_path):
    calls, setup = notebooks
    setup["folds_written"] = 3
    assert main(["--work", str(tmp_path / "w"), "--folds", "3", "--to", "03"]) == 0
    assert [(name, fold) for name, fold, _ in calls][-3:] == [("03_cnn_tempering", k) for k in range(3)]


def test_a_forced_run_from_00_plans_the_folds_asked_not_the_old_splits(notebooks, tmp_path, capsys):
    # 00 writes a new split.csv: the one an earlier 3-fold run left says nothing of this run.
    calls, setup = notebooks
    work = tmp_path / "w"
    setup["folds_written"] = 3
    assert main(["--work", str(work), "--folds", "3"]) == 0
    capsys.readouterr()
    assert main(["--work", str(work), "--folds", "2", "--force", "--dry-run"]) == 0
    planned = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  03")]
    assert planned == ["03_cnn_tempering-fold0", "03_cnn_tempering-fold1"]


def test_a_dry_run_from_03_before_00_ever_ran_plans_the_folds_asked(tmp_path, capsys):
    assert main(["--work", str(tmp_path / "w"), "--folds", "3", "--from", "03", "--dry-run"]) == 0
    planned = [line.split()[0] for line in capsys.readouterr().out.splitlines() if line.startswith("  0")]
    assert planned[:3] == [f"03_cnn_tempering-fold{k}" for k in range(3)] and not (tmp_path / "w").exists()


def test_the_default_run_is_the_demo_profile_in_its_own_folder(capsys):
    assert main(["--dry-run"]) == 0
    assert f"--work {REPO / 'runs' / 'demo-seed0'}" in capsys.readouterr().out


def test_python_dash_m_runs_the_command_line(tmp_path):  # from the repository, as the README says
    done = subprocess.run([sys.executable, "-m", "utils.pipeline", "--work", str(tmp_path / "w"), "--dry-run"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.startswith("plan: python -m utils.pipeline"), done.stderr
    done = subprocess.run([sys.executable, "-m", "utils.pipeline", "--work", str(tmp_path / "w"), "--dry-run",
                           "-p", "cnn_epochs", "True"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 1  # True is no integer here, though Python counts bool as int
    assert "-p cnn_epochs True: expected an integer, like the notebooks' default 30" in done.stderr


def test_the_kernels_own_error_log_stays_out_of_the_terminal_but_a_failing_cell_does_not(tmp_path):
    """The kernel logs "KeyboardInterrupt caught in kernel" at ERROR when jupyter_client's
    shutdown interrupt lands mid-message; a probe logged the same way must not reach the
    terminal with the pipeline's options, and does without them (so the probe is real)."""
    def run(cell: str, options: str) -> subprocess.CompletedProcess:
        source, target = tmp_path / "probe.ipynb", tmp_path / "probe-out.ipynb"
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]), source)
        script = ("import papermill as pm\nfrom utils.pipeline import PAPERMILL_OPTIONS\n"
                  f"pm.execute_notebook({str(source)!r}, {str(target)!r}, **{options})\n")
        return subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120)

    probe = "get_ipython().kernel.log.error('kernel log probe')"
    quiet = run(probe, "PAPERMILL_OPTIONS")
    assert quiet.returncode == 0, quiet.stderr
    assert "kernel log probe" not in quiet.stdout + quiet.stderr
    loud = run(probe, "dict(kernel_name='python3', progress_bar=False)")
    assert loud.returncode == 0 and "kernel log probe" in loud.stderr
    failing = run("raise ValueError('a broken cell')", "PAPERMILL_OPTIONS")
    assert failing.returncode != 0 and "ValueError: a broken cell" in failing.stderr
