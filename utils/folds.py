"""Out-of-fold predictions: every training bag scored by the fold model that never saw it.

Thresholds tuned on these see every training bag once, instead of one small held-out
split, and the test predictions are the average of the K fold models (an ensemble).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from .rundir import fold_dir, load_run, require


def n_folds_of(work_dir) -> int:
    """How many cross-validation folds 00_demo_data wrote into split.csv (0 if none)."""
    split = pd.read_csv(Path(work_dir) / "split.csv")
    return int(split.cv_fold.max()) + 1 if "cv_fold" in split.columns else 0


def assemble_out_of_fold(n_bags: int, fold_rows: list, fold_preds: list) -> np.ndarray:
    """Put each fold's predictions at its bags' rows; every row must be filled exactly once."""
    if not fold_preds:
        raise ValueError("no folds to assemble")
    counts = np.zeros(n_bags, dtype=np.int64)
    oof = np.full((n_bags, np.shape(fold_preds[0])[1]), np.nan)
    for k, (rows, preds) in enumerate(zip(fold_rows, fold_preds)):
        rows, preds = np.asarray(rows, dtype=np.int64), np.asarray(preds)
        if len(rows) != len(preds):
            raise ValueError(f"fold {k}: {len(preds)} predictions for {len(rows)} bags")
        np.add.at(counts, rows, 1)
        oof[rows] = preds
    if (counts != 1).any():
        bad = np.flatnonzero(counts != 1)
        raise ValueError(f"{len(bad)} bags are predicted {sorted(set(counts[bad].tolist()))} times, "
                         f"not once (first rows: {bad[:5].tolist()})")
    return oof


def gather_folds(work_dir, source: str = "bag") -> tuple[np.ndarray, np.ndarray]:
    """(out-of-fold predictions of all training bags in train.csv order, test predictions
    averaged over the fold models) from fold<k>/preds/<source>_{valid,test}.npy."""
    k_folds = n_folds_of(work_dir)
    if k_folds < 2:
        raise ValueError(f"{Path(work_dir) / 'split.csv'} has no cross-validation folds")
    rows, valid_preds, test_preds = [], [], []
    for k in range(k_folds):
        folder = fold_dir(work_dir, k)
        require(folder, f"preds/{source}_valid.npy", f"preds/{source}_test.npy")
        comp, _, valid = load_run(work_dir, fold=k)
        position = {b.gene_stage: i for i, b in enumerate(comp.train)}
        rows.append([position[b.gene_stage] for b in valid])
        for name, out in [("valid", valid_preds), ("test", test_preds)]:
            p = np.load(folder / f"preds/{source}_{name}.npy")
            if not np.isfinite(p).all():
                raise ValueError(f"{folder / f'preds/{source}_{name}.npy'}: NaN or inf in row "
                                 f"{int(np.flatnonzero(~np.isfinite(p).all(1))[0])}")
            out.append(p)
    return assemble_out_of_fold(len(comp.train), rows, valid_preds), np.mean(test_preds, axis=0)
