"""Device choice and the GPU branches: what a CPU can check runs everywhere; the rest is
marked `gpu` and skipped without CUDA (run them on a GPU box: `pytest -m gpu`)."""
import warnings

import numpy as np
import pytest
import torch

from utils.engine import autocast, choose_device
from utils.losses import FocalLoss
from utils.models import build_backbone
from utils.profiles import PAPER_LOSS

requires_gpu = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message shown without a GPU")
def test_asking_for_cuda_without_a_gpu_says_what_to_do():
    with pytest.raises(RuntimeError, match="no GPU is visible; use device='cpu'"):
        choose_device("cuda")
    with pytest.raises(RuntimeError, match="no GPU is visible"):
        choose_device("cuda:0")
    assert choose_device("auto") == torch.device("cpu")


def test_cpu_is_always_available():
    assert choose_device("cpu") == torch.device("cpu")


def test_autocast_is_bf16_on_a_gpu_and_off_on_the_cpu():
    assert not isinstance(autocast(torch.device("cpu")), torch.autocast)  # exact float32 on the CPU
    with warnings.catch_warnings():  # constructing a CUDA autocast without CUDA only warns
        warnings.simplefilter("ignore")
        gpu = autocast(torch.device("cuda"))
        off = autocast(torch.device("cuda"), enabled=False)
    assert isinstance(gpu, torch.autocast) and gpu.device == "cuda" and gpu.fast_dtype == torch.bfloat16
    assert gpu._cache_enabled is False  # a captured step casts its weights on every replay
    assert not isinstance(off, torch.autocast)


@pytest.mark.gpu
@requires_gpu
def test_bf16_autocast_on_the_gpu_keeps_the_loss_in_float32():
    device = torch.device("cuda")
    model = build_backbone("regnety_002", in_chans=1).to(device).to(memory_format=torch.channels_last)
    x = torch.randn(8, 1, 112, 336, device=device).contiguous(memory_format=torch.channels_last)
    y = (torch.rand(8, 30, device=device) > 0.8).float()
    with autocast(device):
        logits = model(x)
    assert logits.dtype == torch.bfloat16
    loss = FocalLoss(pos_weight=torch.full((30,), 3.0)).to(device)(logits, y)
    assert loss.dtype == torch.float32 and torch.isfinite(loss)


@pytest.mark.gpu
@requires_gpu
def test_channels_last_gives_the_same_logits_as_contiguous_on_the_gpu():
    device = torch.device("cuda")
    torch.manual_seed(0)
    model = build_backbone("regnety_002", in_chans=1).to(device).eval()
    x = torch.randn(4, 1, 112, 336, device=device)
    with torch.no_grad():
        plain = model(x)
        last = model.to(memory_format=torch.channels_last)(x.contiguous(memory_format=torch.channels_last))
    assert torch.allclose(plain, last, atol=1e-3)


@pytest.mark.gpu
@requires_gpu
def test_the_same_seed_twice_on_the_gpu_gives_the_same_weights(demo_dir, tmp_path):
    from utils.cache import build_cache
    from utils.data import read_competition
    from utils.train import CNNSettings, fit_image_model

    comp = read_competition(demo_dir, check_images=False)
    cache = build_cache(comp, tmp_path)
    s = CNNSettings(cnn_epochs=2, cnn_batch_size=16, resize_hw=[116, 340], out_hw=[112, 336],
                    hflip=0.5, vflip=0.5, max_rotation=15.0, **PAPER_LOSS)
    runs = [fit_image_model(cache, comp.train[:12], comp.train[12:16], s, torch.device("cuda"), tmp_path / f"r{i}")
            for i in range(2)]
    for a, b in zip(runs[0][0].state_dict().values(), runs[1][0].state_dict().values()):
        assert torch.equal(a, b)
    assert np.array_equal(runs[0][1].train_loss, runs[1][1].train_loss)


@pytest.mark.gpu
@requires_gpu
def test_the_gpu_data_path_gathers_the_same_images_from_gpu_or_pinned_memory(demo_dir, tmp_path):
    from utils.augment import BatchAugment
    from utils.cache import build_cache
    from utils.data import read_competition
    from utils.loaders import ImageBatches, image_table, images_on

    comp = read_competition(demo_dir, check_images=False)
    cache = build_cache(comp, tmp_path)
    rows, _ = image_table(comp.train[:20], cache)
    device = torch.device("cuda")
    on_gpu, pinned = images_on(cache.array, device), images_on(cache.array, device, share=0.0)
    assert on_gpu.is_cuda and not pinned.is_cuda and pinned.is_pinned()
    aug = BatchAugment(resize_hw=(116, 340), out_hw=(112, 336), hflip=0.5, vflip=0.5, blur_p=0.5)

    def epoch(images, augment):
        return list(ImageBatches(images, rows, None, None, 8, shuffle=True, augment=augment, device=device,
                                 generator=torch.Generator().manual_seed(1))(0))

    plain = epoch(cache.array, None)
    for a, b, c in zip(plain, epoch(on_gpu, None), epoch(pinned, None)):
        assert a["x"].is_cuda and torch.equal(a["x"], b["x"]) and torch.equal(a["x"], c["x"])
        assert torch.equal(a["x"].cpu(), torch.from_numpy(cache.array[rows[a["index"].cpu().numpy()]]))
    for a, b in zip(epoch(on_gpu, aug), epoch(pinned, aug)):
        assert torch.equal(a["x"], b["x"])


@pytest.mark.gpu
@requires_gpu
def test_a_resumed_gpu_run_equals_an_uninterrupted_one_dropout_included(tmp_path):
    from torch import nn

    from utils.engine import fit, seed_everything

    device = torch.device("cuda")
    x = torch.randn(64, 8, device=device)

    def run(folder, stop_after=None):
        g = seed_everything(0)
        model = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.5), nn.Linear(32, 1)).to(device)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2, fused=True)
        fit(model, opt, lambda e: [0, 1, 2], lambda m, b, e: (m(x) ** 2).mean(), 4, folder,
            generator=g, progress=None, stop_after=stop_after)
        return model

    full = run(tmp_path / "full")
    run(tmp_path / "cut", stop_after=2)
    resumed = run(tmp_path / "cut")  # seeded afresh: only the saved CUDA state gives epoch 2 its masks
    for a, b in zip(full.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.gpu
@requires_gpu
@pytest.mark.parametrize("amp", [False, True])
def test_a_captured_step_trains_as_the_eager_one_and_twice_the_same_on_the_gpu(demo_dir, tmp_path, amp):
    """compile_backend="cuda-graph" replays the eager kernels; only the learning rate differs,
    read from a float32 tensor where eager passes a double. So: the CNN (fused Adam, the rate
    refilled every step) and the warm-up (fused SGD, two views) track eager closely, the same
    seed twice gives the same bytes, and a captured run cut after an epoch and resumed equals
    an uninterrupted one."""
    from utils.cache import build_cache
    from utils.data import read_competition
    from utils.train import CNNSettings, WarmupSettings, fit_image_model, warm_up

    comp = read_competition(demo_dir, check_images=False)
    cache = build_cache(comp, tmp_path)
    train, valid, cuda = comp.train[:12], comp.train[12:16], torch.device("cuda")

    def cnn(backend, folder, stop_after=None):
        s = CNNSettings(cnn_epochs=3, cnn_batch_size=8, gamma_T=2, hflip=0.5, max_rotation=15.0, amp=amp,
                        compile_backend=backend, **PAPER_LOSS)  # gamma and w_m change between epochs
        return fit_image_model(cache, train, valid, s, cuda, tmp_path / folder, stop_after=stop_after)

    def warm(backend, folder):
        s = WarmupSettings(warmup_batch_size=8, amp=amp, compile_backend=backend)
        return warm_up(cache, train, s, cuda, tmp_path / folder)

    def same(one, two):
        return all(torch.equal(a, b) for a, b in zip(one.state_dict().values(), two.state_dict().values()))

    for run in (cnn, warm):
        name = run.__name__
        (_, h_eager), (captured, h_captured) = run(None, f"{name}-eager"), run("cuda-graph", f"{name}-captured")
        assert h_captured.train_loss.tolist() == pytest.approx(h_eager.train_loss.tolist(), rel=1e-2)
        again, h_again = run("cuda-graph", f"{name}-again")
        assert h_again.train_loss.tolist() == h_captured.train_loss.tolist() and same(captured, again)
    cnn("cuda-graph", "cut", stop_after=1)
    assert same(cnn("cuda-graph", "cut")[0], cnn("cuda-graph", "cnn-captured")[0])  # the latter: loaded, done
