"""Personalised recommendation with drifting preferences: classic linear bandits and RL^2.

Chapter 6.3 of the book. Users of :mod:`metarl_lite.envs.drifting_users` click
item ``i`` with probability ``mu_i(t) = (1 + x_i . theta_t) / 2``; their
preference ``theta_t`` jumps to a new one at step ``shift_at``. The file follows
the chapter:

1. regret: ``max_i mu_i(t) - mu_{a_t}(t)`` per step, summed over the session;
2. the classic recommenders, all on the centred click ``y = 2 c - 1``, whose
   mean is ``x_a . theta`` (the features' linear model, known to them):

   - ``linucb`` (Li et al., 2010): ridge estimate ``theta_hat = A^-1 b`` with
     ``A = lam I + sum x x^T`` and ``b = sum y x``, score
     ``x_i . theta_hat + alpha sqrt(x_i^T A^-1 x_i)``;
   - ``lin_ts`` (Agrawal and Goyal, 2013): a sample
     ``theta_tilde ~ N(theta_hat, v^2 A^-1)``, score ``x_i . theta_tilde``;
   - ``d_linucb`` (Russac et al., 2019): LinUCB with past observations
     discounted by ``gamma`` per step, so that it forgets an old preference;
   - ``random``: a uniformly random item (a floor);

   their constants are tuned on training users (:func:`tune`, :data:`TUNED`);
3. the RL^2 recommender: chapter 4's :class:`~metarl_lite.rl2.GRUPolicy`
   fed the previous item and click, trained by PPO across training users
   whose preferences shift (:func:`train_recommender`).

Common random numbers: every method plays a session with a generator whose
first draw is the click table ``u``, shape ``(B, n, k)`` (item ``a`` at step
``t`` is clicked when ``u[b, t, a] < mu[b, t, a]``), the rule of
:func:`metarl_lite.bandits.play` and :func:`metarl_lite.rl2.draw_numpy`.

Shapes: ``B`` users, ``k`` items, ``d`` features, ``n`` steps.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from metarl_lite import rl2
from metarl_lite._checks import (
    check_choice,
    check_in_range,
    check_non_negative_int,
    check_positive_int,
)
from metarl_lite.bandits import argmax_random_ties
from metarl_lite.envs import drifting_users
from metarl_lite.envs.drifting_users import UserTasks, catalogue, session_means
from metarl_lite.history import History
from metarl_lite.seeding import single_threaded, torch_generator

__all__ = [
    "ALGORITHMS",
    "ALGORITHM_NAMES",
    "RIDGE",
    "TUNED",
    "TUNING_GRIDS",
    "RecommenderConfig",
    "RecommenderResult",
    "Session",
    "TuneResult",
    "d_linucb_update",
    "d_linucb_width",
    "evaluate_rl2",
    "linucb_scores",
    "load_policy",
    "play",
    "policy_for",
    "regret_per_step",
    "ridge_update",
    "thompson_sample",
    "train_recommender",
    "tune",
]

#: The classic recommenders.
ALGORITHMS: tuple[str, ...] = ("random", "linucb", "lin_ts", "d_linucb")
#: Reader-facing names.
ALGORITHM_NAMES: dict[str, str] = {
    "random": "Random",
    "linucb": "LinUCB",
    "lin_ts": "Linear Thompson sampling",
    "d_linucb": "Discounted LinUCB",
    "rl2": "RL^2",
}
#: The ridge penalty ``lam`` of every linear method (the prior ``theta ~ N(0, I / lam)``).
RIDGE = 1.0
#: The values :func:`tune` tries, per algorithm and hyper-parameter.
TUNING_GRIDS: dict[str, dict[str, tuple[float, ...]]] = {
    "linucb": {"alpha": (0.0, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2, 2.0, 3.0)},
    "lin_ts": {"v": (0.05, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2)},
    "d_linucb": {"gamma": (0.8, 0.9, 0.95, 0.98), "alpha": (0.0, 0.1, 0.2, 0.3, 0.5, 0.8)},
}
#: Training users per tuning run and their seed.
TUNING_TASKS = 2000
TUNING_SEED = 2019
#: ``tune(algorithm).best`` for each algorithm (default family: 10 items, 4 features,
#: 100 steps, shifts uniform on steps 25-75); ``tests/test_recommend.py`` re-runs it.
TUNED: dict[str, dict[str, float]] = {
    "random": {},
    "linucb": {"alpha": 1.2},
    "lin_ts": {"v": 0.3},
    "d_linucb": {"gamma": 0.9, "alpha": 0.5},
}

_HYPER_NAMES: dict[str, tuple[str, ...]] = {
    "random": (),
    "linucb": ("alpha",),
    "lin_ts": ("v",),
    "d_linucb": ("gamma", "alpha"),
}


class Session(NamedTuple):
    """What a recommender did in one session with each of ``B`` users.

    Attributes:
        actions: the item shown, int64, shape ``(B, n)``.
        clicks: ``1.0`` for a click, shape ``(B, n)``.
        regret: the expected regret of each step, ``max_i mu_i(t) - mu_a(t)``, shape ``(B, n)``.
    """

    actions: np.ndarray
    clicks: np.ndarray
    regret: np.ndarray

    @property
    def cumulative_regret(self) -> np.ndarray:
        """Regret summed over the steps so far, shape ``(B, n)``."""
        return self.regret.cumsum(axis=1)


# ---------------------------------------------------------------------------
# 1. Regret and the linear methods' maths
# ---------------------------------------------------------------------------


def regret_per_step(means: np.ndarray, actions: np.ndarray) -> np.ndarray:
    """``max_i mu_i(t) - mu_{a_t}(t)``.

    Args:
        means: shape ``(B, n, k)``.
        actions: shape ``(B, n)``.

    Returns:
        Shape ``(B, n)``, non-negative.
    """
    chosen = np.take_along_axis(means, actions[..., None], axis=-1)[..., 0]
    return means.max(axis=-1) - chosen


def ridge_update(
    a_matrix: np.ndarray, b: np.ndarray, x: np.ndarray, y: np.ndarray, gamma: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """One observation ``(x, y)`` into the ridge statistics, discounting the past by ``gamma``.

    ``A <- gamma A + x x^T + (1 - gamma) lam I`` and ``b <- gamma b + y x``; with
    ``gamma = 1`` these are LinUCB's sums. The ``(1 - gamma) lam I`` term keeps the
    penalty at ``lam`` as the data are forgotten (Russac et al., 2019).

    Args:
        a_matrix: shape ``(B, d, d)``.
        b: shape ``(B, d)``.
        x: shape ``(B, d)``, the shown items' features.
        y: shape ``(B,)``, the centred clicks ``2 c - 1``.
        gamma: the discount, in ``(0, 1]``.
    """
    d = x.shape[-1]
    outer = x[:, :, None] * x[:, None, :]
    a_new = gamma * a_matrix + outer + (1.0 - gamma) * RIDGE * np.eye(d)
    return a_new, gamma * b + y[:, None] * x


def linucb_scores(
    items: np.ndarray, theta_hat: np.ndarray, a_inv: np.ndarray, alpha: float
) -> np.ndarray:
    """LinUCB's score of every item: ``x_i . theta_hat + alpha sqrt(x_i^T A^-1 x_i)``.

    Args:
        items: shape ``(k, d)``.
        theta_hat: shape ``(B, d)``, the ridge estimate ``A^-1 b``.
        a_inv: shape ``(B, d, d)``, ``A^-1``.
        alpha: the exploration constant.

    Returns:
        Shape ``(B, k)``.
    """
    width = np.einsum("kd,bde,ke->bk", items, a_inv, items)
    return theta_hat @ items.T + alpha * np.sqrt(np.maximum(width, 0.0))


def thompson_sample(
    theta_hat: np.ndarray, a_inv: np.ndarray, v: float, z: np.ndarray
) -> np.ndarray:
    """A draw ``theta_tilde = theta_hat + v L z`` from ``N(theta_hat, v^2 A^-1)``,
    with ``L L^T = A^-1`` (Cholesky) and ``z`` standard normal, shape ``(B, d)``."""
    chol = np.linalg.cholesky(a_inv)
    return theta_hat + v * np.einsum("bde,be->bd", chol, z)


def d_linucb_width(items: np.ndarray, a_inv: np.ndarray, a_tilde: np.ndarray) -> np.ndarray:
    """Discounted LinUCB's width ``sqrt(x_i^T A^-1 A~ A^-1 x_i)``, shape ``(B, k)``."""
    middle = a_inv @ a_tilde @ a_inv
    return np.sqrt(np.maximum(np.einsum("kd,bde,ke->bk", items, middle, items), 0.0))


def d_linucb_update(
    a_matrix: np.ndarray,
    a_tilde: np.ndarray,
    b: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    gamma: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Discounted LinUCB's statistics after one observation: ``A`` and ``b`` by
    :func:`ridge_update` with ``gamma``, and ``A~`` (the variance term) with ``gamma^2``."""
    a_new, b_new = ridge_update(a_matrix, b, x, y, gamma)
    a_tilde_new, _ = ridge_update(a_tilde, b, x, y, gamma**2)
    return a_new, a_tilde_new, b_new


# ---------------------------------------------------------------------------
# 2. Playing sessions with the classic recommenders
# ---------------------------------------------------------------------------


def _check_hyper(algorithm: str, hyper: Mapping[str, float]) -> dict[str, float]:
    allowed = _HYPER_NAMES[algorithm]
    for name in hyper:
        if name not in allowed:
            options = ", ".join(allowed) if allowed else "none"
            raise ValueError(
                f"{name}={hyper[name]!r} is not a hyper-parameter of {algorithm!r}: "
                f"allowed are {options}"
            )
    out = {**TUNED[algorithm], **{k: float(v) for k, v in hyper.items()}}
    if "alpha" in out:
        check_in_range("alpha", out["alpha"], 0.0, math.inf)
    if "v" in out:
        check_in_range("v", out["v"], 0.0, math.inf)
    if "gamma" in out:
        check_in_range("gamma", out["gamma"], 0.0, 1.0, low_inclusive=False)
    return out


def play(
    algorithm: str,
    tasks: UserTasks,
    steps: int,
    rng: np.random.Generator,
    *,
    items: np.ndarray | None = None,
    **hyper: float,
) -> Session:
    """Play one session of ``steps`` recommendations with each user.

    Args:
        algorithm: one of :data:`ALGORITHMS`.
        tasks: ``B`` users.
        steps: ``n``.
        rng: first the click table ``u``, shape ``(B, n, k)``, then the method's own
            draws (ties, Thompson samples, random items).
        items: the catalogue, shape ``(k, d)``; default ``catalogue(10, d)``.
        **hyper: ``alpha`` (LinUCB, discounted LinUCB), ``v`` (Thompson sampling),
            ``gamma`` (discounted LinUCB); missing ones come from :data:`TUNED`.

    Returns:
        The session (:class:`Session`).
    """
    check_choice("algorithm", algorithm, ALGORITHMS)
    check_positive_int("steps", steps)
    params = _check_hyper(algorithm, hyper)
    items = catalogue(drifting_users.N_ITEMS, tasks.d) if items is None else items
    means = session_means(tasks, items, steps)
    n_users, k = tasks.n_tasks, items.shape[0]
    d = items.shape[1]
    u = rng.random((n_users, steps, k))
    rows = np.arange(n_users)
    a_matrix = np.broadcast_to(RIDGE * np.eye(d), (n_users, d, d)).copy()
    a_tilde = a_matrix.copy()
    b = np.zeros((n_users, d))
    gamma = params.get("gamma", 1.0)
    actions = np.empty((n_users, steps), dtype=np.int64)
    clicks = np.empty((n_users, steps))
    for t in range(steps):
        if algorithm == "random":
            arms = rng.integers(0, k, size=n_users)
        else:
            a_inv = np.linalg.inv(a_matrix)
            theta_hat = np.einsum("bde,be->bd", a_inv, b)
            if algorithm == "linucb":
                scores = linucb_scores(items, theta_hat, a_inv, params["alpha"])
            elif algorithm == "lin_ts":
                z = rng.standard_normal((n_users, d))
                scores = thompson_sample(theta_hat, a_inv, params["v"], z) @ items.T
            else:
                width = d_linucb_width(items, a_inv, a_tilde)
                scores = theta_hat @ items.T + params["alpha"] * width
            arms = argmax_random_ties(scores, rng)
        click = (u[rows, t, arms] < means[rows, t, arms]).astype(np.float64)
        actions[:, t] = arms
        clicks[:, t] = click
        if algorithm != "random":
            x, y = items[arms], 2.0 * click - 1.0
            if algorithm == "d_linucb":
                a_matrix, a_tilde, b = d_linucb_update(a_matrix, a_tilde, b, x, y, gamma)
            else:
                a_matrix, b = ridge_update(a_matrix, b, x, y)
    return Session(actions, clicks, regret_per_step(means, actions))


class TuneResult(NamedTuple):
    """The outcome of :func:`tune`.

    Attributes:
        values: the settings tried, as dicts.
        regrets: mean cumulative regret over the session on the training users, per setting.
        best: the setting with the least regret (the first, on a tie).
    """

    values: tuple[dict[str, float], ...]
    regrets: tuple[float, ...]
    best: dict[str, float]


def tune(
    algorithm: str,
    *,
    n_tasks: int = TUNING_TASKS,
    seed: int = TUNING_SEED,
    steps: int = drifting_users.N_STEPS,
) -> TuneResult:
    """Choose ``algorithm``'s constants on training users (never held-out ones).

    Every setting of :data:`TUNING_GRIDS` plays the same ``n_tasks`` users of
    ``sample_tasks(default_rng(seed), n_tasks)`` with the same random numbers
    (a fresh ``default_rng([seed, 1])`` each); the least mean cumulative regret wins.
    """
    check_choice("algorithm", algorithm, tuple(TUNING_GRIDS))
    check_positive_int("n_tasks", n_tasks)
    tasks = drifting_users.sample_tasks(np.random.default_rng(seed), n_tasks)
    grid = TUNING_GRIDS[algorithm]
    names = list(grid)
    values = tuple(
        dict(zip(names, combo, strict=True))
        for combo in np.array(np.meshgrid(*grid.values(), indexing="ij")).reshape(len(names), -1).T
    )
    values = tuple({k: float(v) for k, v in value.items()} for value in values)
    regrets = []
    for value in values:
        session = play(algorithm, tasks, steps, np.random.default_rng([seed, 1]), **value)
        regrets.append(float(session.regret.sum(axis=1).mean()))
    return TuneResult(values, tuple(regrets), values[int(np.argmin(regrets))])


# ---------------------------------------------------------------------------
# 3. The RL^2 recommender
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RecommenderConfig:
    """Settings of one RL^2 recommender run; the defaults are the chapter's run
    (about three minutes of one CPU core).

    Attributes:
        items: items in the catalogue (``k``); the catalogue is ``catalogue(items, features)``.
        features: item features (``d``).
        steps: recommendations per session (``n``), one trial of RL^2.
        shift_low, shift_high: training users' shift steps, uniform on this range.
        hidden: hidden units of the GRU.
        batch: users per update.
        updates: parameter updates.
        lr: Adam's initial step size; it falls linearly to ``lr * lr_end``.
        lr_end: the final step size as a fraction of ``lr``.
        gae_lambda: lambda of the advantage estimates (the discount is 1).
        entropy_coef: initial weight of the entropy bonus, annealed to zero over
            the first ``entropy_anneal`` of the run.
        entropy_anneal: that fraction.
        value_coef: weight of the value loss.
        max_grad_norm: gradient clipping.
        epochs, minibatches, clip: PPO's passes per batch, minibatches per pass and
            ratio clip.
        expected_reward: train on the clicked item's click probability ``mu_a(t)``
            instead of the sampled click (same expectation, less noise; only a
            simulator can give it, and the policy never sees it).
        seed: seeds the weights, the training users and every draw.
    """

    items: int = drifting_users.N_ITEMS
    features: int = drifting_users.N_FEATURES
    steps: int = drifting_users.N_STEPS
    shift_low: int = drifting_users.SHIFT_RANGE[0]
    shift_high: int = drifting_users.SHIFT_RANGE[1]
    hidden: int = 48
    batch: int = 256
    updates: int = 240
    lr: float = 4e-3
    lr_end: float = 0.3
    gae_lambda: float = 0.95
    entropy_coef: float = 0.01
    entropy_anneal: float = 0.8
    value_coef: float = 0.5
    max_grad_norm: float = 1.0
    epochs: int = 4
    minibatches: int = 4
    clip: float = 0.2
    expected_reward: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        check_in_range("items", self.items, 2, 1000)
        check_in_range("features", self.features, 1, 100)
        check_positive_int("steps", self.steps)
        check_positive_int("shift_low", self.shift_low)
        check_in_range("shift_high", self.shift_high, self.shift_low, math.inf)
        check_positive_int("hidden", self.hidden)
        check_positive_int("batch", self.batch)
        check_non_negative_int("updates", self.updates)
        check_in_range("lr", self.lr, 0.0, 1.0, low_inclusive=False)
        check_in_range("lr_end", self.lr_end, 0.0, 1.0)
        check_in_range("gae_lambda", self.gae_lambda, 0.0, 1.0)
        check_in_range("entropy_coef", self.entropy_coef, 0.0, math.inf)
        check_in_range("entropy_anneal", self.entropy_anneal, 0.0, 1.0)
        check_in_range("value_coef", self.value_coef, 0.0, math.inf)
        check_in_range("max_grad_norm", self.max_grad_norm, 0.0, math.inf, low_inclusive=False)
        check_positive_int("epochs", self.epochs)
        check_in_range("minibatches", self.minibatches, 1, self.batch)
        check_in_range("clip", self.clip, 0.0, 1.0, low_inclusive=False)
        if not isinstance(self.expected_reward, bool):
            raise ValueError(
                f"expected_reward={self.expected_reward!r} is not allowed: use True or False"
            )
        check_non_negative_int("seed", self.seed)


class RecommenderResult(NamedTuple):
    """What :func:`train_recommender` returns: the policy and its history
    (``episode_returns``: mean clicks per session of each update's batch)."""

    model: rl2.GRUPolicy
    history: History


def policy_for(
    config: RecommenderConfig, generator: torch.Generator | None = None
) -> rl2.GRUPolicy:
    """The (untrained) network of a run: chapter 4's GRU policy with ``k`` actions and a
    critic that sees the current click probabilities (training only)."""
    return rl2.GRUPolicy(config.items, config.hidden, generator, task_critic=True)


def _expected_rewards(means: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """``mu_{a_t}(t)``: means ``(n, B, k)``, actions ``(n, B)`` -> ``(n, B)``."""
    return means.gather(-1, actions.unsqueeze(-1)).squeeze(-1)


@single_threaded
def train_recommender(
    config: RecommenderConfig, progress: bool = False, *, stop_after: int | None = None
) -> RecommenderResult:
    """Meta-train an RL^2 recommender across training users whose preferences shift.

    Each update draws ``batch`` users (``sample_tasks``), plays a session with each
    (:func:`metarl_lite.rl2.rollout`, the means changing at each user's shift),
    computes GAE advantages, and takes PPO steps, as :func:`metarl_lite.rl2.train_rl2`.

    Args:
        config: the run's settings.
        progress: show a progress bar.
        stop_after: stop after this many updates (schedules follow ``config.updates``).

    Raises:
        TrainingDivergedError: if the loss turns NaN or infinite.
    """
    start = time.perf_counter()
    generator = torch_generator(config.seed)
    rng = np.random.default_rng(config.seed)
    items = catalogue(config.items, config.features)
    model = policy_for(config, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history = History(config=dataclasses.asdict(config))
    weights = rl2.horizon_weights(config.steps, 1.0).unsqueeze(1)
    shift_range = (config.shift_low, config.shift_high)
    n_updates = config.updates if stop_after is None else min(stop_after, config.updates)
    for update in tqdm(range(n_updates), disable=not progress, desc="RL^2 recommender"):
        lr = rl2.linear_schedule(config.lr, config.lr * config.lr_end, update, config.updates, 1.0)
        entropy_coef = rl2.linear_schedule(
            config.entropy_coef, 0.0, update, config.updates, config.entropy_anneal
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        tasks = drifting_users.sample_tasks(rng, config.batch, config.features, shift_range)
        means_np = session_means(tasks, items, config.steps).transpose(1, 0, 2)
        means = torch.as_tensor(means_np, dtype=torch.float32)  # (n, B, k)
        draws = rl2.draw(config.batch, config.items, config.steps, generator)
        trial = rl2.rollout(model, means, draws)
        rewards = (
            _expected_rewards(means, trial.actions) if config.expected_reward else trial.rewards
        )
        old_values = weights * trial.values
        advantages = rl2.gae(rewards / config.steps, old_values, 1.0, config.gae_lambda)
        returns = advantages + old_values
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        losses = []
        for index in rl2.minibatches(config.batch, config.epochs, config.minibatches, generator):
            logits, rates, _ = model(trial.inputs[:, index], None, means[:, index])
            loss = rl2.ppo_loss(
                logits,
                weights * rates,
                trial.actions[:, index],
                trial.log_probs[:, index],
                advantages[:, index],
                returns[:, index],
                clip=config.clip,
                value_coef=config.value_coef,
                entropy_coef=entropy_coef,
            )
            losses.append(
                rl2.gradient_step(
                    optimizer, loss.total, config.max_grad_norm, "RL^2 recommender loss", update
                )
            )
        steps = (update + 1) * config.batch * config.steps
        history.episode_steps.append(steps)
        history.episode_returns.append(trial.rewards.sum(dim=0).mean().item())
        history.loss_steps.append(steps)
        history.losses.append(sum(losses) / len(losses))
    history.wall_time = time.perf_counter() - start
    return RecommenderResult(model, history)


@single_threaded
def evaluate_rl2(
    model: rl2.GRUPolicy,
    tasks: UserTasks,
    steps: int,
    rng: np.random.Generator,
    *,
    items: np.ndarray | None = None,
    greedy: bool = False,
) -> Session:
    """Play one session with each user with the trained policy (weights fixed).

    ``rng``'s first draw is the click table ``(B, n, k)``, as in :func:`play`, so
    that RL^2 and the classic methods meet the same clicks (common random numbers).
    """
    check_positive_int("steps", steps)
    items = catalogue(model.arms, tasks.d) if items is None else items
    if items.shape[0] != model.arms:
        raise ValueError(f"items has {items.shape[0]} rows: this model recommends {model.arms}")
    means = session_means(tasks, items, steps)
    draws = rl2.draw_numpy(tasks.n_tasks, model.arms, steps, rng)
    trial = rl2.rollout(model, torch.as_tensor(means.transpose(1, 0, 2)), draws, greedy=greedy)
    actions = trial.actions.T.numpy()
    return Session(
        actions, trial.rewards.T.numpy().astype(np.float64), regret_per_step(means, actions)
    )


def load_policy(config: Mapping[str, Any] | RecommenderConfig, path: str) -> rl2.GRUPolicy:
    """A stored policy: the network of ``config`` with the weights at ``path``."""
    if not isinstance(config, RecommenderConfig):
        config = RecommenderConfig(**config)
    model = policy_for(config)
    model.load_state_dict(torch.load(path, weights_only=True))
    return model
