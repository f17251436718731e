"""Images per second of the paper code's loader versus the kit's cache-based path.

(a) paper style: for every item, PIL opens and decodes the BMP, then torchvision's PIL
    transforms (resize, padded random crop, flips, rotation, grayscale, noise, normalise);
(b) the kit: rows read from the memory-mapped uint8 cache, augmented as one batch;
(c) the kit's loader alone: cache rows as uint8 tensors, what the CPU does per batch when
    the batched augmentation runs on the GPU.
(a) and (b) yield the same normalised 1x112x336 training tensors. Measured in the same run,
interleaved; prints the ratios.

    python benchmarks/loader_throughput.py [--bags 200] [--batch 64] [--repeats 3]
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
from utils.synthetic import generate


def paper_style(comp, items, batch: int) -> float:
    from PIL import Image

    transform = paper_pil_transform()
    t0 = time.perf_counter()
    for i in range(0, len(items), batch):
        tensors = []
        for split, name in items[i:i + batch]:
            with Image.open(comp.image_path(split, name)) as im:
                tensors.append(transform(im.convert("RGB")))
        torch.stack(tensors)
    return len(items) / (time.perf_counter() - t0)


def kit_style(cache, rows, batch: int, augment: bool = True) -> float:
    transform = BatchAugment(hflip=0.5, vflip=0.5)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    for i in range(0, len(rows), batch):
        idx = np.sort(rows[i:i + batch])
        x = torch.from_numpy(np.ascontiguousarray(cache.array[idx]))
        if augment:
            transform(x, g)
    return len(rows) / (time.perf_counter() - t0)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bags", type=int, default=200)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    with tempfile.TemporaryDirectory() as tmp:
        data = generate(Path(tmp) / "data", n_bags=args.bags, seed=0)
        comp = read_competition(data, check_images=False)
        t0 = time.perf_counter()
        cache = build_cache(comp, Path(tmp) / "work")
        build_s = time.perf_counter() - t0
        items = sorted(cache.index, key=cache.index.get)
        rows = np.random.default_rng(0).permutation(len(items))
        shuffled = [items[r] for r in rows]
        print(f"{len(items)} images; cache built once in {build_s:.1f}s "
              f"({len(items) / build_s:.0f} images/s), torch threads: {torch.get_num_threads()}")
        paper, kit, load = [], [], []
        for _ in range(args.repeats):  # interleaved, so drifting machine load hits all alike
            paper.append(paper_style(comp, shuffled, args.batch))
            kit.append(kit_style(cache, rows, args.batch))
            load.append(kit_style(cache, rows, args.batch, augment=False))
        p, k, c = np.median(paper), np.median(kit), np.median(load)
        print(f"(a) paper style, PIL per item:         {p:9.0f} images/s  (runs: {np.round(paper).tolist()})")
        print(f"(b) kit, cache + batched CPU augment:  {k:9.0f} images/s  (runs: {np.round(kit).tolist()})")
        print(f"(c) kit, cache rows only (GPU augment): {c:8.0f} images/s  (runs: {np.round(load).tolist()})")
        print(f"ratio (b)/(a): {k / p:.1f}x   ratio (c)/(a): {c / p:.1f}x")


if __name__ == "__main__":
    main()
