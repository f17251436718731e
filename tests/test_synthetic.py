import hashlib
import re
from collections import Counter

import numpy as np
import pytest

from utils import facts
from utils.data import read_competition
from utils.labels import STAGES
from utils.submission import validate_f1
from utils.synthetic import (H, STYLES, W, _REGIONS, Renderer, _log_lift, _stratified_uniforms, embryo_frame,
                             generate, hidden_test_targets, labels_per_bag_distribution, main, make_bags,
                             sample_label_sets)


def _digest(folder):
    h = hashlib.sha1()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_deterministic_for_a_seed_and_any_worker_count(tmp_path):
    a = generate(tmp_path / "a", n_bags=20, seed=5, workers=1)
    b = generate(tmp_path / "new/folders/b", n_bags=20, seed=5, workers=2)  # its parents made as needed
    c = generate(tmp_path / "c", n_bags=20, seed=6, workers=1)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    comp = read_competition(a)  # passes validation
    assert len(comp.train) + len(comp.test) == 20
    # as on Kaggle, a sample submission of every test bag, in the format the kit's own check accepts
    validate_f1(a / "sample_submission.csv", [bag.gene_stage for bag in comp.test])
    assert (a / "train/label_dict.csv").read_text().splitlines() == ["index,term"] + [
        f"{i},{term}" for i, term in enumerate(facts.TERMS)]  # the terms file, though the kit has them too
    # An existing folder (someone's data, say) is never written over unless asked; no half-built copy is left
    with pytest.raises(FileExistsError, match="exists; pass overwrite=True"):
        generate(a, n_bags=20, seed=6, workers=1)
    assert _digest(a) == _digest(b) and sorted(p.name for p in tmp_path.iterdir()) == ["a", "c", "new"]
    assert _digest(generate(a, n_bags=20, seed=6, overwrite=True)) == _digest(c)  # default workers too


def test_a_generation_that_fails_half_way_leaves_nothing_behind(tmp_path, monkeypatch):
    """Images drawn, then the CSVs fail (a full disk, say): no half-built folder stays beside
    the data, and an existing folder asked to be replaced is kept as it was."""
    import utils.synthetic
    old = generate(tmp_path / "old", n_bags=6, seed=1, workers=1)
    before = _digest(old)

    def full_disk(path, header, rows):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(utils.synthetic, "_write_csv", full_disk)
    for out, overwrite in ((tmp_path / "new", False), (old, True)):
        with pytest.raises(OSError, match="No space left"):
            generate(out, n_bags=6, seed=2, workers=1, overwrite=overwrite)
        assert sorted(p.name for p in tmp_path.iterdir()) == ["old"] and _digest(old) == before


def test_the_command_line_writes_what_generate_writes_for_the_same_arguments(tmp_path, capsys):
    # Every option away from its default, so that one passed to another parameter shows.
    options = ["--bags", "12", "--seed", "3", "--workers", "1", "--test-fraction", "0.25", "--style", "real"]
    assert main(["--out", str(tmp_path / "cli"), *options]) == 0
    assert capsys.readouterr().out == f"wrote {tmp_path / 'cli'}\n"
    expected = generate(tmp_path / "direct", n_bags=12, seed=3, workers=1, test_fraction=0.25, style="real")
    assert _digest(tmp_path / "cli") == _digest(expected)
    assert main(["--out", str(tmp_path / "cli"), "--bags", "12"]) == 2  # never over a folder unless asked
    assert capsys.readouterr().err == f"error: {tmp_path / 'cli'} exists; pass overwrite=True (--overwrite) to replace it\n"
    assert main(["--out", str(tmp_path / "cli"), "--bags", "12", "--overwrite"]) == 0
    assert _digest(tmp_path / "cli") == _digest(generate(tmp_path / "default", n_bags=12))
    with pytest.raises(SystemExit) as usage:  # no folder named: a usage error, not a traceback
        main(["--bags", "12"])
    assert usage.value.code == 2 and "the following arguments are required: --out" in capsys.readouterr().err


def _tv(hist_a: dict, hist_b: dict) -> float:
    keys = set(hist_a) | set(hist_b)
    ta, tb = sum(hist_a.values()), sum(hist_b.values())
    return 0.5 * sum(abs(hist_a.get(k, 0) / ta - hist_b.get(k, 0) / tb) for k in keys)


def test_2000_bags_follow_the_real_figures():
    """Per-stage label rates within 0.05; histograms within total-variation distance 0.06."""
    bags = make_bags(2000, seed=11)
    for s_i, stage in enumerate(STAGES):
        at = [b for b in bags if b.stage == stage]
        rates = np.zeros(30)
        for b in at:
            rates[list(b.labels)] += 1
        rates /= len(at)
        real = np.array([r[s_i] for r in facts.POSITIVE_RATE_BY_STAGE])
        assert np.abs(rates - real).max() < 0.05, (stage, np.round(rates - real, 3))
    sizes, n_labels = {}, {}
    for b in bags:
        sizes[len(b.views)] = sizes.get(len(b.views), 0) + 1
        n_labels[len(b.labels)] = n_labels.get(len(b.labels), 0) + 1
    assert _tv(sizes, facts.BAG_SIZE_HISTOGRAM) < 0.06
    assert _tv(n_labels, facts.LABELS_PER_BAG_HISTOGRAM) < 0.06
    genes = {}
    for b in bags:
        genes[b.gene] = genes.get(b.gene, 0) + 1
    assert max(genes.values()) > 1  # genes span several stages


def test_the_co_occurrence_lift_is_the_real_pair_share_over_the_product_of_label_shares():
    """lift(i, j) = P(i and j) / (P(i) P(j)) at a stage, from the real counts, floored at 0.05
    for pairs the real data never shows. By hand: at stage 2, labels 0 and 1 share 68 of 1387
    bags and occur in 0.6359 and 0.1839 of them: (68 / 1387) / (0.6359 * 0.1839) = 0.4192."""
    assert np.exp(_log_lift(2)[0, 1]) == pytest.approx(0.4192, abs=1e-4)
    for stage in STAGES:
        lift, n = np.exp(_log_lift(stage)), facts.BAGS_PER_STAGE[stage]
        rates = np.array(facts.POSITIVE_RATE_BY_STAGE)[:, STAGES.index(stage)]
        expected = np.full((30, 30), 0.05)
        for (i, j), c in facts.COOCCURRENCE_BY_STAGE[stage].items():
            expected[i, j] = expected[j, i] = max(c / n / (rates[i] * rates[j]), 0.05)
        assert np.allclose(lift, expected, rtol=1e-9), stage


def test_2000_bags_pair_labels_as_the_real_bags_do():
    """The share of a stage's bags holding both labels of a pair follows the real counts
    (correlation over the pairs the real data has, at least 0.85 at every stage; 0.88 to 0.99
    measured over 3 seeds). Drawing labels without the co-occurrence lift, or with weights
    that were not calibrated, falls to 0.6 at some stage: the per-label counts alone, which the
    test above checks and a final swap step enforces, cannot tell."""
    bags = make_bags(2000, seed=11)
    for stage in STAGES:
        at = [b for b in bags if b.stage == stage]
        y = np.zeros((len(at), 30))
        for k, b in enumerate(at):
            y[k, list(b.labels)] = 1
        both = y.T @ y / len(at)
        pairs = facts.COOCCURRENCE_BY_STAGE[stage]
        real = np.array([c / facts.BAGS_PER_STAGE[stage] for c in pairs.values()])
        made = np.array([both[i, j] for i, j in pairs])
        assert np.corrcoef(made, real)[0, 1] >= 0.85, stage


def _shares(counts: dict) -> dict:
    total = sum(counts.values())
    return {k: v / total for k, v in counts.items()}


def test_2000_bags_follow_the_real_stage_view_and_gene_figures():
    """Stages, views and the number of stages a gene spans, as in the real data: shares
    within 0.03 of the real ones and the genes' histogram within total-variation 0.06."""
    bags = make_bags(2000, seed=11)
    stages = _shares(Counter(b.stage for b in bags))
    real = _shares(facts.BAGS_PER_STAGE)
    assert all(abs(stages.get(s, 0) - real[s]) < 0.03 for s in STAGES), (stages, real)
    views = _shares(Counter(view for b in bags for view in b.views))
    real = _shares(facts.VIEW_COUNTS)
    assert all(abs(views.get(v, 0) - real[v]) < 0.03 for v in real), (views, real)
    per_gene = {}
    for b in bags:
        per_gene.setdefault(b.gene, set()).add(b.stage)
    assert all(len(s) == sum(b.gene == g for b in bags) for g, s in per_gene.items())  # a gene once per stage
    spans = Counter(len(s) for s in per_gene.values())
    assert _tv(spans, facts.BAGS_PER_GENE_HISTOGRAM) < 0.06, spans
    n_test = sum(b.split == "test" for b in bags)
    assert n_test == 1000 and len({b.gene_stage for b in bags}) == 2000


def test_stratified_uniforms_put_one_draw_in_each_stratum():
    u = _stratified_uniforms(50, np.random.default_rng(0))
    assert np.array_equal(np.sort(np.floor(u * 50)), np.arange(50))
    assert not np.array_equal(np.floor(u * 50), np.arange(50))  # shuffled


def test_a_first_label_is_drawn_in_proportion_to_its_weight_among_those_the_stage_allows():
    """Before any co-occurrence (no lift), one label a bag: label j with probability
    w_j / (sum of the allowed w), never one the stage does not allow, whatever its weight.
    Stratified uniforms put each share within 1/n of it."""
    from utils.synthetic import RATES, _draw_label_sets
    stage, n = 3, 3000
    allowed = RATES[STAGES.index(stage)] > 0
    assert 0 < allowed.sum() < 30
    w = np.arange(1.0, 31.0)  # weights for every label, the forbidden ones too
    chosen = _draw_label_sets(stage, np.log(w), np.zeros((30, 30)), np.ones(n, dtype=int), np.random.default_rng(0))
    assert (chosen.sum(1) == 1).all()
    expected = np.where(allowed, w, 0) / w[allowed].sum()
    assert np.abs(chosen.mean(0) - expected).max() <= 1.5 / n


def test_a_small_set_gets_each_stages_label_counts_within_one():
    """A demo-sized stage (60 bags) holds each label within one bag of rate x bags, where
    sampling alone would miss by several; every bag keeps at least one label."""
    rng = np.random.default_rng(3)
    for s_i, stage in enumerate(STAGES):
        sets = sample_label_sets(stage, 60, rng)
        counts = np.zeros(30)
        for labels in sets:
            counts[list(labels)] += 1
            assert labels and len(set(labels)) == len(labels)
        target = 60 * np.array([r[s_i] for r in facts.POSITIVE_RATE_BY_STAGE])
        assert np.abs(counts - target).max() <= 1, (stage, np.round(counts - target, 1))
        assert (counts[target == 0] == 0).all()  # a label the stage never carries


def test_labels_per_bag_tilt_the_real_histogram_to_each_stages_mean():
    """P(k labels | stage) is the real histogram times exp(theta k): every count from 1 to the
    real maximum (or to the labels the stage has) keeps a share, log(P / real) is linear in k,
    and the mean is the sum of the stage's label rates."""
    real = facts.LABELS_PER_BAG_HISTOGRAM
    for s_i, stage in enumerate(STAGES):
        rates = np.array([r[s_i] for r in facts.POSITIVE_RATE_BY_STAGE])
        p = labels_per_bag_distribution(stage)
        top = min(max(real), int((rates > 0).sum()))
        ks = np.arange(1, top + 1)
        assert len(p) == max(real) + 1 and p[0] == 0 and (p[top + 1:] == 0).all(), (stage, p)
        assert (p[ks] > 0).all() and p.sum() == pytest.approx(1)
        assert (np.arange(len(p)) * p).sum() == pytest.approx(rates.sum(), abs=1e-6)
        log_ratio = np.log(p[ks] / np.array([real[k] for k in ks]))
        assert np.diff(log_ratio, 2) == pytest.approx(0, abs=1e-9), stage


def test_an_unknown_style_is_refused_with_the_styles_there_are():
    with pytest.raises(ValueError, match=rf"style 'Real' unknown; choose from {re.escape(str(STYLES))}"):
        Renderer(0, "Real")


def test_the_embryo_frame_turns_and_stretches_without_shearing():
    """Points placed by hand: a step t from the centre along the turned long axis lands at
    x = t / (scale W/2), y = 0, and a step u square to it at x = 0, y = u / (scale H/2)."""
    angle, scale, cx, cy = 0.4, 0.9, 150.0, 70.0
    along, across = np.array([np.cos(angle), np.sin(angle)]), np.array([-np.sin(angle), np.cos(angle)])
    t, u = np.array([-120.0, 37.0, 100.0]), np.array([-50.0, 20.0])
    x, y = embryo_frame(cx + t * along[0], cy + t * along[1], angle, scale, cx, cy)
    assert x == pytest.approx(t / (scale * W / 2)) and y == pytest.approx(0, abs=1e-12)
    x, y = embryo_frame(cx + u * across[0], cy + u * across[1], angle, scale, cx, cy)
    assert x == pytest.approx(0, abs=1e-12) and y == pytest.approx(u / (scale * H / 2))


@pytest.mark.parametrize("style", STYLES)
def test_embryos_tilt_a_few_degrees_either_way(style):
    """The renderer tilts each embryo by an angle drawn from N(0, 2 degrees): the long axis of
    the embryo's mask (its second moments) spreads by that much, both ways."""
    from utils.realism import embryo_mask

    renderer, tilts = Renderer(0, style), []
    for k in range(24):
        rows, cols = np.nonzero(embryo_mask(renderer.render(4, (), "lateral", np.random.default_rng(k))))
        dx, dy = cols - cols.mean(), rows - rows.mean()
        tilts.append(np.degrees(0.5 * np.arctan2(2 * (dx * dy).mean(), (dx * dx).mean() - (dy * dy).mean())))
    assert 1.2 < np.std(tilts) < 3.0 and min(tilts) < -1 and max(tilts) > 1, np.round(tilts, 2)


@pytest.mark.parametrize("style, squeeze", [("clean", 1.1), ("real", 1.03)])
def test_an_embryo_seen_from_above_or_below_is_narrower_across_than_from_the_side(style, squeeze):
    """Dorsal and ventral views squeeze the embryo across (y) by the renderer's factor and keep
    its length: drawn with the same random draws, the mask's spread of rows shrinks by it."""
    from utils.realism import embryo_mask

    renderer = Renderer(0, style)
    for k in range(6):
        spread = {}
        for view in ("lateral", "dorsal", "ventral"):
            rows, cols = np.nonzero(embryo_mask(renderer.render(4, (), view, np.random.default_rng(k))))
            spread[view] = rows.std(), cols.std()
        for view in ("dorsal", "ventral"):
            across, along = np.divide(spread[view], spread["lateral"])
            # + 0.01: an embryo that touches the frame's top and bottom loses some of its lateral spread
            assert 1 / squeeze - 0.003 < across < 1 / squeeze + 0.01 and abs(along - 1) < 0.01, (k, view, across, along)


def test_the_germ_bands_segmented_outline_shows_from_stage_5_on():
    """From stage 5 (stages 11-12) the outline ripples where the germ band lies: drawn with the
    same random draws, stages 2-4 give the same image, and so do 5 and 6; the stage-5 mask
    differs from the stage-4 one in a few pixels, each within 2 pixels of its outline."""
    from scipy.ndimage import binary_dilation, binary_erosion

    from utils.realism import embryo_mask

    renderer = Renderer(0, "clean")
    for k in range(3):
        image = {stage: renderer.render(stage, (), "lateral", np.random.default_rng(k)) for stage in STAGES}
        assert np.array_equal(image[2], image[3]) and np.array_equal(image[2], image[4])
        assert np.array_equal(image[5], image[6])
        before, after = embryo_mask(image[4]), embryo_mask(image[5])
        outline = binary_dilation(before, iterations=2) & ~binary_erosion(before, iterations=2)
        changed = before ^ after
        assert 50 < changed.sum() < 0.02 * before.sum() and not (changed & ~outline).any(), (k, changed.sum())


@pytest.mark.parametrize("style", STYLES)
def test_each_labels_stain_lies_in_its_region(style):
    """A single-blob label, drawn alone on the same embryos, darkens the image at its region
    of `_REGIONS` (lateral coordinates, anterior left), not at the mirror image of it."""
    renderer = Renderer(0, style)
    for label, regions in _REGIONS.items():
        if len(regions) != 1 or regions[0][0] != "blob":
            continue
        _, x0, y0, hw, hh, _ = regions[0]
        darker = np.zeros((H, W))
        for k in range(12):
            plain = renderer.render(4, (), "lateral", np.random.default_rng([label, k]))[..., 0]
            stained = renderer.render(4, (label,), "lateral", np.random.default_rng([label, k]))[..., 0]
            darker += (plain.astype(float) - stained) / 12

        def at(x, y):  # mean darkening in the inner half of the region's box
            cols = slice(int((x - hw / 2 + 1) * W / 2), int((x + hw / 2 + 1) * W / 2) + 1)
            rows = slice(int((y - hh / 2 + 1) * H / 2), int((y + hh / 2 + 1) * H / 2) + 1)
            return darker[rows, cols].mean()

        elsewhere = [at(-x0, y0)] + ([at(x0, -y0)] if abs(y0) > hh else [])
        assert at(x0, y0) > 8 and at(x0, y0) > 2 * max(*elsewhere, 1.0), (style, label, at(x0, y0), elsewhere)


def _embryo_coordinates(renderer):
    """x and y in [-1, 1] across the image, and the radius of a plain embryo, as `_label_stain` takes them."""
    x, y = (renderer.xx - W / 2) / (W / 2), (renderer.yy - H / 2) / (H / 2)
    return x, y, np.abs(x) ** 2.8 + np.abs(y) ** 2.2


@pytest.mark.parametrize("style", STYLES)
def test_a_striped_labels_stain_repeats_along_the_embryo_and_a_blobs_does_not(style):
    """Stripe regions repeat every 0.11 to 0.15 of the embryo's half-length (the segmented
    pattern of pair-rule genes): that band holds a good share of the power of the stain's
    profile along the embryo for every striped label (0.25 to 0.41 measured), and little for a
    blob label (at most 0.03, for the narrowest)."""
    renderer = Renderer(0, style)
    x, y, r = _embryo_coordinates(renderer)
    freqs = np.fft.rfftfreq(W)  # cycles per pixel
    band = (freqs >= 1 / (0.16 * W / 2)) & (freqs <= 1 / (0.10 * W / 2))
    rng = np.random.default_rng(3)
    for kind in ("stripes", "blob"):
        labels = [k for k, regions in _REGIONS.items() if {region[0] for region in regions} == {kind}]
        assert len(labels) >= 4, kind
        for label in labels:
            stains = [renderer._label_stain(label, 4, "lateral", x, y, r, rng) for _ in range(10)]
            profiles = [s.sum(0) - s.sum(0).mean() for s in stains if s.any()]
            power = [np.abs(np.fft.rfft(p)) ** 2 for p in profiles]
            share = np.mean([p[band].sum() / p.sum() for p in power])
            assert (share > 0.15) if kind == "stripes" else (share < 0.08), (style, label, share)


def _shown_stain(renderer, label, view, rng):
    """One image's stain of `label` alone, drawn again until the image shows it."""
    x, y, r = _embryo_coordinates(renderer)
    while not (stain := renderer._label_stain(label, 4, view, x, y, r, rng)).any():
        pass
    return stain


def _flat_top(line) -> float:
    """Width above 0.9 of the peak over width above 0.1: 0.214 for exp(-u^2), 0.462 for exp(-u^4)."""
    return (line >= 0.9 * line.max()).sum() / (line >= 0.1 * line.max()).sum()


def test_each_kind_of_region_has_its_shape():
    """A blob peaks at its centre and falls off as a Gaussian both ways; a band is flat-topped
    along the embryo (exp(-u^4)) and Gaussian across; a cap is Gaussian along and flat-topped
    across; stripes fall to 0.35 of a crest between crests; a global stain stays within
    0.9 +- 0.1 times a coarse texture everywhere. Each label alone, lateral view, 6 images."""
    renderer = Renderer(0, "clean")
    x, y, _ = _embryo_coordinates(renderer)
    rng = np.random.default_rng(7)
    for label, regions in _REGIONS.items():
        if len(regions) > 1:
            continue
        kind, x0, y0 = regions[0][:3]
        for _ in range(6):
            stain = _shown_stain(renderer, label, "lateral", rng)
            row, col = np.unravel_index(np.argmax(stain), stain.shape)
            if kind in ("blob", "band", "cap"):
                assert abs(x[row, col] - x0) < 0.2 and abs(y[row, col] - y0) < 0.2, (label, x[row, col], y[row, col])
                if kind != "cap":  # a cap's profile along the embryo is cut by the frame's edge
                    assert (_flat_top(stain[row]) > 0.4) == (kind == "band"), (label, _flat_top(stain[row]))
                assert (_flat_top(stain[:, col]) > 0.4) == (kind == "cap"), (label, _flat_top(stain[:, col]))
            elif kind == "stripes":  # a period is 0.11 to 0.15 of the half-length: at most 24 pixels
                around = stain[row, max(col - 13, 0):col + 14]
                assert around.min() / around.max() == pytest.approx(0.35, abs=0.02), label
            elif kind == "global":
                assert 0.4 < (stain / np.median(stain)).min() and (stain / np.median(stain)).max() < 1.6, label


@pytest.mark.parametrize("label, view", [(24, "dorsal"), (23, "ventral")])
def test_a_sided_region_seen_from_its_side_is_centred_across_and_wider(label, view):
    """Seen from above (or below), a dorsal (or ventral) blob moves to the middle across the
    embryo and widens 1.6 times: drawn with the same random draws as in the lateral view, the
    stain's profile across centres on y = 0 and its spread grows 1.6 times; along, nothing moves."""
    renderer = Renderer(0, "clean")
    rows, cols = np.arange(H) - (H - 1) / 2, np.arange(W) - (W - 1) / 2
    for k in range(5):
        spread = {}
        for v in ("lateral", view):
            stain = _shown_stain(renderer, label, v, np.random.default_rng(k))
            across, along = stain.sum(1) / stain.sum(), stain.sum(0) / stain.sum()
            centre = (across * rows).sum()
            spread[v] = np.sqrt((across * (rows - centre) ** 2).sum()), (along * cols).sum(), centre
        assert abs(spread[view][2]) < 0.1 * H / 2 < abs(spread["lateral"][2]), (k, spread)
        assert spread[view][0] / spread["lateral"][0] == pytest.approx(1.6, abs=0.05), (k, spread)
        assert spread[view][1] == pytest.approx(spread["lateral"][1], abs=0.5), (k, spread)


@pytest.mark.parametrize("style, facing, hidden", [("clean", 0.8, 0.2), ("real", 0.6, 0.15)])
def test_a_labels_stain_shows_in_the_share_of_images_its_style_says(style, facing, hidden):
    """The real style shows a label's stain in fewer of a bag's images (the Renderer's
    docstring): a dorsal label shows with probability 0.8 clean, 0.6 real when its side faces
    us (lateral view), 0.2 and 0.15 when it is hidden (ventral view). 4,000 draws each: the
    binomial standard deviation is at most 0.008."""
    label = 24  # a single dorsal blob
    assert [region[-1] for region in _REGIONS[label]] == ["dorsal"]
    renderer = Renderer(0, style)
    x, y, r = _embryo_coordinates(renderer)
    rng = np.random.default_rng(5)
    for view, expected in (("lateral", facing), ("ventral", hidden)):
        shown = np.mean([renderer._label_stain(label, 4, view, x, y, r, rng).any() for _ in range(4000)])
        assert abs(shown - expected) < 0.03, (style, view, shown, expected)


def test_a_dotted_labels_stain_scatters_over_its_whole_region():
    """A "dots" region is 8 to 24 spots at uniform places in its box (half-width hw, half-height
    hh, drawn at 0.95 of the half-frame, each scaled by U(0.8, 1.2)), each blurred by a Gaussian
    of sigma 2.5 pixels. So the stain's weighted spread along each axis has the variance of n
    uniform points, (n - 1) / n * (0.95 * h * half-frame)^2 / 3 * E[U^2], plus 2.5^2, with
    E[U^2] = (1.2^3 - 0.8^3) / (3 * 0.4); and it centres on the region (jittered by 0.04)."""
    (label, [(_, x0, y0, hw, hh, side)]), = [(k, r) for k, r in _REGIONS.items() if r[0][0] == "dots"]
    assert side == "all"
    renderer = Renderer(0, "clean")
    x, y, r = _embryo_coordinates(renderer)
    rng = np.random.default_rng(11)
    rows, cols = np.mgrid[0:H, 0:W].astype(float)
    spread, centre = [], []
    while len(spread) < 300:
        stain = renderer._label_stain(label, 4, "lateral", x, y, r, rng).astype(float)
        if stain.any():
            w = stain / stain.sum()
            mean = ((w * cols).sum(), (w * rows).sum())
            spread.append(((w * (cols - mean[0]) ** 2).sum(), (w * (rows - mean[1]) ** 2).sum()))
            centre.append(mean)
    shrink = np.mean([(n - 1) / n for n in range(8, 25)]) * (1.2 ** 3 - 0.8 ** 3) / (3 * 0.4)
    expected = [shrink * (0.95 * h * half) ** 2 / 3 + 2.5 ** 2 for h, half in ((hw, W / 2), (hh, H / 2))]
    assert np.mean(spread, axis=0) == pytest.approx(expected, rel=0.1)
    assert np.mean(centre, axis=0) == pytest.approx([(x0 * 0.95 + 1) * W / 2, (y0 * 0.95 + 1) * H / 2], abs=2)


def test_yolk_granules_centre_on_the_frame_with_their_drawn_spread():
    """A granule sits at ((g + 1) / 2) of the frame for g ~ N(0, s) clipped to +-c (s, c = 0.4, 0.9
    across, 0.35, 0.8 down), then blurred (sigma 0.8 px): its spread is the clipped normal's,
    s^2 (2 Phi(a) - 1 - 2 a phi(a)) + 2 (1 - Phi(a)) c^2 with a = c / s, in pixels, plus 0.8^2
    and 1/12 for the whole-pixel cut; its centre is the frame's, half a pixel up and left."""
    from scipy.stats import norm

    renderer, rng = Renderer(0, "real"), np.random.default_rng(3)
    rows, cols = np.mgrid[0:H, 0:W].astype(float)
    centre, spread = [], []
    for _ in range(30):
        g = renderer._granules(None, None, rng).astype(float)
        assert 40 * 30 < g.sum() < 90 * 160  # 40 to 160 specks (a few may share a pixel) of 40 to 90 grey levels
        w = g / g.sum()
        mean = ((w * cols).sum(), (w * rows).sum())
        centre.append(mean)
        spread.append(((w * (cols - mean[0]) ** 2).sum(), (w * (rows - mean[1]) ** 2).sum()))

    def clipped(s, c):
        a = c / s
        return s ** 2 * (2 * norm.cdf(a) - 1 - 2 * a * norm.pdf(a)) + 2 * norm.sf(a) * c ** 2

    expected = [clipped(s, c) * (half ** 2) + 0.8 ** 2 + 1 / 12 for s, c, half in ((0.4, 0.9, W / 2), (0.35, 0.8, H / 2))]
    assert np.mean(spread, axis=0) == pytest.approx(expected, rel=0.1)
    assert np.mean(centre, axis=0) == pytest.approx([W / 2 - 0.5, H / 2 - 0.5], abs=2)


@pytest.mark.parametrize("relief", ["_folds", "_granules"])
def test_folds_and_granules_darken_the_tissue(relief, monkeypatch):
    """A fold or a granule field of 40 grey levels over a patch of the embryo, drawn with the
    same random draws as none at all, darkens that patch in every channel by 40 grey levels
    times the shading (near 1 mid-embryo; 38 to 40 measured), never lightens it."""
    patch = (slice(50, 78), slice(120, 200))
    field = np.zeros((H, W), dtype=np.float32)
    field[patch] = 40.0
    def none(self, *args):
        return np.zeros((H, W), dtype=np.float32)

    def patched(self, *args):
        return field

    for name in ("_folds", "_granules"):
        monkeypatch.setattr(Renderer, name, none)
    renderer = Renderer(0, "real")
    for k in range(4):
        plain = renderer.render(4, (), "lateral", np.random.default_rng(k)).astype(float)
        monkeypatch.setattr(Renderer, relief, patched)
        darker = renderer.render(4, (), "lateral", np.random.default_rng(k)).astype(float)
        monkeypatch.setattr(Renderer, relief, none)
        inner = (slice(54, 74), slice(124, 196))  # clear of the blur at the patch's edges
        change = (darker - plain)[inner].mean(axis=(0, 1))
        assert (-44 < change).all() and (change < -30).all(), (k, change)


def test_the_solution_files_give_each_images_view_in_the_order_of_its_bags_images(tmp_path):
    import csv
    folder = generate(tmp_path / "d", n_bags=20, seed=5, workers=1)
    views = {}
    for name in ("solution/test_labels.csv", "solution/train_views.csv"):
        with open(folder / name) as f:
            views |= {row["gene_stage"]: tuple(row["views"].split()) for row in csv.DictReader(f)}
    comp = read_competition(folder, check_images=False)
    assert sorted(views) == sorted(b.gene_stage for b in comp.train + comp.test)
    for bag in make_bags(20, seed=5):
        assert views[bag.gene_stage] == tuple(bag.views) and set(bag.views) <= {"lateral", "dorsal", "ventral"}
    for bag in comp.train + comp.test:
        assert len(views[bag.gene_stage]) == len(bag.images)


def test_hidden_test_targets_are_the_generated_labels_in_the_order_asked(tmp_path):
    folder = generate(tmp_path / "d", n_bags=20, seed=5, workers=1)
    test = [b for b in make_bags(20, seed=5) if b.split == "test"][::-1]  # not the file's order
    got = hidden_test_targets(folder, [b.gene_stage for b in test])
    assert got.shape == (len(test), 30) and got.dtype == np.int64
    for row, bag in zip(got, test):
        assert np.flatnonzero(row).tolist() == sorted(bag.labels)
    assert hidden_test_targets(tmp_path, ["anything"]) is None  # a real folder has no solution/
