"""Kaggle submission files: writers and validators for both formats, and the manifest.

F1 file:  Id,labels          labels space separated ("CG03756865677_s2,0 8")
AUC file: Id,label0..label29 probabilities in [0, 1]
One row per test bag in test order. Files are written to a temporary name, validated,
then renamed; an existing file is never overwritten.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from .atomic import atomic_path
from .csvfile import CSVFileError, records
from .labels import N_LABELS

F1_HEADER = ["Id", "labels"]
AUC_HEADER = ["Id"] + [f"label{i}" for i in range(N_LABELS)]


class SubmissionError(ValueError):
    pass


def new_submission_folder(submission_dir, name: str, stamp: str | None = None) -> Path:
    """A new, empty folder `<name>-<stamp>` for one run's files (stamp: local time to the
    second), with "x" appended until the name is free: a run finishing in the same second as
    another (seeds run side by side, say) never writes into the other's folder. mkdir is the
    test, so two runs cannot both take one name."""
    out = Path(submission_dir) / f"{name}-{stamp or time.strftime('%Y%m%d-%H%M%S')}"
    Path(submission_dir).mkdir(parents=True, exist_ok=True)
    while True:
        try:
            out.mkdir()
            return out
        except FileExistsError:
            out = out.with_name(out.name + "x")


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
    return _atomic_write(path, lambda w: (w.writerow(F1_HEADER), w.writerows(rows)),
                         lambda p: validate_f1(p, test_ids or ids))


def write_auc(path, ids, probabilities, test_ids=None) -> Path:
    prob = _check_predictions(ids, probabilities, "AUC probabilities")
    if (prob < 0).any() or (prob > 1).any():
        raise SubmissionError("AUC probabilities must lie in [0, 1]")
    rows = [[i] + [f"{v:.6f}" for v in p] for i, p in zip(ids, prob)]
    return _atomic_write(path, lambda w: (w.writerow(AUC_HEADER), w.writerows(rows)),
                         lambda p: validate_auc(p, test_ids or ids))


def _read(path, header=None) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """(header, (line, fields) of each row after it); blank lines are skipped, as Kaggle does.
    With `header`, another header is refused."""
    try:
        rows = list(records(path))
    except CSVFileError as e:
        raise SubmissionError(str(e)) from None
    found = rows[0][1] if rows else None
    if header is not None and found != header:
        raise SubmissionError(f"{path} line 1: header {found}, expected {header}")
    return found, rows[1:]


def _check_ids(path, rows, test_ids):
    if len(rows) != len(test_ids):
        raise SubmissionError(f"{path}: {len(rows)} rows, the test set has {len(test_ids)} bags")
    for (line, row), want in zip(rows, test_ids):
        if row[0] != want:
            raise SubmissionError(f"{path} line {line}: Id {row[0]!r}, expected {want!r} (test order)")


def _check_f1_rows(path, rows, test_ids) -> None:
    _check_ids(path, rows, list(test_ids))
    for line, row in rows:
        if len(row) != 2:
            raise SubmissionError(f"{path} line {line}: {len(row)} fields, expected 2")
        for token in row[1].split():
            if not re.fullmatch(r"[0-9]+", token) or int(token) >= N_LABELS:
                raise SubmissionError(f"{path} line {line}: label {token!r} is not in 0..29")


def _check_auc_rows(path, rows, test_ids) -> None:
    _check_ids(path, rows, list(test_ids))
    for line, row in rows:
        if len(row) != N_LABELS + 1:
            raise SubmissionError(f"{path} line {line}: {len(row)} fields, expected {N_LABELS + 1}")
        for col, value in zip(AUC_HEADER[1:], row[1:]):
            try:
                v = float(value)
            except ValueError:
                raise SubmissionError(f"{path} line {line}: {col} {value!r} is not a number") from None
            if not 0.0 <= v <= 1.0:  # also false for NaN
                raise SubmissionError(f"{path} line {line}: {col} {value!r} is outside [0, 1]")


def validate_f1(path, test_ids) -> None:
    _check_f1_rows(path, _read(path, F1_HEADER)[1], test_ids)


def validate_auc(path, test_ids) -> None:
    _check_auc_rows(path, _read(path, AUC_HEADER)[1], test_ids)


def validate_file(path, test_ids) -> str:
    """Validate a submission of either format, told apart by its header (the file is read
    once); returns "F1" or "AUC"."""
    try:
        header, rows = _read(path)
    except OSError as e:
        raise SubmissionError(str(e)) from None
    if header == F1_HEADER:
        _check_f1_rows(path, rows, test_ids)
        return "F1"
    if header == AUC_HEADER:
        _check_auc_rows(path, rows, test_ids)
        return "AUC"
    raise SubmissionError(f"{path} line 1: header {header} is neither the F1 file's {F1_HEADER} "
                          f"nor the AUC file's ['Id', 'label0', ..., 'label29']")


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


def main(argv=None) -> int:
    """Check submission files (a hand-made blend, say) before uploading them to Kaggle."""
    from .data import DataError, read_competition

    parser = argparse.ArgumentParser(prog="python -m utils.submission", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("check", help="validate submission files against a competition folder's test bags")
    c.add_argument("files", nargs="+")
    c.add_argument("--data", required=True, help="the competition folder (its test CSV gives the bags and order)")
    args = parser.parse_args(argv)
    try:
        test_ids = [b.gene_stage for b in read_competition(args.data, check_images=False).test]
    except DataError as e:
        print(f"INVALID competition folder: {e}", file=sys.stderr)
        return 1
    failed = 0
    for path in args.files:
        try:
            kind = validate_file(path, test_ids)
            print(f"{path}: a valid {kind} submission, {len(test_ids)} rows in test order")
        except SubmissionError as e:
            print(f"INVALID: {e}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
