"""A whole training step (forward, loss, backward, optimiser) captured as one CUDA graph.

On a GPU the CNN's step waits for Python: enqueuing its ~800 kernels one by one takes longer
than running them (benchmarks/step_profile.py, BENCHMARKS.md). Replaying a captured graph
launches them all at once. The kernels are the eager ones, in the same order on the same
buffers, and nothing is compiled. One number differs: the learning rate, which the graph reads
from a float32 tensor where the eager optimiser passes a double, so a captured run tracks the
eager one to rounding and repeats its own bytes exactly.

A graph bakes in every Python number it saw (the loss's gamma, the epoch), so `CapturedStep`
captures again whenever its `key` (the epoch) changes: once per epoch, a step's worth of host
time. The learning rate changes every step, so it becomes a device tensor that is refilled
between replays (`set_learning_rate`).
"""
from __future__ import annotations

from contextlib import nullcontext
from typing import Callable

import torch

WARMUP_STEPS = 3  # eager steps before the first capture (cuBLAS/cuDNN handles, optimiser state)


def cuda_graph(fn: Callable[[], torch.Tensor]) -> Callable[[], torch.Tensor]:
    """Capture fn() as a CUDA graph (nothing runs now); returns replay, which runs the graph
    and returns fn's output tensor, refilled in place."""
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        out = fn()

    def replay():
        graph.replay()
        return out

    replay.graph = graph  # keeps the graph (and its memory pool) alive with the replay
    return replay


def set_learning_rate(optimizer: torch.optim.Optimizer, lr: float) -> None:
    """Set every group's learning rate; a tensor rate (a captured step's) is refilled in place."""
    for group in optimizer.param_groups:
        if isinstance(group["lr"], torch.Tensor):
            group["lr"].fill_(lr)
        else:
            group["lr"] = lr


def portable_state(optimizer: torch.optim.Optimizer) -> dict:
    """optimizer.state_dict() as an eager optimiser would have saved it (plain float rates,
    not capturable), so that a checkpoint resumes the same with or without capture."""
    state = optimizer.state_dict()
    for group in state["param_groups"]:
        group["lr"] = float(group["lr"])
        if "capturable" in group:
            group["capturable"] = False
    return state


class CapturedStep:
    """step(batch, key) -> loss, run by replaying a graph of it.

    The first call runs WARMUP_STEPS eager steps on a side stream (libraries set up their
    handles, the optimiser its state), then puts the model, optimiser and RNG back as they
    were, so that every training step, the first included, is a replay: a run resumed
    mid-way replays the same steps as an uninterrupted one. Each new `key` captures afresh.
    Batches' tensors are copied into fixed input buffers (anything else in a batch is taken
    as it was at capture); a batch whose tensors differ from the first's in names, shapes or
    dtypes (a short last batch) runs eagerly instead.
    """

    def __init__(self, step: Callable[[dict, object], torch.Tensor], model: torch.nn.Module,
                 optimizer: torch.optim.Optimizer, capture: Callable = cuda_graph):
        self.step, self.model, self.optimizer, self.capture = step, model, optimizer, capture
        self.inputs, self.replay, self.key = None, None, None

    def fits(self, batch: dict) -> bool:
        if self.inputs is None:
            return True
        tensors = {k for k, v in batch.items() if isinstance(v, torch.Tensor)}
        return tensors == set(self.inputs) and all(
            (batch[k].shape, batch[k].dtype, batch[k].device) == (v.shape, v.dtype, v.device)
            for k, v in self.inputs.items())

    def __call__(self, batch: dict, key=None) -> torch.Tensor:
        if not self.fits(batch):
            return self.step(batch, key)
        if self.inputs is None:
            self.inputs = {k: v.clone() for k, v in batch.items() if isinstance(v, torch.Tensor)}
        else:
            for k, v in self.inputs.items():
                v.copy_(batch[k])
        static = {**batch, **self.inputs}
        if self.replay is None:
            self._warm_up(static, key)
        if self.replay is None or key != self.key:
            self.replay = None  # the old graph's memory goes before the new one is captured
            self.optimizer.zero_grad(set_to_none=True)
            self.replay, self.key = self.capture(lambda: self.step(static, key)), key
        return self.replay().clone()  # the graph's output is overwritten by the next replay

    def _warm_up(self, static: dict, key) -> None:
        device = next(self.model.parameters()).device
        model = {k: v.clone() for k, v in self.model.state_dict().items()}
        optim = {id(p): {k: v.clone() for k, v in s.items() if isinstance(v, torch.Tensor)}
                 for p, s in self.optimizer.state.items()}
        rng = (torch.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None)
        side = torch.cuda.Stream(device) if device.type == "cuda" else None
        if side is not None:
            side.wait_stream(torch.cuda.current_stream(device))
        with torch.cuda.stream(side) if side is not None else nullcontext():
            for _ in range(WARMUP_STEPS):
                self.step(static, key)
        if side is not None:
            torch.cuda.current_stream(device).wait_stream(side)
        self.model.load_state_dict(model)  # copies in place: the graph sees the same tensors
        for p, s in self.optimizer.state.items():
            for k, v in s.items():
                if k in optim.get(id(p), {}):
                    v.copy_(optim[id(p)][k])
                elif isinstance(v, torch.Tensor):  # state the warm-up created starts from zero, as a fresh one
                    v.zero_()
        torch.set_rng_state(rng[0])
        if rng[1] is not None:
            torch.cuda.set_rng_state_all(rng[1])
        if device.type != "cuda":  # tests stand in for the graph on the CPU, where the rate stays a float
            return
        for group in self.optimizer.param_groups:  # refilled between replays (set_learning_rate)
            group["lr"] = torch.tensor(float(group["lr"]), dtype=torch.float32, device=device)
            if "capturable" in group:
                group["capturable"] = True
