"""The notebooks as files: one parameters cell that papermill reads in full, no outputs."""
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
    # paper profile's float32 CNN had its features dumped in bf16 that way.
    params = {p.stem[:2]: pm.inspect_notebook(str(p)) for p in NOTEBOOKS}
    for name in ("backbone", "in_chans", "resize_hw", "out_hw", "amp"):
        assert name in params["03"] and name in params["04"], name
        assert params["03"][name]["default"] == params["04"][name]["default"], name
