"""What the CNN looks at: guided back-propagation (paper Fig. 3) and layer heat maps (Fig. 4).

Guided back-propagation (Springenberg et al., 2014) passes a gradient back through a ReLU
only where both the forward input and the incoming gradient are positive. It runs on a
copy of the model whose ReLUs are swapped, so the model itself is never changed.
"""
from __future__ import annotations

import copy

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def bags_to_show(n_valid: int, n_bags: int, seed: int) -> list[int]:
    """Which validation bags the figures show: min(n_bags, n_valid) distinct positions, drawn
    with the run's seed so that a rerun shows the same bags."""
    rng = np.random.default_rng(seed)
    return rng.choice(n_valid, size=min(n_bags, n_valid), replace=False).tolist()


class _GuidedReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (x > 0) * (grad > 0)


class GuidedReLU(nn.Module):
    def forward(self, x):
        return _GuidedReLUFunction.apply(x)


def _swap_relus(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, nn.ReLU):
            setattr(module, name, GuidedReLU())
        else:
            _swap_relus(child)


def guided_backprop(model: nn.Module, x: torch.Tensor, label: int) -> torch.Tensor:
    """(B, H, W) guided gradient of label's logit with respect to the input image."""
    guided = copy.deepcopy(model).eval()
    _swap_relus(guided)
    x = x.detach().clone().requires_grad_(True)
    guided(x)[:, label].sum().backward()
    return x.grad.abs().amax(dim=1)


def heatmap_layer_of(model: nn.Module, layer: str | None = None) -> str:
    """`layer` if `model` has a module of that name; None picks the stage at 1/8 of the input
    (RegNetY's "s2", ResNet's "layer2"), from timm's `feature_info`, so any backbone works."""
    stages = [(f["module"], f["reduction"]) for f in getattr(model, "feature_info", [])]
    if layer is None:
        if not stages:
            raise ValueError(f"{type(model).__name__} lists no stages (timm's feature_info): "
                             "set heatmap_layer to one of its module names")
        return min(stages, key=lambda s: abs(s[1] - 8))[0]
    if layer not in dict(model.named_modules()):
        raise ValueError(f"heatmap_layer {layer!r}: {type(model).__name__} has no module of that name; "
                         f"its stages are {', '.join(name for name, _ in stages) or 'not listed'}")
    return layer


@torch.no_grad()
def layer_heatmap(model: nn.Module, x: torch.Tensor, layer: str) -> torch.Tensor:
    """(B, H, W) mean absolute activation of an intermediate layer, upsampled to the input."""
    out = {}
    handle = dict(model.named_modules())[heatmap_layer_of(model, layer)].register_forward_hook(
        lambda m, i, o: out.setdefault("a", o))
    try:
        model.eval()(x)
    finally:
        handle.remove()
    heat = out["a"].abs().mean(1, keepdim=True)
    heat = F.interpolate(heat, size=x.shape[-2:], mode="bilinear", align_corners=False)[:, 0]
    flat = heat.flatten(1)
    lo, hi = flat.min(1).values[:, None, None], flat.max(1).values[:, None, None]
    return (heat - lo) / (hi - lo).clamp_min(1e-8)
