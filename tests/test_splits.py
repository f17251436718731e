import numpy as np
import pytest

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


def test_folds_balance_labels_far_better_than_dealing_genes_at_random():
    genes, y = _bags()
    names, gene_of = np.unique(genes, return_inverse=True)

    def imbalance(folds):  # mean distance of each fold's positives from an even fifth
        return np.abs(np.stack([y[folds == f].sum(0) for f in range(5)]) - y.sum(0) / 5).mean()

    rng = np.random.default_rng(0)
    best_random = min(imbalance(rng.integers(0, 5, len(names))[gene_of]) for _ in range(20))
    for seed in range(3):
        assert imbalance(grouped_folds(genes, y, 5, seed=seed)) < 0.5 * best_random


def test_genes_without_labels_go_to_the_fold_with_the_fewest_rows():
    """No label to balance: each gene goes to the fold with the most rows still to fill, so
    no fold is ahead of another by more than the largest gene (4 rows of 30 here), whatever
    the order the genes come in."""
    genes = np.repeat([f"g{i}" for i in range(12)], [1, 2, 3, 4] * 3)
    for seed in range(5):
        sizes = np.bincount(grouped_folds(genes, np.zeros((len(genes), 30)), 3, seed=seed), minlength=3)
        assert sizes.max() - sizes.min() <= 4, (seed, sizes)


def test_genes_of_the_rarest_label_are_dealt_first_so_it_reaches_every_fold():
    """Two genes hold the rare label R (one row each, with the common label C); D1 and D2 hold
    C in 4 and 2 rows. Dealt first, A and B meet even C deficits and R's decides: one per fold.
    Dealt after D1 and D2 (in order of commonness, or in a random order for some seeds), the C
    deficit outweighs R's and sends B to A's fold, so one fold never sees R."""
    genes = np.array(["A", "B", "D1", "D1", "D1", "D1", "D2", "D2"])
    y = np.zeros((8, 30))
    y[:, 1] = 1
    y[:2, 0] = 1
    for seed in range(20):
        folds = grouped_folds(genes, y, 2, seed=seed)
        assert folds[0] != folds[1], seed


def test_few_genes_get_as_many_groups_as_there_are_genes():
    from utils.splits import split_table
    genes = ["CG1", "CG1", "CG2", "CG3", "CG3", "CG3"]
    stages = ["CG1_s2", "CG1_s3", "CG2_s2", "CG3_s2", "CG3_s4", "CG3_s5"]
    y = np.eye(6, 30)
    train, valid = train_valid_split(genes, y, 0.2)  # 1 of 3 groups instead of 1 of 5
    assert len({genes[i] for i in valid}) == 1 and len(train) + len(valid) == 6
    table, chosen = split_table(stages, genes, y, 0.2, n_folds=5)
    assert chosen["n_folds"] == 3 and sorted(table.cv_fold.unique()) == [0, 1, 2]
    assert "3 training genes cannot fill 5 gene-grouped folds: using 3 folds" in chosen["notes"]
    assert any("holds out 1 of 3 gene groups, not 1 of 5" in n for n in chosen["notes"])
    # Stages with training bags but none held out are named, for the split and for each fold.
    stage = table.gene_stage.str[-1].astype(int)
    for part, held in [("the validation split", table.fold == "valid")] + [
            (f"fold {k}", table.cv_fold == k) for k in range(3)]:
        missing = sorted(set(stage[~held]) - set(stage[held]))
        named = sorted(int(n.split()[1]) for n in chosen["notes"] if n.endswith(f"no bag in {part}: its terms are not scored there"))
        assert named == missing and missing, part
    _, chosen = split_table(stages, genes, y, 1 / 3, n_folds=3)  # 3 genes fill 3 groups: nothing to say
    assert chosen["n_folds"] == 3 and not any("cannot fill" in n or "holds out" in n for n in chosen["notes"])
    table, chosen = split_table(stages, genes, y, 1 / 3, n_folds=2)  # the fewest folds there are
    assert chosen["n_folds"] == 2 and sorted(table.cv_fold.unique()) == [0, 1]
    for k in (0, 1):  # one fold is no cross-validation: the single split alone
        table, chosen = split_table(stages, genes, y, 1 / 3, n_folds=k)
        assert chosen["n_folds"] == 0 and "cv_fold" not in table and set(table.fold) == {"train", "valid"}


def test_one_gene_is_refused_saying_what_to_add():
    with pytest.raises(ValueError, match="at least 2 genes to hold one out; found 1. Add training bags of another gene"):
        train_valid_split(["CG1", "CG1"], np.eye(2, 30), 0.2)
    with pytest.raises(ValueError, match="n_folds must be at least 2"):
        grouped_folds(["CG1", "CG2"], np.eye(2, 30), 1)
    with pytest.raises(ValueError, match="2 groups cannot fill 3 folds"):
        grouped_folds(["CG1", "CG2", "CG2"], np.eye(3, 30), 3)
    train, valid = train_valid_split(["CG1", "CG1", "CG2"], np.eye(3, 30), 0.2)  # two genes: one each side
    assert sorted(map(len, (train, valid))) == [1, 2]
