"""Write (or check) the set-up cell that opens every chapter notebook.

    python scripts/install_cell.py          # check: exit 1 if a notebook's cell is stale
    python scripts/install_cell.py --write  # rewrite the cell in every chapter

The cell is what a Colab or Binder reader runs first: where ``metarl_lite`` is
missing it clones the book's repository, installs the package from it and
works in its ``book/`` folder, next to the chapter's data. The repository's
address comes from ``repository.url`` in ``_config.yml``, the one place that
names it; the launch buttons read the same key. ``METARL_LITE_REPO``, when
set, clones from another address (a fork, or a local mirror in the tests).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
#: Tag of the set-up cell; Jupyter Book hides a ``hide-cell`` cell behind a toggle.
TAGS = ["hide-cell"]

TEMPLATE = """\
# Set-up: outside a checkout of the book (Colab, Binder, a fresh kernel), clone the
# book's repository once, work in its book/ folder, next to the chapter's data, and
# install metarl_lite from it if it is missing. In a checkout where `make book` has
# run, this does nothing. (Written by scripts/install_cell.py from _config.yml.)
import os
import sys

REPO_URL = os.environ.get("METARL_LITE_REPO", "{url}")
if not os.path.exists("../pyproject.toml"):  # not inside a checkout
    if not os.path.isdir("metarl-lite-book/book"):  # kept across runtime restarts
        !git clone --quiet --depth 1 {{REPO_URL}} metarl-lite-book
    if not os.path.isdir("metarl-lite-book/book"):
        raise RuntimeError(f"could not clone {{REPO_URL}}: see git's message above")
    %cd metarl-lite-book/book
try:
    import metarl_lite as ml
except ImportError:
    %pip install --quiet ..
    import metarl_lite as ml
if "google.colab" in sys.modules:  # Colab draws ipywidgets 8 through its custom manager
    from google.colab import output

    output.enable_custom_widget_manager()"""


def repository_url(config: Path = ROOT / "_config.yml") -> str:
    """``repository.url`` from the book's ``_config.yml``."""
    url = yaml.safe_load(config.read_text())["repository"]["url"]
    if not isinstance(url, str) or not url.startswith("https://"):
        raise ValueError(f"repository.url={url!r} in {config}: expected an https:// address")
    return url


def cell_source(url: str) -> str:
    """The set-up cell's source for the repository at ``url``."""
    return TEMPLATE.format(url=url)


def chapter_notebooks(book: Path = ROOT / "book") -> list[Path]:
    """Every chapter notebook, ``book/NN_name.ipynb``, in order."""
    return sorted(book.glob("[0-9][0-9]_*.ipynb"))


def stale(path: Path, source: str) -> bool:
    """Whether the first code cell of ``path`` differs from ``source``."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    return first.source != source or first.metadata.get("tags") != TAGS


def write(path: Path, source: str) -> None:
    """Replace the first code cell of ``path`` with the set-up cell."""
    nb = nbformat.read(path, as_version=4)
    first = next(c for c in nb.cells if c.cell_type == "code")
    first.source = source
    first.metadata["tags"] = list(TAGS)
    nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite stale cells")
    args = parser.parse_args(argv)
    source = cell_source(repository_url())
    bad = [p for p in chapter_notebooks() if stale(p, source)]
    for path in bad:
        if args.write:
            write(path, source)
            print(f"rewrote the set-up cell of {path.relative_to(ROOT)}")
        else:
            print(
                f"{path.relative_to(ROOT)}: set-up cell differs from _config.yml's",
                file=sys.stderr,
            )
    return 0 if args.write or not bad else 1


if __name__ == "__main__":
    sys.exit(main())
