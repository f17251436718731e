"""What the host does between training steps, which a GPU waits for: scoring every epoch,
tuning thresholds, and saving checkpoints. Each is measured against its baseline in the
same run:

(a) scoring one validation epoch (`utils.metrics.evaluate`: macro, per-bag and within-stage
    AUC, macro- and sample-F1) against the same scores from sklearn, per call, at the
    paper profile's 423 validation bags, the cpu profile's 846 and the 4230 test bags;
(b) 06's threshold refinement for sample-F1 (`tune_for_sample_f1`) with the kit's F1
    against sklearn's, and whether both choose the same thresholds;
(c) `fit`'s own cost per epoch with the paper's BiLSTM head (hidden 1024, 38.7M weights
    and Adam's state: 465 MB a save) and RegNetY-200MF, saving after every epoch against
    the default `checkpoint_share` of 5%. Its steps are one tiny batch, so an epoch is
    mostly the save (05's whole epoch took about 1.6 s on an H200, about a save's time here);
(d) with --data DIR, 00's two passes over every image (the check in read_competition, then
    the cache) in one process against every core, and whether the caches are the same bytes;
(e) with --data DIR, 07's floors (`score_floors`: 4 fits of 30 logistic regressions on
    thumbnails) with each fit on one BLAS thread (the kit) against BLAS on every core (the
    kit before), and how far apart their hidden-test probabilities are.

    python benchmarks/host_overhead.py [--bags 423 846 4230] [--epochs 20] [--repeats 3]
        [--data DIR] [--work DIR] [--parts a b c d e]
"""
import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import f1_score, roc_auc_score

import utils.engine
import utils.thresholds
from utils.engine import fit, seed_everything
from utils.metrics import evaluate
from utils.models import BiLSTMBagHead, build_backbone
from utils.thresholds import tune_for_sample_f1, tune_thresholds


def sklearn_scores(y, p, pred, mask) -> dict:
    """The scores of `evaluate` as sklearn computes them (the kit's code before 2026-11-27)."""
    auc_cols = [j for j in range(y.shape[1]) if 0 < y[:, j].sum() < len(y)]
    rows = (y.sum(1) > 0) & (y.sum(1) < y.shape[1])
    within = [roc_auc_score(y[mask[:, j], j], p[mask[:, j], j]) for j in range(y.shape[1])
              if 0 < y[mask[:, j], j].sum() < mask[:, j].sum()]
    return {"auc": roc_auc_score(y[:, auc_cols], p[:, auc_cols], average="macro"),
            "auc_samples": roc_auc_score(y[rows], p[rows], average="samples"),
            "macro_f1": f1_score(y, pred, labels=np.flatnonzero(y.sum(0) > 0), average="macro", zero_division=0),
            "sample_f1": sklearn_f1_samples(y, pred),
            "auc_within_stage": float(np.mean(within))}


def sklearn_f1_samples(y, pred) -> float:
    return float(f1_score(np.asarray(y).astype(int), np.asarray(pred).astype(int), average="samples",
                          zero_division=0))


def validation_set(n: int, seed: int = 0):
    """Labels at the real data's density (about 20% of the allowed ones), stage masks, and
    probabilities a trained model might give."""
    rng = np.random.default_rng(seed)
    mask = rng.random((n, 30)) < 0.6
    y = ((rng.random((n, 30)) < 0.3) & mask).astype(int)
    p = np.where(mask, 1 / (1 + np.exp(-(2.5 * y - 1.5 + rng.normal(0, 1.2, (n, 30))))), 0.0)
    return y, p.astype(np.float32), mask


def best_of(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def scoring(sizes, repeats: int) -> None:
    print("(a) scoring one epoch | kit ms | sklearn ms | sklearn / kit | largest difference")
    for n in sizes:
        y, p, mask = validation_set(n)
        pred = (p > 0.5).astype(int)
        kit, ref = evaluate(y, p, mask=mask), sklearn_scores(y, p, pred, mask)
        diff = max(abs(kit[k] - ref[k]) for k in ref)
        t_kit = best_of(lambda: evaluate(y, p, mask=mask), repeats)
        t_ref = best_of(lambda: sklearn_scores(y, p, pred, mask), repeats)
        print(f"{n} bags | {1e3 * t_kit:.1f} | {1e3 * t_ref:.1f} | {t_ref / t_kit:.0f}x | {diff:.1e}")


def refinement(sizes) -> None:
    print("\n(b) tune_for_sample_f1 | kit s | with sklearn's F1 s | ratio | same thresholds")
    for n in sizes:
        y, p, mask = validation_set(n, seed=1)
        start = tune_thresholds(y, p, mask=mask)
        t0 = time.perf_counter()
        kit = tune_for_sample_f1(y, p, start, mask=mask)
        t_kit = time.perf_counter() - t0
        own = utils.thresholds.f1_samples
        utils.thresholds.f1_samples = sklearn_f1_samples
        try:
            t0 = time.perf_counter()
            ref = tune_for_sample_f1(y, p, start, mask=mask)
            t_ref = time.perf_counter() - t0
        finally:
            utils.thresholds.f1_samples = own
        print(f"{n} bags | {t_kit:.2f} | {t_ref:.2f} | {t_ref / t_kit:.0f}x | {np.array_equal(kit, ref)}")


def fit_overhead(epochs: int) -> None:
    print(f"\n(c) fit, {epochs} epochs of one tiny step | checkpoints | s/epoch | last.pt saves | MB a save")
    heads = {"paper BiLSTM head": (BiLSTMBagHead(368, 1024), (torch.randn(2, 3, 368), torch.ones(2, 3, dtype=torch.bool))),
             "RegNetY-200MF": (build_backbone(), (torch.randn(2, 1, 32, 96),))}
    real_save = utils.engine.save_atomic
    for name, (model, inputs) in heads.items():
        for share in (None, 0.05):
            saves = []

            def counted_save(obj, path):
                saves.append(Path(path).name)
                real_save(obj, path)

            def step(m, batch, epoch):
                return m(*inputs).float().pow(2).mean()

            utils.engine.save_atomic = counted_save
            try:
                with tempfile.TemporaryDirectory() as tmp:
                    seed_everything(0)
                    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
                    t0 = time.perf_counter()
                    fit(model, optimizer, lambda e: [0], step, epochs, tmp, progress=None, checkpoint_share=share)
                    seconds = time.perf_counter() - t0
                    size = (Path(tmp) / "last.pt").stat().st_size / 1e6
            finally:
                utils.engine.save_atomic = real_save
            label = "every epoch" if share is None else f"share {share:g}"
            print(f"{name} | {label} | {seconds / epochs:.3f} | {saves.count('last.pt')} | {size:.0f}")


def decoding(data: Path, repeats: int) -> None:
    from utils.cache import build_cache
    from utils.data import read_competition

    cores = os.cpu_count() or 1
    print(f"\n(d) 00 on {data} | workers | check s | cache s | cache md5")
    for _ in range(repeats):
        for workers in (1, cores):
            t0 = time.perf_counter()
            comp = read_competition(data, workers=workers)
            t1 = time.perf_counter()
            with tempfile.TemporaryDirectory() as tmp:
                cache = build_cache(comp, tmp, workers=workers)
                t2 = time.perf_counter()
                md5 = hashlib.md5(cache.path.read_bytes()).hexdigest()
            print(f"{len(cache)} images | {workers} | {t1 - t0:.1f} | {t2 - t1:.1f} | {md5}")


def floors(data: Path, work: Path | None, repeats: int) -> None:
    import contextlib

    import threadpoolctl

    from utils.baselines import score_floors
    from utils.cache import build_cache
    from utils.data import read_competition
    from utils.synthetic import hidden_test_targets

    comp = read_competition(data, check_images=False)
    y_test = hidden_test_targets(data, [b.gene_stage for b in comp.test])
    limit = threadpoolctl.threadpool_limits
    every_core = lambda limits, user_api: contextlib.nullcontext()  # noqa: E731 (the code before)
    print(f"\n(e) 07's floors on {data} | BLAS threads in a fit | s | hidden-test macro-F1 (thumbnails)"
          " | largest probability difference")
    with tempfile.TemporaryDirectory() as tmp:
        cache = build_cache(comp, work or tmp)
        for _ in range(repeats):
            probs = {}
            for name, patch in (("every core (before)", every_core), ("one (now)", limit)):
                threadpoolctl.threadpool_limits = patch
                try:
                    t0 = time.perf_counter()
                    rows, test = score_floors(comp, cache, y_test=y_test)
                    seconds = time.perf_counter() - t0
                finally:
                    threadpoolctl.threadpool_limits = limit
                probs[name] = test["thumbnails + logistic regression"][0]
                f1 = [r["macro_f1"] for r in rows if r["bags"] == "hidden test" and r["floor"].startswith("thumb")]
                gap = np.abs(probs[name] - next(iter(probs.values()))).max()
                print(f"{len(comp.train)} training bags | {name} | {seconds:.1f} | {f1[0] if f1 else float('nan'):.4f}"
                      f" | {gap:.4f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bags", type=int, nargs="+", default=[423, 846, 4230])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data", type=Path, default=None, help="a competition folder, for (d)")
    parser.add_argument("--work", type=Path, default=None, help="where (e) finds or builds the image cache")
    parser.add_argument("--parts", nargs="+", default=["a", "b", "c", "d", "e"], choices=["a", "b", "c", "d", "e"])
    args = parser.parse_args()
    if "a" in args.parts:
        scoring(args.bags, args.repeats)
    if "b" in args.parts:
        refinement(args.bags[:2])
    if "c" in args.parts:
        fit_overhead(args.epochs)
    if "d" in args.parts and args.data:
        decoding(args.data, min(args.repeats, 2))
    if "e" in args.parts and args.data:
        floors(args.data, args.work, min(args.repeats, 2))


if __name__ == "__main__":
    main()
