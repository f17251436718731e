import csv
import re

import numpy as np
import pytest

from utils.submission import SubmissionError, new_submission_folder, validate_auc, validate_f1, write_auc, write_f1

IDS = ["CG1_s2", "CG2_s6", "CG3_s4"]


def test_both_formats_round_trip(tmp_path):
    pred = np.zeros((3, 30), int)
    pred[0, [0, 8]] = 1
    pred[1, 2] = 1
    f1 = write_f1(tmp_path / "f1.csv", IDS, pred)
    rows = list(csv.reader(open(f1)))
    assert rows[0] == ["Id", "labels"] and rows[1] == ["CG1_s2", "0 8"] and rows[2] == ["CG2_s6", "2"]
    prob = np.random.default_rng(0).random((3, 30))
    auc = write_auc(tmp_path / "auc.csv", IDS, prob)
    rows = list(csv.reader(open(auc)))
    assert rows[0][:2] == ["Id", "label0"] and len(rows[0]) == 31 and len(rows) == 4
    assert float(rows[2][5]) == pytest.approx(prob[1, 4], abs=1e-6)


def test_probabilities_of_exactly_0_and_1_are_kept(tmp_path):
    prob = np.zeros((3, 30))
    prob[1] = 1.0
    rows = list(csv.reader(open(write_auc(tmp_path / "auc.csv", IDS, prob))))
    assert rows[1][1:] == ["0.000000"] * 30 and rows[2][1:] == ["1.000000"] * 30


def test_nan_predictions_are_refused_and_nothing_is_written(tmp_path):
    prob = np.full((3, 30), 0.5)
    prob[1, 7] = prob[2, 3] = np.nan
    with pytest.raises(SubmissionError, match=r"2 non-finite value\(s\), first at row 1 \(CG2_s6\), label 7"):
        write_auc(tmp_path / "auc.csv", IDS, prob)
    assert list(tmp_path.iterdir()) == []
    prob[1, 7] = np.inf
    with pytest.raises(SubmissionError, match="non-finite"):
        write_f1(tmp_path / "f1.csv", IDS, prob)


@pytest.mark.parametrize("shape", [(3, 29), (2, 30), (90,)])
def test_predictions_of_the_wrong_shape_are_refused_naming_both_shapes(tmp_path, shape):
    for writer in (write_f1, write_auc):
        with pytest.raises(SubmissionError, match=re.escape(f"shape {shape}, expected (3, 30)")):
            writer(tmp_path / "s.csv", IDS, np.zeros(shape))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("writer, values, message", [
    (write_f1, np.full((3, 30), 0.7), "F1 predictions must be 0/1"),        # probabilities, not labels
    (write_f1, np.where(np.eye(3, 30), 2, 0), "F1 predictions must be 0/1"),  # a stray value among labels
    (write_auc, np.where(np.eye(3, 30), 1.2, 0.5), r"AUC probabilities must lie in \[0, 1\]"),
    (write_auc, np.full((3, 30), 1.2), r"AUC probabilities must lie in \[0, 1\]"),
    (write_auc, np.full((3, 30), -0.1), r"AUC probabilities must lie in \[0, 1\]"),
    (write_auc, np.where(np.eye(3, 30), -0.1, 0.5), r"AUC probabilities must lie in \[0, 1\]"),
])
def test_writers_refuse_values_outside_their_format(tmp_path, writer, values, message):
    with pytest.raises(SubmissionError, match=message):
        writer(tmp_path / "s.csv", IDS, values)
    assert list(tmp_path.iterdir()) == []


def test_a_file_that_fails_validation_is_never_left_under_its_name(tmp_path):
    # the rows are written in the order given; validation against the test order refuses them
    with pytest.raises(SubmissionError, match="line 2: Id 'CG3_s4', expected 'CG1_s2'"):
        write_f1(tmp_path / "f1.csv", IDS[::-1], np.zeros((3, 30), int), test_ids=IDS)
    assert list(tmp_path.iterdir()) == []


def test_never_overwrites(tmp_path):
    write_f1(tmp_path / "f1.csv", IDS, np.zeros((3, 30), int))
    with pytest.raises(FileExistsError):
        write_f1(tmp_path / "f1.csv", IDS, np.ones((3, 30), int))


@pytest.mark.parametrize("content,message", [
    ("Id,label\nCG1_s2,0\nCG2_s6,1\nCG3_s4,2\n", "header"),
    ("Id,labels\nCG1_s2,0\nCG3_s4,1\nCG2_s6,2\n", "line 3: Id 'CG3_s4', expected 'CG2_s6'"),
    ("Id,labels\nCG1_s2,0\nCG2_s6,1\n", "2 rows, the test set has 3"),
    ("Id,labels\nCG1_s2,0\nCG2_s6,31\nCG3_s4,2\n", "line 3: label '31'"),
    ("Id,labels\nCG1_s2,0\nCG2_s6,29\nCG3_s4,30\n", "line 4: label '30' is not in 0..29"),  # 30 labels: 0..29
    ("Id,labels\nCG1_s2,0\nCG2_s6,1,2\nCG3_s4,2\n", "line 3: 3 fields, expected 2"),
    ("Id,labels\nCG1_s2,0\nCG2_s6,1\nCG3_s4,two\n", "line 4: label 'two' is not in 0..29"),
])
def test_f1_validator_names_line_and_value(tmp_path, content, message):
    path = tmp_path / "s.csv"
    path.write_text(content)
    with pytest.raises(SubmissionError, match=message.replace("(", r"\(")):
        validate_f1(path, IDS)


HEADER = "Id," + ",".join(f"label{i}" for i in range(30))
GOOD = ",".join(["0.5"] * 30)


@pytest.mark.parametrize("content,message", [
    (f"{HEADER}\nCG1_s2,{GOOD}\nCG2_s6,{GOOD.replace('0.5', '1.5', 1)}\nCG3_s4,{GOOD}\n",
     "line 3: label0 '1.5' is outside [0, 1]"),
    (f"{HEADER}\nCG1_s2,{GOOD}\nCG2_s6,{GOOD}\nCG3_s4,{GOOD[:-3]}high\n", "line 4: label29 'high' is not a number"),
    (f"{HEADER}\nCG1_s2,{GOOD[:4]}nan{GOOD[7:]}\nCG2_s6,{GOOD}\nCG3_s4,{GOOD}\n", "line 2: label1 'nan' is outside"),
    (f"{HEADER}\nCG1_s2,{GOOD}\nCG2_s6,{GOOD},0.5\nCG3_s4,{GOOD}\n", "line 3: 32 fields, expected 31"),
    (f"{HEADER}\nCG1_s2,{GOOD}\nCG2_s6,{GOOD}\nCG3_s4,{GOOD[4:]}\n", "line 4: 30 fields, expected 31"),
    (f"{HEADER.replace('label7', 'label_7')}\nCG1_s2,{GOOD}\n", "line 1: header"),
    (f"{HEADER}\nCG1_s2,{GOOD}\nCG3_s4,{GOOD}\nCG2_s6,{GOOD}\n", "line 3: Id 'CG3_s4', expected 'CG2_s6'"),
])
def test_auc_validator_names_line_column_and_value(tmp_path, content, message):
    path = tmp_path / "s.csv"
    path.write_text(content)
    with pytest.raises(SubmissionError) as err:
        validate_auc(path, IDS)
    assert str(err.value).startswith(str(path)) and message in str(err.value)


def test_atomic_path_leaves_nothing_behind_on_failure(tmp_path):
    from utils.atomic import atomic_path
    target = tmp_path / "out.csv"
    target.write_text("earlier result")
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "earlier result"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]
    with atomic_path(tmp_path / "fold2/preds/new.npy") as tmp:  # its folders are made as needed
        tmp.write_text("x")
    assert (tmp_path / "fold2/preds/new.npy").read_text() == "x"


def test_blank_lines_are_skipped_and_lines_keep_their_numbers_in_the_file(tmp_path):
    path = tmp_path / "s.csv"
    path.write_text("Id,labels\nCG1_s2,0\n\nCG2_s6,1\nCG3_s4,x\n")  # a label that is no number, on line 5
    with pytest.raises(SubmissionError, match="line 5: label 'x'"):
        validate_f1(path, IDS)
    path.write_text("Id,labels\n\nCG1_s2,0\r\n\r\nCG2_s6,1\nCG3_s4,2\n\n")
    validate_f1(path, IDS)


@pytest.mark.parametrize("content,message", [
    ("Id,labels\nCG1_s2,0\nCG2_s6,²\nCG3_s4,2\n", "line 3: label '²' is not in 0..29"),  # str.isdigit() is True
    ("Id,labels\nCG1_s2,0\nCG2_s6,1\nCG3_s4,٢\n", "line 4: label '٢' is not in 0..29"),  # an Arabic-Indic 2
])
def test_f1_labels_are_ascii_digits(tmp_path, content, message):
    path = tmp_path / "s.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(SubmissionError, match=message):
        validate_f1(path, IDS)


def _kaggle_files(folder, ids):
    rng = np.random.default_rng(0)
    prob = rng.random((len(ids), 30))
    return write_f1(folder / "f1.csv", ids, (prob > 0.7).astype(int)), write_auc(folder / "auc.csv", ids, prob)


def test_the_command_line_without_a_command_shows_its_usage(capsys):
    from utils.submission import main

    with pytest.raises(SystemExit) as stop:  # argparse's usage error, not a traceback
        main([])
    assert stop.value.code == 2 and "required: command" in capsys.readouterr().err


def test_check_command_tells_the_formats_apart_and_names_what_is_wrong(demo_dir, tmp_path, capsys):
    from utils.data import read_competition
    from utils.submission import main

    ids = [b.gene_stage for b in read_competition(demo_dir, check_images=False).test]
    f1, auc = _kaggle_files(tmp_path, ids)
    assert main(["check", str(f1), str(auc), "--data", str(demo_dir)]) == 0
    out = capsys.readouterr().out
    assert f"{f1}: a valid F1 submission, {len(ids)} rows in test order" in out
    assert f"{auc}: a valid AUC submission, {len(ids)} rows in test order" in out

    blend = tmp_path / "blend.csv"  # a hand-made blend, saved by Excel with its own encoding
    lines = auc.read_text().splitlines(keepends=True)
    lines[4] = lines[4].replace(",", ",é", 1)
    blend.write_bytes("".join(lines).encode("cp1252"))
    shuffled = tmp_path / "shuffled.csv"
    shuffled.write_text("".join([lines[0], lines[2], lines[1]] + lines[3:]))
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("id,predicted\n")
    assert main(["check", str(f1), str(blend), str(shuffled), str(wrong), "--data", str(demo_dir)]) == 1
    captured = capsys.readouterr()
    assert f"{f1}: a valid F1 submission" in captured.out
    assert f"INVALID: {blend} line 5: byte 0xe9 is not UTF-8 text" in captured.err
    assert f"INVALID: {shuffled} line 2: Id {ids[1]!r}, expected {ids[0]!r} (test order)" in captured.err
    assert f"INVALID: {wrong} line 1: header ['id', 'predicted'] is neither" in captured.err


@pytest.mark.parametrize("kind", ["F1", "AUC"])
def test_random_corruptions_of_a_submission_are_valid_or_named(tmp_path, kind):
    """Either the validator accepts the file or it raises SubmissionError naming it; never
    another exception (a blank row once raised IndexError)."""
    import random

    from conftest import corrupt
    from utils.submission import validate_file

    ids = [f"CG{i:04d}_s{2 + i % 5}" for i in range(40)]
    good = _kaggle_files(tmp_path, ids)[kind == "AUC"]
    original, rng, path, reported = good.read_bytes(), random.Random(0), tmp_path / "s.csv", 0
    for trial in range(300):
        path.write_bytes(corrupt(original, rng))
        try:
            validate_file(path, ids)
        except SubmissionError as e:
            assert str(e).startswith(str(path)), (trial, str(e))
            reported += 1
    assert reported > 200  # 286 of 300 for F1, 283 for AUC


def test_the_manifest_code_version_is_the_commit_marked_dirty_with_uncommitted_changes(tmp_path):
    """A submission's manifest names the kit's commit, so a score can be traced to the code;
    '+dirty' when tracked files changed since (untracked ones do not count), 'unknown' outside git."""
    import subprocess

    from utils.submission import code_version

    def git(*args):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=tmp_path,
                              capture_output=True, text=True, check=True).stdout.strip()

    assert code_version(tmp_path) == "unknown"
    git("init", "-q")
    (tmp_path / "kit.py").write_text("x = 1\n")
    git("add", "kit.py")
    git("commit", "-qm", "first")
    head = git("rev-parse", "HEAD")
    (tmp_path / "notes.txt").write_text("untracked\n")
    assert code_version(tmp_path) == head and len(head) == 40
    (tmp_path / "kit.py").write_text("x = 2\n")
    assert code_version(tmp_path) == head + "+dirty"


def test_check_command_reads_the_csvs_alone(demo_dir, tmp_path, capsys):
    """Checking a file needs the test CSV's bags and order, not the images: decoding them all
    is slow at the real size (34,672 images), and a folder of CSVs alone must do."""
    import shutil

    from utils.data import read_competition
    from utils.submission import main

    csvs = tmp_path / "csvs"
    for part in ("train/train.csv", "test/test_without_label.csv"):
        (csvs / part).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(demo_dir / part, csvs / part)
    ids = [b.gene_stage for b in read_competition(demo_dir, check_images=False).test]
    f1, _ = _kaggle_files(tmp_path, ids)
    assert main(["check", str(f1), "--data", str(csvs)]) == 0
    assert f"{f1}: a valid F1 submission, {len(ids)} rows in test order" in capsys.readouterr().out


def test_check_command_names_a_missing_file_and_a_bad_competition_folder(demo_dir, tmp_path, capsys):
    from utils.data import read_competition
    from utils.submission import main, validate_file

    ids = [b.gene_stage for b in read_competition(demo_dir, check_images=False).test]
    missing = tmp_path / "not_there.csv"
    with pytest.raises(SubmissionError, match="not_there.csv"):
        validate_file(missing, ids)
    f1, _ = _kaggle_files(tmp_path, ids)
    assert main(["check", str(missing), str(f1), "--data", str(demo_dir)]) == 1
    captured = capsys.readouterr()
    assert "INVALID: " in captured.err and str(missing) in captured.err and f"{f1}: a valid F1" in captured.out
    assert main(["check", str(f1), "--data", str(tmp_path / "no_folder")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("INVALID competition folder: ") and f"{tmp_path / 'no_folder'}/test/test_without_label.csv: file not found" in err
    with pytest.raises(SystemExit):  # no folder to check against: the usage, not a traceback
        main(["check", str(f1)])
    assert "the following arguments are required: --data" in capsys.readouterr().err


def test_each_run_gets_a_new_submission_folder_even_in_the_same_second(tmp_path):
    first = new_submission_folder(tmp_path / "subs", "demo-seed0", stamp="20261205-120000")
    (first / "submission_f1.csv").write_text("Id,labels\n")
    again = [new_submission_folder(tmp_path / "subs", "demo-seed0", stamp="20261205-120000") for _ in range(2)]
    assert [p.name for p in again] == ["demo-seed0-20261205-120000x", "demo-seed0-20261205-120000xx"]
    assert all(p.is_dir() and not any(p.iterdir()) for p in again)  # new and empty
    assert (first / "submission_f1.csv").read_text() == "Id,labels\n"  # the first run's file untouched
    assert new_submission_folder(tmp_path / "subs", "demo-seed1").name.startswith("demo-seed1-20")
    nested = new_submission_folder(tmp_path / "not/made/yet", "demo-seed0")  # --submissions in a new folder
    assert nested.is_dir() and nested.parent == tmp_path / "not/made/yet"


def test_the_manifest_keeps_its_fields_and_the_versions_that_made_the_files(tmp_path):
    import json
    import platform

    import torch

    from utils.submission import write_manifest
    path = write_manifest(tmp_path / "manifest.json", seed=3, source="bag+floor")
    manifest = json.loads(path.read_text())
    assert (manifest["seed"], manifest["source"]) == (3, "bag+floor")
    assert manifest["environment"]["torch"] == torch.__version__
    assert manifest["environment"]["python"] == platform.python_version()
