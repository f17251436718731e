"""Training images per second of RegNetY-200MF at 112x336: the kit versus the paper's code.

(a) paper style: per-item PIL decode + torchvision PIL transforms, stacked, one train step;
(b) the kit: cache rows + batched augmentation (utils.augment), one train step, channels-last
    and bf16 autocast on a GPU.
Same model, batch, optimizer and loss; measured interleaved in the same run. On a GPU the
script also estimates the full paper recipe's CNN time (100 epochs over ~17k train images).

    python benchmarks/train_throughput.py [--device cpu|cuda] [--batch 32] [--steps 5]
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from utils.augment import BatchAugment, paper_pil_transform
from utils.cache import build_cache
from utils.data import read_competition
from utils.engine import autocast, choose_device
from utils.losses import FocalLoss
from utils.models import build_backbone
from utils.synthetic import generate


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--bags", type=int, default=60)
    args = parser.parse_args()
    device = choose_device(args.device)
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        comp = read_competition(generate(Path(tmp) / "data", n_bags=args.bags, seed=0), check_images=False)
        cache = build_cache(comp, Path(tmp) / "work")
        items = sorted(cache.index, key=cache.index.get)
        model = build_backbone("regnety_002", in_chans=1).to(device).to(memory_format=torch.channels_last)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
        loss_fn = FocalLoss().to(device)
        y = torch.zeros(args.batch, 30, device=device)
        rng = np.random.default_rng(0)
        pil = paper_pil_transform()
        augment = BatchAugment(hflip=0.5, vflip=0.5)
        g = torch.Generator().manual_seed(0)

        def step(x):
            optimizer.zero_grad(set_to_none=True)
            with autocast(device):
                loss = loss_fn(model(x.to(device, non_blocking=True).contiguous(memory_format=torch.channels_last)), y)
            loss.backward()
            optimizer.step()

        def paper_batch():
            from PIL import Image
            idx = rng.integers(0, len(items), args.batch)
            out = []
            for i in idx:
                with Image.open(comp.image_path(*items[i])) as im:
                    out.append(pil(im.convert("RGB")))
            return torch.stack(out)

        def kit_batch():
            idx = np.sort(rng.integers(0, len(items), args.batch))
            x = torch.from_numpy(np.ascontiguousarray(cache.array[idx])).to(device)
            return augment(x, g)

        def rate(make):
            step(make())  # warm-up step
            if device.type == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(args.steps):
                step(make())
            if device.type == "cuda":
                torch.cuda.synchronize()
            return args.steps * args.batch / (time.perf_counter() - t0)

        paper, kit = [], []
        for _ in range(args.repeats):
            paper.append(rate(paper_batch))
            kit.append(rate(kit_batch))
        p, k = np.median(paper), np.median(kit)
        print(f"device: {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else f'{torch.get_num_threads()} threads'}), batch {args.batch}, 112x336")
        print(f"(a) paper style (PIL per item) + train step: {p:8.1f} images/s  (runs: {np.round(paper, 1).tolist()})")
        print(f"(b) kit (cache + batched augment) + step:   {k:8.1f} images/s  (runs: {np.round(kit, 1).tolist()})")
        print(f"ratio (b)/(a): {k / p:.2f}x")
        if device.type == "cuda":
            n_train = 17_000
            print(f"paper recipe CNN estimate (100 epochs x {n_train} images): "
                  f"kit {100 * n_train / k / 3600:.2f} h, paper-style {100 * n_train / p / 3600:.2f} h")


if __name__ == "__main__":
    main()
