"""The GPU benchmarks' bookkeeping, on the CPU: the GPU session that runs them has minutes, so
what they report (the same bytes twice, each notebook's rate, a step's rate and compile time)
must be right before they go. gpu_chain.py's pipeline is replaced by a small script that
writes what a run writes."""
import json
import os
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))

import gpu_chain  # noqa: E402
from train_throughput import steady  # noqa: E402

# A stand-in for one pipeline run in `work`: it saves 03's checkpoint, and unless resumed
# (`--from 03`) the run named "killed" then waits to be killed. A run that gets to the end
# writes both Kaggle files with the text BODY (the resumed run's own text if it has one).
FAKE_RUN = """
import json, os, sys, time, torch
from pathlib import Path
work, body, resumed_body = Path(sys.argv[1]), sys.argv[2], sys.argv[3]
resumed = "--from" in sys.argv
(work / "cnn").mkdir(parents=True, exist_ok=True)
(work / "executed").mkdir(exist_ok=True)
if not resumed:
    (work / "pid").write_text(str(os.getpid()))  # before the checkpoint, which starts the kill
    torch.save({"epoch": 0}, work / "cnn/last.tmp")
    os.replace(work / "cnn/last.tmp", work / "cnn/last.pt")  # atomic, as the kit saves checkpoints
    if work.name == "killed":
        time.sleep(60)
        raise SystemExit("not killed")
(work / "executed/03_cnn_tempering.ipynb").write_text("resuming from epoch 1" if resumed else "")
text = resumed_body if resumed else body
for kind in ("f1", "auc"):
    (work / f"{kind}.csv").write_text(f"{kind},{text}")
(work / "submission.json").write_text(json.dumps({k: str(work / f"{k}.csv") for k in ("f1", "auc")}))
"""


def fake_pipeline(body, resumed_body):
    def pipeline(data, work, subs, extra=(), device="cuda"):
        return [sys.executable, "-c", FAKE_RUN, str(work), body, resumed_body, *extra]
    return pipeline


@pytest.mark.parametrize("resumed_body, same", [("x", True), ("y", False)])
def test_reruns_kill_during_03_resume_from_03_and_compare_the_bytes(tmp_path, monkeypatch, resumed_body, same):
    monkeypatch.setattr(gpu_chain, "pipeline", fake_pipeline("x", resumed_body))
    t0 = time.time()
    out = gpu_chain.reruns(tmp_path / "data", tmp_path / "reruns", time.time() + 50, "cpu", [])
    assert time.time() - t0 < 40  # the killed run's 60 s sleep was not waited for
    with pytest.raises(ProcessLookupError):  # killed once 03 saved its epoch, not left running
        os.kill(int((tmp_path / "reruns/killed/pid").read_text()), 0)
    assert out["killed_after_epoch"] == 0 and out["resumed_said"] is True
    assert out["finished"] == ["a", "killed+resumed"]
    assert out["same_bytes"] is same


def test_submission_bytes_read_the_files_the_run_names(tmp_path):
    assert gpu_chain.submission_bytes(tmp_path) is None  # no submission yet
    for kind, text in (("f1", "one"), ("auc", "two")):
        (tmp_path / f"{kind}.csv").write_text(text)
    (tmp_path / "submission.json").write_text(json.dumps({k: str(tmp_path / f"{k}.csv") for k in ("f1", "auc")}))
    assert gpu_chain.submission_bytes(tmp_path) == (b"one", b"two")


def test_notebook_table_gives_seconds_epochs_and_the_median_rate_after_the_first_epoch(tmp_path):
    (tmp_path / "timings.json").write_text(json.dumps({"01_eda": 3.0, "03_cnn_tempering": 40.0}))
    (tmp_path / "cnn").mkdir()
    # The first epoch (compilation, cold caches) is left out of the medians.
    pd.DataFrame({"epoch": [0, 1, 2, 3], "seconds": [9.0, 2.0, 4.0, 3.0],
                  "images_per_second": [10.0, 500.0, 300.0, 400.0]}).to_csv(tmp_path / "cnn/history.csv")
    assert gpu_chain.notebook_table(tmp_path) == [
        {"notebook": "01_eda", "seconds": 3.0},
        {"notebook": "03_cnn_tempering", "seconds": 40.0, "epochs": 4, "epoch_seconds": 3.0,
         "images_per_second": 400}]


def test_notebook_table_reads_a_run_cut_during_03_from_its_checkpoint(tmp_path):
    (tmp_path / "timings.json").write_text(json.dumps({"01_eda": 3.0}))
    (tmp_path / "cnn").mkdir()
    history = [{"seconds": s, "train_images": 1000, "train_seconds": t} for s, t in ((9, 5.0), (3, 2.0), (3, 4.0))]
    torch.save({"history": history}, tmp_path / "cnn/last.pt")
    assert gpu_chain.notebook_table(tmp_path)[-1] == {
        "notebook": "03_cnn_tempering (cut)", "seconds": 15.0, "epochs": 3, "images_per_second": 375}


def test_a_steps_rate_is_the_median_after_the_first_epoch_and_its_compile_time_the_first_epochs_extra():
    history = pd.DataFrame({"train_seconds": [30.0, 2.0, 4.0, 9.0], "images_per_second": [10.0, 500.0, 250.0, 300.0]})
    assert steady(history) == (300.0, 26.0)  # medians of the last three: 300 images/s and 4 s (mean 5)
    one = pd.DataFrame({"train_seconds": [5.0], "images_per_second": [40.0]})
    assert steady(one) == (40.0, 0.0)  # one epoch: its own rate, nothing extra
