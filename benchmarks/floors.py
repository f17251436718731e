"""The floors to print beside any model's score, on a competition folder, with valid Kaggle files.

    python benchmarks/floors.py DATA [--work DIR] [--out DIR] [--folds 3] [--seed 0]

Two floors (utils.baselines): the stage prior (each stage's label rates) and grey thumbnails
averaged per bag with one logistic regression per label. As in the chain's K-fold mode, the
thresholds are tuned on out-of-fold predictions of every training bag (gene-grouped folds)
and the test predictions come from a fit on all training bags. Prints within-stage AUC,
macro-F1, sample-F1 and the paper's score, out-of-fold and, on generated data, on the hidden
test labels; writes submission_f1.csv and submission_auc.csv per floor under --out.
"""
import argparse
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from utils.baselines import stage_prior, thumbnail_logreg, thumbnails
from utils.cache import build_cache
from utils.data import read_competition
from utils.folds import assemble_out_of_fold
from utils.metrics import evaluate
from utils.splits import feasible_folds, grouped_folds
from utils.submission import write_auc, write_f1
from utils.synthetic import hidden_test_targets
from utils.thresholds import apply_thresholds, tune_thresholds

SHOWN = ["auc", "auc_within_stage", "macro_f1", "sample_f1", "score"]


def floors(data_dir, work_dir, out_dir, n_folds: int = 3, seed: int = 0) -> pd.DataFrame:
    """Score both floors and write their submission files; one row per floor and bag set."""
    comp = read_competition(data_dir)
    cache = build_cache(comp, work_dir)
    genes = [b.gene for b in comp.train]
    k = feasible_folds(len(set(genes)), n_folds, f"{n_folds}-fold cross-validation")
    fold_of = grouped_folds(genes, comp.targets(), k, seed)
    x_train, x_test = thumbnails(cache, comp.train), thumbnails(cache, comp.test)
    models = {
        "stage prior": lambda tr, bags, x_tr, x: stage_prior(tr, bags),
        "thumbnails + logistic regression": lambda tr, bags, x_tr, x: thumbnail_logreg(x_tr, tr, x, bags),
    }
    y_train, m_train = comp.targets(), np.stack([b.mask for b in comp.train])
    m_test = np.stack([b.mask for b in comp.test])
    ids = [b.gene_stage for b in comp.test]
    y_test = hidden_test_targets(data_dir, ids)
    rows = []
    for name, predict in models.items():
        held = [np.flatnonzero(fold_of == f) for f in range(k)]
        oof = assemble_out_of_fold(len(comp.train), [h.tolist() for h in held], [
            predict([comp.train[i] for i in np.flatnonzero(fold_of != f)], [comp.train[i] for i in h],
                    x_train[fold_of != f], x_train[h]) for f, h in enumerate(held)])
        thresholds = tune_thresholds(y_train, oof, mask=m_train)
        rows.append({"floor": name, "bags": "out-of-fold",
                     **evaluate(y_train, oof, apply_thresholds(oof, thresholds, m_train), mask=m_train)})
        p_test = predict(comp.train, comp.test, x_train, x_test)
        pred = apply_thresholds(p_test, thresholds, m_test)
        folder = Path(out_dir) / name.replace(" + ", "_").replace(" ", "_")
        write_f1(folder / "submission_f1.csv", ids, pred)
        write_auc(folder / "submission_auc.csv", ids, np.clip(p_test, 0, 1))
        if y_test is not None:
            rows.append({"floor": name, "bags": "hidden test", **evaluate(y_test, p_test, pred, mask=m_test)})
    return pd.DataFrame(rows)[["floor", "bags", *SHOWN]]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data")
    parser.add_argument("--work", default=None, help="where the image cache goes (default: a temporary folder)")
    parser.add_argument("--out", default="floors", help="submission files of each floor")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        table = floors(args.data, args.work or tmp, args.out, args.folds, args.seed)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
