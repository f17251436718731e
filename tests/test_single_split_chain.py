"""The chain in single-split mode (no folds), with two seeds (slow: a few minutes).

Its own file, not test_chain.py's: `make test` gives each test file to one of its pytest-xdist
workers, and this test needs only the demo data, not test_chain.py's demo run, so it runs
beside that file's chains instead of after them."""
import numpy as np
import pytest

from utils.pipeline import run_chain
from utils.profiles import profile_parameters
from utils.rundir import load_run, read_json
from utils.submission import validate_auc, validate_f1
from utils.synthetic import generate
from utils.thresholds import tune_thresholds

pytestmark = pytest.mark.slow


def test_single_split_mode_runs_and_another_seed_changes_it(tmp_path):
    demo = profile_parameters("demo")  # the data the demo's 00 builds for seed 0
    data = generate(tmp_path / "data", n_bags=demo["demo_bags"], seed=0, style=demo["demo_style"], workers=2)
    short = {"cnn_epochs": 6, "cnn_lr_T": 6, "temper_start": 2, "temper_half_period": 2, "temper_freeze": 5,
             "lstm_epochs": 8, "warmup_method": "none", "bag_head": "bilstm"}
    runs = {seed: run_chain("demo", data_dir=data, work_dir=tmp_path / f"single-seed{seed}", folds=0,
                            seed=seed, overrides=short, submission_dir=tmp_path / "subs", quiet=True)
            for seed in (0, 1)}
    single = tmp_path / "single-seed0"
    comp, _, valid = load_run(single)
    ids = [b.gene_stage for b in comp.test]
    for seed, out in runs.items():
        validate_f1(out["f1"], ids)
        validate_auc(out["auc"], ids)
        assert read_json(out["manifest"])["seed"] == seed
    auc_files = [open(out["auc"], "rb").read() for out in runs.values()]
    assert auc_files[0] != auc_files[1]  # the seed reaches the run
    assert not (single / "fold0").exists() and (single / "executed/05_bilstm.ipynb").exists()
    p_valid = np.load(single / "preds/bag+floor_valid.npy")  # the blend, tuned on the validation bags
    y, m = np.stack([b.target for b in valid]), np.stack([b.mask for b in valid])
    assert np.allclose(read_json(single / "thresholds.json")["thresholds"], tune_thresholds(y, p_valid, mask=m))
