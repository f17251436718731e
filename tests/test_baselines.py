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


def test_an_rgb_cache_gives_the_thumbnails_of_its_luma(demo_dir, tmp_path):
    # -p in_chans 3 builds an RGB cache; the floor must still see the grey image
    comp = read_competition(demo_dir, check_images=False)
    rgb = build_cache(comp, tmp_path, mode="RGB")
    bags = comp.train[:3]
    got = thumbnails(rgb, bags)
    for i, bag in enumerate(bags):
        images = rgb.array[rgb.rows(bag.split, bag.images)].astype(float) / 255
        luma = 0.299 * images[..., 0] + 0.587 * images[..., 1] + 0.114 * images[..., 2]
        blocks = luma.reshape(len(images), 16, 8, 40, 8).mean((2, 4)).reshape(len(images), -1)
        assert np.allclose(got[i, :640], blocks.mean(0), atol=1e-5)


def test_thumbnail_logreg_fits_each_label_on_the_bags_its_stage_allows():
    from types import SimpleNamespace

    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler
    rng = np.random.default_rng(0)
    x, x_new = rng.normal(size=(80, 6)), rng.normal(size=(10, 6))
    y = (x[:, :1] + rng.normal(size=(80, 30)) > 0).astype(float)
    mask = np.ones((80, 30))
    mask[:30, 0] = 0            # label 0: its stage forbids it in 30 bags
    y[:30, 0] = 0
    y[:, 1] = 0                 # label 1: never present, so its rate (0)
    mask[:25, 2] = 0            # label 2: present in every bag that allows it, so its rate (1)
    y[:25, 2], y[25:, 2] = 0, 1
    train = [SimpleNamespace(target=t, mask=m) for t, m in zip(y, mask)]
    new_mask = np.ones((10, 30))
    new_mask[:3, 5] = 0
    bags = [SimpleNamespace(target=None, mask=m) for m in new_mask]
    got = thumbnail_logreg(x, train, x_new, bags)
    scaler = StandardScaler().fit(x)
    allowed = mask[:, 0] > 0
    ref = LogisticRegression(C=0.1, max_iter=2000).fit(scaler.transform(x)[allowed], y[allowed, 0])
    assert np.allclose(got[:, 0], ref.predict_proba(scaler.transform(x_new))[:, 1], atol=1e-6)
    assert (got[:, 1] == 0).all() and (got[:, 2] == 1).all()
    assert (got[:3, 5] == 0).all() and (got[3:, 5] > 0).all()


def test_thumbnail_logreg_fits_on_one_blas_thread(monkeypatch):
    """Each fit is a hundred small products; BLAS threads made each fit about 8x slower on
    2 cores (BENCHMARKS.md), and one thread gives the same bits whatever the machine."""
    from types import SimpleNamespace

    from sklearn.linear_model import LogisticRegression
    from threadpoolctl import threadpool_info, threadpool_limits
    seen = []
    fit = LogisticRegression.fit

    def recording_fit(self, *args, **kwargs):
        seen.append({lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"})
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(LogisticRegression, "fit", recording_fit)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 4))
    train = [SimpleNamespace(target=(rng.random(30) < 0.5).astype(float), mask=np.ones(30)) for _ in x]
    with threadpool_limits(limits=2, user_api="blas"):
        thumbnail_logreg(x, train, x, train)
        outside = {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}
    assert len(seen) == 30 and all(threads == {1} for threads in seen)
    assert outside == {2}, "the limit must end with the fits"


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
