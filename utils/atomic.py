"""Write files so that a reader never sees a half-written one."""
from __future__ import annotations

import errno
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import numpy as np


@contextmanager
def atomic_path(path):
    """Yield a temporary sibling of `path`; it replaces `path` only if the block succeeds.

    The temporary name keeps the suffix (np.save, np.load(mmap_mode) and pandas read it)
    and starts with a dot, so a crashed write leaves no file under the final name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.partial-{os.getpid()}{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def reserved_memmap(path, dtype, shape) -> np.memmap:
    """A new .npy memory map (np.lib.format.open_memmap "w+") with its disk space reserved first.

    A new memory map is a sparse file: on a full disk the first write that finds no free block
    kills the process with SIGBUS, which no `except` sees (a notebook's kernel just dies) and
    which leaves the partial file behind. Reserved up front, a full disk is an OSError before
    anything is written, and `atomic_path` removes the file.
    """
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    if not hasattr(os, "posix_fallocate"):  # macOS, Windows: nothing to reserve with
        return array
    size, free = os.path.getsize(path), shutil.disk_usage(Path(path).parent).free
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as e:
        if e.errno != errno.ENOSPC:
            raise
        raise OSError(errno.ENOSPC, f"No space left on device: {_megabytes(size)} needed, "
                                    f"{_megabytes(free)} free", str(path)) from None
    finally:
        os.close(fd)
    return array


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"
