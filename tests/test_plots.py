"""The notebooks' shared figures: saved where asked and released, the sample sheet shows each
stage's own bags under their own labels, and the realism sheet puts generated beside real."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
from PIL import Image

from utils.data import read_competition
from utils.labels import STAGES
from utils.plots import realism_sheet, sample_sheet, save_figure


def _pixels(comp, bag):
    return np.asarray(Image.open(comp.image_path("train", bag.images[0])).convert("RGB"))


def test_save_figure_makes_the_folder_writes_a_png_and_releases_the_figure(tmp_path):
    fig, ax = plt.subplots(figsize=(2, 1))
    ax.plot([0, 1], [1, 0])
    path = save_figure(fig, tmp_path / "figures/nested/plot.png")
    assert path == tmp_path / "figures/nested/plot.png"
    with Image.open(path) as img:
        assert img.format == "PNG" and img.width > img.height > 0
    assert fig.number not in plt.get_fignums()  # a chain of notebooks does not pile up figures


def test_sample_sheet_shows_each_stages_own_bags_under_their_labels(demo_dir):
    comp = read_competition(demo_dir, check_images=False)
    fig = sample_sheet(comp, per_stage=3, seed=0)
    axes = np.array(fig.axes).reshape(len(STAGES), 3)
    for row, stage in zip(axes, STAGES):
        bags = [(b, _pixels(comp, b)) for b in comp.train if b.stage == stage]
        shown = []
        for ax in row:
            if not ax.images:
                continue
            pixels = ax.images[0].get_array()
            bag = next(b for b, first in bags if np.array_equal(first, pixels))  # one of this stage's
            terms = ", ".join(comp.terms[i][:18] for i in bag.labels[:3])
            assert ax.get_title() == f"s{stage}: {terms}"
            shown.append(bag.gene_stage)
        assert len(shown) == min(3, len(bags)) == len(set(shown))  # as many as asked, none twice
    plt.close(fig)


def test_realism_sheet_puts_generated_tiles_beside_the_reference(demo_dir, tmp_path):
    comp = read_competition(demo_dir, check_images=False)
    reference = tmp_path / "real.png"
    Image.fromarray(np.full((50, 80, 3), 7, dtype=np.uint8)).save(reference)
    n_rows = len(comp.train) // 3  # nearly every training bag: one drawn twice would show
    fig = realism_sheet(comp, reference, n=3 * n_rows, seed=0)
    left, right = (ax.images[0].get_array() for ax in fig.axes)
    h, w, _ = _pixels(comp, comp.train[0]).shape
    assert n_rows >= 4 and left.shape == (n_rows * h, 3 * w, 3)  # 3 tiles to a row
    tiles = [left[r * h:(r + 1) * h, c * w:(c + 1) * w] for r in range(n_rows) for c in range(3)]
    firsts = [_pixels(comp, b) for b in comp.train]
    shown = [next(i for i, f in enumerate(firsts) if np.array_equal(t, f)) for t in tiles]  # each a bag's image
    assert len(set(shown)) == len(tiles)  # no bag twice
    assert np.array_equal(right, np.full((50, 80, 3), 7))
    plt.close(fig)


def test_python_dash_m_utils_plots_saves_the_realism_sheet(train_images_only, tmp_path, capsys):
    """It decodes the training images it shows alone: a folder without its test images will do."""
    from utils.plots import main

    reference = tmp_path / "real.png"
    Image.fromarray(np.full((50, 80, 3), 7, dtype=np.uint8)).save(reference)
    out = tmp_path / "figures/realism.png"
    assert main(["--data", str(train_images_only), "--reference", str(reference), "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    with Image.open(out) as img:
        assert img.format == "PNG" and img.width > img.height
    given = {"--data": str(train_images_only), "--reference": str(reference), "--out": str(out)}
    for missing in given:  # each of the three is needed: argparse's usage, no traceback
        with pytest.raises(SystemExit) as stop:
            main([word for flag, value in given.items() if flag != missing for word in (flag, value)])
        assert stop.value.code == 2 and f"required: {missing}" in capsys.readouterr().err
