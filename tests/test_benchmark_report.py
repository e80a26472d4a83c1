"""The benchmark report page, written from the benchmarks' JSON by scripts/benchmark_report.py."""

from __future__ import annotations

import json
from pathlib import Path

import benchmark_report as br
import nbformat
import pytest
from myst_parser.mdit_to_docutils.base import default_slugify

ROOT = Path(__file__).resolve().parents[1]
RESULTS = sorted((ROOT / "book" / "data" / "benchmarks").glob("*.json"))


def test_committed_page_is_the_generated_one() -> None:
    committed = (ROOT / "book" / "benchmark_report.md").read_text(encoding="utf-8")
    assert committed == br.render(), "stale: run python scripts/benchmark_report.py"


@pytest.mark.parametrize("path", RESULTS, ids=[p.stem for p in RESULTS])
def test_every_result_file_has_its_section(path: Path) -> None:
    page = (ROOT / "book" / "benchmark_report.md").read_text(encoding="utf-8")
    name = path.stem
    assert f"\n## `{name}`\n" in page
    assert f"`book/data/benchmarks/{name}.json`" in page
    data = json.loads(path.read_text())
    if isinstance(data.get("table"), str):
        first_row = data["table"].strip().splitlines()[0]
        assert br.escape_cell_text(first_row) in page
    if (ROOT / "benchmarks" / f"{name}.py").is_file():
        assert f"`python benchmarks/{name}.py`" in page


def test_page_starts_with_how_to_rerun() -> None:
    page = br.render()
    assert page.startswith("# Benchmark report\n")
    assert page.index("make benchmark") < page.index("## Overview")
    for command in br.make_benchmark_commands():
        assert command in page


def test_check_flags_a_stale_page(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "report.md"
    page.write_text("# Benchmark report\n\nold\n")
    assert br.main(["--check", "--output", str(page)]) == 1
    assert br.main(["--output", str(page)]) == 0
    assert br.main(["--check", "--output", str(page)]) == 0
    assert "up to date" in capsys.readouterr().out


def _fake_book(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A results folder, a book folder with one chapter and a scripts folder."""
    results, book, scripts = tmp_path / "results", tmp_path / "book", tmp_path / "scripts"
    for folder in (results, book, scripts):
        folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 9. Fake chapter\n\n## 9.1 Results, with $x$ maths"),
        nbformat.v4.new_code_cell('r = json.load(open("data/benchmarks/full.json"))'),
        nbformat.v4.new_markdown_cell("## Exercises\n\n```python\n# not a heading\n```"),
        nbformat.v4.new_markdown_cell("## 9.1 Results, with $y$ maths"),
        nbformat.v4.new_code_cell('ml.load("benchmarks/no_table.json")'),
        nbformat.v4.new_markdown_cell(
            "## `benchmarks/full.py` named in a heading\n\n### Text only\n\n"
            "`benchmarks/only_text.py` stores it; `benchmarks/full.py` too."
        ),
    ]
    nbformat.write(nb, book / "09_fake.ipynb")
    (scripts / "full.py").write_text("")
    (scripts / "printer.py").write_text("")
    return results, book, scripts


def test_robust_to_missing_fields(tmp_path: Path) -> None:
    results, book, scripts = _fake_book(tmp_path)
    full = {
        "table": "| a | b |\n|---|---|\n| <b>x</b> | {{ y }} |",
        "machine": {"platform": "Linux", "total_seconds": 12.345, "threads": 1},
        "versions": {"torch": "2.0"},
    }
    (results / "full.json").write_text(json.dumps(full))
    (results / "no_table.json").write_text(json.dumps({"runs": []}))
    (results / "bad_table.json").write_text(json.dumps({"table": [1, 2]}))
    (results / "not_an_object.json").write_text("[1, 2]")
    (results / "broken.json").write_text("{")
    (results / "only_text.json").write_text(json.dumps({"table": "| a |\n|---|\n| 1 |"}))
    page = br.render(results, book, scripts, makefile=tmp_path / "no_makefile")
    for name in ("full", "no_table", "bad_table", "not_an_object", "broken"):
        assert f"## `{name}`" in page
    assert "| &lt;b>x&lt;/b> | &#123;&#123; y }} |" in page  # no raw HTML, no substitution
    assert "| `total_seconds` | 12.3 |" in page
    assert "stores no `table`" in page
    assert "`table` is not a markdown string" in page
    assert "holds a JSON list" in page
    assert "could not be read as JSON" in page
    assert "there is no `benchmarks/no_table.py`" in page
    assert "(not yet part of `make benchmark`)" in page
    assert "`benchmarks/printer.py`" in page  # a script with no result file
    assert "no chapter loads this file yet" in page  # bad_table
    # the chapter links: a slug without the maths, and the repeated heading's "-1"
    assert "(09_fake.ipynb#91-results-with--maths)" in page
    assert "(09_fake.ipynb#91-results-with--maths-1)" in page
    assert "[9. Fake chapter](09_fake.ipynb)" in page
    # a file that no code cell loads is placed where the text names its script; one that
    # a code cell loads is not placed where the text merely names it
    assert "## `only_text`" in page
    assert "section [Text only](09_fake.ipynb#text-only)" in page
    assert "(09_fake.ipynb#text-only)" not in page.split("## `full`")[1].split("## `")[0]
    assert "[ch. 9](09_fake.ipynb#91-results-with--maths)" in page


@pytest.mark.parametrize(
    "title",
    ["1.1 The parts of an RL problem", "RL²: a recurrent network", "Try it: α, K and `code`"],
)
def test_slugs_are_myst_parsers(title: str) -> None:
    assert br.slugify(title) == default_slugify(title)


def test_headings_skip_code_and_maths() -> None:
    found = br.headings("# A\n\n```\n# no\n```\n\n### Does Q-learning find $Q^*$?\n")
    assert found == [(1, "A", "A"), (3, "Does Q-learning find $Q^*$?", "Does Q-learning find ?")]


def test_escape_leaves_maths_and_code_alone() -> None:
    text = "a <b> and $x<y$ and `<i>` and {cite}`k`"
    assert br.escape_cell_text(text) == "a &lt;b> and $x<y$ and `<i>` and &#123;cite}`k`"
