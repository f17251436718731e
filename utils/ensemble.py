"""Several finished runs averaged into one submission: the Kaggle seed or model ensemble.

    python -m utils.ensemble runs/demo-seed0 runs/demo-seed1 runs/demo-seed2 [--weights 2 1 1] [--name NAME]

Each run gives the bag probabilities that 06 tuned its thresholds on (out of fold in K-fold
mode, else its validation split) and its test probabilities, for the `source` it submitted.
Their mean is tuned again with 06's objective, and both Kaggle files are written as 07
writes them, in a new folder, with a manifest naming the runs. Averaging needs the same
tuning bags in every run: K-fold runs always score every training bag, whatever their seed;
single-split runs only share a split when they share the seed that drew it. The members'
scores on those bags stand beside the ensemble's (hidden test labels too, for generated data).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .folds import load_finite, n_folds_of
from .metrics import evaluate
from .rundir import load_run, read_json, require
from .runs import FLOORS, floor_summary, scores_text
from .submission import code_version, new_submission_folder, write_auc, write_f1, write_manifest
from .synthetic import hidden_test_targets
from .thresholds import apply_thresholds, tune_for_sample_f1, tune_thresholds


def load_member(work_dir) -> dict:
    """One finished run: its tuning and test probabilities with the bags they belong to."""
    work_dir = Path(work_dir)
    require(work_dir, "thresholds.json", "data.json", "split.csv")
    tuned = read_json(work_dir / "thresholds.json")
    source = tuned["source"]
    comp, _, valid = load_run(work_dir)
    kfold = n_folds_of(work_dir) >= 2  # 06 tuned on every training bag, out of fold
    tune_name, test_name = f"preds/{source}_{'oof' if kfold else 'valid'}.npy", f"preds/{source}_test.npy"
    tune_bags = comp.train if kfold else valid
    require(work_dir, tune_name, test_name)
    member = {"work_dir": work_dir, "source": source, "objective": tuned.get("objective", "macro"),
              "data": read_json(work_dir / "data.json"), "comp": comp,
              "tune_ids": [b.gene_stage for b in tune_bags], "tune_bags": tune_bags,
              "valid_tuned": tuned["valid_tuned"]}
    for part, name, bags in (("p_tune", tune_name, tune_bags), ("p_test", test_name, comp.test)):
        path = work_dir / name
        p = load_finite(path, [b.gene_stage for b in bags])
        if p.shape != (len(bags), 30):
            raise ValueError(f"{path}: shape {p.shape}, expected ({len(bags)}, 30) for the run's bags")
        member[part] = p
    return member


def check_aligned(members: list[dict]) -> None:
    """Refuse runs whose probabilities do not belong to the same bags, naming the two runs."""
    first = members[0]
    for m in members[1:]:
        pair = f"{first['work_dir']} and {m['work_dir']}"
        seen = [(r["data"]["data_dir"], r["data"].get("fingerprint")) for r in (first, m)]
        if seen[0] != seen[1]:
            raise ValueError(f"{pair} ran on other data (folder, fingerprint): {seen[0]} and {seen[1]}")
        if m["tune_ids"] != first["tune_ids"]:
            raise ValueError(f"{pair} tuned their thresholds on other bags (single splits drawn with other "
                             "seeds?): ensemble K-fold runs (--folds K), whose out-of-fold predictions "
                             "cover every training bag, or single-split runs of one seed")
        if m["objective"] != first["objective"]:
            raise ValueError(f"{pair} tuned for other objectives: {first['objective']} and {m['objective']}")


def check_weights(weights, n_members: int) -> np.ndarray:
    """One finite, non-negative weight a run, not all zero."""
    weights = np.asarray(weights, dtype=float)
    if weights.shape != (n_members,):
        raise ValueError(f"{len(weights)} weights for {n_members} runs: give one a run")
    if not np.isfinite(weights).all() or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"weights must be finite, at least 0 and not all 0: {weights.tolist()}")
    return weights


def average_members(members: list[dict], weights=None) -> dict:
    """The members' mean probabilities (weighted, if given), thresholds tuned on them as 06
    tunes, and scores."""
    check_aligned(members)
    first = members[0]
    y = np.stack([b.target for b in first["tune_bags"]])
    mask = np.stack([b.mask for b in first["tune_bags"]])
    if weights is not None:
        weights = check_weights(weights, len(members))
    p_tune = np.average([m["p_tune"] for m in members], axis=0, weights=weights)  # no weights: the plain mean
    p_test = np.average([m["p_test"] for m in members], axis=0, weights=weights)
    thresholds = tune_thresholds(y, p_tune, mask=mask)
    if first["objective"] == "sample":
        thresholds = tune_for_sample_f1(y, p_tune, thresholds, mask=mask)
    tuned = evaluate(y, p_tune, apply_thresholds(p_tune, thresholds, mask), mask=mask)
    return {"p_tune": p_tune, "p_test": p_test, "thresholds": thresholds, "valid_tuned": tuned,
            "weights": None if weights is None else weights.tolist()}


def write_ensemble(members: list[dict], ensemble: dict, submission_dir, name: str) -> dict:
    """Both Kaggle files and a manifest in a new folder; the hidden test scores where known."""
    comp = members[0]["comp"]
    ids = [b.gene_stage for b in comp.test]
    m_test = np.stack([b.mask for b in comp.test])
    pred = apply_thresholds(ensemble["p_test"], ensemble["thresholds"], m_test)
    out = new_submission_folder(submission_dir, name)
    f1_path = write_f1(out / "submission_f1.csv", ids, pred)
    auc_path = write_auc(out / "submission_auc.csv", ids, np.clip(ensemble["p_test"], 0, 1))
    y_test = hidden_test_targets(members[0]["data"]["data_dir"], ids)
    test_scores = None if y_test is None else evaluate(y_test, ensemble["p_test"], pred, mask=m_test)
    manifest = write_manifest(out / "manifest.json", ensemble_of=[str(m["work_dir"]) for m in members],
                              weights=ensemble["weights"],
                              sources=[m["source"] for m in members], objective=members[0]["objective"],
                              data=members[0]["data"], code_version=code_version(),
                              valid_scores=ensemble["valid_tuned"], test_hidden=test_scores,
                              thresholds=ensemble["thresholds"].tolist(),
                              files={"f1": f1_path.name, "auc": auc_path.name})
    return {"f1": f1_path, "auc": auc_path, "manifest": manifest, "test_hidden": test_scores}


def scores_table(members: list[dict], ensemble: dict, written: dict) -> pd.DataFrame:
    """Within-stage AUC / macro-F1 / sample-F1 of each run, the ensemble and the first run's
    floors (07's: on the hidden test labels of generated data, else out of fold)."""
    rows = {}
    for m in members:
        hidden = m["work_dir"] / "scores/test_hidden.json"
        rows[str(m["work_dir"])] = (scores_text(m["valid_tuned"]),
                                    scores_text(read_json(hidden) if hidden.exists() else None))
    label = f"ensemble of {len(members)}"
    if ensemble["weights"] is not None:
        label += f" (weights {', '.join(f'{w:g}' for w in ensemble['weights'])})"
    rows[label] = (scores_text(ensemble["valid_tuned"]), scores_text(written["test_hidden"]))
    floors = members[0]["work_dir"] / "scores/floors.json"
    summary = floor_summary(floors) if floors.exists() else {}
    for column, name in FLOORS.items():
        text = summary.get(column)
        if text:  # out of fold: beside the tuning bags' scores
            rows[f"floor: {name}"] = (text, "-") if text.endswith("(oof)") else ("-", text)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["tuning bags (tuned there)", "hidden test"])
    table.index.name = "within-stage AUC / macro-F1 / sample-F1"
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.ensemble", description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="finished run folders (07 has run in each)")
    parser.add_argument("--submission-dir", type=Path, default=Path("submissions"))
    parser.add_argument("--name", default="", help="submission folder name (default: ensemble-<N>runs)")
    parser.add_argument("--weights", type=float, nargs="+", metavar="W",
                        help="one weight a run, in their order (default: all equal)")
    args = parser.parse_args(argv)
    try:
        if args.weights is not None:
            check_weights(args.weights, len(args.runs))  # before any run is read
        members = [load_member(w) for w in args.runs]
        ensemble = average_members(members, args.weights)
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    written = write_ensemble(members, ensemble, args.submission_dir, args.name or f"ensemble-{len(members)}runs")
    print(scores_table(members, ensemble, written).to_string())
    print(f"F1 file:  {written['f1']}\nAUC file: {written['auc']}\nmanifest: {written['manifest']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
