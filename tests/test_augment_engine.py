import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from utils.augment import BatchAugment, EvalTransform
from utils.engine import fit, seed_everything


def _batch(n=6):
    g = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (n, 128, 320), dtype=torch.uint8, generator=g)


def test_augmentation_is_per_sample_and_reproducible():
    aug = BatchAugment()
    x = _batch(1).repeat(6, 1, 1)  # six copies of one image
    a = aug(x, torch.Generator().manual_seed(1))
    b = aug(x, torch.Generator().manual_seed(1))
    c = aug(x, torch.Generator().manual_seed(2))
    assert a.shape == (6, 1, 112, 336)
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert all(not torch.allclose(a[0], a[i]) for i in range(1, 6))


def test_random_parameters_spread_as_the_paper_states():
    """Resize to 116x340, random 112x336 crop with padding 4, flips at 0.5, rotation up to 15
    degrees either way: over many draws every crop position and both rotation signs occur."""
    p = BatchAugment(blur_p=0.25).params(20000, torch.Generator().manual_seed(0))
    span_y, span_x = 116 + 2 * 4 - 112, 340 + 2 * 4 - 336  # 12 and 12: offsets -6..6 from the centre
    assert sorted(set(p["offset_y"].tolist())) == list(np.arange(span_y + 1) - span_y / 2)
    assert sorted(set(p["offset_x"].tolist())) == list(np.arange(span_x + 1) - span_x / 2)
    degrees = np.degrees(p["angle"].numpy())
    assert np.abs(degrees).max() <= 15 and degrees.min() < -14.9 and degrees.max() > 14.9
    assert abs(degrees.mean()) < 0.3  # uniform on [-15, 15]: mean 0, standard error 0.06
    for key, rate in (("hflip", 0.5), ("vflip", 0.5), ("blur", 0.25)):
        assert abs(p[key].float().mean().item() - rate) < 0.02, key


def test_identity_parameters_reproduce_the_eval_transform():
    x = _batch(2)
    aug = BatchAugment(hflip=0, vflip=0, max_rotation=0, noise_std=0, pad=0,
                       resize_hw=(128, 320), out_hw=(128, 320))
    ev = EvalTransform(resize_hw=(128, 320), out_hw=(128, 320))
    assert torch.allclose(aug(x), ev(x), atol=1e-3)  # 1e-3 / 0.12 std: under 0.1 grey level


def test_gaussian_blur_equals_scipy_per_sample():
    from scipy.ndimage import gaussian_filter

    from utils.augment import gaussian_blur
    x = torch.rand(3, 1, 20, 30, dtype=torch.float64)
    sigma = torch.tensor([0.5, 1.0, 1.5], dtype=torch.float64)
    got = gaussian_blur(x, sigma)
    for i, s in enumerate(sigma.tolist()):  # radius 4 as the kit's kernel, edges repeated
        expected = gaussian_filter(x[i, 0].numpy(), s, mode="nearest", truncate=4 / s)
        assert np.allclose(got[i, 0].numpy(), expected, atol=1e-10)


# The geometry made exact: no crop padding, no resize, no noise, so only the tested step acts.
EXACT = dict(pad=0, resize_hw=(128, 320), out_hw=(128, 320), noise_std=0, max_rotation=0, hflip=0, vflip=0)


def test_augmentation_adds_gaussian_noise_of_its_std_before_normalising():
    # The same draws with and without noise: what the noise adds, in [0, 1] intensity units,
    # is zero-mean with the standard deviation asked, and different for each image.
    from utils.augment import STD
    x = _batch(3)
    plain = BatchAugment(**EXACT)(x, torch.Generator().manual_seed(5))
    noisy = BatchAugment(**{**EXACT, "noise_std": 0.03})(x, torch.Generator().manual_seed(5))
    added = (noisy - plain) * STD
    assert abs(added.std().item() - 0.03) < 0.001 and abs(added.mean().item()) < 0.001
    assert not torch.allclose(added[0], added[1])


@pytest.mark.parametrize("small_hw", [(32, 320), (128, 80)])
def test_a_strong_downscale_along_either_axis_is_anti_aliased_in_training_and_evaluation(small_hw):
    # White noise shrunk 4x along one axis: an anti-aliased bilinear resize averages 8 pixels
    # with tent weights (1, 3, 5, 7, 7, 5, 3, 1) / 32, which keeps sqrt(168) / 32 = 0.41 of its
    # standard deviation; sampling between two pixels without it keeps sqrt(0.5) = 0.71.
    x = _batch(2)
    for transform in (lambda hw: BatchAugment(**{**EXACT, "resize_hw": hw, "out_hw": hw}),
                      lambda hw: EvalTransform(resize_hw=hw, out_hw=hw)):
        kept = (transform(small_hw)(x).std() / transform((128, 320))(x).std()).item()
        assert kept == pytest.approx(168 ** 0.5 / 32, abs=0.02), kept


def test_the_paper_style_loader_the_benchmarks_compare_against_makes_the_same_images():
    # A flat grey frame: its centre stays grey under any crop and rotation, so what varies
    # there is the added noise (0.03 in [0, 1] units), as in BatchAugment.
    from PIL import Image

    from utils.augment import MEAN, STD, paper_pil_transform
    with torch.random.fork_rng():  # torchvision draws from the global generator
        torch.manual_seed(0)
        out = paper_pil_transform()(Image.fromarray(np.full((128, 320, 3), 128, np.uint8)))
    assert out.shape == (1, 112, 336)
    centre = out[0, 40:72, 120:216] * STD + MEAN
    assert abs(centre.mean().item() - 128 / 255) < 0.002 and abs(centre.std().item() - 0.03) < 0.002


def test_augmentation_blurs_with_each_samples_own_sigma():
    from utils.augment import MEAN, STD, gaussian_blur
    x = _batch(3)
    plain = BatchAugment(**EXACT)(x, torch.Generator().manual_seed(5))
    blurred = BatchAugment(blur_p=1.0, **EXACT)(x, torch.Generator().manual_seed(5))
    sigma = BatchAugment(**EXACT).params(3, torch.Generator().manual_seed(5))["sigma"]
    expected = (gaussian_blur(plain * STD + MEAN, sigma) - MEAN) / STD
    assert torch.allclose(blurred, expected, atol=1e-4)
    assert not torch.allclose(blurred, plain, atol=1e-2)


def test_flips_and_rotation_move_pixels_where_they_should():
    x = _batch(2)
    plain = BatchAugment(**EXACT)(x, torch.Generator().manual_seed(3))
    for flip, dim in [("hflip", -1), ("vflip", -2)]:
        flipped = BatchAugment(**{**EXACT, flip: 1.0})(x, torch.Generator().manual_seed(3))
        assert torch.allclose(flipped, plain.flip(dim), atol=1e-4), flip
    # A rotation by 180 degrees about the centre is both flips at once.
    import torch.nn.functional as F

    from utils.augment import affine_grid, to_float
    aug = BatchAugment(**{**EXACT, "max_rotation": 180.0})
    p = aug.params(2, torch.Generator().manual_seed(0))
    p["angle"] = torch.full((2,), np.pi)
    turned = F.grid_sample(to_float(x, True), affine_grid(aug.theta(p), (128, 320)), align_corners=False,
                           padding_mode="border")
    assert torch.allclose(turned, to_float(x, True).flip(-1).flip(-2), atol=1e-4)
    # Random rotations of up to 15 degrees change the image but keep its centre in place.
    dot = torch.full((4, 128, 320), 255, dtype=torch.uint8)
    dot[:, 60:68, 156:164] = 0
    rotated = BatchAugment(**{**EXACT, "max_rotation": 15.0})(dot, torch.Generator().manual_seed(1))
    assert (rotated[:, 0, 62:66, 158:162] < 0).all()  # still dark at the centre (normalised)
    ev = EvalTransform()
    assert torch.allclose(ev(x, hflip=True), ev(x).flip(-1))


def test_a_white_image_stays_white_under_any_crop_flip_and_rotation():
    # The border is repeated (white background), so no black bars or corners come in.
    from utils.augment import MEAN, STD
    white = torch.full((8, 128, 320), 255, dtype=torch.uint8)
    out = BatchAugment(noise_std=0, max_rotation=15.0)(white, torch.Generator().manual_seed(0))
    assert torch.allclose(out, torch.full_like(out, (1 - MEAN) / STD), atol=1e-4)


def test_crop_offsets_shift_the_image_by_whole_pixels():
    from utils.augment import MEAN, STD, to_float
    x = _batch(6)
    aug = BatchAugment(**{**EXACT, "out_hw": (120, 312)})  # 8 pixels of slack each way
    p = aug.params(6, torch.Generator().manual_seed(4))
    out = aug.apply(x, p)
    assert len(set(zip(p["offset_y"].tolist(), p["offset_x"].tolist()))) > 1
    for i in range(6):
        top, left = 4 + int(p["offset_y"][i]), 4 + int(p["offset_x"][i])
        window = to_float(x[i:i + 1], True)[..., top:top + 120, left:left + 312]
        assert torch.allclose(out[i:i + 1], (window - MEAN) / STD, atol=1e-3), i  # float32 grid rounding


def test_eval_transform_takes_the_centre_crop():
    from utils.augment import MEAN, STD, to_float
    x = _batch(2)
    out = EvalTransform(resize_hw=(128, 320), out_hw=(120, 300))(x)
    assert torch.allclose(out, (to_float(x, True)[..., 4:124, 10:310] - MEAN) / STD)


def test_a_quarter_turn_rotates_in_pixel_space_on_a_wide_image():
    # The centre square of a 128x320 image turned by 90 degrees is np.rot90 of that square;
    # rotating in the stretched normalised coordinates would squash it instead.
    import torch.nn.functional as F

    from utils.augment import affine_grid, to_float
    x = to_float(_batch(1), True)
    aug = BatchAugment(**EXACT)
    p = aug.params(1, torch.Generator().manual_seed(0))
    p["angle"] = torch.full((1,), np.pi / 2)
    turned = F.grid_sample(x, affine_grid(aug.theta(p), (128, 320)), align_corners=False)[0, 0, :, 96:224]
    square = x[0, 0, :, 96:224]
    assert any(torch.allclose(turned, torch.rot90(square, k, (0, 1)), atol=1e-4) for k in (1, -1))


def _run(tmp, epochs, stop_after=None, save_generator=True):
    """A tiny deterministic fit; returns (model, history, the epoch of each training step).
    Its dropout draws from torch's generator and each step from Python's and NumPy's (as a
    user's augmentation might), so a resume must restore all three; steps run in training
    mode and validation in eval mode (no dropout), whatever came before."""
    import random

    g = seed_everything(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    x, y = torch.randn(32, 4, generator=torch.Generator().manual_seed(9)), torch.randn(32, 1)
    steps = []

    def batches(epoch):
        order = torch.randperm(32, generator=g)
        return [order[i:i + 8] for i in range(0, 32, 8)]

    def step(m, idx, epoch):
        assert m.training
        steps.append(epoch)
        return ((m(x[idx]) - y[idx]) ** 2).mean() * (1 + 0.1 * random.random() + 0.1 * np.random.rand())

    def evaluate(m):
        assert not m.training
        return {"neg_mse": -((m(x) - y) ** 2).mean().item()}

    hist = fit(model, opt, batches, step, epochs, tmp, lr_schedule=lambda e: 0.1 / (1 + e),
               evaluate=evaluate, select="neg_mse",
               generator=g if save_generator else None, progress=False, stop_after=stop_after)
    return model, hist, steps


def test_fit_resumes_exactly_after_an_interruption(tmp_path, capsys):
    full, hist, _ = _run(tmp_path / "a", 4)
    _, _, first = _run(tmp_path / "b", 4, stop_after=2)  # "killed" after two epochs
    assert first == [0] * 4 + [1] * 4
    capsys.readouterr()
    resumed, hist_b, rest = _run(tmp_path / "b", 4)
    assert f"resuming from {tmp_path / 'b' / 'last.pt'} after epoch 1" in capsys.readouterr().out
    assert rest == [2] * 4 + [3] * 4  # only the epochs the interruption left, 4 batches each
    assert all(torch.equal(a, b) for a, b in zip(full.state_dict().values(), resumed.state_dict().values()))
    assert hist_b.epoch.tolist() == [0, 1, 2, 3] and hist.train_loss.tolist() == hist_b.train_loss.tolist()
    assert (tmp_path / "a" / "best.pt").exists()
    _, _, none_left = _run(tmp_path / "b", 4)  # a finished run resumes to nothing
    assert none_left == []


def test_fit_takes_each_epochs_batches_from_a_generator_with_the_lr_set_per_step(tmp_path):
    """batches(epoch) may yield its batches without a length: they are listed first, so the
    learning rate still moves a quarter of an epoch at each of 4 steps."""
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=1.0)
    rates = []

    def batches(epoch):
        yield from range(4)

    def step(m, batch, epoch):
        rates.append(opt.param_groups[0]["lr"])
        return m(torch.ones(1, 2)).sum()

    fit(model, opt, batches, step, 2, tmp_path, lr_schedule=lambda e: e, progress=None)
    assert rates == [0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]


def test_a_checkpoint_saved_without_a_generator_resumes_with_one(tmp_path):
    """A caller that passed no generator saved no data-order state: resumed with one, the
    run goes on from the freshly seeded generator instead of failing on the missing state."""
    _run(tmp_path, 4, stop_after=2, save_generator=False)
    _, hist, rest = _run(tmp_path, 4)
    assert rest == [2] * 4 + [3] * 4 and hist.epoch.tolist() == [0, 1, 2, 3]


def test_a_checkpoint_keeps_the_cuda_random_state_and_a_resume_restores_it(tmp_path, monkeypatch):
    """On a GPU, dropout draws from the CUDA generators, so a resumed run equals an uninterrupted
    one only if last.pt carries their state back. The CPU has none: stand-ins record the calls,
    and say "a GPU is here" only to the engine's two functions (torch's own checks see none)."""
    cuda_state, restored = [torch.tensor([7, 1, 3], dtype=torch.uint8)], []

    def asked_by_the_engine():
        return sys._getframe(1).f_code.co_name in ("_rng_state", "_set_rng_state")

    monkeypatch.setattr(torch.cuda, "is_initialized", asked_by_the_engine)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: cuda_state)
    _run(tmp_path, 4, stop_after=2)
    saved = torch.load(tmp_path / "last.pt", weights_only=False)["rng"]["cuda"]
    assert len(saved) == 1 and torch.equal(saved[0], cuda_state[0])
    monkeypatch.setattr(torch.cuda, "is_available", asked_by_the_engine)
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    _, _, rest = _run(tmp_path, 4)
    assert rest == [2] * 4 + [3] * 4 and len(restored) == 1 and torch.equal(restored[0][0], cuda_state[0])


def _scored_run(tmp, stop_after=None):
    """A fit whose validation score peaks at epoch 1 (tied at 2: the earlier epoch is kept)
    and whose LR each step is recorded."""
    g = seed_everything(0)
    model = nn.Linear(4, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    epochs, lrs = [], []

    def step(m, batch, epoch):
        epochs.append(epoch)
        lrs.append(opt.param_groups[0]["lr"])
        return (m(torch.ones(2, 4)) ** 2).mean()

    fit(model, opt, lambda e: [0, 1, 2, 3], step, 4, tmp, lr_schedule=lambda e: 0.1 / (1 + e),
        evaluate=lambda m: {"s": [0.1, 0.5, 0.5, 0.2][epochs[-1]]}, select="s", generator=g,
        progress=None, stop_after=stop_after)
    return lrs


def test_fit_sets_the_lr_every_step_and_a_resume_keeps_the_best_epoch(tmp_path):
    lrs = _scored_run(tmp_path / "a")
    assert lrs == pytest.approx([0.1 / (1 + e + i / 4) for e in range(4) for i in range(4)])
    _scored_run(tmp_path / "b", stop_after=2)  # killed after the best epoch (1)
    _scored_run(tmp_path / "b")               # epoch 2 only ties, 3 is lower: best.pt stays epoch 1
    for run in "ab":
        assert torch.load(tmp_path / run / "best.pt", weights_only=False)["epoch"] == 1, run


def _slow_disk_run(folder, monkeypatch, checkpoint_share):
    """12 epochs of 4 steps on a clock where a step takes 1 s and a file save 1 s; the
    score peaks at epoch 3. Returns the model and the (file, epoch) of every save."""
    import types

    import utils.engine as engine
    now, saves, real_save = [0.0], [], engine.save_atomic

    def slow_save(obj, path):
        now[0] += 1.0
        saves.append((Path(path).name, obj["epoch"]))
        real_save(obj, path)

    def step(m, batch, epoch):
        now[0] += 1.0
        return (m(x) ** 2).mean()

    monkeypatch.setattr(engine, "save_atomic", slow_save)
    monkeypatch.setattr(engine, "time", types.SimpleNamespace(time=lambda: now[0]))
    g = seed_everything(0)
    model = nn.Linear(4, 1)
    x = torch.randn(8, 4, generator=torch.Generator().manual_seed(1))
    scores = iter([0.1, 0.2, 0.3, 0.9, 0.5] + [0.4] * 7)
    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), lambda e: [0, 1, 2, 3], step, 12, folder,
        evaluate=lambda m: {"s": next(scores)}, select="s", generator=g, progress=None,
        checkpoint_share=checkpoint_share)
    return model, saves


def test_checkpoints_take_their_share_of_the_time_and_best_pt_still_holds_the_best_epoch(tmp_path, monkeypatch):
    every, saves_every = _slow_disk_run(tmp_path / "every", monkeypatch, None)
    assert [e for f, e in saves_every if f == "last.pt"] == list(range(12))
    shared, saves = _slow_disk_run(tmp_path / "shared", monkeypatch, 0.05)
    # Epoch 0 saves best.pt and last.pt: 2 s. At 5% the next save is due 40 s later, after
    # 10 epochs of 4 s (epoch 10); the last epoch always saves.
    assert saves == [("best.pt", 0), ("last.pt", 0), ("best.pt", 3), ("last.pt", 10), ("last.pt", 11)]
    for name in ("best.pt", "last.pt"):
        a, b = (torch.load(tmp_path / run / name, weights_only=False) for run in ("every", "shared"))
        assert a["epoch"] == b["epoch"] == {"best.pt": 3, "last.pt": 11}[name]
        assert all(torch.equal(a["model"][k], b["model"][k]) for k in a["model"]), name
    assert torch.equal(every.weight, shared.weight)


def test_affine_grid_matches_torch():
    from utils.augment import affine_grid
    theta = torch.randn(5, 2, 3)
    expected = torch.nn.functional.affine_grid(theta, [5, 1, 12, 34], align_corners=False)
    assert torch.allclose(affine_grid(theta, (12, 34)), expected, atol=1e-5)


def test_fit_does_not_resume_a_checkpoint_made_with_other_settings(tmp_path, capsys):
    from utils.engine import run_key
    # The same settings in another order are the same run; another value is not.
    assert run_key(lr=0.1, aug={"hflip": 0.5, "vflip": 0.0}) == run_key(aug={"vflip": 0.0, "hflip": 0.5}, lr=0.1)
    assert run_key(lr=0.1, aug={"hflip": 0.5, "vflip": 0.0}) != run_key(lr=0.1, aug={"hflip": 0.5, "vflip": 0.5})
    model = nn.Linear(2, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.ones(4, 2)
    ran = []

    def step(m, b, e):
        ran.append(e)
        return (m(x) ** 2).mean()

    fit(model, opt, lambda e: [0], step, 2, tmp_path, progress=False, key=run_key(lr=0.1))
    capsys.readouterr()
    ran.clear()
    hist = fit(model, opt, lambda e: [0], step, 3, tmp_path, progress=False, key=run_key(lr=0.1))
    out = capsys.readouterr().out
    assert ran == [2] and "resuming from" in out and "afresh" not in out  # same key: one more epoch
    assert len(hist) == 3
    ran.clear()
    hist = fit(model, opt, lambda e: [0], step, 3, tmp_path, progress=False, key=run_key(lr=0.2))
    out = capsys.readouterr().out
    assert ran == [0, 1, 2] and "training afresh" in out and "resuming" not in out
    assert list(hist.epoch) == [0, 1, 2]


def test_colour_batches_keep_three_channels_or_become_grey():
    from utils.augment import MEAN, STD
    x = torch.randint(0, 256, (4, 128, 320, 3), dtype=torch.uint8)
    assert BatchAugment(grayscale=False)(x).shape == (4, 3, 112, 336)
    assert BatchAugment(grayscale=True)(x).shape == (4, 1, 112, 336)
    from utils.train import CNNSettings  # a training run's augmentation gives its model's channels
    assert [CNNSettings(in_chans=c).augment()(x).shape[1] for c in (1, 3)] == [1, 3]
    # A uniform lavender image: grey is ITU-R 601 luma, colour keeps each channel.
    lavender = torch.tensor([200, 170, 220], dtype=torch.uint8).expand(2, 128, 320, 3)
    grey = (0.299 * 200 + 0.587 * 170 + 0.114 * 220) / 255
    assert torch.allclose(EvalTransform(grayscale=True)(lavender), torch.tensor((grey - MEAN) / STD), atol=1e-5)
    colour = EvalTransform(grayscale=False)(lavender)
    assert colour.shape == (2, 3, 112, 336)
    for c, v in enumerate([200, 170, 220]):
        assert torch.allclose(colour[:, c], torch.tensor((v / 255 - MEAN) / STD), atol=1e-5)


def test_fit_clips_every_steps_gradient_norm(tmp_path):
    class Recording(torch.optim.SGD):
        norms = []

        def step(self, closure=None):
            grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
            self.norms.append(float(torch.linalg.vector_norm(torch.stack([g.norm() for g in grads]))))
            return super().step(closure)

    model = nn.Linear(4, 1)
    x = torch.randn(8, 4) * 100
    fit(model, Recording(model.parameters(), lr=1e-6), lambda e: [0, 1], lambda m, b, e: (m(x) ** 2).mean(),
        2, tmp_path / "clipped", progress=None, clip_grad_norm=0.5)
    assert len(Recording.norms) == 4 and max(Recording.norms) == pytest.approx(0.5, rel=1e-4)
    Recording.norms.clear()
    fit(model, Recording(model.parameters(), lr=1e-6), lambda e: [0], lambda m, b, e: (m(x) ** 2).mean(),
        1, tmp_path / "free", progress=None)
    assert Recording.norms[0] > 10


def test_seeding_flushes_subnormal_floats_to_zero_on_the_cpu():
    # Saturated LSTM gates make subnormals, and CPU arithmetic on them is slow (BENCHMARKS.md).
    tiny = 1e-39  # below float32's smallest normal number, 1.18e-38
    if not torch.set_flush_denormal(False):
        pytest.skip("this CPU cannot flush subnormals")
    assert (torch.full((1000,), tiny) * 1.0).sum().item() > 0
    seed_everything(0)
    assert (torch.full((1000,), tiny) * 1.0).sum().item() == 0.0


def test_the_historys_training_loss_is_the_mean_of_the_epochs_step_losses(tmp_path):
    model = nn.Linear(3, 1)
    xs = [torch.full((2, 3), float(k)) for k in range(1, 4)]
    seen = []

    def train_step(m, batch, epoch):
        loss = m(batch).pow(2).mean()
        seen.append(loss.item())
        return loss

    history = fit(model, torch.optim.SGD(model.parameters(), lr=0.01), lambda epoch: xs, train_step, 1,
                  tmp_path, progress=None)
    assert len(seen) == 3 and history.train_loss[0] == pytest.approx(np.mean(seen))


@pytest.mark.parametrize("cut", [0, 100, -20])  # empty, cut early, cut short of its end
def test_a_damaged_checkpoint_is_named_and_nothing_is_overwritten(tmp_path, cut):
    from utils.engine import load_best
    model = nn.Linear(2, 1)
    x = torch.ones(4, 2)

    def step(m, b, e):
        return (m(x) ** 2).mean()

    fit(model, torch.optim.SGD(model.parameters(), lr=0.1), lambda e: [0], step, 1, tmp_path, progress=False)
    for name in ("last.pt", "best.pt"):
        path = tmp_path / name
        path.write_bytes(path.read_bytes()[:cut])  # a copy that stopped part-way
    damaged = (tmp_path / "last.pt").read_bytes()
    with pytest.raises(RuntimeError, match=rf"{tmp_path / 'last.pt'} cannot be read .*delete it to train"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.1), lambda e: [0], step, 2, tmp_path, progress=False)
    assert (tmp_path / "last.pt").read_bytes() == damaged  # left for the user to look at
    with pytest.raises(RuntimeError, match=rf"{tmp_path / 'best.pt'} cannot be read"):
        load_best(model, tmp_path)


def test_resizing_samples_at_pixel_centres_as_pil_and_torchvision_do():
    from utils.augment import _resize
    ramp = torch.arange(4.0).reshape(1, 1, 1, 4).expand(1, 1, 2, 4)
    # output pixel j reads the input at (j + 0.5) / 2 - 0.5, clamped to the image (not j * 3 / 7)
    expected = torch.tensor([0, 0.25, 0.75, 1.25, 1.75, 2.25, 2.75, 3])
    assert torch.allclose(_resize(ramp, (2, 8))[0, 0], expected.expand(2, 8))
