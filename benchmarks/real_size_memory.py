"""Peak memory and wall time of the heavy steps on a generated dataset of the real size.

Each step runs in its own process (so its peak resident memory is its own):
  generate   utils.synthetic, 8461 bags (~35k images) by default
  cache      decode every image once into the memory-mapped uint8 cache
  features   stream one feature vector per image to a memory-mapped .npy (RegNetY-200MF)
  bag_model  one epoch of the BiLSTM over the training bags, then predict the test bags

    python benchmarks/real_size_memory.py [--bags 8461] [--root /tmp/flyexpress-real-size]
"""
import argparse
import json
import subprocess
import sys
from pathlib import Path

STEPS = {
    "generate": """
from utils.synthetic import generate
generate(ROOT / "data", n_bags=BAGS, seed=0, overwrite=True)
""",
    "cache": """
from utils.cache import build_cache
from utils.data import read_competition
comp = read_competition(ROOT / "data")
build_cache(comp, ROOT / "work")
""",
    "features": """
import torch
from utils.augment import EvalTransform
from utils.cache import build_cache
from utils.data import read_competition
from utils.features import dump_features
from utils.models import build_backbone
comp = read_competition(ROOT / "data", check_images=False)
cache = build_cache(comp, ROOT / "work")
model = build_backbone("regnety_002")
dump_features(model, cache.array, EvalTransform(resize_hw=(58, 170), out_hw=(56, 168)),
              ROOT / "work/features.npy", torch.device("cpu"), batch_size=256)
""",
    "bag_model": """
import numpy as np, torch
from utils.cache import build_cache
from utils.data import read_competition
from utils.engine import predict
from utils.loaders import BagBatches
from utils.losses import FocalLoss
from utils.models import BiLSTMBagHead
comp = read_competition(ROOT / "data", check_images=False)
cache = build_cache(comp, ROOT / "work")
features = np.load(ROOT / "work/features.npy", mmap_mode="r")
def batches(bags, shuffle):
    return BagBatches(features, cache.bag_rows(bags), np.stack([b.target for b in bags]),
                      np.stack([b.mask for b in bags]).astype(np.float32), 256, shuffle=shuffle)
model = BiLSTMBagHead(in_dim=features.shape[1], hidden=256)
opt = torch.optim.Adam(model.parameters(), 1e-3)
loss_fn = FocalLoss()
for b in batches(comp.train, True)():
    opt.zero_grad()
    loss_fn(model(b["x"], b["bag_mask"]), b["y"], b["mask"]).backward()
    opt.step()
p = predict(model, batches(comp.test, False), lambda m, b: torch.sigmoid(m(b["x"], b["bag_mask"])))
assert p.shape == (len(comp.test), 30)
""",
}

RUNNER = """
import json, resource, sys, time
from pathlib import Path
ROOT, BAGS = Path({root!r}), {bags}
t0 = time.time()
{code}
print(json.dumps({{"seconds": time.time() - t0,
                   "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bags", type=int, default=8461)
    parser.add_argument("--root", default="/tmp/flyexpress-real-size")
    parser.add_argument("--steps", nargs="*", default=list(STEPS))
    args = parser.parse_args()
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    print(f"{'step':<10} {'wall s':>8} {'peak RSS MiB':>13}")
    for step in args.steps:
        code = RUNNER.format(root=str(root), bags=args.bags, code=STEPS[step])
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if out.returncode:
            sys.exit(f"{step} failed:\n{out.stderr[-3000:]}")
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(f"{step:<10} {r['seconds']:8.1f} {r['peak_rss_mib']:13.0f}", flush=True)
    if (root / "data").exists():
        n = sum(1 for _ in (root / "data/train/train").iterdir()) + sum(1 for _ in (root / "data/test/test").iterdir())
        print(f"images: {n}; cache: {sum(p.stat().st_size for p in (root / 'work/cache').glob('*.npy')) / 2**20:.0f} MiB on disk")


if __name__ == "__main__":
    main()
