"""Image backbones (timm) and bag heads over per-image features.

Bag heads take padded features (B, T, D) and a boolean mask (B, T) of real images; no
padded step can change a bag's output.
"""
from __future__ import annotations

import timm
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .choices import check_backbone, check_choice

BACKBONES = {"regnety_002": "RegNetY-200MF (368 features)", "resnet18": "ResNet18 (512 features)"}


def build_backbone(name: str = "regnety_002", in_chans: int = 1, n_labels: int = 30,
                   drop_rate: float = 0.0) -> nn.Module:
    """A timm model with random weights (nothing is downloaded) and a 30-logit head."""
    return timm.create_model(check_backbone(name), pretrained=False, in_chans=in_chans, num_classes=n_labels,
                             drop_rate=drop_rate)


def image_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Pooled pre-logit features (RegNetY-200MF: 368 numbers per image)."""
    return model.forward_head(model.forward_features(x), pre_logits=True)


def masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over dim 1 of x (B, T, D) counting only mask (B, T) True steps."""
    m = mask.unsqueeze(-1).to(x.dtype)
    return (x * m).sum(1) / m.sum(1).clamp_min(1.0)


class BiLSTMBagHead(nn.Module):
    """The paper's bag model: 2-layer BiLSTM, FC, average pooling over the bag, FC.

    Packed sequences keep padding out of the recurrence, and the average is over real
    images only. An LSTM depends on image order though a bag has none: train with
    shuffled orders and, at test time, average over several orders (see `predict_bags`).

    Options the paper leaves open, each measured before it becomes a default:
    readout     "mean": FC on every step, averaged over the bag (the kit's reading of the
                paper); "ends": FC on [h_N, h_0], the forward direction's last output and
                the backward direction's first (the paper code's readout)
    input_norm  "none" or "layernorm": LayerNorm over each image's features before the LSTM
                (post-ReLU CNN features are all positive and a quarter zero)
    dropout_at  "all": dropout between the LSTM layers and before both linear layers;
                "linear": only before the linear layers, where the paper names it
    skip        "none" or "mean": add a linear read of the bag's mean feature to the
                logits, so the recurrence learns corrections to a mean-pool head (the CNN's
                own per-bag average is close to one) rather than the whole answer
    """

    def __init__(self, in_dim: int = 368, hidden: int = 1024, layers: int = 2,
                 dropout: float = 0.5, n_labels: int = 30, readout: str = "mean",
                 input_norm: str = "none", dropout_at: str = "all", skip: str = "none"):
        super().__init__()
        for name, value in (("lstm_readout", readout), ("lstm_input_norm", input_norm),
                            ("lstm_dropout_at", dropout_at), ("lstm_skip", skip)):
            check_choice(name, value)
        self.readout = readout
        self.norm = nn.LayerNorm(in_dim) if input_norm == "layernorm" else nn.Identity()
        between = dropout if (layers > 1 and dropout_at == "all") else 0.0
        self.lstm = nn.LSTM(in_dim, hidden, num_layers=layers, batch_first=True,
                            bidirectional=True, dropout=between)
        self.fc = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * hidden, hidden), nn.ReLU())
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, n_labels))
        self.skip = MeanPoolBagHead(in_dim, n_labels, dropout) if skip == "mean" else None

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        lengths = mask.sum(1).clamp_min(1).cpu()
        packed = pack_padded_sequence(self.norm(x), lengths, batch_first=True, enforce_sorted=False)
        steps, (h_n, _) = self.lstm(packed)
        if self.readout == "ends":  # final states: forward after step N, backward after step 0
            logits = self.out(self.fc(torch.cat([h_n[-2], h_n[-1]], dim=1)))
        else:
            h, _ = pad_packed_sequence(steps, batch_first=True, total_length=x.shape[1])
            logits = self.out(masked_mean(self.fc(h), mask))
        return logits if self.skip is None else logits + self.skip(x, mask)


class AttentionBagHead(nn.Module):
    """Gated-attention MIL pooling (Ilse et al., 2018): order-invariant, readable weights."""

    def __init__(self, in_dim: int = 368, hidden: int = 512, attn_dim: int = 128,
                 dropout: float = 0.25, n_labels: int = 30):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout))
        self.attn_v = nn.Linear(hidden, attn_dim)
        self.attn_u = nn.Linear(hidden, attn_dim)
        self.attn_w = nn.Linear(attn_dim, 1)
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, n_labels))

    def attention(self, h: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        scores = self.attn_w(torch.tanh(self.attn_v(h)) * torch.sigmoid(self.attn_u(h))).squeeze(-1)
        return torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)

    def forward(self, x, mask, return_attention: bool = False):
        h = self.embed(x)
        a = self.attention(h, mask)
        logits = self.out(torch.einsum("bt,btd->bd", a, h))
        return (logits, a) if return_attention else logits


class MeanPoolBagHead(nn.Module):
    """Baseline: average the bag's features, then a linear layer."""

    def __init__(self, in_dim: int = 368, n_labels: int = 30, dropout: float = 0.25):
        super().__init__()
        self.out = nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, n_labels))

    def forward(self, x, mask):
        return self.out(masked_mean(x, mask))


BAG_HEADS = {"bilstm": BiLSTMBagHead, "attention": AttentionBagHead, "mean": MeanPoolBagHead}


def build_bag_head(name: str, in_dim: int, **kwargs) -> nn.Module:
    check_choice("bag_head", name)
    return BAG_HEADS[name](in_dim=in_dim, **kwargs)
