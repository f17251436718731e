import inspect
import math

import numpy as np
import torch
import torch.nn.functional as F
from timm.loss import AsymmetricLossMultiLabel

from utils.losses import AsymmetricLoss, FocalLoss, label_pos_weights


def test_focal_loss_equals_eq1_by_hand():
    logits = torch.tensor([[2.0, -1.0], [0.5, 0.0]])
    y = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    gamma, alpha = 2.0, 0.25
    total = 0.0
    for z, t in zip(logits.flatten().tolist(), y.flatten().tolist()):
        p = 1 / (1 + math.exp(-z))
        total += -t * alpha * (1 - p) ** gamma * math.log(p) \
            - (1 - t) * (1 - alpha) * p ** gamma * math.log(1 - p)
    loss = FocalLoss(gamma=gamma, alpha=alpha, n_labels=2)(logits, y)
    assert math.isclose(loss.item(), total / 4, rel_tol=1e-6)


def test_focal_loss_at_gamma_0_is_bce_and_weights_scale_positives():
    torch.manual_seed(0)
    logits, y = torch.randn(8, 30), (torch.rand(8, 30) > 0.7).float()
    bce = F.binary_cross_entropy_with_logits(logits, y)
    assert torch.allclose(FocalLoss(gamma=0.0)(logits, y), bce, atol=1e-6)
    w = torch.rand(30) * 5 + 1
    weighted = F.binary_cross_entropy_with_logits(logits, y, pos_weight=w)
    assert torch.allclose(FocalLoss(gamma=0.0, pos_weight=w)(logits, y), weighted, atol=1e-6)


def test_masked_labels_get_exactly_zero_gradient():
    logits = torch.randn(4, 30, requires_grad=True)
    y = (torch.rand(4, 30) > 0.5).float()
    mask = (torch.rand(4, 30) > 0.5).float()
    FocalLoss(gamma=2.0, pos_weight=torch.full((30,), 3.0))(logits, y, mask).backward()
    assert (logits.grad[mask == 0] == 0).all()
    assert (logits.grad[mask == 1] != 0).all()


def test_masked_loss_is_the_mean_over_allowed_entries_only():
    torch.manual_seed(3)
    logits, y = torch.randn(5, 30), (torch.rand(5, 30) > 0.7).float()
    mask = torch.rand(5, 30) > 0.5
    expected = F.binary_cross_entropy_with_logits(logits[mask], y[mask])  # sum / allowed count
    assert torch.allclose(FocalLoss(gamma=0.0)(logits, y, mask.float()), expected, atol=1e-6)
    nothing = FocalLoss(gamma=0.0)(logits, y, torch.zeros(5, 30))
    assert nothing.item() == 0.0  # no allowed entry: zero, not NaN


def test_low_precision_logits_do_not_underflow():
    logits = torch.tensor([[-40.0, 40.0]], dtype=torch.bfloat16)
    y = torch.tensor([[1.0, 0.0]])
    loss = FocalLoss(gamma=0.0, n_labels=2)(logits, y)
    assert torch.isfinite(loss) and abs(loss.item() - 40.0) < 0.5


def test_asymmetric_loss_matches_timm_without_mask():
    torch.manual_seed(1)
    logits, y = torch.randn(6, 30), (torch.rand(6, 30) > 0.8).float()
    ours = AsymmetricLoss(gamma_pos=1, gamma_neg=4, clip=0.05)(logits, y)
    # timm 1.0.29 (the GPU box's) always sums; later versions take `reduction`: compare the sums
    summed = {"reduction": "sum"} if "reduction" in inspect.signature(AsymmetricLossMultiLabel).parameters else {}
    theirs = AsymmetricLossMultiLabel(gamma_pos=1, gamma_neg=4, clip=0.05, **summed)(logits, y) / logits.numel()
    assert torch.allclose(ours, theirs, rtol=1e-5)


def test_pos_weights_are_negative_to_positive_ratio_where_allowed():
    y = np.array([[1, 0], [0, 0], [0, 1], [0, 0]])
    mask = np.array([[1, 1], [1, 1], [1, 1], [1, 0]])
    assert np.allclose(label_pos_weights(y, mask), [3.0, 2.0])
    y_none = np.array([[1, 0], [0, 0], [0, 0]])  # label 1 never positive: weight 1, not 0 or inf
    assert np.allclose(label_pos_weights(y_none), [2.0, 1.0])
    assert np.allclose(label_pos_weights(y_none, max_weight=1.5), [1.5, 1.0])


def test_loss_weights_follow_the_module_to_its_device():
    loss = FocalLoss(pos_weight=torch.arange(30.0))
    assert "pos_weight" in dict(loss.named_buffers()) and "pos_weight" in loss.state_dict()
    moved = loss.to("meta")  # a device without data: only a registered buffer follows the module there
    assert moved.pos_weight.device.type == "meta"
    assert loss.to(torch.float64).pos_weight.dtype == torch.float64


def test_masked_asymmetric_loss_ignores_masked_labels_entirely():
    torch.manual_seed(2)
    logits, y = torch.randn(6, 30, requires_grad=True), (torch.rand(6, 30) > 0.8).float()
    mask = (torch.rand(6, 30) > 0.4).float()
    loss = AsymmetricLoss(gamma_pos=1, gamma_neg=4, clip=0.05)
    masked = loss(logits, y, mask)
    masked.backward()
    assert (logits.grad[mask == 0] == 0).all() and (logits.grad[mask == 1] != 0).any()
    # Changing the logits of masked labels changes nothing.
    other = logits.detach() + 50 * (1 - mask)
    assert torch.allclose(loss(other, y, mask), masked.detach())
