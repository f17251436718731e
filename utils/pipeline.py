"""Run the numbered notebooks in order with papermill.

    python -m utils.pipeline --profile demo
    python -m utils.pipeline --profile paper --data /path/to/DATA --device cuda
    python -m utils.pipeline --profile demo --from 05 -p lstm_epochs 60
    python -m utils.pipeline --profile demo --folds 5     # K-fold: OOF thresholds, fold ensemble

Each notebook gets data_dir, work_dir, profile, seed, device, the profile's values and
the -p overrides it declares in its `parameters` cell; executed copies are saved under
<work>/executed/. `--extras` adds 08_explain (or start there: `--from 08`). The chain stops
at the first failing notebook, naming its executed copy, the error and the command that
resumes the same run. <work>/run.json remembers the run's arguments: `--work W --from NN`
resumes it as it was, and a conflicting argument is refused unless `--force` (see
utils.runspec). With `--folds K` (K >= 2), 00 assigns
gene-grouped folds, 03..05 run once per fold (executed copies NN_name-fold<k>.ipynb,
artifacts under <work>/fold<k>/), and 06 tunes thresholds on the out-of-fold predictions
of every training bag and averages the K models' test predictions.
"""
from __future__ import annotations

import argparse
import ast
import difflib
import functools
import json
import os
import sys
import time
from pathlib import Path

from .choices import CHOICES, OPEN_CHOICES
from .profiles import PROFILES, profile_parameters
from .rundir import DamagedFile, missing_files, read_json, write_json
from .runspec import (RunConflict, check_resume, command_line, effective, merge_run, record_step,
                      set_status, stored_run, write_run)

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK_DIR = REPO / "notebooks"
CHAIN = [
    ("00_demo_data", ["data.json", "split.csv"]),
    ("01_eda", []),
    ("02_swav_warmup", ["warmup/backbone.pt"]),
    ("03_cnn_tempering", ["cnn/best.pt"]),
    ("04_feature_dump", ["features/features.npy", "preds/cnn_valid.npy", "preds/cnn_test.npy"]),
    ("05_bilstm", ["preds/bag_valid.npy", "preds/bag_test.npy"]),
    ("06_threshold_tuning", ["thresholds.json"]),
    ("07_submission", ["submission.json"]),
]
PER_FOLD = {"03_cnn_tempering", "04_feature_dump", "05_bilstm"}  # run once per fold
EXTRAS = [  # run with --extras, or by starting at them
    ("08_explain", ["figures/explain_guided_backprop.png", "figures/explain_attention.png",
                    "explain/guided_backprop.npy", "explain/warmup_heatmaps.npy"]),
]


def parse_value(text: str):
    """-p values as papermill reads them: Python literals where they parse, else strings."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


@functools.lru_cache(maxsize=None)
def notebook_defaults(notebook: Path) -> dict:
    """The parameters a notebook declares in its cell tagged `parameters`, with their default
    values: what papermill's inspect_notebook reads, without papermill, so that scripts
    on a machine without it check their -p names too. Read once per run."""
    cells = json.loads(Path(notebook).read_text())["cells"]
    cell = next((c for c in cells if "parameters" in c.get("metadata", {}).get("tags", [])), None)
    source = "".join(cell["source"]) if cell else ""
    defaults = {}
    for node in ast.parse(source).body:
        for target in node.targets if isinstance(node, ast.Assign) else []:
            if isinstance(target, ast.Name):
                defaults[target.id] = parse_value(ast.get_source_segment(source, node.value))
    return defaults


def declared_parameters(notebook: Path) -> set[str]:
    return set(notebook_defaults(notebook))


class BadParameter(ValueError):
    """A -p override no notebook declares, or of another type than the notebook's default."""


_KINDS = {bool: "True or False", int: "an integer", float: "a number", str: "a string",
          list: "a list", tuple: "a list"}


def _fits(value, default) -> bool:
    if default is None:
        return True
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, (int, float))
    if isinstance(default, (list, tuple)):
        return isinstance(value, (list, tuple))
    return isinstance(value, type(default))


def _refusal(check, value) -> str | None:
    try:
        check(value)
    except ValueError as error:
        return str(error)
    return None


def check_overrides(overrides: dict) -> None:
    """Refuse, before anything runs, a -p name that no notebook declares (papermill would
    pass it on and the notebook ignore it: a typo would silently run the default), a value
    outside a choice parameter's CHOICES, a backbone timm lacks or a compile backend torch
    lacks (OPEN_CHOICES), or one of another type than the notebook's default ('1e-3x' for a
    float)."""
    defaults = {}
    for name, _ in CHAIN + EXTRAS:
        for key, value in notebook_defaults(NOTEBOOK_DIR / f"{name}.ipynb").items():
            defaults.setdefault(key, value)
    problems = []
    for key, value in overrides.items():
        if key not in defaults:
            near = difflib.get_close_matches(key, list(defaults), n=3)
            problems.append(f"-p {key}: no notebook has this parameter"
                            + (f"; did you mean {' or '.join(near)}?" if near else ""))
        elif key in CHOICES and value not in CHOICES[key]:
            problems.append(f"-p {key} {value!r}: choose from {CHOICES[key]}")
        elif key in OPEN_CHOICES and (problem := _refusal(OPEN_CHOICES[key], value)):
            problems.append(f"-p {problem}")
        elif not _fits(value, defaults[key]):
            quote = " (quote a string that looks like a number: -p NAME \"'2024'\")" if isinstance(
                defaults[key], str) else ""
            kind = _KINDS.get(type(defaults[key]), type(defaults[key]).__name__)
            problems.append(f"-p {key} {value!r}: expected {kind}, like the notebooks' default "
                            f"{defaults[key]!r}{quote}")
    if problems:
        raise BadParameter("\n  ".join(problems))


def steps(chain, n_folds: int) -> list[tuple[str, int | None, list[str]]]:
    """(notebook, fold, artifacts) in run order: with K folds, each per-fold notebook K times
    (all folds of 03, then of 04, ...); 08_explain looks at fold 0."""
    if n_folds < 2:
        return [(name, None, artifacts) for name, artifacts in chain]
    out = []
    for name, artifacts in chain:
        if name in PER_FOLD:
            out += [(name, k, [f"fold{k}/{a}" for a in artifacts]) for k in range(n_folds)]
        else:
            out.append((name, 0 if name == "08_explain" else None, artifacts))
    return out


def span(todo, start: str, stop: str | None) -> tuple[int, int]:
    """Indices of the first and last step to run: from the first notebook named `start`
    to the last one named `stop` (all folds of a per-fold notebook)."""
    first = next(i for i, (n, _, _) in enumerate(todo) if n.startswith(start))
    last = max((i for i, (n, _, _) in enumerate(todo) if stop and n.startswith(stop)), default=len(todo) - 1)
    return first, last


def step_label(name: str, fold: int | None) -> str:
    return name if fold is None or name not in PER_FOLD else f"{name}-fold{fold}"


def folds_in_split(work_dir: Path, asked: int) -> int:
    """The folds 00 actually wrote (fewer than asked where the data has fewer genes)."""
    from .folds import n_folds_of

    if asked < 2 or not (work_dir / "split.csv").exists():
        return asked
    return n_folds_of(work_dir)


def run_chain(profile: str | None = None, data_dir=None, work_dir=None, seed: int | None = None,
              device: str | None = None, start: str = "00", overrides: dict | None = None,
              submission_dir=None, stop: str | None = None, quiet: bool = False,
              extras: bool = False, folds: int | None = None, force: bool = False,
              dry_run: bool = False) -> dict:
    """Execute the chain (or its part from `start` to `stop`); returns submission.json's
    content once the run is finished (07 or 08 ran), else {}.

    Arguments left as None take the work folder's run (run.json) or else the defaults (demo
    profile, the profile's seed and folds, the CPU). `folds` (>= 2) runs the K-fold mode.
    `dry_run` prints the plan (notebooks, folds, the parameters each gets) and runs nothing."""
    import papermill as pm
    from nbclient.exceptions import DeadKernelError

    overrides = dict(overrides or {})
    given = {"profile": profile, "data": str(Path(data_dir).resolve()) if data_dir else None,
             "seed": seed, "device": device, "folds": folds,
             "submissions": str(Path(submission_dir).resolve()) if submission_dir else None}
    if work_dir is None:
        name = profile or "demo"
        work_dir = REPO / "runs" / f"{name}-seed{profile_parameters(name)['seed'] if seed is None else seed}"
    work_dir = Path(work_dir).resolve()
    chain = CHAIN + (EXTRAS if extras or any(n.startswith(start) for n, _ in EXTRAS) else [])
    names = [n for n, _ in chain]
    if not any(n.startswith(start) for n in names):
        raise SystemExit(f"--from {start}: no notebook starts with that; have {names}")
    already_ran = {}  # parameter -> the first notebook before `start` that used it
    for name in reversed(names[:next(i for i, n in enumerate(names) if n.startswith(start))]):
        already_ran.update({p: name for p in declared_parameters(NOTEBOOK_DIR / f"{name}.ipynb")})
    args, overrides, notes = merge_run(stored_run(work_dir), given, overrides, work_dir, REPO,
                                       already_ran, force)
    check_overrides(overrides)
    run = effective(args, overrides, work_dir, REPO)
    params = {**profile_parameters(run["profile"]), **overrides, "seed": run["seed"], "n_folds": run["folds"]}
    if run["folds"] == 1:
        raise ValueError("--folds needs K >= 2 (or 0 for the single validation split)")
    params.update(data_dir=run["data"], work_dir=str(work_dir), device=run["device"],
                  build_demo_data=args.get("data") is None, submission_dir=run["submissions"],
                  progress="text")
    say = (lambda text, end="\n": None) if quiet else (lambda text, end="\n": print(text, end=end, flush=True))
    n_folds = run["folds"] if names[0].startswith(start) else folds_in_split(work_dir, run["folds"])
    todo = steps(chain, n_folds)
    first, last = span(todo, start, stop)
    if dry_run:
        print_plan(todo[first:last + 1], params, n_folds, command_line(args, overrides, work_dir), notes)
        return {}
    work_dir.mkdir(parents=True, exist_ok=True)
    write_run(work_dir, args, overrides, params)
    for note in notes:
        say(note)
    done = [(step_label(n, f), n) for n, f, _ in todo[:first]]
    problems = check_resume(work_dir, done, Path(run["data"]))
    if problems and not force:
        raise StaleRun(f"{work_dir}: cannot resume at {start}:\n  " + "\n  ".join(problems))
    for problem in problems:
        say(f"--force: {problem}")
    resume = command_line(args, overrides, work_dir)

    def step_failed(label: str, said: str, error: str, why: str, executed: Path | None = None) -> ChainFailed:
        """A failed step: said on its line, recorded in run.json, and raised with how to go on."""
        say(f" {said}")
        set_status(work_dir, "failed", label, error)
        return ChainFailed(why + (f"\n  executed copy: {executed}" if executed else "")
                           + f"\n  fix it, then resume: {resume} --from {label[:2]}")

    timing_file = work_dir / "timings.json"
    timings = read_json(timing_file) if timing_file.exists() else {}
    i = first
    while i <= last:
        name, fold, artifacts = todo[i]
        label = step_label(name, fold)
        source = NOTEBOOK_DIR / f"{name}.ipynb"
        target = work_dir / "executed" / f"{label}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        expected = timings.get(label)
        say(f"[{time.strftime('%H:%M:%S')}] {label:<28}", end="")
        set_status(work_dir, "running", label)
        t0 = time.time()
        try:
            execute_step(source, target, passed_parameters(source, params, n_folds, fold))
        except pm.PapermillExecutionError as e:
            raise step_failed(label, f"failed after {time.time() - t0:.0f}s", f"{e.ename}: {e.evalue}",
                              f"{label} failed: {e.ename}: {e.evalue}", target) from None
        except KernelDidNotStart as e:
            raise step_failed(label, "kernel did not start", str(e), f"{label}: {e}") from None
        except DeadKernelError:  # killed mid-cell: not run again, its half-written files are the user's to see
            why = f"{label}: the kernel died while a cell ran (out of memory, or killed?)"
            raise step_failed(label, f"kernel died after {time.time() - t0:.0f}s", "the kernel died", why,
                              target) from None
        timings[label] = round(time.time() - t0, 1)
        write_json(timing_file, timings)
        missing = missing_files(work_dir, *artifacts)
        if missing:  # it ran to its end, but the next steps would fail on what it did not write
            raise step_failed(label, "ended without its files", f"did not write {', '.join(missing)}",
                              f"{label} ran to its end but did not write {', '.join(missing)}", target)
        record_step(work_dir, label, artifacts)
        say(f" {timings[label]:4.0f}s" + (f"  (expected {expected:.0f}s)" if expected else ""))
        if name == "00_demo_data":  # the data may hold fewer genes than the split or folds need
            for note in read_json(work_dir / "data.json").get("split", {}).get("notes", []):
                say(f"    note: {note}")
            n_folds = folds_in_split(work_dir, run["folds"])
            todo = steps(chain, n_folds)
            last = span(todo, start, stop)[1]
        i += 1
    finished = todo[last][0] in ("07_submission", "08_explain") and (work_dir / "submission.json").exists()
    set_status(work_dir, "finished" if finished else "stopped", step_label(*todo[last][:2]))
    if not finished:  # stopped early (--to): no submission of this run to show
        return {}
    from .report import write_report

    say(f"report: {write_report(work_dir)}")
    return read_json(work_dir / "submission.json")


# The kernel's own log is not the notebook's output: keep it out of the terminal. Its
# warnings say it talks to papermill over local TCP; its one error line in practice is
# "KeyboardInterrupt caught in kernel", logged when jupyter_client's shutdown (which always
# interrupts first) lands mid-message after the notebook has finished. A failing cell still
# fails the step with its error, and a dead kernel still stops the chain (nbclient raises).
# coalesce_streams keeps a progress bar's last state instead of one output per redraw.
QUIET_KERNEL = ["--IPKernelApp.log_level=CRITICAL"]
PAPERMILL_OPTIONS = dict(kernel_name="python3", progress_bar=False, log_output=False,
                         extra_arguments=QUIET_KERNEL, coalesce_streams=True)


# jupyter_client picks free ports, closes them and hands them to the kernel, which binds
# them a moment later; a kernel started beside another (two runs at once, parallel tests)
# can lose that race and die before its first reply (jupyter/jupyter_client#154). No cell
# has run then, so the step is simply started again, with fresh ports.
KERNEL_START_TRIES = 3
KERNEL_START_FAILURES = ("Kernel died before replying to kernel_info", "Kernel didn't respond")


class KernelDidNotStart(RuntimeError):
    pass


def kernels_import_this_checkout() -> None:
    """Put this checkout first on the kernels' path. A kernel starts in notebooks/, where
    `import utils` finds whichever copy of the kit is installed, so the notebooks of one
    checkout (a second clone, a throwaway copy with a planted bug) ran another's utils."""
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if paths[:1] != [str(REPO)]:
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO), *paths])  # kernels inherit it


def execute_step(source: Path, target: Path, parameters: dict, cwd: Path = NOTEBOOK_DIR) -> None:
    """One notebook through papermill, started again when its kernel dies before any cell
    ran; a failing cell is never run twice."""
    import papermill as pm

    kernels_import_this_checkout()
    for attempt in range(1, KERNEL_START_TRIES + 1):
        try:
            pm.execute_notebook(str(source), str(target), parameters=parameters, cwd=str(cwd),
                                **PAPERMILL_OPTIONS)
            return
        except RuntimeError as e:
            if not str(e).startswith(KERNEL_START_FAILURES):
                raise
            if attempt == KERNEL_START_TRIES:
                raise KernelDidNotStart(f"the kernel did not start in {attempt} tries: {e}") from e


def passed_parameters(notebook: Path, params: dict, n_folds: int, fold: int | None) -> dict:
    """The run's values of the parameters `notebook` declares (papermill would refuse none,
    but a notebook should get only what it reads)."""
    wanted = declared_parameters(notebook)
    return {k: v for k, v in {**params, "n_folds": n_folds, "fold": fold}.items() if k in wanted}


def print_plan(todo, params: dict, n_folds: int, command: str, notes: list[str]) -> None:
    """--dry-run: each notebook (and fold) to run, with the parameters it gets that differ
    from its own defaults."""
    print(f"plan: {command}")
    for note in notes:
        print(note)
    if n_folds >= 2:
        print(f"{n_folds} folds (00 uses fewer if the training set has fewer genes)")
    for name, fold, _ in todo:
        source = NOTEBOOK_DIR / f"{name}.ipynb"
        defaults = notebook_defaults(source)
        changed = {k: v for k, v in passed_parameters(source, params, n_folds, fold).items()
                   if defaults.get(k, object()) != v}
        print(f"  {step_label(name, fold):<28} " + " ".join(f"{k}={v!r}" for k, v in changed.items()))


class ChainFailed(RuntimeError):
    pass


class StaleRun(RuntimeError):
    """Resuming would mix artifacts of changed inputs with older ones."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m utils.pipeline", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default=None, choices=sorted(PROFILES), help="default: demo")
    parser.add_argument("--data", default=None, help="competition folder (default: build demo data)")
    parser.add_argument("--work", default=None, help="work folder (default: runs/<profile>-seed<N>)")
    parser.add_argument("--seed", type=int, default=None, help="default: the profile's (0)")
    parser.add_argument("--device", default=None, help="cpu | cuda | auto (default: cpu)")
    parser.add_argument("--from", dest="start", default="00", help="resume at notebook NN")
    parser.add_argument("--to", dest="stop", default=None, help="stop after notebook NN")
    parser.add_argument("--submissions", default=None, help="folder for submission runs")
    parser.add_argument("--extras", action="store_true", help="also run 08_explain after 07")
    parser.add_argument("--folds", type=int, default=None, metavar="K",
                        help="K-fold mode (K >= 2): per-fold CNN and bag model, out-of-fold "
                             "thresholds, test averaged over folds; 0: one validation split")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the plan (notebooks, folds, parameters) and run nothing")
    parser.add_argument("--force", action="store_true",
                        help="go on although the arguments differ from the work folder's run "
                             "or its artifacts are stale")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="override a notebook parameter for the whole chain")
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {k: parse_value(v) for k, v in args.p}
    try:
        result = run_chain(args.profile, args.data, args.work, args.seed, args.device,
                           args.start, overrides, args.submissions, args.stop, extras=args.extras,
                           folds=args.folds, force=args.force, dry_run=args.dry_run)
    except (ChainFailed, RunConflict, StaleRun, BadParameter, DamagedFile) as e:
        print(f"\nFAILED: {e}", file=sys.stderr)
        return 1
    if result:
        print("\nvalidated submission files:")
        print(f"  F1:       {result['f1']}\n  AUC:      {result['auc']}\n  manifest: {result['manifest']}")
        print("validation scores: " + json.dumps(result["valid_scores"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
