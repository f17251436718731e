"""06's "+floor" sources (utils.blend): the floor fitted as the model was, and the weight choice."""
import numpy as np
import pytest

from utils.baselines import thumbnail_logreg, thumbnails
from utils.blend import choose_model_weight, floor_for_run, parse_source
from utils.cache import build_cache
from utils.metrics import evaluate
from utils.rundir import load_run
from utils.thresholds import apply_thresholds, tune_thresholds


@pytest.mark.parametrize("source, expected", [("bag", ("bag", False)), ("cnn", ("cnn", False)),
                                              ("bag+floor", ("bag", True)), ("cnn+floor", ("cnn", True))])
def test_parse_source(source, expected):
    assert parse_source(source) == expected


@pytest.mark.parametrize("source", ["lstm", "bag+cnn", "bag+", "floor"])
def test_parse_source_refuses_others(source):
    with pytest.raises(ValueError, match="source"):
        parse_source(source)


def _labels(n=160, seed=0):
    rng = np.random.default_rng(seed)
    y = (rng.random((n, 30)) < 0.3).astype(int)
    return rng, y, np.ones_like(y)


def test_the_weight_goes_to_the_side_that_knows_the_labels():
    rng, y, mask = _labels()
    informed = np.clip(0.15 + 0.7 * y + rng.normal(0, 0.1, y.shape), 0, 1)
    noise = rng.random(y.shape)
    assert choose_model_weight(y, informed, noise, mask)[0] == 1.0
    assert choose_model_weight(y, noise, informed, mask)[0] == 0.0
    assert choose_model_weight(y, informed, informed, mask)[0] == 1.0  # a tie keeps the model


def test_each_weights_scores_are_those_of_its_blend():
    rng, y, mask = _labels(seed=1)
    a, b = rng.random(y.shape), np.clip(0.3 * y + 0.7 * rng.random(y.shape), 0, 1)
    _, rows = choose_model_weight(y, a, b, mask)
    assert [r["model_weight"] for r in rows] == [0.0, 0.25, 0.5, 0.75, 1.0]
    p = 0.25 * a + 0.75 * b
    expected = evaluate(y, p, apply_thresholds(p, tune_thresholds(y, p, mask=mask), mask), mask=mask)
    assert rows[1]["score"] == pytest.approx(expected["score"])
    assert rows[1]["macro_f1"] == pytest.approx(expected["macro_f1"])


@pytest.mark.parametrize("n_folds", [2, 3])  # 2: the fewest folds, not a single split
def test_k_fold_floor_predicts_each_training_bag_from_the_other_folds(kfold_work, n_folds):
    from utils.splits import split_table

    work, comp = kfold_work
    table, _ = split_table([b.gene_stage for b in comp.train], [b.gene for b in comp.train], comp.targets(),
                           0.2, n_folds=n_folds)
    table.to_csv(work / "split.csv", index=False)
    cache = build_cache(comp, work)
    oof, test = floor_for_run(work, cache, n_folds=n_folds)
    assert len(oof) == len(comp.train)
    position = {b.gene_stage: i for i, b in enumerate(comp.train)}
    for k in range(n_folds):
        _, rest, held = load_run(work, fold=k)
        expected = thumbnail_logreg(thumbnails(cache, rest), rest, thumbnails(cache, held), held)
        assert np.allclose(oof[[position[b.gene_stage] for b in held]], expected)
    everything = thumbnail_logreg(thumbnails(cache, comp.train), comp.train, thumbnails(cache, comp.test), comp.test)
    assert np.allclose(test, everything)


def test_one_split_floor_is_fitted_on_the_training_bags(kfold_work):
    work, comp = kfold_work
    cache = build_cache(comp, work)
    valid_p, test_p = floor_for_run(work, cache, n_folds=0)
    _, train, valid = load_run(work)
    x_train = thumbnails(cache, train)
    assert np.allclose(valid_p, thumbnail_logreg(x_train, train, thumbnails(cache, valid), valid))
    assert np.allclose(test_p, thumbnail_logreg(x_train, train, thumbnails(cache, comp.test), comp.test))
