"""The run's work folder: where each notebook finds its inputs and leaves its artifacts.

    data.json, split.csv, cache/        00_demo_data   (data folder, fingerprint, split)
    figures/                            01_eda and later plots
    warmup/backbone.pt                  02_swav_warmup
    cnn/best.pt, cnn/last.pt            03_cnn_tempering
    features/, preds/cnn_*.npy          04_feature_dump
    preds/bag_*.npy                     05_bilstm
    thresholds.json                     06_threshold_tuning
    submission.json                     07_submission (paths of the files it wrote)
"""
from __future__ import annotations

import json
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
    "submission.json": "07_submission",
}


def require(work_dir, *names) -> None:
    """Fail early, naming the notebook that should have produced a missing artifact."""
    missing = [n for n in names if not (Path(work_dir) / n).exists()]
    if missing:
        hints = ", ".join(f"{n} (from {PRODUCED_BY.get(n, '?')})" for n in missing)
        raise FileNotFoundError(f"{work_dir} lacks {hints}; run the earlier notebooks first")


def write_json(path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, default=float))


def read_json(path):
    return json.loads(Path(path).read_text())


def save_array(path, array) -> None:
    with atomic_path(path) as tmp:
        np.save(tmp, array)


def load_run(work_dir):
    """(competition, train bags, valid bags) as 00_demo_data recorded them."""
    work_dir = Path(work_dir)
    require(work_dir, "data.json", "split.csv")
    info = read_json(work_dir / "data.json")
    comp = read_competition(info["data_dir"], check_images=False)
    split = pd.read_csv(work_dir / "split.csv")
    valid_ids = set(split.loc[split.fold == "valid", "gene_stage"])
    train = [b for b in comp.train if b.gene_stage not in valid_ids]
    valid = [b for b in comp.train if b.gene_stage in valid_ids]
    return comp, train, valid
