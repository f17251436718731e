"""What a run's thresholds cost it: tuned on its validation bags, against the thresholds the
test labels themselves would pick (a ceiling no submission can reach).

    python benchmarks/threshold_ceiling.py runs/paper-seed0 [more finished work folders]

Needs the generator's hidden test labels (generated data only). For each work folder and each
source with saved predictions (bag: 05's model; cnn: 04's per-bag mean of the CNN's image
probabilities), prints the hidden-test within-stage AUC, macro-F1 and sample-F1 at three sets
of per-label thresholds: 0.5 everywhere; tuned on the validation bags (out-of-fold bags in
K-fold mode) as 06 tunes them by default; and tuned on the test bags. The last maximise each
label's own F1, so they bound macro-F1 (up to the rule that every bag gets a label), not
sample-F1. Ceiling minus tuned macro-F1 is about the most better per-label thresholds could
buy that model: where two models differ by more than that, the difference is in the models.
"""
import argparse
from pathlib import Path

import numpy as np
import pandas as pd

from utils.metrics import evaluate
from utils.rundir import load_run, read_json
from utils.synthetic import hidden_test_targets
from utils.thresholds import apply_thresholds, tune_thresholds

SHOWN = ["auc_within_stage", "macro_f1", "sample_f1"]


def threshold_rows(y_valid, p_valid, m_valid, y_test, p_test, m_test) -> list[dict]:
    """Hidden-test scores at 0.5, at thresholds tuned on validation, and tuned on test."""
    thresholds = {"0.5": np.full(y_test.shape[1], 0.5),
                  "tuned on validation": tune_thresholds(y_valid, p_valid, mask=m_valid),
                  "tuned on test (ceiling)": tune_thresholds(y_test, p_test, mask=m_test)}
    rows = []
    for name, t in thresholds.items():
        scores = evaluate(y_test, p_test, apply_thresholds(p_test, t, m_test), mask=m_test)
        rows.append({"thresholds": name, **{k: scores[k] for k in SHOWN}})
    return rows


def ceiling_table(work_dir) -> pd.DataFrame:
    """threshold_rows for each source a finished work folder saved predictions for."""
    work_dir = Path(work_dir)
    comp, _, valid = load_run(work_dir)
    ids = [b.gene_stage for b in comp.test]
    y_test = hidden_test_targets(read_json(work_dir / "data.json")["data_dir"], ids)
    if y_test is None:
        raise SystemExit(f"{work_dir}: its data has no hidden test labels (solution/test_labels.csv)")
    m_test = np.stack([b.mask for b in comp.test])
    rows = []
    for source in ("bag", "cnn"):
        if (work_dir / f"preds/{source}_oof.npy").exists():  # K-fold: every training bag, out of fold
            held_out, p_valid = comp.train, np.load(work_dir / f"preds/{source}_oof.npy")
        elif (work_dir / f"preds/{source}_valid.npy").exists():
            held_out, p_valid = valid, np.load(work_dir / f"preds/{source}_valid.npy")
        else:
            continue
        p_test = np.load(work_dir / f"preds/{source}_test.npy")
        y_valid, m_valid = (np.stack([getattr(b, k) for b in held_out]) for k in ("target", "mask"))
        for row in threshold_rows(y_valid, p_valid, m_valid, y_test, p_test, m_test):
            rows.append({"run": work_dir.name, "source": source, "tuned_on_bags": len(held_out), **row})
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("work_dirs", nargs="+", help="finished work folders (07 ran) on generated data")
    args = parser.parse_args(argv)
    table = pd.concat([ceiling_table(w) for w in args.work_dirs], ignore_index=True)
    print(table.round(3).to_string(index=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
