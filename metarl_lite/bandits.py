"""Classic algorithms for Bernoulli bandits: the baselines of RL^2.

Duan et al. (2016, table 1) compare their learned bandit algorithm with six
hand-designed ones on bandits whose ``k`` arm means are drawn i.i.d. from
``U[0, 1]`` (:mod:`metarl_lite.envs.bernoulli_bandit`). This module plays all
six on many bandits at once (numpy, ``B`` bandits in parallel):

- ``random``: a uniformly random arm every pull;
- ``greedy``: the arm with the largest posterior mean ``(s + 1) / (m + 2)``
  under a ``Beta(1, 1)`` prior, after ``s`` successes in ``m`` pulls;
- ``epsilon_greedy``: a uniformly random arm with probability ``epsilon``,
  else the greedy arm;
- ``ucb1`` (Auer et al., 2002): the arm with the largest
  ``(s + 1) / (m + 2) + c * sqrt(2 * ln(t) / (m + 2))`` after ``t`` pulls in
  all, with exploration constant ``c``;
- ``thompson`` (Thompson, 1933): draw one mean per arm from its
  ``Beta(s + 1, m - s + 1)`` posterior and pull the arm with the largest draw;
- ``gittins`` (Gittins, 1979): the arm with the largest Gittins index of its
  ``Beta(s + 1, m - s + 1)`` posterior for a discount ``discount``
  (:func:`gittins_indices`).

These follow the research code behind the paper's table, kept in Yan (Rocky)
Duan's rllab sandbox, ``sandbox/rocky/neural_learner/scripts/bandits/`` in the
``florensacc/rllab-curriculum`` repository (``evaluate_bandits.py``,
``evaluate_gittins.py``; ``gen_bandits_table.py`` prints the table): the
``Beta(1, 1)`` pseudo-counts in greedy, epsilon-greedy and UCB1, the
``sqrt(2 ln t / (m + 2))`` bonus, untuned Thompson sampling, and the grids over
which ``epsilon``, ``c`` and the Gittins discount were chosen per setting
(:data:`TUNING_GRIDS`). That code chose each value by its mean over the same
1000 bandits it reported; here :func:`tune` chooses it on training bandits from
``sample_tasks`` and :func:`table` reports on the held-out ``test_tasks``.
Ties between arms are broken uniformly at random; that code took the lowest
arm index, which makes greedy explore less (``play(..., ties="first")``).

Common random numbers. :func:`play` first draws a table of uniforms ``u``,
shape ``(B, n_pulls, k)``, from its generator; pull ``t`` of arm ``a`` on
bandit ``b`` pays ``1`` when ``u[b, t, a] < means[b, a]``, the rule of
:class:`~metarl_lite.envs.bernoulli_bandit.BernoulliBanditEnv`. Algorithms
played with generators in the same state therefore meet the same outcome
whenever they pull the same arm at the same time, so differences between them
are measured with less noise. The algorithms' own randomness (ties,
exploration, posterior draws) comes from the same generator, after ``u``.
"""

from __future__ import annotations

import argparse
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from metarl_lite._checks import check_choice, check_in_range, check_positive_int
from metarl_lite.envs.bernoulli_bandit import check_means, sample_tasks, test_tasks

__all__ = [
    "ALGORITHMS",
    "ALGORITHM_NAMES",
    "HYPERPARAMETERS",
    "HYPERPARAMETER_SOURCES",
    "PAPER_CELLS",
    "PAPER_TABLE",
    "SWEEP_BANDITS",
    "SWEEP_GRID",
    "TUNING_GRIDS",
    "TUNING_SEED",
    "TUNING_TASKS",
    "Play",
    "TableEntry",
    "TuneResult",
    "argmax_random_ties",
    "best_arm_mean",
    "format_table",
    "gittins_indices",
    "held_out_totals",
    "hyperparameters",
    "play",
    "sweep_curve",
    "table",
    "tune",
]

#: The algorithms, from the simplest to the index that is optimal with discounting.
ALGORITHMS: tuple[str, ...] = (
    "random",
    "greedy",
    "epsilon_greedy",
    "ucb1",
    "thompson",
    "gittins",
)
#: Reader-facing names.
ALGORITHM_NAMES: dict[str, str] = {
    "random": "Random",
    "greedy": "Greedy",
    "epsilon_greedy": "ε-greedy",
    "ucb1": "UCB1",
    "thompson": "Thompson sampling",
    "gittins": "Gittins index",
}
#: The hyper-parameter of each algorithm that has one.
_HYPER_NAMES: dict[str, tuple[str, ...]] = {
    "random": (),
    "greedy": (),
    "epsilon_greedy": ("epsilon",),
    "ucb1": ("c",),
    "thompson": (),
    "gittins": ("discount",),
}
#: The values :func:`tune` tries: the grids of the authors' evaluation code.
TUNING_GRIDS: dict[str, tuple[str, tuple[float, ...]]] = {
    "epsilon_greedy": ("epsilon", tuple(round(0.1 * i, 1) for i in range(11))),
    "ucb1": ("c", tuple(round(0.1 * i, 1) for i in range(11))),
    "gittins": ("discount", (0.9, 0.99, 0.999, 0.9999)),
}
#: Training bandits per tuning run, and the seed they are drawn with.
TUNING_TASKS = 4000
TUNING_SEED = 2016

#: The ``(n_pulls, k)`` settings of the paper reproduced here.
PAPER_CELLS: tuple[tuple[int, int], ...] = ((10, 5), (10, 10), (100, 5), (100, 10))
#: Duan et al. (2016), table 1: mean total reward over 1000 bandits, per ``(n, k)``.
PAPER_TABLE: dict[tuple[int, int], dict[str, float]] = {
    (10, 5): {
        "random": 5.0,
        "gittins": 6.6,
        "thompson": 5.7,
        "ucb1": 6.7,
        "epsilon_greedy": 6.6,
        "greedy": 6.6,
    },
    (10, 10): {
        "random": 5.0,
        "gittins": 6.6,
        "thompson": 5.5,
        "ucb1": 6.7,
        "epsilon_greedy": 6.6,
        "greedy": 6.6,
    },
    (100, 5): {
        "random": 49.9,
        "gittins": 78.3,
        "thompson": 74.7,
        "ucb1": 78.0,
        "epsilon_greedy": 75.4,
        "greedy": 74.8,
    },
    (100, 10): {
        "random": 49.9,
        "gittins": 82.8,
        "thompson": 76.7,
        "ucb1": 82.4,
        "epsilon_greedy": 77.4,
        "greedy": 77.1,
    },
}

#: The widget's grid: arms, pulls and algorithm.
SWEEP_GRID: dict[str, tuple[Any, ...]] = {
    "arms": (2, 5, 10, 20),
    "pulls": (10, 50, 100, 500),
    "algorithm": ALGORITHMS,
}
#: Bandits averaged in each curve of :func:`sweep_curve`.
SWEEP_BANDITS = 1000

#: The result of ``tune(algorithm, n, k).best`` for every cell of :data:`SWEEP_GRID`
#: (which holds the paper's four), as ``(n, k): (epsilon, c, discount)``, tuned on
#: :data:`TUNING_TASKS` training bandits; ``tests/test_bandits.py`` re-runs part of it.
_TUNED: dict[tuple[int, int], tuple[float, float, float]] = {
    (10, 2): (0.0, 0.2, 0.9),
    (10, 5): (0.0, 0.1, 0.9),
    (10, 10): (0.0, 0.1, 0.9),
    (10, 20): (0.0, 0.1, 0.9),
    (50, 2): (0.0, 0.2, 0.9),
    (50, 5): (0.0, 0.2, 0.99),
    (50, 10): (0.0, 0.2, 0.99),
    (50, 20): (0.0, 0.2, 0.99),
    (100, 2): (0.0, 0.2, 0.99),
    (100, 5): (0.0, 0.2, 0.99),
    (100, 10): (0.0, 0.2, 0.99),
    (100, 20): (0.0, 0.2, 0.99),
    (500, 2): (0.0, 0.2, 0.999),
    (500, 5): (0.1, 0.2, 0.999),
    (500, 10): (0.1, 0.2, 0.999),
    (500, 20): (0.1, 0.2, 0.999),
}
#: Hyper-parameters per ``(n_pulls, k)`` and algorithm (``{}`` for those without any).
HYPERPARAMETERS: dict[tuple[int, int], dict[str, dict[str, float]]] = {
    cell: {
        "random": {},
        "greedy": {},
        "epsilon_greedy": {"epsilon": epsilon},
        "ucb1": {"c": c},
        "thompson": {},
        "gittins": {"discount": discount},
    }
    for cell, (epsilon, c, discount) in _TUNED.items()
}

#: Where each algorithm's setting comes from.
HYPERPARAMETER_SOURCES: dict[str, str] = {
    "random": "no hyper-parameter",
    "greedy": "no hyper-parameter; Beta(1, 1) pseudo-counts as in the authors' code",
    "epsilon_greedy": "epsilon tuned per (n, k) over 0, 0.1, ..., 1 (the authors' grid) "
    "on training bandits by tune()",
    "ucb1": "c tuned per (n, k) over 0, 0.1, ..., 1 (the authors' grid) on training "
    "bandits by tune()",
    "thompson": "no hyper-parameter: Beta(1, 1) prior, untuned, as in the authors' code",
    "gittins": "discount tuned per (n, k) over 0.9, 0.99, 0.999, 0.9999 (the authors' "
    "grid) on training bandits by tune()",
}


class Play(NamedTuple):
    """What an algorithm did on ``B`` bandits.

    Attributes:
        actions: the arm pulled, int64, shape ``(B, n_pulls)``.
        rewards: the reward received, ``0.0`` or ``1.0``, shape ``(B, n_pulls)``.
    """

    actions: np.ndarray
    rewards: np.ndarray

    @property
    def totals(self) -> np.ndarray:
        """Total reward per bandit, shape ``(B,)``."""
        return self.rewards.sum(axis=1)


# -- choosing arms: small pure functions


def argmax_random_ties(
    scores: np.ndarray, rng: np.random.Generator, ties: str = "random"
) -> np.ndarray:
    """The column of each row's largest score.

    Args:
        scores: shape ``(B, k)``.
        rng: draws ``B * k`` uniforms when ``ties="random"``.
        ties: ``"random"``: among equal scores, one uniformly at random;
            ``"first"``: the lowest column (what ``np.argmax`` does).

    Returns:
        int64 array of shape ``(B,)``.
    """
    if ties == "first":
        return np.argmax(scores, axis=1)
    best = scores == scores.max(axis=1, keepdims=True)
    noise = rng.random(scores.shape)
    return np.argmax(np.where(best, noise, -1.0), axis=1)


def posterior_mean(successes: np.ndarray, pulls: np.ndarray) -> np.ndarray:
    """Mean of the ``Beta(1 + s, 1 + m - s)`` posterior: ``(s + 1) / (m + 2)``."""
    return (successes + 1.0) / (pulls + 2.0)


def ucb1_scores(successes: np.ndarray, pulls: np.ndarray, t: int, c: float) -> np.ndarray:
    """UCB1 scores after ``t`` pulls in all (shape of ``successes``).

    ``(s + 1) / (m + 2) + c * sqrt(2 ln t / (m + 2))``; the bonus is zero at
    ``t <= 1``, where ``ln t <= 0`` (every arm is still unpulled at ``t = 0``).
    """
    bonus = c * np.sqrt(2.0 * math.log(t) / (pulls + 2.0)) if t > 1 else 0.0
    return posterior_mean(successes, pulls) + bonus


@functools.lru_cache(maxsize=32)
def gittins_indices(
    discount: float, max_total: int = 128, *, depth: int | None = None, grid: int = 1001
) -> np.ndarray:
    """Gittins indices of a Bernoulli arm with a ``Beta(a, b)`` posterior.

    The index of state ``(a, b)`` is the per-pull reward ``lam`` of a known arm
    that makes us indifferent between retiring to it for ever and pulling the
    unknown arm once more: the calibration (or retirement) characterisation of
    Gittins (1979); see Gittins, Glazebrook and Weber (2011). For each ``lam``
    on a grid of ``grid`` values in ``[0, 1]``, backward induction over
    ``n = a + b`` computes the normalised value ``W = (1 - discount) V`` of the
    retirement problem::

        W(a, b) = max(lam, (1 - discount) mu + discount (mu W(a+1, b) + (1 - mu) W(a, b+1)))

    with ``mu = a / (a + b)``, starting from ``W = max(lam, mu)`` at
    ``a + b = depth`` (no learning after ``depth`` observations, the truncation
    of the state space). The index is the root in ``lam`` of the difference
    between pulling and retiring, located on the grid and refined by linear
    interpolation. The table is cached; it is computed, never looked up.

    Args:
        discount: the discount factor, in ``(0, 1)``.
        max_total: indices are returned for ``a, b >= 1`` with ``a + b <= max_total``.
        depth: where the state space is truncated (``> max_total``); by default
            ``max_total`` plus ``ln(1e-4) / ln(discount)`` levels, at most 1000.
        grid: number of retirement rewards ``lam`` on ``[0, 1]``.

    Returns:
        Read-only array ``G`` of shape ``(max_total + 1, max_total + 1)`` with
        ``G[a, b]`` the index of ``Beta(a, b)``; NaN where ``a < 1``, ``b < 1``
        or ``a + b > max_total``.
    """
    check_in_range("discount", discount, 0.0, 1.0, low_inclusive=False, high_inclusive=False)
    check_positive_int("max_total", max_total)
    if max_total < 2:
        raise ValueError(f"max_total={max_total!r} is not allowed: it must be >= 2")
    if depth is None:
        depth = max_total + min(math.ceil(math.log(1e-4) / math.log(discount)), 1000)
    check_positive_int("depth", depth)
    if depth <= max_total:
        raise ValueError(f"depth={depth!r} is not allowed: it must exceed max_total={max_total}")
    check_positive_int("grid", grid)
    if grid < 3:
        raise ValueError(f"grid={grid!r} is not allowed: it must be >= 3")

    lam = np.linspace(0.0, 1.0, grid)
    step = lam[1] - lam[0]
    table = np.full((max_total + 1, max_total + 1), np.nan)
    a = np.arange(1, depth)[:, None]  # states with a + b = depth
    w = np.maximum(lam, a / depth)  # shape (depth - 1, grid)
    for n in range(depth - 1, 1, -1):
        a = np.arange(1, n)[:, None]  # a = 1 .. n-1, b = n - a
        mu = a / n
        pull = (1.0 - discount) * mu + discount * (mu * w[1:] + (1.0 - mu) * w[:-1])
        if n <= max_total:
            gap = pull - lam  # decreasing in lam, with slope <= -(1 - discount)
            j = np.argmax(gap <= 0.0, axis=1)  # first lam at which retiring is as good
            rows = np.arange(n - 1)
            g0, g1 = gap[rows, j - 1], gap[rows, j]
            table[a[:, 0], n - a[:, 0]] = lam[j - 1] + step * g0 / (g0 - g1)
        w = np.maximum(lam, pull)
    table.flags.writeable = False
    return table


def _gittins_table_size(n_pulls: int) -> int:
    """The table size for ``n_pulls`` pulls (``a + b <= n_pulls + 1`` is needed),
    rounded up to a power of two >= 64 so that a few tables serve every setting."""
    size = 64
    while size < n_pulls + 2:
        size *= 2
    return size


# -- hyper-parameters


def _check_hyper(algorithm: str, hyper: Mapping[str, float]) -> dict[str, float]:
    allowed = _HYPER_NAMES[algorithm]
    for name in hyper:
        if name not in allowed:
            options = ", ".join(allowed) if allowed else "none"
            raise ValueError(
                f"{name}={hyper[name]!r} is not a hyper-parameter of {algorithm!r}: "
                f"allowed are {options}"
            )
    out = {name: float(value) for name, value in hyper.items()}
    if "epsilon" in out:
        check_in_range("epsilon", out["epsilon"], 0.0, 1.0)
    if "c" in out:
        check_in_range("c", out["c"], 0.0, math.inf)
    if "discount" in out:
        check_in_range(
            "discount", out["discount"], 0.0, 1.0, low_inclusive=False, high_inclusive=False
        )
    return out


def hyperparameters(algorithm: str, n_pulls: int, k: int) -> dict[str, float]:
    """The stored hyper-parameters of ``algorithm`` for ``n_pulls`` pulls and ``k`` arms.

    Settings in :data:`HYPERPARAMETERS` are returned as they are. For any other
    setting the rule is: take the stored cell nearest in ``(log n, log k)``
    (ties go to the smaller ``n``, then the smaller ``k``).
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    check_positive_int("n_pulls", n_pulls)
    check_positive_int("k", k)
    if not _HYPER_NAMES[algorithm]:
        return {}
    cell = (n_pulls, k)
    if cell not in HYPERPARAMETERS:
        cell = min(
            HYPERPARAMETERS,
            key=lambda c: (math.hypot(math.log(c[0] / n_pulls), math.log(c[1] / k)), c),
        )
    return dict(HYPERPARAMETERS[cell][algorithm])


# -- playing


def play(
    algorithm: str,
    means: np.ndarray,
    n_pulls: int,
    rng: np.random.Generator,
    *,
    ties: str = "random",
    **hyper: float,
) -> Play:
    """Play ``algorithm`` for ``n_pulls`` pulls on each of ``B`` bandits.

    Args:
        algorithm: one of :data:`ALGORITHMS`.
        means: arm means, shape ``(B, k)``, in ``[0, 1]``.
        n_pulls: pulls per bandit, ``>= 1``.
        rng: the only source of randomness: first the reward uniforms
            ``u`` of shape ``(B, n_pulls, k)`` (see the module's docstring), then
            the algorithm's own draws.
        ties: how an algorithm chooses among arms of equal score:
            ``"random"`` (uniformly; the default) or ``"first"`` (the lowest
            arm index, as ``np.argmax`` in the authors' code). It matters for
            greedy: the tied arms are often one that was pulled and unpulled
            ones, and the lowest index is usually the pulled one, so
            ``"first"`` explores less.
        **hyper: ``epsilon`` (epsilon-greedy), ``c`` (UCB1) or ``discount``
            (Gittins); a missing one comes from :func:`hyperparameters`.

    Returns:
        :class:`Play` with actions and rewards of shape ``(B, n_pulls)``.
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    means = check_means("means", means, batch=True)
    check_positive_int("n_pulls", n_pulls)
    check_choice("ties", ties, ("random", "first"))
    n_bandits, k = means.shape
    params = _check_hyper(algorithm, hyper)
    if any(name not in params for name in _HYPER_NAMES[algorithm]):
        params = {**hyperparameters(algorithm, n_pulls, k), **params}

    u = rng.random((n_bandits, n_pulls, k))
    choose = _chooser(algorithm, params, n_pulls, ties)
    rows = np.arange(n_bandits)
    successes = np.zeros((n_bandits, k))
    pulls = np.zeros((n_bandits, k))
    actions = np.empty((n_bandits, n_pulls), dtype=np.int64)
    rewards = np.empty((n_bandits, n_pulls))
    for t in range(n_pulls):
        arms = choose(successes, pulls, t, rng)
        won = u[rows, t, arms] < means[rows, arms]
        actions[:, t] = arms
        rewards[:, t] = won
        successes[rows, arms] += won
        pulls[rows, arms] += 1.0
    return Play(actions, rewards)


_Chooser = Callable[[np.ndarray, np.ndarray, int, np.random.Generator], np.ndarray]


def _chooser(algorithm: str, params: Mapping[str, float], n_pulls: int, ties: str) -> _Chooser:
    """The rule ``(successes, pulls, t, rng) -> arms`` of ``algorithm``."""

    def best(scores: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return argmax_random_ties(scores, rng, ties)

    if algorithm == "random":
        return lambda s, m, t, rng: rng.integers(0, s.shape[1], size=s.shape[0])
    if algorithm == "greedy" or (algorithm == "epsilon_greedy" and params["epsilon"] == 0.0):
        return lambda s, m, t, rng: best(posterior_mean(s, m), rng)
    if algorithm == "epsilon_greedy":
        epsilon = params["epsilon"]

        def epsilon_greedy(s: np.ndarray, m: np.ndarray, t: int, rng: np.random.Generator):
            explore = rng.random(s.shape[0]) < epsilon
            random_arms = rng.integers(0, s.shape[1], size=s.shape[0])
            return np.where(explore, random_arms, best(posterior_mean(s, m), rng))

        return epsilon_greedy
    if algorithm == "ucb1":
        c = params["c"]
        return lambda s, m, t, rng: best(ucb1_scores(s, m, t, c), rng)
    if algorithm == "thompson":
        return lambda s, m, t, rng: best(rng.beta(s + 1.0, m - s + 1.0), rng)
    table = gittins_indices(params["discount"], _gittins_table_size(n_pulls))

    def gittins(s: np.ndarray, m: np.ndarray, t: int, rng: np.random.Generator):
        a = s.astype(np.int64) + 1
        return best(table[a, (m - s).astype(np.int64) + 1], rng)

    return gittins


# -- tuning


class TuneResult(NamedTuple):
    """The outcome of :func:`tune`.

    Attributes:
        name: the hyper-parameter tuned.
        values: the values tried.
        means: mean total reward on the training bandits, one per value.
        stderrs: standard error of each mean.
        best: the value with the largest mean (the first, on a tie).
    """

    name: str
    values: tuple[float, ...]
    means: tuple[float, ...]
    stderrs: tuple[float, ...]
    best: float


def tune(
    algorithm: str,
    n_pulls: int,
    k: int,
    *,
    n_tasks: int = TUNING_TASKS,
    seed: int = TUNING_SEED,
    values: Sequence[float] | None = None,
    ties: str = "random",
) -> TuneResult:
    """Choose the hyper-parameter of ``algorithm`` on training bandits.

    Every value in ``values`` (by default the authors' grid,
    :data:`TUNING_GRIDS`) is played on the same ``n_tasks`` bandits from
    ``sample_tasks(default_rng(seed), n_tasks, k)`` with the same random
    numbers (a fresh ``default_rng([seed, 1])`` each), and the value with the
    largest mean total reward wins. Held-out bandits are never used. ``ties``
    is passed to :func:`play`.
    """
    check_choice("algorithm", algorithm, tuple(TUNING_GRIDS))
    check_positive_int("n_pulls", n_pulls)
    check_positive_int("n_tasks", n_tasks)
    name, grid = TUNING_GRIDS[algorithm]
    tried = tuple(float(v) for v in (grid if values is None else values))
    if not tried:
        raise ValueError("values=() is not allowed: give at least one value to try")
    tasks = sample_tasks(np.random.default_rng(seed), n_tasks, k)
    means, stderrs = [], []
    for value in tried:
        rng = np.random.default_rng([seed, 1])
        totals = play(algorithm, tasks.means, n_pulls, rng, ties=ties, **{name: value}).totals
        means.append(float(totals.mean()))
        stderrs.append(float(totals.std(ddof=1) / math.sqrt(n_tasks)) if n_tasks > 1 else 0.0)
    best = tried[int(np.argmax(means))]
    return TuneResult(name, tried, tuple(means), tuple(stderrs), best)


# -- the table of the paper


class TableEntry(NamedTuple):
    """One cell of :func:`table`: an algorithm on ``n_pulls`` pulls of ``k`` arms.

    Attributes:
        n_pulls, k: the setting.
        algorithm: one of :data:`ALGORITHMS`.
        mean: mean total reward over the held-out bandits.
        stderr: its standard error.
        paper: the value in Duan et al. (2016), table 1 (NaN if not there).
        hyper: the hyper-parameters used.
    """

    n_pulls: int
    k: int
    algorithm: str
    mean: float
    stderr: float
    paper: float
    hyper: dict[str, float]


def held_out_totals(
    algorithm: str, means: np.ndarray, n_pulls: int, *, seed: int = 0, ties: str = "random"
) -> np.ndarray:
    """Total reward on each bandit of ``means`` (shape ``(B, k)``), shape ``(B,)``,
    with the hyper-parameters of :func:`hyperparameters` and the random numbers of
    ``default_rng([seed, n_pulls, k])``: the same for every algorithm (and for
    RL^2's benchmark), so that algorithms are compared on common random numbers."""
    k = np.shape(means)[1]
    rng = np.random.default_rng([seed, n_pulls, k])
    hyper = hyperparameters(algorithm, n_pulls, k)
    return play(algorithm, means, n_pulls, rng, ties=ties, **hyper).totals


def table(
    n_tasks: int = 10_000,
    cells: Sequence[tuple[int, int]] = PAPER_CELLS,
    algorithms: Sequence[str] = ALGORITHMS,
    *,
    seed: int = 0,
    ties: str = "random",
) -> list[TableEntry]:
    """Mean total reward of each algorithm on held-out bandits, per ``(n, k)``.

    In each cell every algorithm plays the same ``test_tasks(n_tasks, k)``
    bandits with the same random numbers (a fresh ``default_rng([seed, n, k])``),
    with the hyper-parameters of :func:`hyperparameters` and the tie rule
    ``ties`` of :func:`play`.
    """
    check_positive_int("n_tasks", n_tasks)
    for algorithm in algorithms:
        check_choice("algorithm", algorithm, ALGORITHMS)
    entries = []
    for n_pulls, k in cells:
        means = test_tasks(n_tasks, k).means
        for algorithm in algorithms:
            hyper = hyperparameters(algorithm, n_pulls, k)
            totals = held_out_totals(algorithm, means, n_pulls, seed=seed, ties=ties)
            stderr = float(totals.std(ddof=1) / math.sqrt(n_tasks)) if n_tasks > 1 else 0.0
            paper = PAPER_TABLE.get((n_pulls, k), {}).get(algorithm, math.nan)
            entries.append(
                TableEntry(n_pulls, k, algorithm, float(totals.mean()), stderr, paper, hyper)
            )
    return entries


def format_table(entries: Sequence[TableEntry]) -> str:
    """A text table: ours (mean ± standard error) beside the paper's, per cell."""
    algorithms = [a for a in ALGORITHMS if any(e.algorithm == a for e in entries)]
    cells = list(dict.fromkeys((e.n_pulls, e.k) for e in entries))
    width = 19
    head = "n, k      " + "".join(f"{ALGORITHM_NAMES[a]:>{width}}" for a in algorithms)
    lines = [head]
    for n_pulls, k in cells:
        ours = {e.algorithm: e for e in entries if (e.n_pulls, e.k) == (n_pulls, k)}
        row = f"{n_pulls:>3}, {k:<3} us"
        row += "".join(
            f"{f'{ours[a].mean:.2f} ± {ours[a].stderr:.2f}':>{width}}" for a in algorithms
        )
        lines.append(row)
        paper = f"{'':>8}paper" + "".join(
            f"{'' if math.isnan(ours[a].paper) else f'{ours[a].paper:.1f}':>{width}}"
            for a in algorithms
        )
        lines.append(paper)
    return "\n".join(lines)


# -- the widget


def best_arm_mean(k: int) -> float:
    """Expected mean of the best of ``k`` arms drawn from ``U[0, 1]``: ``k / (k + 1)``,
    the reward per pull of an agent that knew the means."""
    check_positive_int("k", k)
    return k / (k + 1)


def sweep_curve(params: Mapping[str, Any], seed: int) -> tuple[list[float], list[float]]:
    """One curve of the chapter's widget: reward per pull as the pulls are used.

    Args:
        params: ``{"arms": k, "pulls": n, "algorithm": name}`` from :data:`SWEEP_GRID`.
        seed: draws :data:`SWEEP_BANDITS` training bandits with ``sample_tasks``
            and then the play's random numbers, from one ``default_rng(seed)``.

    Returns:
        ``(x, y)``: ``x`` the share of the ``n`` pulls used, ``0.1, 0.2, ..., 1.0``;
        ``y`` the total reward so far divided by the pulls so far, averaged over
        the bandits. Hyper-parameters come from :func:`hyperparameters`.
    """
    for axis in ("arms", "pulls", "algorithm"):
        if axis not in params:
            raise ValueError(
                f"params={dict(params)!r} lacks {axis!r}: give arms, pulls and algorithm"
            )
        check_choice(f"params[{axis!r}]", params[axis], SWEEP_GRID[axis])
    k, n_pulls, algorithm = int(params["arms"]), int(params["pulls"]), params["algorithm"]
    rng = np.random.default_rng(seed)
    means = sample_tasks(rng, SWEEP_BANDITS, k).means
    result = play(algorithm, means, n_pulls, rng, **hyperparameters(algorithm, n_pulls, k))
    so_far = result.rewards.mean(axis=0).cumsum()
    x = [round(0.1 * i, 1) for i in range(1, 11)]
    used = [round(share * n_pulls) for share in x]
    y = [float(so_far[m - 1] / m) for m in used]
    return x, y


def main(argv: Sequence[str] | None = None) -> int:
    """Print :func:`table` beside the paper's: ``python -m metarl_lite.bandits``."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--tasks", type=int, default=10_000, help="held-out bandits per cell")
    parser.add_argument("--seed", type=int, default=0, help="seed of the play's random numbers")
    parser.add_argument("--ties", choices=("random", "first"), default="random")
    args = parser.parse_args(argv)
    print(format_table(table(args.tasks, seed=args.seed, ties=args.ties)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
