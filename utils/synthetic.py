"""Demo data: a synthetic competition folder that looks and behaves like FlyExpress.

Bags, stages, labels per bag, per-stage label rates, label co-occurrence, bag sizes,
views and genes spanning several stages follow the real figures in `utils.facts`.
Each label is a stained anatomical region of its stage; each image shows only part
of its bag's labels (view, focus, partial stain), so a model needs the whole bag.

    python -m utils.synthetic --out data/demo --bags 300 --seed 0

Deterministic for a seed (each bag has its own random stream, so the number of
worker processes does not change the output).
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter, zoom

from . import facts
from .choices import CHOICES
from .labels import N_LABELS, STAGES

H, W = facts.IMAGE_HW
VIEWS = ("lateral", "dorsal", "ventral")
RATES = np.array(facts.POSITIVE_RATE_BY_STAGE, dtype=np.float64).T  # (5 stages, 30)


# ----------------------------------------------------------------------------- labels
def _stage_row(stage: int) -> int:
    return STAGES.index(stage)


def labels_per_bag_distribution(stage: int) -> np.ndarray:
    """P(k labels | stage), k = 0..9: the real overall histogram tilted to the stage's mean.

    The mean number of labels at a stage is the sum of its label rates; exponential tilting
    keeps the shape of the real histogram (max-entropy closest to it) while matching it.
    """
    hist = facts.LABELS_PER_BAG_HISTOGRAM
    ks = np.arange(max(hist) + 1)
    base = np.array([hist.get(k, 0) for k in ks], dtype=np.float64)
    rates = RATES[_stage_row(stage)]
    base[ks > (rates > 0).sum()] = 0.0
    target = rates.sum()
    lo, hi = -10.0, 10.0
    for _ in range(100):
        theta = (lo + hi) / 2
        p = base * np.exp(theta * (ks - ks.mean()))
        p /= p.sum()
        lo, hi = (theta, hi) if (p * ks).sum() < target else (lo, theta)
    return p


def _log_lift(stage: int) -> np.ndarray:
    """log P(i, j) / (P(i) P(j)) at a stage, from the real co-occurrence counts (floored)."""
    n = facts.BAGS_PER_STAGE[stage]
    counts = RATES[_stage_row(stage)] * n
    lift = np.full((N_LABELS, N_LABELS), 0.05)
    for (i, j), c in facts.COOCCURRENCE_BY_STAGE[stage].items():
        lift[i, j] = lift[j, i] = max(c * n / (counts[i] * counts[j]), 0.05)
    return np.log(lift)


def _stratified_uniforms(n: int, rng) -> np.ndarray:
    """n uniforms, one in each of n equal strata, shuffled: label shares then track the
    target rates closely even in a small demo set, instead of drifting by sampling noise."""
    return (rng.permutation(n) + rng.random(n)) / n


def _draw_label_sets(stage, log_w, log_lift, ks, rng) -> np.ndarray:
    """Sequentially draw ks[b] distinct labels per bag, each step favouring co-occurring ones."""
    n = len(ks)
    chosen = np.zeros((n, N_LABELS), dtype=bool)
    allowed = RATES[_stage_row(stage)] > 0
    for step in range(ks.max(initial=0)):
        active = ks > step
        logits = log_w[None, :] + chosen.astype(np.float64) @ log_lift
        logits[:, ~allowed] = -np.inf
        logits[chosen] = -np.inf
        p = np.exp(logits - logits.max(1, keepdims=True))
        p /= p.sum(1, keepdims=True)
        pick = (p.cumsum(1) > _stratified_uniforms(n, rng)[:, None]).argmax(1)
        chosen[np.flatnonzero(active), pick[active]] = True
    return chosen


@lru_cache(maxsize=None)
def _calibrated_weights(stage: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Label weights such that sequential co-occurrence sampling reproduces the real rates."""
    rng = np.random.default_rng(1234 + stage)
    target = RATES[_stage_row(stage)]
    allowed = target > 0
    p_k = labels_per_bag_distribution(stage)
    log_lift = _log_lift(stage)
    log_w = np.where(allowed, np.log(np.maximum(target, 1e-9)), -np.inf)
    ks = np.maximum(1, rng.choice(len(p_k), size=4000, p=p_k))
    for _ in range(30):
        rate = _draw_label_sets(stage, log_w, log_lift, ks, rng).mean(0)
        log_w[allowed] += 0.8 * (np.log(target[allowed]) - np.log(np.maximum(rate[allowed], 1e-4)))
    return log_w, log_lift, p_k


def sample_label_sets(stage: int, n: int, rng: np.random.Generator) -> list[tuple[int, ...]]:
    """Label sets of n bags of one stage."""
    log_w, log_lift, p_k = _calibrated_weights(stage)
    ks = np.maximum(1, np.searchsorted(p_k.cumsum(), _stratified_uniforms(n, rng)))
    chosen = _draw_label_sets(stage, log_w, log_lift, ks, rng)
    _match_counts(chosen, RATES[_stage_row(stage)] * n, rng)
    return [tuple(np.flatnonzero(row).tolist()) for row in chosen]


def _match_counts(chosen: np.ndarray, target: np.ndarray, rng) -> None:
    """Swap labels between bags (in place) until each label's count is within 1 of target.

    Sampling noise alone would move a small demo set's label shares by several points;
    one swap replaces an over-represented label by an under-represented one in a random
    bag, keeping every bag's number of labels.
    """
    counts = chosen.sum(0).astype(np.float64)
    for _ in range(chosen.size):
        excess = counts - target
        i = int(np.argmax(excess))
        if excess[i] <= 1 and excess.min() >= -1:
            return
        swapped = False
        for j in np.argsort(excess):  # most under-represented first
            if excess[j] >= 0:
                break
            bags = np.flatnonzero(chosen[:, i] & ~chosen[:, j])
            if len(bags):
                b = rng.choice(bags)
                chosen[b, i], chosen[b, j] = False, True
                counts[i] -= 1
                counts[j] += 1
                swapped = True
                break
        if not swapped:
            return


# ----------------------------------------------------------------------------- bags
@dataclass
class SyntheticBag:
    gene_stage: str
    gene: str
    stage: int
    labels: tuple[int, ...]
    views: tuple[str, ...]
    split: str
    index: int


def _hist_choice(hist: dict, rng, size=None):
    keys = np.array(list(hist))
    p = np.array(list(hist.values()), dtype=np.float64)
    return rng.choice(keys, size=size, p=p / p.sum())


def _draw_stage_sets(n_stages, weights, rng) -> np.ndarray:
    """(genes, 5) boolean: n distinct stages per gene, weighted, without replacement.

    Gumbel top-k, which draws like successive weighted sampling without replacement.
    """
    keys = np.log(weights)[None, :] - np.log(-np.log(rng.random((len(n_stages), len(weights)))))
    ranks = (-keys).argsort(1).argsort(1)
    return ranks < np.asarray(n_stages)[:, None]


@lru_cache(maxsize=None)
def _stage_weights() -> np.ndarray:
    """Weights for drawing a gene's stages so that bags per stage match the real shares.

    Genes seen at 4 or 5 stages dilute any weighting, so plain bag shares would give too
    few stage-6 bags; a few fixed-point steps on a simulated set of genes correct that.
    """
    target = np.array([facts.BAGS_PER_STAGE[s] for s in STAGES], dtype=np.float64)
    target /= target.sum()
    rng = np.random.default_rng(99)
    n_stages = _hist_choice(facts.BAGS_PER_GENE_HISTOGRAM, rng, size=3000)
    weights = target.copy()
    for _ in range(30):
        counts = _draw_stage_sets(n_stages, weights, rng).sum(0)
        weights *= (target / (counts / counts.sum())) ** 0.7
        weights /= weights.sum()
    return weights


def make_bags(n_bags: int, seed: int, test_fraction: float = 0.5) -> list[SyntheticBag]:
    """Genes spanning several stages, per-stage labels, bag sizes and views as in the real data."""
    rng = np.random.default_rng([seed, 0])
    stage_p = _stage_weights()
    gene_stages = []
    used_ids = set()
    while len(gene_stages) < n_bags:
        gene_id = int(rng.integers(10**10, 10**11))
        if gene_id in used_ids:
            continue
        used_ids.add(gene_id)
        n_stages = _hist_choice(facts.BAGS_PER_GENE_HISTOGRAM, rng, size=1)
        stages = np.array(STAGES)[_draw_stage_sets(n_stages, stage_p, rng)[0]]
        gene_stages += [(f"CG{gene_id}", int(s)) for s in stages]
    gene_stages = gene_stages[:n_bags]
    order = rng.permutation(n_bags)  # bags appear in no particular order, as in the real CSVs
    n_test = int(round(n_bags * test_fraction))
    is_test = np.zeros(n_bags, dtype=bool)
    is_test[rng.permutation(n_bags)[:n_test]] = True
    label_sets = {}
    for stage in STAGES:
        at = [b for b in range(n_bags) if gene_stages[b][1] == stage]
        label_sets.update(zip(at, sample_label_sets(stage, len(at), rng)))
    view_p = np.array([facts.VIEW_COUNTS[v] for v in VIEWS], dtype=np.float64)
    bags = []
    for index, b in enumerate(order):
        gene, stage = gene_stages[b]
        bag_rng = np.random.default_rng([seed, 1, index])
        size = int(_hist_choice(facts.BAG_SIZE_HISTOGRAM, bag_rng))
        views = tuple(bag_rng.choice(VIEWS, size=size, p=view_p / view_p.sum()))
        bags.append(SyntheticBag(f"{gene}_s{stage}", gene, stage, label_sets[b],
                                 views, "test" if is_test[b] else "train", index))
    return bags


# ----------------------------------------------------------------------------- drawing
# Regions in lateral coordinates: x from -1 (anterior) to 1 (posterior), y from -1 (dorsal)
# to 1 (ventral). kind, x, y, half-width, half-height, side ('all', 'dorsal', 'ventral').
_REGIONS = {
    0: [("global", 0, 0, 1, 1, "all")],
    1: [("global", 0, 0, 1, 1, "all")],
    2: [("blob", -0.15, 0.0, 0.28, 0.32, "all"), ("blob", 0.3, -0.05, 0.22, 0.3, "all")],
    3: [("stripes", 0.1, 0.5, 0.6, 0.22, "ventral")],
    4: [("blob", 0.72, -0.15, 0.17, 0.32, "dorsal")],
    5: [("blob", -0.55, 0.25, 0.17, 0.25, "ventral")],
    6: [("band", 0.15, 0.78, 0.62, 0.1, "ventral")],
    7: [("blob", -0.72, -0.3, 0.12, 0.2, "dorsal"), ("blob", -0.62, -0.05, 0.1, 0.15, "dorsal")],
    8: [("rim", 0, 0, 1, 1, "all")],
    9: [("blob", 0.78, 0.15, 0.1, 0.16, "all"), ("blob", 0.66, -0.05, 0.07, 0.12, "all")],
    10: [("stripes", 0.1, -0.85, 0.7, 0.12, "dorsal")],
    11: [("dots", 0.0, 0.0, 0.7, 0.55, "all")],
    12: [("stripes", 0.1, 0.1, 0.75, 0.7, "all")],
    13: [("blob", -0.75, -0.1, 0.15, 0.35, "dorsal")],
    14: [("band", 0.15, 0.78, 0.62, 0.1, "ventral"), ("blob", -0.7, -0.2, 0.13, 0.25, "dorsal")],
    15: [("stripes", 0.1, 0.9, 0.75, 0.08, "ventral")],
    16: [("band", 0.05, 0.68, 0.55, 0.14, "ventral")],
    17: [("blob", 0.85, -0.35, 0.08, 0.16, "dorsal")],
    18: [("blob", 0.84, -0.05, 0.14, 0.35, "all")],
    19: [("blob", -0.6, 0.5, 0.14, 0.2, "ventral")],
    20: [("blob", -0.82, 0.3, 0.1, 0.22, "ventral")],
    21: [("cap", -1.0, 0.0, 0.3, 1.0, "all")],
    22: [("band", 0.05, 0.8, 0.68, 0.18, "ventral")],
    23: [("blob", -0.68, 0.38, 0.07, 0.14, "ventral")],
    24: [("blob", -0.55, -0.55, 0.06, 0.1, "dorsal")],
    25: [("blob", -0.72, 0.62, 0.12, 0.14, "ventral")],
    26: [("cap", 1.0, 0.0, 0.22, 1.0, "all")],
    27: [("band", 0.1, -0.8, 0.42, 0.14, "dorsal")],
    28: [("blob", -0.6, 0.12, 0.12, 0.06, "all")],
    29: [("cap", -1.0, -0.35, 0.25, 0.5, "dorsal")],
}
# Probability that a label's stain shows in an image of the bag, by whether its side faces us.
_SHOW_FACING, _SHOW_HIDDEN = 0.8, 0.2
_STAIN_ABSORBANCE = np.array([1.25, 1.35, 0.4], dtype=np.float32)  # purple/blue dye absorbs red and green


STYLES = CHOICES["demo_style"]
_BEIGE = np.array([238, 231, 212], dtype=np.float32)
_LAVENDER = np.array([214, 210, 238], dtype=np.float32)


def embryo_frame(xx, yy, angle: float, scale: float, cx: float, cy: float):
    """Embryo coordinates (x, y) of pixels (xx, yy): the embryo centred at (cx, cy), its long
    axis turned by `angle` radians, x from -1 to 1 along it and y from -1 to 1 across it at
    `scale` 1. A rotation, then a stretch along each axis: the embryo tilts, it never shears."""
    dx, dy = xx - cx, yy - cy
    x = (np.cos(angle) * dx + np.sin(angle) * dy) / (scale * W / 2)
    y = (-np.sin(angle) * dx + np.cos(angle) * dy) / (scale * H / 2)
    return x, y


class Renderer:
    """Draws 128x320 RGB embryos; holds precomputed texture fields so each image is cheap.

    style "clean": smooth beige tissue, clear stain (the kit's first generator, kept as it was).
    style "real": what makes real FlyExpress images hard (utils.realism measures it): cells a
    few pixels across, folds and furrows, yolk granules, a tint from beige to lavender per
    embryo, stain down to barely visible and shown in fewer of a bag's images, stain no label
    explains, focus blur, and embryos that fill the frame.
    """

    def __init__(self, seed: int, style: str = "clean"):
        if style not in STYLES:
            raise ValueError(f"style {style!r} unknown; choose from {STYLES}")
        self.style = style
        rng = np.random.default_rng([seed, 2])
        self.yy, self.xx = np.mgrid[0:H, 0:W].astype(np.float32)
        self.fine = [gaussian_filter(rng.standard_normal((H + 32, W + 32)), 0.8).astype(np.float32)
                     for _ in range(8)]
        self.coarse = [zoom(rng.standard_normal((10, 22)), (H + 32) / 10, order=3)[:, : W + 32]
                       .astype(np.float32) for _ in range(8)]
        if style == "real":
            cells_rng = np.random.default_rng([seed, 4])
            self.cells = [self._cell_field(cells_rng) for _ in range(8)]

    @staticmethod
    def _cell_field(rng) -> np.ndarray:
        """Cells about 3-4 pixels across: bright centres, dark membranes (band-passed noise)."""
        noise = rng.standard_normal((H + 32, W + 32))
        band = gaussian_filter(noise, 1.2) - gaussian_filter(noise, 3.0)
        return (band / band.std()).astype(np.float32)

    def _texture(self, fields, rng) -> np.ndarray:
        field = fields[rng.integers(len(fields))]
        dy, dx = rng.integers(0, 32, size=2)
        t = field[dy:dy + H, dx:dx + W]
        return t[:, ::-1] if rng.random() < 0.5 else t

    def render(self, stage: int, labels, view: str, rng: np.random.Generator) -> np.ndarray:
        # Embryo frame: small rotation, scale and shift; anterior stays left, as in FlyExpress.
        real = self.style == "real"
        angle = float(np.deg2rad(rng.normal(0, 2.0)))
        scale = float(rng.uniform(0.95, 1.0))
        if real:  # real embryos fill the frame, whatever the view, with less spread
            scale = scale + 0.005
        cx, cy = W / 2 + rng.normal(0, 3), H / 2 + rng.normal(0, 2)
        x, y = embryo_frame(self.xx, self.yy, angle, scale, cx, cy)
        if view != "lateral":
            y = y * (1.03 if real else 1.1)
        p = float(rng.uniform(2.4, 3.2))
        if real:
            p = 2.5 + 0.8 * (p - 2.4)
        belly = 1 + 0.08 * (y > 0)  # ventral side a little flatter in lateral view
        r = np.abs(x) ** p + np.abs(y * belly) ** 2.2
        if stage >= 5:  # segmented outline of the germ band
            r = r + 0.02 * np.sin((x + 1) * np.pi * 7) * (np.abs(y) > 0.6)
        inside = np.clip((1 - r) * 40, 0, 1)
        edge = np.exp(-((1 - r) * 12) ** 2) * (r < 1.05)

        warmth = rng.uniform(-1, 1)  # from grey-white to yellowish beige
        tissue = (np.array([236, 232, 216]) + warmth * np.array([3, 1, -14]) + rng.normal(0, 3)).astype(np.float32)
        cells = self._texture(self.fine, rng) * float(rng.uniform(9, 15))
        blotch = self._texture(self.coarse, rng) * float(rng.uniform(2, 4))
        shade = 1 - 0.12 * np.clip(r, 0, 1) ** 3 - 0.25 * edge
        if real:
            tint = float(rng.beta(1.2, 1.2))  # each embryo somewhere from beige to lavender
            tissue = (1 - tint) * _BEIGE + tint * _LAVENDER + rng.normal(0, 4, 3).astype(np.float32)
            cells = self._texture(self.cells, rng) * float(rng.uniform(6, 12)) * (0.6 + 0.4 * np.clip(1 - r, 0, 1) ** 0.3)
            relief = self._folds(x, y, stage, rng) + self._granules(x, y, rng)
            blotch = blotch * 3  # larger structures: real tissue is uneven at every scale
            base = (tissue[None, None, :] + (cells + blotch - relief)[..., None]) * shade[..., None]
        else:
            base = (tissue[None, None, :] + (cells + blotch)[..., None]) * shade[..., None]

        stain = np.zeros((H, W), dtype=np.float32)
        for label in labels:
            stain += self._label_stain(label, stage, view, x, y, r, rng)
        if real:
            stain *= float(rng.uniform(0.25, 1.0))  # from barely visible to full
            if rng.random() < 0.3:  # stain that no label explains
                stain += self._nuisance(x, y, rng)
        mottle = 1 + 0.3 * self._texture(self.fine, rng)
        stain = np.clip(stain * mottle, 0, None) * inside
        color = base * np.exp(-stain[..., None] * _STAIN_ABSORBANCE * float(rng.uniform(0.85, 1.15)))
        background = 255 - 3 * np.abs(self._texture(self.fine, rng))[..., None]
        img = inside[..., None] * color + (1 - inside[..., None]) * background
        if real and rng.random() < 0.6:  # out of focus
            img = gaussian_filter(img, (float(rng.uniform(0.4, 1.1)),) * 2 + (0,))
        img += (1.5 if real else 2.0) * rng.standard_normal(img.shape, dtype=np.float32)
        return np.clip(img, 0, 255).astype(np.uint8)

    def _folds(self, x, y, stage, rng) -> np.ndarray:
        """Darkening along a few folds and furrows (more of them at later stages)."""
        out = np.zeros((H, W), dtype=np.float32)
        for _ in range(int(rng.integers(2, 5 + stage))):
            if rng.random() < 0.7:  # lengthwise fold
                y0, amp, freq, phase = rng.uniform(-0.8, 0.8), rng.uniform(0, 0.15), rng.uniform(0.3, 1.5), rng.uniform(0, 6.3)
                dist = (y - y0 - amp * np.sin(freq * np.pi * x + phase)) * H / 2
                span = np.abs(x - rng.uniform(-0.5, 0.5)) < rng.uniform(0.3, 0.9)
            else:  # furrow across
                x0, amp = rng.uniform(-0.8, 0.8), rng.uniform(0, 0.08)
                dist = (x - x0 - amp * np.sin(2 * np.pi * y)) * W / 2
                span = np.abs(y) < rng.uniform(0.5, 1.0)
            width = rng.uniform(0.7, 1.6)
            out += float(rng.uniform(10, 28)) * np.exp(-(dist / width) ** 2) * span
        return out

    def _granules(self, x, y, rng) -> np.ndarray:
        """Yolk granules: small dark specks, densest in the middle of the embryo."""
        n = int(rng.integers(40, 160))
        gx = rng.normal(0, 0.4, n).clip(-0.9, 0.9)
        gy = rng.normal(0, 0.35, n).clip(-0.8, 0.8)
        impulses = np.zeros((H, W), dtype=np.float32)
        impulses[((gy + 1) * H / 2).astype(int).clip(0, H - 1), ((gx + 1) * W / 2).astype(int).clip(0, W - 1)] = 1.0
        return gaussian_filter(impulses, 0.8) * float(rng.uniform(40, 90))

    def _nuisance(self, x, y, rng) -> np.ndarray:
        """A faint, diffuse blob of stain anywhere in the embryo."""
        x0, y0 = rng.uniform(-0.8, 0.8), rng.uniform(-0.6, 0.6)
        hw, hh = rng.uniform(0.1, 0.5), rng.uniform(0.2, 0.7)
        return float(rng.uniform(0.1, 0.5)) * np.exp(-(((x - x0) / hw) ** 2 + ((y - y0) / hh) ** 2)).astype(np.float32)

    def _label_stain(self, label, stage, view, x, y, r, rng) -> np.ndarray:
        """Stain density of one label in one image (zero when the image does not show it)."""
        out = np.zeros((H, W), dtype=np.float32)
        strength = float(rng.uniform(0.6, 1.5))
        if label == 0:
            strength = float(rng.uniform(0.35, 0.9))
        if label == 1:
            strength = float(rng.uniform(0.12, 0.3))
        show = (_SHOW_FACING, _SHOW_HIDDEN) if self.style == "clean" else (0.6, 0.15)  # real: in fewer images
        for kind, x0, y0, hw, hh, side in _REGIONS[label]:
            facing = side == "all" or view == "lateral" or view == side
            if rng.random() > (show[0] if facing else show[1]):
                continue
            if view != "lateral" and side != "all":  # seen from above/below: centred, wider
                y0, hh = 0.0, hh * 1.6
            x0 += rng.normal(0, 0.04)
            y0 += rng.normal(0, 0.04)
            hw *= rng.uniform(0.8, 1.2)
            hh *= rng.uniform(0.8, 1.2)
            if kind == "global":
                density = 0.9 + 0.1 * self._texture(self.coarse, rng)
            elif kind == "rim":
                density = np.exp(-((1 - r) * 7) ** 2) * (r < 1.0)
            elif kind == "cap":
                density = np.exp(-(((x - x0) / hw) ** 2)) * np.exp(-(((y - y0) / hh) ** 4))
            elif kind == "dots":
                density = self._dots(x0, y0, hw, hh, rng)
            else:
                density = np.exp(-(((x - x0) / hw) ** 4 + ((y - y0) / hh) ** 2))
                if kind == "blob":
                    density = np.exp(-(((x - x0) / hw) ** 2 + ((y - y0) / hh) ** 2))
                if kind == "stripes":
                    period = rng.uniform(0.11, 0.15)
                    density = density * (0.35 + 0.65 * (0.5 + 0.5 * np.cos(2 * np.pi * (x - x0) / period)))
            out += strength * density.astype(np.float32)
        return out

    def _dots(self, x0, y0, hw, hh, rng) -> np.ndarray:
        n = rng.integers(8, 25)
        pts_x = ((x0 + rng.uniform(-hw, hw, n)) * W / 2 * 0.95 + W / 2).astype(int).clip(0, W - 1)
        pts_y = ((y0 + rng.uniform(-hh, hh, n)) * H / 2 * 0.95 + H / 2).astype(int).clip(0, H - 1)
        impulses = np.zeros((H, W), dtype=np.float32)
        impulses[pts_y, pts_x] = 1.0
        return gaussian_filter(impulses, 2.5) * 2 * np.pi * 2.5**2 * 0.6


def _render_chunk(args) -> None:
    """Render and save the images of some bags."""
    seed, out_dir, bags, style = args
    renderer = Renderer(seed, style)
    for bag in bags:
        rng = np.random.default_rng([seed, 3, bag.index])
        folder = Path(out_dir) / ("train/train" if bag.split == "train" else "test/test")
        for j, view in enumerate(bag.views):
            name = f"insitu{bag.index:05d}{j:02d}.bmp"
            Image.fromarray(renderer.render(bag.stage, bag.labels, view, rng)).save(folder / name)


def _labels_str(labels) -> str:
    return ",".join(map(str, labels))


def _imgs_str(bag: SyntheticBag) -> str:
    return "[" + ",".join(f"insitu{bag.index:05d}{j:02d}.bmp" for j in range(len(bag.views))) + "]"


def _write_csv(path: Path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def generate(out, n_bags: int = 300, seed: int = 0, workers: int | None = None,
             test_fraction: float = 0.5, overwrite: bool = False, style: str = "clean") -> Path:
    """Write a full competition folder to `out`, atomically (built aside, then renamed).
    `style`: "clean" or "real" images (Renderer); bags and labels do not depend on it."""
    if style not in STYLES:
        raise ValueError(f"style {style!r} unknown; choose from {STYLES}")
    out = Path(out)
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True (--overwrite) to replace it")
    bags = make_bags(n_bags, seed, test_fraction)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        for sub in ("train/train", "test/test", "solution"):
            (tmp / sub).mkdir(parents=True)
        workers = workers or min(4, os.cpu_count() or 1)
        chunks = [(seed, str(tmp), bags[i::workers * 4], style) for i in range(workers * 4)]
        if workers > 1:
            with ProcessPoolExecutor(workers) as pool:
                list(pool.map(_render_chunk, chunks))
        else:
            for chunk in chunks:
                _render_chunk(chunk)
        train = [b for b in bags if b.split == "train"]
        test = [b for b in bags if b.split == "test"]
        _write_csv(tmp / "train/train.csv", ["gene_stage", "labels", "imgs"],
                   [(b.gene_stage, _labels_str(b.labels), _imgs_str(b)) for b in train])
        _write_csv(tmp / "test/test_without_label.csv", ["gene_stage", "imgs"],
                   [(b.gene_stage, _imgs_str(b)) for b in test])
        _write_csv(tmp / "train/label_dict.csv", ["index", "term"], enumerate(facts.TERMS))
        _write_csv(tmp / "sample_submission.csv", ["Id", "labels"],
                   [(b.gene_stage, "0") for b in test])
        # The hidden truth of the synthetic test set, for local "leaderboard" scores.
        _write_csv(tmp / "solution/test_labels.csv", ["gene_stage", "labels", "views"],
                   [(b.gene_stage, _labels_str(b.labels), " ".join(b.views)) for b in test])
        _write_csv(tmp / "solution/train_views.csv", ["gene_stage", "views"],
                   [(b.gene_stage, " ".join(b.views)) for b in train])
        if out.exists():
            shutil.rmtree(out)
        tmp.rename(out)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)
    return out


def hidden_test_targets(data_dir, ids) -> np.ndarray | None:
    """The generator's hidden test labels for `ids` as (n, 30) 0/1, or None without them
    (real competition folders have no solution/)."""
    path = Path(data_dir) / "solution/test_labels.csv"
    if not path.exists():
        return None
    import pandas as pd

    from .data import parse_labels

    truth = pd.read_csv(path, dtype=str).set_index("gene_stage")
    targets = np.zeros((len(ids), 30), dtype=np.int64)
    for i, labels in enumerate(truth.loc[list(ids), "labels"]):
        targets[i, list(parse_labels(labels))] = 1
    return targets


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.synthetic", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--bags", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--test-fraction", type=float, default=0.5)
    parser.add_argument("--overwrite", action="store_true")
    parser.add_argument("--style", choices=STYLES, default="clean", help="clean or realistic images")
    args = parser.parse_args(argv)
    try:
        out = generate(args.out, args.bags, args.seed, args.workers, args.test_fraction, args.overwrite,
                       args.style)
    except FileExistsError as err:  # a usage error, not a traceback
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
