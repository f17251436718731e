"""Augmentation of whole batches on the CPU or GPU, with per-sample random parameters.

The paper's recipe (resize 116x340, random crop 112x336 with padding 4, flips, rotation
up to 15 degrees, Gaussian noise, grayscale, normalise with 0.61/0.12) applied to uint8
batches from the image cache: one resize, then a single affine resampling per sample
that does crop, flips and rotation at once, then noise and blur. All random numbers come
from a torch.Generator on the CPU, so a seed reproduces a batch on any device. Padding
repeats the border (white background) instead of inserting black bars.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

MEAN, STD = 0.61, 0.12


def to_float(x: torch.Tensor, grayscale: bool) -> torch.Tensor:
    """uint8 (B, H, W) or (B, H, W, 3) -> float (B, C, H, W) in [0, 1]."""
    x = x.unsqueeze(1) if x.dim() == 3 else x.permute(0, 3, 1, 2)
    x = x.float() / 255.0
    if grayscale and x.shape[1] == 3:
        x = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    return x


def _resize(x: torch.Tensor, hw) -> torch.Tensor:
    """Bilinear resize, anti-aliased only for strong downscaling (as the training path does)."""
    if tuple(x.shape[-2:]) == tuple(hw):
        return x
    strong = min(r / s for r, s in zip(hw, x.shape[-2:])) < 0.75
    return F.interpolate(x, size=tuple(hw), mode="bilinear", align_corners=False, antialias=strong)


@dataclass
class BatchAugment:
    """Training transform: uint8 batch -> normalised float batch of `out_hw`."""

    resize_hw: tuple[int, int] = (116, 340)
    out_hw: tuple[int, int] = (112, 336)
    pad: int = 4
    hflip: float = 0.5
    vflip: float = 0.5
    max_rotation: float = 15.0
    noise_std: float = 0.03
    blur_p: float = 0.0
    blur_sigma: tuple[float, float] = (0.1, 1.5)
    grayscale: bool = True
    mean: float = MEAN
    std: float = STD

    def params(self, n: int, generator: torch.Generator | None = None) -> dict:
        """Per-sample random parameters and their affine maps, drawn on the CPU (a whole
        epoch's at once by utils.loaders.ImageBatches, uploaded in one copy)."""
        u = torch.rand(n, 6, generator=generator)
        rh, rw = self.resize_hw
        oh, ow = self.out_hw
        span_y = rh + 2 * self.pad - oh
        span_x = rw + 2 * self.pad - ow
        p = {
            "offset_y": (u[:, 0] * (span_y + 1)).floor() - span_y / 2,
            "offset_x": (u[:, 1] * (span_x + 1)).floor() - span_x / 2,
            "hflip": u[:, 2] < self.hflip,
            "vflip": u[:, 3] < self.vflip,
            "angle": (u[:, 4] * 2 - 1) * math.radians(self.max_rotation),
            "blur": u[:, 5] < self.blur_p,
            "sigma": torch.empty(n).uniform_(*self.blur_sigma, generator=generator),
            # noise: a random window of a random plane of a fixed bank (cheaper than randn)
            "noise_plane": torch.randint(0, _NOISE_PLANES, (n,), generator=generator),
            "noise_y": torch.randint(0, _NOISE_MARGIN, (n,), generator=generator),
            "noise_x": torch.randint(0, _NOISE_MARGIN, (n,), generator=generator),
        }
        p["theta"] = self.theta(p)
        return p

    def theta(self, p: dict) -> torch.Tensor:
        """(B, 2, 3) affine maps from output to input coordinates (normalised, align_corners=False)."""
        rh, rw = self.resize_hw
        oh, ow = self.out_hw
        n = len(p["angle"])
        cos, sin = torch.cos(p["angle"]), torch.sin(p["angle"])
        aspect = oh / ow  # rotate in pixel space, not in the stretched normalised square
        rot = torch.zeros(n, 3, 3)
        rot[:, 0, 0], rot[:, 0, 1] = cos, -sin * aspect
        rot[:, 1, 0], rot[:, 1, 1] = sin / aspect, cos
        rot[:, 2, 2] = 1
        flip = torch.diag_embed(torch.stack([1 - 2 * p["hflip"].float(), 1 - 2 * p["vflip"].float(),
                                             torch.ones(n)], 1))
        crop = torch.zeros(n, 3, 3)
        crop[:, 0, 0], crop[:, 1, 1], crop[:, 2, 2] = ow / rw, oh / rh, 1
        crop[:, 0, 2] = 2 * p["offset_x"] / rw
        crop[:, 1, 2] = 2 * p["offset_y"] / rh
        return (crop @ flip @ rot)[:, :2]

    def __call__(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        p = self.params(x.shape[0], generator)
        return self.apply(x, {k: v.to(x.device) for k, v in p.items()})

    def apply(self, x: torch.Tensor, p: dict) -> torch.Tensor:
        """Augment uint8 `x` with parameters `p` from `params` (already on x's device): a fixed
        number of batched kernels and no host-device synchronisation."""
        x = to_float(x, self.grayscale)
        # Normalised coordinates do not depend on resolution, so a mild resize is folded into
        # the one resampling below; a strong downscale gets an anti-aliased resize first.
        if min(r / s for r, s in zip(self.resize_hw, x.shape[-2:])) < 0.75:
            x = _resize(x, self.resize_hw)
        x = F.grid_sample(x, affine_grid(p["theta"].to(x.dtype), self.out_hw), mode="bilinear",
                          padding_mode="border", align_corners=False)
        if self.blur_p > 0:
            x = torch.where(p["blur"][:, None, None, None], gaussian_blur(x, p["sigma"]), x)
        if self.noise_std > 0:
            x = x + self.noise_std * _noise(p, self.out_hw, x.device, x.dtype)
        return (x - self.mean) / self.std


_NOISE_PLANES, _NOISE_MARGIN = 16, 32
_noise_banks: dict = {}


def _noise(p: dict, hw, device, dtype) -> torch.Tensor:
    """Per-sample N(0, 1) noise windows cut from a fixed bank of planes."""
    key = (tuple(hw), device, dtype)
    if key not in _noise_banks:
        g = torch.Generator().manual_seed(0)
        bank = torch.randn(_NOISE_PLANES, hw[0] + _NOISE_MARGIN, hw[1] + _NOISE_MARGIN, generator=g)
        _noise_banks[key] = bank.to(device, dtype)
    bank = _noise_banks[key]
    ys = p["noise_y"][:, None, None] + torch.arange(hw[0], device=device)[None, :, None]
    xs = p["noise_x"][:, None, None] + torch.arange(hw[1], device=device)[None, None, :]
    return bank[p["noise_plane"][:, None, None], ys, xs][:, None]  # one gather, no loop


def affine_grid(theta: torch.Tensor, hw) -> torch.Tensor:
    """F.affine_grid(theta, (B, C, *hw), align_corners=False), by broadcasting (5x faster on CPU)."""
    h, w = hw
    u = (torch.arange(w, device=theta.device, dtype=theta.dtype) * 2 + 1) / w - 1
    v = (torch.arange(h, device=theta.device, dtype=theta.dtype) * 2 + 1) / h - 1
    t = theta[:, :, :, None, None]
    return torch.stack([t[:, i, 0] * u[None, None, :] + t[:, i, 1] * v[None, :, None] + t[:, i, 2]
                        for i in range(2)], dim=-1)


@dataclass
class EvalTransform:
    """Validation/test transform: resize, centre crop, normalise (optionally flipped)."""

    resize_hw: tuple[int, int] = (116, 340)
    out_hw: tuple[int, int] = (112, 336)
    grayscale: bool = True
    mean: float = MEAN
    std: float = STD

    def __call__(self, x: torch.Tensor, hflip: bool = False) -> torch.Tensor:
        x = _resize(to_float(x, self.grayscale), self.resize_hw)
        (rh, rw), (oh, ow) = self.resize_hw, self.out_hw
        top, left = (rh - oh) // 2, (rw - ow) // 2
        x = x[..., top:top + oh, left:left + ow]
        if hflip:
            x = x.flip(-1)
        return (x - self.mean) / self.std


def gaussian_blur(x: torch.Tensor, sigma: torch.Tensor, radius: int = 4) -> torch.Tensor:
    """Separable Gaussian blur with a different sigma for every sample of the batch."""
    b, c, h, w = x.shape
    t = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    k = torch.exp(-0.5 * (t[None] / sigma[:, None].to(x.dtype)) ** 2)
    k = (k / k.sum(1, keepdim=True)).repeat_interleave(c, 0)  # (B*C, 2r+1)
    y = x.reshape(1, b * c, h, w)
    y = F.conv2d(F.pad(y, (radius, radius, 0, 0), mode="replicate"), k[:, None, None, :], groups=b * c)
    y = F.conv2d(F.pad(y, (0, 0, radius, radius), mode="replicate"), k[:, None, :, None], groups=b * c)
    return y.reshape(b, c, h, w)


def paper_pil_transform(resize_hw=(116, 340), out_hw=(112, 336), noise_std: float = 0.03):
    """The paper code's per-item torchvision PIL pipeline (for comparison and benchmarks)."""
    from torchvision import transforms as T

    return T.Compose([
        T.Resize(resize_hw),
        T.RandomCrop(out_hw, padding=4),
        T.RandomHorizontalFlip(),
        T.RandomVerticalFlip(),
        T.RandomRotation(15),
        T.Grayscale(),
        T.ToTensor(),
        T.Lambda(lambda t: t + noise_std * torch.randn_like(t)),
        T.Normalize([MEAN], [STD]),
    ])
