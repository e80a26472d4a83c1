"""What a Colab reader gets: the wheel, and every chapter run from a clone in a fresh Python.

The steps are those of ``scripts/colab_like.py`` (which a maintainer can run
by hand): build the wheel and check its contents; clone the repository at HEAD;
create a fresh virtual environment holding only torch (the CPU wheel on this
machine's disk), ipykernel, nbclient and nbformat, at the versions of
``requirements.txt``, which is ``PIP_CONSTRAINT`` for every pip call there,
the notebooks' ``%pip install`` included; then execute each chapter alone in an
empty folder, in a kernel of that Python, so that its set-up cell clones the
book (from the clone, through ``METARL_LITE_REPO``) and installs it.

The chapters run as committed, and install the package as committed: they
see the repository's HEAD; **uncommitted changes are not seen** (commit first
to test them). The wheel, though, is built from the working tree.

Each chapter's run must raise nowhere; its kernel must be the fresh Python,
started in the copy's folder, without ``metarl_lite`` and with nothing of the
repository on ``sys.path``; ``metarl_lite`` must come from the fresh
site-packages, installed from the set-up cell's clone; and every code cell
but the set-up cell and those tagged ``nbval-ignore-output`` must print the
committed plain text (streams and ``text/plain``; lines with ``0x`` addresses
or tqdm rates dropped, ``book/nbval_sanitize.cfg`` applied).

It takes about two minutes on two cores: 40-50 s to build the environment, 15-30 s a chapter.
"""

from __future__ import annotations

import importlib.util
import shutil
import sys
import zipfile
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _load_script(name: str) -> ModuleType:
    """Import ``scripts/{name}.py`` by path (``scripts/`` is no package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


colab_like = _load_script("colab_like")
CHAPTERS = colab_like.chapter_notebooks()


def _require_git() -> None:
    if shutil.which("git") is None:
        pytest.fail("git is missing: the set-up cell clones the book with it", pytrace=False)


def test_there_are_chapters() -> None:
    assert len(CHAPTERS) >= 3, CHAPTERS


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The package's wheel, built from a copy of the working tree."""
    _require_git()
    return colab_like.build_wheel(tmp_path_factory.mktemp("wheel"))


def test_wheel_holds_the_package_and_nothing_else(wheel: Path) -> None:
    problems = colab_like.wheel_problems(wheel)
    assert not problems, "\n".join(problems)


def test_wheel_check_names_what_is_wrong(wheel: Path, tmp_path: Path) -> None:
    """The check itself: a module the wheel lacks and a test file it holds are both named."""
    package = tmp_path / "metarl_lite"
    shutil.copytree(ROOT / "metarl_lite", package, ignore=shutil.ignore_patterns("__pycache__"))
    (package / "new_module.py").write_text("")
    bad = tmp_path / wheel.name
    shutil.copyfile(wheel, bad)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("tests/test_envs.py", "")
    assert colab_like.wheel_problems(bad, package) == [
        "module missing from the wheel: metarl_lite/new_module.py",
        "the wheel holds tests/test_envs.py, which is not part of the package",
    ]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> colab_like.FreshPython:
    """A fresh Python with torch, ipykernel, nbclient and nbformat, and a clone of HEAD."""
    _require_git()
    scratch = tmp_path_factory.mktemp("colab")
    origin = colab_like.clone_head(scratch)
    try:
        return colab_like.make_fresh_python(scratch, origin)
    except colab_like.MissingPrerequisiteError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_chapter_runs_as_in_colab(
    fresh: colab_like.FreshPython, notebook: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    run = colab_like.run_chapter(fresh, notebook, tmp_path_factory.mktemp(notebook.stem))
    problems = colab_like.run_problems(fresh, run)
    assert not problems, "\n\n".join(problems)


def test_run_check_names_a_foreign_kernel_and_package(tmp_path: Path) -> None:
    """The checks of a run, on made-up probes: a good run passes, a leaky one is named."""
    prefix, work = tmp_path / "venv", tmp_path / "work"
    clone, purelib = work / "metarl-lite-book", prefix / "lib" / "site-packages"
    fresh = colab_like.FreshPython(prefix, prefix / "bin" / "python", {}, tmp_path / "origin")
    chapter = CHAPTERS[0]
    start = {
        "cwd": str(work),
        "prefix": str(prefix),
        "executable": str(prefix / "bin" / "python"),
        "path": ["", str(purelib)],
        "metarl_lite_found": False,
    }
    end = {
        "cwd": str(clone / "book"),
        "prefix": str(prefix),
        "purelib": str(purelib),
        "path": ["", str(purelib)],
        "file": str(purelib / "metarl_lite" / "__init__.py"),
        "direct_url": {"url": clone.as_uri()},
    }
    good = colab_like.ChapterRun(
        chapter, chapter, work / chapter.name, chapter, 1.0, None, start, end
    )
    assert colab_like.run_problems(fresh, good) == []
    leaky = colab_like.ChapterRun(
        chapter,
        chapter,
        work / chapter.name,
        chapter,
        1.0,
        None,
        {**start, "executable": sys.executable, "prefix": sys.prefix, "metarl_lite_found": True},
        {**end, "path": [str(ROOT), str(purelib)], "file": str(ROOT / "metarl_lite" / "x.py")},
    )
    problems = "\n".join(colab_like.run_problems(fresh, leaky))
    for expected in (
        "the kernel was",
        "importable before the set-up cell ran",
        "sys.path holds the repository",
        "metarl_lite was imported from",
    ):
        assert expected in problems
