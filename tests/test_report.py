"""The run report (report.html) and the table of runs (utils.runs), on run folders written
with the pipeline's own writers: a finished single-split run, a K-fold run, a failed run."""
from html.parser import HTMLParser
from pathlib import Path

import matplotlib
import pytest

from conftest import render_in_chromium
from utils.report import write_report
from utils.rundir import read_json, write_json
from utils.runs import main as runs_main
from utils.runs import runs_table
from utils.runspec import record_step, set_status, write_run

matplotlib.use("Agg")
SCORES = {"auc": 0.91234, "auc_within_stage": 0.7712, "macro_f1": 0.5561, "sample_f1": 0.6012, "score": 0.6475}


def _run(root, name, overrides=None, folds=0, state="finished", step="07_submission", error=None, test=SCORES):
    """A work folder as the pipeline leaves it (run.json, data.json, scores, timings, submission)."""
    import matplotlib.pyplot as plt

    work = Path(root) / name
    params = {"profile": "demo", "seed": 3, "bag_head": "attention", "n_folds": folds}
    write_run(work, {"profile": "demo", "seed": 3}, overrides or {}, params)
    write_json(work / "data.json", {"fingerprint": "x", "split": {"n_folds": folds, "notes": []}})
    write_json(work / "timings.json", {"00_demo_data": 60.0, "03_cnn_tempering": 120.0})
    for label in ["00_demo_data", "03_cnn_tempering"]:
        record_step(work, label, [])
    set_status(work, state, step, error)
    if state == "finished":
        write_json(work / "thresholds.json", {"source": "bag", "thresholds": [0.5] * 30,
                                              "valid_tuned": {**SCORES, "macro_f1": 0.61}, "valid_at_0.5": SCORES})
        write_json(work / "scores/test_hidden.json", test)
        write_json(work / "scores/floors.json", [
            {"floor": "stage prior", "bags": "out-of-fold", **SCORES, "macro_f1": 0.1},
            {"floor": "stage prior", "bags": "hidden test", **SCORES},
            {"floor": "thumbnails + logistic regression", "bags": "out-of-fold", **SCORES, "sample_f1": 0.2},
            {"floor": "thumbnails + logistic regression", "bags": "hidden test", **SCORES, "auc_within_stage": 0.8}])
        write_json(work / "scores/per_label.json", [{"term": f"{j} term", "F1": 0.5, "threshold": 0.4,
                                                     "positives": 3, "share": 0.1} for j in range(30)])
        write_json(work / "submission.json", {"f1": str(root / "subs" / name / "submission_f1.csv"),
                                              "auc": str(root / "subs" / name / "submission_auc.csv"),
                                              "manifest": str(root / "subs" / name / "manifest.json")})
        (work / "figures").mkdir()
        fig, ax = plt.subplots(figsize=(3, 2))
        ax.plot([0, 1], [1, 0])
        fig.savefig(work / "figures/curve.png")
        plt.close(fig)
    return work


def test_runs_table_lists_finished_kfold_failed_runs_and_survives_an_empty_folder(tmp_path, capsys):
    _run(tmp_path, "single", overrides={"cnn_epochs": 6})
    _run(tmp_path, "kfold", folds=3, test={**SCORES, "score": 0.70})
    _run(tmp_path, "failed", state="failed", step="03_cnn_tempering-fold1", error="FloatingPointError: loss is nan")
    _run(tmp_path, "killed", state="running", step="05_bilstm")
    _run(tmp_path, "stopped", state="stopped", step="04_feature_dump")  # --to 04
    (tmp_path / "empty").mkdir()
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken/run.json").write_text("{not json")
    table = runs_table(tmp_path)
    assert table.run.tolist()[:2] == ["kfold", "single"]  # best hidden-test score first
    rows = table.set_index("run")
    assert rows.loc["kfold", "folds"] == 3 and rows.loc["single", "folds"] == 0
    assert rows.loc["single", "changed"] == "cnn_epochs=6" and rows.loc["single", "minutes"] == 3.0
    assert rows.loc["single", "submission"] == str(tmp_path / "subs" / "single")  # the folder of 07's files
    assert rows.loc["single", "test_macro_f1"] == SCORES["macro_f1"] and rows.loc["single", "valid_macro_f1"] == 0.61
    # the floors beside the scores, on the same bags (within-stage AUC / macro-F1 / sample-F1)
    assert rows.loc["single", "floor_prior"] == "0.771 / 0.556 / 0.601"
    assert rows.loc["single", "floor_thumbnails"] == "0.800 / 0.556 / 0.601"
    assert rows.loc["failed", "status"] == "failed at 03_cnn_tempering-fold1: FloatingPointError: loss is nan"
    assert rows.loc["killed", "status"].startswith("incomplete (running or killed at 05_bilstm; last finished 03_cnn")
    assert rows.loc["stopped", "status"] == "stopped after 04_feature_dump"
    assert rows.loc["broken", "status"] == (f"unreadable: DamagedFile: {tmp_path / 'broken/run.json'} is not valid "
                                            "JSON (Expecting property name enclosed in double quotes: line 1 "
                                            "column 2 (char 1)); it was changed after the kit wrote it")
    assert "empty" not in rows.index
    assert sorted(runs_table(tmp_path, sort="valid_macro_f1").run.tolist()[:2]) == ["kfold", "single"]
    assert runs_main([str(tmp_path), "--csv", str(tmp_path / "runs.csv")]) == 0
    out = capsys.readouterr().out
    assert "failed at 03_cnn_tempering-fold1" in out
    # a score only some runs have is shown, "-" where missing
    header = out.splitlines()[0].split()
    assert {"test_macro_f1", "floor_prior", "valid_macro_f1"} <= set(header) and " - " in out
    # each row starts with its run's name, best first: no index column before it
    assert [line.split()[0] for line in out.splitlines()[1:3]] == ["kfold", "single"]
    assert (tmp_path / "runs.csv").read_text().startswith("run,status,profile")
    # real data: no hidden test labels, so the floors out of fold, and said so
    real = _run(tmp_path, "real")
    floors = [r for r in read_json(real / "scores/floors.json") if r["bags"] == "out-of-fold"]
    write_json(real / "scores/floors.json", floors)
    rows = runs_table(tmp_path).set_index("run")
    assert rows.loc["real", "floor_prior"] == "0.771 / 0.100 / 0.601 (oof)"
    assert rows.loc["real", "floor_thumbnails"] == "0.771 / 0.556 / 0.200 (oof)"
    assert runs_main([str(tmp_path / "empty")]) == 0 and "no runs found" in capsys.readouterr().out
    only_real = tmp_path / "only_real"  # a column no run has is left out: no hidden test labels
    (_run(only_real, "real") / "scores/test_hidden.json").unlink()
    assert runs_main([str(only_real)]) == 0
    header = capsys.readouterr().out.splitlines()[0].split()
    assert "valid_macro_f1" in header and not any(c.startswith("test_") for c in header)
    with pytest.raises(ValueError, match="--sort 'nope'"):
        runs_table(tmp_path, sort="nope")


class _Cells(HTMLParser):
    """The score cells of the page: (file, key, metric) -> text."""

    def __init__(self):
        super().__init__()
        self.cells, self._open, self.body = {}, None, {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "body":
            self.body = attrs
        if tag == "td" and "data-score" in attrs:
            self._open = (attrs["data-file"], attrs["data-key"], attrs["data-score"])
            self.cells[self._open] = ""

    def handle_data(self, data):
        if self._open:
            self.cells[self._open] += data.strip()

    def handle_endtag(self, tag):
        if tag == "td":
            self._open = None


def check_report(work, tmp_path):
    """Open work/report.html in headless Chromium: every figure decoded, every score the
    JSON's (to the 4 decimals shown). Returns the number of figures."""
    parser = _Cells()
    parser.feed(render_in_chromium(work / "report.html", tmp_path))
    widths = [int(w) for w in parser.body["data-image-widths"].split(",")]
    assert widths and all(w > 0 for w in widths), widths
    assert parser.cells
    for (file, key, metric), text in parser.cells.items():
        scores = read_json(work / file)
        value = (scores[int(key)] if isinstance(scores, list) else scores[key] if key else scores).get(metric)
        assert text == ("" if value is None else f"{value:.4f}"), (file, key, metric)
    return len(widths)


def test_report_shows_the_runs_scores_and_figures(tmp_path):
    work = _run(tmp_path, "single", overrides={"cnn_epochs": 6})
    html = write_report(work).read_text()
    assert "python -m utils.pipeline --profile demo --seed 3" in html and "cnn_epochs" in html
    assert 'href="executed/' not in html and "subs/single/submission_f1.csv" in html
    assert "bag model, hidden test labels" in html and "bag model, validation split, thresholds 0.5" in html
    assert "3 term" in html and "http" not in html.replace("http-equiv", "")  # nothing to fetch
    for floor in ("stage prior", "thumbnails + logistic regression"):  # the floors beside the model
        assert f"floor: {floor}, hidden test" in html and f"floor: {floor}, out-of-fold" in html
    assert check_report(work, tmp_path) == 1


def test_text_from_the_run_is_escaped_not_read_as_html(tmp_path):
    # A folder name or a term holding markup (a hand-edited terms file) shows as text, not as
    # elements of the page.
    import html as html_lib
    work = _run(tmp_path, "a<b>&c")
    write_json(work / "scores/per_label.json", [{"term": "<script>x</script>", "F1": 0.5, "threshold": 0.4,
                                                 "positives": 3, "share": 0.1}])
    page = write_report(work).read_text()
    assert html_lib.escape("a<b>&c", quote=False) in page and "a<b>" not in page
    assert html_lib.escape("<script>x</script>", quote=False) in page and "<script>x" not in page


def test_python_dash_m_utils_report_writes_one_work_folders_report(tmp_path, capsys):
    from utils.report import main
    work = _run(tmp_path, "single")
    assert main([str(work)]) == 0
    assert capsys.readouterr().out.strip() == str(work / "report.html") and (work / "report.html").exists()
    for wrong in ([], [str(work), str(work)]):  # one folder, else the usage
        with pytest.raises(SystemExit):
            main(wrong)
        assert "usage: python -m utils.report" in capsys.readouterr().err
    (work / "run.json").unlink()  # stepped through by hand: the notebooks write data.json, not run.json
    assert main([str(work)]) == 0 and capsys.readouterr().out.strip() == str(work / "report.html")
    typo = tmp_path / "rnus/demo-seed0"
    assert main([str(typo)]) == 2 and not (tmp_path / "rnus").exists()  # no folder made for a typo
    assert f"{typo} is not a run's work folder" in capsys.readouterr().err


def test_a_run_from_an_older_kit_without_a_status_is_finished_only_with_a_submission(tmp_path):
    import json
    for name, submitted in [("old-finished", True), ("old-cut", False)]:
        work = tmp_path / name
        work.mkdir()
        (work / "run.json").write_text(json.dumps({"profile": "demo", "parameters": {"seed": 0}}))
        if submitted:
            write_json(work / "submission.json", {"f1": str(tmp_path / "subs" / name / "submission_f1.csv")})
    rows = runs_table(tmp_path, sort="run").set_index("run")
    assert rows.loc["old-finished", "status"] == "finished" and rows.loc["old-cut", "status"] == "incomplete"


def test_a_kfold_report_says_out_of_fold_and_shows_every_folds_cnn_row_and_figures(tmp_path):
    import matplotlib.pyplot as plt
    import numpy as np

    work = _run(tmp_path, "kfold", folds=3)
    (work / "preds").mkdir()
    np.save(work / "preds/bag_oof.npy", np.zeros((4, 30)))
    for k in range(3):
        write_json(work / f"fold{k}/scores/cnn_mean_pool.json", {**SCORES, "macro_f1": 0.5 + k / 100})
    (work / "fold2/figures").mkdir()
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    fig.savefig(work / "fold2/figures/history.png")
    plt.close(fig)
    html = write_report(work).read_text()
    assert "bag model, out-of-fold, every training bag, tuned thresholds" in html
    assert "bag model, out-of-fold, every training bag, thresholds 0.5" in html  # what tuning bought
    assert "validation split" not in html
    for k in range(3):
        assert f"CNN alone, images averaged per bag (fold{k}, thresholds 0.5)" in html
    assert "fold2/figures/history.png" in html and "figures/curve.png" in html
    assert "<td><b>total</b></td><td><b>180</b></td>" in html  # 60 s + 120 s of timings.json
    assert check_report(work, tmp_path) == 2
