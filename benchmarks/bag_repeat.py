"""Train 05's bag head on one fold of a finished run many times in one process, with the run's
own settings, and count the distinct results (a hash of the weights, the epoch-0 loss).

A chain once wrote other bytes in 05 than the same chain before it (BENCHMARKS.md, "The byte
difference in 05"). Run this under another thread count or MKL code path to see what such a
difference looks like; the run's folder is only read.

    python benchmarks/bag_repeat.py --work runs/demo-seed0 --fold 2 --times 300
    OMP_NUM_THREADS=1 python benchmarks/bag_repeat.py --work runs/demo-seed0 --fold 2 --times 1
"""
import argparse
import hashlib
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from utils.cache import build_cache
from utils.rundir import fold_dir, load_run, read_json, require
from utils.train import BagSettings, fit_bag_model


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, required=True, help="a finished run's folder")
    parser.add_argument("--fold", type=int, default=None, help="K-fold mode: which fold (default: single split)")
    parser.add_argument("--times", type=int, default=20)
    args = parser.parse_args(argv)
    out_dir = fold_dir(args.work, args.fold)
    require(out_dir, "features/features.npy")  # names the notebook that writes it (04)
    comp, train, valid = load_run(args.work, args.fold)
    cache = build_cache(comp, args.work)
    features = np.load(out_dir / "features/features.npy")
    settings = BagSettings.pick(read_json(args.work / "run.json")["parameters"])
    results = Counter()
    for _ in range(args.times):
        with tempfile.TemporaryDirectory() as tmp:
            model, history = fit_bag_model(features, cache, train, valid, settings, torch.device("cpu"),
                                           Path(tmp), progress=None)
        weights = hashlib.sha256(b"".join(p.detach().numpy().tobytes() for p in model.parameters()))
        results[(weights.hexdigest()[:12], f"{history.train_loss[0]:.12f}")] += 1
    print(f"{settings.bag_head} head, fold {args.fold}, {torch.get_num_threads()} torch threads, "
          f"{args.times} fits: {len(results)} distinct result(s)")
    for (weights, loss), count in results.most_common():
        print(f"  weights {weights}  epoch-0 loss {loss}  x{count}")


if __name__ == "__main__":
    main()
