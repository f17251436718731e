"""Self-supervised warm-up losses: a real SwAV, and the paper code's "two views agree".

SwAV (Caron et al., 2020): features of two views are projected, L2-normalised and scored
against K learnable prototypes; Sinkhorn-Knopp turns one view's scores into soft codes
that use every prototype equally often in the batch (equal partition), and the other view
must predict those codes ("swapped prediction"). The two views may be two augmentations
of one image or two images of the same bag.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def sinkhorn(scores: torch.Tensor, eps: float = 0.05, n_iters: int = 3) -> torch.Tensor:
    """Soft codes (B, K): rows sum to 1, columns to about B / K (each prototype equally used).

    Computed in log space, so sharp scores (large / eps) cannot underflow to 0/0. Columns are
    scaled to equal sums, then rows to 1; a column target of B / K instead of 1 would be a
    constant that the row step removes, so it is left out.
    """
    log_q = scores.float() / eps  # (B, K)
    for _ in range(n_iters):
        log_q = log_q - torch.logsumexp(log_q, dim=0, keepdim=True)
        log_q = log_q - torch.logsumexp(log_q, dim=1, keepdim=True)
    return log_q.exp()


class SwAVHead(nn.Module):
    """Projection MLP and normalised prototypes on top of a backbone's pooled features."""

    def __init__(self, in_dim: int = 368, hidden: int = 512, proj_dim: int = 128,
                 n_prototypes: int = 100):
        super().__init__()
        self.projection = nn.Sequential(nn.Linear(in_dim, hidden), nn.BatchNorm1d(hidden),
                                        nn.ReLU(), nn.Linear(hidden, proj_dim))
        self.prototypes = nn.Linear(proj_dim, n_prototypes, bias=False)

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = F.normalize(self.projection(features), dim=1)
        return self.prototypes(z)


def swav_loss(scores_a: torch.Tensor, scores_b: torch.Tensor, temperature: float = 0.1,
              eps: float = 0.05, n_iters: int = 3) -> torch.Tensor:
    """Swapped prediction: each view predicts the other's Sinkhorn codes."""
    q_a, q_b = sinkhorn(scores_a, eps, n_iters), sinkhorn(scores_b, eps, n_iters)
    log_p_a = F.log_softmax(scores_a.float() / temperature, dim=1)
    log_p_b = F.log_softmax(scores_b.float() / temperature, dim=1)
    return -0.5 * ((q_a * log_p_b).sum(1).mean() + (q_b * log_p_a).sum(1).mean())


def agreement_loss(features_a: torch.Tensor, features_b: torch.Tensor) -> torch.Tensor:
    """The paper code's warm-up: mean squared error between two views' features."""
    return F.mse_loss(features_a.float(), features_b.float())
