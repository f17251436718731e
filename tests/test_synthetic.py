import hashlib

import numpy as np

from utils import facts
from utils.data import read_competition
from utils.labels import STAGES
from utils.synthetic import generate, make_bags


def _digest(folder):
    h = hashlib.sha1()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode() + p.read_bytes())
    return h.hexdigest()


def test_deterministic_for_a_seed_and_any_worker_count(tmp_path):
    a = generate(tmp_path / "a", n_bags=20, seed=5, workers=1)
    b = generate(tmp_path / "b", n_bags=20, seed=5, workers=2)
    c = generate(tmp_path / "c", n_bags=20, seed=6, workers=1)
    assert _digest(a) == _digest(b)
    assert _digest(a) != _digest(c)
    comp = read_competition(a)  # passes validation
    assert len(comp.train) + len(comp.test) == 20


def _tv(hist_a: dict, hist_b: dict) -> float:
    keys = set(hist_a) | set(hist_b)
    ta, tb = sum(hist_a.values()), sum(hist_b.values())
    return 0.5 * sum(abs(hist_a.get(k, 0) / ta - hist_b.get(k, 0) / tb) for k in keys)


def test_2000_bags_follow_the_real_figures():
    """Per-stage label rates within 0.05; histograms within total-variation distance 0.06."""
    bags = make_bags(2000, seed=11)
    for s_i, stage in enumerate(STAGES):
        at = [b for b in bags if b.stage == stage]
        rates = np.zeros(30)
        for b in at:
            rates[list(b.labels)] += 1
        rates /= len(at)
        real = np.array([r[s_i] for r in facts.POSITIVE_RATE_BY_STAGE])
        assert np.abs(rates - real).max() < 0.05, (stage, np.round(rates - real, 3))
    sizes, n_labels = {}, {}
    for b in bags:
        sizes[len(b.views)] = sizes.get(len(b.views), 0) + 1
        n_labels[len(b.labels)] = n_labels.get(len(b.labels), 0) + 1
    assert _tv(sizes, facts.BAG_SIZE_HISTOGRAM) < 0.06
    assert _tv(n_labels, facts.LABELS_PER_BAG_HISTOGRAM) < 0.06
    genes = {}
    for b in bags:
        genes[b.gene] = genes.get(b.gene, 0) + 1
    assert max(genes.values()) > 1  # genes span several stages
