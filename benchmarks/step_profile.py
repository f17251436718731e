"""Where a training step's time goes: milliseconds per CNN step (RegNetY-200MF, 112x336) for
each switch the chain sets (deterministic kernels, channels-last, bf16 autocast) and each
`--compile` backend, the host's share (time to enqueue a step without waiting for the GPU:
equal to the step's time means the GPU waits for Python), the operations the host dispatches
per step, and the GPU kernels that take the most time. Random images, no data needed.
`--compile cuda-graph` replays the whole step (forward, loss, backward, fused Adam) from one
captured CUDA graph (utils.step_graph); on the CPU it runs eagerly.

    python benchmarks/step_profile.py [--device cuda] [--batch 128 512] [--steps 20]
        [--compile cuda-graph inductor inductor-cudagraphs] [--no-matrix]

Every batch size gets the same rows. A host-bound step takes about as long at batch 512 as
at 128, so the rows at several sizes say how far a larger batch alone goes. `--no-matrix`
keeps, per batch size, the paper profile's eager step (deterministic, float32, contiguous:
the baseline) and the compiled rows in the same settings.
"""
import argparse
import itertools
import time

import torch
import torch.utils.deterministic

import utils  # noqa: F401  (CUBLAS_WORKSPACE_CONFIG before CUDA starts)
from utils.augment import BatchAugment
from utils.engine import autocast, choose_device
from utils.losses import FocalLoss
from utils.models import build_backbone
from utils.step_graph import CapturedStep
from utils.train import compile_network, step_capture


def make_step(device, batch, channels_last, bf16, backend=None):
    torch.manual_seed(0)
    model = build_backbone("regnety_002", in_chans=1).to(device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    forward = compile_network(model, backend)
    fused = {"fused": True} if device.type == "cuda" else {}
    opt = torch.optim.Adam(model.parameters(), lr=1e-4, **fused)
    loss_fn = FocalLoss().to(device)
    aug = BatchAugment(hflip=0.5, vflip=0.5)
    images = torch.randint(0, 256, (batch * 4, 128, 320), dtype=torch.uint8, device=device)
    y = (torch.rand(batch * 4, 30, device=device) > 0.9).float()
    params = {k: v.to(device) for k, v in aug.params(batch * 4, torch.Generator().manual_seed(0)).items()}
    losses = []

    def train_step(b, key):
        opt.zero_grad(set_to_none=True)
        with autocast(device, enabled=bf16):
            logits = forward(b["x"])
        loss = loss_fn(logits, b["y"])
        loss.backward()
        opt.step()
        return loss.detach()

    capture = step_capture(backend, device)
    run = CapturedStep(train_step, model, opt, capture) if capture else train_step

    def step(i):
        cut = slice((i % 4) * batch, (i % 4 + 1) * batch)
        x = aug.apply(images[cut], {k: v[cut] for k, v in params.items()})
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        losses.append(run({"x": x, "y": y[cut]}, 0))
    return step


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def host_operations(step, i) -> int:
    """Operations the host dispatches for one step (the profiler's top-level CPU events): what
    Python enqueues one by one, whatever the device."""
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(i)
    return sum(event.cpu_parent is None for event in prof.events())


def measure(device, batch, steps, deterministic, channels_last, bf16, backend=None):
    """(ms per step, host ms per step, seconds of the first 3 steps: compile and warm-up,
    host operations per step)."""
    torch.use_deterministic_algorithms(deterministic)
    torch.utils.deterministic.fill_uninitialized_memory = False  # as utils.engine.seed_everything
    step = make_step(device, batch, channels_last, bf16, backend)
    t0 = time.perf_counter()
    for i in range(3):
        step(i)
    sync(device)
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    host = time.perf_counter() - t0
    sync(device)
    total = time.perf_counter() - t0
    return 1000 * total / steps, 1000 * host / steps, first, host_operations(step, steps)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="auto")
    parser.add_argument("--batch", type=int, nargs="+", default=[128])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--compile", nargs="*", default=[], help="compile_backend values to add (deterministic)")
    parser.add_argument("--no-matrix", action="store_true", help="only the paper's eager step and the compiled rows")
    args = parser.parse_args()
    device = choose_device(args.device)
    card = torch.cuda.get_device_name() if device.type == "cuda" else "CPU"
    print(f"{card}, torch {torch.__version__}, 112x336")
    print("| batch | compiled | deterministic | channels-last | bf16 | ms/step | host ms/step | host ops/step "
          "| images/s | first 3 steps s |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    if args.no_matrix:  # the paper profile's settings: deterministic, float32, contiguous
        rows = [(backend, True, False, False) for backend in [None, *args.compile]]
    else:
        rows = [(None, *r) for r in itertools.product([True, False], repeat=3)]
        rows += [(b, True, cl, cl) for b in args.compile for cl in (False, True)]
    for batch in args.batch:
        for backend, det, cl, bf16 in rows:
            ms, host, first, ops = measure(device, batch, args.steps, det, cl, bf16, backend)
            print(f"| {batch} | {backend or 'eager'} | {det} | {cl} | {bf16} | {ms:.1f} | {host:.1f} | {ops} "
                  f"| {1000 * batch / ms:,.0f} | {first:.1f} |", flush=True)
    if device.type == "cuda":
        from torch.profiler import ProfilerActivity, profile
        torch.use_deterministic_algorithms(True)
        step = make_step(device, args.batch[0], False, False)
        for i in range(3):
            step(i)
        sync(device)
        with profile(activities=[ProfilerActivity.CUDA, ProfilerActivity.CPU]) as prof:
            for i in range(5):
                step(i)
            sync(device)
        print(prof.key_averages().table(sort_by="cuda_time_total", row_limit=15, max_name_column_width=60))


if __name__ == "__main__":
    main()
