"""utils.ensemble on hand-built members: the mean, thresholds tuned again on it, and the
refusal of runs whose probabilities belong to other bags. The whole command on two runs of
the demo chain is in test_chain.py."""
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from utils.ensemble import average_members, check_aligned
from utils.metrics import evaluate
from utils.thresholds import apply_thresholds, tune_for_sample_f1, tune_thresholds


def _members(n_members=3, n_bags=100, objective="macro", seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n_bags, 30)) < 0.3).astype(int)
    mask = (rng.random((n_bags, 30)) < 0.9).astype(int)
    bags = [SimpleNamespace(gene_stage=f"g{i}_s3", target=y[i], mask=mask[i]) for i in range(n_bags)]
    members = []
    for k in range(n_members):
        p_tune = np.clip(0.6 * y + rng.normal(0.2, 0.25, y.shape), 0, 1)  # noisy, each member its own noise
        members.append({"work_dir": Path(f"runs/r{k}"), "data": {"data_dir": "data/x", "fingerprint": "f0"},
                        "objective": objective,
                        "tune_ids": [b.gene_stage for b in bags], "tune_bags": bags,
                        "p_tune": p_tune, "p_test": rng.random((7, 30))})
    return members, y, mask


@pytest.mark.parametrize("objective", ["macro", "sample"])
def test_the_mean_is_tuned_again_as_06_tunes(objective):
    members, y, mask = _members(objective=objective)
    got = average_members(members)
    mean = sum(m["p_tune"] for m in members) / 3
    assert np.allclose(got["p_tune"], mean) and np.allclose(got["p_test"], sum(m["p_test"] for m in members) / 3)
    expected = tune_thresholds(y, mean, mask=mask)
    if objective == "sample":
        refined = tune_for_sample_f1(y, mean, expected, mask=mask)
        assert (refined != expected).sum() >= 3  # the refinement moves some thresholds here
        expected = refined
    assert np.array_equal(got["thresholds"], expected)
    assert got["valid_tuned"] == evaluate(y, mean, apply_thresholds(mean, expected, mask), mask=mask)


def test_averaging_independent_noise_helps_here():
    # Three members with independent noise: their mean ranks better than each alone (a
    # property of the data built above, checked so that the case is not a degenerate one).
    members, y, mask = _members()
    got = average_members(members)
    alone = [average_members([m])["valid_tuned"]["auc_within_stage"] for m in members]
    assert got["valid_tuned"]["auc_within_stage"] > max(alone)


@pytest.mark.parametrize("change, words", [
    ({"data": {"data_dir": "data/other", "fingerprint": "f0"}}, "ran on other data"),
    ({"data": {"data_dir": "data/x", "fingerprint": "f1"}}, "ran on other data"),  # regenerated there
    ({"tune_ids": [f"h{i}_s3" for i in range(100)]}, "tuned their thresholds on other bags"),
    ({"objective": "sample"}, "tuned for other objectives"),
])
def test_runs_of_other_bags_are_refused_naming_both(change, words):
    members, _, _ = _members(n_members=2)
    members[1].update(change)
    with pytest.raises(ValueError, match=words) as err:
        check_aligned(members)
    assert "runs/r0 and runs/r1" in str(err.value)
    with pytest.raises(ValueError, match=words):
        average_members(members)
