import warnings

import pytest
import torch

from utils.models import (AttentionBagHead, BiLSTMBagHead, MeanPoolBagHead, build_backbone, build_bag_head,
                          image_features)
from utils.swav import SwAVHead, sinkhorn, swav_loss


def test_regnety_gives_30_logits_and_368_features_from_one_channel():
    model = build_backbone("regnety_002", in_chans=1).eval()
    x = torch.randn(2, 1, 64, 160)
    assert model(x).shape == (2, 30)
    assert image_features(model, x).shape == (2, 368)
    assert build_backbone("resnet18", in_chans=3)(torch.randn(1, 3, 64, 160)).shape == (1, 30)


def test_an_unknown_bag_head_is_refused_naming_the_choices():
    assert type(build_bag_head("attention", in_dim=16, hidden=8)) is AttentionBagHead
    with pytest.raises(ValueError, match=r"bag_head 'lstm' unknown; choose from .*'bilstm'"):
        build_bag_head("lstm", in_dim=16)


def _padded(x, extra):
    b, t, d = x.shape
    xp = torch.cat([x, torch.randn(b, extra, d) * 100], 1)
    mask = torch.zeros(b, t + extra, dtype=torch.bool)
    return xp, mask


def test_bilstm_output_does_not_depend_on_padding():
    torch.manual_seed(0)
    head = BiLSTMBagHead(in_dim=16, hidden=32).eval()
    x = torch.randn(3, 5, 16)
    lengths = torch.tensor([5, 2, 3])
    mask = torch.arange(5)[None] < lengths[:, None]
    out = head(x, mask)
    xp, maskp = _padded(x, 4)
    maskp[:, :5] = mask
    xp[:, :5][~mask] = 1e3  # garbage in padded steps too
    assert torch.allclose(head(xp, maskp), out, atol=1e-5)
    single = head(x[1:2, :2], mask[1:2, :2])
    assert torch.allclose(single, out[1:2], atol=1e-5)


def test_attention_head_is_invariant_to_image_order_and_exposes_weights():
    torch.manual_seed(0)
    head = AttentionBagHead(in_dim=16).eval()
    x = torch.randn(2, 6, 16)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 4:] = False
    logits, a = head(x, mask, return_attention=True)
    perm = torch.tensor([3, 0, 2, 1, 4, 5])
    assert torch.allclose(head(x[:, perm], mask[:, perm]), logits, atol=1e-5)
    assert torch.allclose(a.sum(1), torch.ones(2)) and (a[1, 4:] == 0).all()


def test_attention_weights_are_the_gated_formula_of_ilse_et_al():
    torch.manual_seed(1)
    head = AttentionBagHead(in_dim=8, hidden=12, attn_dim=5).eval()
    x, mask = torch.randn(1, 4, 8), torch.tensor([[True, True, True, False]])
    logits, a = head(x, mask, return_attention=True)
    h = torch.relu(head.embed[0](x[0, :3]))                      # the 3 real images
    V, U, w = head.attn_v, head.attn_u, head.attn_w
    scores = torch.stack([w(torch.tanh(V(h_t)) * torch.sigmoid(U(h_t))).squeeze() for h_t in h])
    expected = torch.softmax(scores, 0)                          # eq. (9): a_k over the bag
    assert torch.allclose(a[0, :3], expected, atol=1e-6) and a[0, 3] == 0
    assert torch.allclose(logits[0], head.out[1]((expected[:, None] * h).sum(0)), atol=1e-5)


def test_mean_pool_head_is_a_linear_layer_on_the_mean_of_the_real_images():
    torch.manual_seed(0)
    head = MeanPoolBagHead(16).eval()
    x = torch.randn(2, 6, 16)
    mask = torch.ones(2, 6, dtype=torch.bool)
    mask[1, 3:] = False
    linear = head.out[1]
    expected = torch.stack([linear(x[0].mean(0)), linear(x[1, :3].mean(0))])
    assert torch.allclose(head(x, mask), expected, atol=1e-6)


def test_sinkhorn_gives_equal_partition_marginals():
    torch.manual_seed(0)
    # cosine scores between normalised embeddings and prototypes, as SwAV computes them
    z = torch.nn.functional.normalize(torch.randn(64, 16), dim=1)
    c = torch.nn.functional.normalize(torch.randn(8, 16), dim=1)
    q = sinkhorn(z @ c.t(), eps=0.05, n_iters=100)
    assert torch.allclose(q.sum(1), torch.ones(64), atol=1e-4)
    assert torch.allclose(q.sum(0), torch.full((8,), 64 / 8), atol=1e-2)


def _swav_by_hand(a, b, temperature, eps, n_iters):
    """Swapped prediction written out with plain loops over rows and columns."""
    import math

    def codes(scores):
        q = [[math.exp(s / eps) for s in row] for row in scores]
        n, k = len(q), len(q[0])
        for _ in range(n_iters):
            for j in range(k):  # each prototype used n/k times in the batch
                col = sum(q[i][j] for i in range(n))
                for i in range(n):
                    q[i][j] *= (n / k) / col
            for i in range(n):  # each sample's code sums to 1
                row = sum(q[i])
                q[i] = [v / row for v in q[i]]
        return q

    def log_softmax(row):
        z = math.log(sum(math.exp(s / temperature) for s in row))
        return [s / temperature - z for s in row]

    qa, qb = codes(a), codes(b)
    cross = lambda q, s: sum(sum(qi * li for qi, li in zip(q[i], log_softmax(s[i]))) for i in range(len(s))) / len(s)  # noqa: E731
    return -0.5 * (cross(qa, b) + cross(qb, a))


def test_swav_loss_equals_swapped_prediction_by_hand_and_trains_the_prototypes():
    a = [[0.9, 0.1, -0.3], [0.2, 0.8, 0.0], [-0.5, 0.4, 0.7], [0.1, -0.2, 0.6]]
    b = [[0.7, 0.3, -0.1], [0.0, 0.6, 0.2], [-0.4, 0.1, 0.9], [0.3, 0.0, 0.5]]
    got = swav_loss(torch.tensor(a), torch.tensor(b), temperature=0.1, eps=0.05, n_iters=3)
    assert got.item() == pytest.approx(_swav_by_hand(a, b, 0.1, 0.05, 3), rel=1e-5)
    torch.manual_seed(0)
    head = SwAVHead(in_dim=16, hidden=32, proj_dim=8, n_prototypes=10)
    f = torch.randn(32, 16)
    loss = swav_loss(head(f), head(f + 0.01 * torch.randn_like(f)))
    loss.backward()
    assert head.prototypes.weight.grad.abs().sum() > 0


def test_bilstm_ends_readout_is_the_forward_last_and_backward_first_output():
    """[h_N, h_0] by hand: run the head's own LSTM on each bag alone, unpadded, and take the
    forward half of its last step and the backward half of its first."""
    torch.manual_seed(0)
    head = BiLSTMBagHead(in_dim=6, hidden=8, readout="ends").eval()
    x = torch.randn(3, 5, 6)
    lengths = [5, 2, 3]
    mask = torch.arange(5)[None] < torch.tensor(lengths)[:, None]
    x[~mask] = 1e3  # padding must not reach the readout
    got = head(x, mask)
    with torch.no_grad():
        for i, n in enumerate(lengths):
            steps = head.lstm(x[i:i + 1, :n])[0][0]  # (n, 2 * hidden)
            ends = torch.cat([steps[n - 1, :8], steps[0, 8:]])
            assert torch.allclose(got[i], head.out(head.fc(ends[None]))[0], atol=1e-5)
    assert not torch.allclose(got, BiLSTMBagHead(in_dim=6, hidden=8).eval()(x, mask))


def test_bilstm_layernorm_makes_the_head_blind_to_each_images_scale_and_offset():
    torch.manual_seed(0)
    x = torch.rand(2, 4, 6)
    mask = torch.ones(2, 4, dtype=torch.bool)
    shifted = 5 * x + 3  # the same image features at another scale and offset
    normed = BiLSTMBagHead(in_dim=6, hidden=8, input_norm="layernorm").eval()
    assert torch.allclose(normed(x, mask), normed(shifted, mask), atol=1e-4)
    plain = BiLSTMBagHead(in_dim=6, hidden=8).eval()
    assert not torch.allclose(plain(x, mask), plain(shifted, mask), atol=1e-3)


def test_bilstm_dropout_only_on_linear_layers_where_the_paper_puts_it():
    paper = BiLSTMBagHead(in_dim=6, hidden=8, dropout=0.5, dropout_at="linear")
    assert paper.lstm.dropout == 0.0 and paper.fc[0].p == paper.out[0].p == 0.5
    assert BiLSTMBagHead(in_dim=6, hidden=8, dropout=0.5).lstm.dropout == 0.5
    # One layer has nothing between layers: torch warns about dropout there, so none is passed.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert BiLSTMBagHead(in_dim=6, hidden=8, layers=1, dropout=0.5).lstm.dropout == 0.0
    with pytest.raises(ValueError, match="readout 'last' unknown"):
        BiLSTMBagHead(readout="last")


def test_bilstm_mean_skip_adds_a_linear_read_of_the_bags_mean_feature():
    """The skip's logits by hand: the plain head's logits (same weights) plus a linear
    layer on the mean of the real images' features; padding reaches neither."""
    torch.manual_seed(0)
    head = BiLSTMBagHead(in_dim=6, hidden=8, skip="mean").eval()
    plain = BiLSTMBagHead(in_dim=6, hidden=8).eval()
    plain.load_state_dict({k: v for k, v in head.state_dict().items() if not k.startswith("skip.")})
    x = torch.randn(2, 5, 6)
    mask = torch.ones(2, 5, dtype=torch.bool)
    mask[1, 2:] = False
    x[~mask] = 1e3
    linear = head.skip.out[1]
    expected = plain(x, mask) + torch.stack([linear(x[0].mean(0)), linear(x[1, :2].mean(0))])
    assert torch.allclose(head(x, mask), expected, atol=1e-5)
    with pytest.raises(ValueError, match="skip 'max' unknown"):
        BiLSTMBagHead(skip="max")


def test_swav_scores_are_cosine_similarities_to_the_prototypes():
    torch.manual_seed(0)
    head = SwAVHead(in_dim=16, hidden=32, proj_dim=8, n_prototypes=5)
    head.normalize_prototypes()
    scores = head(100 * torch.randn(64, 16))
    assert scores.abs().max() <= 1 + 1e-5  # |cos| <= 1 (Cauchy-Schwarz), whatever the feature scale
    assert scores.abs().max() > 0.5
    # each score is the cosine of the projection and a prototype, by hand: nothing added
    x = torch.randn(64, 16)
    z = head.projection(x)
    cos = torch.nn.functional.cosine_similarity(z[:, None, :], head.prototypes.weight[None], dim=2)
    assert torch.allclose(head(x), cos, atol=1e-5)
