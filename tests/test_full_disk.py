"""A disk that fills up half-way through a write (CI's own disk did, in session 41): each of
the kit's writers leaves the file that was there whole, and no partial file beside it.

Each case makes the call that serialises the bytes write a little to whatever file it was
given and then fail as a full disk does. A writer that wrote straight to its final name
would leave those few bytes in place of the earlier file. The two writers that fill a memory
map (the image cache, the features) reserve its disk space first: on a full disk a memory
map's write kills the process (SIGBUS), so they must fail before writing anything."""
import csv
import errno
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

EARLIER = b"what an earlier run wrote"


def _no_space() -> OSError:
    return OSError(errno.ENOSPC, "No space left on device")


def _full_disk(target) -> None:
    with open(target, "wb") as f:
        f.write(b"half")
    raise _no_space()


def _fill_up(monkeypatch, owner, name: str, target_arg: int = 0) -> None:
    """Make owner.name write a few bytes to its file argument, then fail with ENOSPC."""
    monkeypatch.setattr(owner, name, lambda *args, **kwargs: _full_disk(args[target_arg]))


def _save_atomic(path, monkeypatch):
    from utils.engine import save_atomic
    _fill_up(monkeypatch, torch, "save", target_arg=1)
    save_atomic({"model": {}}, path)


def _save_if_changed(path, monkeypatch):
    from utils.engine import save_if_changed
    _fill_up(monkeypatch, Path, "write_bytes")  # torch.save goes to memory first here
    save_if_changed({"model": torch.zeros(3)}, path)


def _write_json(path, monkeypatch):
    from utils.rundir import write_json
    _fill_up(monkeypatch, Path, "write_text")
    write_json(path, {"status": "finished"})


def _save_array(path, monkeypatch):
    from utils.rundir import save_array
    _fill_up(monkeypatch, np, "save")
    save_array(path, np.zeros(3))


def _write_manifest(path, monkeypatch):
    from utils.submission import write_manifest
    _fill_up(monkeypatch, Path, "write_text")
    write_manifest(path, run="x", environment={})


def _runs_csv(path, monkeypatch):
    from utils import runs
    from utils.runspec import write_run
    runs_dir = path.parent.parent / "runs"
    write_run(runs_dir / "run1", {"profile": "demo", "seed": 0}, {}, {"profile": "demo", "seed": 0})
    _fill_up(monkeypatch, pd.DataFrame, "to_csv", target_arg=1)
    runs.main([str(runs_dir), "--csv", str(path)])


def _dump_features(path, monkeypatch):
    from utils.features import dump_features
    from utils.models import build_backbone
    calls = []

    def transform(x, hflip=False):  # the disk fills while the second batch is written
        calls.append(1)
        if len(calls) == 2:
            raise _no_space()
        return x.float()[:, None] / 255

    model = build_backbone("regnety_002", in_chans=1)
    dump_features(model, np.zeros((6, 32, 32), np.uint8), transform, path, torch.device("cpu"), batch_size=3)


WRITERS = {"checkpoint.pt": _save_atomic, "backbone.pt": _save_if_changed, "run.json": _write_json,
           "bag_test.npy": _save_array, "manifest.json": _write_manifest, "runs.csv": _runs_csv,
           "features.npy": _dump_features}


@pytest.mark.parametrize("name", WRITERS)
def test_a_disk_full_mid_write_leaves_the_earlier_file_whole_and_nothing_beside_it(name, tmp_path, monkeypatch):
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / name
    target.write_bytes(EARLIER)
    with pytest.raises(OSError, match="No space left"):
        WRITERS[name](target, monkeypatch)
    assert target.read_bytes() == EARLIER
    assert sorted(p.name for p in folder.iterdir()) == [name]


def test_a_submission_cut_by_a_full_disk_is_not_there_at_all(tmp_path, monkeypatch):
    """Submissions are never overwritten, so there is no earlier file: a half-written one
    under the final name would pass for a submission."""
    from utils.submission import write_f1

    class FullDiskWriter:
        def __init__(self, f):
            self.f = f

        def writerow(self, row):
            self.f.write("Id,")
            raise _no_space()

    monkeypatch.setattr(csv, "writer", FullDiskWriter)
    with pytest.raises(OSError, match="No space left"):
        write_f1(tmp_path / "submission_f1.csv", ["CG1_s2"], np.zeros((1, 30)))
    assert list(tmp_path.iterdir()) == []


def _reserve_fails(monkeypatch, error=errno.ENOSPC) -> None:
    def cannot_reserve(fd, offset, length):
        raise OSError(error, os.strerror(error))
    monkeypatch.setattr(os, "posix_fallocate", cannot_reserve, raising=False)


@pytest.mark.parametrize("error", [errno.EOPNOTSUPP, errno.EINVAL])
def test_a_filesystem_that_cannot_reserve_gets_the_memory_map_unreserved(error, tmp_path, monkeypatch):
    from utils.atomic import reserved_memmap
    _reserve_fails(monkeypatch, error)
    array = reserved_memmap(tmp_path / "a.npy", np.float32, (3, 4))
    array[:] = 2.5
    array.flush()
    del array
    assert np.array_equal(np.load(tmp_path / "a.npy"), np.full((3, 4), 2.5, np.float32))


def test_a_full_quota_is_named_as_such(tmp_path, monkeypatch):
    from utils.atomic import reserved_memmap
    _reserve_fails(monkeypatch, errno.EDQUOT)
    with pytest.raises(OSError, match=r"Disk quota exceeded: 0\.0 MB needed, [\d,.]+ MB free") as err:
        reserved_memmap(tmp_path / "a.npy", np.uint8, (3,))
    assert err.value.errno == errno.EDQUOT


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="counts open files in /proc/self/fd")
def test_a_reserved_memory_map_leaves_no_file_open_once_it_is_gone(tmp_path):
    import gc

    from utils.atomic import reserved_memmap
    def open_on_it():
        links = []
        for fd in os.listdir("/proc/self/fd"):
            try:
                links.append(os.readlink(f"/proc/self/fd/{fd}"))
            except OSError:  # the listing's own descriptor, closed by now
                pass
        return links.count(str(tmp_path / "a.npy"))

    array = reserved_memmap(tmp_path / "a.npy", np.uint8, (1000,))
    assert open_on_it() == 1  # the memory map's own: the check sees one
    del array
    gc.collect()
    assert open_on_it() == 0


def test_an_image_cache_without_room_fails_before_decoding_and_keeps_the_earlier_one(demo_dir, tmp_path, monkeypatch):
    """The earlier cache (of other images: a stale fingerprint) is removed only once the new one
    is whole; the error says how much the new one needs and how much there is."""
    from utils import cache as cache_module
    from utils.data import read_competition
    folder = tmp_path / "cache"
    folder.mkdir()
    (folder / "images-L-0123456789abcdef.npy").write_bytes(EARLIER)
    (folder / "images-L-0123456789abcdef.json").write_bytes(EARLIER)
    decoded = []
    monkeypatch.setattr(cache_module, "decode", lambda *args: decoded.append(args))
    _reserve_fails(monkeypatch)
    comp = read_competition(demo_dir, check_images=False)
    n_images = len({(b.split, name) for b in comp.train + comp.test for name in b.images})
    needed = (n_images * 128 * 320 + 128) / 1e6  # the array and its 128-byte .npy header
    with pytest.raises(OSError, match=rf"No space left on device: {needed:,.1f} MB needed, [\d,.]+ MB free"):
        cache_module.build_cache(comp, tmp_path, workers=1)
    assert decoded == []
    assert sorted(p.name for p in folder.iterdir()) == ["images-L-0123456789abcdef.json", "images-L-0123456789abcdef.npy"]
    assert (folder / "images-L-0123456789abcdef.npy").read_bytes() == EARLIER


def test_features_without_room_fail_before_the_model_runs_and_keep_the_earlier_file(tmp_path, monkeypatch):
    from utils.features import dump_features
    from utils.models import build_backbone
    target = tmp_path / "features.npy"
    target.write_bytes(EARLIER)
    _reserve_fails(monkeypatch)
    transformed = []
    model = build_backbone("regnety_002", in_chans=1)
    with pytest.raises(OSError, match=r"No space left on device: [\d,.]+ MB needed"):
        dump_features(model, np.zeros((6, 32, 32), np.uint8), lambda x, hflip=False: transformed.append(x),
                      target, torch.device("cpu"), batch_size=3)
    assert transformed == []
    assert target.read_bytes() == EARLIER and sorted(p.name for p in tmp_path.iterdir()) == ["features.npy"]


# A memory map on a filesystem too small for it, in a child process (it may die): the plain
# one's write is killed by SIGBUS and leaves its file; the reserved one is an OSError first.
FILL_A_MEMORY_MAP = textwrap.dedent("""
    import sys
    import numpy as np
    from utils.atomic import atomic_path, reserved_memmap
    folder, reserve = sys.argv[1], sys.argv[2] == "reserve"
    with atomic_path(folder + "/big.npy") as tmp:
        if reserve:
            array = reserved_memmap(tmp, np.uint8, (8 * 2**20,))
        else:
            array = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.uint8, shape=(8 * 2**20,))
        array[:] = 1
""")


@pytest.fixture
def small_filesystem(tmp_path):
    """A 4 MB tmpfs, where this machine lets the tests mount one (root on Linux)."""
    folder = tmp_path / "small"
    folder.mkdir()
    if not sys.platform.startswith("linux") or os.geteuid() != 0 or not shutil.which("mount"):
        pytest.skip("mounting a small filesystem needs root on Linux")
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(folder)],
                      capture_output=True).returncode != 0:
        pytest.skip("this machine does not let the tests mount a tmpfs")
    yield folder
    subprocess.run(["umount", "-l", str(folder)], check=True)


def test_a_reserved_memory_map_on_a_full_filesystem_is_an_error_not_a_dead_process(small_filesystem):
    def fill(mode):
        return subprocess.run([sys.executable, "-c", FILL_A_MEMORY_MAP, str(small_filesystem), mode],
                              capture_output=True, text=True, timeout=60)

    plain = fill("plain")
    assert plain.returncode == -7, plain.stderr  # SIGBUS: what the cache and the features did before
    for leftover in small_filesystem.iterdir():
        leftover.unlink()
    reserved = fill("reserve")
    assert reserved.returncode == 1
    assert "OSError: [Errno 28] No space left on device: 8.4 MB needed, 4.2 MB free" in reserved.stderr
    assert list(small_filesystem.iterdir()) == []
