"""Figures shared by the notebooks: saving, and sheets of sample images."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg") if "ipykernel" not in sys.modules else None
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from .labels import STAGES  # noqa: E402


def save_figure(fig, path) -> Path:
    """Save as PNG (creating the folder) and show it when running in a notebook."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    if "ipykernel" in sys.modules:
        plt.show()
    plt.close(fig)
    return path


def sample_sheet(comp, per_stage: int = 3, seed: int = 0):
    """A grid of train images: one row per stage, each titled with its bag's labels."""
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(STAGES), per_stage, figsize=(3.2 * per_stage, 1.6 * len(STAGES)))
    for r, stage in enumerate(STAGES):
        bags = [b for b in comp.train if b.stage == stage]
        picks = rng.choice(len(bags), size=min(per_stage, len(bags)), replace=False) if bags else []
        for c in range(per_stage):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(picks):
                bag = bags[picks[c]]
                img = Image.open(comp.image_path("train", bag.images[0])).convert("RGB")
                ax.imshow(img)
                ax.set_title(f"s{stage}: " + ", ".join(comp.terms[i][:18] for i in bag.labels[:3]),
                             fontsize=6)
    return fig


def realism_sheet(comp, reference_image, n: int = 12, seed: int = 0):
    """Generated images (left) beside a sheet of real FlyExpress images (right)."""
    rng = np.random.default_rng(seed)
    bags = [comp.train[i] for i in rng.choice(len(comp.train), size=n, replace=False)]
    tiles = [np.asarray(Image.open(comp.image_path("train", b.images[0])).convert("RGB")) for b in bags]
    rows = [np.concatenate(tiles[i:i + 3], 1) for i in range(0, n, 3)]
    fig, axes = plt.subplots(1, 2, figsize=(16, 5.5))
    axes[0].imshow(np.concatenate(rows, 0))
    axes[0].set_title("generated (utils.synthetic)")
    axes[1].imshow(Image.open(reference_image).convert("RGB"))
    axes[1].set_title("real FlyExpress")
    for ax in axes:
        ax.axis("off")
    return fig


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.plots",
                                     description="Save generated images beside a real reference sheet.")
    parser.add_argument("--data", required=True, help="a competition folder (e.g. demo data)")
    parser.add_argument("--reference", required=True, help="PNG of real images")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    from .data import read_competition

    print(save_figure(realism_sheet(read_competition(args.data, check_images=False), args.reference),
                      args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
