"""Every profile's chain end to end on a 21-bag folder with the schedules cut to an epoch or
two (slow: about a minute and a half each). The paper profile is the only one that takes
flips, rotation, flip test-time augmentation, the single split and the BiLSTM, so a typo
or a broken branch there breaks CI, not a user's GPU run."""
import json

import numpy as np
import pytest
from conftest import check_explained_maps

from utils.pipeline import run_chain
from utils.profiles import PROFILES
from utils.rundir import load_run, read_json
from utils.submission import validate_auc, validate_f1

pytestmark = pytest.mark.slow
TINY = {"warmup_epochs": 1, "cnn_epochs": 2, "cnn_lr_T": 2, "gamma_T": 1, "temper_start": 0,
        "temper_half_period": 1, "temper_freeze": 2, "lstm_epochs": 2}
# The cpu profile's run also trains on colour images (-p in_chans 3) in 2 folds (--folds 2): the
# one chain with an RGB cache, which 00, 02, 03 and 04 must all read as 3 channels, and the one
# with the fewest folds K-fold mode takes.
COLOUR = {"cpu": {"in_chans": 3}}
FOLDS = {"cpu": 2}
# And with --device auto, as a user without a GPU may run it: 02 to 05 must each resolve it
# (to the CPU here) before anything is moved to it.
DEVICE = {"cpu": "auto"}


def _check_submission(result, work):
    comp, _, _ = load_run(work)
    ids = [b.gene_stage for b in comp.test]
    validate_f1(result["f1"], ids)
    validate_auc(result["auc"], ids)
    return read_json(result["manifest"])


@pytest.mark.parametrize("profile", sorted(set(PROFILES) - {"demo"}))  # demo: test_chain.py
def test_profile_runs_end_to_end(profile, small_dir, tmp_path):
    work = tmp_path / "w"
    overrides = {**TINY, **COLOUR.get(profile, {})}
    result = run_chain(profile, data_dir=small_dir, work_dir=work, overrides=overrides, extras=True,
                       folds=FOLDS.get(profile), device=DEVICE.get(profile), submission_dir=tmp_path / "subs",
                       quiet=True)
    manifest = _check_submission(result, work)
    params = manifest["parameters"]
    assert params["device"] == DEVICE.get(profile, "cpu")  # the run asked for, as the notebooks got it
    folds = FOLDS.get(profile, PROFILES[profile]["n_folds"])
    for key, value in PROFILES[profile].items():  # the profile's values, except those overridden
        assert params[key] == {**overrides, "n_folds": folds}.get(key, value), key
    assert read_json(work / "data.json")["cache"].startswith("images-RGB-" if profile in COLOUR else "images-L-")
    executed = {p.stem for p in (work / "executed").glob("*.ipynb")}
    assert "08_explain" in executed  # --extras ran after 07
    # Its maps: of fold 0's CNN in K-fold mode, of colour images, of the CNN without a warm-up.
    check_explained_maps(work, work / "executed/08_explain.ipynb", 0 if folds >= 2 else None, params)
    if folds >= 2:
        assert {f"05_bilstm-fold{k}" for k in range(folds)} <= executed and f"05_bilstm-fold{folds}" not in executed
        assert len(np.load(work / "preds/bag_oof.npy")) == len(load_run(work)[0].train)  # 06 tuned out of fold
    else:
        assert "05_bilstm" in executed and not (work / "fold0").exists()
    if profile == "paper":
        # What only this profile does: flips and rotation in training (and, as the paper states
        # none, no test-time flip), the BiLSTM.
        assert (params["hflip"], params["vflip"], params["max_rotation"], params["tta_flip"]) == (0.5, 0.5, 15.0, False)
        injected = [c for c in json.loads((work / "executed/03_cnn_tempering.ipynb").read_text())["cells"]
                    if "injected-parameters" in c["metadata"].get("tags", [])]
        assert "hflip = 0.5" in "".join(injected[0]["source"])
        bag_notebook = (work / "executed/05_bilstm.ipynb").read_text()
        assert "BiLSTMBagHead" in bag_notebook
        assert "validation with 4 order(s)" in bag_notebook  # an order-dependent head averages n_orders
        # A BiLSTM weighs no image: 08 fits a small attention head to show, and says so.
        assert "attention head fitted here on the CNN's features (05 trained bilstm" in (
            work / "executed/08_explain.ipynb").read_text()
        history = np.genfromtxt(work / "cnn/history.csv", delimiter=",", names=True)
        assert len(history) == 2
    if profile == "gpu":
        # What only this profile does: ResNet18 (512 features an image, RegNetY-200MF has 368)
        # at the paper's size, from random weights (no warm-up), and 08's heat maps of the trained CNN.
        assert np.load(work / "features/features.npy").shape[1] == 512
        assert "starting from random weights" in (work / "executed/03_cnn_tempering.ipynb").read_text()
        assert "heat maps of the trained CNN's 'layer2'" in (work / "executed/08_explain.ipynb").read_text()
