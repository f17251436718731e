"""K-fold mode: gene-grouped folds, out-of-fold assembly, and the pipeline's step order."""
from pathlib import Path

import numpy as np
import pytest

from utils.folds import assemble_out_of_fold, gather_folds, load_finite, n_folds_of, out_of_fold_inputs, stack_out_of_fold
from utils.pipeline import CHAIN, EXTRAS, steps
from utils.rundir import fold_dir, load_run, save_array, write_json
from utils.splits import split_table


def test_assemble_places_each_fold_at_its_rows():
    oof = assemble_out_of_fold(4, [[2, 0], [3, 1]], [[[20.0], [0.0]], [[30.0], [10.0]]])
    assert oof[:, 0].tolist() == [0.0, 10.0, 20.0, 30.0]


@pytest.mark.parametrize("rows, message", [
    ([[0, 1], [1, 2]], "predicted [0, 2] times"),   # bag 1 twice, bag 3 never
    ([[0, 1], [2]], "predicted [0] times"),         # bag 3 never
    ([[0, 1], [1, 2, 3]], "predicted [2] times"),   # every bag covered, bag 1 twice
])
def test_assemble_refuses_gaps_and_overlaps(rows, message):
    preds = [np.zeros((len(r), 2)) for r in rows]
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        assemble_out_of_fold(4, rows, preds)


def test_assemble_refuses_wrong_length():
    with pytest.raises(ValueError, match="fold 1: 3 predictions for 2 bags"):
        assemble_out_of_fold(4, [[0, 1], [2, 3]], [np.zeros((2, 2)), np.zeros((3, 2))])
    with pytest.raises(ValueError, match="no folds to assemble"):
        assemble_out_of_fold(4, [], [])


def test_folds_hold_out_every_training_bag_once_and_no_gene_twice(kfold_work):
    work, comp = kfold_work
    assert n_folds_of(work) == 3
    held_out, genes_of_fold = [], []
    for k in range(3):
        _, train, valid = load_run(work, fold=k)
        assert len(train) + len(valid) == len(comp.train) and valid
        assert not {b.gene for b in train} & {b.gene for b in valid}
        held_out += [b.gene_stage for b in valid]
        genes_of_fold.append({b.gene for b in valid})
    assert sorted(held_out) == sorted(b.gene_stage for b in comp.train)
    for a in range(3):
        for b in range(a + 1, 3):
            assert not genes_of_fold[a] & genes_of_fold[b]


def test_gather_folds_gives_every_bag_its_own_fold_prediction(kfold_work):
    work, comp = kfold_work
    position = {b.gene_stage: i for i, b in enumerate(comp.train)}
    fold_of_bag = np.full(len(comp.train), -1)
    for k in range(3):
        _, _, valid = load_run(work, fold=k)
        # each fold "predicts" bag i as i + 1000 k, so the OOF array shows who predicted whom
        rows = np.array([position[b.gene_stage] for b in valid])
        fold_of_bag[rows] = k
        save_array(fold_dir(work, k) / "preds/bag_valid.npy", np.repeat((rows + 1000 * k)[:, None], 30, 1) / 1e4)
        save_array(fold_dir(work, k) / "preds/bag_test.npy", np.full((len(comp.test), 30), k / 10))
    oof, test = gather_folds(work, "bag")
    assert np.allclose(oof[:, 0] * 1e4, np.arange(len(comp.train)) + 1000 * fold_of_bag)
    assert np.allclose(test, 0.1)  # the mean of 0.0, 0.1 and 0.2


def test_gather_folds_names_a_nan_file_and_row(kfold_work):
    work, comp = kfold_work
    for k in range(3):
        _, _, valid = load_run(work, fold=k)
        p = np.full((len(valid), 30), 0.5)
        if k == 1:
            p[0, 3] = np.nan
        save_array(fold_dir(work, k) / "preds/bag_valid.npy", p)
        save_array(fold_dir(work, k) / "preds/bag_test.npy", np.full((len(comp.test), 30), 0.5))
    with pytest.raises(ValueError, match=r"fold1/preds/bag_valid.npy: NaN or inf in row 0"):
        gather_folds(work, "bag")


def test_load_finite_names_the_bag_of_a_bad_row_and_refuses_a_flat_array(tmp_path):
    path = tmp_path / "p.npy"
    p = np.full((4, 30), 0.5)
    p[2, 7] = np.inf
    np.save(path, p)
    with pytest.raises(ValueError, match=r"p.npy: NaN or inf in row 2 \(b2\)$"):
        load_finite(path, ["b0", "b1", "b2", "b3"])
    np.save(path, np.full(30, 0.5))  # one bag's row saved without its axis
    with pytest.raises(ValueError, match=r"p.npy: shape \(30,\), expected \(rows, labels\)"):
        load_finite(path)
    np.save(path, np.full((4, 30), 0.5))
    assert load_finite(path).shape == (4, 30)


class _Rows:
    """The image cache's row lookup, without images."""

    def __init__(self, comp):
        names = [(b.split, n) for b in comp.train + comp.test for n in b.images]
        self.index = {key: i for i, key in enumerate(dict.fromkeys(names))}

    def rows(self, split, names):
        return np.array([self.index[(split, n)] for n in names], dtype=np.int64)


def _logit(p):
    return np.log(p / (1 - p))


def _fold_image_probs(work, n_rows):
    """Fold k's CNN 'predicts' image row r as (r % 7 + 1) / 100 + 0.2 k: who predicted what shows."""
    r = np.arange(n_rows)[:, None]
    probs = [np.repeat((r % 7 + 1) / 100 + 0.2 * k, 30, 1) for k in range(3)]
    for k, p in enumerate(probs):
        save_array(fold_dir(work, k) / "features/image_probs.npy", p.astype(np.float32))
    return probs


def test_stacking_reads_each_training_bag_from_the_fold_that_held_it_out(kfold_work):
    work, comp = kfold_work
    cache = _Rows(comp)
    probs = _fold_image_probs(work, len(cache.index))
    stacked = out_of_fold_inputs(work, cache)
    for k in range(3):
        _, train, valid = load_run(work, fold=k)
        for bag, rows in zip(valid, stacked.bag_rows(valid)):
            expected = _logit(probs[k][cache.rows("train", bag.images)])
            assert np.allclose(stacked.values[rows], expected, atol=1e-5)
    for bag, rows in zip(comp.test, stacked.bag_rows(comp.test)):
        expected = _logit(np.mean([p[cache.rows("test", bag.images)] for p in probs], axis=0))
        assert np.allclose(stacked.values[rows], expected, atol=1e-5)
    # every image of every bag has its own row: the training bags' rows and the test rows tile the array
    all_rows = np.concatenate(stacked.bag_rows(comp.train + comp.test))
    assert sorted(all_rows.tolist()) == list(range(len(stacked.values)))


def test_stacking_refuses_a_bag_held_out_twice_or_never(kfold_work):
    work, comp = kfold_work
    cache = _Rows(comp)
    probs = _fold_image_probs(work, len(cache.index))
    held = [load_run(work, fold=k)[2] for k in range(3)]
    with pytest.raises(ValueError, match=f"training bag {held[0][0].gene_stage} is held out by two folds"):
        stack_out_of_fold(cache, [held[0], held[1] + held[0][:1], held[2]], probs, comp.test, len(comp.train))
    with pytest.raises(ValueError, match=f"not each of the {len(comp.train)} training bags once"):
        stack_out_of_fold(cache, [held[0], held[1], held[2][1:]], probs, comp.test, len(comp.train))


def test_stacking_reads_a_saturated_probability_as_a_finite_logit(kfold_work):
    """float32 sigmoid gives exactly 0 or 1 beyond a logit of about 17: stacked, those read
    as the logits of 1e-4 and 1 - 1e-4, log(9999) = 9.21, not as -inf and inf."""
    work, comp = kfold_work
    cache = _Rows(comp)
    probs = _fold_image_probs(work, len(cache.index))
    bag = load_run(work, fold=0)[2][0]
    rows = cache.rows("train", bag.images)
    probs[0][rows, 0], probs[0][rows, 1] = 0.0, 1.0
    save_array(fold_dir(work, 0) / "features/image_probs.npy", probs[0].astype(np.float32))
    stacked = out_of_fold_inputs(work, cache)
    assert np.isfinite(stacked.values).all()
    assert np.allclose(stacked.values[stacked.bag_rows([bag])[0], :2], [-np.log(9999), np.log(9999)], atol=1e-3)


def test_stacking_and_gathering_name_the_notebook_a_missing_fold_file_comes_from(kfold_work):
    work, comp = kfold_work
    cache = _Rows(comp)
    _fold_image_probs(work, len(cache.index))
    (fold_dir(work, 1) / "features/image_probs.npy").unlink()
    with pytest.raises(FileNotFoundError, match=r"fold1 lacks features/image_probs.npy \(from 04_feature_dump\)"):
        out_of_fold_inputs(work, cache)
    for k in range(3):
        save_array(fold_dir(work, k) / "preds/bag_valid.npy", np.full((len(load_run(work, fold=k)[2]), 30), 0.5))
        if k != 2:
            save_array(fold_dir(work, k) / "preds/bag_test.npy", np.full((len(comp.test), 30), 0.5))
    with pytest.raises(FileNotFoundError, match=r"fold2 lacks preds/bag_test.npy \(from 05_bilstm\)"):
        gather_folds(work, "bag")


def test_stacking_needs_k_fold_mode_and_finite_probabilities(kfold_work):
    work, comp = kfold_work
    cache = _Rows(comp)
    probs = _fold_image_probs(work, len(cache.index))
    probs[2][5, 1] = np.nan
    probs[2][9, 0] = np.inf  # the first bad row is named
    save_array(fold_dir(work, 2) / "features/image_probs.npy", probs[2])
    with pytest.raises(ValueError, match=r"fold2/features/image_probs.npy: NaN or inf in row 5"):
        out_of_fold_inputs(work, cache)
    table, _ = split_table([b.gene_stage for b in comp.train], [b.gene for b in comp.train], comp.targets(), 0.2)
    table.to_csv(work / "split.csv", index=False)
    with pytest.raises(ValueError, match="needs K-fold mode"):
        out_of_fold_inputs(work, cache)


def test_load_run_without_a_fold_holds_out_the_rows_split_csv_marks_valid(kfold_work):
    import csv
    work, comp = kfold_work
    with open(work / "split.csv", newline="") as f:
        marked = {row["gene_stage"]: row["fold"] for row in csv.DictReader(f)}
    assert sorted(set(marked.values())) == ["train", "valid"]
    _, train, valid = load_run(work)
    assert [b.gene_stage for b in valid] == [b.gene_stage for b in comp.train if marked[b.gene_stage] == "valid"]
    assert [b.gene_stage for b in train] == [b.gene_stage for b in comp.train if marked[b.gene_stage] == "train"]


def test_load_run_reads_the_csvs_and_never_opens_an_image(kfold_work, tmp_path_factory):
    # 00 checked every image; decoding them again in each later notebook would cost minutes at
    # the real size (about 35k images). A data folder of CSVs alone still loads.
    import shutil

    from utils.data import CSV_FILES, LABEL_DICT_CSV

    work, comp = kfold_work
    csvs = tmp_path_factory.mktemp("csvs_only")
    for name in [*CSV_FILES.values(), LABEL_DICT_CSV]:
        if (Path(comp.data_dir) / name).exists():
            (csvs / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(Path(comp.data_dir) / name, csvs / name)
    assert not list(csvs.rglob("*.bmp"))
    write_json(work / "data.json", {"data_dir": str(csvs)})
    again, train, valid = load_run(work, fold=0)
    assert [b.gene_stage for b in again.train] == [b.gene_stage for b in comp.train] and train and valid


def test_load_run_in_a_folder_00_has_not_filled_names_00(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"lacks data.json \(from 00_demo_data\), split.csv \(from 00_demo_data\)"):
        load_run(tmp_path)


def test_load_run_fold_needs_cv_folds(kfold_work):
    work, comp = kfold_work
    with pytest.raises(ValueError, match="fold 3 out of range: .*split.csv has 3 folds"):
        load_run(work, fold=3)
    table, _ = split_table([b.gene_stage for b in comp.train], [b.gene for b in comp.train], comp.targets(), 0.2)
    table.to_csv(work / "split.csv", index=False)
    with pytest.raises(ValueError, match="no cv_fold column; rerun 00_demo_data with n_folds >= 2$"):
        load_run(work, fold=0)
    assert n_folds_of(work) == 0
    with pytest.raises(ValueError, match=r"split.csv has no cross-validation folds"):
        gather_folds(work)


def test_pipeline_runs_each_per_fold_notebook_once_per_fold():
    order = [(name, fold) for name, fold, _ in steps(CHAIN, 2)]
    assert order[:3] == [("00_demo_data", None), ("01_eda", None), ("02_swav_warmup", None)]
    assert order[3:9] == [("03_cnn_tempering", 0), ("03_cnn_tempering", 1), ("04_feature_dump", 0),
                          ("04_feature_dump", 1), ("05_bilstm", 0), ("05_bilstm", 1)]
    assert order[9:] == [("06_threshold_tuning", None), ("07_submission", None)]
    artifacts = dict(((n, f), a) for n, f, a in steps(CHAIN, 2))
    assert artifacts[("05_bilstm", 1)] == ["fold1/preds/bag_valid.npy", "fold1/preds/bag_test.npy"]
    assert [f for _, f, _ in steps(CHAIN, 0)] == [None] * len(CHAIN)
    assert steps(CHAIN + EXTRAS, 2)[-1][:2] == ("08_explain", 0)  # it explains fold 0's CNN
    assert steps(CHAIN + EXTRAS, 0)[-1][:2] == ("08_explain", None)


def test_a_missing_fold_artifact_names_the_notebook_that_makes_it(tmp_path):
    from utils.rundir import require
    (tmp_path / "fold0/cnn").mkdir(parents=True)
    (tmp_path / "fold0/cnn/best.pt").write_bytes(b"")
    require(tmp_path, "fold0/cnn/best.pt")
    with pytest.raises(FileNotFoundError) as e:
        require(tmp_path, "fold0/cnn/best.pt", "fold2/cnn/best.pt", "fold1/preds/bag_valid.npy")
    assert "fold2/cnn/best.pt (from 03_cnn_tempering)" in str(e.value)
    assert "fold1/preds/bag_valid.npy (from 05_bilstm)" in str(e.value) and "fold0" not in str(e.value)
    with pytest.raises(FileNotFoundError) as e:
        require(tmp_path / "fold0", "features/image_probs.npy", "bag/best.pt", "preds/cnn+floor_test.npy",
                "preds/bag_oof.npy")
    assert ("features/image_probs.npy (from 04_feature_dump), bag/best.pt (from 05_bilstm), preds/cnn+floor_test.npy "
            "(from 06_threshold_tuning), preds/bag_oof.npy (from 06_threshold_tuning)") in str(e.value)


def test_every_artifact_the_kit_requires_names_the_notebook_that_makes_it():
    """Each name a `require(...)` call in utils/ or a notebook asks for, with its placeholders
    filled in every way the kit fills them, is one PRODUCED_BY knows (not "from ?")."""
    import itertools
    import json
    import re

    from utils.rundir import PRODUCED_BY
    root = Path(__file__).resolve().parent.parent
    texts = {p: p.read_text() for p in root.glob("utils/*.py")}
    texts |= {p: "".join("".join(c["source"]) + "\n" for c in json.loads(p.read_text())["cells"]
                         if c["cell_type"] == "code") for p in root.glob("notebooks/*.ipynb")}
    fills = {"source": ["bag", "cnn", "bag+floor", "cnn+floor"], "base": ["bag", "cnn"], "oof": ["oof", "valid"]}
    asked = set()
    for path, text in texts.items():
        for call in re.findall(r"require\(((?:[^()]|\([^()]*\))*)\)", text):  # *(["x"] if c else []) too
            for name in re.findall(r'"([^"]*)"', call):
                holes = re.findall(r"\{([^{}]*)\}", name)
                keys = [next(k for k in fills if k in hole) for hole in holes]  # StopIteration: a new placeholder
                for values in itertools.product(*(fills[k] for k in keys)):
                    filled = name
                    for hole, value in zip(holes, values):
                        filled = filled.replace("{" + hole + "}", value, 1)
                    asked.add((path.name, filled))
    assert {"preds/cnn+floor_test.npy", "features/image_probs.npy", "bag/best.pt"} <= {n for _, n in asked}
    assert [(file, name) for file, name in sorted(asked) if name not in PRODUCED_BY] == []
