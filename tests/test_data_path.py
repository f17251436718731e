"""The training data path that keeps a GPU fed, checked on the CPU: every epoch planned once
(order and augmentation), the same batches from the memory map and from a tensor copy of
the cache (the path a GPU takes), losses read once per epoch, compilation without recompiles."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import utils  # noqa: F401  (sets CUBLAS_WORKSPACE_CONFIG)
from utils import augment as augment_module
from utils.augment import BatchAugment
from utils.cache import build_cache
from utils.data import read_competition
from utils.engine import fit, seed_everything
from utils.loaders import ImageBatches, image_table, images_on
from utils.profiles import PAPER_LOSS
from utils.train import CNNSettings, WarmupSettings, fit_image_model, scaled_warmup_lr, warm_up

SMALL = {"resize_hw": [42, 124], "out_hw": [40, 120]}
AUG = BatchAugment(resize_hw=(42, 124), out_hw=(40, 120), hflip=0.5, vflip=0.5, max_rotation=15.0,
                   blur_p=0.5)


@pytest.fixture(scope="module")
def tiny(demo_dir, tmp_path_factory):
    comp = read_competition(demo_dir, check_images=False)
    cache = build_cache(comp, tmp_path_factory.mktemp("cache"))
    return cache, comp.train[:6], comp.train[6:9]


def _batches(images, cache, bags, **kw):
    rows, bag_of = image_table(bags, cache)
    y = np.stack([b.target for b in bags])[bag_of]
    m = np.stack([b.mask for b in bags])[bag_of].astype(np.float32)
    return ImageBatches(images, rows, y, m, 4, shuffle=True, generator=torch.Generator().manual_seed(7),
                        augment=AUG, **kw), rows, y


def test_an_epoch_is_one_permutation_and_one_draw_of_augmentation_parameters(tiny):
    """Reference loop: order = randperm(n); then every image's parameters in one draw; batch k
    is the sorted k-th chunk of the order, each image augmented with its own parameters."""
    cache, train, _ = tiny
    batches, rows, y = _batches(cache.array, cache, train, drop_last=True)
    g = torch.Generator().manual_seed(7)
    for epoch in range(2):
        order = torch.randperm(len(rows), generator=g).numpy()
        n = len(rows) // 4 * 4
        params = AUG.params(n, g)
        got = list(batches(epoch))
        assert len(got) == n // 4 == len(batches)
        for k, batch in enumerate(got):
            idx = np.sort(order[4 * k:4 * k + 4])
            own = {key: v[4 * k:4 * k + 4] for key, v in params.items()}
            expected = AUG.apply(torch.from_numpy(cache.array[rows[idx]]), own)
            assert np.array_equal(batch["index"].numpy(), idx)
            assert torch.equal(batch["x"], expected)
            assert np.array_equal(batch["y"].numpy(), y[idx])


def test_the_second_view_draws_its_own_augmentation_parameters(tiny):
    """Reference loop: order, then the first views' parameters, then the second views'."""
    cache, train, _ = tiny
    batches, rows, _ = _batches(cache.array, cache, train, drop_last=True, pair_rows=None)
    batches.pair_rows = rows  # each image paired with itself: only the augmentation differs
    g = torch.Generator().manual_seed(7)
    order = torch.randperm(len(rows), generator=g).numpy()
    n = len(rows) // 4 * 4
    AUG.params(n, g)
    second = AUG.params(n, g)
    for k, batch in enumerate(batches(0)):
        idx = np.sort(order[4 * k:4 * k + 4])
        own = {key: v[4 * k:4 * k + 4] for key, v in second.items()}
        assert torch.equal(batch["x_pair"], AUG.apply(torch.from_numpy(cache.array[rows[idx]]), own))
        assert not torch.equal(batch["x_pair"], batch["x"])


def test_the_tensor_copy_of_the_cache_gives_the_same_batches_as_the_memory_map(tiny):
    cache, train, _ = tiny
    placed = images_on(cache.array, "cpu", keep="device")
    assert isinstance(placed, torch.Tensor) and np.array_equal(placed.numpy(), cache.array)
    assert images_on(cache.array, "cpu") is cache.array  # the CPU reads the memory map
    partner = np.roll(image_table(train, cache)[0], 1)
    a = list(_batches(cache.array, cache, train, pair_rows=partner)[0](0))
    b = list(_batches(placed, cache, train, pair_rows=partner)[0](0))
    assert len(a) == len(b) > 1
    for x, z in zip(a, b):
        assert x.keys() == z.keys() and {"x", "x_pair", "y", "mask", "index"} <= set(x)
        assert all(torch.equal(x[k], z[k]) for k in x)
        assert not torch.equal(x["x"], x["x_pair"])


def test_the_cache_goes_on_the_gpu_when_it_takes_at_most_its_share_of_the_free_memory(monkeypatch):
    from utils.loaders import fits_on_gpu

    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (1000, 8000))  # (free, total)
    assert fits_on_gpu(500, "cuda", share=0.5) and not fits_on_gpu(501, "cuda", share=0.5)
    assert fits_on_gpu(1000, "cuda", share=1.0) and not fits_on_gpu(1, "cuda", share=0.0)


def test_noise_windows_come_from_one_gather_equal_to_cutting_each_window():
    p = BatchAugment(out_hw=(12, 20)).params(5, torch.Generator().manual_seed(3))
    got = augment_module._noise(p, (12, 20), torch.device("cpu"), torch.float32)
    bank = augment_module._noise_banks[((12, 20), torch.device("cpu"), torch.float32)]
    for i in range(5):
        k, y, x = int(p["noise_plane"][i]), int(p["noise_y"][i]), int(p["noise_x"][i])
        assert torch.equal(got[i, 0], bank[k, y:y + 12, x:x + 20])


def test_the_cnn_trains_bit_for_bit_the_same_from_the_tensor_copy(tiny, tmp_path):
    cache, train, valid = tiny
    s = CNNSettings(cnn_epochs=2, cnn_batch_size=8, hflip=0.5, max_rotation=15.0, **SMALL)
    cpu = torch.device("cpu")
    m1, h1 = fit_image_model(cache, train, valid, s, cpu, tmp_path / "memmap")
    m2, h2 = fit_image_model(cache, train, valid, s, cpu, tmp_path / "tensor",
                             images=images_on(cache.array, cpu, keep="device"))
    assert h1.train_loss.tolist() == h2.train_loss.tolist()
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))
    assert (h1.images_per_second > 0).all() and (h1.train_seconds <= h1.seconds).all()
    n_images = sum(len(b.images) for b in train)  # the images/s of issue 10's target count these
    assert h1.train_images.tolist() == [n_images // 8 * 8] * 2 and n_images % 8  # whole batches only


def test_a_non_finite_loss_stops_the_run_naming_its_epoch_and_batch(tmp_path):
    model = nn.Linear(3, 1)
    x = torch.randn(4, 3)

    def step(m, i, epoch):
        loss = (m(x) ** 2).mean()
        return loss * float("nan") if (epoch, i) == (1, 2) else loss

    with pytest.raises(FloatingPointError, match=r"at epoch 1, batch 2; .*last.pt keeps epoch 0"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.01), lambda e: [0, 1, 2, 3], step, 3,
            tmp_path, progress=None)
    kept = torch.load(tmp_path / "last.pt", weights_only=False)
    assert kept["epoch"] == 0 and all(torch.isfinite(v).all() for v in kept["model"].values())
    # Resumed from that checkpoint, the same NaN in its first epoch still names the epoch kept.
    with pytest.raises(FloatingPointError, match=r"at epoch 1, batch 2; .*last.pt keeps epoch 0"):
        fit(model, torch.optim.SGD(model.parameters(), lr=0.01), lambda e: [0, 1, 2, 3], step, 3,
            tmp_path, progress=None)


def test_compiled_training_does_not_recompile_between_epochs(tiny, tmp_path):
    """aot_eager runs torch.compile's tracing on the CPU: graphs compiled in 3 epochs equal
    those compiled in 1 (gamma, loss weights and learning rate change between them)."""
    from torch._dynamo.utils import counters

    cache, train, valid = tiny
    counts, losses = [], {}
    for epochs in (1, 3):
        torch._dynamo.reset()
        counters.clear()
        s = CNNSettings(cnn_epochs=epochs, cnn_batch_size=8, gamma_T=2, temper_start=0, temper_half_period=1,
                        compile_backend="aot_eager", **PAPER_LOSS, **SMALL)
        _, h = fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / f"c{epochs}")
        counts.append(counters["stats"]["unique_graphs"])
        losses[epochs] = h.train_loss.tolist()
        assert h.gamma.nunique() == epochs  # gamma changed between epochs (1, 1.5, 2)
    torch._dynamo.reset()
    assert counts[0] >= 1 and counts[1] == counts[0], counts
    s = CNNSettings(cnn_epochs=1, cnn_batch_size=8, gamma_T=2, **PAPER_LOSS, **SMALL)
    eager = fit_image_model(cache, train, valid, s, torch.device("cpu"), tmp_path / "eager")[1]
    assert losses[1] == pytest.approx(eager.train_loss.tolist(), rel=1e-4)


def test_the_warm_up_learning_rate_scales_with_its_batch_and_both_views_share_one_pass(tiny, tmp_path):
    cache, train, _ = tiny
    assert scaled_warmup_lr(WarmupSettings(warmup_batch_size=32)) == pytest.approx(0.0375)
    assert scaled_warmup_lr(WarmupSettings(warmup_batch_size=256)) == pytest.approx(0.3)
    assert scaled_warmup_lr(WarmupSettings(warmup_batch_size=256, warmup_lr=0.01)) == 0.01
    calls = []
    hook = nn.modules.module.register_module_forward_hook(
        lambda m, args, out: calls.append(args[0].shape[0])
        if isinstance(m, nn.Conv2d) and m.in_channels == 1 else None)  # the stem: once per pass
    try:
        _, history = warm_up(cache, train, WarmupSettings(warmup_batch_size=8, **SMALL), torch.device("cpu"), tmp_path)
    finally:
        hook.remove()
    assert history.lr.tolist() == [pytest.approx(4.8 * 8 / 4096)]
    n_images = sum(len(b.images) for b in train)
    assert calls == [16] * (n_images // 8)  # one pass per step, both views of 8 images
    assert history.train_images.iloc[0] == n_images // 8 * 8  # whole batches only
    assert history.images_per_second.iloc[0] > 0


def test_deterministic_kernels_are_enforced_and_cublas_is_configured(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", True)  # as a notebook before might leave it
    seed_everything(0)
    assert torch.backends.cudnn.benchmark is False  # autotuning picks kernels by timing: no same bytes
    assert torch.are_deterministic_algorithms_enabled()
    assert not torch.is_deterministic_algorithms_warn_only_enabled()
    assert not torch.utils.deterministic.fill_uninitialized_memory  # no NaN fill of every new tensor
    assert os.environ["CUBLAS_WORKSPACE_CONFIG"] in (":4096:8", ":16:8")


@pytest.mark.skipif(not torch.backends.mkl.is_available(), reason="torch built without MKL")
@pytest.mark.parametrize("user_value, mode", [(None, "CNR:AUTO Dyn:0"), ("COMPATIBLE", "CNR:COMPATIBLE Dyn:0")])
def test_mkl_runs_the_cpu_products_in_its_reproducible_mode(user_value, mode):
    """MKL gives the same bits run to run only with deterministic reductions and static
    scheduling (CNR) and a thread count it does not change itself (Dyn:0). Under MKL_VERBOSE it
    reports both on every call. A fresh process that imports torch first, as a user's might:
    MKL reads its mode at its first product. A mode the user chose is kept."""
    env = {k: v for k, v in os.environ.items() if k not in ("MKL_CBWR", "MKL_DYNAMIC")}
    env.update(MKL_VERBOSE="1", **({"MKL_CBWR": user_value} if user_value else {}))
    code = ("import torch; from utils.engine import seed_everything; seed_everything(0); "
            "a = torch.ones(64, 64); a @ a")
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=Path(__file__).parents[1],
                         capture_output=True, text=True, check=True).stdout
    [call] = [line for line in out.splitlines() if "SGEMM" in line]
    assert mode in call, call


def test_seed_everything_repeats_pythons_numpys_and_torchs_global_draws():
    """Code the kit does not own (sklearn without a random_state, a user's cell) draws from the
    global generators: the same seed gives the same draws, another seed others."""
    import random

    def draws(seed):
        seed_everything(seed)
        return random.random(), float(np.random.rand()), float(torch.rand(1))

    first = draws(3)
    assert draws(3) == first
    assert all(a != b for a, b in zip(draws(4), first))


def replay_by_rerunning(fn):
    """The CPU's stand-in for utils.step_graph.cuda_graph: capturing runs nothing, and each
    replay runs fn again on the same input buffers (what a graph's replay computes) and
    refills one output tensor in place."""
    replay_by_rerunning.captures += 1
    out = []

    def replay():
        value = fn()
        out.append(value.clone()) if not out else out[0].copy_(value)
        return out[0]
    return replay


def _fit_small(folder, capture=None, stop_after=None, epochs=3):
    """A model with batch norm, Adam on a per-step cosine rate, a loss that depends on the
    epoch (as gamma does), 5 batches of 4 and a short last one of 2."""
    from utils.schedules import CosineLR

    g = seed_everything(0)
    model = nn.Sequential(nn.Linear(3, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 1))
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    data = torch.randn(22, 3, generator=torch.Generator().manual_seed(1))

    def batches(epoch):
        order = torch.randperm(22, generator=g)
        return [{"x": data[order[i:i + 4]], "index": order[i:i + 4]} for i in range(0, 22, 4)]

    def step(m, batch, epoch):
        return ((m(batch["x"]) - 1) ** 2).mean() * (1 + epoch)

    h = fit(model, opt, batches, step, epochs, folder, lr_schedule=CosineLR(0.05, 1e-3, epochs),
            generator=g, progress=None, capture=capture, stop_after=stop_after)
    return model, h


def test_a_captured_step_replays_exactly_the_eager_steps_resumed_or_not(tmp_path):
    """CapturedStep's plumbing: its warm-up steps leave no trace (weights, batch-norm
    statistics, Adam's state), every epoch captures afresh (the loss changes with the epoch),
    a short last batch runs eagerly, and a resumed run equals an uninterrupted one."""
    eager, h_eager = _fit_small(tmp_path / "eager")
    replay_by_rerunning.captures = 0
    captured, h_captured = _fit_small(tmp_path / "captured", capture=replay_by_rerunning)
    assert replay_by_rerunning.captures == 3  # once per epoch
    assert h_captured.train_loss.tolist() == h_eager.train_loss.tolist()
    assert h_captured.lr.tolist() == h_eager.lr.tolist()
    for a, b in zip(eager.state_dict().values(), captured.state_dict().values()):
        assert torch.equal(a, b)
    _fit_small(tmp_path / "cut", capture=replay_by_rerunning, stop_after=1)
    resumed, _ = _fit_small(tmp_path / "cut", capture=replay_by_rerunning)
    for a, b in zip(eager.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


def test_a_captured_step_replays_only_batches_like_its_first():
    """A batch that differs from the first in one tensor's shape, dtype or name runs eagerly:
    copied into the first batch's buffers it would be cut short, cast or dropped."""
    from utils.step_graph import CapturedStep

    model = nn.Linear(3, 1)

    def step(batch, key):
        return model(batch["x"]).sum() + batch["w"].sum()

    replay_by_rerunning.captures = 0
    captured = CapturedStep(step, model, torch.optim.SGD(model.parameters(), lr=0.0), capture=replay_by_rerunning)
    captured({"x": torch.ones(4, 3), "w": torch.ones(4)})
    assert captured.fits({"x": torch.zeros(4, 3), "w": torch.zeros(4)})
    for other in ({"x": torch.ones(4, 3), "w": torch.ones(2)},  # one tensor shorter
                  {"x": torch.ones(4, 3), "w": torch.ones(4, dtype=torch.float64)},  # one of another dtype
                  {"x": torch.ones(4, 3)},  # one missing
                  {"x": torch.ones(4, 3), "w": torch.ones(4), "v": torch.ones(4)}):  # one more
        assert not captured.fits(other)
    short = {"x": torch.ones(4, 3), "w": torch.ones(2)}
    assert captured(short).item() == pytest.approx(step(short, None).item())  # its own w, not the buffer's
    assert replay_by_rerunning.captures == 1  # and no new graph for it


def test_a_captured_step_keeps_checkpoints_plain_and_its_rate_in_place():
    from utils.step_graph import portable_state, set_learning_rate

    w = nn.Parameter(torch.ones(2))
    opt = torch.optim.Adam([w], lr=0.1)
    rate = torch.tensor(0.1)
    opt.param_groups[0].update(lr=rate, capturable=True)  # as CapturedStep leaves it on a GPU
    set_learning_rate(opt, 0.25)
    assert opt.param_groups[0]["lr"] is rate and rate.item() == 0.25  # the graph reads this tensor
    saved = portable_state(opt)["param_groups"][0]
    assert saved["lr"] == 0.25 and type(saved["lr"]) is float and saved["capturable"] is False
    assert opt.param_groups[0]["capturable"] is True  # the live optimiser is untouched
    plain = torch.optim.SGD([w], lr=0.1)
    set_learning_rate(plain, 0.5)
    assert plain.param_groups[0]["lr"] == 0.5


def test_each_compile_backend_reaches_torch_compile_as_its_parameter_documents(monkeypatch):
    """None and "cuda-graph" leave the network eager (the graph is step_capture's); the two
    inductor names and any other torch.compile backend go to torch.compile as named."""
    import utils.train as train_module

    calls = []
    monkeypatch.setattr(train_module.torch, "compile", lambda fn, **kwargs: calls.append(kwargs) or fn)
    network = nn.Identity()
    assert train_module.compile_network(network, None) is network
    assert train_module.compile_network(network, "cuda-graph") is network and calls == []
    for backend in ("inductor-cudagraphs", "inductor", "aot_eager"):
        train_module.compile_network(network, backend)
    assert calls == [{"backend": "inductor", "mode": "reduce-overhead"}, {"backend": "inductor"},
                     {"backend": "aot_eager"}]


def test_the_cnn_and_warm_up_steps_replay_exactly_through_a_captured_step(tiny, tmp_path, monkeypatch):
    """compile_backend="cuda-graph" on the chain's stages, with the graph stood in for by a
    rerun: the static batch buffers carry images, labels, masks and the second view."""
    import utils.train as train_module

    cache, train, valid = tiny
    cpu = torch.device("cpu")
    assert train_module.step_capture("cuda-graph", cpu) is None  # the CPU runs the step eagerly
    assert train_module.step_capture("cuda-graph", "cuda") is train_module.cuda_graph
    assert train_module.step_capture("inductor", "cuda") is None
    monkeypatch.setattr(train_module, "step_capture",
                        lambda backend, device: replay_by_rerunning if backend == "cuda-graph" else None)
    runs = {}
    for backend in (None, "cuda-graph"):
        replay_by_rerunning.captures = 0
        s = CNNSettings(cnn_epochs=2, cnn_batch_size=8, gamma_T=2, hflip=0.5, max_rotation=15.0,
                        compile_backend=backend, **SMALL)
        model, h = fit_image_model(cache, train, valid, s, cpu, tmp_path / f"cnn-{backend}")
        w = WarmupSettings(warmup_batch_size=8, compile_backend=backend, **SMALL)
        backbone, hw = warm_up(cache, train, w, cpu, tmp_path / f"warm-{backend}")
        runs[backend] = (model, h, backbone, hw, replay_by_rerunning.captures)
    (m1, h1, b1, w1, _), (m2, h2, b2, w2, captures) = runs[None], runs["cuda-graph"]
    assert captures == 2 + 1  # the CNN's two epochs, the warm-up's one
    assert h1.train_loss.tolist() == h2.train_loss.tolist() and w1.train_loss.tolist() == w2.train_loss.tolist()
    for one, two in ((m1, m2), (b1, b2)):
        assert all(torch.equal(a, b) for a, b in zip(one.state_dict().values(), two.state_dict().values()))
