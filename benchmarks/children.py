"""Run a benchmark's independent parts as child processes, a few at a time, with a deadline.

A GPU step at these sizes is host-bound, so one card trains several small models at once
faster than one after another. Each child gets an equal share of the CPU threads and its
own log file; a child still running at the deadline is killed (the benchmarks it serves
resume from their checkpoints on a rerun).
"""
import os
import subprocess
import time
from pathlib import Path


def run_children(commands: dict[str, list[str]], jobs: int, log_folder: Path, deadline: float | None = None,
                 meanwhile=None, poll_s: float = 0.5) -> dict[str, str]:
    """Run `commands` ({name: argv}) `jobs` at a time; `meanwhile()` is called once, after the
    first children start. Returns {name: "done" | "failed" | "cut"}; a failure prints its log's end."""
    threads = str(max(1, (os.cpu_count() or 1) // max(1, jobs)))
    env = {**os.environ, "OMP_NUM_THREADS": threads}
    log_folder.mkdir(parents=True, exist_ok=True)
    pending, running, logs, outcome = list(commands), {}, {}, {}
    called = meanwhile is None
    while pending or running or not called:
        if deadline is not None and time.time() > deadline:
            for name in pending:
                outcome[name] = "cut"
            pending = []
        while pending and len(running) < jobs:
            name = pending.pop(0)
            logs[name] = (log_folder / f"{name}.log").open("w")
            running[name] = subprocess.Popen(commands[name], env=env, stdout=logs[name], stderr=subprocess.STDOUT)
        if not called:
            meanwhile()
            called = True
        for name, proc in list(running.items()):
            late = deadline is not None and time.time() > deadline
            if proc.poll() is None and not late:
                continue
            if proc.poll() is None:
                proc.kill()
                outcome[name] = "cut"
                print(f"{name}: cut at the budget (its checkpoints resume it)", flush=True)
            elif proc.returncode:
                outcome[name] = "failed"
                print(f"{name}: failed; {log_folder / f'{name}.log'} ends:\n"
                      + (log_folder / f"{name}.log").read_text()[-1500:], flush=True)
            else:
                outcome[name] = "done"
            proc.wait()
            logs[name].close()
            del running[name]
        time.sleep(poll_s if running else 0)
    return outcome
