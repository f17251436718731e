"""The floors every model's score is read against: what a model gets without learning from the
images (the stage's label rates) and with the simplest look at them (grey thumbnails averaged
per bag, one logistic regression per label).

Both give stage-masked bag probabilities, like the chain's models, so the same thresholds,
metrics and submission writers apply. On realistic images the notebook chain must beat the
thumbnail floor clearly to earn its cost.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from .loaders import mean_per_bag, image_table

THUMBNAIL_HW = (16, 40)


def stage_prior(train, bags) -> np.ndarray:
    """Each bag scored with the label rates of the training bags of its stage (0 where the
    stage has no training bag), stage-masked."""
    y = np.stack([b.target for b in train])
    stages = np.array([b.stage for b in train])
    rates = {s: y[stages == s].mean(0) for s in np.unique(stages)}
    return np.stack([rates.get(b.stage, np.zeros(y.shape[1])) * b.mask for b in bags])


def thumbnails(cache, bags, hw=THUMBNAIL_HW, chunk: int = 1024) -> np.ndarray:
    """(n_bags, H*W + 5): each bag's grey thumbnails (area-averaged), averaged over its images,
    and a one-hot of its stage. Images are read `chunk` at a time, so memory stays small."""
    rows, bag_of = image_table(bags, cache)
    small = np.zeros((len(rows), hw[0] * hw[1]))
    for start in range(0, len(rows), chunk):
        images = torch.from_numpy(np.asarray(cache.array[rows[start:start + chunk]])).float()
        if images.dim() == 4:  # RGB cache: luma
            images = images @ torch.tensor([0.299, 0.587, 0.114])
        small[start:start + chunk] = F.adaptive_avg_pool2d(images[:, None] / 255.0, hw).flatten(1).numpy()
    stages = np.eye(5)[[b.stage - 2 for b in bags]]
    return np.hstack([mean_per_bag(small, bag_of, len(bags)), stages])


def thumbnail_logreg(train_x, train_bags, x, bags, C: float = 0.1) -> np.ndarray:
    """One L2 logistic regression per label on standardised thumbnail features, fitted on the
    training bags whose stage allows the label; stage-masked probabilities for `bags`. A label
    with a single class in those bags gets its rate.

    BLAS runs on one thread here: L-BFGS multiplies a few thousand rows by 645 columns a
    hundred times a fit, and waking BLAS threads for each product made each fit about 8x
    slower on 2 cores (BENCHMARKS.md); one thread also gives the same bits on any machine."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    y = np.stack([b.target for b in train_bags])
    allowed = np.stack([b.mask for b in train_bags]) > 0
    scaler = StandardScaler().fit(train_x)
    train_z, z = scaler.transform(train_x), scaler.transform(x)
    out = np.zeros((len(bags), y.shape[1]))
    with threadpool_limits(limits=1, user_api="blas"):
        for j in range(y.shape[1]):
            rows = allowed[:, j]
            if len(np.unique(y[rows, j])) < 2:
                out[:, j] = y[rows, j].mean() if rows.any() else 0.0
                continue
            model = LogisticRegression(C=C, max_iter=2000).fit(train_z[rows], y[rows, j])
            out[:, j] = model.predict_proba(z)[:, 1]
    return out * np.stack([b.mask for b in bags])


FLOORS = {
    "stage prior": lambda train, bags, x_train, x: stage_prior(train, bags),
    "thumbnails + logistic regression": lambda train, bags, x_train, x: thumbnail_logreg(x_train, train, x, bags),
}


def floor_predictions(cache, train, bag_sets: list) -> dict[str, list[np.ndarray]]:
    """Each floor fitted once on the `train` bags, predicting every list of bags in
    `bag_sets`: {floor: [probabilities of each list]}."""
    everything = [b for bags in bag_sets for b in bags]
    x_train, x_all = thumbnails(cache, train), thumbnails(cache, everything)
    ends = np.cumsum([len(bags) for bags in bag_sets])[:-1]
    return {name: np.split(predict(train, everything, x_train, x_all), ends) for name, predict in FLOORS.items()}


def out_of_fold(predict, train, x_train, held: list) -> np.ndarray:
    """Each training bag predicted by a floor (a FLOORS function) fitted on the bags of the
    other folds; `held` lists each fold's rows of `train`, which must cover every bag once."""
    from .folds import assemble_out_of_fold

    preds = []
    for rows in held:
        rest = np.setdiff1d(np.arange(len(train)), rows)
        preds.append(predict([train[i] for i in rest], [train[i] for i in rows], x_train[rest], x_train[rows]))
    return assemble_out_of_fold(len(train), [list(rows) for rows in held], preds)


def score_floors(comp, cache, n_folds: int = 3, seed: int = 0, y_test=None) -> tuple[list[dict], dict]:
    """Both floors scored as the chain's K-fold mode scores a model: thresholds tuned on the
    out-of-fold predictions of every training bag (gene-grouped folds), test predictions from
    a fit on all training bags. Returns (score rows: floor, bags, metrics...; test
    predictions {floor: (probabilities, 0/1 predictions)}); hidden-test rows where `y_test`."""
    from .metrics import evaluate
    from .splits import feasible_folds, grouped_folds
    from .thresholds import apply_thresholds, tune_thresholds

    genes = [b.gene for b in comp.train]
    k = feasible_folds(len(set(genes)), n_folds, f"{n_folds}-fold cross-validation")
    fold_of = grouped_folds(genes, comp.targets(), k, seed)
    x_train, x_test = thumbnails(cache, comp.train), thumbnails(cache, comp.test)
    y_train, m_train = comp.targets(), np.stack([b.mask for b in comp.train])
    m_test = np.stack([b.mask for b in comp.test])
    rows, test = [], {}
    for name, predict in FLOORS.items():
        oof = out_of_fold(predict, comp.train, x_train, [np.flatnonzero(fold_of == f) for f in range(k)])
        thresholds = tune_thresholds(y_train, oof, mask=m_train)
        rows.append({"floor": name, "bags": "out-of-fold",
                     **evaluate(y_train, oof, apply_thresholds(oof, thresholds, m_train), mask=m_train)})
        p_test = predict(comp.train, comp.test, x_train, x_test)
        test[name] = (p_test, apply_thresholds(p_test, thresholds, m_test))
        if y_test is not None:
            rows.append({"floor": name, "bags": "hidden test", **evaluate(y_test, p_test, test[name][1], mask=m_test)})
    return rows, test
