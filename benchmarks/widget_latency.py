"""How fast a sweep explorer answers, against training the same point live.

    python benchmarks/widget_latency.py [--changes 20]

For every stored sweep: the time to build the explorer (load the sweep, draw
the first figure, make the website chart), and the time from a control change
to the redrawn figure rendered as a PNG (what Jupyter's inline backend sends
to the browser), over ``--changes`` random changes; beside them, the
time *Train live* takes for one seed of the default point, which is what a
reader would wait for without the stored sweep. The target is a redraw under
1 second. Times are wall-clock on this machine: compare the ratio.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import random
import statistics
import time
from typing import Any

import matplotlib

matplotlib.use("Agg")

from IPython.core.pylabtools import print_figure

from metarl_lite import sweeps, widgets


def render_png(figure: Any) -> None:
    """Stands in for ``display`` outside a kernel: render the figure as Jupyter would."""
    print_figure(figure, "png")


TARGET_SECONDS = 1.0


def measure(name: str, changes: int, rng: random.Random) -> dict[str, float]:
    """Build time, redraw times and one live run's time for the sweep ``name``."""
    widgets.display = render_png  # the explorer draws through this name
    start = time.perf_counter()
    explorer = widgets.sweep_explorer(name, live=False)
    build = time.perf_counter() - start
    spec = sweeps.get_spec(name)
    controls = dict(zip(spec.grid, explorer.children, strict=False))
    redraws = []
    for _ in range(changes):
        axis = rng.choice(list(controls))
        options = [v for v in spec.grid[axis] if v != controls[axis].value]
        if not options:
            continue
        start = time.perf_counter()
        controls[axis].value = rng.choice(options)  # redraws synchronously
        redraws.append(time.perf_counter() - start)
    start = time.perf_counter()
    sweeps.run_point(name, spec.defaults, spec.seeds[0])
    live = time.perf_counter() - start
    return {
        "build": build,
        "median": statistics.median(redraws),
        "max": max(redraws),
        "live": live,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=20, help="control changes per sweep")
    args = parser.parse_args()
    rng = random.Random(0)
    print(
        "| sweep | grid points | build (s) | redraw median (s) | redraw max (s) "
        f"| within {TARGET_SECONDS:g} s | train live, 1 seed (s) | live / redraw |"
    )
    print("|---|---:|---:|---:|---:|:---:|---:|---:|")
    for name in sorted(sweeps.REGISTRY):
        # Outside a kernel the explorer's Output widget prints its clear-screen codes.
        with contextlib.redirect_stdout(io.StringIO()):
            r = measure(name, args.changes, rng)
        points = len(sweeps.get_spec(name).points())
        ok = "yes" if r["max"] < TARGET_SECONDS else "no"
        print(
            f"| {name} | {points} | {r['build']:.2f} | {r['median']:.3f} | {r['max']:.3f} "
            f"| {ok} | {r['live']:.2f} | {r['live'] / r['median']:.1f}x |"
        )


if __name__ == "__main__":
    main()
