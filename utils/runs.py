"""A table of every run in a folder, to compare them and pick the one to submit.

    python -m utils.runs                       # runs/ of the kit
    python -m utils.runs RUNS_DIR --sort valid_macro_f1 --csv runs.csv

It only reads what the runs wrote (run.json, data.json, thresholds.json, scores/,
timings.json, submission.json): a failed or half-finished run is listed as such, and a
folder whose files cannot be read is listed with the reason. Scores on the hidden test
labels exist only for generated data; on real data sort by a validation score. Each run's
floors (07: the stage prior, thumbnails + logistic regression) stand beside its scores as
within-stage AUC / macro-F1 / sample-F1, on the hidden test labels where there are any,
else out of fold on the training bags ("oof").
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from .atomic import atomic_path
from .rundir import read_json

METRICS = ["auc_within_stage", "macro_f1", "sample_f1", "score"]
FLOORS = {"floor_prior": "stage prior", "floor_thumbnails": "thumbnails + logistic regression"}


def scores_text(scores: dict | None) -> str:
    """ "within-stage AUC / macro-F1 / sample-F1" of a scores dict, "-" for none."""
    return "-" if not scores else " / ".join(f"{scores[m]:.3f}" for m in METRICS[:3])


def floor_summary(path: Path) -> dict:
    """The two floors of 07's scores/floors.json, each as one "within-stage AUC / macro-F1 /
    sample-F1" text, on the hidden test bags where 07 scored them."""
    rows = read_json(path)
    on = "hidden test" if any(r["bags"] == "hidden test" for r in rows) else "out-of-fold"
    out = {}
    for column, name in FLOORS.items():
        for r in rows:
            if r["floor"] == name and r["bags"] == on:
                out[column] = scores_text(r) + ("" if on == "hidden test" else " (oof)")
    return out


def _status(run: dict, work: Path) -> str:
    status = run.get("status")
    if status is None:  # written by an older kit: only the files tell
        return "finished" if (work / "submission.json").exists() else "incomplete"
    state, step = status["state"], status.get("step")
    if state == "failed":
        return f"failed at {step}: {status.get('error') or ''}".strip()
    if state == "running":  # still running, or killed
        done = [label for label, _ in sorted(run.get("steps", {}).items(), key=lambda kv: kv[1]["order"])]
        return f"incomplete (running or killed at {step}; last finished {done[-1] if done else 'none'})"
    if state == "stopped":
        return f"stopped after {step}"
    return state


def describe_run(work: Path) -> dict:
    """One row of the table for the work folder `work`."""
    row = {"run": work.name}
    try:
        run = read_json(work / "run.json")
        params = run.get("parameters", {})
        data = read_json(work / "data.json") if (work / "data.json").exists() else {}
        folds = data.get("split", {}).get("n_folds", params.get("n_folds"))
        row.update(status=_status(run, work), profile=run.get("profile"), seed=params.get("seed"),
                   folds=folds or 0, bag_head=params.get("bag_head"),
                   changed=" ".join(f"{k}={v}" for k, v in run.get("overrides", {}).items()))
        for prefix, path, key in [("test", work / "scores/test_hidden.json", None),
                                  ("valid", work / "thresholds.json", "valid_tuned")]:
            if path.exists():
                scores = read_json(path)
                scores = scores[key] if key else scores
                row.update({f"{prefix}_{m}": scores.get(m) for m in METRICS})
        if (work / "scores/floors.json").exists():
            row.update(floor_summary(work / "scores/floors.json"))
        if (work / "timings.json").exists():
            row["minutes"] = round(sum(read_json(work / "timings.json").values()) / 60, 1)
        if (work / "submission.json").exists():
            row["submission"] = str(Path(read_json(work / "submission.json")["f1"]).parent)
    except (OSError, ValueError, KeyError, TypeError) as e:  # a damaged folder is shown, not skipped
        row["status"] = f"unreadable: {type(e).__name__}: {e}"
    return row


def find_runs(runs_dir) -> list[Path]:
    """Work folders (holding run.json) in `runs_dir` and one level below, and `runs_dir` itself."""
    runs_dir = Path(runs_dir)
    candidates = [runs_dir, *sorted(p for p in runs_dir.iterdir() if p.is_dir())] if runs_dir.is_dir() else []
    return [p for p in candidates if (p / "run.json").exists()]


def runs_table(runs_dir, sort: str = "test_score") -> pd.DataFrame:
    """Every run found, best first by `sort` (runs without that score last)."""
    rows = [describe_run(p) for p in find_runs(runs_dir)]
    columns = ["run", "status", "profile", "seed", "folds", "bag_head", "changed",
               *[f"{p}_{m}" for p in ("test", "valid") for m in METRICS], *FLOORS, "minutes", "submission"]
    table = pd.DataFrame(rows, columns=columns)
    if sort not in table.columns:
        raise ValueError(f"--sort {sort!r}: choose a column of {columns}")
    return table.sort_values(sort, ascending=False, na_position="last", kind="stable").reset_index(drop=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.runs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs_dir", nargs="?", default=str(Path(__file__).resolve().parent.parent / "runs"))
    parser.add_argument("--sort", default="test_score", help="column to sort by, best first")
    parser.add_argument("--csv", default=None, help="also write the table to this CSV file")
    args = parser.parse_args(argv)
    table = runs_table(args.runs_dir, args.sort)
    if table.empty:
        print(f"no runs found in {args.runs_dir} (a run is a folder with run.json)")
        return 0
    if args.csv:
        with atomic_path(args.csv) as tmp:  # an older table there stays whole if this write fails
            table.to_csv(tmp, index=False)
    shown = table.drop(columns=[c for c in table.columns if table[c].isna().all()])
    with pd.option_context("display.width", 250, "display.max_colwidth", 60):
        print(shown.to_string(index=False, na_rep="-", float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
