"""Bag models on one run's image features: which setting makes the BiLSTM earn its place.

    python benchmarks/bag_study.py --work W [--data DATA] [--variants paper lr1e-3 ...]
        [--jobs 8] [--device cuda] [--out DIR] [-p lstm_epochs 60]

W is a pipeline work folder finished through 04 (one train/valid split). Every variant
trains a bag model on W's features with the run's own parameters plus the variant's
changes, each in its own process (`--jobs` at a time; a BiLSTM step is small, so one GPU
runs several at once). Each row gives training-bag, validation and held-out test scores
(thresholds tuned on the validation bags; test only where DATA has the generator's hidden
labels), beside three reference rows: the CNN's image probabilities averaged per bag (04),
and the floors, the stage prior and thumbnails + logistic regression (utils.baselines).
Training-bag scores far above validation ones mean the head fits features of images the
CNN has memorised. Results: <out>/bag_study.csv and a markdown table.
"""
import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from children import run_children  # noqa: E402  (benchmarks/, beside this file)

# Each variant changes the run's parameters (the paper profile's BiLSTM, for a paper run).
VARIANTS = {
    "paper": {"bag_head": "bilstm"},
    "lr1e-3": {"bag_head": "bilstm", "lstm_lr": 1e-3},
    "layernorm": {"bag_head": "bilstm", "lstm_input_norm": "layernorm"},
    "clip1": {"bag_head": "bilstm", "bag_grad_clip": 1.0},
    "hidden256": {"bag_head": "bilstm", "lstm_hidden": 256},
    "ends": {"bag_head": "bilstm", "lstm_readout": "ends"},
    "dropout-linear": {"bag_head": "bilstm", "lstm_dropout_at": "linear"},
    "lr1e-3+layernorm+clip1": {"bag_head": "bilstm", "lstm_lr": 1e-3, "lstm_input_norm": "layernorm",
                               "bag_grad_clip": 1.0},
    "lr1e-3+layernorm+clip1+ends": {"bag_head": "bilstm", "lstm_lr": 1e-3, "lstm_input_norm": "layernorm",
                                    "bag_grad_clip": 1.0, "lstm_readout": "ends"},
    "skip-mean": {"bag_head": "bilstm", "lstm_skip": "mean"},
    "lr1e-3+skip-mean": {"bag_head": "bilstm", "lstm_lr": 1e-3, "lstm_skip": "mean"},
    "attention": {"bag_head": "attention"},
    "mean": {"bag_head": "mean"},
}
SHOWN = ["auc", "auc_within_stage", "macro_f1", "sample_f1"]


def scores(bags, probs, thresholds, y=None) -> dict:
    from utils.metrics import evaluate
    from utils.thresholds import apply_thresholds

    y = np.stack([b.target for b in bags]) if y is None else y
    mask = np.stack([b.mask for b in bags])
    out = evaluate(y, probs, apply_thresholds(probs, thresholds, mask), mask=mask)
    return {k: out[k] for k in SHOWN}


def rows_for(name, sets, thresholds_from="valid") -> list[dict]:
    """Score rows of one model: sets maps bag set name -> (bags, probabilities, labels or None)."""
    from utils.thresholds import tune_thresholds

    bags, probs, _ = sets[thresholds_from]
    thresholds = tune_thresholds(np.stack([b.target for b in bags]), probs, mask=np.stack([b.mask for b in bags]))
    return [{"model": name, "bags": key, **scores(b, p, thresholds, y)} for key, (b, p, y) in sets.items()
            if p is not None and (key != "test" or y is not None)]


def load(work: Path, data: Path | None):
    from utils.cache import build_cache
    from utils.rundir import load_run
    from utils.synthetic import hidden_test_targets

    comp, train, valid = load_run(work)
    cache = build_cache(comp, work)
    y_test = hidden_test_targets(data or json.loads((work / "data.json").read_text())["data_dir"],
                                 [b.gene_stage for b in comp.test])
    return comp, train, valid, cache, y_test


def run_variant(work: Path, data, name: str, changes: dict, device: str, folder: Path) -> list[dict]:
    """Train one variant; its score rows, with its best epoch and seconds."""
    from utils.engine import choose_device, load_best
    from utils.train import BagSettings, fit_bag_model, predict_bags

    comp, train, valid, cache, y_test = load(work, data)
    params = {**json.loads((work / "run.json").read_text())["parameters"], **changes}
    s = BagSettings.pick(params)
    device = choose_device(device)
    features = np.load(work / "features/features.npy")
    model, history = fit_bag_model(features, cache, train, valid, s, device, folder / name, progress=None)
    best = load_best(model, folder / name)
    orders = s.n_orders if s.bag_head == "bilstm" else 1
    sets = {key: (bags, predict_bags(model, features, cache, bags, device, orders, s.seed), y)
            for key, bags, y in (("train", train, None), ("valid", valid, None), ("test", comp.test, y_test))}
    extra = {"best_epoch": best.get("epoch"), "epochs": len(history), "seconds": round(float(history.seconds.sum()), 1),
             "changes": json.dumps(changes)}
    return [{**row, **extra} for row in rows_for(name, sets)]


def reference_rows(work: Path, data) -> list[dict]:
    """The CNN's per-bag average (04) and the two floors, scored as the variants are."""
    from utils.baselines import floor_predictions

    comp, train, valid, cache, y_test = load(work, data)
    out = []
    p_valid, p_test = (np.load(work / f"preds/cnn_{k}.npy") for k in ("valid", "test"))
    out += rows_for("CNN image probabilities averaged per bag (04)",
                    {"valid": (valid, p_valid, None), "test": (comp.test, p_test, y_test)})
    parts = (("train", train, None), ("valid", valid, None), ("test", comp.test, y_test))
    for floor, probs in floor_predictions(cache, train, [bags for _, bags, _ in parts]).items():
        out += rows_for(f"floor: {floor}", {k: (bags, p, y) for (k, bags, y), p in zip(parts, probs)})
    return out


def table(results: pd.DataFrame) -> str:
    wide = results.pivot_table(index="model", columns="bags", values=SHOWN, sort=False)
    order = list(dict.fromkeys(results.model))
    sets = [s for s in ("test", "valid", "train") if s in results.bags.values]
    head = "| model | " + " | ".join(f"{s}: AUC / within-stage / macro-F1 / sample-F1" for s in sets)
    lines = [head + " | best epoch | seconds |", "|---" * (len(sets) + 3) + "|"]
    info = results.drop_duplicates("model").set_index("model")
    for model in order:
        cells = []
        for s in sets:
            v = [wide.loc[model].get((m, s), np.nan) for m in SHOWN]
            cells.append(" / ".join("" if np.isnan(x) else f"{x:.3f}" for x in v))
        best = info.loc[model].get("best_epoch", np.nan)
        secs = info.loc[model].get("seconds", np.nan)
        lines.append(f"| {model} | " + " | ".join(cells) + f" | {'' if pd.isna(best) else int(best)} "
                     f"| {'' if pd.isna(secs) else secs} |")
    return "\n".join(lines)


def train_variants(args, folder: Path, deadline: float | None) -> list[dict]:
    """Train the variants in child processes, `args.jobs` at a time, and score the reference
    rows meanwhile; returns the reference rows. A variant still running at `deadline` is
    killed; its checkpoints stay, so the same command later resumes it."""
    commands = {}
    for name in args.variants:  # the child finds utils through REPO itself
        commands[name] = [sys.executable, __file__, "--work", str(args.work), "--device", args.device, "--out",
                          str(args.out), "--only", name] + (["--data", str(args.data)] if args.data else [])
        for k, v in args.p:
            commands[name] += ["-p", k, v]
    reference = []

    def score_reference():  # while the first variants train
        reference.extend(reference_rows(args.work, args.data))
        pd.DataFrame(reference).to_csv(args.out / "bag_study.csv", index=False)

    run_children(commands, args.jobs, folder, deadline, meanwhile=score_reference)
    return reference


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", required=True, type=Path)
    parser.add_argument("--data", type=Path, default=None, help="competition folder (default: the run's)")
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--jobs", type=int, default=1, help="variants trained at once")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=Path("runs/bag_study"))
    parser.add_argument("--budget", type=float, default=None, help="seconds; variants still running then are cut")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="change a parameter for every variant, e.g. -p lstm_epochs 20")
    parser.add_argument("--only", default=None, help=argparse.SUPPRESS)  # one variant, in a child process
    args = parser.parse_args(argv)
    from utils.pipeline import check_overrides, parse_value
    from utils.rundir import require

    require(args.work, "run.json", "features/features.npy", "preds/cnn_valid.npy")
    common = {k: parse_value(v) for k, v in args.p}
    check_overrides(common)
    folder = args.out / "variants"
    folder.mkdir(parents=True, exist_ok=True)
    if args.only:
        rows = run_variant(args.work, args.data, args.only, {**common, **VARIANTS[args.only]}, args.device, folder)
        (folder / f"{args.only}.json").write_text(json.dumps(rows))
        return 0

    t0 = time.time()
    for name in args.variants:
        (folder / f"{name}.json").unlink(missing_ok=True)
    rows = train_variants(args, folder, t0 + args.budget if args.budget else None)
    for name in args.variants:
        path = folder / f"{name}.json"
        if path.exists():
            rows += json.loads(path.read_text())
    results = pd.DataFrame(rows)
    results.to_csv(args.out / "bag_study.csv", index=False)
    print(f"\n{args.work}: {args.jobs} at a time on {args.device}, parameters changed for all: {common or 'none'}; "
          f"{time.time() - t0:.0f} s\n")
    print(table(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
