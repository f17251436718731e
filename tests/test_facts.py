"""The embedded figures of the real data agree with each other. They were copied from separate
tables (counts, histograms, rates, co-occurrences), and the generator and its tests both read
them, so a typo here would pass every other test: each table is checked against the others."""
import numpy as np
import pytest

from utils import facts

STAGES = (2, 3, 4, 5, 6)
BAGS = np.array([facts.BAGS_PER_STAGE[s] for s in STAGES])
RATES = np.array(facts.POSITIVE_RATE_BY_STAGE)  # (30 labels, 5 stages)
COUNTS = RATES * BAGS  # bags carrying each label at each stage


def test_totals_agree_across_tables():
    assert BAGS.sum() == facts.N_BAGS
    assert sum(facts.VIEW_COUNTS.values()) == facts.N_IMAGES  # one view per image
    assert sum(facts.BAG_SIZE_HISTOGRAM.values()) == facts.N_BAGS
    assert sum(k * v for k, v in facts.BAG_SIZE_HISTOGRAM.items()) == facts.N_IMAGES
    assert sum(facts.LABELS_PER_BAG_HISTOGRAM.values()) == facts.N_BAGS
    assert sum(facts.BAGS_PER_GENE_HISTOGRAM.values()) == facts.N_GENES  # genes by their bags
    assert sum(k * v for k, v in facts.BAGS_PER_GENE_HISTOGRAM.items()) == facts.N_BAGS


def test_rates_are_whole_bag_counts_rounded_to_four_places():
    # a rate rounded to 4 places misses its count by at most 0.00005 x 2667 bags = 0.13 of a bag
    assert np.abs(COUNTS - np.round(COUNTS)).max() <= 0.00005 * BAGS.max()
    labels_carried = sum(k * v for k, v in facts.LABELS_PER_BAG_HISTOGRAM.items())
    assert abs(COUNTS.sum() - labels_carried) <= 0.00005 * BAGS.sum()


def test_label_indices_follow_term_frequency():
    assert len(facts.TERMS) == len(set(facts.TERMS)) == len(RATES) == 30
    totals = np.round(COUNTS).sum(1)
    assert (np.diff(totals) <= 0).all(), totals  # index i is the i-th most frequent term


def test_stages_where_seen_match_the_rates():
    positive = {(label, s) for label in range(30) for k, s in enumerate(STAGES) if RATES[label, k] > 0}
    seen = {(label, s) for label, stages in enumerate(facts.STAGES_WHERE_SEEN) for s in stages}
    assert seen <= positive
    # The one exception: 3 stage-3 bags carry amnioserosa (27); the stage mask leaves them out.
    assert positive - seen == {(27, 3)}
    assert round(COUNTS[27, 1]) == 3


@pytest.mark.parametrize("stage", STAGES)
def test_cooccurrences_fit_inside_both_labels_counts(stage):
    counts = np.round(COUNTS[:, STAGES.index(stage)])
    for (i, j), both in facts.COOCCURRENCE_BY_STAGE[stage].items():
        assert i < j and 0 < both <= min(counts[i], counts[j]), (stage, i, j, both)


def test_image_statistics_are_quantiles():
    for name, q in facts.REAL_IMAGE_STATS.items():
        assert len(q) == 21 and (np.diff(q) >= 0).all(), name
