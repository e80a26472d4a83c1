"""Sphinx extension: the website serves every script it loads itself.

Readers behind a firewall or offline must still see typeset maths, diagrams,
widgets and working charts, so nothing may come from a CDN. The scripts come
from the npm packages pinned in ``web/package.json`` (installed into
``web/node_modules`` by ``npm ci``, which ``make book`` runs); this extension
copies the parts the pages load into ``_build/html/_static/npm/<package>/``,
a folder of their own (Jupyter Book 1 would add every ``.js`` found in the
book's own ``_static/`` to every page, so nothing is vendored there).

Where each script is loaded:

- MathJax, mermaid, require.js and the ipywidgets HTML manager: by the
  extensions that need them, configured in ``_config.yml`` with the
  ``npm/...`` paths below (``mathjax_path``, ``mermaid_use_local``,
  ``nb_ipywidgets_js``). After the build this extension checks that each
  configured path exists in the built site.
- The widget manager's icon fonts: found through a require.js ``paths``
  configuration that this extension writes on every page.
- Vega, Vega-Lite and vega-embed: by this extension, only on pages that hold
  a chart (a ``metarl-chart`` element written by
  :func:`metarl_lite.widgets.chart_html`), and before require.js: their UMD
  bundles would otherwise register as anonymous AMD modules instead of the
  globals the chart's script calls.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

WEB_DIR = Path(__file__).resolve().parent
NODE_MODULES = WEB_DIR / "node_modules"
#: Served at ``_static/npm/<package>/<path>``.
STATIC_SUBDIR = "npm"

#: npm package -> the files or folders of it the pages load (relative to the package).
ASSETS: dict[str, tuple[str, ...]] = {
    "mathjax": ("es5",),
    "mermaid": ("dist/mermaid.esm.min.mjs", "dist/chunks/mermaid.esm.min"),
    "requirejs": ("require.js",),
    "@jupyter-widgets/html-manager": ("dist",),
    "vega": ("build/vega.min.js",),
    "vega-lite": ("build/vega-lite.min.js",),
    "vega-embed": ("build/vega-embed.min.js",),
}
#: Scripts a chart needs, in load order.
CHART_SCRIPTS = (
    "npm/vega/build/vega.min.js",
    "npm/vega-lite/build/vega-lite.min.js",
    "npm/vega-embed/build/vega-embed.min.js",
)
#: The HTML manager's folder, where its icon fonts lie.
WIDGET_ASSETS = "npm/@jupyter-widgets/html-manager/dist/"
#: The require.js configuration comes before require.js itself (priority 500).
REQUIRE_CONFIG_PRIORITY = 450
#: Before the default priority (500) at which myst-nb adds require.js.
CHART_SCRIPT_PRIORITY = 400
#: What a page's HTML contains when it holds a chart.
CHART_MARKER = 'class="metarl-chart"'
#: Not needed by a browser: source maps and TypeScript declarations.
SKIP = shutil.ignore_patterns("*.map", "*.d.ts", "*.d.ts.map", "*.md")


def _pinned_versions() -> dict[str, str]:
    return json.loads((WEB_DIR / "package.json").read_text())["dependencies"]


def check_installed(_app: Sphinx) -> None:
    """Fail early, naming the fix, when a pinned package is missing or has another version."""
    pins = _pinned_versions()
    for package, pinned in pins.items():
        manifest = NODE_MODULES / package / "package.json"
        if not manifest.is_file():
            raise ExtensionError(
                f"{manifest.parent} is missing: run `make book` (it runs `npm ci --prefix web`)"
            )
        version = json.loads(manifest.read_text())["version"]
        if version != pinned:
            raise ExtensionError(
                f"{package} {version} is installed but web/package.json pins {pinned}: "
                "run `npm ci --prefix web`"
            )
    missing = sorted(set(ASSETS) - set(pins))
    if missing:
        raise ExtensionError(f"ASSETS names packages web/package.json does not pin: {missing}")


def add_page_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Point the widget manager at its fonts; load the chart scripts where there is a chart."""
    # The HTML manager's AMD modules find their icon fonts next to their own URL,
    # which require.js derives from the module's name: map the names onto the
    # vendored folder (a global ``require`` read by require.js when it loads).
    dist = context["pathto"](f"_static/{WIDGET_ASSETS}", resource=True).rstrip("/")
    paths = {"@jupyter-widgets": dist, "@jupyter-widgets/html-manager/dist": dist}
    app.add_js_file(
        None,
        body=f"window.require = window.require || {{paths: {json.dumps(paths)}}};",
        priority=REQUIRE_CONFIG_PRIORITY,
    )
    if CHART_MARKER in context.get("body", ""):
        for script in CHART_SCRIPTS:
            app.add_js_file(script, priority=CHART_SCRIPT_PRIORITY)


def drop_duplicate_scripts(
    app: Sphinx, pagename: str, templatename: str, context: dict[str, Any], doctree: Any
) -> None:
    """Keep the first of two identical inline scripts.

    sphinx-thebe's inline configuration (``const THEBE_JS_URL = ...``) reaches
    every page twice under Jupyter Book 1, and the second ``const`` throws
    "Identifier has already been declared" in the browser.
    """
    scripts = context["script_files"]
    seen: set[str] = set()
    unique = []
    for script in scripts:
        body = getattr(script, "attributes", {}).get("body")
        if body is None or body not in seen:
            unique.append(script)
        if body is not None:
            seen.add(body)
    scripts[:] = unique


def _configured_paths(app: Sphinx) -> list[str]:
    """The ``_static``-relative script paths the configuration points at."""
    paths = [app.config.mathjax_path, app.config.mermaid_use_local]
    paths += list(app.config.nb_ipywidgets_js)
    return [*paths, *CHART_SCRIPTS]


def copy_assets(app: Sphinx, exception: Exception | None) -> None:
    """Copy the vendored files into the built site and check every configured path."""
    if exception is not None or app.builder.format != "html":
        return
    static = Path(app.outdir) / "_static"
    for package, parts in ASSETS.items():
        for part in parts:
            source = NODE_MODULES / package / part
            target = static / STATIC_SUBDIR / package / part
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, ignore=SKIP, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)
    for path in _configured_paths(app):
        if "://" in path or not (static / path).is_file():
            raise ExtensionError(
                f"{path!r} is configured as a script but is not a vendored file under "
                f"_static/{STATIC_SUBDIR}/: every script must be served by the site itself"
            )
    logger.info("offline_assets: copied %d npm packages into _static/npm", len(ASSETS))


def setup(app: Sphinx) -> dict[str, Any]:
    app.connect("builder-inited", check_installed)
    app.connect("html-page-context", add_page_scripts)
    app.connect("html-page-context", drop_duplicate_scripts, priority=900)
    app.connect("build-finished", copy_assets)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
