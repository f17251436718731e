"""Decode every image once into one memory-mapped uint8 array.

The paper's code opens and decodes each BMP with PIL for every image of every epoch.
Here the whole competition (train and test) is decoded once into
`<work_dir>/cache/images-<mode>-<fingerprint>.npy`, grayscale (N, 128, 320) or RGB
(N, 128, 320, 3), and memory-mapped on reuse. The fingerprint covers every image's
name, size and modification time, so changing, adding or removing an image rebuilds it.
The file's disk space is reserved before any image is decoded: a disk too small for it is
an error naming both sizes, not a process killed half-way.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
from PIL import Image

from .atomic import atomic_path, remove_abandoned_partials, reserved_memmap
from .data import Competition, DataError
from .facts import IMAGE_HW
from .parallel import chunked_map
from .progress import progress as progress_bar
from .rundir import read_json


@dataclass
class ImageCache:
    """Row lookup of (split, image name) into a (N, H, W[, 3]) uint8 array."""

    array: np.ndarray
    index: dict[tuple[str, str], int]
    path: Path
    resized: int = 0  # images of another size that were resized on the way in

    def rows(self, split: str, names) -> np.ndarray:
        return np.array([self.index[(split, n)] for n in names], dtype=np.int64)

    def bag_rows(self, bags) -> list[np.ndarray]:
        return [self.rows(b.split, b.images) for b in bags]

    def __len__(self) -> int:
        return len(self.array)


DECODE_CHUNK = 256  # images a worker decodes per task


def _image_list(comp: Competition) -> list[tuple[str, str]]:
    seen, items = set(), []
    for split, bags in (("train", comp.train), ("test", comp.test)):
        for bag in bags:
            for name in bag.images:
                if (split, name) not in seen:
                    seen.add((split, name))
                    items.append((split, name))
    return items


def cache_fingerprint(comp: Competition, items, mode: str) -> str:
    h = hashlib.sha1(f"{mode}:{IMAGE_HW}".encode())
    for split, name in items:
        st = comp.image_path(split, name).stat()
        h.update(f"{split}/{name}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:16]


def decode(path: Path, mode: str, hw=IMAGE_HW) -> tuple[np.ndarray, bool]:
    """One image as uint8 in `mode` ('L' or 'RGB') at `hw`; also whether it had to be resized."""
    try:
        with Image.open(path) as im:
            im = im.convert("RGBA").convert("RGB") if im.mode in ("P", "PA", "LA", "RGBA") else im
            im = im.convert(mode)
            resized = im.size != (hw[1], hw[0])
            if resized:
                im = im.resize((hw[1], hw[0]), Image.BILINEAR)
            return np.asarray(im, dtype=np.uint8), resized
    except (OSError, ValueError, SyntaxError) as e:
        raise DataError(f"{path}: cannot be decoded ({type(e).__name__}: {e})") from e


def decode_rows(array_path, mode: str, rows: list) -> int:
    """Decode (row, image path) pairs into those rows of the .npy at `array_path`; how
    many were resized. Worker processes each write their own rows of the one file."""
    out, resized = np.load(array_path, mmap_mode="r+"), 0
    for row, path in rows:
        out[row], was_resized = decode(path, mode)
        resized += was_resized
    out.flush()
    return resized


def build_cache(comp: Competition, work_dir, mode: str = "L", progress: str | None = None,
                workers: int | None = None) -> ImageCache:
    """Load the cache for `comp` from `work_dir`, building it if missing or stale, by
    `workers` processes (default: every core); the bytes do not depend on how many."""
    if mode not in ("L", "RGB"):
        raise ValueError(f"mode must be 'L' or 'RGB', not {mode!r}")
    items = _image_list(comp)
    index = {item: i for i, item in enumerate(items)}
    folder = Path(work_dir) / "cache"
    folder.mkdir(parents=True, exist_ok=True)
    key = cache_fingerprint(comp, items, mode)
    path = folder / f"images-{mode}-{key}.npy"
    meta_path = path.with_suffix(".json")
    if path.exists() and meta_path.exists():
        meta = read_json(meta_path)
        return ImageCache(np.load(path, mmap_mode="r"), index, path, meta["resized"])

    for old in remove_abandoned_partials(folder / f"images-{mode}-*.npy"):
        print(f"removed {old.name}, left by a build that was killed")
    shape = (len(items), *IMAGE_HW) + ((3,) if mode == "RGB" else ())
    resized = 0
    bar = progress_bar(total=len(items), desc=f"caching images ({mode})", style=progress, mininterval=2)
    rows = [(i, comp.image_path(split, name)) for i, (split, name) in enumerate(items)]
    with atomic_path(path) as tmp:  # streamed into a memory map, never held in memory
        reserved_memmap(tmp, np.uint8, shape).flush()  # the workers fill it
        for k, chunk_resized in enumerate(chunked_map(partial(decode_rows, tmp, mode), rows, workers, DECODE_CHUNK)):
            resized += chunk_resized
            bar.update(len(rows[k * DECODE_CHUNK:(k + 1) * DECODE_CHUNK]))
    bar.close()
    with atomic_path(meta_path) as tmp:
        tmp.write_text(json.dumps({"n_images": len(items), "mode": mode, "resized": resized}))
    for old in folder.glob(f"images-{mode}-*.npy"):  # stale caches of the same mode
        if old != path:
            old.unlink()
            old.with_suffix(".json").unlink(missing_ok=True)
    if resized:
        print(f"warning: {resized} image(s) were not {IMAGE_HW[1]}x{IMAGE_HW[0]} and were resized")
    return ImageCache(np.load(path, mmap_mode="r"), index, path, resized)
