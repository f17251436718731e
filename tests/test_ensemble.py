"""utils.ensemble on hand-built members: the mean, thresholds tuned again on it, and the
refusal of runs whose probabilities belong to other bags. The whole command on two runs of
the demo chain is in test_chain.py."""
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from utils.ensemble import average_members, check_aligned, load_member, scores_table
from utils.ensemble import main as ensemble_main
from utils.metrics import evaluate
from utils.rundir import read_json, save_array, write_json
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


def test_a_weight_of_0_leaves_a_run_out():
    """A weight may be 0 (finite and at least 0, says the README): that run is left out of the mean."""
    members, _, _ = _members()
    got, alone = average_members(members, weights=[2, 0, 1]), average_members([members[0], members[2]], weights=[2, 1])
    assert np.array_equal(got["p_tune"], alone["p_tune"]) and np.array_equal(got["thresholds"], alone["thresholds"])


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
    if "data" in change:  # and what each of them ran on
        assert "('data/x', 'f0') and " + str((change["data"]["data_dir"], change["data"]["fingerprint"])) in str(err.value)
    if "objective" in change:
        assert "objectives: macro and sample" in str(err.value)  # in the runs' order
    with pytest.raises(ValueError, match=words):
        average_members(members)


def _finished(work, comp, source="bag+floor", objective="sample"):
    """What 06 leaves in a K-fold work folder: thresholds.json and the probabilities it tuned on."""
    write_json(work / "thresholds.json", {"source": source, "objective": objective,
                                          "valid_tuned": {"auc_within_stage": 0.7, "macro_f1": 0.5, "sample_f1": 0.6},
                                          "thresholds": [0.5] * 30})
    rng = np.random.default_rng(1)
    p_oof, p_test = rng.random((len(comp.train), 30)), rng.random((len(comp.test), 30))
    save_array(work / f"preds/{source}_oof.npy", p_oof)
    save_array(work / f"preds/{source}_test.npy", p_test)
    return p_oof, p_test


@pytest.mark.parametrize("kfold_work", [2, 3], indirect=True)  # 2 folds are K folds too
def test_a_kfold_member_is_every_training_bag_out_of_fold_and_the_test_bags(kfold_work):
    work, comp = kfold_work
    p_oof, p_test = _finished(work, comp)
    member = load_member(work)
    assert member["source"] == "bag+floor" and member["objective"] == "sample"
    assert member["tune_ids"] == [b.gene_stage for b in comp.train]  # train.csv order, as 06 gathers
    assert np.array_equal(member["p_tune"], p_oof) and np.array_equal(member["p_test"], p_test)


def test_a_member_whose_file_has_other_labels_is_refused_naming_the_shapes(kfold_work):
    work, comp = kfold_work
    _, p_test = _finished(work, comp)
    save_array(work / "preds/bag+floor_test.npy", p_test[:, :29])
    with pytest.raises(ValueError, match=rf"bag\+floor_test.npy: shape \({len(comp.test)}, 29\), "
                                         rf"expected \({len(comp.test)}, 30\)"):
        load_member(work)
    (work / "preds/bag+floor_oof.npy").unlink()  # 06 stopped before writing it: name the file and 06
    with pytest.raises(FileNotFoundError, match=r"preds/bag\+floor_oof.npy \(from 06_threshold_tuning\)"):
        load_member(work)
    (work / "thresholds.json").unlink()  # 06 has not run: say so
    with pytest.raises(FileNotFoundError, match=r"thresholds.json \(from 06_threshold_tuning\)"):
        load_member(work)


@pytest.mark.parametrize("bags, column", [("hidden test", "hidden test"), ("out-of-fold", "tuning bags (tuned there)")])
def test_the_floors_stand_beside_the_ensemble_on_the_bags_07_scored_them_on(kfold_work, bags, column):
    work, comp = kfold_work
    _finished(work, comp)
    write_json(work / "scores/floors.json", [  # as 07 writes it, one row a floor and set of bags
        {"floor": floor, "bags": bags, "auc_within_stage": a, "macro_f1": f, "sample_f1": f + 0.1}
        for floor, a, f in (("stage prior", 0.5, 0.1), ("thumbnails + logistic regression", 0.7, 0.3))])
    members = [load_member(work)]
    table = scores_table(members, average_members(members), {"test_hidden": None})
    other = ({"hidden test", "tuning bags (tuned there)"} - {column}).pop()
    suffix = "" if bags == "hidden test" else " (oof)"
    assert table.index.name == "within-stage AUC / macro-F1 / sample-F1"  # the table says what its cells are
    assert table.loc["floor: stage prior", column] == "0.500 / 0.100 / 0.200" + suffix
    assert table.loc["floor: thumbnails + logistic regression", column] == "0.700 / 0.300 / 0.400" + suffix
    assert (table.loc[["floor: stage prior", "floor: thumbnails + logistic regression"], other] == "-").all()


def test_the_command_writes_a_weighted_ensemble_and_refuses_wrong_weights(kfold_work, tmp_path, capsys):
    work, comp = kfold_work
    p_oof, p_test = _finished(work, comp)
    other = tmp_path / "other"
    shutil.copytree(work, other)
    q_oof, q_test = p_oof ** 3, p_test ** 3  # another member on the same bags
    save_array(other / "preds/bag+floor_oof.npy", q_oof)
    save_array(other / "preds/bag+floor_test.npy", q_test)
    subs = tmp_path / "subs"
    assert ensemble_main([str(work), str(other), "--weights", "3", "1", "--submission-dir", str(subs)]) == 0
    said = capsys.readouterr().out
    out = next(subs.glob("ensemble-2runs-*"))
    assert "ensemble of 2 (weights 3, 1)" in said
    assert f"F1 file:  {out / 'submission_f1.csv'}\nAUC file: {out / 'submission_auc.csv'}" in said  # where they are
    mean_oof, mean_test = (3 * p_oof + q_oof) / 4, (3 * p_test + q_test) / 4
    y, mask = (np.stack([getattr(b, a) for b in comp.train]) for a in ("target", "mask"))
    thresholds = tune_for_sample_f1(y, mean_oof, tune_thresholds(y, mean_oof, mask=mask), mask=mask)
    manifest = read_json(out / "manifest.json")
    assert manifest["weights"] == [3.0, 1.0] and manifest["thresholds"] == thresholds.tolist()
    pred = apply_thresholds(mean_test, thresholds, np.stack([b.mask for b in comp.test]))
    rows = [line.split(",") for line in (out / "submission_f1.csv").read_text().splitlines()[1:]]
    assert [r[1] for r in rows] == [" ".join(str(j) for j in np.flatnonzero(p)) for p in pred]
    for weights, words in [(["1"], "1 weights for 2 runs"), (["2", "-1"], "at least 0"),
                           (["0", "0"], "not all 0"), (["nan", "1"], "weights must be finite")]:
        assert ensemble_main([str(work), str(other), "--weights", *weights, "--submission-dir", str(subs),
                              "--name", "bad"]) == 2
        assert words in capsys.readouterr().err
    assert not list(subs.glob("bad-*"))
    # the weights are checked before any run is read: a wrong count is named, not the missing run
    assert ensemble_main([str(work), str(tmp_path / "no_run"), "--weights", "1", "--submission-dir", str(subs)]) == 2
    assert "1 weights for 2 runs" in capsys.readouterr().err
