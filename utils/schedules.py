"""Epoch-based schedules of the paper, as plain callables (epoch -> value) a notebook can plot.

All are cosine ramps, eq. (5): v = v_end + (v_start - v_end) (1 + cos(pi t / T)) / 2, with t
clipped to [0, T] so a schedule holds at its end value after T instead of rising again.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


def cosine_ramp(t: float, start: float, end: float, duration: float) -> float:
    """Eq. (5): from `start` at t=0 to `end` at t=duration, then held."""
    if duration <= 0:
        return end
    t = min(max(t, 0.0), duration)
    return end + 0.5 * (start - end) * (1 + math.cos(math.pi * t / duration))


@dataclass
class CosineLR:
    """Learning rate: lr_max -> lr_min over `T` epochs (the paper: 5e-3 -> 1e-8, T=90 of 100)."""

    lr_max: float
    lr_min: float
    T: float

    def __call__(self, epoch: float) -> float:
        return cosine_ramp(epoch, self.lr_max, self.lr_min, self.T)


@dataclass
class GammaSchedule:
    """Focal-loss gamma rising from `start` to `end` over the first `T` epochs (paper: 1 -> 2, 10)."""

    start: float = 1.0
    end: float = 2.0
    T: float = 10.0

    def __call__(self, epoch: float) -> float:
        return cosine_ramp(epoch, self.start, self.end, self.T)


@dataclass
class TemperingSchedule:
    """"Multiple tempering" of the label weights between w_m and 1.

    Until `start_epoch` the full weights w_m apply. From then on the weights are annealed to 1
    and back to w_m again and again by a cosine with half period `half_period`, and frozen at
    their value at `freeze_epoch` (paper: 40, 30, 85). `strength(epoch)` is the share of
    (w_m - 1) in force: weights = 1 + strength * (w_m - 1).
    """

    start_epoch: float = 40.0
    half_period: float = 30.0
    freeze_epoch: float = 85.0

    def strength(self, epoch: float) -> float:
        t = min(max(epoch, self.start_epoch), self.freeze_epoch) - self.start_epoch
        return 0.5 * (1 + math.cos(math.pi * t / self.half_period))

    def weights(self, epoch: float, w_m) -> np.ndarray:
        w_m = np.asarray(w_m, dtype=np.float64)
        return 1.0 + self.strength(epoch) * (w_m - 1.0)

    __call__ = strength


def table(schedules: dict, epochs: int, steps_per_epoch: int = 1):
    """Values of several schedules over a run, as a DataFrame for plotting."""
    import pandas as pd

    t = np.arange(epochs * steps_per_epoch) / steps_per_epoch
    return pd.DataFrame({"epoch": t, **{name: [f(x) for x in t] for name, f in schedules.items()}})
