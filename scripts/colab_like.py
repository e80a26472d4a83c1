"""Run the chapter notebooks as a Colab reader does: in a fresh Python, from a clone.

    python scripts/colab_like.py                      # every chapter
    python scripts/colab_like.py book/02_dqn.ipynb    # some of them

Everything runs from a clone of HEAD: **uncommitted changes are not seen**, not
by the wheel and not by the notebooks; commit first. The steps, each a function
that ``tests/test_colab_install.py`` calls too:

1. :func:`clone_head`: clone the repository at HEAD. The notebooks' set-up cell
   clones the book from this clone (``METARL_LITE_REPO``).
2. :func:`build_wheel` builds the wheel from that clone; :func:`wheel_problems`
   proves it holds the package's files and its ``.dist-info``, nothing else.
3. :func:`make_fresh_python`: a new virtual environment holding only what Colab
   already has, ``torch`` and ``ipykernel``, at the versions of ``requirements.txt``,
   the ``PIP_CONSTRAINT`` of every pip call there (the notebooks' ``%pip install``
   included), and a kernelspec of its Python.
4. :func:`run_chapter`: copy a chapter, as committed, alone into an empty folder;
   execute it from this Python with nbclient, in a kernel of the fresh Python
   started in that folder. Its set-up cell finds no ``metarl_lite``, clones the
   book and ``%pip install``s it. A probe before the first cell and after the last
   records the kernel's state.
5. :func:`run_problems` proves, from the probes, that the kernel was the fresh
   Python, started in the copy's folder, with nothing of the working tree on
   ``sys.path`` and no ``metarl_lite``; that ``metarl_lite`` then came from the
   fresh site-packages, installed from the set-up cell's clone; and, with
   :func:`output_differences`, that the installed package printed the committed
   outputs.

A manual run writes below ``_build/colab_like/`` (cleared at start, kept after it
to inspect); the test below pytest's ``--basetemp``. Outside that, only pip's cache
is written. Exit status 1 when any check fails.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import importlib.metadata
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path
from typing import Any

import nbformat
from install_cell import chapter_notebooks  # beside this script
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbval.plugin import coalesce_streams, get_sanitize_patterns

ROOT = Path(__file__).resolve().parents[1]
REQUIREMENTS = ROOT / "requirements.txt"
#: What Colab already has, at requirements.txt's versions.
PREINSTALLED = ("torch", "ipykernel")
#: The fresh environment's kernelspec, installed into that environment only.
KERNEL_NAME = "metarl-colab-like"
#: ``make test``'s nbval regexes, applied to both outputs before comparing them.
SANITIZE = get_sanitize_patterns((ROOT / "book" / "nbval_sanitize.cfg").read_text())
#: Tag of cells whose outputs change from run to run (nbval's convention).
IGNORE_TAG = "nbval-ignore-output"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
#: Seconds a cell may run (the set-up cell installs the dependencies).
CELL_TIMEOUT = 600

#: Run before the first cell and after the last; prints the kernel's state as JSON
#: and deletes itself, so that the notebook sees no new name.
PROBE = """\
def _colab_like_probe():
    import importlib.metadata, importlib.util, json, os, sys, sysconfig
    spec = importlib.util.find_spec("metarl_lite")
    try:
        dist = importlib.metadata.distribution("metarl_lite")
        url = json.loads(dist.read_text("direct_url.json") or "{}").get("url")
    except importlib.metadata.PackageNotFoundError:
        url = None
    print(json.dumps({
        "cwd": os.getcwd(), "prefix": sys.prefix, "executable": sys.executable,
        "path": sys.path, "purelib": sysconfig.get_paths()["purelib"],
        "file": spec and spec.origin, "installed_from": url,
    }))
_colab_like_probe()
del _colab_like_probe"""


class MissingPrerequisiteError(RuntimeError):
    """Something the Colab-like run needs is missing (git, a pin in requirements.txt)."""


@dataclasses.dataclass(frozen=True)
class FreshPython:
    """A fresh virtual environment and the environment variables of its processes."""

    prefix: Path
    env: dict[str, str]
    origin: Path  # the clone of HEAD that the set-up cell clones (METARL_LITE_REPO)


@dataclasses.dataclass
class ChapterRun:
    """What executing one chapter in a kernel of the fresh Python gave."""

    name: str
    folder: Path  # where the copy lay alone: the kernel's working folder
    committed: nbformat.NotebookNode | None  # the notebook at HEAD (None: not committed)
    executed: nbformat.NotebookNode | None  # the same after the run, probes removed
    seconds: float
    error: str | None  # the failing cell and its error, or why nothing ran
    start: dict[str, Any]  # the probe's state before the first cell
    end: dict[str, Any]  # ... and after the last


def _run(
    cmd: list[Any], *, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd``; on failure raise with its output, which says what went wrong."""
    proc = subprocess.run(
        [str(c) for c in cmd], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"`{' '.join(map(str, cmd))}` exited {proc.returncode}:\n"
            f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
        )
    return proc


def _git() -> str:
    git = shutil.which("git")
    if git is None:
        raise MissingPrerequisiteError("git is missing: the set-up cell clones the book with git")
    return git


def _inside(path: str | Path, folder: str | Path) -> bool:
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def clone_head(scratch: Path) -> Path:
    """Clone the repository at HEAD into ``scratch/origin``; return the clone's path.

    The wheel is built from this clone and the chapters run as they are in it:
    they see HEAD only, not the working tree's uncommitted changes.
    """
    dest = scratch / "origin"
    _run([_git(), "clone", "--quiet", ROOT, dest])
    head = _run([_git(), "rev-parse", "HEAD"], cwd=ROOT).stdout.strip()
    cloned = _run([_git(), "rev-parse", "HEAD"], cwd=dest).stdout.strip()
    if cloned != head:
        raise RuntimeError(f"the clone is at {cloned}, the repository's HEAD at {head}")
    return dest.resolve()


def build_wheel(origin: Path, out: Path) -> Path:
    """Build the package's wheel from the clone ``origin`` into ``out``; return its path."""
    (out / "tmp").mkdir(parents=True, exist_ok=True)
    pip = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation"]
    _run([*pip, "-w", out, origin], env={**os.environ, "TMPDIR": str(out / "tmp")})
    wheels = sorted(out.glob("metarl_lite-*.whl"))
    if len(wheels) != 1:
        raise RuntimeError(f"expected one metarl_lite wheel in {out}, found {wheels}")
    return wheels[0]


def wheel_problems(wheel: Path, package: Path) -> list[str]:
    """What is wrong with the wheel; empty when it holds every file of ``package`` (the
    source package, ``__pycache__`` aside) and its ``.dist-info`` folder, and nothing else."""
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {
        f"metarl_lite/{p.relative_to(package).as_posix()}"
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    info = re.compile(r"metarl_lite-[^/]+\.dist-info/.+")
    return [f"missing from the wheel: {n}" for n in sorted(expected - names)] + [
        f"the wheel holds {n}, which is not part of the package"
        for n in sorted(names - expected)
        if not info.fullmatch(n)
    ]


def _fresh_env(prefix: Path, scratch: Path, origin: Path) -> dict[str, str]:
    """The environment variables of the fresh Python's pip and kernels.

    Nothing of the repository or its ``.venv`` is on any path; temporary files and
    Jupyter's, IPython's and matplotlib's folders are in ``scratch``; pip's cache is
    the usual one; ``requirements.txt`` constrains every pip call.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(
            ("PYTHON", "JUPYTER", "IPYTHON", "MPL", "VIRTUAL_ENV", "PIP_CONSTRAINT")
        )
        and k not in {"CONDA_PREFIX", "PYTEST_ADDOPTS", "METARL_LITE_REPO", "TMPDIR"}
    }
    path = [p for p in env.get("PATH", os.defpath).split(os.pathsep) if p and not _inside(p, ROOT)]
    homes = ("JUPYTER_DATA_DIR", "JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")
    for name in (*homes, "MPLCONFIGDIR", "TMPDIR"):
        env[name] = str(scratch / name.lower())
        Path(env[name]).mkdir(parents=True, exist_ok=True)
    env.update(
        PATH=os.pathsep.join([str(prefix / "bin"), *path]),
        VIRTUAL_ENV=str(prefix),
        PIP_CONSTRAINT=str(REQUIREMENTS),
        PIP_PROGRESS_BAR="off",
        PIP_NO_INPUT="1",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        METARL_LITE_REPO=origin.as_uri(),
        PYDEVD_DISABLE_FILE_VALIDATION="1",
    )
    return env


def make_fresh_python(scratch: Path, origin: Path) -> FreshPython:
    """A fresh virtual environment in ``scratch/venv`` with torch and ipykernel only.

    Its pip is this Python's pip version (one pip, one cache); torch and ipykernel
    are requirements.txt's pins, from wherever pip finds them (its cache after
    ``make install``). Its kernels' set-up cell clones ``origin``.
    """
    text = REQUIREMENTS.read_text()
    pinned = re.findall(rf"^(?:{'|'.join(PREINSTALLED)})==[^\s#;]+", text, re.MULTILINE)
    if len(pinned) != len(PREINSTALLED):
        raise MissingPrerequisiteError(f"{REQUIREMENTS} must pin each of {PREINSTALLED}")
    prefix = scratch / "venv"
    env = _fresh_env(prefix, scratch, origin)
    _run([sys.executable, "-m", "venv", "--clear", prefix], env=env)  # its TMPDIR, for ensurepip
    python = prefix / "bin" / "python"
    pip = [python, "-m", "pip", "install", "--quiet"]
    _run([*pip, f"pip=={importlib.metadata.version('pip')}"], env=env)
    _run([*pip, "--no-compile", *pinned], env=env)  # the .pyc files: on first import
    _run(
        [python, "-m", "ipykernel", "install", "--prefix", prefix, "--name", KERNEL_NAME], env=env
    )
    return FreshPython(prefix=prefix, env=env, origin=origin)


def run_chapter(fresh: FreshPython, notebook: Path, scratch: Path) -> ChapterRun:
    """Execute ``notebook`` as committed, alone in ``scratch/work``, in a new fresh kernel.

    ``metarl_lite`` is uninstalled first, so that every chapter's set-up cell
    clones and installs it, as in a new Colab runtime.
    """
    folder = scratch / "work"
    folder.mkdir(parents=True)
    committed_file = fresh.origin / notebook.resolve().relative_to(ROOT)
    if not committed_file.is_file():
        return ChapterRun(notebook.name, folder, None, None, 0.0, "not in HEAD: commit it", {}, {})
    shutil.copyfile(committed_file, folder / notebook.name)
    committed = nbformat.read(folder / notebook.name, as_version=4)
    uninstall = [fresh.prefix / "bin" / "python", "-m", "pip", "uninstall", "-q", "-y"]
    _run([*uninstall, "metarl_lite"], env=fresh.env)

    nb = copy.deepcopy(committed)
    probe = nbformat.v4.new_code_cell(PROBE)
    nb.cells = [probe, *nb.cells, copy.deepcopy(probe)]
    kernels = KernelSpecManager(kernel_dirs=[str(fresh.prefix / "share" / "jupyter" / "kernels")])
    km = AsyncKernelManager(
        kernel_name=KERNEL_NAME,
        kernel_spec_manager=kernels,
        connection_file=str(scratch / "kernel.json"),
    )
    started: list[int] = []
    client = NotebookClient(
        nb,
        km=km,
        timeout=CELL_TIMEOUT,
        on_cell_start=lambda cell, cell_index: started.append(cell_index),
    )
    error, t0 = None, time.perf_counter()
    try:
        client.execute(cleanup_kc=True, env=fresh.env, cwd=str(folder))
    except Exception as err:  # a cell's error, a time-out, a dead kernel
        cells = ["the start probe", *(f"cell {i}" for i in range(len(committed.cells)))]
        cell = [*cells, "the end probe"][started[-1]] if started else "the kernel's start"
        error = f"{cell} failed: {type(err).__name__}\n{ANSI.sub('', str(err))}"
    seconds = time.perf_counter() - t0

    def state(cell: Any) -> dict[str, Any]:
        text = "".join(o.get("text", "") for o in cell.outputs if o.get("name") == "stdout")
        return json.loads(text) if text else {}

    start, end = state(nb.cells[0]), state(nb.cells[-1])
    nb.cells = nb.cells[1:-1]
    nbformat.write(nb, scratch / f"executed_{notebook.name}")
    return ChapterRun(notebook.name, folder, committed, nb, seconds, error, start, end)


def _comparable(outputs: list[Any]) -> list[str]:
    """A cell's outputs as text to compare: streams merged by name with ``\\r`` applied
    (nbval's own function), ``text/plain`` of results and displays, errors' name and
    value, each sanitized with ``make test``'s nbval regexes."""
    texts = []
    for out in coalesce_streams(copy.deepcopy(outputs)):
        if out.output_type == "stream":
            text = f"[{out.name}] {out.text}"
        elif out.output_type == "error":
            text = f"[error] {out.ename}: {out.evalue}"
        else:
            text = f"[{out.output_type}] {out.get('data', {}).get('text/plain', '')}"
        for regex, replace in SANITIZE:
            text = re.sub(regex, replace, text)
        texts.append(text)
    return texts


def output_differences(
    committed: nbformat.NotebookNode, executed: nbformat.NotebookNode
) -> list[str]:
    """Code cells whose outputs (see :func:`_comparable`) differ from the committed ones.

    The set-up cell (the first code cell: its output is git's and pip's chatter) and
    cells tagged ``nbval-ignore-output`` are not compared; images only through their
    ``text/plain``.
    """
    code = [i for i, c in enumerate(committed.cells) if c.cell_type == "code"]
    problems = []
    for i in code[1:]:
        old, new = committed.cells[i], executed.cells[i]
        want, got = _comparable(old.outputs), _comparable(new.outputs)
        if IGNORE_TAG not in old.metadata.get("tags", []) and want != got:
            problems.append(
                f"cell {i}: outputs differ from the committed ones\n--- source ---\n"
                f"{old.source}\n--- committed ---\n{''.join(want)}\n--- Colab-like run ---\n"
                + "".join(got)
            )
    return problems


def run_problems(fresh: FreshPython, run: ChapterRun) -> list[str]:
    """Everything wrong with a chapter's run (see the module's step 5); empty if nothing."""
    if run.error is not None:
        return [f"{run.name}: {run.error}"]
    start, end = run.start, run.end
    if not start or not end:
        return [f"{run.name}: a probe printed nothing (start: {start}, end: {end})"]
    clone = run.folder / "metarl-lite-book"
    problems = []
    for probe in (start, end):
        # The venv's python links to the base interpreter: compare folders, not targets.
        if not (
            Path(probe["prefix"]).resolve() == fresh.prefix.resolve()
            and Path(probe["executable"]).parent.resolve() == (fresh.prefix / "bin").resolve()
        ):
            problems.append(f"the kernel was {probe['executable']} (prefix {probe['prefix']})")
        # Under pytest's --basetemp the fresh Python and the copy lie inside ROOT too.
        leaks = [
            p
            for p in (Path(probe["cwd"], q) for q in probe["path"])
            if _inside(p, ROOT) and not (_inside(p, fresh.prefix) or _inside(p, run.folder))
        ]
        if leaks:
            problems.append(f"the kernel's sys.path holds the repository: {leaks}")
    if Path(start["cwd"]).resolve() != run.folder.resolve():
        problems.append(f"the kernel started in {start['cwd']}, not in {run.folder}")
    if start["file"] is not None:
        problems.append(f"metarl_lite was importable before the set-up cell: {start['file']}")
    purelib = end["purelib"]
    if not (end["file"] and _inside(end["file"], purelib) and _inside(purelib, fresh.prefix)):
        problems.append(
            f"metarl_lite was imported from {end['file']}, not the fresh site-packages"
        )
    if (end["installed_from"] or "").rstrip("/") != clone.resolve().as_uri():
        problems.append(f"metarl_lite was installed from {end['installed_from']}, not {clone}")
    if Path(end["cwd"]).resolve() != (clone / "book").resolve():
        problems.append(f"the notebook ended in {end['cwd']}, not in the clone's book/")
    problems += output_differences(run.committed, run.executed)
    return [f"{run.name}: {p}" for p in problems]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every chapter")
    notebooks = [p.resolve() for p in parser.parse_args(argv).notebooks] or chapter_notebooks()
    scratch = ROOT / "_build" / "colab_like"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    t0 = time.perf_counter()
    try:
        changes = _run([_git(), "status", "--porcelain"], cwd=ROOT).stdout.splitlines()
        if changes:
            print(f"note: {len(changes)} uncommitted change(s), not seen: this runs HEAD")
        origin = clone_head(scratch)
        problems = wheel_problems(build_wheel(origin, scratch / "wheel"), origin / "metarl_lite")
        fresh = make_fresh_python(scratch, origin)
    except MissingPrerequisiteError as err:
        print(err, file=sys.stderr)
        return 1
    print(f"wheel: {'ok' if not problems else 'PROBLEMS'}", *problems, sep="\n  ")
    print(f"fresh environment ready in {time.perf_counter() - t0:.0f} s: {fresh.prefix}")
    for notebook in notebooks:
        run = run_chapter(fresh, notebook, scratch / notebook.stem)
        found = run_problems(fresh, run)
        problems += found
        print(f"{notebook.name}: {run.seconds:.1f} s, {'FAILED' if found else 'ok'}", flush=True)
        if found:
            print(*found, sep="\n\n", file=sys.stderr)
    print(f"total {time.perf_counter() - t0:.0f} s; everything is in {scratch}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
