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
    tmp = partial_path(path, os.getpid())
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def partial_path(path: Path, pid) -> Path:
    """atomic_path's temporary name for `path` in process `pid` ("*": a glob for any process)."""
    return path.with_name(f".{path.stem}.partial-{pid}{path.suffix}")


def remove_abandoned_partials(pattern) -> list[Path]:
    """Remove the temporary files `atomic_path` left for final names matching `pattern` (such as
    work/cache/images-L-*.npy) when a run was killed mid-write, and return them. A killed image
    cache build leaves 1.4 GB at the real size, hidden under a dot name. A file whose process
    is still running (its PID is in the name) is kept."""
    pattern = Path(pattern)
    removed = []
    for tmp in sorted(pattern.parent.glob(partial_path(pattern, "*").name)):
        pid = tmp.name.removesuffix(pattern.suffix).rsplit(".partial-", 1)[1]
        if pid.isdigit() and not _running(int(pid)):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _running(pid: int) -> bool:
    if os.name != "posix":  # elsewhere os.kill would end the process: keep its file
        return True
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def reserved_memmap(path, dtype, shape) -> np.memmap:
    """A new .npy memory map (np.lib.format.open_memmap "w+") with its disk space reserved first.

    A new memory map is a sparse file: on a full disk the first write that finds no free block
    kills the process with SIGBUS, which no `except` sees (a notebook's kernel just dies) and
    which leaves the partial file behind. Reserved up front, a full disk (or a full quota) is an
    OSError before anything is written, and `atomic_path` removes the file. A filesystem that
    cannot reserve gets the map unreserved, as before.
    """
    array = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=shape)
    if not hasattr(os, "posix_fallocate"):  # macOS, Windows: nothing to reserve with
        return array
    size, free = os.path.getsize(path), shutil.disk_usage(Path(path).parent).free
    fd = os.open(path, os.O_RDWR)
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT):
            raise OSError(e.errno, f"{os.strerror(e.errno)}: {_megabytes(size)} needed, "
                                   f"{_megabytes(free)} free", str(path)) from None
    finally:
        os.close(fd)
    return array


def _megabytes(n: int) -> str:
    return f"{n / 1e6:,.1f} MB"
