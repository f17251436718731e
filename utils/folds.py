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


def load_finite(path, ids=None) -> np.ndarray:
    """A saved (rows, labels) array; a NaN or inf stops here, naming the file and the row
    (and the row's bag, given the bags' `ids`)."""
    values = np.load(path)
    if values.ndim != 2:
        raise ValueError(f"{path}: shape {values.shape}, expected (rows, labels)")
    bad = np.flatnonzero(~np.isfinite(values).all(1))
    if len(bad):
        raise ValueError(f"{path}: NaN or inf in row {int(bad[0])}" + (f" ({ids[bad[0]]})" if ids else ""))
    return values


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
            out.append(load_finite(folder / f"preds/{source}_{name}.npy"))
    return assemble_out_of_fold(len(comp.train), rows, valid_preds), np.mean(test_preds, axis=0)


class StackedInputs:
    """Per-image inputs of a stacked bag model, one row per image of each bag, and where
    each bag's rows are. `fit_bag_model` and `predict_bags` read it in place of the feature
    array and the image cache (through `bag_rows`)."""

    def __init__(self, values: np.ndarray, rows_of: dict):
        self.values, self._rows_of = values, rows_of

    def bag_rows(self, bags) -> list[np.ndarray]:
        return [self._rows_of[(b.split, b.gene_stage)] for b in bags]


def _logit(p: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    p = np.clip(p, eps, 1 - eps)
    return np.log(p / (1 - p)).astype(np.float32)


def stack_out_of_fold(cache, held_out: list, image_probs: list, test_bags: list, n_train: int) -> StackedInputs:
    """Inputs that no fold model memorised: the images of the bags that fold k held out get
    fold k's CNN probabilities; test images get the average over the folds. As logits (the
    scale a linear layer or an LSTM reads best). Probabilities, unlike features, mean the
    same in every fold model, so one bag model can read all of them. Every training bag must
    be held out by exactly one fold."""
    chunks, rows_of, start = [], {}, 0

    def add(bag, values):
        nonlocal start
        rows_of[(bag.split, bag.gene_stage)] = np.arange(start, start + len(values))
        chunks.append(values)
        start += len(values)

    for k, (bags, probs) in enumerate(zip(held_out, image_probs)):
        for bag in bags:
            if (bag.split, bag.gene_stage) in rows_of:
                raise ValueError(f"training bag {bag.gene_stage} is held out by two folds (fold {k} and an earlier one)")
            add(bag, _logit(np.asarray(probs[cache.rows(bag.split, bag.images)])))
    if len(rows_of) != n_train:
        raise ValueError(f"the folds hold out {len(rows_of)} bags, not each of the {n_train} training bags once")
    for bag in test_bags:
        rows = cache.rows(bag.split, bag.images)
        add(bag, _logit(np.mean([np.asarray(p[rows]) for p in image_probs], axis=0)))
    return StackedInputs(np.concatenate(chunks), rows_of)


def out_of_fold_inputs(work_dir, cache) -> StackedInputs:
    """`stack_out_of_fold` over a K-fold run's fold<k>/features/image_probs.npy (from 04)."""
    k_folds = n_folds_of(work_dir)
    if k_folds < 2:
        raise ValueError(f"{Path(work_dir) / 'split.csv'} has no cross-validation folds: stacking on "
                         "out-of-fold inputs needs K-fold mode (--folds K)")
    held_out, image_probs = [], []
    for k in range(k_folds):
        folder = fold_dir(work_dir, k)
        require(folder, "features/image_probs.npy")
        comp, _, valid = load_run(work_dir, fold=k)
        held_out.append(valid)
        image_probs.append(load_finite(folder / "features/image_probs.npy"))
    return stack_out_of_fold(cache, held_out, image_probs, comp.test, len(comp.train))
