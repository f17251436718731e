"""A work folder holds one run: the arguments that made it, kept in <work>/run.json.

Resuming (`--from NN`) reuses them, so the command printed after a failure repeats the
original run exactly, with its data folder, seed, device and -p overrides. A different
profile, data folder, seed, device, fold count or submissions folder is refused unless
`--force`, naming both values: artifacts of one run must not mix with another's. A -p
override may change for the notebooks that rerun, but not for one whose artifacts the
resumed run reuses. Every finished notebook's artifacts are stamped, so a resume after an
earlier notebook was rerun, or after the data changed, says so instead of mixing old and
new artifacts.
"""
from __future__ import annotations

import shlex
import time
from pathlib import Path

from .profiles import profile_parameters
from .rundir import read_json, write_json

RUN_ARGS = ("profile", "data", "seed", "device", "folds", "submissions")
FLAGS = {"profile": "--profile", "data": "--data", "seed": "--seed", "device": "--device",
         "folds": "--folds", "submissions": "--submissions"}


class RunConflict(ValueError):
    """The arguments given do not describe the run this work folder holds."""


def effective(args: dict, overrides: dict, work_dir: Path, repo: Path) -> dict:
    """What each run argument amounts to when left out (the profile's value, the demo data
    built in <work>/data, ...), so that `--seed 0` and no --seed compare equal."""
    profile = args.get("profile") or "demo"
    params = {**profile_parameters(profile), **overrides}
    return {
        "profile": profile,
        "data": str(Path(args["data"]).resolve()) if args.get("data") else str(work_dir / "data"),
        "seed": params["seed"] if args.get("seed") is None else args["seed"],
        "device": args.get("device") or "cpu",
        "folds": int(params.get("n_folds") or 0) if args.get("folds") is None else args["folds"],
        "submissions": str(Path(args.get("submissions") or repo / "submissions").resolve()),
    }


def stored_run(work_dir: Path) -> dict | None:
    """run.json's record of the run, or None for a new folder (or one from an older kit)."""
    path = Path(work_dir) / "run.json"
    if not path.exists():
        return None
    record = read_json(path)
    return record if "args" in record else None


def merge_run(stored: dict | None, args: dict, overrides: dict, work_dir: Path, repo: Path,
              reused_parameters: dict[str, str], force: bool = False) -> tuple[dict, dict, list[str]]:
    """(arguments, overrides, notes) of the run to execute: the stored run's, updated by what
    was given. `reused_parameters` maps each parameter that an already-finished notebook used
    to that notebook's name; changing one of those, or any run argument, is a conflict."""
    given = {k: v for k, v in args.items() if v is not None}
    if stored is None:
        return given, dict(overrides), []
    old_args, old_over = stored["args"], stored["overrides"]
    before = effective(old_args, old_over, work_dir, repo)
    after = effective({**old_args, **given}, {**old_over, **overrides}, work_dir, repo)
    conflicts = [f"{FLAGS[k]}: this run used {before[k]}, you gave {after[k]}"
                 for k in RUN_ARGS if k in given and before[k] != after[k]]
    old_params = {**profile_parameters(before["profile"]), **old_over}
    conflicts += [f"-p {k}: {reused_parameters[k]} already ran with {old_params.get(k, '(notebook default)')!r}, "
                  f"you gave {v!r}"
                  for k, v in overrides.items() if k in reused_parameters and old_params.get(k) != v]
    if conflicts and not force:
        raise RunConflict(
            f"{work_dir} holds another run:\n  " + "\n  ".join(conflicts) +
            f"\nresume it as it was: {command_line(old_args, old_over, work_dir)} --from NN\n"
            "or start a new run in another --work folder, or pass --force to go on with the "
            "new values on top of the old artifacts")
    notes = [f"--force: {c}" for c in conflicts]
    return {**old_args, **given}, {**old_over, **overrides}, notes


def command_line(args: dict, overrides: dict, work_dir: Path) -> str:
    """The pipeline command that runs (or, with --from, resumes) this run."""
    from .pipeline import parse_value

    parts = ["python", "-m", "utils.pipeline"]
    for k in RUN_ARGS:
        if args.get(k) is not None:
            parts += [FLAGS[k], str(args[k])]
    parts += ["--work", str(work_dir)]
    for k, v in overrides.items():
        text = v if isinstance(v, str) and parse_value(v) == v else repr(v)
        parts += ["-p", k, text]
    return shlex.join(parts)


def write_run(work_dir: Path, args: dict, overrides: dict, parameters: dict) -> None:
    """Record the run (keeping the stamps of notebooks that already finished)."""
    path = Path(work_dir) / "run.json"
    old = read_json(path) if path.exists() else {}
    write_json(path, {"args": args, "overrides": overrides, "profile": parameters["profile"],
                      "parameters": parameters, "command": command_line(args, overrides, work_dir),
                      "steps": old.get("steps", {}) if "args" in old else {}})


def set_status(work_dir: Path, state: str, step: str, error: str | None = None) -> None:
    """Where the run stands, for `python -m utils.runs`: running (or killed) at `step`,
    failed there with `error`, stopped after it (--to), or finished."""
    path = Path(work_dir) / "run.json"
    record = read_json(path)
    record["status"] = {"state": state, "step": step, "error": error,
                        "time": time.strftime("%Y-%m-%d %H:%M:%S")}
    write_json(path, record)


def _stamp(path: Path) -> str | None:
    """Size and modification time of an artifact file (None when it is missing)."""
    if not path.is_file():
        return None
    st = path.stat()
    return f"{st.st_size}:{st.st_mtime_ns}"


def record_step(work_dir: Path, label: str, artifacts: list[str]) -> None:
    """Stamp a finished notebook's artifacts, with its place in the order notebooks finished."""
    path = Path(work_dir) / "run.json"
    record = read_json(path)
    steps = record.setdefault("steps", {})
    order = max((s["order"] for s in steps.values()), default=0) + 1
    steps[label] = {"order": order, "artifacts": {a: _stamp(Path(work_dir) / a) for a in artifacts}}
    write_json(path, record)


def check_resume(work_dir: Path, done: list[tuple[str, str]], data_dir: Path) -> list[str]:
    """Why the artifacts of the notebooks already done (label, notebook name; in chain order)
    cannot be reused as they are: the data changed since 00 read it, an earlier notebook
    reran after a later one, or an artifact changed after a later notebook read it."""
    from .data import fingerprint

    work_dir = Path(work_dir)
    problems = []
    info = work_dir / "data.json"
    if done and info.exists() and Path(data_dir).exists():
        recorded, now = read_json(info).get("fingerprint"), fingerprint(data_dir)
        if recorded and recorded != now:
            problems.append(f"the data in {data_dir} changed since 00_demo_data read it (fingerprint "
                            f"{recorded} -> {now}): rerun with --from 00")
    steps = (read_json(work_dir / "run.json").get("steps", {})
             if (work_dir / "run.json").exists() else {})
    latest, latest_label = 0, None
    for i, (label, name) in enumerate(done):
        step = steps.get(label)
        if step is None:
            continue
        if step["order"] < latest:
            problems.append(f"{latest_label} reran after {label}, whose outputs are now stale: "
                            f"rerun with --from {name[:2]}")
            break
        latest, latest_label = step["order"], label
        changed = [a for a, s in step["artifacts"].items() if _stamp(work_dir / a) != s]
        if changed and i + 1 < len(done):
            problems.append(f"{', '.join(changed)} changed after {label} wrote it, and "
                            f"{done[i + 1][0]} used the old one: rerun with --from {done[i + 1][1][:2]}")
            break
    return problems
