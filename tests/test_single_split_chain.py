"""The chain in single-split mode (no folds), two seeds: valid files, the seed reaches the run,
and 06 blends and tunes on the validation bags alone (slow: about 4 minutes).

Its own file, not test_chain.py's: `make test` gives each test file to one of its pytest-xdist
workers, and this test needs only the demo data, not test_chain.py's demo run, so it runs
beside that file's chains instead of after them."""
from pathlib import Path

import numpy as np
import pytest
from conftest import check_blend_and_thresholds

from utils.blend import floor_for_run
from utils.cache import build_cache
from utils.pipeline import run_chain
from utils.profiles import profile_parameters
from utils.rundir import load_run, read_json
from utils.submission import validate_auc, validate_f1
from utils.synthetic import generate

pytestmark = pytest.mark.slow


def test_single_split_mode_runs_and_another_seed_changes_it(tmp_path):
    demo = profile_parameters("demo")  # the data the demo's 00 builds for seed 0
    data = generate(tmp_path / "data", n_bags=demo["demo_bags"], seed=0, style=demo["demo_style"], workers=2)
    short = {"cnn_epochs": 6, "cnn_lr_T": 6, "temper_start": 2, "temper_half_period": 2, "temper_freeze": 5,
             "lstm_epochs": 8, "warmup_method": "none", "bag_head": "bilstm"}
    runs = {seed: run_chain("demo", data_dir=data, work_dir=tmp_path / f"single-seed{seed}", folds=0,
                            seed=seed, overrides=short, submission_dir=tmp_path / "subs", quiet=True)
            for seed in (0, 1)}
    auc_files = [Path(out["auc"]).read_bytes() for out in runs.values()]
    assert auc_files[0] != auc_files[1]  # the seed reaches the run
    weights = []
    for seed, out in runs.items():
        work = tmp_path / f"single-seed{seed}"
        comp, _, valid = load_run(work)
        ids = [b.gene_stage for b in comp.test]
        validate_f1(out["f1"], ids)
        validate_auc(out["auc"], ids)
        assert read_json(out["manifest"])["seed"] == seed
        assert not (work / "fold0").exists() and (work / "executed/05_bilstm.ipynb").exists()
        # The blend and thresholds come from the validation bags alone (no folds).
        y, m = np.stack([b.target for b in valid]), np.stack([b.mask for b in valid])
        weights.append(check_blend_and_thresholds(work, y, m, np.load(work / "preds/bag_valid.npy"),
                                                  floor_for_run(work, build_cache(comp, work)), "valid"))
    # At weight 0 the blend is the floor itself, and the check above cannot tell them apart:
    # on this data seed 0 chose weight 0, seed 1 weight 0.5.
    assert any(w > 0 for w in weights), f"every run chose the floor alone: weights {weights}"
