"""Every training stage on a handful of real cached images, each against a loop written out
here or a hand-computed value (seconds each; the chain tests run them at full length)."""
import math

import numpy as np
import pytest
import torch
from sklearn.metrics import roc_auc_score

from utils.augment import EvalTransform
from utils.cache import build_cache
from utils.data import read_competition
from utils.engine import load_best, predict, save_if_changed, seed_everything
from utils.features import dump_features
from utils.loaders import BagBatches, ImageBatches, image_table, mean_per_bag, stage_masked_bag_means
from utils.metrics import f1_samples, paper_score, roc_auc_within_stage
from utils.losses import FocalLoss
from utils.models import build_backbone, image_features
from utils.train import (BagSettings, CNNSettings, WarmupSettings, fit_bag_model, fit_image_model,
                         image_bag_probs, predict_bags, warm_up, warmup_partners)

SMALL = {"resize_hw": [42, 124], "out_hw": [40, 120]}


@pytest.fixture(scope="module")
def tiny(demo_dir, tmp_path_factory):
    """(cache, 6 training bags, 3 validation bags, 2 test bags) of the shared demo folder."""
    comp = read_competition(demo_dir, check_images=False)
    cache = build_cache(comp, tmp_path_factory.mktemp("cache"))
    return cache, comp.train[:6], comp.train[6:9], comp.test[:2]


# ------------------------------------------------------------------ loaders and per-bag means
def test_image_batches_cover_every_image_once_with_its_bag_labels(tiny):
    cache, train, _, _ = tiny
    rows, bag_of = image_table(train, cache)
    y = np.stack([b.target for b in train])[bag_of]
    m = np.stack([b.mask for b in train])[bag_of]
    batches = ImageBatches(cache.array, rows, y, m, 4, shuffle=True, generator=torch.Generator().manual_seed(1))
    seen = []
    for batch in batches(0):
        idx = batch["index"].numpy()
        assert np.array_equal(batch["x"].numpy(), cache.array[rows[idx]])
        assert np.array_equal(batch["y"].numpy(), y[idx]) and np.array_equal(batch["mask"].numpy(), m[idx])
        seen += idx.tolist()
    assert sorted(seen) == list(range(len(rows))) and len(batches) == math.ceil(len(rows) / 4)
    dropped = ImageBatches(cache.array, rows, y, m, 4, drop_last=True)
    assert [len(b["index"]) for b in dropped] == [4] * (len(rows) // 4) == [4] * len(dropped)


def test_bag_batches_pad_each_bag_and_mask_the_padding():
    features = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    bag_rows = [[4, 1], [0, 2, 3], [6]]
    targets, masks = np.eye(3, 30), np.ones((3, 30))
    (batch,) = list(BagBatches(features, bag_rows, targets, masks, 3)(0))
    assert batch["x"].shape == (3, 3, 3)
    for k, rows in enumerate(bag_rows):
        assert np.array_equal(batch["x"][k, :len(rows)].numpy(), features[rows])
        assert (batch["x"][k, len(rows):] == 0).all()
        assert batch["bag_mask"][k].tolist() == [True] * len(rows) + [False] * (3 - len(rows))
    shuffled = list(BagBatches(features, bag_rows, targets, masks, 3, shuffle_within=True,
                               generator=torch.Generator().manual_seed(0))(0))[0]
    for k, rows in enumerate(bag_rows):  # the same images, in some order
        got = sorted(map(tuple, shuffled["x"][k, :len(rows)].numpy().tolist()))
        assert got == sorted(map(tuple, features[rows].tolist()))


def test_mean_per_bag_and_stage_masked_means_equal_a_loop(tiny):
    cache, train, _, _ = tiny
    values = np.random.default_rng(0).random((len(cache.array), 30))
    rows, bag_of = image_table(train, cache)
    means = mean_per_bag(values[rows], bag_of, len(train))
    masked = stage_masked_bag_means(values, cache, train)
    for i, bag in enumerate(train):
        own = values[cache.rows(bag.split, bag.images)]
        assert np.allclose(means[i], own.mean(0))
        assert np.allclose(masked[i], own.mean(0) * bag.mask)
    forbidden = np.stack([b.mask for b in train]) == 0
    assert forbidden.any() and (masked[forbidden] == 0).all() and (means[forbidden] != 0).all()


# ------------------------------------------------------------------ metrics the chain relies on
def test_auc_within_stage_scores_each_label_only_where_its_stage_allows():
    y = np.array([[1, 0], [0, 1], [1, 0], [0, 0], [0, 1], [0, 0]])
    p = np.array([[0.9, 0.1], [0.2, 0.8], [0.7, 0.3], [0.1, 0.9], [0.3, 0.2], [0.4, 0.0]])
    mask = np.array([[1, 1], [1, 1], [1, 1], [1, 1], [1, 0], [1, 0]], dtype=bool)
    auc, n = roc_auc_within_stage(y, p, mask)
    # label 0 on all 6 rows ranks both positives first: 1.0; label 1 on rows 0..3 only:
    # positive 0.8 against negatives 0.1, 0.3, 0.9 -> 2/3.
    assert n == 2 and auc == pytest.approx((1.0 + 2 / 3) / 2)
    assert auc == pytest.approx((roc_auc_score(y[:, 0], p[:, 0]) + roc_auc_score(y[:4, 1], p[:4, 1])) / 2)


def test_paper_score_weights_auc_and_both_f1s():
    assert paper_score(1.0, 0.5, 0.25) == pytest.approx(0.2 + 0.2 + 0.1)
    assert paper_score(0.0, 1.0, 0.0) == pytest.approx(0.4)


# ------------------------------------------------------------------ engine helpers
def test_predict_concatenates_the_forward_of_every_batch():
    model = torch.nn.Linear(3, 2)
    batches = [torch.randn(4, 3), torch.randn(1, 3)]
    out = predict(model, batches, lambda m, b: m(b))
    with torch.no_grad():
        assert np.allclose(out, torch.cat([model(b) for b in batches]).numpy())
    assert not model.training  # predict evaluates in eval mode
    assert predict(model, [], lambda m, b: m(b)).shape == (0,)


# ------------------------------------------------------------------ the three training stages
def test_warm_up_none_is_the_seeded_fresh_backbone_and_swav_trains_it(tiny, tmp_path, capsys):
    cache, train, _, _ = tiny
    s = WarmupSettings(warmup_method="none", warmup_batch_size=8, **SMALL)
    fresh, history = warm_up(cache, train, s, torch.device("cpu"), tmp_path / "none")
    seed_everything(0)
    expected = build_backbone("regnety_002", in_chans=1)
    assert history is None
    assert all(torch.equal(a, b) for a, b in zip(fresh.state_dict().values(), expected.state_dict().values()))
    for method in ["swav", "agree"]:
        s = WarmupSettings(warmup_method=method, warmup_batch_size=8, warmup_epochs=2, **SMALL)
        trained, history = warm_up(cache, train, s, torch.device("cpu"), tmp_path / method)
        assert history.epoch.tolist() == [0, 1] and np.isfinite(history.train_loss).all()
        moved = [not torch.equal(a, b) for a, b in zip(trained.state_dict().values(), expected.state_dict().values())
                 if a.is_floating_point()]
        assert sum(moved) > len(moved) / 2, method
    capsys.readouterr()
    again, _ = warm_up(cache, train, s, torch.device("cpu"), tmp_path / "agree")  # finished: resumes to the end
    assert "resuming" not in capsys.readouterr().out
    assert all(torch.equal(a, b) for a, b in zip(again.state_dict().values(), trained.state_dict().values()))
    with pytest.raises(ValueError, match=r"warmup_method 'SwAV' unknown"):  # not trained as "agree"
        warm_up(cache, train, WarmupSettings(warmup_method="SwAV", **SMALL), torch.device("cpu"), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_each_warm_up_partner_is_another_image_of_the_same_bag():
    rows = [np.array([10, 11, 12]), np.array([20]), np.array([30, 31]), np.array([40, 41, 42, 43])]
    partner = warmup_partners(rows, True, np.random.default_rng(0))
    anchor = np.concatenate(rows)
    bag_of = {r: k for k, bag in enumerate(rows) for r in bag}
    for a, b in zip(anchor, partner):
        assert bag_of[a] == bag_of[b]
        assert (a != b) == (len(rows[bag_of[a]]) > 1)  # only a one-image bag pairs an image with itself
    for bag in rows:  # within a bag, every image is some image's partner exactly once
        assert sorted(partner[np.isin(anchor, bag)]) == sorted(bag)
    assert np.array_equal(warmup_partners(rows, False, np.random.default_rng(0)), anchor)


def test_swav_warm_up_keeps_its_prototypes_on_the_unit_sphere(tiny, tmp_path):
    # SwAV renormalises the prototypes before every step; a fresh linear layer's rows have
    # norms near 0.58, so a skipped renormalisation shows.
    cache, train, _, _ = tiny
    warm_up(cache, train, WarmupSettings(warmup_batch_size=8, **SMALL), torch.device("cpu"), tmp_path)
    prototypes = torch.load(tmp_path / "last.pt", weights_only=False)["model"]["head.prototypes.weight"]
    assert torch.allclose(prototypes.norm(dim=1), torch.ones(len(prototypes)), atol=0.02)


def test_tempering_applies_the_weights_it_records(tiny, tmp_path):
    # At learning rate 0 the network never changes, so each epoch's training loss shows the
    # label weights in force: full w_m at strength 1, none at strength 0.
    cache, train, valid, _ = tiny
    frozen = dict(cnn_epochs=2, cnn_batch_size=8, cnn_lr=0.0, cnn_lr_min=0.0, use_weights=True, use_tempering=True,
                  **SMALL)

    def losses(name, **kw):
        s = CNNSettings(**{**frozen, **kw})
        return fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / name)[1]

    tempered = losses("tempered", temper_start=0, temper_half_period=1, temper_freeze=100)
    assert tempered.weight_strength.tolist() == pytest.approx([1.0, 0.0])
    full, none = losses("full", use_tempering=False), losses("none", use_weights=False)
    assert tempered.train_loss[0] == pytest.approx(full.train_loss[0], rel=1e-6)
    assert tempered.train_loss[1] == pytest.approx(none.train_loss[1], rel=1e-6)
    assert abs(full.train_loss[0] - none.train_loss[0]) > 1e-3


def test_tempering_moves_the_weights_between_w_m_and_1(tiny, tmp_path, monkeypatch):
    # The paper tempers each label's positive weight between w_m and 1: where w_m is 1
    # already, full strength must weigh exactly as no weights do (and w_m = 2 must not).
    import utils.train
    cache, train, valid, _ = tiny
    frozen = dict(cnn_epochs=1, cnn_batch_size=8, cnn_lr=0.0, cnn_lr_min=0.0, use_weights=True, use_tempering=False,
                  **SMALL)

    def loss(name, w_m, **kw):
        monkeypatch.setattr(utils.train, "label_pos_weights", lambda y, m, max_weight: np.full(y.shape[1], w_m))
        s = CNNSettings(**{**frozen, **kw})
        return fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / name)[1].train_loss[0]

    unweighted = loss("unweighted", 1.0, use_weights=False)
    assert loss("ones", 1.0) == pytest.approx(unweighted, rel=1e-6)
    assert loss("twos", 2.0) > unweighted * 1.001


def test_a_cnn_on_other_training_bags_trains_afresh(tiny, tmp_path, capsys):
    cache, train, valid, _ = tiny
    s = CNNSettings(cnn_epochs=2, cnn_batch_size=8, **SMALL)
    fit_image_model(cache, train[:3], valid, s, torch.device("cpu"), tmp_path, stop_after=1)
    capsys.readouterr()
    _, history = fit_image_model(cache, train[3:], valid, s, torch.device("cpu"), tmp_path, stop_after=1)
    assert "training afresh" in capsys.readouterr().out and history.epoch.tolist() == [0]


def test_fit_image_model_follows_its_schedules_and_keeps_the_best_epoch(tiny, tmp_path):
    cache, train, valid, _ = tiny
    s = CNNSettings(cnn_epochs=4, cnn_batch_size=8, gamma_start=1.0, gamma_end=2.0, gamma_T=2, use_weights=True,
                    use_tempering=True, temper_start=0, temper_half_period=2, temper_freeze=3, cnn_lr_T=4, **SMALL)
    model, history = fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path)
    # Hand values: gamma follows eq. (5) from 1 to 2 over 2 epochs; the weight strength anneals
    # 1 -> 0 over a half period of 2 and freezes at epoch 3 (cos(1.5 pi) -> 0.5).
    assert history.gamma.tolist() == pytest.approx([1.0, 1.5, 2.0, 2.0])
    assert history.weight_strength.tolist() == pytest.approx([1.0, 0.5, 0.0, 0.5])
    assert history.lr.iloc[-1] < history.lr.iloc[0]
    # The last epoch's validation scores are those of the returned model, averaged per bag.
    y, m = np.stack([b.target for b in valid]), np.stack([b.mask for b in valid])
    probs = image_bag_probs(model, cache, valid, s, torch.device("cpu"))
    assert history.valid_sample_f1.iloc[-1] == pytest.approx(f1_samples(y, probs > 0.5))
    assert history.valid_auc_within_stage.iloc[-1] == pytest.approx(roc_auc_within_stage(y, probs, m)[0])
    # best.pt is the epoch with the highest selection score, and load_best returns its metrics.
    best = load_best(build_backbone("regnety_002", in_chans=1), tmp_path)
    assert best["epoch"] == int(history.epoch[history.valid_score.idxmax()])
    unweighted = fit_image_model(cache, train, valid, CNNSettings(cnn_epochs=1, cnn_batch_size=8, use_weights=False,
                                                                  **SMALL), torch.device("cpu"), tmp_path / "u")[1]
    assert unweighted.weight_strength.tolist() == [0.0]


@pytest.mark.parametrize("in_chans", [1, 3])
def test_image_bag_probs_average_each_bags_images_and_mask_the_stage(tiny, demo_dir, in_chans, tmp_path):
    cache, _, valid, _ = tiny
    if in_chans == 3:  # colour images for a 3-channel network (an ImageNet-style backbone)
        cache = build_cache(read_competition(demo_dir, check_images=False), tmp_path, mode="RGB")
    s = CNNSettings(in_chans=in_chans, **SMALL)
    torch.manual_seed(0)
    model = build_backbone("regnety_002", in_chans=in_chans).eval()
    got = image_bag_probs(model, cache, valid, s, torch.device("cpu"), batch_size=3)
    transform = EvalTransform(resize_hw=(42, 124), out_hw=(40, 120), grayscale=in_chans == 1)
    with torch.no_grad():
        for i, bag in enumerate(valid):
            x = torch.from_numpy(cache.array[cache.rows(bag.split, bag.images)])
            expected = torch.sigmoid(model(transform(x))).mean(0).numpy() * bag.mask
            assert np.allclose(got[i], expected, atol=1e-5)


def test_dump_features_with_flip_tta_averages_both_flips_row_by_row(tiny, tmp_path):
    cache, *_ = tiny
    torch.manual_seed(0)
    model = build_backbone("regnety_002", in_chans=1).eval()
    transform = EvalTransform(resize_hw=(42, 124), out_hw=(40, 120))
    array = cache.array[:7]
    probs = dump_features(model.train(), array, transform, tmp_path / "f.npy", torch.device("cpu"), batch_size=3,
                          tta_flip=True)  # left in training mode, as 03 leaves it: the dump reads in eval mode
    features = np.load(tmp_path / "f.npy")
    model.eval()
    with torch.no_grad():
        x = torch.from_numpy(np.array(array))
        f = [image_features(model, transform(x, hflip=flip)) for flip in (False, True)]
        p = [torch.sigmoid(model.get_classifier()(g)) for g in f]
    assert np.allclose(features, ((f[0] + f[1]) / 2).numpy(), atol=1e-5)
    assert np.allclose(probs, ((p[0] + p[1]) / 2).numpy(), atol=1e-5)
    assert not np.allclose(f[0].numpy(), f[1].numpy(), atol=1e-3)  # the flip does change them
    plain = dump_features(model, array, transform, tmp_path / "g.npy", torch.device("cpu"), batch_size=3)
    assert np.allclose(np.load(tmp_path / "g.npy"), f[0].numpy(), atol=1e-5)
    assert np.allclose(plain, p[0].numpy(), atol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.npy", "g.npy"]  # no partial files left


def test_dump_features_brings_each_batch_back_in_one_copy_with_the_same_bits(tiny, tmp_path, monkeypatch):
    """One device-to-host copy per batch (each is a wait for a GPU), and the same bytes as
    averaging each flip's copy on the host, the way the dump did before."""
    cache, *_ = tiny
    torch.manual_seed(0)
    model = build_backbone("regnety_002", in_chans=1).eval()
    transform = EvalTransform(resize_hw=(42, 124), out_hw=(40, 120))
    array = cache.array[:7]
    f, p = [], []
    with torch.no_grad():
        for start in range(0, 7, 3):  # the dump's batches
            x = torch.from_numpy(np.array(array[start:start + 3]))
            g = [image_features(model, transform(x, hflip=flip)) for flip in (False, True)]
            f.append((g[0].numpy() + g[1].numpy()) / 2)
            p.append((torch.sigmoid(model.get_classifier()(g[0])).numpy()
                      + torch.sigmoid(model.get_classifier()(g[1])).numpy()) / 2)
    copies, cpu = [], torch.Tensor.cpu
    monkeypatch.setattr(torch.Tensor, "cpu", lambda self, *a, **k: copies.append(self.shape) or cpu(self, *a, **k))
    probs = dump_features(model, array, transform, tmp_path / "f.npy", torch.device("cpu"), batch_size=3, tta_flip=True)
    assert len(copies) == 3  # 7 images in batches of 3
    assert np.array_equal(np.load(tmp_path / "f.npy"), np.concatenate(f))
    assert np.array_equal(probs, np.concatenate(p))


def test_dump_features_autocasts_only_when_the_cnn_did(tiny, tmp_path, monkeypatch):
    import utils.features
    cache, *_ = tiny
    model = build_backbone("regnety_002", in_chans=1).eval()
    transform = EvalTransform(resize_hw=(42, 124), out_hw=(40, 120))
    asked, real = [], utils.features.autocast
    monkeypatch.setattr(utils.features, "autocast", lambda device, enabled=True: asked.append(enabled) or real(device, enabled))
    for amp in (False, True):
        dump_features(model, cache.array[:4], transform, tmp_path / f"{amp}.npy", torch.device("cpu"),
                      batch_size=2, tta_flip=True, amp=amp)
    assert asked == [False] * 4 + [True] * 4  # 2 batches, 2 flips each


@pytest.mark.parametrize("head", ["mean", "attention", "bilstm"])
def test_fit_bag_model_and_predict_bags_for_every_head(tiny, tmp_path, head):
    cache, train, valid, test = tiny
    features = np.random.default_rng(0).standard_normal((len(cache.array), 16)).astype(np.float32)
    s = BagSettings(bag_head=head, lstm_hidden=8, lstm_epochs=3, lstm_batch_size=4)
    model, history = fit_bag_model(features, cache, train, valid, s, torch.device("cpu"), tmp_path)
    assert type(model).__name__.lower().startswith(head[:4])
    assert history.epoch.tolist() == [0, 1, 2] and np.isfinite(history.train_loss).all()
    got = predict_bags(model.eval(), features, cache, test, torch.device("cpu"))
    with torch.no_grad():  # one bag at a time, all its images, in the stored order
        for i, bag in enumerate(test):
            x = torch.from_numpy(features[cache.rows(bag.split, bag.images)])[None]
            expected = torch.sigmoid(model(x, torch.ones(1, x.shape[1], dtype=torch.bool)))[0].numpy() * bag.mask
            assert np.allclose(got[i], expected, atol=1e-5)
    many = predict_bags(model, features, cache, test, torch.device("cpu"), orders=4)
    if head == "bilstm":  # an LSTM depends on the order, so averaging orders changes it
        assert not np.allclose(many, got, atol=1e-6)
    else:                 # pooling heads do not
        assert np.allclose(many, got, atol=1e-5)


def test_the_cnn_starts_from_the_warm_up_backbone(tiny, tmp_path):
    """At a learning rate of 0 the CNN's weights stay where they start: the warm-up's
    (drawn here from another seed than the CNN's own initialisation), the classifier aside."""
    cache, train, valid, _ = tiny
    torch.manual_seed(123)
    warm = build_backbone("regnety_002", in_chans=1).state_dict()
    torch.save(warm, tmp_path / "backbone.pt")
    s = CNNSettings(cnn_epochs=1, cnn_batch_size=16, cnn_lr=0.0, cnn_lr_min=0.0, **SMALL)
    model, _ = fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / "cnn",
                               init_state=tmp_path / "backbone.pt")
    for name, weight in model.named_parameters():
        assert torch.equal(weight, warm[name]), name


def test_a_changed_input_file_makes_training_start_afresh(tiny, tmp_path, capsys):
    cache, train, valid, _ = tiny
    warmup = tmp_path / "backbone.pt"
    assert save_if_changed(build_backbone("regnety_002", in_chans=1).state_dict(), warmup)
    s = CNNSettings(cnn_epochs=3, cnn_batch_size=16, **SMALL)
    fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / "cnn", init_state=warmup, stop_after=1)
    capsys.readouterr()
    _, history = fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / "cnn",
                                 init_state=warmup, stop_after=1)
    assert "after epoch 0" in capsys.readouterr().out and history.epoch.tolist() == [0, 1]  # same inputs: resumed
    stamp = warmup.stat().st_mtime_ns
    assert not save_if_changed(torch.load(warmup), warmup) and warmup.stat().st_mtime_ns == stamp
    _, history = fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / "cnn",
                                 init_state=warmup, stop_after=1)
    assert "after epoch 1" in capsys.readouterr().out and history.epoch.tolist() == [0, 1, 2]  # still resumed
    changed = torch.load(warmup)
    changed["stem.conv.weight"] += 1  # a warm-up that trained further
    assert save_if_changed(changed, warmup) and torch.equal(torch.load(warmup)["stem.conv.weight"],
                                                            changed["stem.conv.weight"])
    _, history = fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / "cnn", init_state=warmup)
    out = capsys.readouterr().out
    assert "training afresh" in out and "resuming" not in out and history.epoch.tolist() == [0, 1, 2]


class _RecordingLoss(FocalLoss):
    """The kit's loss, keeping the targets and stage masks each training step passes it."""
    seen = []

    def forward(self, logits, targets, mask=None):
        _RecordingLoss.seen.append((targets.detach().clone(), None if mask is None else mask.detach().clone()))
        return super().forward(logits, targets, mask)


def test_both_training_stages_give_the_loss_each_samples_stage_mask(tiny, tmp_path, monkeypatch):
    import utils.train
    cache, train, valid, _ = tiny
    monkeypatch.setattr(utils.train, "FocalLoss", _RecordingLoss)
    by_target = {}  # every training image carries its bag's target and its bag's stage mask
    for bag in train:
        by_target.setdefault(tuple(bag.target), set()).add(tuple(bag.mask))
    _RecordingLoss.seen.clear()
    fit_image_model(cache, train, valid, CNNSettings(cnn_epochs=1, cnn_batch_size=8, **SMALL),
                    torch.device("cpu"), tmp_path / "cnn")
    features = np.random.default_rng(0).standard_normal((len(cache.array), 8)).astype(np.float32)
    fit_bag_model(features, cache, train, valid, BagSettings(lstm_epochs=1, lstm_batch_size=4, lstm_hidden=8),
                  torch.device("cpu"), tmp_path / "bag")
    assert len(_RecordingLoss.seen) == math.floor(sum(len(b.images) for b in train) / 8) + math.ceil(len(train) / 4)
    for targets, masks in _RecordingLoss.seen:
        assert masks is not None
        for y, m in zip(targets.tolist(), masks.tolist()):
            assert tuple(m) in by_target[tuple(y)]
    assert any(0 in m.flatten().tolist() for _, m in _RecordingLoss.seen)  # some labels are masked


def test_the_cnn_and_the_warm_up_meet_their_images_in_a_fresh_order_every_epoch(tiny, tmp_path, monkeypatch):
    cache, train, valid, _ = tiny
    orders, plan_of = {}, ImageBatches.plan

    def recording(self, epoch=0):
        plan = plan_of(self, epoch)
        if self.batch_size == 7:  # training batches (prediction reads other sizes)
            orders.setdefault(self.pair_rows is not None, []).append(plan["index"].tolist())
        return plan

    monkeypatch.setattr(ImageBatches, "plan", recording)
    fit_image_model(cache, train, valid, CNNSettings(cnn_epochs=3, cnn_batch_size=7, **SMALL),
                    torch.device("cpu"), tmp_path / "cnn")
    warm_up(cache, train, WarmupSettings(warmup_epochs=3, warmup_batch_size=7, **SMALL), torch.device("cpu"),
            tmp_path / "warmup")
    n = sum(len(b.images) for b in train)
    for stage in (False, True):  # the CNN, the warm-up (its batches carry a partner view)
        assert len(orders[stage]) == 3 and n > 14
        for order in orders[stage]:  # whole batches of distinct images (the last part one dropped)
            assert len(order) == n // 7 * 7 and len(set(order)) == len(order) and max(order) < n
        as_read = sorted(orders[stage][0])
        assert len({tuple(o) for o in orders[stage]} | {tuple(as_read)}) == 4, stage


def test_the_bag_model_meets_its_training_bags_in_a_fresh_order_every_epoch(tiny, tmp_path, monkeypatch):
    from utils.loaders import BagBatches
    cache, train, valid, _ = tiny
    orders, batches_of = {}, BagBatches.__call__

    def recording(self, epoch=0):
        for batch in batches_of(self, epoch):
            if self.batch_size == 3:  # training batches (prediction reads 256 bags at a time)
                orders.setdefault(epoch, []).extend(batch["index"].tolist())
            yield batch

    monkeypatch.setattr(BagBatches, "__call__", recording)
    features = np.random.default_rng(0).standard_normal((len(cache.array), 8)).astype(np.float32)
    fit_bag_model(features, cache, train, valid, BagSettings(lstm_epochs=3, lstm_batch_size=3, lstm_hidden=8),
                  torch.device("cpu"), tmp_path)
    assert sorted(orders) == [0, 1, 2] and len(train) > 5
    assert all(sorted(order) == list(range(len(train))) for order in orders.values())  # each bag once
    assert len({tuple(order) for order in orders.values()} | {tuple(range(len(train)))}) == 4


def test_bag_settings_give_the_bilstm_its_options_and_leave_other_heads_alone():
    s = BagSettings(bag_head="bilstm", lstm_hidden=8, lstm_readout="ends", lstm_input_norm="layernorm",
                    lstm_dropout_at="linear", lstm_dropout=0.4, lstm_skip="mean")
    head = s.build(16)
    assert head.readout == "ends" and isinstance(head.norm, torch.nn.LayerNorm) and head.lstm.dropout == 0.0
    assert (head.lstm.input_size, head.lstm.hidden_size) == (16, 8)  # lstm_hidden, not the head's default
    assert head.skip is not None and head.skip.out[0].p == 0.4
    assert BagSettings(bag_head="bilstm", lstm_hidden=8, lstm_skip="none").build(16).skip is None
    other = BagSettings(bag_head="attention", lstm_hidden=8, lstm_readout="ends").build(16)
    assert type(other).__name__ == "AttentionBagHead"
    assert other.embed[0].weight.shape == (8, 16)
