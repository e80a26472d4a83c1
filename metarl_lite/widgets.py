"""The widget every chapter uses: sliders over a precomputed sweep.

Moving a slider redraws the stored curves of that grid point at once (no
training); the *Train live* button re-runs the selected point for the sweep's
seeds with a progress bar and draws the fresh curves beside the stored ones,
so the reader can see that the stored data is what the code produces.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import ipywidgets as W
import matplotlib.pyplot as plt
import numpy as np
from IPython.display import display
from matplotlib.figure import Figure
from tqdm.auto import tqdm

from metarl_lite import sweeps as sweeps_mod
from metarl_lite.plotting import plot_learning_curves


def _control(axis: str, values: list[Any], value: Any) -> W.ValueWidget:
    """A slider for an ordered numeric axis, toggle buttons otherwise."""
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if numeric and len(values) > 2:
        return W.SelectionSlider(
            options=[(f"{v:g}", v) for v in values],
            value=value,
            description=axis,
            continuous_update=False,
            style={"description_width": "initial"},
        )
    return W.ToggleButtons(
        options=[(str(v), v) for v in values],
        value=value,
        description=axis,
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


def sweep_explorer(name: str, *, live: bool = True) -> W.VBox:
    """Sliders over the stored sweep ``name`` and an optional *Train live* button.

    Args:
        name: a registered sweep with a stored file (see :mod:`metarl_lite.sweeps`).
        live: add the *Train live* button.

    Returns:
        The widget; a notebook cell that ends with it displays it.
    """
    sweep = sweeps_mod.load(name)
    controls = {
        axis: _control(axis, values, sweep.defaults[axis]) for axis, values in sweep.grid.items()
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
    return W.VBox([*children, out])
