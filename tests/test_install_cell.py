"""The notebooks' set-up cell: written from ``_config.yml`` by ``scripts/install_cell.py``."""

from __future__ import annotations

from pathlib import Path

import install_cell
import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


def test_repository_url_is_the_one_in_config() -> None:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert install_cell.repository_url() == config["repository"]["url"]
    assert install_cell.repository_url().startswith("https://github.com/")


def test_the_script_finds_every_chapter() -> None:
    assert CHAPTERS and install_cell.chapter_notebooks() == CHAPTERS


@pytest.mark.parametrize("notebook", CHAPTERS, ids=[p.stem for p in CHAPTERS])
def test_first_code_cell_is_the_set_up_cell(notebook: Path) -> None:
    cells = nbformat.read(notebook, as_version=4).cells
    first = next(c for c in cells if c.cell_type == "code")
    assert first.source == install_cell.cell_source(install_cell.repository_url())
    assert first.metadata.get("tags") == install_cell.TAGS
    assert not install_cell.stale(notebook, first.source)


def test_cell_clones_the_configured_address_unless_told_otherwise() -> None:
    url = install_cell.repository_url()
    source = install_cell.cell_source(url)
    assert f'REPO_URL = os.environ.get("METARL_LITE_REPO", "{url}")' in source
    assert "!git clone --quiet --depth 1 {REPO_URL} metarl-lite-book" in source


def test_check_mode_passes(capsys: pytest.CaptureFixture[str]) -> None:
    assert install_cell.main([]) == 0
    assert capsys.readouterr().err == ""


def _run_setup_cell(folder: Path, repo_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run the set-up cell, then print the working folder, in a kernel started in ``folder``.

    This environment has ``metarl_lite`` installed, as a Colab runtime has after
    a restart; returns what the kernel printed last, or raises nbclient's error.
    """
    from nbclient import NotebookClient

    monkeypatch.setenv("METARL_LITE_REPO", repo_url)
    nb = nbformat.v4.new_notebook()
    source = install_cell.cell_source(install_cell.repository_url())
    nb.cells = [nbformat.v4.new_code_cell(source), nbformat.v4.new_code_cell("print(os.getcwd())")]
    NotebookClient(nb, timeout=60, resources={"metadata": {"path": str(folder)}}).execute()
    return nb.cells[-1].outputs[-1]["text"].strip()


def test_after_a_restart_the_cell_returns_to_the_clone(tmp_path, monkeypatch) -> None:
    """Colab keeps files and packages across a restart, but the kernel starts in /content."""
    (tmp_path / "metarl-lite-book" / "book").mkdir(parents=True)
    # A clone attempt would fail on this address, so it must not be made.
    cwd = _run_setup_cell(tmp_path, "file:///nonexistent/repository", monkeypatch)
    assert Path(cwd) == tmp_path / "metarl-lite-book" / "book"


def test_a_failed_clone_stops_with_the_address(tmp_path, monkeypatch) -> None:
    from nbclient.exceptions import CellExecutionError

    with pytest.raises(CellExecutionError, match="could not clone file:///nonexistent"):
        _run_setup_cell(tmp_path, "file:///nonexistent/repository", monkeypatch)
