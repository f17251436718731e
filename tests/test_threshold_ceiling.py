"""benchmarks/threshold_ceiling.py: what thresholds tuned on validation cost against those the
test labels would pick, on a hand-built case and on a work folder's saved predictions."""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

from threshold_ceiling import ceiling_table, threshold_rows  # noqa: E402
from utils.rundir import load_run, read_json, save_array  # noqa: E402
from utils.synthetic import hidden_test_targets  # noqa: E402


def test_validation_that_ranks_like_test_but_sits_lower_misses_the_ceiling():
    # Two labels, each bag has one. Validation separates them at 0.2..0.39 (tuned: 0.30, the
    # middle of the best range), test at 0.6..0.79, so 0.30 and 0.5 both predict every label
    # on every test bag: each label's F1 and each bag's F1 is 2*2/(2*2+2) = 2*1/(2*1+1) = 2/3.
    # Thresholds tuned on test separate them perfectly: 1 and 1.
    y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
    p_valid = np.where(y == 1, 0.4, 0.2)
    p_test = np.where(y == 1, 0.8, 0.6)
    mask = np.ones_like(y, dtype=bool)
    rows = {r["thresholds"]: r for r in threshold_rows(y, p_valid, mask, y, p_test, mask)}
    assert list(rows) == ["0.5", "tuned on validation", "tuned on test (ceiling)"]
    for name in ("0.5", "tuned on validation"):
        assert rows[name]["macro_f1"] == pytest.approx(2 / 3) and rows[name]["sample_f1"] == pytest.approx(2 / 3)
    assert rows["tuned on test (ceiling)"]["macro_f1"] == 1.0 and rows["tuned on test (ceiling)"]["sample_f1"] == 1.0
    assert {r["auc_within_stage"] for r in rows.values()} == {1.0}  # thresholds never move an AUC


def test_work_folder_tunes_on_out_of_fold_bags_or_the_validation_split(kfold_work):
    work, comp = kfold_work
    _, _, valid = load_run(work)
    truth = hidden_test_targets(read_json(work / "data.json")["data_dir"], [b.gene_stage for b in comp.test])
    rng = np.random.default_rng(0)

    def noisy(y):  # far on the right side of 0.5, so every threshold set scores the same
        return np.where(y == 1, rng.uniform(0.9, 0.95, y.shape), rng.uniform(0.05, 0.1, y.shape))

    save_array(work / "preds/bag_oof.npy", noisy(np.stack([b.target for b in comp.train])))
    save_array(work / "preds/bag_test.npy", noisy(truth))
    save_array(work / "preds/cnn_valid.npy", noisy(np.stack([b.target for b in valid])))
    save_array(work / "preds/cnn_test.npy", noisy(truth))
    table = ceiling_table(work)
    assert list(table.source) == ["bag"] * 3 + ["cnn"] * 3
    assert list(table.tuned_on_bags) == [len(comp.train)] * 3 + [len(valid)] * 3
    assert (table.macro_f1 == 1.0).all() and (table.sample_f1 == 1.0).all()
