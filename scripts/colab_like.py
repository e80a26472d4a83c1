"""Run the chapter notebooks as a Colab reader does: in a fresh Python, from a clone.

    python scripts/colab_like.py                      # every chapter
    python scripts/colab_like.py book/02_dqn.ipynb    # some of them
    python scripts/colab_like.py --keep               # keep the scratch folder, print where

What it does, step by step (``tests/test_colab_install.py`` runs the same steps):

1. Builds the package's wheel from a copy of the working tree (git's tracked and
   untracked, not ignored, files) and checks what the wheel holds.
2. Clones the repository at HEAD into the scratch folder: the notebooks' set-up
   cell clones from there (``METARL_LITE_REPO``). **Uncommitted changes are not
   seen** by the notebooks; commit first.
3. Creates a fresh virtual environment with only what Colab already has and what
   runs a notebook: ``torch`` (the CPU wheel that lies on this machine's disk),
   ``ipykernel``, ``nbclient`` and ``nbformat``, at the versions of
   ``requirements.txt``, which is the constraint file of every pip call there
   (the notebooks' own ``%pip install`` included), so that no other torch comes in.
4. Copies each notebook, as committed (from the clone), alone into an empty
   folder and executes it there, in a kernel of the fresh environment's Python:
   its set-up cell finds no ``metarl_lite``, clones the book and
   ``%pip install``s it. Then it checks that
   the kernel was the fresh Python, that ``metarl_lite`` came from that
   environment's site-packages, installed from the clone, and that the outputs
   match the committed ones (see :func:`output_differences`).

Everything is written below one scratch folder in the system's temporary
directory (and pip's cache). Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import configparser
import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import venv
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
#: What Colab already has (torch) and what runs a notebook; versions from requirements.txt.
PREINSTALLED = ("torch", "ipykernel", "nbclient", "nbformat")
#: Name of the fresh environment's kernelspec, installed into that environment only.
KERNEL_NAME = "metarl-colab-like"
#: Folders of the repository that must not end up in the wheel.
NOT_PACKAGED = ("tests", "book", "scripts", "benchmarks")
#: Tag of cells whose outputs change from run to run (nbval's convention).
IGNORE_TAG = "nbval-ignore-output"
#: Lines dropped before comparing outputs: memory addresses and tqdm rates.
VOLATILE_LINE = re.compile(r"0x[0-9a-fA-F]+|it/s|s/it")
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PROBE_MARK = "COLAB_LIKE_PROBE "
#: Seconds a cell may run (the set-up cell installs the dependencies on first use).
CELL_TIMEOUT = 600

# Probes run in the kernel before the first and after the last cell. Each is a
# function that deletes itself, so the notebook sees no name the probe imported.
PROBE_START = f"""\
def _colab_like_probe():
    import importlib.util, json, os, sys
    print({PROBE_MARK!r} + json.dumps({{
        "cwd": os.getcwd(),
        "prefix": sys.prefix,
        "executable": sys.executable,
        "path": sys.path,
        "metarl_lite_found": importlib.util.find_spec("metarl_lite") is not None,
    }}))
_colab_like_probe()
del _colab_like_probe"""

PROBE_END = f"""\
def _colab_like_probe():
    import importlib.metadata, json, os, sys, sysconfig
    import metarl_lite
    dist = importlib.metadata.distribution("metarl_lite")
    print({PROBE_MARK!r} + json.dumps({{
        "cwd": os.getcwd(),
        "prefix": sys.prefix,
        "purelib": sysconfig.get_paths()["purelib"],
        "path": sys.path,
        "file": metarl_lite.__file__,
        "direct_url": json.loads(dist.read_text("direct_url.json") or "{{}}"),
    }}))
_colab_like_probe()
del _colab_like_probe"""


class MissingPrerequisiteError(RuntimeError):
    """A prerequisite of the Colab-like run (git, the local torch wheel) is missing."""


@dataclasses.dataclass(frozen=True)
class FreshPython:
    """A fresh virtual environment and the environment variables to run things in it."""

    prefix: Path
    python: Path
    env: dict[str, str]
    origin: Path  # the clone of HEAD that the set-up cell clones (METARL_LITE_REPO)


@dataclasses.dataclass
class ChapterRun:
    """What executing one chapter in the fresh environment gave."""

    notebook: Path  # the chapter in the repository
    committed: Path  # the chapter at HEAD, in the clone: what was run and what it must print
    copy: Path  # the notebook, alone in its working folder
    executed: Path | None  # the executed notebook, probes removed (None if it never ran)
    seconds: float
    error: str | None  # the failing cell and its error, or why nothing ran
    start: dict[str, Any]  # the kernel's state before the first cell
    end: dict[str, Any]  # ... and after the last


# ---------------------------------------------------------------- helpers


def _run(
    cmd: list[str | Path], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure raise with its output, which says what went wrong."""
    proc = subprocess.run(
        [str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(str(c) for c in cmd)}` exited {proc.returncode}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def _git() -> str:
    git = shutil.which("git")
    if git is None:
        raise MissingPrerequisiteError(
            "git is missing: the notebooks' set-up cell clones the book with git"
        )
    return git


def pins(requirements: Path = REQUIREMENTS) -> dict[str, str]:
    """``{name: "name==version"}`` for every ``name==version`` line of ``requirements``."""
    found = {}
    for line in requirements.read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if "==" in spec:
            found[spec.split("==", 1)[0].strip().lower()] = spec
    return found


def chapter_notebooks() -> list[Path]:
    """Every chapter notebook, ``book/NN_name.ipynb``, in order."""
    return sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


# ---------------------------------------------------------------- 1. the wheel


def build_wheel(scratch: Path) -> Path:
    """Build the wheel from a copy of the working tree in ``scratch``; return its path.

    The copy holds git's tracked and untracked (not ignored) files of the top
    level and of the package, tests, book, scripts and benchmarks folders, so
    that the build writes nothing into the repository.
    """
    source = scratch / "source"
    listed = _run(
        [
            _git(),
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            ":(glob)*",
            "metarl_lite",
            *NOT_PACKAGED,
        ],
        cwd=ROOT,
    ).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():  # skips files deleted but not yet committed
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    out = scratch / "wheel"
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    _run([*pip, "-w", out, source])
    wheels = sorted(out.glob("metarl_lite-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one metarl_lite wheel in {out}, found {wheels}")
    return wheels[0]


def wheel_problems(wheel: Path, package: Path = ROOT / "metarl_lite") -> list[str]:
    """What is wrong with the wheel's contents; empty when nothing is.

    It must hold every ``.py`` module of the source package and ``py.typed``,
    and nothing but the package and its ``.dist-info`` folder.
    """
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {
        f"metarl_lite/{p.relative_to(package).as_posix()}"
        for p in package.rglob("*.py")
        if "__pycache__" not in p.parts
    }
    packaged = {n for n in names if n.startswith("metarl_lite/") and n.endswith(".py")}
    problems = [f"module missing from the wheel: {n}" for n in sorted(modules - packaged)]
    problems += [
        f"module in the wheel but not in {package}: {n}" for n in sorted(packaged - modules)
    ]
    if "metarl_lite/py.typed" not in names:
        problems.append("metarl_lite/py.typed is missing from the wheel")
    for name in sorted(names):
        top = name.split("/", 1)[0]
        if top in NOT_PACKAGED or any(f"/{d}/" in f"/{name}" for d in NOT_PACKAGED):
            problems.append(f"the wheel holds {name}, which is not part of the package")
        elif top != "metarl_lite" and not (
            top.startswith("metarl_lite-") and top.endswith(".dist-info")
        ):
            problems.append(f"unexpected top-level entry in the wheel: {name}")
        elif "__pycache__" in name or name.endswith(".pyc"):
            problems.append(f"compiled file in the wheel: {name}")
    return problems


# ---------------------------------------------------------------- 2. the clone


def clone_head(scratch: Path) -> Path:
    """Clone the repository at HEAD into ``scratch/origin``; return the clone's path.

    The chapters are run as they are in this clone, and their set-up cell clones
    from it: they see HEAD only; uncommitted changes of the working tree are not seen.
    """
    dest = scratch / "origin"
    _run([_git(), "clone", "--quiet", ROOT, dest])
    head = _run([_git(), "rev-parse", "HEAD"], cwd=ROOT).stdout.strip()
    cloned = _run([_git(), "rev-parse", "HEAD"], cwd=dest).stdout.strip()
    if cloned != head:
        raise RuntimeError(f"the clone is at {cloned}, the repository's HEAD at {head}")
    return dest.resolve()


def uncommitted_changes() -> list[str]:
    """``git status --porcelain`` lines of the repository: what the clone does not have."""
    out = _run([_git(), "status", "--porcelain"], cwd=ROOT).stdout
    return out.splitlines()


# ---------------------------------------------------------------- 3. the fresh Python


def _fresh_env(prefix: Path, scratch: Path, repo_url: str) -> dict[str, str]:
    """The environment variables of every command in the fresh environment and its kernel.

    Nothing of the repository or of its ``.venv`` is on any path; Jupyter's,
    IPython's and matplotlib's own folders are in ``scratch``; pip's cache is the
    usual one.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("PYTHON", "JUPYTER", "IPYTHON", "MPL", "VIRTUAL_ENV", "PIP_CONSTRAINT")
        )
        and k not in {"CONDA_PREFIX", "PYTEST_ADDOPTS", "METARL_LITE_REPO"}
    }
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p]
    path = [p for p in path if not Path(p).resolve().is_relative_to(ROOT)]
    homes = {
        name: scratch / name.lower()
        for name in (
            "JUPYTER_DATA_DIR",
            "JUPYTER_CONFIG_DIR",
            "JUPYTER_RUNTIME_DIR",
            "IPYTHONDIR",
            "MPLCONFIGDIR",
        )
    }
    for folder in homes.values():
        folder.mkdir(parents=True, exist_ok=True)
    env.update({name: str(folder) for name, folder in homes.items()})
    env.update(
        PATH=os.pathsep.join([str(prefix / "bin"), *path]),
        VIRTUAL_ENV=str(prefix),
        PIP_CONSTRAINT=str(REQUIREMENTS),
        PIP_PROGRESS_BAR="off",
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        METARL_LITE_REPO=repo_url,
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


def make_fresh_python(scratch: Path, origin: Path) -> FreshPython:
    """A fresh virtual environment in ``scratch/venv`` with torch, ipykernel, nbclient, nbformat.

    Its kernels' set-up cells clone ``origin`` (a clone of HEAD, :func:`clone_head`).

    Its pip is first brought to this Python's pip version (so both share pip's
    cache); torch must come from a wheel on this machine's disk, else
    :class:`MissingPrerequisiteError` is raised before anything is downloaded.
    """
    prefix = scratch / "venv"
    venv.EnvBuilder(with_pip=True, symlinks=True, clear=True).create(prefix)
    python = prefix / "bin" / "python"
    env = _fresh_env(prefix, scratch, origin.as_uri())
    pinned = pins()
    missing = [name for name in PREINSTALLED if name not in pinned]
    if missing:
        raise MissingPrerequisiteError(f"{REQUIREMENTS} pins no version of {', '.join(missing)}")
    pip = [python, "-m", "pip"]
    _run([*pip, "install", "--quiet", f"pip=={importlib.metadata.version('pip')}"], env=env)
    report = _run(
        [*pip, "install", "--quiet", "--dry-run", "--no-deps", "--report", "-", pinned["torch"]],
        env=env,
    ).stdout
    urls = [item["download_info"]["url"] for item in json.loads(report)["install"]]
    if not urls or not all(url.startswith("file://") for url in urls):
        raise MissingPrerequisiteError(
            f"no {pinned['torch']} wheel on this machine's disk (pip would fetch {urls}); "
            "refusing to download torch: put the CPU wheel in pip's find-links folder"
        )
    _run([*pip, "install", "--quiet", *(pinned[name] for name in PREINSTALLED)], env=env)
    _run(
        [python, "-m", "ipykernel", "install", "--prefix", prefix, "--name", KERNEL_NAME],
        env=env,
    )
    return FreshPython(prefix=prefix, python=python, env=env, origin=origin)


# ---------------------------------------------------------------- 4. the chapters


def run_chapter(fresh: FreshPython, notebook: Path, scratch: Path) -> ChapterRun:
    """Execute ``notebook`` as Colab would: alone in ``scratch/work``, in a fresh kernel.

    The notebook is taken as committed (from the clone of HEAD), as Colab opens
    it from the repository. ``metarl_lite`` is uninstalled first, so that every
    chapter's set-up cell clones and installs it, as in a new Colab runtime.
    """
    work, out = scratch / "work", scratch / "out"
    work.mkdir(parents=True)
    out.mkdir(parents=True)
    committed = fresh.origin / notebook.resolve().relative_to(ROOT)
    copy = work / notebook.name
    if not committed.is_file():
        return ChapterRun(
            notebook, committed, copy, None, 0.0, "not committed: not in HEAD", {}, {}
        )
    shutil.copyfile(committed, copy)
    _run(
        [fresh.python, "-m", "pip", "uninstall", "--quiet", "--yes", "metarl_lite"], env=fresh.env
    )
    # -I: the runner's own folder (scripts/) is not put on its sys.path.
    cmd = [fresh.python, "-I", Path(__file__).resolve(), "--execute", copy, out]
    proc = subprocess.run(
        [str(c) for c in cmd], env=fresh.env, cwd=out, capture_output=True, text=True, check=False
    )
    report_file = out / "report.json"
    if not report_file.exists():
        failure = f"the runner failed:\n{proc.stdout}\n{proc.stderr}"
        return ChapterRun(notebook, committed, copy, None, 0.0, failure, {}, {})
    report = json.loads(report_file.read_text())
    executed = out / notebook.name
    return ChapterRun(
        notebook=notebook,
        committed=committed,
        copy=copy,
        executed=executed if executed.exists() else None,
        seconds=report["seconds"],
        error=report["error"],
        start=report["start"],
        end=report["end"],
    )


def _probe_result(cell: Any) -> dict[str, Any]:
    for output in cell.get("outputs", []):
        for line in output.get("text", "").splitlines():
            if line.startswith(PROBE_MARK):
                return json.loads(line[len(PROBE_MARK) :])
    return {}


def execute_in_kernel(copy: Path, out: Path) -> None:
    """Execute ``copy`` in kernel :data:`KERNEL_NAME` with its folder as the working folder.

    Runs inside the fresh environment (``python -I colab_like.py --execute``).
    Writes ``out/report.json`` (the probes, the time, the failing cell) and the
    executed notebook, probes removed, as ``out/<name>``.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(copy, as_version=4)
    n = len(nb.cells)
    nb.cells = [
        nbformat.v4.new_code_cell(PROBE_START),
        *nb.cells,
        nbformat.v4.new_code_cell(PROBE_END),
    ]
    current = {"index": -1}

    def on_cell_start(cell: Any, cell_index: int) -> None:
        current["index"] = cell_index

    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name=KERNEL_NAME,
        resources={"metadata": {"path": str(copy.parent)}},
        on_cell_start=on_cell_start,
    )
    error = None
    start = time.perf_counter()
    try:
        client.execute()
    except CellExecutionError as err:
        error = _describe(nb, current["index"], n, f"{err.ename}: {err.evalue}\n{err.traceback}")
    except Exception as err:  # a time-out, a dead kernel: name the cell all the same
        error = _describe(nb, current["index"], n, f"{type(err).__name__}: {err}")
    seconds = time.perf_counter() - start
    report = {
        "seconds": seconds,
        "error": error,
        "start": _probe_result(nb.cells[0]),
        "end": _probe_result(nb.cells[-1]),
    }
    nb.cells = nb.cells[1:-1]
    nbformat.write(nb, out / copy.name)
    (out / "report.json").write_text(json.dumps(report, indent=1))


def _describe(nb: Any, index: int, n: int, error: str) -> str:
    """The failing cell (its index in the chapter and its source) and the error.

    nbclient's error message holds what the cell printed, which matters for the
    set-up cell: a failed clone or pip install only prints, and the error is
    the ``import`` after it.
    """
    error = ANSI.sub("", error).replace("\r\n", "\n")
    if index == 0:
        return f"the start probe failed: {error}"
    if index == n + 1:
        return f"the end probe (metarl_lite's origin) failed: {error}"
    if index < 0:
        return f"before any cell ran: {error}"
    source = nb.cells[index].source
    # The message repeats the source between two lines of dashes: keep what follows.
    error = error.split(f"------------------\n{source}\n------------------\n", 1)[-1]
    return f"cell {index - 1} raised\n--- source ---\n{source}\n--- error ---\n{error.strip()}"


# ---------------------------------------------------------------- 5. the checks


def _sanitizers(config: Path = ROOT / "book" / "nbval_sanitize.cfg") -> list[tuple[str, str]]:
    """The ``regex``/``replace`` pairs of nbval's sanitize file, which ``make test`` uses."""
    parser = configparser.ConfigParser()
    parser.read(config)
    return [(parser[s]["regex"], parser[s]["replace"]) for s in parser.sections()]


def _text_outputs(cell: Any, sanitizers: list[tuple[str, str]]) -> list[str]:
    """A code cell's plain-text outputs, normalised for comparison.

    Streams are joined per stream (how a run splits them varies); results and
    displays give their ``text/plain``; errors their name and value. Lines with
    memory addresses or tqdm rates are dropped, nbval's sanitize regexes applied.
    """
    streams: dict[str, str] = {}
    shown = []
    for output in cell.get("outputs", []):
        kind = output["output_type"]
        if kind == "stream":
            streams[output["name"]] = streams.get(output["name"], "") + output["text"]
        elif kind in ("execute_result", "display_data") and "text/plain" in output["data"]:
            shown.append(f"[{kind}] {output['data']['text/plain']}")
        elif kind == "error":
            shown.append(f"[error] {output['ename']}: {output['evalue']}")
    texts = [f"[{name}] {text}" for name, text in sorted(streams.items())] + shown
    result = []
    for text in texts:
        for regex, replace in sanitizers:
            text = re.sub(regex, replace, text)
        lines = [ln.rstrip() for ln in text.splitlines() if not VOLATILE_LINE.search(ln)]
        result.append("\n".join(lines).rstrip())
    return result


def output_differences(committed: Path, executed: Path) -> list[str]:
    """Cells whose plain-text outputs differ between ``committed`` and ``executed``.

    Every code cell is compared but the set-up cell (its output is the clone's
    and pip's chatter) and cells tagged ``nbval-ignore-output``; rich outputs
    (images, widgets) are compared through their ``text/plain`` only.
    """
    import nbformat

    old = nbformat.read(committed, as_version=4).cells
    new = nbformat.read(executed, as_version=4).cells
    if [c.source for c in old] != [c.source for c in new]:
        return [f"{executed.name}: its cells are not the committed ones"]
    sanitizers = _sanitizers()
    code = [i for i, c in enumerate(old) if c.cell_type == "code"]
    problems = []
    for i in code[1:]:
        if IGNORE_TAG in old[i].metadata.get("tags", []):
            continue
        want, got = _text_outputs(old[i], sanitizers), _text_outputs(new[i], sanitizers)
        if want != got:
            problems.append(
                f"{committed.name}, cell {i}: outputs differ from the committed ones\n"
                f"--- source ---\n{old[i].source}\n--- committed ---\n"
                + "\n".join(want)
                + "\n--- Colab-like run ---\n"
                + "\n".join(got)
            )
    return problems


def _inside(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


def run_problems(fresh: FreshPython, run: ChapterRun) -> list[str]:
    """Everything wrong with a chapter's Colab-like run; empty when it went as in Colab."""
    name = run.notebook.name
    if run.error is not None:
        return [f"{name}: {run.error}"]
    start, end = run.start, run.end
    if not start or not end:
        return [f"{name}: a probe printed nothing (start: {start}, end: {end})"]
    problems = []
    # The venv's python is a link to the base interpreter: compare folders, not targets.
    kernel_bin = Path(start["executable"]).parent.resolve()
    if (
        Path(start["prefix"]).resolve() != fresh.prefix.resolve()
        or kernel_bin != (fresh.prefix / "bin").resolve()
    ):
        problems.append(
            f"{name}: the kernel was {start['executable']} (sys.prefix {start['prefix']}), "
            f"not the fresh environment's {fresh.python}"
        )
    if Path(start["cwd"]).resolve() != run.copy.parent.resolve():
        problems.append(f"{name}: the kernel started in {start['cwd']}, not in {run.copy.parent}")
    if start["metarl_lite_found"]:
        problems.append(f"{name}: metarl_lite was importable before the set-up cell ran")
    for probe in (start, end):
        cwd = Path(probe["cwd"])
        leaks = [p for p in probe["path"] if _inside(str(cwd / p), ROOT)]
        if leaks:
            problems.append(f"{name}: the kernel's sys.path holds the repository: {leaks}")
    clone = run.copy.parent / "metarl-lite-book"
    if not _inside(end["file"], Path(end["purelib"])) or not _inside(end["purelib"], fresh.prefix):
        problems.append(
            f"{name}: metarl_lite was imported from {end['file']}, "
            f"not from the fresh site-packages {end['purelib']}"
        )
    installed_from = end["direct_url"].get("url", "")
    if installed_from.rstrip("/") != clone.resolve().as_uri():
        problems.append(
            f"{name}: metarl_lite was installed from {installed_from or '(unknown)'}, "
            f"not from the set-up cell's clone {clone}"
        )
    if Path(end["cwd"]).resolve() != (clone / "book").resolve():
        problems.append(f"{name}: the notebook ended in {end['cwd']}, not in the clone's book/")
    if run.executed is None:
        problems.append(f"{name}: no executed notebook was written")
    else:
        problems += output_differences(run.committed, run.executed)
    return problems


# ---------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument(
        "--execute", nargs=2, type=Path, metavar=("COPY", "OUT"), help=argparse.SUPPRESS
    )
    args = parser.parse_args(argv)
    if args.execute:  # inside the fresh environment
        execute_in_kernel(*args.execute)
        return 0
    notebooks = [p.resolve() for p in args.notebooks] or chapter_notebooks()
    scratch = Path(tempfile.mkdtemp(prefix="metarl-colab-like-"))
    try:
        return _main(notebooks, scratch)
    finally:
        if args.keep:
            print(f"scratch folder kept: {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


def _main(notebooks: list[Path], scratch: Path) -> int:
    t0 = time.perf_counter()
    wheel = build_wheel(scratch / "build")
    problems = wheel_problems(wheel)
    print(f"wheel {wheel.name}: {'ok' if not problems else 'PROBLEMS'}")
    for problem in problems:
        print(f"  {problem}")
    changes = uncommitted_changes()
    if changes:
        print(f"note: {len(changes)} uncommitted change(s); the notebooks see HEAD only")
    fresh = make_fresh_python(scratch, clone_head(scratch))
    print(f"fresh environment ready in {time.perf_counter() - t0:.0f} s: {fresh.prefix}")
    failed = bool(problems)
    for notebook in notebooks:
        run = run_chapter(fresh, notebook, scratch / notebook.stem)
        found = run_problems(fresh, run)
        failed |= bool(found)
        print(
            f"{notebook.name}: {run.seconds:.1f} s, {'ok' if not found else 'FAILED'}", flush=True
        )
        for problem in found:
            print(problem, file=sys.stderr)
    print(f"total {time.perf_counter() - t0:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
