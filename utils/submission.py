"""Kaggle submission files: writers and validators for both formats, and the manifest.

F1 file:  Id,labels          labels space separated ("CG03756865677_s2,0 8")
AUC file: Id,label0..label29 probabilities in [0, 1]
One row per test bag in test order. Files are written to a temporary name, validated,
then renamed; an existing file is never overwritten.
"""
from __future__ import annotations

import csv
import json
import subprocess
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .labels import N_LABELS

AUC_HEADER = ["Id"] + [f"label{i}" for i in range(N_LABELS)]


class SubmissionError(ValueError):
    pass


def _atomic_write(path: Path, write, validate) -> Path:
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists; submissions are never overwritten")
    with atomic_path(path) as tmp:
        with open(tmp, "w", newline="") as f:
            write(csv.writer(f))
        validate(tmp)
    return path


def _check_predictions(ids, values, what: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.shape != (len(ids), N_LABELS):
        raise SubmissionError(f"{what}: shape {values.shape}, expected ({len(ids)}, {N_LABELS})")
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        r, c = bad[0]
        raise SubmissionError(f"{what}: {len(bad)} non-finite value(s), first at row {r} "
                              f"({ids[r]}), label {c}: {values[r, c]}; nothing was written")
    return values


def write_f1(path, ids, predictions, test_ids=None) -> Path:
    pred = _check_predictions(ids, predictions, "F1 predictions")
    if not np.isin(pred, (0, 1)).all():
        raise SubmissionError("F1 predictions must be 0/1")
    rows = [(i, " ".join(str(j) for j in np.flatnonzero(p))) for i, p in zip(ids, pred)]
    return _atomic_write(path, lambda w: (w.writerow(["Id", "labels"]), w.writerows(rows)),
                         lambda p: validate_f1(p, test_ids or ids))


def write_auc(path, ids, probabilities, test_ids=None) -> Path:
    prob = _check_predictions(ids, probabilities, "AUC probabilities")
    if (prob < 0).any() or (prob > 1).any():
        raise SubmissionError("AUC probabilities must lie in [0, 1]")
    rows = [[i] + [f"{v:.6f}" for v in p] for i, p in zip(ids, prob)]
    return _atomic_write(path, lambda w: (w.writerow(AUC_HEADER), w.writerows(rows)),
                         lambda p: validate_auc(p, test_ids or ids))


def _read(path, header):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows or rows[0] != header:
        raise SubmissionError(f"{path} line 1: header {rows[0] if rows else None}, expected {header}")
    return rows[1:]


def _check_ids(path, rows, test_ids):
    ids = [r[0] for r in rows]
    if len(ids) != len(test_ids):
        raise SubmissionError(f"{path}: {len(ids)} rows, the test set has {len(test_ids)} bags")
    for line, (got, want) in enumerate(zip(ids, test_ids), start=2):
        if got != want:
            raise SubmissionError(f"{path} line {line}: Id {got!r}, expected {want!r} (test order)")


def validate_f1(path, test_ids) -> None:
    rows = _read(path, ["Id", "labels"])
    _check_ids(path, rows, list(test_ids))
    for line, row in enumerate(rows, start=2):
        if len(row) != 2:
            raise SubmissionError(f"{path} line {line}: {len(row)} fields, expected 2")
        for token in row[1].split():
            if not token.isdigit() or int(token) >= N_LABELS:
                raise SubmissionError(f"{path} line {line}: label {token!r} is not in 0..29")


def validate_auc(path, test_ids) -> None:
    rows = _read(path, AUC_HEADER)
    _check_ids(path, rows, list(test_ids))
    for line, row in enumerate(rows, start=2):
        if len(row) != N_LABELS + 1:
            raise SubmissionError(f"{path} line {line}: {len(row)} fields, expected {N_LABELS + 1}")
        for col, value in zip(AUC_HEADER[1:], row[1:]):
            try:
                v = float(value)
            except ValueError:
                raise SubmissionError(f"{path} line {line}: {col} {value!r} is not a number") from None
            if not 0.0 <= v <= 1.0:  # also false for NaN
                raise SubmissionError(f"{path} line {line}: {col} {value!r} is outside [0, 1]")


def code_version(repo_dir=None) -> str:
    """git commit of the kit (with '+dirty' for uncommitted changes), or 'unknown'."""
    try:
        cwd = repo_dir or Path(__file__).resolve().parent
        rev = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd,
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def environment() -> dict:
    """Versions that decide whether a rerun gives the same bytes."""
    import platform

    import numpy
    import timm
    import torch

    return {"python": platform.python_version(), "platform": platform.platform(),
            "torch": torch.__version__, "timm": timm.__version__, "numpy": numpy.__version__,
            "torch_threads": torch.get_num_threads(),
            "cuda": torch.cuda.get_device_name() if torch.cuda.is_available() else None}


def write_manifest(path, **fields) -> Path:
    fields.setdefault("environment", environment())
    with atomic_path(path) as tmp:
        Path(tmp).write_text(json.dumps(fields, indent=2, default=str))
    return Path(path)
