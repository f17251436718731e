"""One self-contained HTML page per run: <work>/report.html.

It gathers what the notebooks already wrote (run.json, data.json, thresholds.json, the
scores/*.json files, timings.json, every figure) into one page with the figures embedded,
so it opens anywhere without a network. 07 writes it; the pipeline refreshes it after 07
or 08 has run, so the timings and the explain figures are in it too.

    python -m utils.report RUN_DIR      # (re)write RUN_DIR/report.html
"""
from __future__ import annotations

import argparse
import base64
import os
import sys
from pathlib import Path

from .atomic import atomic_path
from .rundir import read_json

TEMPLATE = Path(__file__).with_name("report_template.html.j2")
SCORE_COLUMNS = ["auc", "auc_within_stage", "macro_f1", "sample_f1", "score"]


def _json(path: Path):
    return read_json(path) if path.exists() else None


def score_rows(work_dir: Path) -> list[dict]:
    """(what was scored, on which bags, the JSON file (and key or list index) and its scores):
    the model, the floors beside it (scores/floors.json, written by 07), the CNN alone."""
    rows = []
    hidden = work_dir / "scores/test_hidden.json"
    if hidden.exists():
        rows.append({"name": "bag model, hidden test labels", "file": "scores/test_hidden.json",
                     "scores": read_json(hidden)})
    thresholds = _json(work_dir / "thresholds.json")
    if thresholds:
        where = "out-of-fold, every training bag" if (work_dir / f"preds/{thresholds['source']}_oof.npy").exists() \
            else "validation split"
        rows.append({"name": f"{thresholds['source']} model, {where}, tuned thresholds", "file": "thresholds.json",
                     "key": "valid_tuned", "scores": thresholds["valid_tuned"]})
        rows.append({"name": f"{thresholds['source']} model, {where}, thresholds 0.5", "file": "thresholds.json",
                     "key": "valid_at_0.5", "scores": thresholds["valid_at_0.5"]})
    for i, row in enumerate(_json(work_dir / "scores/floors.json") or []):
        rows.append({"name": f"floor: {row['floor']}, {row['bags']}", "file": "scores/floors.json", "key": str(i),
                     "scores": row})
    for path in sorted(work_dir.glob("scores/cnn_mean_pool.json")) + sorted(work_dir.glob("fold*/scores/cnn_mean_pool.json")):
        fold = path.parent.parent.name if path.parent.parent != work_dir else "validation split"
        rows.append({"name": f"CNN alone, images averaged per bag ({fold}, thresholds 0.5)",
                     "file": str(path.relative_to(work_dir)), "scores": read_json(path)})
    return rows


def _figure(path: Path, work_dir: Path) -> dict:
    return {"name": str(path.relative_to(work_dir)),
            "data": base64.b64encode(path.read_bytes()).decode("ascii")}


def write_report(work_dir) -> Path:
    """Write <work_dir>/report.html from the run's files; returns its path."""
    import jinja2

    work_dir = Path(work_dir)
    run = _json(work_dir / "run.json") or {}
    submission = _json(work_dir / "submission.json") or {}
    figures = sorted(work_dir.glob("figures/*.png")) + sorted(work_dir.glob("fold*/figures/*.png"))
    timings = _json(work_dir / "timings.json") or {}
    links = [{"name": p.name, "href": p.relative_to(work_dir).as_posix()}
             for p in sorted(work_dir.glob("executed/*.ipynb"))]
    links += [{"name": f"{kind} file", "href": Path(os.path.relpath(submission[kind], work_dir)).as_posix()}
              for kind in ("f1", "auc", "manifest") if kind in submission]
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    html = env.get_template(TEMPLATE.name).render(
        title=work_dir.name, run=run, data=_json(work_dir / "data.json") or {},
        scores=score_rows(work_dir), columns=SCORE_COLUMNS, timings=timings,
        total_seconds=sum(timings.values()), per_label=_json(work_dir / "scores/per_label.json") or [],
        figures=[_figure(p, work_dir) for p in figures], links=links)
    path = work_dir / "report.html"
    with atomic_path(path) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return path


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("run_dir", type=Path, help="a work folder the pipeline ran in")
    run_dir = parser.parse_args(argv).run_dir
    if not (run_dir / "run.json").exists() and not (run_dir / "data.json").exists():
        # a typo would otherwise leave a new folder holding an empty report
        print(f"error: {run_dir} is not a run's work folder (it has no run.json or data.json)", file=sys.stderr)
        return 2
    print(write_report(run_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main())
