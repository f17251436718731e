import shutil

import pytest

from utils.synthetic import generate


@pytest.fixture(scope="session")
def demo_dir(tmp_path_factory):
    """A small generated competition folder shared by the tests (read-only use)."""
    return generate(tmp_path_factory.mktemp("data") / "demo", n_bags=40, seed=0, workers=2)


@pytest.fixture
def data_copy(demo_dir, tmp_path):
    """A private copy a test may break."""
    return shutil.copytree(demo_dir, tmp_path / "copy")
