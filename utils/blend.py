"""A model's bag probabilities averaged with the thumbnail floor's (utils.baselines).

The CNN and a logistic regression on thumbnails err differently: on realistic generated
images at the demo's size their average beats both (BENCHMARKS.md). The model's weight is
chosen on the bags that tune the thresholds (out of fold in K-fold mode), by the paper's
score at tuned thresholds, so where the floor adds nothing the choice is the model alone.
06 blends when `source` is "bag+floor" or "cnn+floor".
"""
from __future__ import annotations

import numpy as np

from .baselines import FLOORS, out_of_fold, thumbnail_logreg, thumbnails
from .choices import check_choice
from .metrics import evaluate
from .rundir import load_run
from .thresholds import apply_thresholds, tune_thresholds

MODEL_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0)


def parse_source(source: str) -> tuple[str, bool]:
    """("bag" or "cnn", whether to blend with the floor) from 06/07's `source`."""
    base, plus, _ = check_choice("source", source).partition("+")
    return base, bool(plus)


def floor_for_run(work_dir, cache, n_folds: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The thumbnail floor fitted as the run's model was: (probabilities of the bags that tune
    the thresholds, of the test bags). K-fold: each training bag from a fit on the other
    folds (train.csv order), test from a fit on every training bag. One split: a fit on the
    training bags, for the validation bags and the test bags."""
    comp, train, valid = load_run(work_dir)
    if n_folds < 2:
        x_train, x_valid, x_test = (thumbnails(cache, bags) for bags in (train, valid, comp.test))
        return thumbnail_logreg(x_train, train, x_valid, valid), thumbnail_logreg(x_train, train, x_test, comp.test)
    position = {b.gene_stage: i for i, b in enumerate(comp.train)}
    held = [[position[b.gene_stage] for b in load_run(work_dir, fold=k)[2]] for k in range(n_folds)]
    return floor_out_of_fold(cache, comp.train, comp.test, held)


def floor_out_of_fold(cache, train, test, held: list) -> tuple[np.ndarray, np.ndarray]:
    """The thumbnail floor on folds: (each training bag from a fit on the bags of the other
    folds, `held` listing each fold's rows of `train`; the test bags from a fit on all)."""
    x_train, x_test = thumbnails(cache, train), thumbnails(cache, test)
    oof = out_of_fold(FLOORS["thumbnails + logistic regression"], train, x_train, held)
    return oof, thumbnail_logreg(x_train, train, x_test, test)


def choose_model_weight(y, p_model, p_floor, mask, weights=MODEL_WEIGHTS) -> tuple[float, list[dict]]:
    """The model's weight whose blend scores best on these bags (paper's score, thresholds
    tuned on the same bags; a tie goes to the larger weight), and every weight's scores."""
    rows = []
    for w in weights:
        p = w * p_model + (1 - w) * p_floor
        thresholds = tune_thresholds(y, p, mask=mask)
        rows.append({"model_weight": float(w), **evaluate(y, p, apply_thresholds(p, thresholds, mask), mask=mask)})
    best = max(sorted(rows, key=lambda r: -r["model_weight"]), key=lambda r: r["score"])
    return best["model_weight"], rows
