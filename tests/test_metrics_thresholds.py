import numpy as np
import pytest
from sklearn.metrics import f1_score, roc_auc_score

from utils.metrics import (evaluate, f1_macro, f1_samples, roc_auc_macro, roc_auc_per_sample,
                           roc_auc_within_stage)
from utils.thresholds import apply_thresholds, f1_by_threshold, tune_for_sample_f1, tune_thresholds


def _case(seed=0, n=200):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 30)) < 0.15).astype(int)
    y[:, 29] = 0  # a label with a single class in this split
    p = np.clip(0.3 * y + rng.random((n, 30)) * 0.7, 0, 1)
    return y, p


def test_metrics_equal_sklearn():
    y, p = _case()
    auc, n = roc_auc_macro(y, p)
    assert n == 29
    assert auc == pytest.approx(roc_auc_score(y[:, :29], p[:, :29], average="macro"))
    rows = (y.sum(1) > 0)
    assert roc_auc_per_sample(y, p) == pytest.approx(roc_auc_score(y[rows], p[rows], average="samples"))
    pred = (p > 0.5).astype(int)
    assert f1_samples(y, pred) == pytest.approx(f1_score(y, pred, average="samples", zero_division=0))
    assert f1_macro(y, pred, "all") == pytest.approx(f1_score(y, pred, average="macro", zero_division=0))
    assert f1_macro(y, pred) == pytest.approx(
        f1_score(y, pred, labels=list(range(29)), average="macro", zero_division=0))


@pytest.mark.parametrize("seed", range(4))
def test_metrics_equal_sklearn_with_ties_and_empty_rows(seed):
    # The kit scores in numpy (ranks, counts); sklearn is the truth. Probabilities rounded to
    # one decimal tie often, as a saturated model's do; some bags and labels have no positive
    # and no prediction, where F1 is 0 by zero_division=0.
    rng = np.random.default_rng(seed)
    n = 60 + 40 * seed
    y = (rng.random((n, 30)) < 0.2).astype(int)
    y[:, 28] = 0
    y[:, 27] = 1  # a single class either way: no AUC
    y[: 5 + seed] = 0  # bags without a positive label
    p = np.round(np.clip(0.25 * y + 0.75 * rng.random((n, 30)), 0, 1), 1).astype(np.float32)
    pred = (p > 0.5).astype(int)
    pred[:3] = 0  # bags with no prediction, some with no truth either
    pred[:, 28] = 0  # a label with neither truth nor prediction
    scored = [j for j in range(30) if 0 < y[:, j].sum() < n]
    rows = (y.sum(1) > 0) & (y.sum(1) < 30)
    present = [j for j in range(30) if y[:, j].sum() > 0]
    exact = dict(rel=0, abs=1e-12)
    assert roc_auc_macro(y, p) == (pytest.approx(roc_auc_score(y[:, scored], p[:, scored], average="macro"),
                                                 **exact), len(scored))
    assert roc_auc_per_sample(y, p) == pytest.approx(roc_auc_score(y[rows], p[rows], average="samples"), **exact)
    assert f1_samples(y, pred) == pytest.approx(f1_score(y, pred, average="samples", zero_division=0), **exact)
    assert f1_macro(y, pred, "all") == pytest.approx(f1_score(y, pred, average="macro", zero_division=0), **exact)
    assert f1_macro(y, pred) == pytest.approx(
        f1_score(y, pred, labels=present, average="macro", zero_division=0), **exact)
    # evaluate's default predictions: above 0.5, as apply_thresholds makes them (0.5 is not)
    above = (p > 0.5).astype(int)
    assert (p == 0.5).sum() > 0 and evaluate(y, p)["macro_f1"] == pytest.approx(
        f1_score(y, above, labels=present, average="macro", zero_division=0), **exact)


def test_labels_other_than_0_and_1_are_refused_with_their_position():
    y, p = _case()
    bad = y.copy()
    bad[4, 2] = 2
    bad[9, 0] = 3  # the first one is named
    with pytest.raises(ValueError, match="truth must be 0 or 1; found 2 at row 4, label 2"):
        evaluate(bad, p)
    pred = (p > 0.5).astype(int)
    pred[6, 1] = -1
    with pytest.raises(ValueError, match="prediction must be 0 or 1; found -1 at row 6, label 1"):
        f1_samples(y, pred)


def test_within_stage_auc_scores_each_label_on_its_allowed_bags_only():
    y, p = _case(seed=5)
    mask = np.random.default_rng(5).random(y.shape) < 0.6
    y = y * mask  # a label is never present where its stage forbids it
    y[mask[:, 3], 3] = 1  # label 3 present in every bag that allows it: no AUC, left out
    p[~mask] = 0.0  # as 06 writes them: zero where the stage forbids
    expected = [roc_auc_score(y[mask[:, j], j], p[mask[:, j], j]) for j in range(30)
                if 0 < y[mask[:, j], j].sum() < mask[:, j].sum()]
    auc, n = roc_auc_within_stage(y, p, mask)
    assert n == len(expected) == 28 and auc == pytest.approx(np.mean(expected))
    assert auc < roc_auc_macro(y, p)[0] - 0.05  # the forbidden zeros alone would lift it


def test_truth_and_predictions_of_other_shapes_are_refused_naming_both():
    with pytest.raises(ValueError, match=r"shapes differ: truth \(4, 30\), predictions \(4, 29\)"):
        roc_auc_macro(np.eye(4, 30), np.zeros((4, 29)))
    with pytest.raises(ValueError, match=r"shapes differ: truth \(4, 30\), predictions \(3, 30\)"):
        f1_macro(np.eye(4, 30, dtype=int), np.zeros((3, 30), int))


def test_nan_predictions_are_refused_with_their_position():
    y, p = _case()
    p[7, 3] = np.nan
    p[9, 1] = np.inf  # the first one is named
    with pytest.raises(ValueError, match="row 7, label 3"):
        evaluate(y, p)


def test_a_single_label_column_with_a_bad_value_names_its_row():
    with pytest.raises(ValueError, match=r"truth must be 0 or 1; found 2 at row 2$"):
        f1_macro(np.array([0, 1, 2, 1]), np.array([0, 1, 1, 1]))
    assert f1_macro(np.array([0, 1, 1, 0]), np.array([0, 1, 0, 0])) == pytest.approx(
        f1_score([0, 1, 1, 0], [0, 1, 0, 0]))


def test_tuned_thresholds_beat_half():
    rng = np.random.default_rng(1)
    y = (rng.random((400, 30)) < 0.2).astype(int)
    p = np.clip(0.25 * y + 0.3 * rng.random((400, 30)), 0, 1)  # well ranked, all below 0.5
    t = tune_thresholds(y, p)
    at_half = f1_macro(y, apply_thresholds(p, np.full(30, 0.5), at_least_one=False))
    tuned = f1_macro(y, apply_thresholds(p, t))
    assert tuned > at_half + 0.3



def test_each_tuned_threshold_maximises_that_labels_f1_on_the_grid():
    from utils.thresholds import GRID
    y, p = _case(seed=3)
    t = tune_thresholds(y, p)
    for j in range(29):
        by_sklearn = [f1_score(y[:, j], p[:, j] > g, zero_division=0) for g in GRID]
        assert f1_score(y[:, j], p[:, j] > t[j]) == pytest.approx(max(by_sklearn)), j
    assert t[29] == 0.5  # no positives: the default
    assert tune_thresholds(y, p, default=0.9)[29] == 0.9  # the default asked for, not the grid's middle


def test_sample_f1_refinement_improves_and_no_single_threshold_move_helps_more():
    from utils.thresholds import GRID
    y, p = _case(seed=4, n=120)
    t = tune_thresholds(y, p)
    t2 = tune_for_sample_f1(y, p, t)
    best = f1_samples(y, apply_thresholds(p, t2))
    assert best > f1_samples(y, apply_thresholds(p, t)) + 0.005
    for j in range(30):  # a coordinate-wise optimum on the grid it searches
        for value in GRID[::2]:
            trial = t2.copy()
            trial[j] = value
            assert f1_samples(y, apply_thresholds(p, trial)) <= best + 1e-12


def test_sample_f1_refinement_moves_a_threshold_only_for_a_strict_gain():
    # Separated perfectly at the starting thresholds: sample-F1 is 1 and no move can beat it,
    # so every threshold stays where it was (a tie must not drift to another grid value).
    y = np.array([[1, 0], [0, 1], [1, 1], [1, 0]])
    p = np.array([[0.8, 0.1], [0.3, 0.9], [0.9, 0.7], [0.6, 0.2]])
    start = np.array([0.55, 0.45])
    assert f1_samples(y, apply_thresholds(p, start)) == 1.0
    assert tune_for_sample_f1(y, p, start).tolist() == start.tolist()


def test_among_equally_good_thresholds_the_middle_one_is_taken():
    y = np.array([[1], [0], [1], [0]])
    p = np.array([[0.8], [0.3], [0.9], [0.2]])
    # every grid value from 0.30 to 0.79 separates them perfectly: 50 values, the middle is 0.55
    assert tune_thresholds(y, p)[0] == pytest.approx(0.55)


def test_a_probability_equal_to_its_threshold_is_not_a_positive():
    # tuning counts p > t as positive (its F1 curve), so applying must too
    p = np.array([[0.5, 0.49], [0.7, 0.5]])
    pred = apply_thresholds(p, np.array([0.5, 0.5]), at_least_one=False)
    assert pred.tolist() == [[0, 0], [1, 0]]


def test_apply_thresholds_uses_each_labels_own_threshold():
    p = np.array([[0.4, 0.5, 0.96], [0.2, 0.7, 0.9]])
    pred = apply_thresholds(p, np.array([0.3, 0.6, 0.95]), at_least_one=False)
    assert pred.tolist() == [[1, 0, 1], [0, 1, 0]]


def test_apply_thresholds_masks_stages_and_keeps_one_label():
    p = np.array([[0.9, 0.1, 0.2], [0.1, 0.2, 0.3]])
    mask = np.array([[False, True, True], [True, True, True]])
    pred = apply_thresholds(p, np.array([0.5, 0.5, 0.5]), mask)
    assert pred.tolist() == [[0, 0, 1], [0, 0, 1]]


def test_f1_curves_leave_out_bags_whose_stage_forbids_the_label():
    # Label 0 on three bags; the third bag's stage forbids it, so its 0.9 is not a false positive.
    y = np.array([[1], [0], [0]])
    p = np.array([[0.6], [0.3], [0.9]])
    mask = np.array([[True], [True], [False]])
    curve = f1_by_threshold(y, p, grid=np.array([0.5]), mask=mask)
    assert curve[0, 0] == 1.0  # tp 1, fp 0, fn 0 on the two allowed bags
    assert f1_by_threshold(y, p, grid=np.array([0.5]))[0, 0] == pytest.approx(2 / 3)


def test_per_sample_auc_skips_bags_with_every_label_positive():
    y, p = _case()
    y[0] = 1  # no negative label: this bag has no ROC-AUC
    rows = [i for i in range(len(y)) if 0 < y[i].sum() < y.shape[1]]
    expected = np.mean([roc_auc_score(y[i], p[i]) for i in rows])
    assert roc_auc_per_sample(y, p) == pytest.approx(expected)
