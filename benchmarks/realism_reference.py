"""The real images' realism statistics, as embedded in utils/facts.py (REAL_IMAGE_STATS).

Reads the sheet of 12 real FlyExpress images (3 columns x 4 rows of 320x128) from the
shared reference folder, where present, and prints the quantiles of each statistic of
utils.realism. The figures go into the project; the images never do.

    python benchmarks/realism_reference.py [--sheet ../shared/reference/real_flyexpress_images.png]
"""
import argparse
import json
from pathlib import Path

from utils.realism import quantiles, reference_tiles, set_statistics

DEFAULT = Path(__file__).resolve().parents[2] / "shared/reference/real_flyexpress_images.png"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sheet", type=Path, default=DEFAULT)
    args = parser.parse_args()
    if not args.sheet.exists():
        raise SystemExit(f"{args.sheet} not found: the reference sheet is outside the project")
    tiles = reference_tiles(args.sheet)
    stats = set_statistics(tiles)
    print(f"# {len(tiles)} real images; samples per statistic: "
          + ", ".join(f"{k} {len(v)}" for k, v in stats.items()))
    print("REAL_IMAGE_STATS = " + json.dumps(quantiles(stats), indent=4))


if __name__ == "__main__":
    main()
