"""How real do images look? Statistics a CNN is sensitive to, measured inside the embryo and
compared with those of real FlyExpress images (quantiles embedded in utils.facts).

Each statistic is a distribution of samples pooled over a set of images:
  share_of_frame   the embryo's share of the 320x128 frame (one value per image)
  lightness        mean of R, G, B of embryo pixels (0..255)
  blueness         B - (R + G) / 2 of embryo pixels: the stain and the tissue's tint
  local_contrast   grey-level standard deviation of 8x8 windows inside the embryo
  gradient_energy  mean squared grey-level gradient of those windows (texture, edges)
  high_frequency   share of a 32x32 patch's power above a quarter of the Nyquist frequency
                   (radially averaged power spectrum of windowed, mean-free patches)
  tissue_*         blueness, contrast and gradient of the 8x8 windows without stain (the
                   lightest half of each image's windows): the tint, cells and folds alone
A generated set passes where each distribution's Kolmogorov-Smirnov distance to the real
one (reconstructed from its quantiles) is at most `max_ks`.

    python -m utils.realism DATA [--images 300] [--max-ks 0.2]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import ndimage

STATISTICS = ("share_of_frame", "lightness", "blueness", "local_contrast", "gradient_energy",
              "high_frequency", "tissue_blueness", "tissue_contrast", "tissue_gradient")
QUANTILES = np.linspace(0, 1, 21)
WINDOW, PATCH = 8, 32


def embryo_mask(rgb: np.ndarray) -> np.ndarray:
    """Pixels of the embryo: not the white background, holes filled, specks removed."""
    rgb = rgb.astype(np.float32)
    darker = rgb.min(axis=2) < 232
    coloured = rgb.max(axis=2) - rgb.min(axis=2) > 12
    mask = ndimage.binary_opening(darker | coloured, iterations=2)
    labels, n = ndimage.label(mask)
    if n == 0:
        return mask
    largest = 1 + int(np.argmax(ndimage.sum(mask, labels, range(1, n + 1))))
    return ndimage.binary_fill_holes(labels == largest)


def _windows_inside(mask: np.ndarray, size: int) -> list[tuple[int, int]]:
    """Top-left corners of non-overlapping size x size windows lying wholly inside `mask`."""
    h, w = mask.shape
    return [(y, x) for y in range(0, h - size + 1, size) for x in range(0, w - size + 1, size)
            if mask[y:y + size, x:x + size].all()]


def _high_frequency_share(patch: np.ndarray) -> float:
    n = patch.shape[0]
    window = np.outer(np.hanning(n), np.hanning(n))
    power = np.abs(np.fft.fftshift(np.fft.fft2((patch - patch.mean()) * window))) ** 2
    yy, xx = np.indices(power.shape) - n // 2
    radius = np.hypot(yy, xx)
    total = power[radius > 0].sum()
    return float(power[radius > n / 8].sum() / total) if total > 0 else 0.0


def image_statistics(rgb: np.ndarray, rng: np.random.Generator, pixels: int = 2000) -> dict:
    """The samples each statistic draws from one RGB uint8 image (H, W, 3)."""
    mask = embryo_mask(rgb)
    out = {k: [] for k in STATISTICS}
    out["share_of_frame"] = [float(mask.mean())]
    inside = rgb[mask].astype(np.float32)
    if len(inside):
        take = inside[rng.choice(len(inside), min(pixels, len(inside)), replace=False)]
        out["lightness"] = take.mean(axis=1).tolist()
        out["blueness"] = (take[:, 2] - (take[:, 0] + take[:, 1]) / 2).tolist()
    grey = rgb.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    gy, gx = np.gradient(grey)
    energy = gx ** 2 + gy ** 2
    blue = rgb[..., 2].astype(np.float32) - (rgb[..., 0].astype(np.float32) + rgb[..., 1]) / 2
    windows = _windows_inside(mask, WINDOW)
    light = [float(grey[y:y + WINDOW, x:x + WINDOW].mean()) for y, x in windows]
    cut = np.median(light) if windows else 0.0
    for (y, x), level in zip(windows, light):
        contrast = float(grey[y:y + WINDOW, x:x + WINDOW].std())
        gradient = float(energy[y:y + WINDOW, x:x + WINDOW].mean())
        out["local_contrast"].append(contrast)
        out["gradient_energy"].append(gradient)
        if level >= cut:
            out["tissue_blueness"].append(float(blue[y:y + WINDOW, x:x + WINDOW].mean()))
            out["tissue_contrast"].append(contrast)
            out["tissue_gradient"].append(gradient)
    for y, x in _windows_inside(mask, PATCH):
        out["high_frequency"].append(_high_frequency_share(grey[y:y + PATCH, x:x + PATCH]))
    return out


def set_statistics(images, seed: int = 0) -> dict[str, np.ndarray]:
    """Samples of every statistic pooled over `images` (RGB uint8 arrays)."""
    rng = np.random.default_rng(seed)
    pooled = {k: [] for k in STATISTICS}
    for rgb in images:
        for k, v in image_statistics(rgb, rng).items():
            pooled[k] += v
    return {k: np.asarray(v, dtype=np.float64) for k, v in pooled.items()}


def quantiles(stats: dict[str, np.ndarray]) -> dict[str, list[float]]:
    """The embedded form: 21 quantiles (0, 5, ..., 100%) of each statistic."""
    return {k: [round(float(q), 4) for q in np.quantile(v, QUANTILES)] for k, v in stats.items()}


def ks_to_quantiles(sample: np.ndarray, q) -> float:
    """Kolmogorov-Smirnov distance between `sample` and the distribution whose quantiles at
    QUANTILES are `q` (its CDF interpolated linearly between them)."""
    x = np.sort(np.asarray(sample, dtype=np.float64))
    if len(x) == 0:
        return 1.0
    q = np.maximum.accumulate(np.asarray(q, dtype=np.float64))
    cdf = np.interp(x, q, QUANTILES, left=0.0, right=1.0)
    n = len(x)
    return float(max((np.arange(1, n + 1) / n - cdf).max(), (cdf - np.arange(n) / n).max()))


def compare(images, reference: dict, max_ks: float = 0.2, seed: int = 0) -> pd.DataFrame:
    """One row per statistic: the set's median, the real median, KS distance, pass."""
    stats = set_statistics(images, seed)
    rows = []
    for k in STATISTICS:
        ks = ks_to_quantiles(stats[k], reference[k])
        rows.append({"statistic": k, "median": float(np.median(stats[k])) if len(stats[k]) else np.nan,
                     "real median": reference[k][len(QUANTILES) // 2], "ks": round(ks, 3),
                     "pass": ks <= max_ks})
    return pd.DataFrame(rows)


def folder_images(data_dir, n: int = 300, seed: int = 0):
    """Up to `n` training images of a competition folder, read as RGB, in a seeded sample."""
    from PIL import Image

    from .data import read_competition

    comp = read_competition(data_dir, check_images=False)
    paths = [comp.image_path("train", name) for bag in comp.train for name in bag.images]
    pick = np.random.default_rng(seed).permutation(len(paths))[:n]
    for i in sorted(pick):
        with Image.open(paths[i]) as im:
            yield np.asarray(im.convert("RGB"))


def reference_tiles(sheet_png, rows: int = 4, cols: int = 3):
    """The real images of a reference sheet laid out as rows x cols tiles of 320x128."""
    from PIL import Image

    with Image.open(sheet_png) as im:
        sheet = np.asarray(im.convert("RGB"))
    h, w = sheet.shape[0] // rows, sheet.shape[1] // cols
    return [sheet[r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(rows) for c in range(cols)]


def main(argv=None) -> int:
    from .facts import REAL_IMAGE_STATS

    parser = argparse.ArgumentParser(prog="python -m utils.realism", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", type=Path)
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--max-ks", type=float, default=0.2)
    args = parser.parse_args(argv)
    table = compare(folder_images(args.data, args.images), REAL_IMAGE_STATS, args.max_ks)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print("realistic" if table["pass"].all() else "not realistic: " + ", ".join(table.statistic[~table["pass"]]))
    return 0 if table["pass"].all() else 1


if __name__ == "__main__":
    raise SystemExit(main())
