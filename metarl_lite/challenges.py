"""Chapter 7: the open problems of meta-RL, each measured by a small experiment.

The file follows the chapter:

1. variance across seeds: statistics of a handful of scores, one per seed
   (bootstrap confidence intervals, the interquartile mean of Agarwal et al.,
   2021, and what every subset of ``k`` seeds would have reported);
2. out-of-distribution tasks: navigation goals outside the training square and
   the evaluation of stored policies on them;
3. compute cost: a table of what every stored benchmark of the book spent;
4. stability: a meta-training run that records its loss until it diverges.

Shapes: ``n`` seeds (scores ``(n,)``), ``B`` tasks.
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from metarl_lite._checks import (
    check_choice,
    check_in_range,
    check_non_negative_int,
    check_positive,
    check_positive_int,
)
from metarl_lite.history import TrainingDivergedError

# ---------------------------------------------------------------------------
# 1. Variance across seeds
# ---------------------------------------------------------------------------


def _scores(name: str, values: Sequence[float] | np.ndarray, minimum: int = 1) -> np.ndarray:
    """``values`` as a float array of shape ``(n,)``, finite, with ``n >= minimum``."""
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size < minimum or not np.isfinite(array).all():
        raise ValueError(
            f"{name}={values!r} is not allowed: it must be a 1-D sequence of at least "
            f"{minimum} finite numbers"
        )
    return array


def interquartile_mean(values: Sequence[float] | np.ndarray) -> float:
    """Mean of the middle half of ``values`` (shape ``(n,)``).

    The ``floor(n / 4)`` smallest and the as many largest values are dropped and
    the rest averaged (a 25% trimmed mean), as Agarwal et al. (2021) recommend
    for few runs: less noisy than the mean, less wasteful than the median.
    """
    x = np.sort(_scores("values", values))
    cut = x.size // 4
    return float(x[cut : x.size - cut].mean())


STATISTICS: dict[str, Callable[[np.ndarray], float]] = {
    "mean": lambda x: float(np.mean(x)),
    "median": lambda x: float(np.median(x)),
    "iqm": interquartile_mean,
}


def bootstrap_ci(
    values: Sequence[float] | np.ndarray,
    statistic: str = "mean",
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of a statistic of ``values``.

    Draw ``n_resamples`` samples of ``n`` values with replacement, compute the
    statistic of each, and return the ``(1 - confidence) / 2`` and
    ``(1 + confidence) / 2`` quantiles of those.

    Args:
        values: one score per seed, shape ``(n,)``, ``n >= 2``.
        statistic: ``"mean"``, ``"median"`` or ``"iqm"`` (:func:`interquartile_mean`).
        confidence: coverage of the interval, in (0, 1).
        n_resamples: bootstrap samples.
        seed: seed of the resampling.

    Returns:
        ``(low, high)``.
    """
    x = _scores("values", values, minimum=2)
    check_choice("statistic", statistic, tuple(STATISTICS))
    check_in_range("confidence", confidence, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_positive_int("n_resamples", n_resamples)
    check_non_negative_int("seed", seed)
    rng = np.random.default_rng(seed)
    index = rng.integers(0, x.size, size=(n_resamples, x.size))
    samples = x[index]
    if statistic == "mean":
        stats = samples.mean(axis=1)
    elif statistic == "median":
        stats = np.median(samples, axis=1)
    else:
        stats = np.array([interquartile_mean(row) for row in samples])
    alpha = (1.0 - confidence) / 2
    low, high = np.quantile(stats, [alpha, 1.0 - alpha])
    return float(low), float(high)


def subset_means(values: Sequence[float] | np.ndarray, k: int = 3) -> np.ndarray:
    """The mean of every subset of ``k`` of the ``n`` values: what each possible
    ``k``-seed study would have reported. Shape ``(C(n, k),)``, subsets in
    lexicographic order."""
    x = _scores("values", values)
    check_positive_int("k", k)
    check_in_range("k", k, 1, x.size)
    return np.array([x[list(c)].mean() for c in itertools.combinations(range(x.size), k)])


def seed_summary(
    values: Sequence[float] | np.ndarray, *, k: int = 3, n_resamples: int = 10_000, seed: int = 0
) -> dict[str, float]:
    """Everything the chapter reports about ``n`` per-seed scores (shape ``(n,)``):
    mean, sample standard deviation, median, min, max, interquartile mean, the
    95% bootstrap interval of the mean, and the smallest and largest mean of the
    ``k``-seed subsets."""
    x = _scores("values", values, minimum=2)
    low, high = bootstrap_ci(x, "mean", n_resamples=n_resamples, seed=seed)
    subsets = subset_means(x, k)
    return {
        "mean": float(x.mean()),
        "std": float(x.std(ddof=1)),
        "median": float(np.median(x)),
        "min": float(x.min()),
        "max": float(x.max()),
        "iqm": interquartile_mean(x),
        "ci_low": low,
        "ci_high": high,
        "triple_min": float(subsets.min()),
        "triple_max": float(subsets.max()),
    }


# ---------------------------------------------------------------------------
# 2. Out-of-distribution tasks: navigation goals outside the training square
# ---------------------------------------------------------------------------

#: Seed of the goals of :func:`ood_goals`: every policy meets the same goals.
OOD_SEED = 9_000_011
#: The half-sides of the squares on whose edges :func:`ood_goals` puts its goals;
#: training goals lie inside the square of half-side 0.5.
OOD_RADII: tuple[float, ...] = (0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
#: How far a goal may lie per coordinate: the point moves at most 0.1 per step for
#: 100 steps, so goals beyond 10 cannot be reached at all.
MAX_RADIUS = 10.0


def ood_goals(radius: float, n: int, seed: int = OOD_SEED) -> Any:
    """``n`` navigation goals on the edge of the square ``[-radius, radius]^2``.

    Each goal is uniform along the square's perimeter, so its largest coordinate
    is ``radius`` in absolute value: inside the training square ``[-0.5, 0.5]^2``
    for ``radius <= 0.5``, and ``radius - 0.5`` outside it (in the max-norm)
    beyond. The Gymnasium environment refuses such goals (it range-checks
    them against the training square); the batched roll-out of
    :mod:`metarl_lite.maml_rl` applies the same rules without the check.

    Returns:
        A :class:`~metarl_lite.envs.point_navigation.NavigationTasks` of goals,
        float32, shape ``(n, 2)``.
    """
    from metarl_lite.envs import point_navigation as nav

    check_in_range("radius", radius, 0.0, MAX_RADIUS, low_inclusive=False)
    check_positive_int("n", n)
    check_non_negative_int("seed", seed)
    rng = np.random.default_rng(seed)
    along = rng.uniform(-radius, radius, size=n)  # position along the chosen edge
    edge = rng.integers(0, 4, size=n)  # 0: right, 1: top, 2: left, 3: bottom
    sign = np.where(edge < 2, 1.0, -1.0) * radius
    x = np.where(edge % 2 == 0, sign, along)
    y = np.where(edge % 2 == 0, along, sign)
    return nav.NavigationTasks(np.stack([x, y], axis=1).astype(np.float32))


#: The stored chapter-4 policies (``book/data/models/maml_rl/{method}_seed0.pt``).
OOD_METHODS: tuple[str, ...] = ("maml", "fomaml", "pretrain", "random")


def load_navigation_policy(method: str) -> tuple[Any, float, Any]:
    """Chapter 4's stored seed-0 policy of ``method``, its benchmark fine-tuning
    step size and its config: ``(policy, inner_lr, config)``."""
    import torch

    from metarl_lite import maml_rl
    from metarl_lite.sweeps import data_path

    check_choice("method", method, OOD_METHODS)
    report = json.loads(data_path("benchmarks/maml_navigation.json").read_text())
    config = maml_rl.MamlRLConfig(**report["settings"][method])
    (run,) = [r for r in report["runs"] if r["method"] == method and r["seed"] == 0]
    policy = maml_rl.GaussianPolicy(config.hidden, config.log_std)
    state = torch.load(data_path(f"models/maml_rl/{method}_seed0.pt"), weights_only=True)
    policy.load_state_dict(state)
    return policy, float(run["inner_lr"]), config


def ood_returns(
    method: str, radius: float, n_goals: int = 40, steps: int = 3, seed: int = 0
) -> tuple[np.ndarray, float]:
    """Mean return of a stored chapter-4 policy on :func:`ood_goals` at ``radius``.

    The policy is fine-tuned on each goal as in chapter 4's benchmark (the
    first step with its step size, the later ones with half of it, 20
    trajectories per step); ``seed`` draws the exploration noise. The second
    value is the mean return of the oracle that heads straight for the goal
    with the same noise (:func:`metarl_lite.maml_rl.hand_made_returns`): the
    best a policy can do there.

    Returns:
        ``(returns, oracle)``: returns of shape ``(steps + 1,)`` after 0 to
        ``steps`` steps, and the oracle's mean return.
    """
    from metarl_lite import maml_rl

    policy, inner_lr, config = load_navigation_policy(method)
    goals = ood_goals(radius, n_goals)
    returns = maml_rl.task_returns(
        policy,
        goals,
        inner_lr,
        steps,
        config.inner_trajectories,
        config.gamma,
        seed=seed,
        later_lr=inner_lr / 2,
    ).mean(dim=1)
    oracle = maml_rl.hand_made_returns(goals, config.log_std, seed=seed).mean().item()
    return returns.numpy().astype(float), float(oracle)


#: How much wider than the training box (a factor of 2 either way around each default)
#: the CartPole boxes of :func:`cartpole_box_tasks` are: each constant lies between
#: ``default / factor`` and ``default * factor``; 10 is the limit of CARL's bounds.
CARTPOLE_FACTORS: tuple[float, ...] = (1.5, 2.0, 3.0, 5.0, 10.0)
#: The stored chapter-5 starts (``book/data/models/meta_dqn/cartpole_{start}_seed{s}.pt``).
CARTPOLE_STARTS: tuple[str, ...] = ("reptile", "pretrain")


def cartpole_box_tasks(factor: float, n: int, seed: int = OOD_SEED) -> Any:
    """``n`` CartPoles with each physical constant log-uniform between
    ``default / factor`` and ``default * factor``: the training box for
    ``factor = 2``, wider beyond (up to CARL's bounds at 10).

    Returns:
        A :class:`~metarl_lite.envs.varied_cartpole.CartPoleTasks`, arrays of shape ``(n,)``.
    """
    from metarl_lite.envs import varied_cartpole as vc

    check_in_range("factor", factor, 1.0, 10.0)
    defaults = vc.CARTPOLE_DEFAULTS
    ranges = {key: (defaults[key] / factor, defaults[key] * factor) for key in defaults}
    return vc.sample_tasks(np.random.default_rng(seed), n, ranges)


def cartpole_ood_returns(
    start: str,
    seed: int,
    factors: Sequence[float] = CARTPOLE_FACTORS,
    n_tasks: int = 20,
    episodes: int = 3,
) -> np.ndarray:
    """Greedy return of chapter 5's stored start (``"reptile"`` or ``"pretrain"``, of
    meta-training seed ``seed``), with no adaptation, on :func:`cartpole_box_tasks`
    of each factor: ``n_tasks`` tasks, ``episodes`` episodes each.

    Returns:
        Shape ``(len(factors),)``: the mean return per factor.
    """
    import torch

    from metarl_lite import meta_dqn
    from metarl_lite.seeding import torch_threads
    from metarl_lite.sweeps import data_path

    check_choice("start", start, CARTPOLE_STARTS)
    check_non_negative_int("seed", seed)
    path = data_path(f"models/meta_dqn/cartpole_{start}_seed{seed}.pt")
    params = torch.load(path, weights_only=True)
    env_id = meta_dqn.FAMILY_IDS["cartpole"]
    out = []
    with torch_threads(1):
        for factor in factors:
            tasks = cartpole_box_tasks(factor, n_tasks)
            out.append(meta_dqn.evaluate_tasks(params, env_id, tasks, episodes, seed=0).mean())
    return np.array(out, dtype=float)


# ---------------------------------------------------------------------------
# 3. Compute cost: what the book's benchmarks spent
# ---------------------------------------------------------------------------

#: The chapter each stored benchmark belongs to (others are listed with "-").
BENCHMARK_CHAPTERS: dict[str, int] = {
    "dqn_cartpole": 2,
    "sine_regression": 3,
    "maml_navigation": 4,
    "bandits_rl2": 4,
    "meta_dqn": 5,
    "maze_levels": 6,
    "pendulum_adaptation": 6,
    "recommendation": 6,
    "seed_variance": 7,
}
#: Keys under which a benchmark's runs store their CPU and wall seconds, in order of preference.
CPU_KEYS: tuple[str, ...] = (
    "process_time",
    "train_process_seconds",
    "train_cpu_seconds",
    "process_seconds",
)
WALL_KEYS: tuple[str, ...] = ("wall_time", "train_wall_seconds", "wall_seconds")
#: Reader-facing names of the method keys that chapters 3 and 4 store.
METHOD_NAMES: dict[str, str] = {
    "maml": "MAML",
    "fomaml": "first-order MAML",
    "reptile": "Reptile",
    "pretrain": "pretrained on all tasks",
    "average": "parameter averaging",
    "scratch": "from scratch (no training)",
    "random": "random initialisation (no training)",
    "rl2": "RL^2, meta-training",
    "memoryless": "memoryless policy, training",
    "q_learning": "Q-learning from scratch",
}


@dataclasses.dataclass(frozen=True)
class CostRow:
    """What one method of one benchmark spent, per run (one seed, one setting).

    Attributes:
        chapter: the chapter that shows it, or ``None``.
        benchmark: the JSON's name, ``book/data/benchmarks/{benchmark}.json``.
        method: what was run.
        runs: how many runs the mean is over.
        cpu_seconds: mean CPU (process) time of a run, or ``None`` if not stored.
        wall_seconds: mean wall time of a run, or ``None`` if not stored.
        env_steps: mean environment steps of a run, or ``None`` (no environment).
    """

    chapter: int | None
    benchmark: str
    method: str
    runs: int
    cpu_seconds: float | None
    wall_seconds: float | None
    env_steps: float | None


def _number(value: Any) -> float | None:
    """A stored cost as a number: a number itself, the sum of a dict of numbers (a run
    that stores its parts, such as two agents' training times), else ``None``."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and value:
        parts = [_number(v) for v in value.values()]
        return None if None in parts else sum(p for p in parts if p is not None)
    return None


def _mean(values: Sequence[Any]) -> float | None:
    known = [n for n in (_number(v) for v in values) if n is not None]
    return sum(known) / len(known) if known else None


def _row(
    name: str, method: str, runs: Sequence[dict[str, Any]], cpu: str, wall: str, steps: Any
) -> CostRow:
    """A :class:`CostRow` from ``runs`` (dicts), reading the keys ``cpu`` and ``wall``;
    ``steps`` is a key, a function of a run, or a constant."""
    if callable(steps):
        env = [steps(r) for r in runs]
    elif isinstance(steps, str):
        env = [r.get(steps) for r in runs]
    else:
        env = [steps] * len(runs)
    return CostRow(
        BENCHMARK_CHAPTERS.get(name),
        name,
        method,
        len(runs),
        _mean([r.get(cpu) for r in runs]),
        _mean([r.get(wall) for r in runs]),
        _mean(env),
    )


def _cost_rows(name: str, report: dict[str, Any]) -> list[CostRow]:
    """The rows of one benchmark report: per method, what a run spent."""
    rows: list[CostRow] = []
    if name == "dqn_cartpole":
        for method, runs in report["runs"].items():
            rows.append(_row(name, method, runs, "", "wall_time", report["total_steps"]))
    elif name == "sine_regression":
        for method in dict.fromkeys(r["method"] for r in report["runs"]):
            runs = [r for r in report["runs"] if r["method"] == method]
            rows.append(_row(name, METHOD_NAMES[method], runs, "", "wall_time", None))
    elif name == "bandits_rl2":
        for n, k in dict.fromkeys((r["n"], r["k"]) for r in report["runs"]):
            runs = [r for r in report["runs"] if (r["n"], r["k"]) == (n, k)]
            method = f"RL^2, {n} pulls, {k} arms"
            rows.append(
                _row(
                    name, method, runs, "train_process_seconds", "train_wall_seconds", "env_steps"
                )
            )
    elif name == "meta_dqn":
        units = report["units"]
        for family in dict.fromkeys(u["family"] for u in units):
            mine = [u for u in units if u["family"] == family]
            rule = report["settings"]["rule"]
            rule_steps = rule["meta_batch"] * rule["lives"] * rule["life_steps"]
            for part, label, steps in (
                ("reptile", "meta-training: Reptile start", lambda r: r["env_steps"][-1]),
                ("pretrain", "meta-training: pretrained start", lambda r: r["env_steps"][-1]),
                ("rule", "meta-training: LSTM rule", lambda r, n=rule_steps: n),
            ):
                runs = [u["meta_training"][part] for u in mine]
                rows.append(_row(name, f"{family}, {label}", runs, "process_seconds", "", steps))
            tasks = report["tasks_per_seed"]
            for method, label in report["methods"].items():
                runs = [u["runs"][method] for u in mine]
                rows.append(
                    _row(
                        name,
                        f"{family}, meta-test: {label} ({tasks} tasks)",
                        runs,
                        "process_seconds",
                        "",
                        lambda r, n=tasks: r["eval_steps"][-1] * n,
                    )
                )
    elif name == "pendulum_adaptation":
        # Per agent and seed: its model's training (dr_adapt reuses dr's model; scratch
        # trains inside its episodes) plus its test on the 8 pendulums.
        trained_as = {"meta": "meta", "dr": "dr", "dr_adapt": "dr"}
        for agent in report["agents"]:
            runs = [
                {
                    "cpu": r["eval_cpu_seconds"][agent]
                    + r["train_cpu_seconds"].get(trained_as.get(agent, ""), 0.0)
                }
                for r in report["runs"]
            ]
            label = report.get("agent_names", {}).get(agent, agent)
            what = "training and testing" if agent in (*trained_as, "scratch") else "testing"
            rows.append(_row(name, f"{label}, {what}", runs, "cpu", "", None))
    elif name == "recommendation":
        label = "RL^2 recommender, meta-training"
        runs = report["runs"]
        rows.append(
            _row(name, label, runs, "train_process_seconds", "train_wall_seconds", "env_steps")
        )
    elif isinstance(report.get("runs"), list) and all(isinstance(r, dict) for r in report["runs"]):
        # maml_navigation, seed_variance and any later benchmark that stores a list of
        # runs with a method, times under one of the usual keys and environment steps.
        runs_all = report["runs"]
        cpu = next((k for k in CPU_KEYS if any(k in r for r in runs_all)), "")
        wall = next((k for k in WALL_KEYS if any(k in r for r in runs_all)), "")
        if not (cpu or wall):
            return rows
        default = report.get("method", "(every run)")
        methods = dict.fromkeys(str(r.get("method", default)) for r in runs_all)
        for method in methods:
            runs = [r for r in runs_all if str(r.get("method", default)) == method]
            label = METHOD_NAMES.get(method, method)
            rows.append(_row(name, label, runs, cpu, wall, "env_steps"))
    return rows


def compute_costs(directory: str | Path | None = None) -> list[CostRow]:
    """The cost of every method in every stored benchmark, chapter by chapter.

    Reads every ``*.json`` of ``directory`` (default: ``book/data/benchmarks``).
    Benchmarks whose runs it knows how to read give one row per method; any other
    (a throughput measurement, a later chapter's) gives one row with the whole
    script's wall time from its ``machine`` record, if it has one.
    """
    from metarl_lite.sweeps import data_path

    folder = Path(directory) if directory is not None else data_path("benchmarks")
    if not folder.is_dir():
        raise ValueError(f"directory={str(folder)!r} is not a folder of benchmark JSONs")
    rows: list[CostRow] = []
    for path in sorted(folder.glob("*.json")):
        report = json.loads(path.read_text())
        mine = _cost_rows(path.stem, report)
        if not mine:
            total = (report.get("machine") or {}).get("total_seconds")
            mine = [CostRow(None, path.stem, "(whole script)", 1, None, total, None)]
        rows += mine
    return sorted(rows, key=lambda r: (r.chapter is None, r.chapter or 0, r.benchmark))


def _fmt(value: float | None, unit: str = "", scale: float = 1.0, digits: int = 0) -> str:
    return "-" if value is None else f"{value / scale:,.{digits}f}{unit}"


def cost_table(rows: Sequence[CostRow]) -> str:
    """A markdown table of :func:`compute_costs` rows: times in seconds per run,
    environment steps in thousands per run ("-": not stored, or no environment)."""
    lines = [
        "| chapter | benchmark | method | runs | CPU s / run | wall s / run | env steps / run |",
        "|---:|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.chapter if r.chapter is not None else '-'} | {r.benchmark} | {r.method} | "
            f"{r.runs} | {_fmt(r.cpu_seconds)} | {_fmt(r.wall_seconds)} | "
            f"{_fmt(r.env_steps, 'k', 1e3)} |"
        )
    return "\n".join(lines)


def break_even_tasks(meta_cost: float, saving_per_task: float) -> int:
    """How many new tasks must a meta-learned start serve before the steps spent
    learning it are paid back: ``ceil(meta_cost / saving_per_task)``.

    Args:
        meta_cost: environment steps (or seconds) spent on meta-training.
        saving_per_task: steps (or seconds) the start saves on each new task.
    """
    check_in_range("meta_cost", meta_cost, 0.0, math.inf)
    check_positive("saving_per_task", saving_per_task)
    return math.ceil(meta_cost / saving_per_task)


# ---------------------------------------------------------------------------
# 4. Stability: meta-training until it diverges
# ---------------------------------------------------------------------------

#: The plotted value of a window in which training diverged (a NaN or infinite
#: loss), and of every window after it, on the scale of :func:`log_loss_curve`.
DIVERGED_LEVEL = 10.0
#: Finite losses are plotted as ``log10`` and clipped below this, so that a
#: diverged run always lies above every finite one.
LOG_CEILING = 9.0


@dataclasses.dataclass
class StabilityRun:
    """Chapter 3's meta-training, logged until it diverges.

    Attributes:
        steps: iteration at the end of each full logging window before divergence.
        losses: mean meta-training loss over each of those windows.
        diverged_at: the iteration whose loss was NaN or infinite, or ``None``.
        iterations: the iterations the run was asked for.
        log_every: iterations per window.
    """

    steps: list[int]
    losses: list[float]
    diverged_at: int | None
    iterations: int
    log_every: int


def train_until_divergence(config: Any) -> StabilityRun:
    """Run :func:`metarl_lite.meta.train_meta` on ``config`` (a
    :class:`~metarl_lite.meta.MetaConfig` for MAML, first-order MAML or Reptile)
    and keep its log whether or not it diverges.

    ``train_meta`` raises :class:`~metarl_lite.history.TrainingDivergedError` at
    the first NaN or infinite loss; the error carries the iteration and the
    windows logged before it, which become the run's record here.
    """
    from metarl_lite import meta

    check_choice("config.method", config.method, ("maml", "fomaml", "reptile"))
    try:
        history = meta.train_meta(config, progress=False).history
    except TrainingDivergedError as err:
        return StabilityRun(
            list(err.history.steps),
            list(err.history.losses),
            err.step,
            config.iterations,
            config.log_every,
        )
    return StabilityRun(
        list(history.steps), list(history.losses), None, config.iterations, config.log_every
    )


def log_loss_curve(run: StabilityRun) -> tuple[list[int], list[float]]:
    """The run's curve for plotting: at every window end ``log_every, 2 log_every,
    ..., iterations``, ``log10`` of the window's mean loss (clipped at
    :data:`LOG_CEILING`, rounded to 3 decimals), and :data:`DIVERGED_LEVEL` from
    the window where the run diverged onwards."""
    x = list(range(run.log_every, run.iterations + 1, run.log_every))
    y = [min(round(math.log10(loss), 3), LOG_CEILING) for loss in run.losses]
    return x, y + [DIVERGED_LEVEL] * (len(x) - len(y))


# ---------------------------------------------------------------------------
# Plots (each returns a Figure)
# ---------------------------------------------------------------------------


def plot_seed_variance(
    curves: np.ndarray,
    scores: Sequence[float] | np.ndarray,
    *,
    k: int = 3,
    window: int = 10,
    n_resamples: int = 10_000,
) -> Any:
    """Left: every seed's meta-training curve, smoothed over ``window`` iterations,
    with their mean. Right: every seed's held-out score, the means of all
    ``k``-seed subsets, the 95% bootstrap interval of the mean and the IQM.

    Args:
        curves: post-adaptation training return per meta-iteration, shape ``(n, T)``.
        scores: held-out score of each seed, shape ``(n,)``.
    """
    import matplotlib.pyplot as plt

    from metarl_lite.history import smooth

    x = _scores("scores", scores, minimum=max(2, k))
    curves = np.atleast_2d(np.asarray(curves, dtype=float))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8), width_ratios=(3, 2))
    iterations = np.arange(1, curves.shape[1] + 1)
    for i, row in enumerate(curves):
        left.plot(iterations, smooth(row, window), linewidth=0.8, alpha=0.7, label=f"seed {i}")
    left.plot(
        iterations, smooth(curves.mean(axis=0), window), color="black", linewidth=2, label="mean"
    )
    left.set_xlabel("meta-iterations")
    left.set_ylabel(f"training return after adaptation\n(mean of {window} iterations)")
    left.set_title(f"{curves.shape[0]} seeds, one method, same settings", fontsize=10)
    left.legend(fontsize=7, ncol=2)
    left.grid(alpha=0.3)
    subsets = subset_means(x, k)
    summary = seed_summary(x, k=k, n_resamples=n_resamples)
    for values, level in ((x, 0), (subsets, 1)):
        jitter = np.linspace(-0.15, 0.15, values.size) if values.size > 1 else np.zeros(1)
        right.scatter(values, level + jitter, s=12 if level else 30, alpha=0.6)
    right.errorbar(
        summary["mean"],
        2,
        xerr=[[summary["mean"] - summary["ci_low"]], [summary["ci_high"] - summary["mean"]]],
        fmt="o",
        color="black",
        capsize=4,
    )
    right.plot(summary["iqm"], 3, "D", color="tab:red")
    right.set_yticks(
        range(4), ["each seed", f"each of {subsets.size}\n{k}-seed means", "mean, 95% CI", "IQM"]
    )
    right.set_xlabel("held-out return after adaptation")
    right.grid(alpha=0.3, axis="x")
    fig.tight_layout()
    return fig


def stability_map(sweep: Any) -> dict[str, np.ndarray]:
    """From the stored ``ch7_stability`` sweep: for each outer optimiser, the final
    plotted value (``log10`` MSE of the last window, averaged over seeds; or
    :data:`DIVERGED_LEVEL` if any seed diverged) as an array of shape
    ``(len(inner_lr), len(outer_lr))``."""
    out = {}
    for optimizer in sweep.grid["outer_optimizer"]:
        cells = np.zeros((len(sweep.grid["inner_lr"]), len(sweep.grid["outer_lr"])))
        for i, inner in enumerate(sweep.grid["inner_lr"]):
            for j, outer in enumerate(sweep.grid["outer_lr"]):
                point = {"outer_optimizer": optimizer, "outer_lr": outer, "inner_lr": inner}
                final = sweep.curves_at(point)[:, -1]
                diverged = (final >= DIVERGED_LEVEL).any()
                cells[i, j] = DIVERGED_LEVEL if diverged else final.mean()
        out[optimizer] = cells
    return out


def plot_stability_map(sweep: Any) -> Any:
    """One heat map per outer optimiser: final ``log10`` MSE over outer step size
    (columns) and inner step size (rows); a cross marks a run that diverged."""
    import matplotlib.pyplot as plt

    maps = stability_map(sweep)
    fig, axes = plt.subplots(1, len(maps), figsize=(5 * len(maps), 3.6), squeeze=False)
    outer, inner = sweep.grid["outer_lr"], sweep.grid["inner_lr"]
    for ax, (optimizer, cells) in zip(axes[0], maps.items(), strict=True):
        shown = np.where(cells >= DIVERGED_LEVEL, np.nan, cells)
        image = ax.imshow(shown, cmap="viridis", vmin=-2, vmax=LOG_CEILING, aspect="auto")
        for i in range(cells.shape[0]):
            for j in range(cells.shape[1]):
                text = "×" if cells[i, j] >= DIVERGED_LEVEL else f"{cells[i, j]:.1f}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="black" if text == "×" or cells[i, j] > 4 else "white",
                )
        ax.set_xticks(range(len(outer)), [f"{v:g}" for v in outer])
        ax.set_yticks(range(len(inner)), [f"{v:g}" for v in inner])
        ax.set_xlabel("outer (meta) step size β")
        ax.set_ylabel("inner step size α")
        ax.set_title(
            f"outer optimiser {optimizer}: log10 MSE after "
            f"{sweep.x[-1]:.0f} iterations (× = NaN/inf)",
            fontsize=9,
        )
        fig.colorbar(image, ax=ax, shrink=0.8)
    fig.tight_layout()
    return fig


def plot_ood(sweep: Any, steps: Sequence[int] = (0, 2, 3)) -> Any:
    """From the stored ``ch7_ood`` sweep: return minus the oracle's against the goal
    radius, one line per starting policy, one panel per number of fine-tuning
    steps; mean over the sweep's seeds with the min-max band; the training
    goals' edge (radius 0.5) is marked."""
    import matplotlib.pyplot as plt

    radii = sweep.grid["radius"]
    fig, axes = plt.subplots(
        1, len(steps), figsize=(4.2 * len(steps), 3.6), sharey=True, squeeze=False
    )
    for ax, step in zip(axes[0], steps, strict=True):
        column = sweep.x.index(step)
        for method in sweep.grid["method"]:
            values = np.array(
                [sweep.curves_at({"method": method, "radius": r})[:, column] for r in radii]
            )
            (line,) = ax.plot(radii, values.mean(axis=1), marker="o", label=method)
            ax.fill_between(
                radii,
                values.min(axis=1),
                values.max(axis=1),
                color=line.get_color(),
                alpha=0.2,
                linewidth=0,
            )
        ax.axvspan(0, 0.5, color="grey", alpha=0.15, label="training goals")
        ax.axhline(0.0, color="black", linestyle="--", linewidth=1)
        ax.set_xlabel("goal radius r (max-norm; training goals r ≤ 0.5)")
        ax.set_title(f"after {step} policy-gradient step{'s' if step != 1 else ''}", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("return minus the oracle's return")
    axes[0][0].legend(fontsize=8)
    n_seeds = len(sweep.seeds)
    fig.suptitle(f"mean and min-max over {n_seeds} seeds of exploration noise", fontsize=9)
    fig.tight_layout()
    return fig
