"""The floors (utils.baselines, benchmarks/floors.py) against loops written out here."""
import sys
from pathlib import Path

import numpy as np

from utils.baselines import floor_predictions, stage_prior, thumbnail_logreg, thumbnails
from utils.cache import build_cache
from utils.data import read_competition
from utils.submission import validate_auc, validate_f1

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))


def test_stage_prior_is_each_stages_label_rate(demo_dir):
    comp = read_competition(demo_dir, check_images=False)
    got = stage_prior(comp.train, comp.test)
    for i, bag in enumerate(comp.test):
        same = [b.target for b in comp.train if b.stage == bag.stage]
        expected = np.mean(same, axis=0) * bag.mask if same else np.zeros(30)
        assert np.allclose(got[i], expected)


def test_thumbnails_are_block_means_averaged_per_bag_with_the_stage(demo_dir, tmp_path):
    comp = read_competition(demo_dir, check_images=False)
    cache = build_cache(comp, tmp_path)
    bags = comp.train[:5]
    got = thumbnails(cache, bags)
    for i, bag in enumerate(bags):
        images = cache.array[cache.rows(bag.split, bag.images)].astype(float) / 255
        blocks = images.reshape(len(images), 16, 8, 40, 8).mean((2, 4)).reshape(len(images), -1)
        assert np.allclose(got[i, :640], blocks.mean(0), atol=1e-6)
        assert got[i, 640:].tolist() == [float(s == bag.stage) for s in range(2, 7)]
    probs = thumbnail_logreg(thumbnails(cache, comp.train), comp.train, got, bags)
    assert probs.shape == (5, 30) and ((probs >= 0) & (probs <= 1)).all()
    assert (probs[np.stack([b.mask for b in bags]) == 0] == 0).all()


def test_floors_script_writes_valid_kaggle_files(demo_dir, tmp_path):
    from floors import floors
    table = floors(demo_dir, tmp_path / "work", tmp_path / "out", n_folds=3)
    assert set(table.floor) == {"stage prior", "thumbnails + logistic regression"}
    assert set(table.bags) == {"out-of-fold", "hidden test"}
    ids = [b.gene_stage for b in read_competition(demo_dir, check_images=False).test]
    for folder in ["stage_prior", "thumbnails_logistic_regression"]:
        validate_f1(tmp_path / "out" / folder / "submission_f1.csv", ids)
        validate_auc(tmp_path / "out" / folder / "submission_auc.csv", ids)


def test_floor_predictions_fit_once_and_predict_each_bag_set_as_alone(demo_dir, tmp_path):
    comp = read_competition(demo_dir)
    cache = build_cache(comp, tmp_path)
    half = len(comp.train) // 2
    train, valid, test = comp.train[:half], comp.train[half:], comp.test
    out = floor_predictions(cache, train, [valid, test])
    x_train = thumbnails(cache, train)
    assert np.allclose(out["stage prior"][0], stage_prior(train, valid))
    assert np.allclose(out["stage prior"][1], stage_prior(train, test))
    for bags, p in zip([valid, test], out["thumbnails + logistic regression"]):
        assert np.allclose(p, thumbnail_logreg(x_train, train, thumbnails(cache, bags), bags))
