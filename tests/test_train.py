"""utils.train's settings are the notebooks' parameters: same names, same defaults."""
import ast
import dataclasses
from pathlib import Path

import papermill as pm
import pytest

from utils.profiles import PROFILES, profile_parameters
from utils.train import BagSettings, CNNSettings, WarmupSettings

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
USERS = [(WarmupSettings, "02_swav_warmup"), (CNNSettings, "03_cnn_tempering"), (BagSettings, "05_bilstm")]


@pytest.mark.parametrize("settings, notebook", USERS, ids=lambda x: getattr(x, "__name__", x))
def test_settings_match_the_notebook_parameters(settings, notebook):
    declared = {name: ast.literal_eval(p["default"])
                for name, p in pm.inspect_notebook(str(NOTEBOOKS / f"{notebook}.ipynb")).items()}
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(settings)}
    missing = set(defaults) - set(declared)
    assert not missing, f"{notebook} does not declare {missing}"
    # the benchmark takes these defaults where no profile sets a value; notebooks take theirs
    differ = {k: (v, declared[k]) for k, v in defaults.items() if v != declared[k]}
    assert not differ, f"{settings.__name__} defaults differ from {notebook}'s: {differ}"


def test_pick_takes_only_its_fields_and_the_profile_values():
    params = {**profile_parameters("paper"), "unrelated": 1}
    s = CNNSettings.pick(params)
    assert s.cnn_epochs == PROFILES["paper"]["cnn_epochs"] == 100
    assert s.out_hw == [112, 336] and s.hflip == 0.5
    assert s.use_weights is True  # the paper profile names its loss; the default is plain BCE
    assert CNNSettings().use_weights is False
    assert BagSettings.pick(params).lstm_hidden == 1024
    # the paper's BiLSTM has no skip, though the kit's default (demo, cpu) has one
    assert BagSettings.pick(params).lstm_skip == "none" != BagSettings().lstm_skip


def test_fused_optimisers_where_the_device_has_them():
    import torch

    from utils.train import _optimizer_options
    assert _optimizer_options("cuda") == _optimizer_options("cuda:0") == {"fused": True}
    assert _optimizer_options("cpu") == _optimizer_options(torch.device("cpu")) == {}  # torch's default there
