"""A notebook run on its own on a work folder the test prepares, as a user steps through them
or resumes a run: one whose inputs are missing or do not match says which, and what to run,
before it reads or writes anything; a branch no profile's chain takes does what it says."""
import numpy as np
import papermill as pm
import pytest

from utils.pipeline import NOTEBOOK_DIR, execute_step
from utils.rundir import load_run, read_json, save_array
from utils.thresholds import tune_for_sample_f1, tune_thresholds


def _run(notebook: str, work, executed, **parameters) -> None:
    execute_step(NOTEBOOK_DIR / f"{notebook}.ipynb", executed / f"{notebook}.ipynb",
                 {"work_dir": str(work), **parameters})


def _predictions_to_tune(work, comp):
    """05's predictions as 06 reads them, made up here: the validation bags' targets and stage
    masks and their predictions (informative, not perfect); the test bags' are noise."""
    _, _, valid = load_run(work)
    y, mask = np.stack([b.target for b in valid]), np.stack([b.mask for b in valid])
    rng = np.random.default_rng(0)
    p_valid = np.clip(0.5 * y + 0.6 * rng.random(y.shape), 0, 1).astype(np.float32)
    save_array(work / "preds/bag_valid.npy", p_valid)
    save_array(work / "preds/bag_test.npy", rng.random((len(comp.test), y.shape[1]), dtype=np.float32))
    return y, mask, p_valid


def test_the_first_notebook_told_not_to_build_data_names_the_folder_that_is_not_there(tmp_path_factory):
    work = tmp_path_factory.mktemp("work")
    with pytest.raises(pm.PapermillExecutionError,
                       match=r"no_such_data does not exist \(pass the competition folder as data_dir\)"):
        _run("00_demo_data", work, tmp_path_factory.mktemp("executed"), data_dir=str(work / "no_such_data"),
             build_demo_data=False)
    assert not (work / "no_such_data").exists()


@pytest.mark.parametrize("notebook, parameters, present, missing", [
    # 04's own check is test_chain.py::test_a_failing_notebook_stops_the_chain_naming_its_executed_copy
    ("05_bilstm", {"fold": 1}, [], "fold1 lacks features/features.npy (from 04_feature_dump)"),
    ("06_threshold_tuning", {}, [], "lacks preds/bag_valid.npy (from 05_bilstm), preds/bag_test.npy (from 05_bilstm)"),
    ("07_submission", {}, [], "lacks preds/bag+floor_test.npy (from 06_threshold_tuning), "
                              "thresholds.json (from 06_threshold_tuning); run the earlier notebooks first"),
    ("08_explain", {}, [], "lacks thresholds.json (from 06_threshold_tuning), warmup/backbone.pt (from 02_swav_warmup)"),
    ("08_explain", {"fold": 0}, ["thresholds.json", "warmup/backbone.pt"],
     "fold0 lacks cnn/best.pt (from 03_cnn_tempering), features/features.npy (from 04_feature_dump), "
     "preds/bag_valid.npy (from 05_bilstm), bag/best.pt (from 05_bilstm)"),
    # 05's BiLSTM has no weight per image: 08 fits its own small head and needs no bag/best.pt
    ("08_explain", {"fold": 0, "bag_head": "lstm", "warmup_method": "none"}, ["thresholds.json"],
     "fold0 lacks cnn/best.pt (from 03_cnn_tempering), features/features.npy (from 04_feature_dump), "
     "preds/bag_valid.npy (from 05_bilstm); run"),
], ids=["05", "06", "07", "08", "08-models", "08-lstm-no-warmup"])
def test_a_notebook_run_before_the_one_that_makes_its_inputs_names_them_and_their_notebook(
        notebook, parameters, present, missing, kfold_work, tmp_path_factory):
    work, _ = kfold_work  # what 00 leaves: data.json and split.csv, nothing trained
    for name in present:  # what a later notebook made (only its name is looked at)
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("{}")
    with pytest.raises(pm.PapermillExecutionError, match="FileNotFoundError") as err:
        _run(notebook, work, tmp_path_factory.mktemp("executed"), **parameters)
    assert missing in str(err.value)


def test_threshold_notebook_run_by_hand_refuses_a_fold_count_00_did_not_split(kfold_work, tmp_path_factory):
    """06 with n_folds=5 on a run that 00 split into 3 folds (a user editing the parameters
    cell): it says so and what to rerun, before reading any fold; the run folder is untouched."""
    work, _ = kfold_work
    before = sorted((p, p.read_bytes()) for p in work.rglob("*") if p.is_file())
    with pytest.raises(pm.PapermillExecutionError, match="split.csv has 3 folds, not n_folds=5; rerun 00"):
        _run("06_threshold_tuning", work, tmp_path_factory.mktemp("executed"), n_folds=5)
    assert sorted((p, p.read_bytes()) for p in work.rglob("*") if p.is_file()) == before


def test_threshold_notebook_run_by_hand_refuses_an_objective_it_does_not_know(kfold_work, tmp_path_factory):
    """A typo in threshold_objective (the pipeline refuses it before a run; a user editing the
    parameters cell gets no such check) stops 06 at once, naming the choices, rather than
    tuning for macro-F1 under the typo's name: the blend with the floor is not saved either."""
    work, comp = kfold_work
    _predictions_to_tune(work, comp)
    before = sorted((p, p.read_bytes()) for p in work.rglob("*") if p.is_file())
    with pytest.raises(pm.PapermillExecutionError,
                       match=r"threshold_objective 'samples' unknown; choose from \('macro', 'sample'\)"):
        _run("06_threshold_tuning", work, tmp_path_factory.mktemp("executed"), threshold_objective="samples")
    assert sorted((p, p.read_bytes()) for p in work.rglob("*") if p.is_file()) == before


def test_thresholds_for_sample_f1_refine_the_per_label_ones_on_the_validation_bags(kfold_work, tmp_path_factory):
    """threshold_objective="sample" (no profile sets it): 06 saves the per-label F1 thresholds
    refined by coordinate ascent on sample-F1, as utils.thresholds computes them here."""
    work, comp = kfold_work
    y, mask, p_valid = _predictions_to_tune(work, comp)
    _run("06_threshold_tuning", work, tmp_path_factory.mktemp("executed"), source="bag", threshold_objective="sample")
    tuned = read_json(work / "thresholds.json")
    per_label = tune_thresholds(y, p_valid, mask=mask)
    expected = tune_for_sample_f1(y, p_valid, per_label, mask=mask)
    assert not np.allclose(expected, per_label)  # the refinement moves some: the check can tell them apart
    assert (tuned["source"], tuned["objective"]) == ("bag", "sample")
    assert np.allclose(tuned["thresholds"], expected)
