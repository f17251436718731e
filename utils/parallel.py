"""Run a function over consecutive chunks of a list in worker processes, results in order.

Decoding the 35k images of the real data once to check them and once to cache them is
Python-bound (PIL's file parsing holds the GIL), so threads do not help and processes do.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterator


def chunked_map(fn: Callable[[list], object], items: list, workers: int | None = None,
                chunk: int = 256) -> Iterator:
    """Yield fn(items[i:i + chunk]) for each chunk in order, `workers` processes at once
    (default: every core; 1 runs here). fn must be picklable: a module-level function."""
    chunks = [items[i:i + chunk] for i in range(0, len(items), chunk)]
    workers = min(workers or os.cpu_count() or 1, len(chunks))
    if workers <= 1:
        yield from map(fn, chunks)
        return
    with ProcessPoolExecutor(workers) as pool:
        yield from pool.map(fn, chunks)
