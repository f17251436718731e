"""What each idea buys: the paper's Table IV, extended, on one fixed generated dataset.

    python benchmarks/ablation.py                                   # CPU, demo sizes, 3 seeds
    python benchmarks/ablation.py --profile paper --device cuda --bags 8461 --seeds 0 1 2
    python benchmarks/ablation.py ... --jobs 6 --budget 500        # parts in parallel on one GPU

Rows build on each other as in the paper (each adds one idea to the row it names):

  resnet18          ResNet18 CNN, plain BCE (stage mask only), image probabilities averaged per bag
  resnet18+attention  gated-attention bag head over its features: the gpu profile's choices
                    (no warm-up, plain BCE, one split) at the ablation's size and schedule
  regnety           RegNetY-200MF instead, same plain loss
  +loss             + focal loss, label weights w_m, tempering, gamma annealing
  +agree            + warm-up where two views' features agree (the paper code's variant)
  +swav             + real SwAV warm-up instead
  +swav+bilstm      + BiLSTM bag model over the +swav CNN's image features
  +swav+attention   gated-attention bag head instead of the BiLSTM
  kfold             + K-fold: a CNN per fold, test averaged over folds, thresholds tuned
                      on the out-of-fold predictions of every training bag (CNN mean-pool)
  kfold+bilstm      the same with a BiLSTM per fold
  kfold+attention   the same with an attention head per fold
  kfold+stacked-... the same heads on out-of-fold inputs (05's bag_inputs="oof_probs"):
                    each training bag's image probabilities from the fold CNN that held it
                    out, test images averaged over the folds (utils.folds.stack_out_of_fold)
  kfold...+floor    a kfold row averaged with the thumbnail floor (06's "bag+floor"): the
                    floor fitted per fold on the same folds, the model's weight chosen on
                    the out-of-fold bags (utils.blend.choose_model_weight)
  floor: ...        the floors (utils.baselines): the stage prior, and grey thumbnails
                    averaged per bag with a logistic regression per label; fitted on the
                    seed's training bags, thresholds tuned on its validation bags

The rows from +loss on use the profile's backbone (RegNetY-200MF in every profile but
`gpu`; `-p backbone` changes it); the rows after +loss train with the profile's loss (the
paper's in `paper`, plain BCE in the others; `-p gamma_start` and the like change it).
`--style real` generates images as hard as real ones (utils.synthetic); `-p in_chans 3`
trains on colour images. Every row tunes per-label thresholds on its validation bags (or
out-of-fold bags) and is scored on the generator's hidden test labels, which no row sees. The dataset is the same
for all seeds (`--data-seed`); a seed changes the split, initialisation, data order and
augmentation. `seconds` is the wall time to produce that row from the cached images,
counting the stages it shares with earlier rows. `--jobs N` runs each seed's groups of rows
that share a stage in separate processes, N at a time (a GPU's host-bound step leaves room
for several; their `seconds` then include the wait for a shared card), and `--budget S`
leaves out the parts not finished after S seconds. `--head-seeds 0 1 2` trains each
+swav+ bag-head row once per head seed over the same CNN: the spread of the bag model alone.
Results: <out>/results.csv (one line per seed, row and head seed) and a markdown table with
mean ± standard deviation over them.
"""
import argparse
import dataclasses
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from children import run_children
from utils.augment import EvalTransform
from utils.baselines import FLOORS, floor_predictions
from utils.blend import choose_model_weight, floor_out_of_fold
from utils.cache import build_cache
from utils.data import read_competition
from utils.engine import choose_device, load_best, save_if_changed
from utils.features import dump_features
from utils.folds import assemble_out_of_fold, stack_out_of_fold
from utils.loaders import stage_masked_bag_means
from utils.metrics import evaluate
from utils.models import build_backbone
from utils.pipeline import check_overrides, parse_value
from utils.profiles import PAPER_LOSS, PLAIN_BCE, profile_parameters
from utils.rundir import save_array
from utils.splits import grouped_folds, train_valid_split
from utils.synthetic import STYLES, generate, hidden_test_targets
from utils.thresholds import apply_thresholds, tune_thresholds
from utils.train import BagSettings, CNNSettings, WarmupSettings, fit_bag_model, fit_image_model, predict_bags, warm_up

FLOOR_ROWS = [f"floor: {name}" for name in FLOORS]
KFOLD_ROWS = ["kfold", "kfold+bilstm", "kfold+attention", "kfold+stacked-bilstm", "kfold+stacked-attention"]
BLEND_ROWS = ["kfold+floor", "kfold+attention+floor"]
ROWS = [*FLOOR_ROWS, "resnet18", "resnet18+attention", "regnety", "+loss", "+agree", "+swav", "+swav+bilstm",
        "+swav+attention", *KFOLD_ROWS, *BLEND_ROWS]
METRICS = ["auc", "auc_samples", "auc_within_stage", "macro_f1", "sample_f1"]
# Rows that share a stage (a warm-up, a CNN, the folds) run in one process under --jobs.
GROUPS = [FLOOR_ROWS, ["resnet18", "resnet18+attention"], ["regnety"], ["+loss"], ["+agree"],
          ["+swav", "+swav+bilstm", "+swav+attention"], KFOLD_ROWS + BLEND_ROWS]


def row_groups(rows) -> list[list[str]]:
    """`rows` cut into the groups that can train in separate processes, in ROWS order."""
    return [[r for r in group if r in rows] for group in GROUPS if any(r in rows for r in group)]


class Seed:
    """One seed's runs; stages are computed once and shared by the rows that build on them."""

    def __init__(self, comp, cache, params, device, work, n_folds):
        self.comp, self.cache, self.params, self.device, self.work = comp, cache, params, device, work
        seed = params["seed"]
        genes = [b.gene for b in comp.train]
        train_idx, valid_idx = train_valid_split(genes, comp.targets(), params["valid_fraction"], seed)
        self.train = [comp.train[i] for i in train_idx]
        self.valid = [comp.train[i] for i in valid_idx]
        self.folds = grouped_folds(genes, comp.targets(), n_folds, seed)
        self.n_folds = n_folds
        self.transform = EvalTransform(resize_hw=tuple(params["resize_hw"]), out_hw=tuple(params["out_hw"]),
                                       grayscale=params["in_chans"] == 1)
        self.seconds = {}

    def timed(self, name, fn):
        t0 = time.time()
        out = fn()
        self.seconds[name] = time.time() - t0
        return out

    def warmup(self, method):
        s = WarmupSettings.pick({**self.params, "warmup_method": method})
        folder = self.work / f"warmup-{method}"
        model, _ = warm_up(self.cache, self.comp.train + self.comp.test, s, self.device, folder)
        path = folder / "backbone.pt"
        save_if_changed(model.state_dict(), path)  # an unchanged warm-up keeps its CNNs resumable
        return path

    def cnn(self, name, train, valid, init=None, **changes):
        """Train a CNN; returns (image probabilities, image features) of every cached image."""
        s = dataclasses.replace(CNNSettings.pick(self.params), **changes)
        folder = self.work / name
        model, _ = fit_image_model(self.cache, train, valid, s, self.device, folder / "cnn", init_state=init)
        load_best(model, folder / "cnn")
        probs = dump_features(model, self.cache.array, self.transform, folder / "features.npy", self.device,
                              tta_flip=self.params["tta_flip"], amp=s.amp)
        return probs, np.load(folder / "features.npy")

    def bag_head(self, name, head, features, train, valid, bags_out, rows=None, seed=None):
        """`rows`: where each bag's rows of `features` are (default: the image cache); `seed`:
        the bag model's own (initialisation, order, dropout; default the run's)."""
        rows = self.cache if rows is None else rows
        s = BagSettings.pick({**self.params, "bag_head": head, **({} if seed is None else {"seed": seed})})
        model, _ = fit_bag_model(features, rows, train, valid, s, self.device, self.work / name / "bag")
        load_best(model, self.work / name / "bag")
        orders = s.n_orders if head == "bilstm" else 1
        return [predict_bags(model, features, rows, bags, self.device, orders, s.seed) for bags in bags_out]


def score(valid_bags, p_valid, test_bags, p_test, y_test):
    """Thresholds tuned on the validation (or out-of-fold) bags, scores on the hidden test."""
    y_valid = np.stack([b.target for b in valid_bags])
    m_valid, m_test = np.stack([b.mask for b in valid_bags]), np.stack([b.mask for b in test_bags])
    thresholds = tune_thresholds(y_valid, p_valid, mask=m_valid)
    out = evaluate(y_test, p_test, apply_thresholds(p_test, thresholds, m_test), mask=m_test)
    return {k: out[k] for k in METRICS}


def run_seed(comp, cache, params, device, work, n_folds, rows, y_test, head_seeds=None):
    r = Seed(comp, cache, params, device, work, n_folds)
    test, train, valid = comp.test, r.train, r.valid
    results, t = {}, r.seconds
    backbone = params["backbone"]  # of the rows from +loss on (and of their warm-up)

    def cnn_row(name, arch, init=None, **changes):
        probs, features = r.timed(name, lambda: r.cnn(name, train, valid, init, backbone=arch, **changes))
        p_valid, p_test = (stage_masked_bag_means(probs, cache, bags) for bags in (valid, test))
        results[name] = score(valid, p_valid, test, p_test, y_test)
        return features

    if any(name in rows for name in FLOOR_ROWS):
        floors = r.timed("floors", lambda: floor_predictions(cache, train, [valid, test]))
        for name, (p_valid, p_test) in floors.items():
            if f"floor: {name}" in rows:
                results[f"floor: {name}"] = score(valid, p_valid, test, p_test, y_test)
                t[f"floor: {name}"] = t["floors"]
    if "resnet18" in rows or "resnet18+attention" in rows:
        features = cnn_row("resnet18", "resnet18", **PLAIN_BCE)
        if "resnet18+attention" in rows:
            name = "resnet18+attention"
            p_valid, p_test = r.timed(name, lambda: r.bag_head(name, "attention", features, train, valid, [valid, test]))
            results[name] = {**score(valid, p_valid, test, p_test, y_test), "seconds": t[name] + t["resnet18"]}
    if "regnety" in rows:
        cnn_row("regnety", "regnety_002", **PLAIN_BCE)
    if "+loss" in rows:
        cnn_row("+loss", backbone, **PAPER_LOSS)  # whatever loss the profile trains
    if "+agree" in rows:
        init = r.timed("warmup-agree", lambda: r.warmup("agree"))
        cnn_row("+agree", backbone, init)
        t["+agree"] += t["warmup-agree"]
    swav = None
    if any(row.startswith(("+swav", "kfold")) for row in rows):
        swav = r.timed("warmup-swav", lambda: r.warmup("swav"))
    if any(row.startswith("+swav") for row in rows):
        features = cnn_row("+swav", backbone, swav)
        t["+swav"] += t["warmup-swav"]
        for head in ["bilstm", "attention"]:
            name = f"+swav+{head}"
            if name not in rows:
                continue
            results[name] = []  # one row per head seed, over the same CNN (None: the run's seed)
            for hs in head_seeds or [None]:
                folder = name if hs is None else f"{name}-head{hs}"
                p_valid, p_test = r.timed(folder, lambda: r.bag_head(folder, head, features, train, valid,
                                                                     [valid, test], seed=hs))
                seeded = {} if hs is None else {"head_seed": hs}
                results[name].append({**score(valid, p_valid, test, p_test, y_test), **seeded,
                                      "seconds": t[folder] + t["+swav"]})
    if any(row.startswith("kfold") for row in rows):
        blends = [name for name in BLEND_ROWS if name in rows]
        wanted = set(rows) | {name.removesuffix("+floor") for name in blends}
        heads = [h for h in ["bilstm", "attention"] if f"kfold+{h}" in wanted]
        stacked_heads = [h for h in ["bilstm", "attention"] if f"kfold+stacked-{h}" in rows]
        held_out, trained_on, fold_probs = [], [], []
        position = {b.gene_stage: i for i, b in enumerate(comp.train)}
        oof = {k: [] for k in ["kfold", *(f"kfold+{h}" for h in heads)]}
        tests = {k: [] for k in oof}
        fold_rows = []
        t["kfold"] = t["warmup-swav"]
        for h in heads:
            t[f"kfold+{h}"] = t["kfold"]
        for k in range(n_folds):
            held = [b for b, f in zip(comp.train, r.folds) if f == k]
            rest = [b for b, f in zip(comp.train, r.folds) if f != k]
            fold_rows.append([position[b.gene_stage] for b in held])
            probs, features = r.timed(f"fold{k}", lambda: r.cnn(f"fold{k}", rest, held, swav, backbone=backbone))
            held_out.append(held)
            trained_on.append(rest)
            fold_probs.append(probs)
            oof["kfold"].append(stage_masked_bag_means(probs, cache, held))
            tests["kfold"].append(stage_masked_bag_means(probs, cache, test))
            for name in oof:
                t[name] += t[f"fold{k}"]
            for h in heads:
                p_held, p_test = r.timed(f"fold{k}+{h}", lambda: r.bag_head(f"fold{k}+{h}", h, features, rest, held,
                                                                              [held, test]))
                oof[f"kfold+{h}"].append(p_held)
                tests[f"kfold+{h}"].append(p_test)
                t[f"kfold+{h}"] += t[f"fold{k}+{h}"]
        if stacked_heads:
            stacked = stack_out_of_fold(cache, held_out, fold_probs, test, len(comp.train))
        for h in stacked_heads:
            name = f"kfold+stacked-{h}"
            oof[name], tests[name], t[name] = [], [], t["kfold"]
            for k in range(n_folds):
                p_held, p_test = r.timed(f"fold{k}+stacked-{h}", lambda: r.bag_head(
                    f"fold{k}+stacked-{h}", h, stacked.values, trained_on[k], held_out[k], [held_out[k], test],
                    rows=stacked))
                oof[name].append(p_held)
                tests[name].append(p_test)
                t[name] += t[f"fold{k}+stacked-{h}"]
        p_oof = {name: assemble_out_of_fold(len(comp.train), fold_rows, oof[name]) for name in oof}
        p_test = {name: np.mean(tests[name], axis=0) for name in oof}
        for name in oof:
            save_array(work / f"{name}_oof.npy", p_oof[name])
            results[name] = score(comp.train, p_oof[name], test, p_test[name], y_test)
        if blends:
            floor_oof, floor_test = r.timed("floor-oof", lambda: floor_out_of_fold(cache, comp.train, test, fold_rows))
            y_train, m_train = comp.targets(), np.stack([b.mask for b in comp.train])
            for name in blends:
                base = name.removesuffix("+floor")
                w, _ = choose_model_weight(y_train, p_oof[base], floor_oof, m_train)
                results[name] = {**score(comp.train, w * p_oof[base] + (1 - w) * floor_oof, test,
                                         w * p_test[base] + (1 - w) * floor_test, y_test), "model_weight": w}
                t[name] = t[base] + t["floor-oof"]
    return [{"row": name, "seed": params["seed"], "seconds": t.get(name), **res}
            for name in rows if name in results
            for res in (results[name] if isinstance(results[name], list) else [results[name]])]


def table(results: pd.DataFrame) -> str:
    cols = METRICS + ["seconds"]
    grouped = results.groupby("row", sort=False)[cols]
    mean, sd = grouped.mean(), grouped.std(ddof=1).fillna(0)
    lines = ["| row | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
    for row in mean.index:
        cells = [f"{mean.loc[row, c]:.3f} ± {sd.loc[row, c]:.3f}" if c != "seconds"
                 else f"{mean.loc[row, c]:.0f}" for c in cols]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def run_parts(args, out: Path, deadline: float | None) -> list[dict]:
    """Every (seed, group of rows) in its own child process, `args.jobs` at a time; the rows
    of the parts that finished, in seed and ROWS order."""
    folder = out / "parts"
    folder.mkdir(parents=True, exist_ok=True)
    commands = {}
    for seed in args.seeds:
        for i, group in enumerate(row_groups(args.rows)):
            name = f"seed{seed}-{i}"
            (folder / f"{name}.csv").unlink(missing_ok=True)
            commands[name] = [sys.executable, __file__, "--profile", args.profile, "--bags", str(args.bags),
                              "--data-seed", str(args.data_seed), "--style", args.style, "--folds", str(args.folds),
                              "--device", args.device, "--out", str(out), "--seeds", str(seed), "--part", name,
                              "--rows", *group]
            if args.head_seeds is not None:
                commands[name] += ["--head-seeds", *map(str, args.head_seeds)]
            for k, v in args.p:
                commands[name] += ["-p", k, v]
    outcome = run_children(commands, args.jobs, folder, deadline)
    print("parts: " + ", ".join(f"{name} {state}" for name, state in outcome.items()), flush=True)
    parts = [pd.read_csv(folder / f"{name}.csv") for name in commands if (folder / f"{name}.csv").exists()]
    if not parts:
        raise SystemExit("no part finished; logs under " + str(folder))
    results = pd.concat(parts, ignore_index=True)
    results["order"] = results["row"].map(ROWS.index)
    return results.sort_values(["seed", "order"]).drop(columns="order").to_dict("records")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--bags", type=int, default=500, help="bags in the generated dataset (half are test)")
    parser.add_argument("--data-seed", type=int, default=2026)
    parser.add_argument("--style", choices=STYLES, default="clean", help="the generator's image style")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--rows", nargs="+", default=ROWS, choices=ROWS)
    parser.add_argument("--head-seeds", type=int, nargs="+", default=None,
                        help="the +swav+ bag-head rows train once per head seed over the same CNN (the bag "
                             "model's own spread; the table's ± is then over seeds and head seeds)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", default="runs/ablation")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a profile parameter, e.g. -p cnn_epochs 20")
    parser.add_argument("--jobs", type=int, default=1,
                        help="processes at once, one per seed and group of rows sharing a stage (a GPU runs several)")
    parser.add_argument("--budget", type=float, default=None,
                        help="seconds (--jobs > 1); parts still running then are cut, their rows left out")
    parser.add_argument("--part", default=None, help=argparse.SUPPRESS)  # one seed's group, in a child process
    args = parser.parse_args(argv)
    check_overrides({k: parse_value(v) for k, v in args.p})  # a typo here would cost a whole ablation
    out = Path(args.out).resolve()
    device = choose_device(args.device)
    data = out / (f"data-{args.bags}-{args.data_seed}" + ("" if args.style == "clean" else f"-{args.style}"))
    t0 = time.time()
    if not data.exists():
        generate(data, n_bags=args.bags, seed=args.data_seed, style=args.style)
    comp = read_competition(data)
    overrides = {k: parse_value(v) for k, v in args.p}
    in_chans = {**profile_parameters(args.profile), **overrides}["in_chans"]
    cache = build_cache(comp, out / "work", mode="L" if in_chans == 1 else "RGB")
    y_test = hidden_test_targets(data, [b.gene_stage for b in comp.test])
    print(f"data: {len(comp.train)} train / {len(comp.test)} test bags, {len(cache.array)} images "
          f"({time.time() - t0:.0f}s); profile {args.profile}; style {args.style}; device {device}", flush=True)
    if args.part:  # one seed's group of rows, in a child process
        seed = args.seeds[0]
        params = {**profile_parameters(args.profile), **overrides, "seed": seed}
        rows = run_seed(comp, cache, params, device, out / "work" / f"seed{seed}" / args.part, args.folds,
                        args.rows, y_test, args.head_seeds)
        pd.DataFrame(rows).to_csv(out / "parts" / f"{args.part}.csv", index=False)
        return
    if args.jobs > 1:
        rows = run_parts(args, out, t0 + args.budget if args.budget else None)
    else:
        rows = []
        for seed in args.seeds:
            params = {**profile_parameters(args.profile), **overrides, "seed": seed}
            work = out / "work" / f"seed{seed}"
            t1 = time.time()
            rows += run_seed(comp, cache, params, device, work, args.folds, args.rows, y_test, args.head_seeds)
            pd.DataFrame(rows).to_csv(out / "results.csv", index=False)
            print(f"seed {seed} done in {time.time() - t1:.0f}s", flush=True)
            print(pd.DataFrame(rows).query("seed == @seed").round(3).to_string(index=False), flush=True)
    results = pd.DataFrame(rows)
    results.to_csv(out / "results.csv", index=False)
    print(f"\n{args.profile} profile, {args.style} style, {len(comp.train)} train / {len(comp.test)} test bags, seeds {args.seeds}, "
          f"{args.folds} folds, overrides {overrides}; total {time.time() - t0:.0f}s\n")
    print(table(results))
    if "model_weight" in results:
        weights = results.dropna(subset=["model_weight"])
        print("\nmodel weights chosen out of fold: " + ", ".join(
            f"{r.row} seed {r.seed}: {r.model_weight:g}" for r in weights.itertuples()))


if __name__ == "__main__":
    main()
