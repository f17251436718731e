"""Stepping through the notebooks by hand: each runs with its own defaults, from a copy of the
notebooks folder, one after the other, as a user does in Jupyter (slow: about two minutes).

The pipeline passes every notebook its work folder, data folder and the profile's values, so
the chain tests never see the defaults that an interactive user runs: the work folder each
notebook finds the one before in, building the demo data when there is none, the single split.
Only the schedules are cut here, as a user in a hurry would."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import check_blend_and_thresholds, check_explained_bags, check_plain_tables, printed_by

from utils.blend import floor_for_run
from utils.cache import build_cache
from utils.metrics import evaluate
from utils.pipeline import NOTEBOOK_DIR, declared_parameters, execute_step
from utils.profiles import profile_parameters
from utils.rundir import load_run, read_json
from utils.submission import validate_auc, validate_f1

pytestmark = pytest.mark.slow
DEMO = profile_parameters("demo")
SHORT = {"demo_bags": 120, "warmup_epochs": 1, "cnn_epochs": 3, "cnn_lr_T": 3, "lstm_epochs": 3}


def test_the_notebooks_run_in_order_with_their_own_defaults(tmp_path):
    notebooks = shutil.copytree(NOTEBOOK_DIR, tmp_path / "notebooks")
    (tmp_path / "executed").mkdir()
    for path in sorted(notebooks.glob("0*.ipynb")):
        execute_step(path, tmp_path / "executed" / path.name, cwd=notebooks,
                     parameters={k: v for k, v in SHORT.items() if k in declared_parameters(path)})
    work, data = tmp_path / "runs/interactive", tmp_path / "data/demo"  # "../runs/...", "../data/..."
    assert (data / "train/train.csv").exists() and read_json(work / "data.json")["data_dir"] == str(data.resolve())
    comp, train, valid = load_run(work)
    assert len(comp.train) + len(comp.test) == SHORT["demo_bags"] and not (work / "fold0").exists()
    assert len(train) + len(valid) == len(comp.train) and valid  # the single validation split
    tuned = read_json(work / "thresholds.json")
    assert tuned["source"] == "bag+floor"  # the demo profile's, tuned on the validation bags
    y, m = np.stack([b.target for b in valid]), np.stack([b.mask for b in valid])
    cache = build_cache(comp, work)
    p_bag = np.load(work / "preds/bag_valid.npy")
    check_blend_and_thresholds(work, y, m, p_bag, floor_for_run(work, cache), "valid")
    assert read_json(work / "scores/bag_attention.json") == pytest.approx(evaluate(y, p_bag, mask=m))  # 05's print
    # 04's CNN-only baseline (the bag models' reference): each bag's image probabilities
    # averaged, zero where its stage cannot carry the label, and its score on the validation bags.
    image_probs = np.load(work / "features/image_probs.npy")
    cnn = {part: np.load(work / f"preds/cnn_{part}.npy") for part in ("valid", "test")}
    for part, bags in (("valid", valid), ("test", comp.test)):
        expected = [image_probs[cache.rows(b.split, b.images)].mean(0) * b.mask for b in bags]
        assert np.allclose(cnn[part], expected, atol=1e-6), part
    assert read_json(work / "scores/cnn_mean_pool.json") == pytest.approx(evaluate(y, cnn["valid"], mask=m))
    written = read_json(work / "submission.json")  # paths as 07 saw them, from the notebooks folder
    f1, auc = ((notebooks / written[kind]).resolve() for kind in ("f1", "auc"))
    assert f1.parent.parent == (tmp_path / "submissions").resolve()  # "../submissions"
    assert re.fullmatch(r"demo-seed0-\d{8}-\d{6}x*", f1.parent.name), f1  # 07's default name (README)
    tables = check_plain_tables(tmp_path)  # each table names every column: no index written
    assert {f"runs/interactive/{name}" for name in ("split.csv", "features/index.csv", "warmup/history.csv",
                                                    "cnn/history.csv", "bag/history.csv")} <= set(tables), tables
    ids = [b.gene_stage for b in comp.test]
    validate_f1(f1, ids)
    validate_auc(auc, ids)
    # 02 warms up on every image of every bag, the test bags' too (no labels needed), in whole
    # batches of its default size, the demo profile's (test_notebooks.py holds them equal).
    n_images, batch = sum(len(b.images) for b in comp.train + comp.test), DEMO["warmup_batch_size"]
    assert pd.read_csv(work / "warmup/history.csv").train_images.tolist() == [n_images // batch * batch]
    assert n_images // batch != sum(len(b.images) for b in comp.train) // batch  # the test bags count
    executed = json.loads((tmp_path / "executed/03_cnn_tempering.ipynb").read_text())
    assert "starting from the warm-up" in json.dumps(executed["cells"])  # 02's backbone, found by 03
    assert not (work / "cnn_compare").exists()  # Fig. 2's three extra CNNs only when asked
    assert (work / "figures/explain_attention.png").exists()
    assert "attention weights of 05's attention head" in (tmp_path / "executed/08_explain.ipynb").read_text()
    check_explained_bags(work, tmp_path / "executed/08_explain.ipynb", fold=None,
                         params=DEMO)  # the notebooks' defaults are the demo profile's
    # 01's sanity findings, counted here from the bags: the demo draws labels only where the
    # real data has them; test bags are other stages of some training genes; the validation
    # split holds whole genes out.
    train_genes, test_genes = ({b.gene for b in bags} for bags in (comp.train, comp.test))
    assert 0 < len(train_genes & test_genes) < len(test_genes)
    assert printed_by(tmp_path / "executed/01_eda.ipynb").splitlines()[-3:] == [
        "labels at a stage where the real data never has them: 0",
        f"genes: {len(train_genes | test_genes)}; genes in both train and test: {len(train_genes & test_genes)}",
        f"validation bags: {len(valid)}, genes shared with training: 0"]
    # In Jupyter each figure a notebook saves is also shown in it, inline (a non-interactive
    # backend there would save the files and show nothing).
    shown = sum(output.get("data", {}).get("image/png") is not None
                for path in (tmp_path / "executed").glob("*.ipynb")
                for cell in json.loads(path.read_text())["cells"] for output in cell.get("outputs", []))
    saved = sorted(p.name for p in (work / "figures").glob("*.png"))
    assert len(saved) >= 10 and shown == len(saved), (shown, saved)


def test_fig2_trains_no_weights_weights_and_tempering_as_three_runs(tmp_path):
    """03's optional comparison (the paper's Fig. 2): the three runs differ only where they should.
    Same seed and start: with weights and with tempered weights agree bit for bit in the epoch
    tempering starts at (the full w_m still holds there), and part after it; without weights
    differs from the start."""
    notebooks = shutil.copytree(NOTEBOOK_DIR, tmp_path / "notebooks")
    short = {**SHORT, "demo_bags": 60, "cnn_epochs": 3, "temper_start": 0, "temper_half_period": 2, "temper_freeze": 10}
    for name, extra in [("00_demo_data.ipynb", {}),
                        ("03_cnn_tempering.ipynb", {"compare_weighting": True, "init_from_warmup": False})]:
        path = notebooks / name
        execute_step(path, tmp_path / name, cwd=notebooks,
                     parameters={k: v for k, v in {**short, **extra}.items() if k in declared_parameters(path)})
    work = tmp_path / "runs/interactive"
    runs = {name: h.reset_index(drop=True)
            for name, h in pd.read_csv(work / "cnn_compare/history.csv").groupby("variant", sort=False)}
    assert list(runs) == ["no weights", "weights", "weights + tempering"]
    assert all(list(h.epoch) == [0, 1, 2] for h in runs.values())
    plain, weighted, tempered = (runs[k].train_loss.to_numpy() for k in runs)
    assert plain[0] != weighted[0]
    assert tempered[0] == weighted[0] and (tempered[1:] != weighted[1:]).all()
    assert list(runs["weights"].weight_strength) == [1, 1, 1]
    assert list(runs["weights + tempering"].weight_strength.round(6)) == [1, 0.5, 0]  # cosine, half period 2
    assert (work / "figures/cnn_weighting_comparison.png").exists()
    assert "cnn_compare/history.csv" in check_plain_tables(work)  # no index column either
