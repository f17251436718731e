"""Write files so that a reader never sees a half-written one."""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path


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
