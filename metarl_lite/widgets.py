"""The widget every chapter uses: controls over a precomputed sweep.

In Jupyter and Colab, moving a slider redraws the stored curves of that grid
point at once (no training); the *Train live* button re-runs the selected
point for the sweep's seeds with a progress bar and draws the fresh curves
beside the stored ones, so the reader can see that the stored data is what
the code produces.

On the website no Python runs, so the same explorer also carries a Vega-Lite
chart of the same sweep (:func:`sweep_chart`): its radio buttons filter the
stored curves in the browser. The explorer's output holds both; Jupyter draws
the widget, the website (which ranks HTML above widgets, see ``_config.yml``)
draws the chart. ``book/widgets.md`` explains the pattern.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping
from typing import Any

import altair as alt
import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from metarl_lite import sweeps as sweeps_mod
from metarl_lite.plotting import mean_and_band, plot_learning_curves

#: Legend entries of the website chart.
SELECTED, DEFAULTS = "selected setting", "defaults"
#: Significant digits of the numbers the website chart carries.
CHART_DIGITS = 4
_chart_ids = itertools.count()


def _control(label: str, values: list[Any], value: Any) -> W.ValueWidget:
    """A slider for an ordered numeric axis, toggle buttons otherwise."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numeric and len(values) > 2:
        return W.SelectionSlider(
            options=[(f"{v:g}", v) for v in values],
            value=value,
            description=label,
            continuous_update=False,
            style={"description_width": "initial"},
        )
    return W.ToggleButtons(
        options=[(str(v), v) for v in values],
        value=value,
        description=label,
        style={"description_width": "initial", "button_width": "auto"},
    )


def sweep_figure(
    sweep: sweeps_mod.Sweep, params: Mapping[str, Any], live: np.ndarray | None = None
) -> Figure:
    """The stored curves at ``params`` (and optionally freshly trained ones).

    Args:
        sweep: a loaded sweep.
        params: one grid point.
        live: curves just trained at the same point, shape ``(n_seeds, len(x))``.
    """
    label = ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items()
    )
    curves = {f"stored: {label}": (sweep.x, sweep.curves_at(params))}
    if params != sweep.defaults:
        curves["stored: defaults"] = (sweep.x, sweep.curves_at(sweep.defaults))
    if live is not None:
        curves["trained live"] = (sweep.x, live)
    return plot_learning_curves(
        curves,
        xlabel=sweep.xlabel,
        ylabel=sweep.ylabel,
        title=sweep.title,
        hline=sweep.reference,
        hline_label=None if sweep.reference is None else f"target {sweep.reference:g}",
    )


def _rounded(values: np.ndarray, digits: int = CHART_DIGITS) -> list[float]:
    return [float(f"{v:.{digits}g}") for v in values]


def sweep_chart(
    sweep: sweeps_mod.Sweep, labels: Mapping[str, str] | None = None
) -> alt.LayerChart:
    """The sweep as a Vega-Lite chart whose radio buttons pick the grid point.

    Every grid point's mean curve and its band (± one standard deviation over
    the seeds, as in :func:`~metarl_lite.plotting.plot_learning_curves`) travel
    with the chart, so the browser redraws without a kernel. The defaults'
    curve stays on the chart for comparison, as in the Jupyter widget.

    Inside the chart, axis ``i`` is the field ``a{i}`` of the data and the
    parameter ``p{i}`` of its radio buttons: an axis's own name could clash
    with Vega's built-in signals (``width``) or its expression syntax (``n-step``).

    Args:
        sweep: a loaded sweep.
        labels: optional name of each axis beside its buttons (default: the axis).

    Returns:
        The chart; ``chart.to_dict()`` is its Vega-Lite specification.
    """
    labels = labels or {}
    rows = []
    for point in sweep.points():
        mean, low, high = mean_and_band(sweep.curves_at(point))
        rows.append(
            {
                **{f"a{i}": value for i, value in enumerate(point.values())},
                "is_default": point == sweep.defaults,
                "x": list(sweep.x),
                "mean": _rounded(mean),
                "low": _rounded(low),
                "high": _rounded(high),
            }
        )
    controls = [
        alt.param(
            name=f"p{i}",
            value=sweep.defaults[axis],
            bind=alt.binding_radio(options=list(values), name=f"{labels.get(axis, axis)} "),
        )
        for i, (axis, values) in enumerate(sweep.grid.items())
    ]
    selected = " && ".join(f"datum.a{i} === p{i}" for i in range(len(sweep.grid)))
    curves = (
        alt.Chart(alt.Data(values=rows))
        .transform_filter(f"datum.is_default || ({selected})")
        .transform_calculate(series=f"({selected}) ? {SELECTED!r} : {DEFAULTS!r}")
        .transform_flatten(["x", "mean", "low", "high"])
    )
    color = alt.Color(
        "series:N",
        scale=alt.Scale(domain=[SELECTED, DEFAULTS], range=["#1f77b4", "#7f7f7f"]),
        legend=alt.Legend(
            title=None, orient="bottom", symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=2
        ),
    )
    x = alt.X("x:Q", title=sweep.xlabel)
    layers: list[alt.Chart] = [
        curves.mark_area(opacity=0.2).encode(
            x=x,
            y=alt.Y("low:Q", title=sweep.ylabel),
            y2="high:Q",
            color=color,
        ),
        curves.mark_line().encode(
            x=x,
            y="mean:Q",
            color=color,
            tooltip=[
                alt.Tooltip("series:N"),
                alt.Tooltip("x:Q", title=sweep.xlabel),
                alt.Tooltip("mean:Q", title="mean over seeds"),
            ],
        ),
    ]
    if sweep.reference is not None:
        target = alt.Chart(alt.Data(values=[{"y": sweep.reference}]))
        layers += [
            target.mark_rule(strokeDash=[4, 4], color="black").encode(y="y:Q"),
            target.mark_text(align="left", dx=4, dy=-6, color="black").encode(
                x=alt.value(0), y="y:Q", text=alt.value(f"target {sweep.reference:g}")
            ),
        ]
    return (
        alt.layer(*layers)
        .add_params(*controls)
        .properties(
            title=f"{sweep.title} ({len(sweep.seeds)} seeds, mean ± 1 std)",
            width=560,
            height=300,
        )
    )


def chart_html(chart: alt.TopLevelMixin, element_id: str) -> str:
    """HTML that draws ``chart`` with the site's own vega-embed, with no network.

    The page must load Vega, Vega-Lite and vega-embed first; the book's Sphinx
    extension ``web/offline_assets.py`` does so on every page that holds an
    element of class ``metarl-chart``. Elsewhere (Jupyter without those
    scripts) the element says where the chart draws instead.

    Args:
        chart: any Altair chart.
        element_id: the id of the chart's element, unique on its page: a letter,
            then letters, digits, ``_`` or ``-``.
    """
    if not re.fullmatch(r"[A-Za-z][\w-]*", element_id):
        raise ValueError(
            f"element_id={element_id!r} is not allowed: use a letter, then letters, "
            "digits, '_' or '-'"
        )
    spec = json.dumps(chart.to_dict(), sort_keys=True, separators=(",", ":"))
    spec = spec.replace("</", "<\\/")  # the spec sits inside a <script> element
    return f"""<style>.metarl-chart .vega-bind-radio label {{ margin-right: 0.9em; }}
.metarl-chart .vega-bind-name {{ display: inline-block; min-width: 15em; }}</style>
<div class="metarl-chart" id="{element_id}"></div>
<script type="application/json" id="{element_id}-spec">{spec}</script>
<script>
(function () {{
  var element = document.getElementById("{element_id}");
  if (typeof vegaEmbed === "undefined") {{
    element.textContent = "(This chart draws on the book's website; here the widget shows it.)";
    return;
  }}
  var spec = JSON.parse(document.getElementById("{element_id}-spec").textContent);
  vegaEmbed(element, spec, {{actions: false, renderer: "svg"}});
}})();
</script>"""


class SweepExplorer(W.VBox):
    """The explorer's widget, whose output also carries the sweep's website chart.

    Displayed in Jupyter it is a plain ``VBox`` of controls and a figure; its
    MIME bundle adds ``text/html`` with :func:`sweep_chart`, which the website
    draws in place of a widget that would need a kernel.
    """

    def __init__(self, children: list[W.Widget], chart: str) -> None:
        super().__init__(children)
        self.chart_html = chart

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        bundle = super()._repr_mimebundle_(**kwargs)
        bundle["text/html"] = self.chart_html
        return bundle


def sweep_explorer(name: str, *, live: bool = True) -> SweepExplorer:
    """Controls over the stored sweep ``name`` and an optional *Train live* button.

    Args:
        name: a registered sweep with a stored file (see :mod:`metarl_lite.sweeps`).
        live: add the *Train live* button.

    Returns:
        The widget; a notebook cell that ends with it displays it (and, on the
        website, its chart).
    """
    sweep = sweeps_mod.load(name)
    spec = sweeps_mod.get_spec(name)
    controls = {
        axis: _control(spec.label(axis), values, sweep.defaults[axis])
        for axis, values in sweep.grid.items()
    }
    out = W.Output()

    def current() -> dict[str, Any]:
        return {axis: c.value for axis, c in controls.items()}

    def draw(live_curves: np.ndarray | None = None) -> None:
        fig = sweep_figure(sweep, current(), live_curves)
        with out:
            out.clear_output(wait=True)
            display(fig)
        plt.close(fig)

    for c in controls.values():
        c.observe(lambda _change: draw(), names="value")

    children: list[W.Widget] = [*controls.values()]
    if live:
        button = W.Button(description=f"Train live ({len(sweep.seeds)} seeds)", icon="play")
        status = W.Output()

        def on_click(_button: W.Button) -> None:
            button.disabled = True
            params = current()
            ys = []
            with status:
                status.clear_output()
                for seed in tqdm(sweep.seeds, desc="seeds"):
                    _x, y = sweeps_mod.run_point(name, params, seed)
                    ys.append(y)
                same = np.array_equal(np.asarray(ys), sweep.curves_at(params))
                print(
                    "identical to the stored curves" if same else "differs from the stored curves"
                )
            draw(np.asarray(ys))
            button.disabled = False

        button.on_click(on_click)
        children += [button, status]
    draw()
    chart = chart_html(sweep_chart(sweep, spec.labels), f"metarl-chart-{name}-{next(_chart_ids)}")
    return SweepExplorer([*children, out], chart)
