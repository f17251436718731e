"""Scores of the competition and the paper, with sklearn's definitions.

Labels that have a single class in the scored set have no ROC-AUC; they are left out of
the macro average and counted (`auc_labels`), never scored 0.5. Macro-F1 is by default
over the labels with at least one positive (`labels="present"`), because an absent label
has no defined F1; `labels="all"` gives sklearn's plain average with zero_division=0.

The scores are computed here in numpy, all labels (or bags) at once, and equal sklearn's
(tests/test_metrics_thresholds.py): every epoch of 03 and 05 is scored, and sklearn's
per-call checks made that 0.25 s an epoch at the paper's 423 validation bags
(benchmarks/host_overhead.py).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def _check(y_true, y_prob):
    y_true = np.asarray(y_true)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_true.shape != y_prob.shape:
        raise ValueError(f"shapes differ: truth {y_true.shape}, predictions {y_prob.shape}")
    if not np.isfinite(y_prob).all():
        bad = np.argwhere(~np.isfinite(y_prob))[0]
        raise ValueError(f"non-finite prediction at row {bad[0]}, label {bad[1]}")
    return _binary(y_true, "truth"), y_prob


def _binary(y, what: str) -> np.ndarray:
    y = np.asarray(y)
    if not np.isin(y, (0, 1)).all():
        bad = np.argwhere(~np.isin(y, (0, 1)))[0]
        raise ValueError(f"{what} must be 0 or 1; found {y[tuple(bad)].item()!r} at row {bad[0]}"
                         + (f", label {bad[1]}" if len(bad) > 1 else ""))
    return y.astype(int)


def auc_columns(y_true: np.ndarray, y_prob: np.ndarray) -> np.ndarray:
    """ROC-AUC of each column (NaN where it has a single class).

    The Mann-Whitney form: the chance that a positive outranks a negative, ties counting
    half, which is the area under sklearn's ROC curve.
    """
    ranks = rankdata(y_prob, axis=0)  # ties get their average rank
    pos = y_true.sum(0).astype(np.float64)
    neg = len(y_true) - pos
    u = (ranks * y_true).sum(0) - pos * (pos + 1) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where((pos > 0) & (neg > 0), u / (pos * neg), np.nan)


def roc_auc_macro(y_true, y_prob) -> tuple[float, int]:
    """Mean ROC-AUC over labels with both classes present, and how many labels that is."""
    y_true, y_prob = _check(y_true, y_prob)
    aucs = auc_columns(y_true, y_prob)
    scored = ~np.isnan(aucs)
    return (float(aucs[scored].mean()) if scored.any() else float("nan")), int(scored.sum())


def roc_auc_within_stage(y_true, y_prob, mask) -> tuple[float, int]:
    """Macro ROC-AUC where each label is scored only on bags whose stage allows it.

    Stage masking alone lifts the plain macro AUC far above 0.5 (a stage-6-only label is
    trivially absent from every other stage); this one is 0.5 for a model that knows
    nothing but the stage, so it shows what the images themselves contribute.
    """
    y_true, y_prob = _check(y_true, y_prob)
    mask = np.asarray(mask, dtype=bool)
    aucs = [auc_columns(y_true[mask[:, j], j:j + 1], y_prob[mask[:, j], j:j + 1])[0]
            for j in range(y_true.shape[1])]
    aucs = [a for a in aucs if not np.isnan(a)]
    return (float(np.mean(aucs)) if aucs else float("nan")), len(aucs)


def roc_auc_per_sample(y_true, y_prob) -> float:
    """Mean ROC-AUC over bags that have both positive and negative labels (the paper's code)."""
    y_true, y_prob = _check(y_true, y_prob)
    aucs = auc_columns(y_true.T, y_prob.T)
    return float(np.nanmean(aucs)) if (~np.isnan(aucs)).any() else float("nan")


def _f1(tp, fp, fn) -> np.ndarray:
    """2tp / (2tp + fp + fn), and 0 where nothing is true or predicted (zero_division=0)."""
    denominator = 2 * tp + fp + fn
    return np.where(denominator > 0, 2 * tp / np.maximum(denominator, 1), 0.0)


def _counts(y_true, y_pred, axis: int):
    y_true, y_pred = _binary(y_true, "truth"), _binary(y_pred, "prediction")
    if y_true.shape != y_pred.shape:
        raise ValueError(f"shapes differ: truth {y_true.shape}, predictions {y_pred.shape}")
    tp = (y_true & y_pred).sum(axis)
    return tp, y_pred.sum(axis) - tp, y_true.sum(axis) - tp


def f1_macro(y_true, y_pred, labels: str = "present") -> float:
    tp, fp, fn = _counts(y_true, y_pred, axis=0)
    f1 = _f1(tp, fp, fn)
    if labels == "present":
        f1 = f1[tp + fn > 0]
    return float(f1.mean()) if len(f1) else 0.0


def f1_samples(y_true, y_pred) -> float:
    return float(_f1(*_counts(y_true, y_pred, axis=1)).mean())


def paper_score(auc: float, macro_f1: float, sample_f1: float) -> float:
    """Model selection score of the paper's code: 0.2 AUC + 0.4 macro-F1 + 0.4 sample-F1."""
    return 0.2 * auc + 0.4 * macro_f1 + 0.4 * sample_f1


def evaluate(y_true, y_prob, y_pred=None, threshold: float = 0.5, mask=None) -> dict:
    """All scores at once; predictions default to probabilities above `threshold`.

    With the stage `mask`, also `auc_within_stage` (see roc_auc_within_stage).
    """
    y_true, y_prob = _check(y_true, y_prob)
    y_pred = (y_prob > threshold).astype(int) if y_pred is None else np.asarray(y_pred)
    auc, n_auc = roc_auc_macro(y_true, y_prob)
    out = {
        "auc": auc,
        "auc_samples": roc_auc_per_sample(y_true, y_prob),
        "macro_f1": f1_macro(y_true, y_pred),
        "sample_f1": f1_samples(y_true, y_pred),
        "auc_labels": n_auc,
    }
    if mask is not None:
        out["auc_within_stage"] = roc_auc_within_stage(y_true, y_prob, mask)[0]
    out["score"] = paper_score(out["auc"], out["macro_f1"], out["sample_f1"])
    return out
