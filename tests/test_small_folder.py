"""A user's small slice of the data runs the chain, and a failed run resumes as the same run
(slow: the chain on 21 bags, about a minute and a half a run)."""
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import slice_by_genes
from utils.pipeline import ChainFailed, run_chain
from utils.rundir import load_run, read_json
from utils.submission import validate_auc, validate_f1

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parent.parent
OVERRIDES = {"lstm_epochs": 12, "cnn_epochs": 12, "cnn_lr_T": 10}  # must survive a resume


def _valid_files(result, work):
    comp, _, _ = load_run(work)
    ids = [b.gene_stage for b in comp.test]
    validate_f1(result["f1"], ids)
    validate_auc(result["auc"], ids)
    return Path(result["f1"]).read_bytes(), Path(result["auc"]).read_bytes()


@pytest.fixture(scope="module")
def kfold_run(small_dir, tmp_path_factory):
    """3 training genes asked to fill 5 folds: the kit takes 3, says so and records it."""
    root = tmp_path_factory.mktemp("small")
    result = run_chain("demo", data_dir=small_dir, work_dir=root / "ref", seed=3, folds=5,
                       overrides=OVERRIDES, submission_dir=root / "subs", quiet=True)
    return root, result


def test_three_genes_run_the_kfold_chain_with_fewer_folds(kfold_run):
    root, result = kfold_run
    work = root / "ref"
    _valid_files(result, work)
    assert (work / "executed/05_bilstm-fold2.ipynb").exists()
    assert not (work / "executed/03_cnn_tempering-fold3.ipynb").exists()
    chosen = read_json(work / "data.json")["split"]
    assert chosen["n_folds"] == 3 and chosen["genes"] == 3
    assert "3 training genes cannot fill 5 gene-grouped folds: using 3 folds" in chosen["notes"]
    assert read_json(result["manifest"])["data"]["split"]["n_folds"] == 3


def test_three_genes_run_the_single_split_chain(small_dir, kfold_run):
    root, _ = kfold_run
    result = run_chain("demo", data_dir=small_dir, work_dir=root / "single", seed=3, folds=0,
                       overrides=OVERRIDES, submission_dir=root / "subs", quiet=True)
    _valid_files(result, root / "single")
    chosen = read_json(root / "single/data.json")["split"]
    assert chosen["valid_genes"] == 1 and chosen["n_folds"] == 0
    assert any("holds out 1 of 3 gene groups, not 1 of 5" in n for n in chosen["notes"])


def test_the_failure_hint_run_as_printed_resumes_the_same_run(small_dir, kfold_run, tmp_path):
    root, reference = kfold_run
    data = shutil.copytree(small_dir, tmp_path / "slice")
    image = next((data / "train/train").iterdir())
    good = image.read_bytes()
    image.write_bytes(b"not a bmp")
    work = tmp_path / "work"
    cmd = [sys.executable, "-m", "utils.pipeline", "--profile", "demo", "--data", str(data),
           "--work", str(work), "--seed", "3", "--folds", "5", "--submissions", str(tmp_path / "subs")]
    for k, v in OVERRIDES.items():
        cmd += ["-p", k, str(v)]
    failed = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    assert failed.returncode == 1
    assert "00_demo_data failed: DataError" in failed.stderr and image.name in failed.stderr
    hint = failed.stderr.split("fix it, then resume: ")[1].splitlines()[0]
    image.write_bytes(good)  # the user fixes the file ...
    printed = shlex.split(hint)  # ... and runs what the kit printed
    assert printed[:3] == ["python", "-m", "utils.pipeline"] and printed[-2:] == ["--from", "00"]
    resumed = subprocess.run([sys.executable, *printed[1:]], cwd=REPO, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert not (work / "data").exists()  # it read the user's folder, not fresh demo data
    result = read_json(work / "submission.json")
    assert _valid_files(result, work) == _valid_files(reference, root / "ref")


def test_a_one_gene_folder_fails_saying_what_is_needed(small_dir, tmp_path):
    one = slice_by_genes(small_dir, tmp_path / "one", train_sizes=(5,), test_sizes=(4,))
    with pytest.raises(ChainFailed) as err:
        run_chain("demo", data_dir=one, work_dir=tmp_path / "w", quiet=True)
    message = str(err.value)
    assert "needs training bags of at least 2 genes to hold one out; found 1" in message
    assert "Add training bags of another gene" in message
