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


def thumbnails(cache, bags, hw=THUMBNAIL_HW) -> np.ndarray:
    """(n_bags, H*W + 5): each bag's grey thumbnails (area-averaged), averaged over its images,
    and a one-hot of its stage."""
    rows, bag_of = image_table(bags, cache)
    images = torch.from_numpy(np.asarray(cache.array[np.sort(np.unique(rows))])).float()
    if images.dim() == 4:  # RGB cache: luma
        images = images @ torch.tensor([0.299, 0.587, 0.114])
    small = F.adaptive_avg_pool2d(images[:, None] / 255.0, hw).flatten(1).numpy()
    position = {r: i for i, r in enumerate(np.sort(np.unique(rows)))}
    per_bag = mean_per_bag(small[[position[r] for r in rows]], bag_of, len(bags))
    stages = np.eye(5)[[b.stage - 2 for b in bags]]
    return np.hstack([per_bag, stages])


def thumbnail_logreg(train_x, train_bags, x, bags, C: float = 0.1) -> np.ndarray:
    """One L2 logistic regression per label on standardised thumbnail features, fitted on the
    training bags whose stage allows the label; stage-masked probabilities for `bags`. A label
    with a single class in those bags gets its rate."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    y = np.stack([b.target for b in train_bags])
    allowed = np.stack([b.mask for b in train_bags]) > 0
    scaler = StandardScaler().fit(train_x)
    train_z, z = scaler.transform(train_x), scaler.transform(x)
    out = np.zeros((len(bags), y.shape[1]))
    for j in range(y.shape[1]):
        rows = allowed[:, j]
        if len(np.unique(y[rows, j])) < 2:
            out[:, j] = y[rows, j].mean() if rows.any() else 0.0
            continue
        model = LogisticRegression(C=C, max_iter=2000).fit(train_z[rows], y[rows, j])
        out[:, j] = model.predict_proba(z)[:, 1]
    return out * np.stack([b.mask for b in bags])
