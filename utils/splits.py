"""Train/validation splits and K folds grouped by gene, balanced in labels.

A gene occurs at several stages; splitting by row would put the same gene's expression
pattern on both sides and flatter the validation score. Genes are dealt to folds one
at a time, rarest labels first, each to the fold that most lacks that gene's labels
(iterative stratification at the level of groups), with ties broken by the seed.
"""
from __future__ import annotations

import numpy as np


def grouped_folds(groups, targets: np.ndarray, n_folds: int, seed: int = 0) -> np.ndarray:
    """Fold index (0..n_folds-1) of every row; rows of one group share a fold."""
    groups = np.asarray(groups)
    targets = np.asarray(targets, dtype=np.float64)
    if n_folds < 2:
        raise ValueError("n_folds must be at least 2")
    names, inverse = np.unique(groups, return_inverse=True)
    if len(names) < n_folds:
        raise ValueError(f"{len(names)} groups cannot fill {n_folds} folds")
    rng = np.random.default_rng(seed)
    group_labels = np.zeros((len(names), targets.shape[1]))
    np.add.at(group_labels, inverse, targets)
    group_sizes = np.bincount(inverse, minlength=len(names)).astype(np.float64)

    label_totals = group_labels.sum(0)
    rarity = np.where(group_labels > 0, 1.0 / np.maximum(label_totals, 1), 0).max(1)
    order = np.lexsort((rng.random(len(names)), -rarity))  # rarest labels first, random ties

    want_labels = np.tile(label_totals / n_folds, (n_folds, 1))
    want_rows = np.full(n_folds, len(groups) / n_folds)
    fold_of_group = np.empty(len(names), dtype=np.int64)
    for g in order:
        need = (want_labels * (group_labels[g] > 0)).sum(1)
        score = need + 1e-3 * want_rows + 1e-9 * rng.random(n_folds)
        fold = int(np.argmax(score))
        fold_of_group[g] = fold
        want_labels[fold] -= group_labels[g]
        want_rows[fold] -= group_sizes[g]
    return fold_of_group[inverse]


def feasible_folds(n_groups: int, wanted: int, what: str) -> int:
    """The most groups (at most `wanted`) that `n_groups` genes can fill: a small folder still
    runs with fewer folds; below 2 genes there is nothing to hold out."""
    if n_groups < 2:
        raise ValueError(f"{what} needs training bags of at least 2 genes to hold one out; "
                         f"found {n_groups}. Add training bags of another gene to train/train.csv")
    return min(wanted, n_groups)


def train_valid_split(groups, targets: np.ndarray, valid_fraction: float = 0.2,
                      seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, valid) with no group on both sides. The valid side is one of
    round(1 / valid_fraction) gene-grouped folds, or of fewer when there are fewer genes."""
    wanted = max(2, int(round(1 / valid_fraction)))
    n_folds = feasible_folds(len(np.unique(groups)), wanted, "the validation split")
    folds = grouped_folds(groups, targets, n_folds, seed)
    return np.flatnonzero(folds != 0), np.flatnonzero(folds == 0)


def stage_coverage(stages, held_out: np.ndarray, name: str) -> list[str]:
    """Notes for the stages that have training bags but none in a held-out part: their
    stage-only terms cannot be scored there."""
    stages = np.asarray(stages)
    return [f"stage {s} has no bag in {name}: its terms are not scored there"
            for s in sorted(set(stages[~held_out].tolist()) - set(stages[held_out].tolist()))]


def split_table(gene_stages, genes, targets: np.ndarray, valid_fraction: float = 0.2,
                n_folds: int = 0, seed: int = 0):
    """(rows of split.csv, what was chosen). `fold` is "train" or "valid" (the single split);
    with n_folds >= 2, `cv_fold` gives each bag its cross-validation fold, grouped by gene.
    With fewer genes than the split or the folds need, fewer are used and the notes say so."""
    import pandas as pd

    from .data import parse_gene_stage

    genes = np.asarray(genes)
    stages = [parse_gene_stage(g)[1] for g in gene_stages]
    n_genes = len(np.unique(genes))
    wanted_split = max(2, int(round(1 / valid_fraction)))
    train_idx, valid_idx = train_valid_split(genes, targets, valid_fraction, seed=seed)
    table = pd.DataFrame({"gene_stage": list(gene_stages), "fold": "train"})
    table.loc[valid_idx, "fold"] = "valid"
    chosen = {"genes": n_genes, "valid_genes": len(np.unique(genes[valid_idx])), "n_folds": 0, "notes": []}
    if n_genes < wanted_split:
        chosen["notes"].append(f"{n_genes} training genes: the validation split holds out 1 of "
                               f"{n_genes} gene groups, not 1 of {wanted_split} "
                               f"(valid_fraction={valid_fraction})")
    chosen["notes"] += stage_coverage(stages, (table.fold == "valid").to_numpy(), "the validation split")
    if n_folds and n_folds >= 2:
        k = feasible_folds(n_genes, n_folds, f"{n_folds}-fold cross-validation")
        if k < n_folds:
            chosen["notes"].append(f"{n_genes} training genes cannot fill {n_folds} gene-grouped "
                                   f"folds: using {k} folds")
        table["cv_fold"] = grouped_folds(genes, targets, k, seed=seed)
        chosen["n_folds"] = k
        for f in range(k):
            chosen["notes"] += stage_coverage(stages, (table.cv_fold == f).to_numpy(), f"fold {f}")
    return table, chosen
