"""Per-label decision thresholds tuned on held-out probabilities, and how to apply them.

Table III of the paper: one threshold per label, chosen on validation. Labels the bag's
stage cannot carry are never predicted, and every bag gets at least one label (every real
bag has one): when none clears its threshold the most probable allowed label is taken.
"""
from __future__ import annotations

import numpy as np

from .metrics import f1_samples

GRID = np.round(np.arange(0.02, 0.99, 0.01), 2)


def _f1_curve(y: np.ndarray, p: np.ndarray, grid: np.ndarray) -> np.ndarray:
    pred = p[:, None] > grid[None, :]
    tp = (pred & (y[:, None] == 1)).sum(0)
    fp = (pred & (y[:, None] == 0)).sum(0)
    fn = (~pred & (y[:, None] == 1)).sum(0)
    return 2 * tp / np.maximum(2 * tp + fp + fn, 1)


def f1_by_threshold(y_true, y_prob, grid=GRID, mask=None) -> np.ndarray:
    """(n_labels, len(grid)) F1 of each label at each threshold (for plots and tuning)."""
    y_true, y_prob = np.asarray(y_true).astype(int), np.asarray(y_prob, dtype=np.float64)
    mask = np.ones_like(y_true, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    return np.stack([_f1_curve(y_true[mask[:, j], j], y_prob[mask[:, j], j], grid)
                     for j in range(y_true.shape[1])])


def tune_thresholds(y_true, y_prob, grid=GRID, mask=None, default: float = 0.5) -> np.ndarray:
    """The threshold maximising each label's F1 (over bags whose stage allows it).

    Among equally good thresholds the middle one is taken (more robust than the first);
    a label without positives keeps `default`.
    """
    y_true = np.asarray(y_true).astype(int)
    curves = f1_by_threshold(y_true, y_prob, grid, mask)
    out = np.full(y_true.shape[1], default)
    for j, curve in enumerate(curves):
        if y_true[:, j].sum() == 0:
            continue
        best = np.flatnonzero(curve >= curve.max() - 1e-12)
        out[j] = grid[best[len(best) // 2]]
    return out


def apply_thresholds(y_prob, thresholds, mask=None, at_least_one: bool = True) -> np.ndarray:
    """0/1 predictions: above threshold, allowed by the stage, at least one per bag."""
    p = np.asarray(y_prob, dtype=np.float64)
    if mask is not None:
        p = np.where(np.asarray(mask, dtype=bool), p, 0.0)
    pred = (p > np.asarray(thresholds)[None, :]).astype(int)
    if at_least_one:
        empty = pred.sum(1) == 0
        pred[np.flatnonzero(empty), p[empty].argmax(1)] = 1
    return pred


def tune_for_sample_f1(y_true, y_prob, thresholds=None, grid=GRID, mask=None,
                       rounds: int = 2) -> np.ndarray:
    """Coordinate ascent on the thresholds to maximise sample-F1 (the other leaderboard)."""
    t = tune_thresholds(y_true, y_prob, grid, mask) if thresholds is None else np.array(thresholds)
    best = f1_samples(y_true, apply_thresholds(y_prob, t, mask))
    for _ in range(rounds):
        for j in range(len(t)):
            for value in grid[::2]:
                trial = t.copy()
                trial[j] = value
                score = f1_samples(y_true, apply_thresholds(y_prob, trial, mask))
                if score > best + 1e-12:
                    best, t = score, trial
    return t
