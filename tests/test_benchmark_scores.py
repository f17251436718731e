"""The scores and tables of benchmarks/ablation.py and benchmarks/bag_study.py, on hand-built
cases: issue 11's `gpu` profile and BiLSTM fix are chosen from them, so a row scored on the
wrong bags or with a wrong spread would choose them."""
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import bag_study  # noqa: E402
from ablation import score, table  # noqa: E402

# Two labels, one a bag. Validation separates them between 0.2 and 0.4, test between 0.6 and
# 0.8 (as in test_threshold_ceiling), so thresholds tuned on validation predict every label
# on every test bag: F1 2 / (2 + 1) = 2/3 each way. Tuned on test they would score 1.
Y = np.array([[1, 0], [1, 0], [0, 1], [0, 1]])
BAGS = [SimpleNamespace(target=t, mask=np.ones(2, bool)) for t in Y]
P_VALID, P_TEST = np.where(Y == 1, 0.4, 0.2), np.where(Y == 1, 0.8, 0.6)


def test_an_ablation_row_is_scored_on_the_test_bags_at_thresholds_tuned_on_the_validation_bags():
    got = score(BAGS, P_VALID, BAGS, P_TEST, Y)
    assert got == pytest.approx({"auc": 1.0, "auc_samples": 1.0, "auc_within_stage": 1.0,
                                 "macro_f1": 2 / 3, "sample_f1": 2 / 3})


def test_a_bag_study_model_scores_each_set_it_has_at_thresholds_tuned_on_the_validation_bags():
    rows = bag_study.rows_for("m", {"train": (BAGS, None, None), "valid": (BAGS, P_VALID, None),
                                    "test": (BAGS, P_TEST, Y)})
    assert [(r["model"], r["bags"]) for r in rows] == [("m", "valid"), ("m", "test")]  # no predictions: no row
    assert rows[0]["macro_f1"] == 1.0 and rows[0]["sample_f1"] == 1.0  # tuned there
    assert rows[1]["macro_f1"] == pytest.approx(2 / 3) and rows[1]["sample_f1"] == pytest.approx(2 / 3)
    unlabelled = bag_study.rows_for("m", {"valid": (BAGS, P_VALID, None), "test": (BAGS, P_TEST, None)})
    assert [r["bags"] for r in unlabelled] == ["valid"]  # no hidden labels: no test row
    table = bag_study.table(pd.DataFrame(rows + [{**rows[0], "model": "n", "best_epoch": 3, "seconds": 9}]))
    assert table.splitlines()[2:] == ["| m | 1.000 / 1.000 / 0.667 / 0.667 | 1.000 / 1.000 / 1.000 / 1.000 |  |  |",
                                      "| n |  /  /  /  | 1.000 / 1.000 / 1.000 / 1.000 | 3 | 9.0 |"]


def test_the_ablation_table_gives_each_rows_mean_and_sample_spread_over_seeds_in_run_order():
    metrics = ["auc", "auc_samples", "auc_within_stage", "macro_f1", "sample_f1"]
    results = pd.DataFrame([{"row": "b", **dict.fromkeys(metrics, 0.4), "seconds": 10},
                            {"row": "a", **dict.fromkeys(metrics, 0.9), "seconds": 7},
                            {"row": "b", **dict.fromkeys(metrics, 0.6), "seconds": 20}])
    lines = table(results).splitlines()
    assert lines[0] == "| row | " + " | ".join(metrics + ["seconds"]) + " |"
    # b: mean 0.5, standard deviation with n - 1: sqrt(2 * 0.1 ** 2 / 1) = 0.141; one seed: 0.
    assert lines[2:] == ["| b | " + "0.500 ± 0.141 | " * 5 + "15 |", "| a | " + "0.900 ± 0.000 | " * 5 + "7 |"]
