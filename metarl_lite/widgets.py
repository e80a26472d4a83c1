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

The same controls also work over curves that a benchmark has stored (its
seeds, nothing recomputed): :func:`benchmark_sweep` turns them into a
:class:`~metarl_lite.sweeps.Sweep` in memory, which :func:`sweep_explorer`
(with ``live=False``) and :func:`sweep_chart` take in place of a name.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from metarl_lite import sweeps as sweeps_mod
from metarl_lite._checks import check_choice
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


def benchmark_sweep(
    name: str,
    curves: Mapping[tuple[Any, ...], np.ndarray | Sequence[Sequence[float]]],
    x: Sequence[float],
    *,
    axes: Sequence[str],
    title: str,
    xlabel: str,
    ylabel: str,
    defaults: Mapping[str, Any] | None = None,
    seeds: Sequence[int] | None = None,
    reference: float | None = None,
) -> sweeps_mod.Sweep:
    """A :class:`~metarl_lite.sweeps.Sweep` over curves that were computed elsewhere.

    A benchmark stores its learning curves, seed by seed; this puts them on a
    grid so that the book's controls and website chart can show them. Nothing
    is recomputed, so the explorer of such a sweep has no *Train live* button.

    Args:
        name: the sweep's name (letters, digits, ``_`` or ``-``): it names the
            website chart's element.
        curves: grid point -> curves of shape ``(n_seeds, len(x))``; a point is
            a tuple with one value per axis, in the order of ``axes``, and every
            combination of the values that occur must be given. An axis's values
            are ordered as they first occur in ``curves``.
        x: the common x axis of all curves.
        axes: the names of the grid's axes, in control order.
        title, xlabel, ylabel: as in :class:`~metarl_lite.sweeps.SweepSpec`.
        defaults: the point shown first (default: the first key of ``curves``).
        seeds: the seed of each curve's row (default: ``0 .. n_seeds - 1``).
        reference: optional target line.

    Raises:
        ValueError: if a point is missing, has the wrong number of values or
            curves of the wrong shape, a value is not finite, there are fewer
            than 3 seeds, or ``name``, ``defaults`` or ``seeds`` do not fit.
    """
    if not re.fullmatch(r"[\w-]+", name):
        raise ValueError(f"name={name!r} is not allowed: use letters, digits, '_' or '-'")
    axes = list(axes)
    if not axes or len(set(axes)) != len(axes):
        raise ValueError(f"axes={axes!r} is not allowed: give one or more distinct names")
    if not curves:
        raise ValueError("curves is empty: give the curves of at least one grid point")
    grid: dict[str, list[Any]] = {axis: [] for axis in axes}
    for key in curves:
        if not isinstance(key, tuple) or len(key) != len(axes):
            raise ValueError(
                f"curves key {key!r} is not allowed: use a tuple of one value for each of {axes}"
            )
        for axis, value in zip(axes, key, strict=True):
            if value not in grid[axis]:
                grid[axis].append(value)
    x = [float(v) for v in x]
    arrays = {key: np.asarray(value, dtype=float) for key, value in curves.items()}
    n_seeds = len(next(iter(arrays.values())))
    seeds = list(range(n_seeds)) if seeds is None else [int(s) for s in seeds]
    if len(seeds) != n_seeds or n_seeds < 3:
        raise ValueError(
            f"seeds={seeds!r} is not allowed for curves with {n_seeds} rows: give one seed "
            "per row, and at least 3"
        )
    stored: dict[str, list[list[float]]] = {}
    for point in sweeps_mod.grid_points(grid):
        key = tuple(point.values())
        if key not in arrays:
            raise ValueError(f"curves has no entry for the grid point {key!r}")
        array = arrays[key]
        if array.shape != (n_seeds, len(x)):
            raise ValueError(
                f"curves[{key!r}] has shape {array.shape}: allowed is ({n_seeds}, {len(x)}), "
                "(seeds, len(x))"
            )
        if not np.isfinite(array).all():
            raise ValueError(f"curves[{key!r}] holds a value that is not finite")
        stored[sweeps_mod.point_key(point, grid)] = array.tolist()
    first = next(iter(curves))
    defaults = dict(zip(axes, first, strict=True)) if defaults is None else dict(defaults)
    if set(defaults) != set(axes):
        raise ValueError(f"defaults={defaults!r} must give one value for each axis {axes}")
    for axis, value in defaults.items():
        check_choice(f"defaults[{axis!r}]", value, grid[axis])
    return sweeps_mod.Sweep(
        name=name,
        title=title,
        grid=grid,
        defaults=defaults,
        seeds=seeds,
        xlabel=xlabel,
        ylabel=ylabel,
        reference=None if reference is None else float(reference),
        x=x,
        curves=stored,
    )


def stored_sweep(name: str) -> tuple[sweeps_mod.Sweep, dict[str, str]]:
    """The sweep called ``name`` and the labels of its axes.

    A name is a stored sweep of :data:`metarl_lite.sweeps.REGISTRY` (read from
    its file) or a view of :data:`metarl_lite.sweeps.VIEWS` (built from a
    benchmark's stored curves).
    """
    if name in sweeps_mod.VIEWS:
        build, labels = sweeps_mod.VIEWS[name]
        return build(), dict(labels)
    spec = sweeps_mod.get_spec(name)
    return sweeps_mod.load(name), dict(spec.labels)


def sweep_chart(
    sweep: sweeps_mod.Sweep | str, labels: Mapping[str, str] | None = None
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
        sweep: a sweep, or the name of a stored sweep or view (see :func:`stored_sweep`).
        labels: optional name of each axis beside its buttons (default: the
            axis; for a name, the labels it was registered with).

    Returns:
        The chart; ``chart.to_dict()`` is its Vega-Lite specification.
    """
    if isinstance(sweep, str):
        sweep, own_labels = stored_sweep(sweep)
        labels = own_labels if labels is None else labels
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


def sweep_explorer(
    sweep: str | sweeps_mod.Sweep,
    *,
    live: bool = True,
    labels: Mapping[str, str] | None = None,
) -> SweepExplorer:
    """Controls over a stored sweep and an optional *Train live* button.

    Args:
        sweep: the name of a registered sweep with a stored file (see
            :mod:`metarl_lite.sweeps`) or of a view over a benchmark
            (:data:`metarl_lite.sweeps.VIEWS`), or a sweep itself (for example
            from :func:`benchmark_sweep`).
        live: add the *Train live* button; it re-runs the point through the
            registered sweep of the same name, so curves without one (a
            benchmark's) need ``live=False``.
        labels: optional name of each axis beside its control (default: the
            labels the name was registered with; for a sweep object whose name
            is not registered, the axes' names).

    Returns:
        The widget; a notebook cell that ends with it displays it (and, on the
        website, its chart).

    Raises:
        ValueError: if ``live`` is asked for a sweep with no registered run.
    """
    if isinstance(sweep, str):
        sweep, own_labels = stored_sweep(sweep)
    elif sweep.name in sweeps_mod.REGISTRY:
        own_labels = sweeps_mod.get_spec(sweep.name).labels
    else:
        own_labels = {}
    labels = dict(own_labels if labels is None else labels)
    name = sweep.name
    if live and name not in sweeps_mod.REGISTRY:
        raise ValueError(
            f"live=True is not allowed for {name!r}: no registered sweep can re-run its "
            "curves (they come from elsewhere); pass live=False"
        )
    controls = {
        axis: _control(labels.get(axis, axis), values, sweep.defaults[axis])
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
    chart = chart_html(sweep_chart(sweep, labels), f"metarl-chart-{name}-{next(_chart_ids)}")
    return SweepExplorer([*children, out], chart)
