import numpy as np

from utils.splits import grouped_folds, train_valid_split
from utils.synthetic import make_bags


def _bags(n=600):
    bags = make_bags(n, seed=3)
    genes = np.array([b.gene for b in bags])
    y = np.zeros((n, 30))
    for i, b in enumerate(bags):
        y[i, list(b.labels)] = 1
    return genes, y


def test_no_gene_on_both_sides_and_deterministic():
    genes, y = _bags()
    train, valid = train_valid_split(genes, y, 0.2, seed=1)
    assert not set(genes[train]) & set(genes[valid])
    assert len(train) + len(valid) == len(genes)
    again = train_valid_split(genes, y, 0.2, seed=1)
    assert np.array_equal(valid, again[1])
    assert not np.array_equal(valid, train_valid_split(genes, y, 0.2, seed=2)[1])


def test_folds_are_grouped_and_label_balanced():
    genes, y = _bags()
    folds = grouped_folds(genes, y, 5, seed=0)
    for g in np.unique(genes):
        assert len(set(folds[genes == g])) == 1
    sizes = np.bincount(folds)
    assert sizes.min() > 0.7 * len(genes) / 5
    # every label with >= 10 positives has positives in every fold
    per_fold = np.stack([y[folds == f].sum(0) for f in range(5)])
    common = y.sum(0) >= 10
    assert (per_fold[:, common] > 0).all()
