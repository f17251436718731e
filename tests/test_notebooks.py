"""The notebooks as files: one parameters cell that papermill reads in full, no outputs."""
import ast
import re
from pathlib import Path

import nbformat
import papermill as pm
import pytest

from utils.profiles import PROFILES, profile_parameters

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_parameter_is_visible_to_papermill(path):
    # papermill silently skips a line it cannot parse (an "=" inside the comment, say),
    # and the pipeline would then never pass that parameter.
    cells = [c for c in nbformat.read(path, 4).cells if "parameters" in c.metadata.get("tags", [])]
    assert len(cells) == 1
    assigned = re.findall(r"^(\w+)\s*=", cells[0].source, flags=re.M)
    assert sorted(pm.inspect_notebook(str(path))) == sorted(assigned)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    for cell in nbformat.read(path, 4).cells:
        if cell.cell_type == "code":
            assert not cell.outputs and cell.execution_count is None


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_every_profile_value_reaches_a_notebook(profile):
    # The pipeline passes a notebook only the parameters it declares, so a misspelt profile
    # key ("cnn_epoch") would be dropped without a word.
    declared = set().union(*(pm.inspect_notebook(str(p)) for p in NOTEBOOKS))
    unused = set(profile_parameters(profile)) - declared
    assert not unused, f"profile {profile!r} sets {sorted(unused)}, which no notebook declares"


def test_the_feature_dump_sees_images_as_the_cnn_trained():
    # 04 rebuilds 03's CNN and runs it on every image. A parameter of 03's view of an image
    # that 04 does not declare stays at 04's own default whatever the profile says: the
    # paper profile's float32 CNN had its features dumped in bf16 that way. (That both
    # defaults agree is the next test's, for every shared parameter.)
    params = {p.stem[:2]: pm.inspect_notebook(str(p)) for p in NOTEBOOKS}
    for name in ("backbone", "in_chans", "resize_hw", "out_hw", "amp"):
        assert name in params["03"] and name in params["04"], name


def test_a_parameter_several_notebooks_declare_has_one_default():
    # Stepping through by hand, or under a profile that does not name it, each notebook runs
    # its own default: 02 warming up channels-last and 03 training without it would each look
    # right alone, and only a GPU would show that they part.
    defaults = {}
    for path in NOTEBOOKS:
        for name, param in pm.inspect_notebook(str(path)).items():
            defaults.setdefault(name, {})[path.stem[:2]] = param["default"]
    differ = {name: seen for name, seen in defaults.items() if len(set(seen.values())) > 1}
    assert not differ, differ
    assert {"amp", "channels_last", "select_metric", "device"} <= {n for n, seen in defaults.items() if len(seen) > 1}


def test_stepping_through_by_hand_runs_the_demo_profile():
    # README: the defaults are the demo profile's, but for the single validation split. A
    # default left at the paper's value (the focal loss, say) gives an interactive user another
    # model than `python -m utils.pipeline --profile demo`, and no chain test would notice.
    demo = profile_parameters("demo")
    differ = []
    for path in NOTEBOOKS:
        for name, param in pm.inspect_notebook(str(path)).items():
            if name in demo and name != "n_folds" and ast.literal_eval(param["default"]) != demo[name]:
                differ.append(f"{path.stem}: {name} = {param['default']}, the demo profile's is {demo[name]!r}")
    assert not differ, "\n".join(differ)
    n_folds = {pm.inspect_notebook(str(p)).get("n_folds", {}).get("default") for p in NOTEBOOKS}
    assert n_folds == {None, "0"} and demo["n_folds"] == 3


def _runs_with(profile):
    """What each notebook runs with under the pipeline: its defaults, then the profile's values."""
    values = profile_parameters(profile)
    return {p.stem[:2]: {name: values.get(name, ast.literal_eval(param["default"]))
                         for name, param in pm.inspect_notebook(str(p)).items()} for p in NOTEBOOKS}


# DESIGN.md's numbers of the paper: warm-up bs 32, 2 epochs; CNN bs 128, 100 epochs, Adam 5e-3
# cosine to 1e-8 over 90 epochs, gamma 1->2 over the first 10 epochs, weights tempered between
# w_m and 1 from epoch 40 with a 30-epoch half period, frozen at 85; LSTM bs 256, 60 epochs,
# Adam 1e-2 cosine to 1e-8, dropout 0.5, hidden 1024; 116x340 cropped to 112x336, flips,
# rotation 15.
PAPER = {"02": {"warmup_batch_size": 32, "warmup_epochs": 2},
         "03": {"cnn_batch_size": 128, "cnn_epochs": 100, "cnn_lr": 5e-3, "cnn_lr_min": 1e-8, "cnn_lr_T": 90,
                "gamma_start": 1.0, "gamma_end": 2.0, "gamma_T": 10, "use_weights": True, "use_tempering": True,
                "temper_start": 40, "temper_half_period": 30, "temper_freeze": 85, "resize_hw": [116, 340],
                "out_hw": [112, 336], "hflip": 0.5, "vflip": 0.5, "max_rotation": 15.0},
         "05": {"bag_head": "bilstm", "lstm_batch_size": 256, "lstm_epochs": 60, "lstm_lr": 1e-2,
                "lstm_lr_min": 1e-8, "lstm_dropout": 0.5, "lstm_hidden": 1024, "lstm_skip": "none"}}


def test_the_paper_profile_runs_the_papers_numbers_whatever_the_notebook_defaults():
    runs = _runs_with("paper")
    for notebook, expected in PAPER.items():
        assert {name: runs[notebook][name] for name in expected} == expected, notebook


def test_no_profile_leaves_a_choice_to_the_notebook_defaults():
    # The defaults are the demo's (above), so a profile that omits a value the demo sets runs
    # the demo's: the paper profile once got its focal loss only from 03's defaults. The demo
    # data's size and style matter only to a run without --data; a run without a warm-up
    # ignores its schedule.
    demo = set(profile_parameters("demo")) - {"demo_bags", "demo_style"}
    for profile in sorted(PROFILES):
        values = profile_parameters(profile)
        unused = {"warmup_epochs", "warmup_batch_size", "warmup_lr"} if values["warmup_method"] == "none" else set()
        assert demo - unused <= set(values), (profile, sorted(demo - unused - set(values)))
    assert {profile: _runs_with(profile)["06"]["source"] for profile in PROFILES} == {
        "demo": "bag+floor", "cpu": "bag", "gpu": "bag", "paper": "bag"}  # utils/profiles.py's docstring
