"""Tabular reinforcement learning: returns, Bellman equations, Q-learning.

Notation, shared with chapter 1 of the book: ``n_states`` states ``s``,
``n_actions`` actions ``a``, a model ``P[s, a, s_next]`` (transition
probabilities), ``R[s, a]`` (expected reward) and ``terminal[s]`` (episode
ends in ``s``; its value is zero), a discount ``gamma``. Value tables are
NumPy arrays: ``V`` of shape ``(n_states,)``, ``Q`` of shape
``(n_states, n_actions)``.

The functions are small and pure; :func:`train_q_learning` puts them
together into the algorithm of Watkins (1989), step by step as in the
chapter's pseudocode.
"""

# ruff: noqa: N803, N806 -- P, R, V, Q follow the maths (and Sutton and Barto's notation).

from __future__ import annotations

import dataclasses
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from tqdm.auto import tqdm

from metarl_lite._checks import (
    check_choice,
    check_in_range,
    check_non_negative_int,
    check_positive,
    check_positive_int,
)
from metarl_lite.envs import GRIDWORLD_ID, TABULAR_ENV_IDS, make_env
from metarl_lite.history import History, check_finite

# --- Returns ----------------------------------------------------------------------------------


def discounted_return(rewards: Sequence[float] | np.ndarray, gamma: float) -> float:
    """The discounted return ``G_0 = sum_k gamma**k * rewards[k]``.

    Args:
        rewards: ``r_1, r_2, ..., r_T`` of one episode, shape ``(T,)``.
        gamma: discount factor in ``[0, 1]``.
    """
    check_in_range("gamma", gamma, 0.0, 1.0)
    g = 0.0
    for r in reversed(np.asarray(rewards, dtype=float).tolist()):
        g = r + gamma * g
    return g


def returns_to_go(rewards: Sequence[float] | np.ndarray, gamma: float) -> np.ndarray:
    """The discounted return from every time step: ``G_t = r_{t+1} + gamma * G_{t+1}``.

    Args:
        rewards: shape ``(T,)``; ``rewards[t]`` is the reward after the action at step ``t``.
        gamma: discount factor in ``[0, 1]``.

    Returns:
        ``G`` of shape ``(T,)`` with ``G[t] = sum_k gamma**k * rewards[t + k]``.
    """
    check_in_range("gamma", gamma, 0.0, 1.0)
    r = np.asarray(rewards, dtype=float)
    g = np.zeros_like(r)
    running = 0.0
    for t in range(r.size - 1, -1, -1):
        running = r[t] + gamma * running
        g[t] = running
    return g


# --- Bellman equations and dynamic programming ------------------------------------------------


def bellman_backup(
    P: np.ndarray, R: np.ndarray, terminal: np.ndarray, V: np.ndarray, gamma: float
) -> np.ndarray:
    """One-step look-ahead: ``Q[s, a] = R[s, a] + gamma * sum_s' P[s, a, s'] V[s']``.

    Terminal states have value zero: ``V`` is masked there, and their rows of
    ``Q`` are zero.

    Args:
        P: shape ``(n_states, n_actions, n_states)``.
        R: shape ``(n_states, n_actions)``.
        terminal: bool, shape ``(n_states,)``.
        V: shape ``(n_states,)``.
        gamma: discount factor in ``[0, 1]``.

    Returns:
        ``Q`` of shape ``(n_states, n_actions)``.
    """
    V_live = np.where(terminal, 0.0, V)
    Q = R + gamma * (P @ V_live)
    Q[terminal] = 0.0
    return Q


def value_iteration(
    P: np.ndarray,
    R: np.ndarray,
    terminal: np.ndarray,
    gamma: float,
    tol: float = 1e-10,
    max_iterations: int = 100_000,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve the Bellman optimality equation by repeated backups.

    Iterates ``V <- max_a (R + gamma * P V)`` until no entry changes by more
    than ``tol`` (Bellman, 1957; Sutton and Barto, 2018, section 4.4).

    Args:
        P, R, terminal: the model, shapes as in :func:`bellman_backup`.
        gamma: discount factor in ``[0, 1]``. With ``gamma = 1`` every
            state must be able to reach a terminal state.
        tol: stop when ``max |V_new - V| <= tol``.
        max_iterations: raise if not converged after this many sweeps.

    Returns:
        ``(V, Q)``: optimal values of shape ``(n_states,)`` and
        ``(n_states, n_actions)``.
    """
    check_in_range("gamma", gamma, 0.0, 1.0)
    check_positive("tol", tol)
    check_positive_int("max_iterations", max_iterations)
    V = np.zeros(P.shape[0])
    for _ in range(max_iterations):
        Q = bellman_backup(P, R, terminal, V, gamma)
        V_new = Q.max(axis=1)
        delta = float(np.max(np.abs(V_new - V)))
        V = V_new
        if delta <= tol:
            return V, bellman_backup(P, R, terminal, V, gamma)
    raise RuntimeError(
        f"value iteration did not converge in max_iterations={max_iterations} sweeps "
        f"(last change {delta:.3g} > tol={tol}); with gamma=1 check that every state "
        "can reach a terminal state"
    )


def policy_evaluation(
    P: np.ndarray,
    R: np.ndarray,
    terminal: np.ndarray,
    policy: np.ndarray,
    gamma: float,
) -> np.ndarray:
    """The value ``V_pi`` of a fixed policy, by solving the Bellman expectation equation.

    Solves the linear system ``V = R_pi + gamma * P_pi V`` exactly, with
    ``V = 0`` on terminal states.

    Args:
        P, R, terminal: the model, shapes as in :func:`bellman_backup`.
        policy: either actions of shape ``(n_states,)`` (deterministic) or
            probabilities ``pi[s, a]`` of shape ``(n_states, n_actions)``.
        gamma: discount factor in ``[0, 1]``.

    Returns:
        ``V`` of shape ``(n_states,)``. Use :func:`bellman_backup` for ``Q_pi``.
    """
    check_in_range("gamma", gamma, 0.0, 1.0)
    n_states, n_actions = R.shape
    pi = np.asarray(policy)
    if pi.shape == (n_states,):
        pi = np.eye(n_actions)[pi.astype(int)]
    if pi.shape != (n_states, n_actions):
        raise ValueError(
            f"policy has shape {np.shape(policy)}: it must be ({n_states},) or "
            f"({n_states}, {n_actions})"
        )
    P_pi = np.einsum("sa,sat->st", pi, P)
    R_pi = np.einsum("sa,sa->s", pi, R)
    live = ~np.asarray(terminal, dtype=bool)
    A = np.eye(n_states) - gamma * P_pi * live[None, :]
    A[~live] = np.eye(n_states)[~live]
    b = np.where(live, R_pi, 0.0)
    try:
        return np.linalg.solve(A, b)
    except np.linalg.LinAlgError as err:
        raise ValueError(
            f"the policy's value is not finite with gamma={gamma}: "
            "some states never reach a terminal state"
        ) from err


def greedy_policy(Q: np.ndarray) -> np.ndarray:
    """The greedy action in every state (lowest index on ties), shape ``(n_states,)``."""
    return np.argmax(Q, axis=1)


# --- Q-learning -------------------------------------------------------------------------------


def epsilon_greedy(q_row: np.ndarray, epsilon: float, rng: np.random.Generator) -> int:
    """Pick an action: uniformly at random with probability ``epsilon``, else greedily.

    Greedy ties are broken uniformly at random, so an all-zero table does not
    always pick action 0.

    Args:
        q_row: action values of one state, shape ``(n_actions,)``.
        epsilon: exploration probability in ``[0, 1]``.
        rng: the source of randomness.
    """
    check_in_range("epsilon", epsilon, 0.0, 1.0)
    if rng.random() < epsilon:
        return int(rng.integers(q_row.shape[0]))
    best = np.flatnonzero(q_row == q_row.max())
    return int(best[0]) if best.size == 1 else int(rng.choice(best))


def td_target(r: float, q_next_row: np.ndarray, terminated: bool, gamma: float) -> float:
    """The Q-learning target ``r + gamma * max_a' Q[s_next, a']``, or ``r`` if terminated.

    Args:
        r: reward of the transition.
        q_next_row: ``Q[s_next]``, shape ``(n_actions,)``.
        terminated: whether ``s_next`` ended the episode. A truncated episode
            (time limit) is *not* terminated: its next state still has a value.
        gamma: discount factor.
    """
    if terminated:
        return float(r)
    return float(r + gamma * np.max(q_next_row))


def q_learning_update(
    Q: np.ndarray,
    s: int,
    a: int,
    r: float,
    s_next: int,
    terminated: bool,
    alpha: float,
    gamma: float,
) -> np.ndarray:
    """One Q-learning step: ``Q[s, a] += alpha * (target - Q[s, a])``.

    Pure: returns a new table and leaves ``Q`` unchanged.

    Args:
        Q: shape ``(n_states, n_actions)``.
        s, a, r, s_next: the transition.
        terminated: ``True`` only if the episode ended in ``s_next`` (goal,
            pit); then the target is ``r``. Pass ``False`` when the episode was
            merely truncated, so the target bootstraps from ``Q[s_next]``.
        alpha: step size in ``(0, 1]``.
        gamma: discount factor in ``[0, 1]``.

    Returns:
        The updated table, shape ``(n_states, n_actions)``.
    """
    target = td_target(r, Q[s_next], terminated, gamma)
    Q_new = Q.copy()
    Q_new[s, a] += alpha * (target - Q[s, a])
    return Q_new


@dataclasses.dataclass(frozen=True)
class QLearningConfig:
    """Settings of one tabular Q-learning run.

    Attributes:
        env_id: a tabular environment, one of ``TABULAR_ENV_IDS``.
        episodes: training episodes.
        alpha: step size of the update, in ``(0, 1]``.
        gamma: discount factor, in ``[0, 1]``.
        epsilon: exploration probability of the epsilon-greedy behaviour policy, in ``[0, 1]``.
        q_init: initial value of every entry of the table (zero is optimistic
            for the gridworld, where most returns are negative).
        slip: gridworld slip probability, in ``[0, 1]``.
        max_steps: steps before an episode is truncated.
        eval_every: evaluate the greedy policy after every ``eval_every``
            training episodes (and once before training).
        eval_episodes: episodes per evaluation (one suffices when ``slip=0``).
        seed: seeds the environment and the behaviour policy.
    """

    env_id: str = GRIDWORLD_ID
    episodes: int = 300
    alpha: float = 0.5
    gamma: float = 0.95
    epsilon: float = 0.1
    q_init: float = 0.0
    slip: float = 0.0
    max_steps: int = 100
    eval_every: int = 10
    eval_episodes: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        check_choice("env_id", self.env_id, TABULAR_ENV_IDS)
        check_positive_int("episodes", self.episodes)
        check_in_range("alpha", self.alpha, 0.0, 1.0, low_inclusive=False)
        check_in_range("gamma", self.gamma, 0.0, 1.0)
        check_in_range("epsilon", self.epsilon, 0.0, 1.0)
        check_in_range("q_init", self.q_init, -np.inf, np.inf)
        check_in_range("slip", self.slip, 0.0, 1.0)
        check_positive_int("max_steps", self.max_steps)
        check_positive_int("eval_every", self.eval_every)
        check_positive_int("eval_episodes", self.eval_episodes)
        check_non_negative_int("seed", self.seed)

    def eval_episode_indices(self) -> np.ndarray:
        """Training episodes completed at each evaluation, shape ``(n_evals,)``:
        ``0, eval_every, 2 * eval_every, ...`` and the last episode."""
        idx = [*range(0, self.episodes, self.eval_every), self.episodes]
        return np.asarray(idx)


class QLearningResult(NamedTuple):
    """What :func:`train_q_learning` returns.

    Attributes:
        history: returns per episode, greedy evaluations (at the environment
            steps in ``history.eval_steps``; the matching episode counts are
            ``config.eval_episode_indices()``) and, as ``losses``, the mean
            absolute TD error of each training episode.
        q: the learned table, shape ``(n_states, n_actions)``.
    """

    history: History
    q: np.ndarray


def evaluate_greedy(env: Any, Q: np.ndarray, episodes: int) -> float:
    """Mean undiscounted return of the greedy policy ``argmax_a Q[s, a]`` over ``episodes``.

    The environment must have been seeded by an earlier ``reset(seed=...)``.
    """
    total = 0.0
    for _ in range(episodes):
        s, _ = env.reset()
        done = False
        while not done:
            s, r, terminated, truncated, _ = env.step(int(np.argmax(Q[s])))
            total += r
            done = terminated or truncated
    return total / episodes


def train_q_learning(config: QLearningConfig, *, progress: bool = True) -> QLearningResult:
    """Tabular Q-learning with an epsilon-greedy behaviour policy.

    For each episode: reset; until the episode ends, pick ``a`` epsilon-greedily
    from ``Q[s]``, step, update ``Q[s, a]`` towards ``r + gamma * max Q[s_next]``
    (towards ``r`` alone if the step terminated the episode). The greedy policy
    is evaluated before training and after every ``config.eval_every`` episodes,
    on a separate copy of the environment.

    Args:
        config: the settings; the run is a deterministic function of it.
        progress: show a progress bar over episodes.

    Returns:
        A :class:`QLearningResult` ``(history, q)``.
    """
    start_time = time.perf_counter()
    env = make_env(config.env_id, slip=config.slip, max_steps=config.max_steps)
    eval_env = make_env(config.env_id, slip=config.slip, max_steps=config.max_steps)
    rng = np.random.default_rng(config.seed)
    env.reset(seed=config.seed)
    eval_env.reset(seed=config.seed + 1)
    n_states, n_actions = env.observation_space.n, env.action_space.n
    Q = np.full((n_states, n_actions), float(config.q_init))
    history = History(config=dataclasses.asdict(config))
    steps = 0

    def evaluate() -> None:
        history.eval_steps.append(steps)
        history.eval_returns.append(evaluate_greedy(eval_env, Q, config.eval_episodes))

    evaluate()
    bar = tqdm(
        range(1, config.episodes + 1), desc="Q-learning", unit="episode", disable=not progress
    )
    for episode in bar:
        s, _ = env.reset()
        ep_return, abs_td, n = 0.0, 0.0, 0
        done = False
        while not done:
            a = epsilon_greedy(Q[s], config.epsilon, rng)
            s_next, r, terminated, truncated, _ = env.step(a)
            abs_td += abs(td_target(r, Q[s_next], terminated, config.gamma) - Q[s, a])
            Q = q_learning_update(Q, s, a, r, s_next, terminated, config.alpha, config.gamma)
            s, ep_return, n, steps = s_next, ep_return + r, n + 1, steps + 1
            done = terminated or truncated
        history.episode_steps.append(steps)
        history.episode_returns.append(ep_return)
        history.losses.append(abs_td / n)
        history.loss_steps.append(steps)
        check_finite("mean |TD error|", history.losses[-1], steps)
        if episode % config.eval_every == 0 or episode == config.episodes:
            evaluate()
            bar.set_postfix(greedy_return=f"{history.eval_returns[-1]:.1f}")
    env.close()
    eval_env.close()
    history.wall_time = time.perf_counter() - start_time
    return QLearningResult(history, Q)
