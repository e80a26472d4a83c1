"""Fixtures for the tests of the built website (test_site_*.py).

The site is ``_build/html`` (``make book``), or the folder named by ``METARL_LITE_SITE``.
"""

import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NOT_PAGES = frozenset({"_static", "_sources", "_images"})
NO_SITE = "(no site built)"


def _site_dir() -> Path:
    return Path(os.environ.get("METARL_LITE_SITE", REPO / "_build" / "html"))


def site_pages(site: Path) -> list[str]:
    """Every HTML page of the site, as a path relative to it (``book/01_rl_basics.html``)."""
    pages = (p.relative_to(site) for p in site.rglob("*.html"))
    return sorted(p.as_posix() for p in pages if p.parts[0] not in NOT_PAGES)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize a test that takes ``page`` over the site's pages, so a failure names one.

    Without a built site there is one placeholder page, whose test then fails in ``site_dir``.
    """
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", site_pages(_site_dir()) or [NO_SITE])


@pytest.fixture(scope="session")
def site_dir() -> Path:
    """The built site; fails (never skips) when it has not been built."""
    site = _site_dir()
    if not (site / "index.html").is_file():
        pytest.fail(
            f"no built website at {site} (index.html is missing): run `make book` first, "
            "or point METARL_LITE_SITE at a built site",
            pytrace=False,
        )
    return site


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean: no line per request."""


@pytest.fixture(scope="session")
def site_url(site_dir: Path) -> Iterator[str]:
    """The site served over HTTP on 127.0.0.1 (a free port), as ``http://127.0.0.1:PORT/``."""
    handler = functools.partial(_QuietHandler, directory=str(site_dir))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()
    thread.join()
