"""What reserving a memory map's disk space costs: the image cache's array at the real size
(34,672 images of 128x320, 1.42 GB) filled in the cache's chunks of 256 images, as a plain
sparse memory map (the kit before) and as `utils.atomic.reserved_memmap` (the kit), taking
turns so that both meet the same disk. Each fill is flushed to disk and the file removed
before the next.

    python benchmarks/reserved_memmap.py [--images 34672] [--repeats 3] [--dir DIR]
"""
import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from utils.atomic import reserved_memmap
from utils.cache import DECODE_CHUNK
from utils.facts import IMAGE_HW


def fill(path: Path, n_images: int, reserve: bool) -> float:
    start = time.perf_counter()
    shape = (n_images, *IMAGE_HW)
    if reserve:
        array = reserved_memmap(path, np.uint8, shape)
    else:
        array = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=shape)
    chunk = np.full((DECODE_CHUNK, *IMAGE_HW), 7, np.uint8)
    for row in range(0, n_images, DECODE_CHUNK):
        array[row:row + DECODE_CHUNK] = chunk[:n_images - row]
    array.flush()
    del array
    seconds = time.perf_counter() - start
    path.unlink()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=34672)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="a folder on the disk to measure (default: the temp folder)")
    args = parser.parse_args()
    times = {"plain": [], "reserved": []}
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        for _ in range(args.repeats):
            for name in times:
                times[name].append(fill(Path(folder) / "cache.npy", args.images, name == "reserved"))
    gb = args.images * IMAGE_HW[0] * IMAGE_HW[1] / 1e9
    for name, seconds in times.items():
        print(f"{name:9s} {gb:.2f} GB: " + ", ".join(f"{s:.2f}" for s in seconds) + " s")
    ratio = np.median(times["reserved"]) / np.median(times["plain"])
    print(f"reserved / plain, medians: {ratio:.2f}")


if __name__ == "__main__":
    main()
