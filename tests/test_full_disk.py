"""A disk that fills up half-way through a write (CI's own disk did, in session 41): each of
the kit's writers leaves the file that was there whole, and no partial file beside it.

Each case makes the call that serialises the bytes write a little to whatever file it was
given and then fail as a full disk does. A writer that wrote straight to its final name
would leave those few bytes in place of the earlier file."""
import csv
import errno
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
