"""What a Colab reader gets: the wheel, and every chapter run from a clone in a fresh Python.

The steps are those of ``scripts/colab_like.py`` (its docstring says what each
proves): clone the repository at HEAD; build the wheel from the clone and check
its contents; create a fresh virtual environment holding only torch and
ipykernel at requirements.txt's versions; execute each chapter alone in an
empty folder, in a kernel of that Python, so that its set-up cell clones the
book and installs it; check the kernel, where ``metarl_lite`` came from, and
that every compared cell printed the committed output.

Everything runs from HEAD: **uncommitted changes are not seen** (commit first to
test them). Temporary files go below pytest's ``--basetemp`` (``make test``:
``_build/pytest``), and pip's cache. About 100 s on two cores.
"""

from __future__ import annotations

import shutil
import sys
import zipfile
from pathlib import Path

import colab_like
import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]


CHAPTERS = colab_like.chapter_notebooks()


def test_there_are_chapters() -> None:
    assert len(CHAPTERS) >= 3, CHAPTERS


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of HEAD: the wheel's source, and what the set-up cells clone."""
    try:
        return colab_like.clone_head(tmp_path_factory.mktemp("colab"))
    except colab_like.MissingPrerequisiteError as err:
        pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="module")
def wheel(origin: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return colab_like.build_wheel(origin, tmp_path_factory.mktemp("wheel"))


def test_wheel_holds_the_package_and_nothing_else(wheel: Path, origin: Path) -> None:
    problems = colab_like.wheel_problems(wheel, origin / "metarl_lite")
    assert not problems, "\n".join(problems)


def test_wheel_check_names_what_is_wrong(wheel: Path, origin: Path, tmp_path: Path) -> None:
    """The check itself: a module the wheel lacks and a test file it holds are both named."""
    package = tmp_path / "metarl_lite"
    shutil.copytree(origin / "metarl_lite", package)
    (package / "new_module.py").write_text("")
    bad = tmp_path / wheel.name
    shutil.copyfile(wheel, bad)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("tests/test_envs.py", "")
    assert colab_like.wheel_problems(bad, package) == [
        "missing from the wheel: metarl_lite/new_module.py",
        "the wheel holds tests/test_envs.py, which is not part of the package",
    ]


@pytest.fixture(scope="module")
def fresh(origin: Path) -> colab_like.FreshPython:
    """A fresh Python with torch and ipykernel, whose set-up cells clone ``origin``."""
    try:
        return colab_like.make_fresh_python(origin.parent, origin)
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
    fresh = colab_like.FreshPython(prefix, {}, tmp_path / "origin")
    nb = nbformat.read(CHAPTERS[0], as_version=4)
    start = {
        "cwd": str(work),
        "prefix": str(prefix),
        "executable": str(prefix / "bin" / "python"),
        "path": ["", str(purelib)],
        "purelib": str(purelib),
        "file": None,
        "installed_from": None,
    }
    end = {
        **start,
        "cwd": str(clone / "book"),
        "file": str(purelib / "metarl_lite" / "__init__.py"),
        "installed_from": clone.as_uri(),
    }
    good = colab_like.ChapterRun("ch.ipynb", work, nb, nb, 1.0, None, start, end)
    assert colab_like.run_problems(fresh, good) == []
    leaky = colab_like.ChapterRun(
        "ch.ipynb",
        work,
        nb,
        nb,
        1.0,
        None,
        {**start, "executable": sys.executable, "prefix": sys.prefix, "file": "x.py"},
        {**end, "path": [str(ROOT), str(purelib)], "file": str(ROOT / "metarl_lite" / "x.py")},
    )
    problems = "\n".join(colab_like.run_problems(fresh, leaky))
    for expected in (
        "the kernel was",
        "importable before the set-up cell",
        "sys.path holds the repository",
        "metarl_lite was imported from",
    ):
        assert expected in problems


def test_output_check_names_a_changed_number() -> None:
    """Only a changed number is named: not an address, nor the set-up or an ignored cell."""

    def notebook(setup: str, number: str, address: str, ignored: str) -> nbformat.NotebookNode:
        def cell(text: str, tags: tuple[str, ...] = ()) -> nbformat.NotebookNode:
            out = nbformat.v4.new_output("stream", name="stdout", text=text)
            return nbformat.v4.new_code_cell("", outputs=[out], metadata={"tags": list(tags)})

        cells = [
            cell(setup),
            cell(f"mean {number} at {address}\n"),
            cell(ignored, ("nbval-ignore-output",)),
        ]
        return nbformat.v4.new_notebook(cells=cells)

    committed = notebook("", "1.5", "0x7f00", "1")
    assert colab_like.output_differences(committed, notebook("cloning", "1.5", "0xab", "2")) == []
    (problem,) = colab_like.output_differences(committed, notebook("", "1.6", "0x7f00", "1"))
    assert problem.startswith("cell 1: outputs differ") and "mean 1.6" in problem
