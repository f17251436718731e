"""Multi-label losses with per-label weights and per-sample stage masks.

Every loss is computed in float32 (low-precision logits underflow in log terms), and the
per-label weights live in a registered buffer so they follow the module to its device.
A mask entry of 0 removes that (sample, label) from the loss and from the gradient: the
paper sets the loss weight to 0 where the bag's stage cannot carry the label (Table II).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


def label_pos_weights(targets, mask=None, max_weight: float | None = None) -> np.ndarray:
    """w_m of the paper's code: negatives / positives of each label, counted where allowed."""
    targets = np.asarray(targets, dtype=np.float64)
    mask = np.ones_like(targets) if mask is None else np.asarray(mask, dtype=np.float64)
    pos = (targets * mask).sum(0)
    neg = ((1 - targets) * mask).sum(0)
    w = neg / np.maximum(pos, 1.0)
    w[pos == 0] = 1.0
    if max_weight is not None:
        w = np.minimum(w, max_weight)
    return w.astype(np.float32)


def _masked_mean(loss: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    if mask is None:
        return loss.mean()
    mask = mask.float()
    return (loss * mask).sum() / mask.sum().clamp_min(1.0)


class FocalLoss(nn.Module):
    """Eq. (1) with per-label positive weights w_m (eq. 4) and an optional stage mask.

    L = -w_m y a (1-p)^g log p - (1-y)(1-a) p^g log(1-p); with alpha=None the a and (1-a)
    factors are dropped (both 1). gamma=0, alpha=None and unit weights give plain BCE.
    `gamma` and `pos_weight` can be changed between epochs (gamma annealing, tempering).
    """

    def __init__(self, gamma: float = 2.0, alpha: float | None = None, pos_weight=None,
                 n_labels: int = 30):
        super().__init__()
        self.gamma = gamma
        self.alpha = alpha
        w = torch.ones(n_labels) if pos_weight is None else torch.as_tensor(pos_weight).float()
        self.register_buffer("pos_weight", w.clone())

    def set_pos_weight(self, w) -> None:
        self.pos_weight.copy_(torch.as_tensor(w, dtype=torch.float32))

    def forward(self, logits, targets, mask=None):
        logits, targets = logits.float(), targets.float()
        log_p, log_not_p = F.logsigmoid(logits), F.logsigmoid(-logits)
        p = log_p.exp()
        pos = targets * (1 - p).pow(self.gamma) * log_p * self.pos_weight
        neg = (1 - targets) * p.pow(self.gamma) * log_not_p
        if self.alpha is not None:
            pos, neg = self.alpha * pos, (1 - self.alpha) * neg
        return _masked_mean(-(pos + neg), mask)


class AsymmetricLoss(nn.Module):
    """Asymmetric loss (Ridnik et al., 2021) with the stage mask the paper's setting needs.

    Same terms as timm's AsymmetricLossMultiLabel (which has no mask): separate focusing for positives and negatives, and a probability margin
    `clip` that discards easy negatives.
    """

    def __init__(self, gamma_pos: float = 0.0, gamma_neg: float = 4.0, clip: float = 0.05,
                 eps: float = 1e-8):
        super().__init__()
        self.gamma_pos, self.gamma_neg, self.clip, self.eps = gamma_pos, gamma_neg, clip, eps

    def forward(self, logits, targets, mask=None):
        logits, targets = logits.float(), targets.float()
        p = torch.sigmoid(logits)
        p_neg = (1 - p + self.clip).clamp(max=1) if self.clip else 1 - p
        loss = targets * torch.log(p.clamp(min=self.eps)) \
            + (1 - targets) * torch.log(p_neg.clamp(min=self.eps))
        pt = p * targets + p_neg * (1 - targets)
        focus = (1 - pt).pow(self.gamma_pos * targets + self.gamma_neg * (1 - targets))
        return _masked_mean(-loss * focus, mask)
