"""Training images per second at 112x336 (RegNetY-200MF): the step the chain runs against the
paper code's loader, measured in the same run on the same images.

(a) paper style: PIL decode + torchvision PIL transforms per item, stacked, then the kit's
    train step (same model, loss and optimiser).
(b) the chain's CNN: utils.train.fit_image_model with the paper profile's augmentation (flips,
    15 degrees), its data path (cache in GPU memory, each epoch planned once) and its step;
    images/s from the history's `train_seconds`, median over the epochs after the first.
(c) (b) with each `--compile` value (utils.train compile_backend); the first epoch's extra
    seconds are the compile time.
(d) the SwAV warm-up (utils.train.warm_up), images/s per view, at each `--warmup-batch`, eager
    and with each `--compile` value.

    python benchmarks/train_throughput.py [--device cpu|cuda] [--data DIR | --bags 60]
        [--batch 128] [--epochs 3] [--compile cuda-graph inductor-cudagraphs] [--warmup-batch 32 256]
"""
import argparse
import itertools
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from utils.augment import paper_pil_transform
from utils.cache import build_cache
from utils.data import read_competition
from utils.engine import autocast, choose_device, seed_everything
from utils.losses import FocalLoss
from utils.models import build_backbone
from utils.profiles import profile_parameters
from utils.synthetic import generate
from utils.train import CNNSettings, WarmupSettings, fit_image_model, warm_up


def paper_style_rate(comp, cache, bags, device, batch: int, steps: int) -> float:
    """The paper code's loader (PIL per item) feeding the kit's train step."""
    seed_everything(0)
    model = build_backbone("regnety_002", in_chans=1).to(device).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    loss_fn = FocalLoss().to(device)
    pil = paper_pil_transform()
    items = [(b.split, name, b.target) for b in bags for name in b.images]
    rng = np.random.default_rng(0)

    def step():
        from PIL import Image
        xs, ys = [], []
        for i in rng.integers(0, len(items), batch):
            split, name, target = items[i]
            with Image.open(comp.image_path(split, name)) as im:
                xs.append(pil(im.convert("RGB")))
            ys.append(torch.from_numpy(target).float())
        x, y = torch.stack(xs).to(device), torch.stack(ys).to(device)
        optimizer.zero_grad(set_to_none=True)
        with autocast(device):
            loss = loss_fn(model(x.contiguous(memory_format=torch.channels_last)), y)
        loss.backward()
        optimizer.step()
        return loss.item()  # the paper code reads the loss every step

    step()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    return steps * batch / (time.perf_counter() - t0)


def steady(history, column="images_per_second") -> tuple[float, float]:
    """(median rate over the epochs after the first, extra seconds of the first epoch)."""
    rest = history.iloc[1:] if len(history) > 1 else history
    extra = history.train_seconds.iloc[0] - rest.train_seconds.median()
    return float(rest[column].median()), float(extra)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--data", default=None, help="a competition folder (default: generate --bags)")
    parser.add_argument("--bags", type=int, default=60, help="training bags used (and generated)")
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10, help="paper-style steps")
    parser.add_argument("--compile", nargs="*", default=[], help="also measure these compile_backend values")
    parser.add_argument("--warmup-batch", type=int, nargs="*", default=[32])
    parser.add_argument("--work", default=None)
    args = parser.parse_args()
    device = choose_device(args.device)
    card = torch.cuda.get_device_name() if device.type == "cuda" else f"CPU, {torch.get_num_threads()} threads"
    paper = {k: v for k, v in profile_parameters("paper").items()}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(args.work or tmp)
        n_bags = len(read_competition(Path(args.data), check_images=False).train) if args.data else None
        n_valid = max(8, min(args.bags, n_bags or args.bags) // 10)
        data = Path(args.data) if args.data else generate(tmp / "data", n_bags=2 * (args.bags + n_valid), seed=0)
        comp = read_competition(data, check_images=False)
        cache = build_cache(comp, tmp / "work")
        n_train = min(args.bags, len(comp.train) - n_valid)
        train, valid = comp.train[:n_train], comp.train[n_train:n_train + n_valid]
        n_images = sum(len(b.images) for b in train)
        print(f"device: {device} ({card}); {len(train)} training bags, {n_images} images, "
              f"batch {args.batch}, 112x336, flips and 15 degrees")

        rows = []
        rate_a = paper_style_rate(comp, cache, train, device, args.batch, args.steps)
        rows.append(("(a) paper style: PIL per item + train step", rate_a, None))
        for backend in [None] + args.compile:
            s = CNNSettings.pick({**paper, "cnn_epochs": args.epochs, "cnn_batch_size": args.batch,
                                  "compile_backend": backend})
            _, h = fit_image_model(cache, train, valid, s, device, tmp / f"cnn-{backend}", progress=None)
            rate, extra = steady(h)
            label = "(b) chain's CNN step (fit_image_model)" if backend is None else f"(c) (b) compiled, {backend}"
            rows.append((label, rate, extra if backend else None))
        for batch, backend in itertools.product(args.warmup_batch, [None] + args.compile):
            s = WarmupSettings.pick({**paper, "warmup_epochs": 2, "warmup_batch_size": batch,
                                     "compile_backend": backend})
            _, h = warm_up(cache, train, s, device, tmp / f"warmup-{batch}-{backend}", progress=None)
            rate, extra = steady(h)
            rows.append((f"(d) SwAV warm-up, batch {batch}, {backend or 'eager'}, per view", rate,
                         extra if backend else None))

    print(f"\n| step ({card}) | images/s | vs (a) | first-epoch extra s |")
    print("|---|---|---|---|")
    for label, rate, extra in rows:
        print(f"| {label} | {rate:,.0f} | {rate / rate_a:.2f}x | {'' if extra is None else f'{extra:.1f}'} |")


if __name__ == "__main__":
    main()
