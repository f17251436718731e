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

from utils.baselines import score_floors
from utils.cache import build_cache
from utils.data import read_competition
from utils.submission import write_auc, write_f1
from utils.synthetic import hidden_test_targets

SHOWN = ["auc", "auc_within_stage", "macro_f1", "sample_f1", "score"]


def floors(data_dir, work_dir, out_dir, n_folds: int = 3, seed: int = 0) -> pd.DataFrame:
    """Score both floors and write their submission files; one row per floor and bag set."""
    comp = read_competition(data_dir)
    ids = [b.gene_stage for b in comp.test]
    rows, test = score_floors(comp, build_cache(comp, work_dir), n_folds, seed, hidden_test_targets(data_dir, ids))
    for name, (p_test, pred) in test.items():
        folder = Path(out_dir) / name.replace(" + ", "_").replace(" ", "_")
        write_f1(folder / "submission_f1.csv", ids, pred)
        write_auc(folder / "submission_auc.csv", ids, np.clip(p_test, 0, 1))
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
