"""Plots for the book. Every function returns a matplotlib ``Figure`` and
never calls ``plt.show()``: a notebook displays the figure it gets back."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

import gymnasium as gym
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from metarl_lite import envs
from metarl_lite._checks import check_choice, check_positive_int
from metarl_lite.history import History, smooth

Band = Literal["std", "sem", "minmax"]


def mean_and_band(ys: np.ndarray, band: Band = "std") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean curve and the lower and upper edge of its spread band.

    Args:
        ys: array of shape ``(n_seeds, n_points)``.
        band: ``"std"`` (mean ± one standard deviation), ``"sem"`` (± one
            standard error) or ``"minmax"`` (from the lowest to the highest seed).

    Returns:
        ``(mean, low, high)``, each of shape ``(n_points,)``.
    """
    check_choice("band", band, ("std", "sem", "minmax"))
    ys = np.atleast_2d(np.asarray(ys, dtype=float))
    mean = ys.mean(axis=0)
    if band == "minmax":
        return mean, ys.min(axis=0), ys.max(axis=0)
    spread = ys.std(axis=0)
    if band == "sem":
        spread = spread / np.sqrt(ys.shape[0])
    return mean, mean - spread, mean + spread


def plot_learning_curves(
    curves: Mapping[str, tuple[Sequence[float] | np.ndarray, np.ndarray]],
    *,
    xlabel: str,
    ylabel: str,
    title: str | None = None,
    band: Band = "std",
    hline: float | None = None,
    hline_label: str | None = None,
    logy: bool = False,
    ax: Axes | None = None,
) -> Figure:
    """Mean learning curve over seeds with a shaded spread band, one per method.

    Args:
        curves: maps a label to ``(x, ys)``: ``x`` of shape ``(n_points,)``
            (environment steps, episodes, ...) and ``ys`` of shape
            ``(n_seeds, n_points)``.
        xlabel, ylabel: axis labels, with units.
        title: optional title; the number of seeds is added to it.
        band: what the shaded band shows, see :func:`mean_and_band`.
        hline: optional horizontal reference line (a target or an optimum).
        hline_label: its legend label.
        logy: draw the y axis on a log scale (for errors that fall by decades).
        ax: draw into this axes instead of a new figure.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 3.8))
    else:
        fig = ax.get_figure()
    n_seeds = set()
    for label, (x, ys) in curves.items():
        ys = np.atleast_2d(np.asarray(ys, dtype=float))
        n_seeds.add(ys.shape[0])
        mean, low, high = mean_and_band(ys, band)
        (line,) = ax.plot(x, mean, label=label)
        ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    if hline is not None:
        ax.axhline(hline, color="black", linestyle="--", linewidth=1, label=hline_label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    band_text = {"std": "mean ± 1 std", "sem": "mean ± 1 s.e.", "minmax": "mean, min-max"}[band]
    seeds_text = "/".join(str(n) for n in sorted(n_seeds))
    suffix = f"{band_text} over {seeds_text} seeds"
    ax.set_title(f"{title}\n({suffix})" if title else f"({suffix})", fontsize=10)
    if len(curves) > 1 or hline_label:
        ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def eval_curves(histories: Sequence[History]) -> tuple[np.ndarray, np.ndarray]:
    """Stack the greedy-evaluation curves of several runs.

    All runs must have been evaluated at the same steps.

    Returns:
        ``(x, ys)``: steps of shape ``(n_points,)`` and returns of shape
        ``(n_runs, n_points)``.
    """
    steps = histories[0].eval_steps
    for i, h in enumerate(histories):
        if h.eval_steps != steps:
            raise ValueError(
                f"histories[{i}].eval_steps differs from histories[0].eval_steps: "
                "runs must be evaluated at the same steps to be averaged"
            )
    return np.asarray(steps), np.array([h.eval_returns for h in histories], dtype=float)


def episode_curves(
    histories: Sequence[History], grid: Sequence[int] | np.ndarray, window: int = 10
) -> tuple[np.ndarray, np.ndarray]:
    """Training-episode returns of several runs, smoothed and read off a common step grid.

    Each run's returns are smoothed with a trailing ``window``-episode mean; at
    each grid step the curve takes the value of the last episode that ended at
    or before it (``nan`` before the first episode ends).

    Returns:
        ``(grid, ys)`` with ``ys`` of shape ``(n_runs, len(grid))``.
    """
    check_positive_int("window", window)
    grid = np.asarray(grid)
    ys = np.full((len(histories), grid.size), np.nan)
    for i, h in enumerate(histories):
        sm = smooth(h.episode_returns, window)
        idx = np.searchsorted(np.asarray(h.episode_steps), grid, side="right") - 1
        ok = idx >= 0
        ys[i, ok] = sm[idx[ok]]
    return grid, ys


def plot_gridworld(
    env: gym.Env,
    values: np.ndarray | None = None,
    policy: np.ndarray | None = None,
    *,
    title: str | None = None,
    value_label: str = "value",
) -> Figure:
    """Draw a gridworld: a heatmap of ``values`` and the arrows of ``policy``.

    Walls are grey, pits and the goal are labelled, and each free cell shows
    its value to one decimal.

    Args:
        env: a (possibly wrapped) :class:`metarl_lite.envs.GridWorldEnv`.
        values: one number per state, shape ``(n_states,)``, e.g. ``V``.
        policy: one action per state, shape ``(n_states,)``.
        title: optional title.
        value_label: colour-bar label.
    """
    grid = env.unwrapped
    if not isinstance(grid, envs.GridWorldEnv):
        raise ValueError(f"env={env!r} is not a GridWorldEnv")
    shape = (grid.n_rows, grid.n_cols)
    fig, ax = plt.subplots(figsize=(1.0 * grid.n_cols + 1.6, 1.0 * grid.n_rows + 0.6))
    ink = ["black"] * grid.n_states  # text colour, readable on each cell
    if values is not None:
        shown = np.ma.masked_array(np.asarray(values, dtype=float), mask=grid.model.terminal)
        image = ax.imshow(shown.reshape(shape), cmap="viridis")
        fig.colorbar(image, ax=ax, label=value_label, fraction=0.046, pad=0.04)
        ink = ["black" if image.norm(v) > 0.6 else "white" for v in np.asarray(values, float)]
    else:
        ax.imshow(np.zeros(shape), cmap="Greys", vmin=0, vmax=1)
    for s in range(grid.n_states):
        r, c = grid.to_cell(s)
        kind = grid.layout[r][c]
        if kind == "#":
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color="0.55"))
            continue
        if kind in "GX":
            label = "goal" if kind == "G" else "pit"
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color="0.92"))
            ax.text(c, r, label, ha="center", va="center", fontsize=9)
            continue
        if policy is not None:
            dr, dc = envs.MOVES[int(policy[s])]
            ax.annotate(
                "",
                xy=(c + 0.3 * dc, r + 0.3 * dr),
                xytext=(c - 0.3 * dc, r - 0.3 * dr),
                arrowprops={"arrowstyle": "->", "color": ink[s], "lw": 2},
            )
        if values is not None:
            ax.text(
                c,
                r + 0.36,
                f"{values[s]:.1f}",
                ha="center",
                va="center",
                fontsize=7,
                color=ink[s],
            )
        if kind == "S":
            ax.text(c - 0.36, r - 0.32, "S", ha="center", va="center", fontsize=8, color=ink[s])
    ax.set_xticks(range(grid.n_cols))
    ax.set_yticks(range(grid.n_rows))
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    if title:
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_sine_fits(
    x: np.ndarray,
    truth: np.ndarray,
    support: tuple[np.ndarray, np.ndarray],
    predictions: Mapping[str, Mapping[int, np.ndarray]],
) -> Figure:
    """Fitted curves against the true sine waves: one row per method, one column per task.

    Args:
        x: inputs of shape ``(N,)``, shared by every task.
        truth: the true curves, shape ``(T, N)`` for ``T`` tasks.
        support: the K shots ``(x_s, y_s)``, each of shape ``(T, K)``.
        predictions: method -> {fine-tuning steps -> curves of shape ``(T, N)``}.
    """
    n_rows, n_cols = len(predictions), truth.shape[0]
    fig, axes = plt.subplots(
        n_rows, n_cols, figsize=(2.6 * n_cols, 2.2 * n_rows), sharex=True, squeeze=False
    )
    styles = [":", "--", "-", "-."]
    for row, (method, by_step) in enumerate(predictions.items()):
        for col in range(n_cols):
            ax = axes[row, col]
            ax.plot(x, truth[col], color="black", linewidth=2.5, alpha=0.35, label="true sine")
            for i, (step, curves) in enumerate(sorted(by_step.items())):
                noun = "step" if step == 1 else "steps"
                ax.plot(x, curves[col], styles[i % len(styles)], label=f"after {step} {noun}")
            ax.scatter(
                support[0][col], support[1][col], s=14, color="black", zorder=3, label="K shots"
            )
            if col == 0:
                ax.set_ylabel(method, fontsize=9)
            if row == n_rows - 1:
                ax.set_xlabel("x")
            ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_update_vs_gradient(
    gradients: np.ndarray,
    updates: Mapping[str, np.ndarray],
    *,
    coordinate_labels: Sequence[str] | None = None,
    xlabel: str = "gradient g_t (input)",
    ylabel: str = "update u_t (output)",
    title: str | None = None,
) -> Figure:
    """What an optimiser does with each gradient: one panel per parameter coordinate.

    Each panel scatters the update ``u_t`` that each optimiser writes against the
    gradient ``g_t`` it reads, over the steps ``t`` of one run; all optimisers
    are fed the same gradient stream, so their panels can be compared point by
    point (SGD draws a straight line through the origin, Adam's updates saturate
    near its step size).

    Args:
        gradients: gradients of ``K`` coordinates over ``T`` steps, shape ``(T, K)``.
        updates: optimiser name -> its updates, each of shape ``(T, K)``.
        coordinate_labels: ``K`` panel titles (default: ``coordinate k``).
        xlabel, ylabel: axis labels.
        title: optional title above the panels.

    Raises:
        ValueError: if ``updates`` is empty or an array's shape is not ``(T, K)``.
    """
    g = np.asarray(gradients, dtype=float)
    if g.ndim != 2:
        raise ValueError(f"gradients has shape {g.shape}: allowed is (T, K), steps x coordinates")
    if not updates:
        raise ValueError("updates is empty: give at least one optimiser's updates")
    arrays = {name: np.asarray(u, dtype=float) for name, u in updates.items()}
    for name, u in arrays.items():
        if u.shape != g.shape:
            raise ValueError(f"updates[{name!r}] has shape {u.shape}: allowed is {g.shape}")
    n_coords = g.shape[1]
    labels = (
        [f"coordinate {k}" for k in range(n_coords)]
        if coordinate_labels is None
        else list(coordinate_labels)
    )
    if len(labels) != n_coords:
        raise ValueError(
            f"coordinate_labels has {len(labels)} entries: allowed is {n_coords}, one per column"
        )
    fig, axes = plt.subplots(1, n_coords, figsize=(3.0 * n_coords, 3.0), squeeze=False)
    markers = ["o", "s", "^", "D", "v"]
    for k, ax in enumerate(axes[0]):
        for i, (name, u) in enumerate(arrays.items()):
            ax.scatter(
                g[:, k], u[:, k], s=8, alpha=0.6, marker=markers[i % len(markers)], label=name
            )
        ax.axhline(0.0, color="black", linewidth=0.6)
        ax.axvline(0.0, color="black", linewidth=0.6)
        ax.set_title(labels[k], fontsize=9)
        ax.set_xlabel(xlabel, fontsize=8)
        ax.ticklabel_format(style="sci", scilimits=(-2, 2), axis="both")
        ax.grid(alpha=0.3)
    axes[0, 0].set_ylabel(ylabel, fontsize=8)
    axes[0, -1].legend(fontsize=7, markerscale=1.5)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_action_gap(
    x: np.ndarray,
    gaps: Mapping[str, np.ndarray],
    *,
    xlabel: str = "pole angle (rad)",
    ylabel: str = "Q(s, left) - Q(s, right)",
    title: str | None = None,
    ax: Axes | None = None,
) -> Figure:
    """The preference of Q-networks between two actions along one state variable.

    A positive gap means the network would push left. A curve can hold several
    networks (seeds); then their mean is drawn with a band of one standard
    deviation.

    Args:
        x: the state variable along the curve, shape ``(N,)``.
        gaps: label -> ``Q(s, a0) - Q(s, a1)`` at the ``N`` states, shape ``(N,)``
            or ``(n_networks, N)``.
        xlabel, ylabel: axis labels, with units.
        title: optional title.
        ax: draw into this axes instead of a new figure.

    Raises:
        ValueError: if a curve's last axis is not ``len(x)`` long.
    """
    x = np.asarray(x, dtype=float)
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.2, 3.4))
    else:
        fig = ax.get_figure()
    for label, gap in gaps.items():
        ys = np.atleast_2d(np.asarray(gap, dtype=float))
        if ys.shape[1] != x.shape[0]:
            raise ValueError(
                f"gaps[{label!r}] has shape {np.shape(gap)}: its last axis must have "
                f"length {x.shape[0]}, one value per x"
            )
        mean, low, high = mean_and_band(ys, "std")
        (line,) = ax.plot(x, mean, label=label if ys.shape[0] == 1 else f"{label} ({ys.shape[0]})")
        if ys.shape[0] > 1:
            ax.fill_between(x, low, high, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.axhline(0.0, color="black", linewidth=0.8)
    ax.axvline(0.0, color="black", linewidth=0.5, linestyle=":")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
