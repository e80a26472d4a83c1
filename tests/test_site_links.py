"""Static checks of the built website: its links, its offline resources and its launch buttons.

* Every internal link of every page leads to a file of the site, and a ``#fragment`` to an
  ``id`` (or ``name``) in the target page.
* Everything a page loads (scripts, images, iframes, stylesheets, preloads, module imports)
  is a file of the site: no external URL at all, so the site works offline.
* The Colab/Binder launch buttons and the repository/issues buttons point at the repository
  and branch named in ``_config.yml``, and each launch button at a notebook tracked by git.
"""

import functools
import posixpath
import re
import subprocess
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
CHAPTER = re.compile(r"book/\d\d_[^/]+\.html")
# Links that leave the site on purpose; they are not followed.
EXTERNAL_SCHEMES = frozenset({"http", "https", "mailto", "javascript", "data", "tel"})
# <link rel=...> values that make the browser fetch the href.
FETCHING_RELS = frozenset(
    {
        "stylesheet",
        "preload",
        "modulepreload",
        "prefetch",
        "preconnect",
        "dns-prefetch",
        "icon",
        "apple-touch-icon",
        "manifest",
    }
)
# Tags whose src (or srcset) the browser fetches.
SRC_TAGS = frozenset(
    {"script", "img", "iframe", "source", "video", "audio", "track", "embed", "input"}
)
# A module import inside an inline script: import x from "URL", import "URL", import("URL").
MODULE_IMPORT = re.compile(r"""\bimport\b[^'"();]*?(?:\bfrom\s*)?\(?\s*["']([^"']+)["']""")
META_REFRESH_URL = re.compile(r"url\s*=\s*['\"]?([^'\"]+)", re.IGNORECASE)


@dataclass
class ParsedPage:
    """What the link checks need from one HTML page."""

    ids: set[str] = field(default_factory=set)
    links: list[tuple[str, str]] = field(default_factory=list)  # (where, url) to follow
    resources: list[tuple[str, str]] = field(default_factory=list)  # (where, url) it loads
    anchors: list[tuple[str, str]] = field(default_factory=list)  # (class, href) of <a>


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = ParsedPage()
        self._inline_script = False
        self._script_text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attr = {name: value or "" for name, value in attrs}
        page = self.page
        for key in ("id", "name") if tag in ("a", "map") else ("id",):
            if attr.get(key):
                page.ids.add(attr[key])
        if tag in ("a", "area") and "href" in attr:
            page.links.append((f"<{tag} href>", attr["href"]))
            page.anchors.append((attr.get("class", ""), attr["href"]))
        elif tag == "link" and "href" in attr:
            rels = set(attr.get("rel", "").lower().split())
            target = page.resources if rels & FETCHING_RELS else page.links
            target.append((f"<link rel={attr.get('rel', '')!r}>", attr["href"]))
        elif tag == "meta" and attr.get("http-equiv", "").lower() == "refresh":
            found = META_REFRESH_URL.search(attr.get("content", ""))
            if found:
                page.links.append(("<meta refresh>", found.group(1).strip()))
        elif tag == "object" and attr.get("data"):
            page.resources.append(("<object data>", attr["data"]))
        if tag in SRC_TAGS:
            if attr.get("src"):
                page.resources.append((f"<{tag} src>", attr["src"]))
            for candidate in filter(None, attr.get("srcset", "").split(",")):
                page.resources.append((f"<{tag} srcset>", candidate.split()[0]))
        if tag == "script" and "src" not in attr:
            self._inline_script = True
            self._script_text = []

    def handle_data(self, data: str) -> None:
        if self._inline_script:
            self._script_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._inline_script:
            self._inline_script = False
            for url in MODULE_IMPORT.findall("".join(self._script_text)):
                self.page.resources.append(("inline <script> import", url))


@functools.cache
def parse_page(path: Path) -> ParsedPage:
    """Parse one page of the site (cached: pages are parsed again as link targets)."""
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8"))
    parser.close()
    return parser.page


def resolve(page: str, url: str) -> tuple[str, str]:
    """The site-relative file a local URL on ``page`` names, and the URL's fragment."""
    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path:
        target = page
    elif path.startswith("/"):
        target = path.lstrip("/")
    else:
        target = posixpath.join(posixpath.dirname(page), path)
    target = posixpath.normpath(target) if target else "."
    if path.endswith("/") or target == ".":
        target = posixpath.join(target, "index.html")
    return posixpath.normpath(target), unquote(parts.fragment)


def _local_file(site_dir: Path, target: str) -> Path | None:
    if target == ".." or target.startswith("../"):
        return None  # outside the site
    path = site_dir / target
    if path.is_dir():
        path = path / "index.html"
    return path if path.is_file() else None


def broken_links(site_dir: Path, page: str) -> list[str]:
    """Every broken internal link and every non-local resource of one page, as messages."""
    parsed = parse_page(site_dir / page)
    broken = []
    for where, url in parsed.resources:
        parts = urlsplit(url)
        if parts.scheme == "data":
            continue
        if parts.scheme or parts.netloc:
            broken.append(f"{where} {url!r}: external resource (the site must work offline)")
        elif _local_file(site_dir, resolve(page, url)[0]) is None:
            broken.append(f"{where} {url!r}: no such file in the site")
    for where, url in parsed.links:
        parts = urlsplit(url)
        if parts.scheme in EXTERNAL_SCHEMES or (parts.netloc and not parts.scheme):
            continue
        if parts.scheme:
            broken.append(f"{where} {url!r}: a {parts.scheme}: link cannot work on a website")
            continue
        target, fragment = resolve(page, url)
        path = _local_file(site_dir, target)
        if path is None:
            broken.append(f"{where} {url!r}: no such file in the site ({target})")
        elif fragment and path.suffix == ".html" and fragment not in parse_page(path).ids:
            broken.append(f"{where} {url!r}: no id {fragment!r} in {target}")
    return broken


def test_internal_links_and_resources(page: str, site_dir: Path) -> None:
    """Internal links resolve (file and fragment); everything loaded is a local file."""
    broken = broken_links(site_dir, page)
    assert not broken, f"{page}: {len(broken)} broken link(s):\n" + "\n".join(broken)


@pytest.fixture(scope="module")
def book_config() -> dict:
    """The book's ``_config.yml``."""
    return yaml.safe_load((REPO / "_config.yml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def tracked_files() -> set[str]:
    """Every file git tracks in the repository."""
    listing = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO, check=True, capture_output=True, text=True
    )
    return set(filter(None, listing.stdout.split("\0")))


def _repository(config: dict) -> tuple[str, str, str]:
    """``(owner/name, branch, url)`` of the repository named in ``_config.yml``."""
    url = config["repository"]["url"].rstrip("/")
    owner_name = "/".join(urlsplit(url).path.strip("/").split("/")[:2])
    return owner_name, str(config["repository"].get("branch", "main")), url


def launch_target(href: str, config: dict) -> tuple[str, str, str, str] | None:
    """``(service, owner/name, branch, notebook path)`` of a Colab/Binder launch link."""
    launch = config.get("launch_buttons", {})
    colab = launch.get("colab_url", "https://colab.research.google.com").rstrip("/")
    binder = launch.get("binderhub_url", "https://mybinder.org").rstrip("/")
    parts = urlsplit(href)
    if href.startswith(f"{colab}/github/"):
        rest = parts.path.removeprefix(urlsplit(colab).path.rstrip("/") + "/github/")
        owner, name, blob, branch, *path = [*rest.split("/"), "", "", "", ""]
        if blob != "blob":
            return ("Colab", f"{owner}/{name}", "", f"(not a blob link: {href})")
        return ("Colab", f"{owner}/{name}", branch, posixpath.normpath("/".join(path)))
    if href.startswith(f"{binder}/v2/gh/"):
        rest = parts.path.removeprefix(urlsplit(binder).path.rstrip("/") + "/v2/gh/")
        owner, name, branch = [*rest.split("/", 2), "", ""][:3]
        query = parse_qs(parts.query)
        if "urlpath" in query:
            path = re.sub(r"^(lab/)?tree/", "", query["urlpath"][0])
        else:
            path = query.get("filepath", [""])[0]
        return ("Binder", f"{owner}/{name}", unquote(branch), posixpath.normpath(path))
    return None


def test_launch_and_repository_buttons(
    page: str, site_dir: Path, book_config: dict, tracked_files: set[str]
) -> None:
    """Launch links open a tracked notebook of this repository and branch; repo buttons too."""
    repo, branch, url = _repository(book_config)
    anchors = parse_page(site_dir / page).anchors
    wrong = []
    launches = set()
    for _, href in anchors:
        target = launch_target(href, book_config)
        if target is None:
            continue
        service, owner_name, link_branch, notebook = target
        launches.add(service)
        if (owner_name, link_branch) != (repo, branch):
            wrong.append(f"{service} link {href!r}: not {repo} at branch {branch}")
        if notebook not in tracked_files:
            wrong.append(f"{service} link {href!r}: {notebook} is not a file tracked by git")
        if CHAPTER.fullmatch(page) and notebook != page.removesuffix(".html") + ".ipynb":
            wrong.append(f"{service} link {href!r}: opens {notebook}, not this chapter")
    if CHAPTER.fullmatch(page):
        for service in {"Colab", "Binder"} - launches:
            wrong.append(f"chapter page without a {service} launch link")

    buttons = {
        "btn-source-repository-button": book_config.get("html", {}).get("use_repository_button"),
        "btn-source-issues-button": book_config.get("html", {}).get("use_issues_button"),
    }
    for button, enabled in buttons.items():
        hrefs = [href for classes, href in anchors if button in classes.split()]
        if enabled and page.startswith("book/") and not hrefs:
            wrong.append(f"no {button} although _config.yml turns it on")
        for href in hrefs:
            expected = f"{url}/issues" if "issues" in button else url
            if not (href.rstrip("/") == expected or href.startswith(expected + "/")):
                wrong.append(f"{button} {href!r}: does not point at {expected}")
    assert not wrong, f"{page}: {len(wrong)} wrong button(s):\n" + "\n".join(wrong)
