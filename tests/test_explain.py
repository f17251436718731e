import torch
from torch import nn

from utils.explain import guided_backprop, layer_heatmap
from utils.models import build_backbone


def test_guided_backprop_gates_by_input_and_gradient_sign():
    # y = w2 . relu(W1 x); guided gradient = W1^T (w2 * [W1 x > 0] * [w2 > 0])
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 6, bias=False), nn.ReLU(), nn.Linear(6, 1, bias=False))
    x = torch.randn(1, 4)
    w1, w2 = model[0].weight, model[2].weight[0]
    gate = ((w1 @ x[0]) > 0).float() * (w2 > 0).float()
    expected = (w1.t() @ (w2 * gate)).abs()
    out = guided_backprop(model, x[:, None, :], 0)  # treat features as one 1-row "image"
    assert torch.allclose(out[0], expected, atol=1e-6)
    assert isinstance(model[1], nn.ReLU)  # the model itself is untouched


def test_maps_have_the_image_shape():
    model = build_backbone("regnety_002", in_chans=1)
    x = torch.randn(2, 1, 40, 120)
    assert guided_backprop(model, x, 3).shape == (2, 40, 120)
    heat = layer_heatmap(model, x, "s2")
    assert heat.shape == (2, 40, 120) and heat.min() >= 0 and heat.max() <= 1
