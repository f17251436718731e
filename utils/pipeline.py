"""Run the numbered notebooks in order with papermill.

    python -m utils.pipeline --profile demo
    python -m utils.pipeline --profile paper --data /path/to/DATA --device cuda
    python -m utils.pipeline --profile demo --from 05 -p lstm_epochs 60
    python -m utils.pipeline --profile demo --folds 5     # K-fold: OOF thresholds, fold ensemble

Each notebook gets data_dir, work_dir, profile, seed, device, the profile's values and
the -p overrides it declares in its `parameters` cell; executed copies are saved under
<work>/executed/. `--extras` adds 08_explain (or start there: `--from 08`). The chain stops at the first failing notebook, naming its executed
copy and the error; `--from NN` resumes there. With `--folds K` (K >= 2), 00 assigns
gene-grouped folds, 03..05 run once per fold (executed copies NN_name-fold<k>.ipynb,
artifacts under <work>/fold<k>/), and 06 tunes thresholds on the out-of-fold predictions
of every training bag and averages the K models' test predictions.
"""
from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from pathlib import Path

from .profiles import profile_parameters
from .rundir import read_json, require, write_json

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
CHAIN = [
    ("00_demo_data", ["data.json", "split.csv"]),
    ("01_eda", []),
    ("02_swav_warmup", ["warmup/backbone.pt"]),
    ("03_cnn_tempering", ["cnn/best.pt"]),
    ("04_feature_dump", ["features/features.npy", "preds/cnn_valid.npy", "preds/cnn_test.npy"]),
    ("05_bilstm", ["preds/bag_valid.npy", "preds/bag_test.npy"]),
    ("06_threshold_tuning", ["thresholds.json"]),
    ("07_submission", ["submission.json"]),
]
PER_FOLD = {"03_cnn_tempering", "04_feature_dump", "05_bilstm"}  # run once per fold
EXTRAS = [  # run with --extras, or by starting at them
    ("08_explain", ["figures/explain_guided_backprop.png", "figures/explain_attention.png"]),
]


def parse_value(text: str):
    """-p values as papermill reads them: Python literals where they parse, else strings."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def declared_parameters(notebook: Path) -> set[str]:
    import papermill as pm

    return set(pm.inspect_notebook(str(notebook)))


def steps(chain, n_folds: int) -> list[tuple[str, int | None, list[str]]]:
    """(notebook, fold, artifacts) in run order: with K folds, each per-fold notebook K times
    (all folds of 03, then of 04, ...); 08_explain looks at fold 0."""
    if n_folds < 2:
        return [(name, None, artifacts) for name, artifacts in chain]
    out = []
    for name, artifacts in chain:
        if name in PER_FOLD:
            out += [(name, k, [f"fold{k}/{a}" for a in artifacts]) for k in range(n_folds)]
        else:
            out.append((name, 0 if name == "08_explain" else None, artifacts))
    return out


def run_chain(profile: str = "demo", data_dir=None, work_dir=None, seed: int | None = None,
              device: str = "cpu", start: str = "00", overrides: dict | None = None,
              submission_dir=None, stop: str | None = None, quiet: bool = False,
              extras: bool = False, folds: int | None = None) -> dict:
    """Execute the chain (or its part from `start` to `stop`); returns submission.json's content.

    `folds` (>= 2) runs the K-fold mode; None keeps the profile's n_folds."""
    import papermill as pm

    params = profile_parameters(profile)
    if seed is not None:
        params["seed"] = seed
    params.update(overrides or {})
    if folds is not None:
        params["n_folds"] = folds
    n_folds = int(params.get("n_folds") or 0)
    if n_folds == 1:
        raise ValueError("--folds needs K >= 2 (or 0 for the single validation split)")
    work_dir = Path(work_dir or REPO / "runs" / f"{profile}-seed{params['seed']}").resolve()
    build_demo = data_dir is None
    data_dir = Path(data_dir).resolve() if data_dir else work_dir / "data"
    params.update(data_dir=str(data_dir), work_dir=str(work_dir), device=device,
                  build_demo_data=build_demo,
                  submission_dir=str(Path(submission_dir or REPO / "submissions").resolve()))
    work_dir.mkdir(parents=True, exist_ok=True)
    write_json(work_dir / "run.json", {"profile": profile, "parameters": params,
                                        "overrides": overrides or {}, "command": sys.argv})
    chain = CHAIN + (EXTRAS if extras or any(n.startswith(start) for n, _ in EXTRAS) else [])
    names = [n for n, _ in chain]
    if not any(n.startswith(start) for n in names):
        raise SystemExit(f"--from {start}: no notebook starts with that; have {names}")
    todo = steps(chain, n_folds)
    first = next(i for i, (n, _, _) in enumerate(todo) if n.startswith(start))
    last = max((i for i, (n, _, _) in enumerate(todo) if stop and n.startswith(stop)), default=len(todo) - 1)
    timings = {}
    for name, fold, artifacts in todo[first:last + 1]:
        label = name if fold is None or name not in PER_FOLD else f"{name}-fold{fold}"
        source = NOTEBOOK_DIR / f"{name}.ipynb"
        target = work_dir / "executed" / f"{label}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        wanted = declared_parameters(source)
        given = {k: v for k, v in {**params, "fold": fold}.items() if k in wanted}
        if not quiet:
            print(f"[{time.strftime('%H:%M:%S')}] {label} ...", flush=True)
        t0 = time.time()
        try:
            pm.execute_notebook(str(source), str(target), parameters=given, cwd=str(NOTEBOOK_DIR),
                                kernel_name="python3", progress_bar=False, log_output=False)
        except pm.PapermillExecutionError as e:
            folds_arg = f" --folds {n_folds}" if n_folds >= 2 else ""
            raise ChainFailed(f"{label} failed: {e.ename}: {e.evalue}\n"
                              f"  executed copy: {target}\n"
                              f"  fix it, then resume: python -m utils.pipeline --profile {profile} "
                              f"--work {work_dir}{folds_arg} --from {name[:2]}") from None
        timings[label] = round(time.time() - t0, 1)
        require(work_dir, *artifacts)
        if not quiet:
            print(f"    done in {timings[label]:.0f}s", flush=True)
    timing_file = work_dir / "timings.json"
    old = read_json(timing_file) if timing_file.exists() else {}
    write_json(timing_file, {**old, **timings})
    return read_json(work_dir / "submission.json") if (work_dir / "submission.json").exists() else {}


class ChainFailed(RuntimeError):
    pass


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="demo", help="demo | cpu | paper")
    parser.add_argument("--data", default=None, help="competition folder (default: build demo data)")
    parser.add_argument("--work", default=None, help="work folder (default: runs/<profile>-seed<N>)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--device", default="cpu", help="cpu | cuda | auto")
    parser.add_argument("--from", dest="start", default="00", help="resume at notebook NN")
    parser.add_argument("--to", dest="stop", default=None, help="stop after notebook NN")
    parser.add_argument("--submissions", default=None, help="folder for submission runs")
    parser.add_argument("--extras", action="store_true", help="also run 08_explain after 07")
    parser.add_argument("--folds", type=int, default=None, metavar="K",
                        help="K-fold mode (K >= 2): per-fold CNN and bag model, out-of-fold "
                             "thresholds, test averaged over folds; 0: one validation split")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a notebook parameter for the whole chain")
    args = parser.parse_args(argv)
    overrides = {k: parse_value(v) for k, v in args.p}
    try:
        result = run_chain(args.profile, args.data, args.work, args.seed, args.device,
                           args.start, overrides, args.submissions, args.stop, extras=args.extras,
                           folds=args.folds)
    except ChainFailed as e:
        print(f"\nFAILED: {e}", file=sys.stderr)
        return 1
    if result:
        print("\nvalidated submission files:")
        print(f"  F1:       {result['f1']}\n  AUC:      {result['auc']}\n  manifest: {result['manifest']}")
        print("validation scores: " + json.dumps(result["valid_scores"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
