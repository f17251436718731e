"""A work folder holds one run: run.json, conflicting arguments, stale artifacts (no notebook runs)."""
import difflib
import os
import shlex
from pathlib import Path

import pytest

from utils.data import fingerprint
from utils.pipeline import REPO, build_parser, parse_value, run_chain
from utils.profiles import PROFILES, profile_parameters
from utils.rundir import read_json, write_json
from utils.runspec import (RunConflict, check_resume, command_line, merge_run, record_step,
                           stored_run, write_run)


def _record(work, args, overrides=None):
    write_run(work, args, overrides or {}, {"profile": args.get("profile", "demo")})


def test_a_conflicting_seed_on_resume_is_refused_naming_both_values(tmp_path):
    work = tmp_path / "w"
    _record(work, {"profile": "demo", "data": str(tmp_path / "data"), "seed": 3})
    with pytest.raises(RunConflict) as err:
        run_chain(work_dir=work, seed=4, start="03", quiet=True)
    message = str(err.value)
    assert "--seed: this run used 3, you gave 4" in message
    assert f"--seed 3 --work {work}" in message  # and how to resume the run as it was
    assert not (work / "executed").exists()      # refused before anything ran
    assert read_json(work / "run.json")["args"]["seed"] == 3


@pytest.mark.parametrize("given, conflict", [
    ({"data": "other"}, "--data: this run used"),
    ({"profile": "cpu"}, "--profile: this run used demo, you gave cpu"),
    ({"device": "cuda"}, "--device: this run used cpu, you gave cuda"),
    ({"folds": 5}, "--folds: this run used 3, you gave 5"),
])
def test_every_run_argument_is_checked(tmp_path, given, conflict):
    work = tmp_path / "w"
    stored = {"args": {"profile": "demo", "data": str(tmp_path / "data")}, "overrides": {}}
    if "data" in given:
        given = {"data": str(tmp_path / given["data"])}
    with pytest.raises(RunConflict, match=conflict):
        merge_run(stored, given, {}, work, REPO, {})


def test_left_out_and_default_values_are_the_same_run(tmp_path):
    work = tmp_path / "w"
    stored = {"args": {"profile": "demo", "data": None, "seed": None}, "overrides": {}}
    args, _, notes = merge_run(stored, {"seed": 0, "device": "cpu", "folds": 3,
                                        "data": str(work / "data")}, {}, work, REPO, {})
    assert notes == [] and args["seed"] == 0


def test_overrides_may_change_only_for_notebooks_that_rerun(tmp_path):
    work = tmp_path / "w"
    stored = {"args": {"profile": "demo"}, "overrides": {"cnn_epochs": 6}}
    ran = {"cnn_epochs": "03_cnn_tempering", "seed": "00_demo_data"}
    # 05's head is free to change when resuming at 05; the stored override is kept.
    args, overrides, _ = merge_run(stored, {}, {"bag_head": "mean"}, work, REPO, ran)
    assert overrides == {"cnn_epochs": 6, "bag_head": "mean"}
    # The same value again is no conflict; another one for a notebook that already ran is.
    merge_run(stored, {}, {"cnn_epochs": 6}, work, REPO, ran)
    with pytest.raises(RunConflict, match=r"-p cnn_epochs: 03_cnn_tempering already ran with 6, you gave 8"):
        merge_run(stored, {}, {"cnn_epochs": 8}, work, REPO, ran)
    # --force goes on with the new value and says what it overrode.
    _, overrides, notes = merge_run(stored, {}, {"cnn_epochs": 8}, work, REPO, ran, force=True)
    assert overrides["cnn_epochs"] == 8 and "already ran with 6" in notes[0]


def test_command_line_parses_back_to_the_same_run(tmp_path):
    args = {"profile": "paper", "data": str(tmp_path / "my data"), "seed": 3, "device": "cuda",
            "folds": 5, "submissions": str(tmp_path / "subs")}
    overrides = {"bag_head": "mean", "cnn_epochs": 30, "cnn_lr": 0.001, "out_hw": [40, 120],
                 "tta_flip": False, "run_name": "7", "note": "two words"}
    text = command_line(args, overrides, tmp_path / "w")
    assert text.startswith("python -m utils.pipeline ")
    parsed = build_parser().parse_args(shlex.split(text)[3:])
    assert {k: getattr(parsed, k) for k in ["profile", "data", "seed", "device", "folds", "submissions"]} == args
    assert {k: parse_value(v) for k, v in parsed.p} == overrides
    assert parsed.work == str(tmp_path / "w")


def test_an_older_run_json_is_treated_as_a_new_run(tmp_path):
    write_json(tmp_path / "run.json", {"profile": "demo", "parameters": {}, "overrides": {}})
    assert stored_run(tmp_path) is None


def _done_run(tmp_path):
    """A work folder whose notebooks 00..02 finished in order, with their artifacts stamped."""
    work = tmp_path / "w"
    _record(work, {"profile": "demo"})
    for label, artifact in [("00_demo_data", "split.csv"), ("01_eda", "eda.txt"), ("02_swav_warmup", "warmup.pt")]:
        (work / artifact).write_text(label)
        record_step(work, label, [artifact])
    return work, [("00_demo_data", "00_demo_data"), ("01_eda", "01_eda"), ("02_swav_warmup", "02_swav_warmup")]


def test_resume_accepts_artifacts_made_in_order(tmp_path):
    work, done = _done_run(tmp_path)
    assert check_resume(work, done, tmp_path / "data") == []


def test_resume_refuses_after_an_earlier_notebook_reran(tmp_path):
    work, done = _done_run(tmp_path)
    (work / "split.csv").write_text("new split")
    record_step(work, "00_demo_data", ["split.csv"])  # 00 reran after 01 and 02
    problems = check_resume(work, done, tmp_path / "data")
    assert problems == ["00_demo_data reran after 01_eda, whose outputs are now stale: rerun with --from 01"]


def test_resume_refuses_an_artifact_changed_after_a_later_notebook_read_it(tmp_path):
    work, done = _done_run(tmp_path)
    os.utime(work / "eda.txt", ns=(1, 1))  # rewritten outside the pipeline
    problems = check_resume(work, done, tmp_path / "data")
    assert problems == ["eda.txt changed after 01_eda wrote it, and 02_swav_warmup used the old one: "
                        "rerun with --from 02"]
    # The last finished notebook's artifacts may change: the notebook resumed at reads them anew.
    os.utime(work / "eda.txt", ns=(1, 1))
    assert check_resume(work, done[:2], tmp_path / "data") == []


def test_resume_refuses_an_artifact_deleted_after_a_later_notebook_read_it(tmp_path):
    work, done = _done_run(tmp_path)
    (work / "eda.txt").unlink()
    assert check_resume(work, done, tmp_path / "data") == [
        "eda.txt changed after 01_eda wrote it, and 02_swav_warmup used the old one: rerun with --from 02"]


def test_resume_checks_the_notebooks_after_one_the_record_lacks(tmp_path):
    work, done = _done_run(tmp_path)  # 00's record lost (a run.json of an older kit, say)
    record = read_json(work / "run.json")
    del record["steps"]["00_demo_data"]
    write_json(work / "run.json", record)
    os.utime(work / "eda.txt", ns=(1, 1))
    assert check_resume(work, done, tmp_path / "data") == [
        "eda.txt changed after 01_eda wrote it, and 02_swav_warmup used the old one: rerun with --from 02"]


def test_resume_refuses_when_the_data_changed(tmp_path, data_copy):
    work, done = _done_run(tmp_path)
    write_json(work / "data.json", {"fingerprint": fingerprint(data_copy)})
    assert check_resume(work, done, data_copy) == []
    image = next((Path(data_copy) / "train/train").iterdir())
    image.write_bytes(image.read_bytes())  # same bytes, new stamp: a restored or replaced file
    os.utime(image, ns=(5, 5))
    problems = check_resume(work, done, data_copy)
    assert len(problems) == 1 and "changed since 00_demo_data read it" in problems[0]
    assert problems[0].endswith("rerun with --from 00")


def test_a_stale_resume_is_refused_before_anything_runs(tmp_path):
    from utils.pipeline import StaleRun

    work, _ = _done_run(tmp_path)
    (work / "split.csv").write_text("new split")
    record_step(work, "00_demo_data", ["split.csv"])
    with pytest.raises(StaleRun, match="rerun with --from 01"):
        run_chain(work_dir=work, start="03", quiet=True)
    assert not (work / "executed").exists()


def test_cli_refuses_one_fold_and_an_unknown_notebook(tmp_path, capsys):
    from utils.pipeline import main
    with pytest.raises(ValueError, match="--folds needs K >= 2"):
        run_chain(work_dir=tmp_path / "a", folds=1, quiet=True)
    with pytest.raises(SystemExit, match="--from 42: no notebook starts with that"):
        main(["--work", str(tmp_path / "b"), "--from", "42"])
    assert not (tmp_path / "a" / "executed").exists() and not (tmp_path / "b").exists()


@pytest.mark.parametrize("text, value", [("30", 30), ("1e-3", 0.001), ("[40, 120]", [40, 120]),
                                         ("True", True), ("None", None), ("attention", "attention"),
                                         ("'7'", "7")])
def test_p_values_are_read_as_python_literals_else_strings(text, value):
    assert parse_value(text) == value and type(parse_value(text)) is type(value)
    args = build_parser().parse_args(["-p", "cnn_epochs", text, "-p", "bag_head", "mean"])
    assert [(k, parse_value(v)) for k, v in args.p] == [("cnn_epochs", value), ("bag_head", "mean")]


def test_dry_run_prints_each_notebook_and_fold_and_writes_nothing(tmp_path, capsys):
    from utils.pipeline import main
    assert main(["--work", str(tmp_path / "w"), "--folds", "2", "--seed", "5", "-p", "cnn_epochs", "3",
                 "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("plan: python -m utils.pipeline --seed 5 --folds 2 --work")
    assert "\n2 folds (00 uses fewer if the training set has fewer genes)\n" in out
    lines = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert [w[0] for w in lines] == ["00_demo_data", "01_eda", "02_swav_warmup", "03_cnn_tempering-fold0",
                                     "03_cnn_tempering-fold1", "04_feature_dump-fold0", "04_feature_dump-fold1",
                                     "05_bilstm-fold0", "05_bilstm-fold1", "06_threshold_tuning", "07_submission"]
    by_step = {w[0]: w[1:] for w in lines}
    assert "fold=1" in by_step["03_cnn_tempering-fold1"] and "cnn_epochs=3" in by_step["03_cnn_tempering-fold1"]
    assert "seed=5" in by_step["00_demo_data"] and "n_folds=2" in by_step["06_threshold_tuning"]
    assert "cnn_epochs=3" not in by_step["05_bilstm-fold0"]  # only what each notebook declares
    assert not (tmp_path / "w").exists()


def test_a_misspelt_or_mistyped_override_is_refused_before_anything_runs(tmp_path, capsys):
    """papermill passes on a parameter no notebook declares and the notebook ignores it: a
    typo would train for an hour with the default. The run stops first, naming each problem."""
    from utils.pipeline import main
    work = tmp_path / "w"
    assert main(["--work", str(work), "-p", "lsmt_lr", "1e-3", "-p", "cnn_epochs", "abc", "-p", "use_weights", "1",
                 "-p", "run_name", "2024", "-p", "lstm_epochs", "40", "-p", "warmup_method", "SwAV"]) == 1
    err = capsys.readouterr().err
    assert "-p lsmt_lr: no notebook has this parameter; did you mean lstm_lr" in err
    assert "-p cnn_epochs 'abc': expected an integer, like the notebooks' default 30" in err
    assert "-p use_weights 1: expected True or False" in err
    assert "-p run_name 2024: expected a string" in err and "'2024'" in err
    assert "-p warmup_method 'SwAV': choose from ('swav', 'agree', 'none')" in err  # it would train as 'agree'
    assert "lstm_epochs" not in err  # a good one beside them is not named
    assert not work.exists()
    # an integer for a number, a list for a list, anything where the default is None; 08's too
    assert main(["--work", str(work), "-p", "lstm_lr", "1", "-p", "resize_hw", "[58, 170]", "-p",
                 "compile_backend", "cuda-graph", "-p", "heatmap_layer", "s3", "--dry-run"]) == 0
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--profile", "gpu0"])
    assert "invalid choice: 'gpu0' (choose from 'cpu', 'demo', 'gpu', 'paper')" in capsys.readouterr().err


def test_a_backbone_or_compile_backend_that_timm_or_torch_lack_is_refused_before_anything_runs(tmp_path, capsys):
    """Neither has a fixed list, but timm and torch know theirs: a typo used to fail only when
    02 built the model or compiled its first step, after 00 and 01 had run."""
    import timm
    from torch._dynamo import list_backends

    from utils.choices import check_backbone, check_compile_backend
    from utils.models import build_backbone
    from utils.pipeline import main
    from utils.train import compile_network
    work = tmp_path / "w"
    assert main(["--work", str(work), "-p", "backbone", "regnety_02", "-p", "compile_backend", "cuda_graph"]) == 1
    err = capsys.readouterr().err
    near = difflib.get_close_matches("regnety_02", timm.list_models(), n=3)  # each of them, named
    assert "regnety_002" in near and len(near) > 1
    assert f"-p backbone 'regnety_02': timm has no such model; did you mean {' or '.join(near)}?" in err
    assert "-p compile_backend 'cuda_graph' unknown; choose None (eager), 'cuda-graph'" in err
    assert not work.exists()
    for backbone, backend in (("resnet18", "aot_eager"), ("regnety_002", "inductor-cudagraphs")):
        assert main(["--work", str(work), "-p", "backbone", backbone, "-p", "compile_backend", backend,
                     "--dry-run"]) == 0
    # the independent truth is timm's and torch's own lists; the code that reads them checks too
    assert all(check_backbone(name) == name for name in ("resnet18", "regnety_002", timm.list_models()[-1]))
    assert all(check_compile_backend(name) == name for name in list_backends(exclude_tags=()))
    with pytest.raises(ValueError, match="backbone 'resnet_18': timm has no such model; did you mean resnet18"):
        build_backbone("resnet_18")
    with pytest.raises(ValueError, match="compile_backend 'Inductor' unknown"):
        compile_network(lambda x: x, "Inductor")
    for profile in PROFILES:  # what the profiles choose is known to both
        values = profile_parameters(profile)
        check_backbone(values.get("backbone", "regnety_002"))
        check_compile_backend(values.get("compile_backend"))
    with pytest.raises(ValueError, match=r"profile 'GPU' unknown; choose from \['cpu', 'demo', 'gpu', 'paper'\]"):
        profile_parameters("GPU")


def test_notebook_defaults_read_what_papermill_reads():
    import papermill as pm

    from utils.pipeline import NOTEBOOK_DIR, notebook_defaults
    for notebook in sorted(NOTEBOOK_DIR.glob("*.ipynb")):
        expected = {k: parse_value(v["default"]) for k, v in pm.inspect_notebook(str(notebook)).items()}
        assert repr(notebook_defaults(notebook)) == repr(expected) and len(expected) > 4, notebook.name  # types too


def test_a_damaged_run_json_is_named_when_resuming(tmp_path, capsys):
    from utils.pipeline import main
    work = tmp_path / "w"
    work.mkdir()
    (work / "run.json").write_text('{"args": {"profile": "demo"}, "overr')  # cut part-way by a copy
    assert main(["--work", str(work), "--from", "03"]) == 1
    err = capsys.readouterr().err
    assert f"FAILED: {work / 'run.json'} is not valid JSON (Unterminated string" in err
    assert "it was changed after the kit wrote it" in err


def test_every_choice_the_notebooks_and_profiles_make_is_in_the_choices_table():
    from utils.choices import CHOICES
    from utils.models import BAG_HEADS
    from utils.pipeline import NOTEBOOK_DIR, notebook_defaults
    from utils.profiles import PROFILES
    assert sorted(BAG_HEADS) == sorted(CHOICES["bag_head"])
    declared = {}
    for notebook in NOTEBOOK_DIR.glob("*.ipynb"):
        declared.update(notebook_defaults(notebook))
    assert set(CHOICES) <= set(declared)  # every choice is a notebook parameter
    for name in CHOICES:
        assert declared[name] in CHOICES[name], name
        for profile in PROFILES:
            assert profile_parameters(profile).get(name, declared[name]) in CHOICES[name], (profile, name)


def test_a_profile_name_with_a_typo_is_refused_naming_the_profiles():
    assert profile_parameters("demo")["profile"] == "demo"
    with pytest.raises(ValueError, match=r"profile 'dmeo' unknown; choose from \['cpu', 'demo', 'gpu', 'paper'\]"):
        profile_parameters("dmeo")
