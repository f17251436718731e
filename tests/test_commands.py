"""Every command the kit offers starts: `python -m utils.X --help` and each benchmark's
`--help` print their usage, exit 0 and write nothing. The GPU benchmarks never run in CI,
so this is where an import they lost or a broken `__main__` guard shows first."""
import ast
import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(p.stem for p in (ROOT / "utils").glob("*.py") if '"__main__"' in p.read_text())
SCRIPTS = sorted(p.name for p in (ROOT / "benchmarks").glob("*.py") if '"__main__"' in p.read_text())
# A command whose module does more than the command: its parser says what the command does.
OWN_DESCRIPTION = {"utils.plots": "Save generated images beside a real reference sheet."}

# One interpreter for all of them (torch imports once): each runs as `python -m` or as a
# script would, with --help, in an empty folder of its own.
DRIVER = r"""
import contextlib, io, json, os, runpy, sys, tempfile
root, targets = sys.argv[1], json.loads(sys.argv[2])
sys.path[:0] = [root, os.path.join(root, "benchmarks")]  # this checkout's utils, not an installed one
results = {}
for kind, name in targets:
    with tempfile.TemporaryDirectory() as cwd:
        os.chdir(cwd)
        out, err = io.StringIO(), io.StringIO()
        code = None
        sys.argv = [name if kind == "module" else os.path.join(root, "benchmarks", name), "--help"]
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                if kind == "module":
                    runpy.run_module(name, run_name="__main__", alter_sys=True)
                else:
                    runpy.run_path(sys.argv[0], run_name="__main__")
            except SystemExit as stop:
                code = stop.code
            except Exception as error:
                code = repr(error)
        results[name] = {"code": code, "out": out.getvalue(), "err": err.getvalue(), "left": sorted(os.listdir(cwd))}
        os.chdir(root)
print(json.dumps(results))
"""


def test_every_command_answers_help_with_its_usage_and_writes_nothing():
    targets = [("module", f"utils.{m}") for m in MODULES] + [("script", s) for s in SCRIPTS]
    assert len(MODULES) >= 9 and len(SCRIPTS) >= 13  # the glob found them
    done = subprocess.run([sys.executable, "-c", DRIVER, str(ROOT), json.dumps(targets)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(done.stdout.strip().splitlines()[-1])
    for kind, name in targets:
        r = results[name]
        assert r["code"] == 0, f"{name} --help: exit {r['code']}\n{r['err'][-2000:]}"
        prog = f"python -m {name}" if kind == "module" else name
        assert r["out"].startswith(f"usage: {prog} "), f"{name} --help printed {r['out'][:200]!r}"
        assert r["left"] == [], f"{name} --help wrote {r['left']}"
        # and says what it does: its module's docstring, whose first line is its summary
        source = ROOT / "utils" / f"{name.removeprefix('utils.')}.py" if kind == "module" else ROOT / "benchmarks" / name
        said = OWN_DESCRIPTION.get(name) or ast.get_docstring(ast.parse(source.read_text())).splitlines()[0]
        assert " ".join(said.split()) in " ".join(r["out"].split()), f"{name} --help does not say {said!r}"


def test_the_readme_names_only_commands_that_exist():
    readme = (ROOT / "README.md").read_text()
    named = set(re.findall(r"python -m utils\.(\w+)", readme))
    assert named and named <= set(MODULES), sorted(named - set(MODULES))
    scripts = set(re.findall(r"benchmarks/(\w+\.(?:py|sh))", readme))
    assert scripts and all((ROOT / "benchmarks" / s).exists() for s in scripts), \
        sorted(s for s in scripts if not (ROOT / "benchmarks" / s).exists())


def test_the_readme_layout_names_every_utils_module_and_no_other():
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("\nutils/ "):readme.index("\nbenchmarks/ ")]
    named = {w for group in re.findall(r"\(([^)]*)\)", block) for w in re.findall(r"\w+", group)}
    modules = {p.stem for p in (ROOT / "utils").glob("*.py")} - {"__init__"}
    assert named == modules, f"missing: {sorted(modules - named)}; no such module: {sorted(named - modules)}"


def test_the_gpu_shell_scripts_parse():
    scripts = sorted((ROOT / "benchmarks").glob("*.sh"))
    assert len(scripts) >= 3
    for script in scripts:
        done = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert done.returncode == 0, f"{script.name}: {done.stderr}"
