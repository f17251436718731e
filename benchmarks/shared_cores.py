"""CNN train steps per second on the CPU, alone and beside one busy process, at each torch
thread count: why a small box should run one training job at a time (README).

torch's threads meet at the end of every parallel region, so when another process takes
one of their cores, every step waits for the thread that lost it.

    python benchmarks/shared_cores.py [--steps 40] [--threads 2 1]
"""
import argparse
import subprocess
import sys
import time

import torch

from utils.engine import seed_everything
from utils.models import build_backbone


def steps_per_second(model, optimizer, x, y, steps: int) -> float:
    start = time.perf_counter()
    for _ in range(steps):
        optimizer.zero_grad()
        torch.nn.functional.binary_cross_entropy_with_logits(model(x), y).backward()
        optimizer.step()
    return steps / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--threads", type=int, nargs="*", default=[torch.get_num_threads(), 1])
    args = parser.parse_args(argv)
    seed_everything(0)
    model = build_backbone("regnety_002", in_chans=1).to(memory_format=torch.channels_last)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-4)
    x = torch.randn(64, 1, 40, 120).to(memory_format=torch.channels_last)  # the demo's images
    y = (torch.rand(64, 30) < 0.2).float()
    print(f"RegNetY-200MF, batch 64 at 40x120, {args.steps} steps; {torch.get_num_threads()} cores for torch")
    print("threads | alone (steps/s) | beside one busy process (steps/s) | slowdown")
    for threads in args.threads:
        torch.set_num_threads(threads)
        steps_per_second(model, optimizer, x, y, 5)  # warm up
        alone = steps_per_second(model, optimizer, x, y, args.steps)
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1)
            shared = steps_per_second(model, optimizer, x, y, args.steps)
        finally:
            busy.kill()
            busy.wait()
        print(f"{threads:7d} | {alone:15.2f} | {shared:33.2f} | {alone / shared:.1f}x")


if __name__ == "__main__":
    main()
