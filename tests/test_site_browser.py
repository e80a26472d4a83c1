"""Every page of the built website in a real browser (Chromium), with the network off.

One Chromium serves the whole session; each page opens in its own tab whose requests are all
routed: requests to the local server go through, anything else is aborted and recorded, so a
page that needs the internet fails here. On each page the test checks that nothing went
wrong in the browser (console errors, uncaught exceptions, failed requests, HTTP errors), that
every equation is typeset by MathJax, that every mermaid diagram is drawn, and that every
interactive Vega-Lite chart redraws as it should for every one of its radio buttons. A full-page
screenshot of each page goes to ``_build/screenshots/``.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    sync_playwright,
)
from playwright.sync_api import TimeoutError as PlaywrightTimeout

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "_build" / "screenshots"
#: Debian's chromium, which `make test` installs (Playwright cannot download its own here).
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A second lock on the network, behind the routing: no host but the local one resolves.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
]
MATHJAX_LOAD_MS = 10_000  # after the load event: MathJax is a deferred script
TYPESET_MS = 30_000
DRAW_TIMEOUT_MS = 15_000
REDRAW_TIMEOUT_MS = 5_000
META_REFRESH = re.compile(
    r"""<meta\s+http-equiv=["']?refresh["']?\s+content=["']?\s*\d+\s*;\s*url=([^"'>]+)""",
    re.IGNORECASE,
)

# Text nodes outside pre/code/script (and other non-prose elements) that still hold raw TeX.
RAW_TEX_JS = """() => {
  const skip = 'pre, code, script, style, textarea, noscript, template';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const hits = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement || node.parentElement.closest(skip)) continue;
    const text = node.textContent;
    for (const delimiter of ['$$', '\\\\(', '\\\\[']) {
      const at = text.indexOf(delimiter);
      if (at >= 0) {
        const around = text.slice(Math.max(0, at - 30), at + 50).replace(/\\s+/g, ' ').trim();
        hits.push(`${delimiter} in "${around}"`);
      }
    }
  }
  return hits;
}"""
MATHJAX_FLAG_JS = """() => {
  window.MathJax.startup.promise.then(() => { window.__metarlMathDone = true; });
}"""
UNTYPESET_MATH_JS = """() => [...document.querySelectorAll('.math')]
  .filter((el) => !el.querySelector('mjx-container'))
  .map((el) => el.textContent.replace(/\\s+/g, ' ').trim().slice(0, 80))"""
MERMAID_DRAWN_JS = """() => [...document.querySelectorAll('.mermaid')]
  .every((el) => el.querySelector('svg'))"""
MERMAID_PROBLEMS_JS = """() => [...document.querySelectorAll('.mermaid')].flatMap((el, i) => {
  const svg = el.querySelector('svg');
  if (!svg) return [`mermaid diagram ${i + 1} was not drawn as svg`];
  if (svg.getAttribute('aria-roledescription') === 'error')
    return [`mermaid diagram ${i + 1} is mermaid's error picture`];
  return [];
})"""
CHARTS_DRAWN_JS = """() => [...document.querySelectorAll('div.metarl-chart')]
  .every((el) => el.querySelector('svg .mark-line path'))"""
LINE_PATHS_JS = """(chart) => JSON.stringify(
  [...chart.querySelectorAll('svg .mark-line path')].map((p) => p.getAttribute('d')))"""
TWO_NEW_LINES_JS = f"""([chart, first]) => {{
  const now = ({LINE_PATHS_JS})(chart);
  const paths = JSON.parse(now);
  return now !== first && paths.length === 2 && paths.every((d) => d && d.length > 1);
}}"""
SAME_LINES_JS = f"""([chart, first]) => ({LINE_PATHS_JS})(chart) === first"""


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the whole session."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium there")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class PageWatch:
    """A browser tab on one page of the site, recording everything that went wrong in it."""

    def __init__(self, tab: Page, site_url: str) -> None:
        self.tab = tab
        self.site_url = site_url
        self.external: list[str] = []
        self.problems: list[str] = []
        tab.route("**/*", self._route)
        tab.on("console", self._console)
        tab.on("pageerror", lambda error: self.problems.append(f"uncaught exception: {error}"))
        tab.on("requestfailed", self._request_failed)
        tab.on("response", self._response)

    def _local(self, url: str) -> bool:
        return url.startswith(self.site_url)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if self._local(url):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            where = message.location.get("url", "")
            self.problems.append(f"console error: {message.text} (from {where or '?'})")

    def _request_failed(self, request: Request) -> None:
        if self._local(request.url):
            self.problems.append(f"request failed: {request.url} ({request.failure})")

    def _response(self, response: Response) -> None:
        if self._local(response.url) and response.status >= 400:
            self.problems.append(f"HTTP {response.status} for {response.url}")

    def wait(self, what: str, js: str, timeout_ms: int, arg: object = None) -> bool:
        """Wait until ``js`` is truthy in the page; record a problem and say False if never."""
        try:
            self.tab.wait_for_function(js, arg=arg, timeout=timeout_ms)
        except PlaywrightTimeout:
            self.problems.append(f"timed out after {timeout_ms / 1000:g} s waiting for {what}")
            return False
        return True


def _open(watch: PageWatch, site_dir: Path, page: str) -> None:
    """Load the page; a redirect page (meta refresh) must land on its target."""
    url = watch.site_url + page
    watch.tab.goto(url, wait_until="load")
    refresh = META_REFRESH.search((site_dir / page).read_text(encoding="utf-8"))
    if refresh:
        target = urljoin(url, refresh.group(1).strip())
        watch.tab.wait_for_url(target, wait_until="load", timeout=DRAW_TIMEOUT_MS)


def _check_math(watch: PageWatch) -> None:
    """Every ``.math`` element typeset by MathJax; no raw TeX delimiters left in the prose."""
    tab = watch.tab
    if tab.locator(".math").count():
        loaded = watch.wait(
            "MathJax to load (window.MathJax.startup.promise)",
            "() => window.MathJax && window.MathJax.startup && window.MathJax.startup.promise",
            MATHJAX_LOAD_MS,
        )
        if loaded:
            tab.evaluate(MATHJAX_FLAG_JS)
            watch.wait("MathJax to typeset the page", "() => window.__metarlMathDone", TYPESET_MS)
        untypeset = tab.evaluate(UNTYPESET_MATH_JS)
        if untypeset:
            watch.problems.append(
                f"{len(untypeset)} of {tab.locator('.math').count()} equations not typeset "
                f"(no mjx-container), e.g. {untypeset[:3]}"
            )
        errors = tab.locator(".math mjx-merror").all_text_contents()
        if errors:
            watch.problems.append(f"{len(errors)} equations with TeX errors, e.g. {errors[:3]}")
    raw = tab.evaluate(RAW_TEX_JS)
    if raw:
        watch.problems.append(f"{len(raw)} raw TeX delimiters in the page's text, e.g. {raw[:3]}")


def _check_mermaid(watch: PageWatch) -> None:
    """Every mermaid block drawn as an svg, and not as mermaid's syntax-error picture."""
    if watch.tab.locator(".mermaid").count():
        watch.wait("every mermaid diagram to be drawn", MERMAID_DRAWN_JS, DRAW_TIMEOUT_MS)
        watch.problems.extend(watch.tab.evaluate(MERMAID_PROBLEMS_JS))


def _wait_for_charts(watch: PageWatch) -> None:
    if watch.tab.locator("div.metarl-chart").count():
        watch.wait("every chart to draw its lines", CHARTS_DRAWN_JS, DRAW_TIMEOUT_MS)


def _check_charts(watch: PageWatch) -> None:
    """Every chart's radio buttons, one at a time, redraw it as they should.

    The book's charts bind one group of radio buttons to each axis of their
    sweep, the defaults checked. Checking another button must draw two lines
    (the selected setting and the defaults, so the filter matched a stored
    curve) that differ from the first drawing; checking the default again must
    bring the first drawing back.
    """
    charts = watch.tab.locator("div.metarl-chart")
    for index in range(charts.count()):
        chart = charts.nth(index)
        label = f"chart {index + 1} ({chart.get_attribute('id') or 'no id'})"
        first = chart.evaluate(LINE_PATHS_JS)
        if first == "[]":
            watch.problems.append(f"{label}: no line drawn (svg .mark-line path)")
            continue
        binds = chart.locator(".vega-bindings .vega-bind")
        if not binds.count():
            watch.problems.append(f"{label}: no bound control under .vega-bindings")
        for bind_index in range(binds.count()):
            bind = binds.nth(bind_index)
            name = bind.locator(".vega-bind-name").first.inner_text()
            radios = bind.locator("input[type=radio]")
            if radios.count() < 2 or bind.locator("input:not([type=radio]), select").count():
                watch.problems.append(f"{label}, {name!r}: expected a group of radio buttons")
                continue
            checked = radios.evaluate_all("(els) => els.map((el) => el.checked)")
            default = checked.index(True)
            for other in (i for i in range(radios.count()) if i != default):
                value = radios.nth(other).get_attribute("value")
                radios.nth(other).check()
                watch.wait(
                    f"{label} to draw the selected and the default curve after {name!r} = "
                    f"{value!r}",
                    TWO_NEW_LINES_JS,
                    REDRAW_TIMEOUT_MS,
                    arg=[chart.element_handle(), first],
                )
                radios.nth(default).check()
                watch.wait(
                    f"{label} to return to its first drawing after {name!r} is reset",
                    SAME_LINES_JS,
                    REDRAW_TIMEOUT_MS,
                    arg=[chart.element_handle(), first],
                )


def _screenshot(tab: Page, page: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    name = page.removesuffix(".html").replace("/", "__")
    tab.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_page_works_offline_in_a_browser(
    page: str, browser: Browser, site_dir: Path, site_url: str
) -> None:
    """The page loads with no network, no errors, typeset math and live charts and diagrams."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, service_workers="block")
    try:
        watch = PageWatch(context.new_page(), site_url)
        _open(watch, site_dir, page)
        _check_math(watch)
        _check_mermaid(watch)
        _wait_for_charts(watch)
        _screenshot(watch.tab, page)
        _check_charts(watch)
    finally:
        context.close()
    report = [f"tried to load an external URL (blocked): {url}" for url in watch.external]
    report += watch.problems
    assert not report, f"{page}: {len(report)} problem(s):\n" + "\n".join(report)
