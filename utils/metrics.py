"""Scores of the competition and the paper, with sklearn's definitions.

Labels that have a single class in the scored set have no ROC-AUC; they are left out of
the macro average and counted (`auc_labels`), never scored 0.5. Macro-F1 is by default
over the labels with at least one positive (`labels="present"`), because an absent label
has no defined F1; `labels="all"` gives sklearn's plain average with zero_division=0.
"""
from __future__ import annotations

import numpy as np
from sklearn.metrics import f1_score, roc_auc_score


def _check(y_true, y_prob):
    y_true = np.asarray(y_true)
    y_prob = np.asarray(y_prob, dtype=np.float64)
    if y_true.shape != y_prob.shape:
        raise ValueError(f"shapes differ: truth {y_true.shape}, predictions {y_prob.shape}")
    if not np.isfinite(y_prob).all():
        bad = np.argwhere(~np.isfinite(y_prob))[0]
        raise ValueError(f"non-finite prediction at row {bad[0]}, label {bad[1]}")
    return y_true.astype(int), y_prob


def roc_auc_macro(y_true, y_prob) -> tuple[float, int]:
    """Mean ROC-AUC over labels with both classes present, and how many labels that is."""
    y_true, y_prob = _check(y_true, y_prob)
    scored = [j for j in range(y_true.shape[1]) if 0 < y_true[:, j].sum() < len(y_true)]
    if not scored:
        return float("nan"), 0
    return float(roc_auc_score(y_true[:, scored], y_prob[:, scored], average="macro")), len(scored)


def roc_auc_within_stage(y_true, y_prob, mask) -> tuple[float, int]:
    """Macro ROC-AUC where each label is scored only on bags whose stage allows it.

    Stage masking alone lifts the plain macro AUC far above 0.5 (a stage-6-only label is
    trivially absent from every other stage); this one is 0.5 for a model that knows
    nothing but the stage, so it shows what the images themselves contribute.
    """
    y_true, y_prob = _check(y_true, y_prob)
    mask = np.asarray(mask, dtype=bool)
    aucs = []
    for j in range(y_true.shape[1]):
        y, p = y_true[mask[:, j], j], y_prob[mask[:, j], j]
        if 0 < y.sum() < len(y):
            aucs.append(roc_auc_score(y, p))
    return (float(np.mean(aucs)) if aucs else float("nan")), len(aucs)


def roc_auc_per_sample(y_true, y_prob) -> float:
    """Mean ROC-AUC over bags that have both positive and negative labels (the paper's code)."""
    y_true, y_prob = _check(y_true, y_prob)
    rows = (y_true.sum(1) > 0) & (y_true.sum(1) < y_true.shape[1])
    if not rows.any():
        return float("nan")
    return float(roc_auc_score(y_true[rows], y_prob[rows], average="samples"))


def f1_macro(y_true, y_pred, labels: str = "present") -> float:
    y_true, y_pred = np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int)
    if labels == "present":
        present = np.flatnonzero(y_true.sum(0) > 0)
        return float(f1_score(y_true, y_pred, labels=present, average="macro", zero_division=0))
    return float(f1_score(y_true, y_pred, average="macro", zero_division=0))


def f1_samples(y_true, y_pred) -> float:
    return float(f1_score(np.asarray(y_true).astype(int), np.asarray(y_pred).astype(int),
                          average="samples", zero_division=0))


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
