"""The run's work folder: where each notebook finds its inputs and leaves its artifacts.

    data.json, split.csv, cache/        00_demo_data   (data folder, fingerprint, split)
    figures/                            01_eda and later plots
    warmup/backbone.pt                  02_swav_warmup
    cnn/best.pt, cnn/last.pt            03_cnn_tempering
    features/, preds/cnn_*.npy          04_feature_dump
    preds/bag_*.npy                     05_bilstm
    thresholds.json                     06_threshold_tuning
    submission.json                     07_submission (paths of the files it wrote)

With K folds (`split.csv` gains a `cv_fold` column), 03..05 run once per fold and write
their artifacts under fold<k>/ instead; 06 gathers them into preds/<source>_oof.npy (every
training bag predicted by the fold model that never saw it) and the fold-averaged
preds/<source>_test.npy.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from .atomic import atomic_path
from .data import read_competition

PRODUCED_BY = {
    "data.json": "00_demo_data", "split.csv": "00_demo_data",
    "warmup/backbone.pt": "02_swav_warmup", "cnn/best.pt": "03_cnn_tempering",
    "features/features.npy": "04_feature_dump", "preds/cnn_valid.npy": "04_feature_dump",
    "preds/cnn_test.npy": "04_feature_dump", "preds/bag_valid.npy": "05_bilstm",
    "preds/bag_test.npy": "05_bilstm", "thresholds.json": "06_threshold_tuning",
    "submission.json": "07_submission", "features/image_probs.npy": "04_feature_dump",
    "bag/best.pt": "05_bilstm",
    # 06's: the folds' predictions gathered (K-fold mode), the model blended with the floor
    **{f"preds/{model}{blend}_{part}.npy": "06_threshold_tuning" for model in ("bag", "cnn")
       for blend, part in [("", "oof"), ("+floor", "valid"), ("+floor", "oof"), ("+floor", "test")]},
}


def missing_files(work_dir, *names) -> list[str]:
    """Those of `names` (paths under `work_dir`) that are not there."""
    return [n for n in names if not (Path(work_dir) / n).exists()]


def require(work_dir, *names) -> None:
    """Fail early, naming the notebook that should have produced a missing artifact."""
    missing = missing_files(work_dir, *names)
    if missing:
        producer = {n: PRODUCED_BY.get(re.sub(r"^fold\d+/", "", n), "?") for n in missing}
        hints = ", ".join(f"{n} (from {producer[n]})" for n in missing)
        raise FileNotFoundError(f"{work_dir} lacks {hints}; run the earlier notebooks first")


def write_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=float))


class DamagedFile(ValueError):
    """A JSON artifact that does not parse; the kit writes them atomically, so it was changed later."""


def read_json(path):
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except ValueError as e:  # JSONDecodeError, UnicodeDecodeError
        raise DamagedFile(f"{path} is not valid JSON ({e}); it was changed after the kit wrote it") from None


def save_array(path, array) -> None:
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def fold_dir(work_dir, fold: int | None) -> Path:
    """Where a notebook of the per-fold steps (03..05) writes: the work folder, or fold<k>/."""
    return Path(work_dir) if fold is None else Path(work_dir) / f"fold{int(fold)}"


def load_run(work_dir, fold: int | None = None):
    """(competition, train bags, valid bags) as 00_demo_data recorded them.

    With `fold`, the valid bags are that cross-validation fold and the train bags the rest.
    """
    work_dir = Path(work_dir)
    require(work_dir, "data.json", "split.csv")
    info = read_json(work_dir / "data.json")
    comp = read_competition(info["data_dir"], check_images=False)
    split = pd.read_csv(work_dir / "split.csv")
    if fold is None:
        valid_ids = set(split.loc[split.fold == "valid", "gene_stage"])
    elif "cv_fold" not in split.columns:
        raise ValueError(f"{work_dir / 'split.csv'} has no cv_fold column; "
                         "rerun 00_demo_data with n_folds >= 2")
    elif not 0 <= fold < split.cv_fold.max() + 1:
        raise ValueError(f"fold {fold} out of range: {work_dir / 'split.csv'} has "
                         f"{split.cv_fold.max() + 1} folds")
    else:
        valid_ids = set(split.loc[split.cv_fold == fold, "gene_stage"])
    train = [b for b in comp.train if b.gene_stage not in valid_ids]
    valid = [b for b in comp.train if b.gene_stage in valid_ids]
    return comp, train, valid
