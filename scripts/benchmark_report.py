"""Write (or check) the book's benchmark report, ``book/benchmark_report.md``.

    python scripts/benchmark_report.py          # write the page
    python scripts/benchmark_report.py --check  # exit 1 if the committed page is stale

The page is generated, never edited by hand. It has one section per JSON file in
``book/data/benchmarks/`` (found by listing the folder, so a new benchmark appears as
soon as its script has written its result): the ``table`` the JSON stores, the
``machine`` and ``versions`` it records, the command that produced it
(``python benchmarks/<name>.py``) and the chapter sections whose code loads it. A JSON
without a ``table`` (or without a machine record) still gets its section, which says
what is missing.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
from markdown_it import MarkdownIt
from mdit_py_plugins.dollarmath import dollarmath_plugin

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
BENCHMARKS = BOOK / "data" / "benchmarks"
SCRIPTS = ROOT / "benchmarks"
OUTPUT = BOOK / "benchmark_report.md"
MAKEFILE = ROOT / "Makefile"
#: Headings down to this level get a slug (``myst_heading_anchors`` in ``_config.yml``).
HEADING_ANCHORS = 3

# The slug rule of myst-parser's ``default_slugify`` (GitHub's): lower case, spaces to
# hyphens, everything but word characters, CJK, hyphens and spaces dropped.
_SLUG_DROP = re.compile(r"[^\w\u4e00-\u9fff\- ]")
_HEADING_PARSER = MarkdownIt("commonmark").use(dollarmath_plugin)


def slugify(title: str) -> str:
    """The anchor myst-parser gives a heading whose text (math and markup removed) is ``title``."""
    return _SLUG_DROP.sub("", title.lower().replace(" ", "-"))


@dataclass(frozen=True)
class Section:
    """A place in a chapter: its notebook, the chapter's title, a heading and its anchor."""

    notebook: str  # file name, e.g. "04_meta_rl.ipynb"
    chapter: str  # the notebook's first level-1 heading, e.g. "4. Meta-reinforcement learning"
    heading: str  # the heading's source text ("" when the cell comes before any heading)
    slug: str  # the heading's anchor ("" when it has none)

    def link(self) -> str:
        """A MyST link from a page in ``book/`` to this section."""
        if not self.slug:
            return f"[{self.chapter}]({self.notebook})"
        section = f"[{self.heading}]({self.notebook}#{self.slug})"
        return f"[{self.chapter}]({self.notebook}), section {section}"


def _heading(opening: Any, inline: Any) -> tuple[int, str, str]:
    """``(level, source text, slug text)`` of a heading from its two markdown-it tokens."""
    children = inline.children or []
    plain = "".join(c.content for c in children if c.type in ("text", "code_inline"))
    return int(opening.tag[1:]), inline.content, plain


def headings(markdown: str) -> list[tuple[int, str, str]]:
    """Every heading of a markdown text as ``(level, source text, slug text)``.

    The slug text is what myst-parser slugifies: the heading's plain text and inline
    code, without math or markup. Fenced code (a ``# comment`` line) is not a heading.
    """
    tokens = _HEADING_PARSER.parse(markdown)
    return [_heading(a, b) for a, b in itertools.pairwise(tokens) if a.type == "heading_open"]


def benchmark_sections(book: Path = BOOK) -> dict[str, list[Section]]:
    """For each benchmark name, the chapter sections that show its result.

    A code cell shows benchmark ``NAME`` when its source names ``benchmarks/NAME.json``
    (it loads the stored result). A benchmark that no code cell loads is placed where the
    text names its script, ``benchmarks/NAME.py``. A place's section is the last heading
    above it; slugs are made unique per notebook as myst-parser makes them (``-1``,
    ``-2``, ... appended to a repeated slug).
    """
    loads: dict[str, list[Section]] = {}
    mentions: dict[str, list[Section]] = {}
    json_name = re.compile(r"benchmarks/(\w+)\.json")
    script_name = re.compile(r"benchmarks/(\w+)\.py")

    def note(found: dict[str, list[Section]], names: list[str], section: Section) -> None:
        for name in sorted(set(names)):
            if section not in found.setdefault(name, []):
                found[name].append(section)

    for path in sorted(book.glob("[0-9][0-9]_*.ipynb")):
        chapter, heading, slug = path.stem, "", ""
        slugs: set[str] = set()
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                note(
                    loads,
                    json_name.findall(cell.source),
                    Section(path.name, chapter, heading, slug),
                )
                continue
            if cell.cell_type != "markdown":
                continue
            tokens = _HEADING_PARSER.parse(cell.source)
            for i, token in enumerate(tokens):
                if token.type == "heading_open":
                    level, text, plain = _heading(token, tokens[i + 1])
                    if level == 1 and chapter == path.stem:
                        chapter = text
                    if level <= HEADING_ANCHORS:
                        unique, n = slugify(plain), 1
                        while unique in slugs:
                            unique = f"{slugify(plain)}-{n}"
                            n += 1
                        slugs.add(unique)
                        heading, slug = text, unique
                elif token.type in ("inline", "fence", "code_block") and (
                    i == 0 or tokens[i - 1].type != "heading_open"
                ):
                    section = Section(path.name, chapter, heading, slug)
                    note(mentions, script_name.findall(token.content), section)
    return {name: loads.get(name) or mentions[name] for name in sorted({*loads, *mentions})}


def make_benchmark_commands(makefile: Path = MAKEFILE) -> list[str]:
    """The commands of the Makefile's ``benchmark`` target, ``$(PY)`` written as ``python``."""
    if not makefile.is_file():
        return []
    commands, inside = [], False
    for line in makefile.read_text().splitlines():
        if line.startswith("benchmark:"):
            inside = True
        elif inside and line.startswith("\t"):
            commands.append(line.strip().replace("$(PY)", "python"))
        elif inside:
            break
    return commands


_VERBATIM = re.compile(r"(\$[^$\n]+\$|`[^`\n]+`)")


def escape_cell_text(text: str) -> str:
    """Make a stored markdown table safe to include in a MyST page.

    Outside math (``$...$``) and code spans, ``<`` before a letter, ``/``, ``!`` or ``?``
    would open raw HTML, ``{{`` a MyST substitution and ``{name}`` followed by a backtick a
    role; each is written as an HTML entity. Nothing else in a stored table is changed.
    """
    text = re.sub(r"\{(?=[\w:-]+\}`)", "&#123;", text)  # a role: {name}`...`
    parts = _VERBATIM.split(text)
    for i in range(0, len(parts), 2):  # even parts lie outside math and code
        part = re.sub(r"<(?=[A-Za-z/!?])", "&lt;", parts[i])
        parts[i] = part.replace("{{", "&#123;&#123;")
    return "".join(parts)


def format_value(value: Any) -> str:
    """One machine/version field as short text: floats rounded, lists joined."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:,.1f}" if abs(value) >= 10 else f"{value:.2f}"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return str(value)


def field_table(record: dict[str, Any]) -> str:
    """A two-column markdown table of a ``machine`` or ``versions`` dict."""
    rows = ["| field | value |", "|---|---|"]
    for key, value in record.items():
        text = escape_cell_text(format_value(value)).replace("|", "\\|")
        rows.append(f"| `{key}` | {text} |")
    return "\n".join(rows)


def load(path: Path) -> tuple[dict[str, Any] | None, str]:
    """The JSON object in ``path``, or ``None`` and why it could not be used."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        return None, f"it could not be read as JSON ({type(error).__name__})"
    if not isinstance(data, dict):
        return None, f"it holds a JSON {type(data).__name__}, not an object"
    return data, ""


def render_benchmark(
    path: Path, sections: list[Section], scripts: Path, in_make: bool, heading_level: int = 2
) -> str:
    """The report's section for one benchmark JSON."""
    name = path.stem
    script = scripts / f"{name}.py"
    out = [f"{'#' * heading_level} `{name}`", ""]
    if script.is_file():
        made = "" if in_make else " (not yet part of `make benchmark`)"
        out.append(f"- **Command:** `python benchmarks/{name}.py`{made}")
    else:
        out.append(f"- **Command:** none found: there is no `benchmarks/{name}.py`")
    out.append(f"- **Result file:** `book/data/benchmarks/{name}.json`")
    if sections:
        for section in sections:
            out.append(f"- **Shown in:** {section.link()}")
    else:
        out.append("- **Shown in:** no chapter loads this file yet")
    data, problem = load(path)
    if data is None:
        out += ["", f"This file cannot be reported: {problem}.", ""]
        return "\n".join(out)
    out.append("")
    table = data.get("table")
    if isinstance(table, str) and table.strip():
        out += [
            "**Result**, as stored in the file's `table`:",
            "",
            escape_cell_text(table.strip()),
        ]
    elif table is None:
        out.append("This file stores no `table`: the results are in its other fields.")
    else:
        out.append("This file's `table` is not a markdown string, so it is not shown here.")
    out.append("")
    for key, label in (("machine", "Machine"), ("versions", "Versions")):
        record = data.get(key)
        if isinstance(record, dict) and record:
            out += [f"**{label}** (`{key}`):", "", field_table(record), ""]
        else:
            out += [f"**{label}:** not recorded in this file (no `{key}` field).", ""]
    return "\n".join(out)


def render(
    benchmarks: Path = BENCHMARKS,
    book: Path = BOOK,
    scripts: Path = SCRIPTS,
    makefile: Path = MAKEFILE,
) -> str:
    """The whole page, from every ``*.json`` in ``benchmarks``."""
    paths = sorted(benchmarks.glob("*.json"))
    shown = benchmark_sections(book)
    commands = make_benchmark_commands(makefile)
    in_make = {name for c in commands for name in re.findall(r"benchmarks/(\w+)\.py", c)}
    stored = {p.stem for p in paths}
    out = [
        "# Benchmark report",
        "",
        "<!-- Generated by `python scripts/benchmark_report.py` from book/data/benchmarks/*.json:"
        " do not edit by hand. -->",
        "",
        "Every longer experiment of the book is a script in `benchmarks/` that writes its",
        "result to `book/data/benchmarks/<name>.json`; the chapters load those files, and",
        "for most of them the test suite re-runs a sample of the runs and compares them",
        "with the stored numbers. This page collects them:",
        "for each file, the table it stores, the machine and library versions it",
        "recorded, the command that wrote it and the chapter sections that show it.",
        "",
        "## How to re-run",
        "",
        "From the repository root, after `make book` has set up `.venv`:",
        "",
        "```bash",
        "make benchmark                      # every script below, one after the other",
        "python scripts/benchmark_report.py  # rewrite this page from the new results",
        "```",
        "",
    ]
    if commands:
        out += ["`make benchmark` runs:", "", "```bash", *commands, "```", ""]
    out += [
        "Each script can also be run on its own (`python benchmarks/<name>.py --help` lists",
        "its options). The times below were measured on machines shared with other jobs:",
        "compare ratios between methods, not seconds across machines.",
        "`python scripts/benchmark_report.py --check` fails when this page no longer",
        "matches the stored results.",
        "",
        "## Overview",
        "",
        "| result file | command | shown in |",
        "|---|---|---|",
    ]
    for path in paths:
        name = path.stem
        command = (
            f"`python benchmarks/{name}.py`" if (scripts / f"{name}.py").is_file() else "(none)"
        )
        places = "; ".join(
            f"[ch. {s.notebook.split('_')[0].lstrip('0') or '0'}]({s.notebook}#{s.slug})"
            if s.slug
            else f"[{s.notebook}]({s.notebook})"
            for s in shown.get(name, [])
        )
        out.append(f"| [`{name}.json`](#{slugify(name)}) | {command} | {places or 'not yet'} |")
    if not paths:
        out.append("| (no result files yet) | | |")
    out.append("")
    no_result = sorted(
        p.stem for p in scripts.glob("*.py") if p.stem not in stored and not p.stem.startswith("_")
    )
    if no_result:
        listed = ", ".join(f"`benchmarks/{n}.py`" for n in no_result)
        out += [
            f"Scripts in `benchmarks/` with no result file in `book/data/benchmarks/`: {listed}.",
            "They print their result instead, or have not been run yet.",
            "",
        ]
    for path in paths:
        out.append(render_benchmark(path, shown.get(path.stem, []), scripts, path.stem in in_make))
    return "\n".join(out).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the page is stale")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="the page to write or check")
    args = parser.parse_args(argv)
    page = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.is_file() else ""
        if current != page:
            print(f"{args.output} is stale: run python scripts/benchmark_report.py")
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(page, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
