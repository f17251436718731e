"""The fit and predict loops every notebook shares.

`fit` runs epochs of `train_step` over `batches(epoch)`, sets the learning rate from a
schedule, evaluates, keeps a per-epoch history (a DataFrame), and saves `last.pt` and
`best.pt` (the epoch the selection metric liked best) atomically: after the first and the
last epoch, and in between as often as a set share of the time allows. Rerunning with the
same checkpoint folder resumes after the last saved epoch, RNG states included, so an
interrupted CPU run ends exactly where an uninterrupted one does.
"""
from __future__ import annotations

import hashlib
import io
import json
import random
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import pandas as pd
import torch
import torch.utils.deterministic
from torch import nn

from .atomic import atomic_path
from .progress import progress as progress_bar
from .step_graph import CapturedStep, portable_state, set_learning_rate


def choose_device(device: str = "auto") -> torch.device:
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError("device 'cuda' asked for, but no GPU is visible; use device='cpu'")
    return torch.device(device)


def seed_everything(seed: int, deterministic: bool = True) -> torch.Generator:
    """Seed Python, NumPy and torch (every GPU too); returns a CPU generator for data order
    and augmentation. `deterministic` enforces deterministic kernels: an operation without
    one raises instead of silently changing the bytes (cuBLAS needs CUBLAS_WORKSPACE_CONFIG,
    which importing utils sets before CUDA starts)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    # Subnormal floats are flushed to zero on the CPU: saturated LSTM gates produce them, and
    # arithmetic on them made the paper's BiLSTM 3-7x slower per epoch (BENCHMARKS.md).
    torch.set_flush_denormal(True)
    if deterministic:
        torch.use_deterministic_algorithms(True)
        # ... without also filling every new tensor with NaN: the kit never reads memory it
        # has not written, and the fills are ~970 extra operations per CNN step on a GPU
        # whose step waits for the host (benchmarks/step_profile.py, BENCHMARKS.md).
        torch.utils.deterministic.fill_uninitialized_memory = False
        torch.backends.cudnn.benchmark = False
        # The CPU's products split their sums by thread, so the thread count is part of the
        # result: pin torch's, which also stops MKL from choosing its own (MKL_DYNAMIC).
        torch.set_num_threads(torch.get_num_threads())
    return torch.Generator().manual_seed(seed)


def autocast(device: torch.device, enabled: bool = True):
    """bfloat16 autocast on the GPU; plain float32 on the CPU (exact and reproducible).
    No cast cache: a captured step (utils.step_graph) must cast its weights every replay."""
    if device.type == "cuda" and enabled:
        return torch.autocast("cuda", dtype=torch.bfloat16, cache_enabled=False)
    return nullcontext()


def save_atomic(obj, path) -> None:
    """torch.save to a temporary file, then rename: never a half-written checkpoint."""
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


def load_checkpoint(path, map_location="cpu"):
    """torch.load, naming the file when it cannot be read. The kit writes every checkpoint
    atomically, so a damaged one was cut or changed after it was written (a copy between
    machines that stopped half-way, say); torch's own message names no file."""
    try:
        return torch.load(path, map_location=map_location, weights_only=False)
    except Exception as e:  # RuntimeError, EOFError, UnpicklingError ... by how the file is damaged
        raise RuntimeError(f"{path} cannot be read ({type(e).__name__}: {str(e).splitlines()[0][:160]}); "
                           f"it was damaged after it was written: copy it again, or delete it to "
                           f"train that stage afresh") from e


def save_if_changed(obj, path) -> bool:
    """save_atomic, but leave `path` untouched when it already holds these exact bytes.

    A later stage's resume key stamps this file (run_key: size and mtime), so rewriting the
    same warm-up backbone would make the CNN that starts from it retrain from scratch.
    Returns whether the file was written.
    """
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    data, path = buffer.getvalue(), Path(path)
    if path.exists() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return True


def _rng_state(generator: torch.Generator | None) -> dict:
    return {"torch": torch.get_rng_state(), "numpy": np.random.get_state(),
            "python": random.getstate(),
            "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None,
            "generator": generator.get_state() if generator is not None else None}


def _set_rng_state(state: dict, generator: torch.Generator | None) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if state.get("cuda") is not None and torch.cuda.is_available():  # dropout on the GPU draws here
        torch.cuda.set_rng_state_all(state["cuda"])
    if generator is not None and state["generator"] is not None:
        generator.set_state(state["generator"])


def run_key(**values) -> str:
    """Fingerprint of what a training run depends on (settings, input files' stamps).

    `fit` resumes only a checkpoint with the same key, so changing a parameter or an
    input (new features, a new warm-up) starts afresh instead of resuming a stale run.
    """
    def stamp(v):
        if isinstance(v, Path):
            st = v.stat()
            return f"{v.name}:{st.st_size}:{st.st_mtime_ns}"
        return v

    text = json.dumps({k: stamp(v) for k, v in sorted(values.items())}, sort_keys=True, default=str)
    return hashlib.sha1(text.encode()).hexdigest()[:16]


def fit(model: nn.Module, optimizer: torch.optim.Optimizer,
        batches: Callable[[int], Iterable], train_step: Callable, epochs: int,
        checkpoint_dir, lr_schedule: Callable[[float], float] | None = None,
        evaluate: Callable[[nn.Module], dict] | None = None, select: str | None = None,
        on_epoch_start: Callable[[int], dict] | None = None,
        generator: torch.Generator | None = None, progress: str | None = "text",
        stop_after: int | None = None, key: str | None = None, desc: str = "training",
        clip_grad_norm: float | None = None, capture: Callable | None = None,
        checkpoint_share: float | None = 0.05) -> pd.DataFrame:
    """Train for `epochs`, resuming from `checkpoint_dir/last.pt` if present.

    batches(epoch) yields batches (with len(batches) they are not all made up front);
    train_step(model, batch, epoch) returns the loss tensor. Losses stay on the device and
    are read once per epoch, so a GPU never waits for the host inside an epoch; a
    non-finite loss stops the run at the end of its epoch, naming the epoch and batch,
    before anything is saved. The history has `train_seconds` (the steps alone) per epoch.
    lr_schedule(fractional epoch) gives the learning rate per step; on_epoch_start(epoch)
    updates loss parameters (gamma, tempered weights) and returns them for the history;
    evaluate(model) returns validation metrics; `select` names the metric (higher is
    better) that picks best.pt. `progress` is the style of the one bar over the epochs
    (utils.progress: "widgets", "text" or None); the history is returned, not printed.
    `stop_after` ends the call after that many epochs (tests
    use it to simulate an interruption). `key` (see run_key) must match the checkpoint's
    for it to be resumed; otherwise training starts afresh. `clip_grad_norm` rescales each
    step's gradients to at most that norm. `capture` (utils.step_graph.cuda_graph) replays
    each epoch's steps from one captured graph (CapturedStep) instead of running them eagerly.
    `checkpoint_share` caps the share of the time spent saving: after an epoch, the
    checkpoints are saved only once that share of the time since the last save covers what
    the last save took (None: after every epoch). The paper's BiLSTM head with its Adam state
    is 465 MB a save (1.3 s on a 2-core box; 05's whole epoch took 1.6 s on an H200, issue
    10); the first and last epochs always save.
    """
    checkpoint_dir = Path(checkpoint_dir)
    last = checkpoint_dir / "last.pt"
    history, start, best = [], 0, -np.inf
    saved, saved_at, save_seconds = None, None, 0.0  # the epoch last.pt holds, when and how long it took
    pending_best = None  # the best epoch's weights, until the next save
    state = load_checkpoint(last) if last.exists() else None
    if state is not None and state.get("key") != key:
        print(f"{last} was made with other settings or inputs; training afresh")
        state = None
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        _set_rng_state(state["rng"], generator)
        history, start, best = state["history"], state["epoch"] + 1, state["best"]
        saved = state["epoch"]
        if start < epochs:
            print(f"resuming from {last} after epoch {start - 1}")
    done = 0
    bar = progress_bar(total=epochs, desc=desc, style=progress)
    bar.update(start)
    n_batches = len(batches) if hasattr(batches, "__len__") else None

    def one_step(batch, epoch):
        optimizer.zero_grad(set_to_none=True)
        loss = train_step(model, batch, epoch)
        loss.backward()
        if clip_grad_norm is not None:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip_grad_norm)
        optimizer.step()
        return loss.detach()

    step = CapturedStep(one_step, model, optimizer, capture) if capture is not None else one_step
    for epoch in range(start, epochs):
        t0 = time.time()
        extra = on_epoch_start(epoch) if on_epoch_start else {}
        model.train()
        epoch_batches = batches(epoch)
        if n_batches is None:  # a plain function of the epoch: its length is needed for the LR
            epoch_batches = list(epoch_batches)
        total = n_batches if n_batches is not None else len(epoch_batches)
        losses = []  # kept on the device: read once per epoch, not once per step
        for i, batch in enumerate(epoch_batches):
            if lr_schedule is not None:
                set_learning_rate(optimizer, lr_schedule(epoch + i / total))
            losses.append(step(batch, epoch))
        losses = torch.stack(losses).float().cpu() if losses else torch.zeros(0)
        bad = (~torch.isfinite(losses)).nonzero()
        if len(bad):
            i = int(bad[0])
            kept = f"{last} keeps epoch {saved}" if saved is not None else f"no {last} was saved yet"
            raise FloatingPointError(f"loss is {losses[i].item()} at epoch {epoch}, batch {i}; {kept}")
        train_seconds = time.time() - t0
        row = {"epoch": epoch, "train_loss": float(losses.double().mean()) if len(losses) else float("nan"),
               "lr": float(optimizer.param_groups[0]["lr"]), **(extra or {})}
        if evaluate is not None:
            model.eval()
            with torch.no_grad():
                row.update({f"valid_{k}": v for k, v in evaluate(model).items()})
        row["train_seconds"], row["seconds"] = train_seconds, time.time() - t0
        history.append(row)
        done += 1
        due = (checkpoint_share is None or saved_at is None or epoch == epochs - 1 or done == stop_after
               or (time.time() - saved_at) * checkpoint_share >= save_seconds)
        metric = row.get(f"valid_{select}", -row["train_loss"]) if select else -row["train_loss"]
        no_best_yet = pending_best is None and not (checkpoint_dir / "best.pt").exists()
        if metric > best or no_best_yet:  # a NaN metric still leaves one
            best = max(metric, best) if np.isfinite(metric) else best
            weights = model.state_dict() if due else {k: v.detach().clone() for k, v in model.state_dict().items()}
            pending_best = {"model": weights, "epoch": epoch, "metrics": row}
        if due:
            t_save = time.time()
            if pending_best is not None:
                save_atomic(pending_best, checkpoint_dir / "best.pt")
                pending_best = None
            save_atomic({"model": model.state_dict(), "optimizer": portable_state(optimizer),
                         "epoch": epoch, "history": history, "best": best, "key": key,
                         "rng": _rng_state(generator)}, last)
            saved, saved_at, save_seconds = epoch, time.time(), time.time() - t_save
        shown = {"loss": row["train_loss"], **({select: row[f"valid_{select}"]} if f"valid_{select}" in row else {})}
        bar.set_postfix({k: round(v, 4) for k, v in shown.items()}, refresh=False)
        bar.update(1)
        if stop_after is not None and done >= stop_after:
            break
    bar.close()
    return pd.DataFrame(history)


def load_best(model: nn.Module, checkpoint_dir) -> dict:
    """Load best.pt into `model`; returns the metrics it was selected with."""
    state = load_checkpoint(Path(checkpoint_dir) / "best.pt")
    model.load_state_dict(state["model"])
    return state["metrics"]


@torch.no_grad()
def predict(model: nn.Module, batches: Iterable, forward: Callable) -> np.ndarray:
    """Concatenate forward(model, batch) (tensors) over batches into one float32 array."""
    model.eval()
    outs = [forward(model, batch).float().cpu() for batch in batches]
    return torch.cat(outs).numpy() if outs else np.zeros((0,), dtype=np.float32)
