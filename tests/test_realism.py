"""The realism check: its KS distance against scipy, its embryo mask against a drawn ellipse,
the embedded real figures against the script that made them, and its verdicts on the
generator's two styles: "clean" (tissue without the real cell texture, embryos that fill
less of the frame) fails, "real" passes every statistic with the same bags and labels."""
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from utils.facts import REAL_IMAGE_STATS
from utils.synthetic import generate
from utils.realism import (QUANTILES, STATISTICS, _high_frequency_share, _windows_inside, compare, embryo_mask,
                           folder_images, image_statistics, ks_to_quantiles, quantiles, reference_tiles,
                           set_statistics)

SHEET = Path(__file__).resolve().parents[2] / "shared/reference/real_flyexpress_images.png"


def test_ks_to_quantiles_equals_scipys_one_sample_test_on_the_interpolated_cdf():
    rng = np.random.default_rng(0)
    q = np.quantile(rng.normal(size=5000), QUANTILES)
    for sample in (rng.normal(size=300), rng.normal(0.3, 1.2, size=500), rng.uniform(-5, 5, 50)):
        expected = stats.kstest(sample, lambda x: np.interp(x, q, QUANTILES, left=0.0, right=1.0)).statistic
        assert ks_to_quantiles(sample, q) == pytest.approx(expected, abs=1e-12)
    assert ks_to_quantiles(np.full(10, 100.0), q) == 1.0  # all beyond the reference
    assert ks_to_quantiles(np.array([]), q) == 1.0


def test_the_embryo_mask_finds_a_drawn_ellipse_and_ignores_specks():
    img = np.full((128, 320, 3), 255, np.uint8)
    yy, xx = np.mgrid[:128, :320]
    inside = ((yy - 64) / 55) ** 2 + ((xx - 160) / 150) ** 2 <= 1
    img[inside] = (200, 190, 170)           # beige tissue
    img[60:68, 150:170] = (255, 255, 255)   # a pale spot inside stays embryo
    img[5, 5] = (0, 0, 0)                   # a speck outside does not count
    img[2:12, 2:12] = (120, 110, 100)       # nor a smaller blob, found before the embryo
    mask = embryo_mask(img)
    assert abs(mask.mean() - inside.mean()) < 0.01
    assert mask[64, 160] and not mask[5, 5] and not mask[6, 6]
    img[2:12, 2:12] = 255
    img[inside] = (250, 240, 234)           # pale tissue: no darker than the background's floor,
    assert abs(embryo_mask(img).mean() - inside.mean()) < 0.01  # but coloured
    img[inside] = (240, 240, 240)           # a grey as pale is background
    assert not embryo_mask(img).any()


def _two_coloured_embryo():
    """An ellipse, beige tissue (200, 190, 170) left of x = 192 and blue stain (150, 150, 210)
    right of it: every 8x8 window inside lies wholly in one colour (192 is a multiple of 8)."""
    img = np.full((128, 320, 3), 255, np.uint8)
    yy, xx = np.mgrid[:128, :320]
    inside = ((yy - 64) / 55) ** 2 + ((xx - 160) / 150) ** 2 <= 1
    img[inside & (xx < 192)] = (200, 190, 170)
    img[inside & (xx >= 192)] = (150, 150, 210)
    return img, inside


def test_each_statistic_on_a_two_coloured_embryo_is_what_its_definition_gives():
    img, inside = _two_coloured_embryo()
    out = image_statistics(img, np.random.default_rng(0))
    assert out["share_of_frame"][0] == pytest.approx(inside.mean(), abs=0.01)
    lightness, blueness = np.array(out["lightness"]), np.array(out["blueness"])
    assert len(lightness) == len(blueness) == 2000  # one sample per drawn pixel
    tissue = np.isclose(lightness, 560 / 3)  # (200 + 190 + 170) / 3
    assert (tissue | np.isclose(lightness, 170)).all() and 0.5 < tissue.mean() < 0.8
    assert np.allclose(blueness[tissue], 170 - 195) and np.allclose(blueness[~tissue], 210 - 150)
    assert np.allclose(out["local_contrast"], 0, atol=1e-3)  # no window straddles a colour edge
    # the lightest half of the windows (grey 190.7 against 156.8) is the unstained tissue
    n_tissue, n_windows = len(out["tissue_blueness"]), len(out["local_contrast"])
    assert n_windows / 2 <= n_tissue < n_windows and np.allclose(out["tissue_blueness"], -25)


def test_the_windows_inside_a_mask_reach_its_last_row_and_column():
    mask = np.ones((16, 24), bool)
    assert _windows_inside(mask, 8) == [(0, 0), (0, 8), (0, 16), (8, 0), (8, 8), (8, 16)]
    mask[15, 3] = False  # one pixel outside: the window holding it goes
    assert _windows_inside(mask, 8) == [(0, 0), (0, 8), (0, 16), (8, 8), (8, 16)]


def test_an_embryo_smaller_than_the_sample_gives_each_of_its_pixels_once():
    img, _ = _two_coloured_embryo()
    inside = img[embryo_mask(img)].astype(np.float32)
    out = image_statistics(img, np.random.default_rng(0), pixels=len(inside) + 1000)
    assert np.array_equal(np.sort(out["lightness"]), np.sort(inside.mean(axis=1)))  # no pixel twice


def test_the_high_frequency_share_is_the_power_above_a_quarter_of_nyquist():
    # Its definition with frequencies from np.fft.fftfreq, not the shifted grid's indices:
    # "above" a quarter of the Nyquist frequency (16 cycles a patch) is above radius 4.
    n, x = 32, np.arange(32)

    def share(patch):
        f = np.fft.fftfreq(n, d=1 / n)
        radius = np.hypot(f[:, None], f[None, :])
        power = np.abs(np.fft.fft2((patch - patch.mean()) * np.outer(np.hanning(n), np.hanning(n)))) ** 2
        return power[radius > n / 8].sum() / power[radius > 0].sum()

    rng = np.random.default_rng(0)
    stripes = {k: np.tile(100 + 50 * np.cos(2 * np.pi * k * x / n), (n, 1)) for k in (2, 4, 8)}
    for patch in [*stripes.values(), stripes[4].T, rng.normal(0, 1, (n, n)), rng.normal(0, 1, (n, n)).cumsum(1)]:
        assert _high_frequency_share(patch) == pytest.approx(share(patch), rel=1e-9)
    assert _high_frequency_share(stripes[2]) < 0.01 and _high_frequency_share(stripes[8]) > 0.99
    assert _high_frequency_share(np.full((n, n), 7.0)) == 0.0  # no power at all


def test_a_statistic_passes_at_a_distance_of_at_most_max_ks():
    # Against a reference lying wholly below every sample, each KS distance is exactly 1.
    img, _ = _two_coloured_embryo()
    far_below = {k: np.linspace(-2e9, -1e9, len(QUANTILES)).tolist() for k in STATISTICS}
    assert compare([img], far_below, max_ks=1.0)["pass"].all()
    assert not compare([img], far_below, max_ks=0.999)["pass"].any()


def test_the_embedded_real_figures_are_what_the_script_computes():
    assert set(REAL_IMAGE_STATS) == set(STATISTICS)
    for k, q in REAL_IMAGE_STATS.items():
        assert len(q) == len(QUANTILES) and np.all(np.diff(q) >= 0), k
    if not SHEET.exists():
        pytest.skip("the reference sheet lives outside the project")
    computed = quantiles(set_statistics(reference_tiles(SHEET)))
    assert set(computed) == set(REAL_IMAGE_STATS)
    # Figures are embedded to 4 decimals; another CPU's float sums can flip the last one (an
    # AMD EPYC computes 22.5443 where the embedded figure says 22.5442), so one unit is allowed.
    for k, q in REAL_IMAGE_STATS.items():
        np.testing.assert_allclose(computed[k], q, rtol=0, atol=1.5e-4, err_msg=k)


def test_a_sheet_is_cut_into_its_tiles_row_by_row(tmp_path):
    # The embedded figures come from the reference sheet (outside the project, so the test
    # above is skipped in CI); the cutting is checked here on a drawn 2 x 3 sheet of 4 x 5 tiles.
    from PIL import Image
    tiles = [np.full((4, 5, 3), 40 * k, np.uint8) for k in range(6)]
    for k, tile in enumerate(tiles):
        tile[k % 4, k % 5] = 255  # a mark, so no two tiles are alike
    sheet = np.concatenate([np.concatenate(tiles[r * 3:(r + 1) * 3], axis=1) for r in range(2)], axis=0)
    Image.fromarray(sheet).save(tmp_path / "sheet.png")
    cut = reference_tiles(tmp_path / "sheet.png", rows=2, cols=3)
    assert len(cut) == 6 and all(np.array_equal(a, b) for a, b in zip(cut, tiles))


def test_the_clean_style_is_not_realistic(demo_dir):
    table = compare(folder_images(demo_dir, 120), REAL_IMAGE_STATS).set_index("statistic")
    failed = set(table.index[~table["pass"]])
    assert {"share_of_frame", "tissue_contrast", "tissue_gradient"} <= failed, table
    assert (table.ks >= 0).all() and (table.ks <= 1).all()


def test_the_command_line_names_what_is_not_realistic(train_images_only, capsys):
    """It decodes the images it samples alone: a folder without its test images will do."""
    from utils.realism import main

    assert main([str(train_images_only), "--images", "40"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert "not realistic:" in lines[-1] and "share_of_frame" in lines[-1]
    rows = lines[1:-1]  # under the header, one row a statistic, its name first
    assert [row.split()[0] for row in rows] == list(STATISTICS)


@pytest.fixture(scope="module")
def styles(tmp_path_factory):
    root = tmp_path_factory.mktemp("styles")
    return {style: generate(root / style, n_bags=80, seed=0, workers=1, style=style) for style in ("clean", "real")}


def test_the_real_style_passes_every_statistic(styles):
    table = compare(folder_images(styles["real"], 150), REAL_IMAGE_STATS)
    assert table["pass"].all(), table


def test_the_style_changes_the_pixels_not_the_bags_or_labels(styles):
    for name in ["train/train.csv", "test/test_without_label.csv", "solution/test_labels.csv"]:
        assert (styles["clean"] / name).read_bytes() == (styles["real"] / name).read_bytes(), name
    image = "train/train/" + sorted(p.name for p in (styles["real"] / "train/train").iterdir())[0]
    assert (styles["clean"] / image).read_bytes() != (styles["real"] / image).read_bytes()
    with pytest.raises(ValueError, match="style 'photo' unknown"):
        generate(styles["real"].parent / "x", n_bags=4, style="photo")
