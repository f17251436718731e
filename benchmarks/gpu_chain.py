"""The paper's whole recipe at the real size on one GPU, and the same bytes twice.

1. Reruns, while a real-size competition folder (8461 bags, ~35k images) is generated with
   every core: the same seed twice on a small generated folder with shortened schedules,
   both at once; the second is killed during 03 and resumed with `--from 03`. Their
   submission files are compared byte for byte (equal bytes: the same seed gives the same
   files, and a resumed run gives an uninterrupted one's).
2. The full `paper` profile (2 warm-up, 100 CNN and 60 BiLSTM epochs, every hyper-parameter
   as the paper states) through the pipeline and papermill on the real-size folder: each
   notebook's wall time, and the images/s of the warm-up (per view) and of the CNN.
3. If time is left: benchmarks/train_throughput.py on the real-size images (the chain's step
   against the paper-style loader, and the captured step), with torch.compile if more time is left.

Each phase runs within what is left of `--budget` seconds; a phase that does not fit is cut
and says so. Results: a table printed last, and `<out>/gpu_chain.json` and logs.

    python benchmarks/gpu_chain.py --out DIR [--bags 8461] [--workers 16] [--budget 540]
        [--full-args "-p cnn_epochs 30"] [--short-args "..."] [--device cuda]
"""
import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parents[1]
SHORT = ("-p warmup_epochs 1 -p cnn_epochs 8 -p cnn_lr_T 7 -p gamma_T 2 -p temper_start 2 "
         "-p temper_half_period 2 -p temper_freeze 6 -p lstm_epochs 6")


def pipeline(data, work, subs, extra=(), device="cuda"):
    return [sys.executable, "-m", "utils.pipeline", "--profile", "paper", "--data", str(data),
            "--device", device, "--work", str(work), "--submissions", str(subs), *extra]


def start(cmd, log: Path):
    return subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=log.open("w"), stderr=subprocess.STDOUT)


def stop(proc) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def submission_bytes(work: Path):
    sub = work / "submission.json"
    if not sub.exists():
        return None
    s = json.loads(sub.read_text())
    return Path(s["f1"]).read_bytes(), Path(s["auc"]).read_bytes()


def reruns(data: Path, root: Path, deadline: float, device: str, short: list) -> dict:
    """One run through and one killed in 03 then resumed; are their submissions the same bytes?"""
    root.mkdir(parents=True, exist_ok=True)
    procs = {name: start(pipeline(data, root / name, root / "subs", short, device), root / f"{name}.log")
             for name in ("a", "killed")}
    last = root / "killed/cnn/last.pt"
    while not last.exists() and procs["killed"].poll() is None and time.time() < deadline:
        time.sleep(0.02)
    stop(procs["killed"])
    import torch
    killed_at = torch.load(last, weights_only=False)["epoch"] if last.exists() else None
    resumed = start(pipeline(data, root / "killed", root / "subs", short + ["--from", "03"], device),
                    root / "resumed.log")
    for p in (procs["a"], resumed):
        try:
            p.wait(timeout=max(1, deadline - time.time()))
        except subprocess.TimeoutExpired:
            stop(p)
    a, c = submission_bytes(root / "a"), submission_bytes(root / "killed")
    executed = root / "killed/executed/03_cnn_tempering.ipynb"
    tails = {f"log_{n}": (root / f"{n}.log").read_text()[-1500:] for n, v in (("a", a), ("resumed", c))
             if v is None and (root / f"{n}.log").exists()}
    return {**tails, "killed_after_epoch": killed_at,
            "resumed_said": "resuming from" in executed.read_text() if executed.exists() else None,
            "same_bytes": a is not None and a == c,
            "finished": (["a"] if a else []) + (["killed+resumed"] if c else [])}


def notebook_table(work: Path) -> list[dict]:
    timings = json.loads((work / "timings.json").read_text()) if (work / "timings.json").exists() else {}
    rows = []
    for label, seconds in timings.items():
        row = {"notebook": label, "seconds": seconds}
        for name, csv in (("02", "warmup/history.csv"), ("03", "cnn/history.csv"), ("05", "bag/history.csv")):
            if label.startswith(name) and (work / csv).exists():
                h = pd.read_csv(work / csv)
                later = h.iloc[1:] if len(h) > 1 else h
                row["epochs"], row["epoch_seconds"] = len(h), round(float(later.seconds.median()), 2)
                if "images_per_second" in h:
                    row["images_per_second"] = round(float(later.images_per_second.median()))
        rows.append(row)
    last = work / "cnn/last.pt"
    if "03_cnn_tempering" not in timings and last.exists():  # cut during 03: its epochs so far
        import torch
        h = pd.DataFrame(torch.load(last, weights_only=False, map_location="cpu")["history"])
        rate = (h.train_images / h.train_seconds).iloc[1:].median()
        rows.append({"notebook": "03_cnn_tempering (cut)", "seconds": round(float(h.seconds.sum()), 1),
                     "epochs": len(h), "images_per_second": round(float(rate)) if len(h) > 1 else None})
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True)
    parser.add_argument("--root", default="/tmp/gpu-chain", help="data and work folders")
    parser.add_argument("--bags", type=int, default=8461)
    parser.add_argument("--rerun-bags", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=os.cpu_count())
    parser.add_argument("--budget", type=float, default=540, help="seconds for everything")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--full-args", default="", help="extra pipeline arguments for the full run")
    parser.add_argument("--short-args", default=SHORT, help="pipeline arguments that shorten the reruns")
    args = parser.parse_args()
    t_start = time.time()
    deadline = t_start + args.budget
    out, root = Path(args.out), Path(args.root)
    out.mkdir(parents=True, exist_ok=True)
    results = {}

    def save():
        (out / "gpu_chain.json").write_text(json.dumps(results, indent=1, default=str))

    import torch
    results["card"] = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    results["torch"] = torch.__version__
    from utils.synthetic import generate
    t0 = time.time()
    small = root / "small" if (root / "small").exists() else generate(root / "small", n_bags=args.rerun_bags,
                                                                        seed=1, workers=args.workers)
    rerun_deadline = min(deadline, time.time() + 0.3 * args.budget)

    def check_reruns():
        try:
            results["reruns"] = reruns(small, root / "reruns", rerun_deadline, args.device,
                                       shlex.split(args.short_args))
        except Exception as e:  # reported, and the full run still goes ahead
            results["reruns"] = {"error": f"{type(e).__name__}: {e}"}

    rerun = threading.Thread(target=check_reruns)
    rerun.start()  # mostly GPU work, beside the generator's CPU work
    real = root / "real" if (root / "real").exists() else generate(root / "real", n_bags=args.bags, seed=0,
                                                                     workers=args.workers)
    results["generate_seconds"] = round(time.time() - t0, 1)
    rerun.join()
    results["reruns"]["seconds"] = round(time.time() - t0, 1)
    save()

    t0 = time.time()
    full = start(pipeline(real, root / "full", root / "subs", shlex.split(args.full_args), args.device),
                 out / "full.log")
    try:
        full.wait(timeout=max(1, deadline - time.time()))
    except subprocess.TimeoutExpired:
        stop(full)
    results["full"] = {"seconds": round(time.time() - t0, 1), "finished": submission_bytes(root / "full") is not None,
                       "notebooks": notebook_table(root / "full")}
    if (root / "full/submission.json").exists():
        results["full"]["valid_scores"] = json.loads((root / "full/submission.json").read_text())["valid_scores"]
    save()

    left = deadline - time.time()
    if left > 60:
        cmd = [sys.executable, "benchmarks/train_throughput.py", "--device", args.device, "--data", str(real),
               "--bags", "1500", "--epochs", "3", "--steps", "10", "--warmup-batch", "32", "256",
               "--work", str(root / "throughput")]
        cmd += ["--compile", "cuda-graph"] + (["inductor"] if left > 200 else []) \
            + (["inductor-cudagraphs"] if left > 320 else [])
        try:
            done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=left - 5)
            results["throughput"] = done.stdout[-3000:] + done.stderr[-1500:]
        except subprocess.TimeoutExpired:
            results["throughput"] = "cut: no time left"
    results["total_seconds"] = round(time.time() - t_start, 1)
    save()

    print(f"\n{results['card']}, torch {results['torch']}; generate {results['generate_seconds']} s")
    print("reruns (same seed, shortened):", json.dumps(results["reruns"]))
    print(f"full paper recipe arguments: {args.full_args or '(none)'}")
    print(f"full paper recipe: {results['full']['seconds']} s, finished: {results['full']['finished']}")
    print("| notebook | seconds | epochs | seconds per epoch | training images/s |\n|---|---|---|---|---|")
    for row in results["full"]["notebooks"]:
        print(f"| {row['notebook']} | {row['seconds']} | {row.get('epochs', '')} | {row.get('epoch_seconds', '')} "
              f"| {row.get('images_per_second', '')} |")
    print(results.get("throughput", "throughput: skipped (no time left)"))


if __name__ == "__main__":
    main()
