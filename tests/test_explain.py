import pytest
import torch
from torch import nn

from utils.explain import bags_to_show, guided_backprop, heatmap_layer_of, layer_heatmap
from utils.models import build_backbone


@pytest.mark.parametrize("nested", [False, True])  # a backbone's ReLUs sit inside its blocks
def test_guided_backprop_gates_by_input_and_gradient_sign(nested):
    # y = w2 . relu(W1 x); guided gradient = W1^T (w2 * [W1 x > 0] * [w2 > 0])
    torch.manual_seed(0)
    relu = nn.Sequential(nn.Sequential(nn.ReLU())) if nested else nn.ReLU()
    model = nn.Sequential(nn.Linear(4, 6, bias=False), relu, nn.Linear(6, 1, bias=False))
    x = torch.tensor([[1.0, 2.0, -1.0, 0.5]])
    w1, w2 = model[0].weight, model[2].weight[0]
    with torch.no_grad():  # hidden unit 0 sits exactly at 0 (2 * 1 - 1 * 2): a ReLU passes nothing there
        w1[0] = torch.tensor([2.0, -1.0, 0.0, 0.0])
        w2[0] = 1.0
    gate = ((w1 @ x[0]) > 0).float() * (w2 > 0).float()
    expected = (w1.t() @ (w2 * gate)).abs()
    out = guided_backprop(model, x[:, None, :], 0)  # treat features as one 1-row "image"
    assert torch.allclose(out[0], expected, atol=1e-6)
    assert [type(m).__name__ for m in model.modules()].count("ReLU") == 1  # the model itself is untouched


def test_a_colour_images_map_is_the_largest_gradient_over_its_channels():
    # y = mean over the 4x5 pixels of (r - 2 g + 0.5 b): the gradient is (1, -2, 0.5) / 20 at
    # every pixel, and the map keeps the largest magnitude of the three channels, 2 / 20
    model = nn.Sequential(nn.Conv2d(3, 1, 1, bias=False), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    with torch.no_grad():
        model[0].weight.copy_(torch.tensor([1.0, -2.0, 0.5]).view(1, 3, 1, 1))
    out = guided_backprop(model, torch.randn(2, 3, 4, 5), 0)
    assert torch.allclose(out, torch.full((2, 4, 5), 0.1))


def test_layer_heatmap_is_the_layers_mean_absolute_activation_scaled_to_0_1():
    # A one-layer "model" whose activation is known: |conv| averaged over channels, then
    # stretched to [0, 1] per image; at the input's size no resampling happens.
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Flatten(), nn.LazyLinear(2))
    x = torch.randn(2, 1, 5, 7)
    model(x)
    with torch.no_grad():
        act = model[0](x).abs().mean(1)
    lo, hi = act.amin((1, 2), keepdim=True), act.amax((1, 2), keepdim=True)
    assert torch.allclose(layer_heatmap(model, x, "0"), (act - lo) / (hi - lo), atol=1e-6)
    assert not model[0]._forward_hooks  # its hook goes with it: 08 maps many images with one model


def test_maps_of_the_backbone_have_the_image_shape_and_look_at_the_image():
    model = build_backbone("regnety_002", in_chans=1)
    x = torch.zeros(2, 1, 40, 120)
    x[:, :, 10:30, 60:100] = 3.0  # something to look at, on the right
    assert guided_backprop(model, x, 3).shape == (2, 40, 120)
    heat = layer_heatmap(model, x, None)  # its stage at 1/8 of the input, "s2"
    assert torch.equal(heat, layer_heatmap(model, x, "s2"))
    assert heat.shape == (2, 40, 120) and heat.min() == 0 and heat.max() == pytest.approx(1)
    assert heat[:, 10:30, 60:100].mean() > heat[:, :, :40].mean()


def test_a_coarser_layers_heatmap_is_resampled_at_pixel_centres():
    # A layer at half the input's size: activation [[0, 1]] for a 2x4 image. Resampled with
    # pixel centres aligned (half-pixel rule, as images are resized), each row of the 2x4 map
    # is [0, 1/4, 3/4, 1]; stretching the corners instead would give [0, 1/3, 2/3, 1].
    model = nn.Sequential(nn.AvgPool2d(2))
    x = torch.tensor([[[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]]]])
    expected = torch.tensor([0.0, 0.25, 0.75, 1.0]).expand(1, 2, 4)
    assert torch.allclose(layer_heatmap(model, x, "0"), expected, atol=1e-6)


@pytest.mark.parametrize("backbone, stage", [("regnety_002", "s2"), ("resnet18", "layer2")])
def test_the_default_heatmap_layer_is_the_backbones_stage_at_an_eighth_of_the_input(backbone, stage):
    # timm names the stages by backbone: 08's one default serves the gpu profile's ResNet18 too
    model = build_backbone(backbone, in_chans=1)
    assert heatmap_layer_of(model) == stage
    seen = []
    dict(model.named_modules())[stage].register_forward_hook(lambda m, i, o: seen.append(o.shape))  # None: output kept
    x = torch.rand(1, 1, 40, 120)
    assert layer_heatmap(model, x, None).shape == (1, 40, 120)
    assert seen[0][-2:] == (5, 15)  # 40x120 at 1/8
    with pytest.raises(ValueError, match=r"Sequential lists no stages \(timm's feature_info\): set heatmap_layer"):
        heatmap_layer_of(nn.Sequential(nn.AvgPool2d(2)))  # not a timm model: no default to pick


def test_a_heatmap_layer_the_backbone_lacks_is_named_with_its_stages():
    with pytest.raises(ValueError, match=r"heatmap_layer 's2': ResNet has no module of that name; "
                                         r"its stages are act1, layer1, layer2, layer3, layer4"):
        layer_heatmap(build_backbone("resnet18", in_chans=1), torch.rand(1, 1, 40, 120), "s2")


def test_the_bags_shown_are_distinct_and_the_same_for_the_same_seed():
    # Asked for every bag, each appears once (a draw with replacement repeats one of 20 almost surely).
    assert sorted(bags_to_show(20, 20, seed=0)) == list(range(20))
    assert sorted(bags_to_show(5, 8, seed=1)) == list(range(5))  # fewer bags than asked: all of them
    shown = bags_to_show(50, 4, seed=3)
    assert len(set(shown)) == 4 and all(0 <= i < 50 for i in shown)
    assert bags_to_show(50, 4, seed=3) == shown and bags_to_show(50, 4, seed=4) != shown
