"""Deep Q-Networks (Mnih et al., 2015) for discrete-action Gymnasium tasks.

The file is split the way the chapter is: first the pieces (the Q-network and
small pure functions for the TD target, the loss and the exploration
schedule), then :func:`train_dqn`, which reads top to bottom like the DQN
pseudocode, and :func:`evaluate`, which measures the greedy policy.

Two ablations from the chapter are switches of :class:`DQNConfig`:

* ``use_target_network=False`` computes the TD target with the online
  network itself instead of a periodically synchronised copy;
* ``use_replay=False`` keeps no replay memory: every gradient step uses the
  ``batch_size`` most recent transitions, in order, instead of a uniform
  sample of the last ``buffer_size`` ones.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import math
import time
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from metarl_lite._checks import (
    check_choice,
    check_in_range,
    check_non_negative_int,
    check_positive,
    check_positive_int,
)
from metarl_lite.envs import make_env
from metarl_lite.history import History, check_finite
from metarl_lite.replay import Batch, ReplayBuffer
from metarl_lite.seeding import single_threaded, torch_generator

ENV_IDS: tuple[str, ...] = ("CartPole-v1",)
"""Environment ids :class:`DQNConfig` accepts: those of
:data:`metarl_lite.envs.ENV_IDS` (built with :func:`metarl_lite.envs.make_env`)
that have vector observations and discrete actions."""

LOSS_KINDS: tuple[str, ...] = ("mse", "huber")
"""Values of ``DQNConfig.loss`` and of ``dqn_loss(kind=...)``."""

EVAL_SEED_OFFSET = 1_000_000
"""Greedy evaluations of a run with seed ``s`` reset their episodes with seeds
``s + EVAL_SEED_OFFSET + i``, far from the training environment's seed."""


# ---------------------------------------------------------------------------
# The pieces: network and pure functions
# ---------------------------------------------------------------------------


class QNetwork(nn.Module):
    """A multilayer perceptron mapping an observation to one value per action.

    Args:
        obs_dim: length of the observation vector.
        n_actions: number of discrete actions.
        hidden: widths of the hidden layers (ReLU after each); ``()`` gives a
            linear Q-function.
        generator: if given, the weights are drawn from it (with PyTorch's
            default ``nn.Linear`` scheme, uniform in ``±1/sqrt(fan_in)``)
            instead of from the global random state.

    Shapes:
        ``forward(obs)``: ``(B, obs_dim) -> (B, n_actions)``, or
        ``(obs_dim,) -> (n_actions,)``.
    """

    def __init__(
        self,
        obs_dim: int,
        n_actions: int,
        hidden: tuple[int, ...] = (128, 128),
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        check_positive_int("obs_dim", obs_dim)
        check_positive_int("n_actions", n_actions)
        for width in hidden:
            check_positive_int("hidden", width)
        sizes = [obs_dim, *hidden, n_actions]
        layers: list[nn.Module] = []
        for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(nn.ReLU())
        self.net = nn.Sequential(*layers)
        if generator is not None:
            with torch.no_grad():
                for layer in self.net:
                    if isinstance(layer, nn.Linear):
                        bound = 1.0 / math.sqrt(layer.in_features)
                        layer.weight.uniform_(-bound, bound, generator=generator)
                        layer.bias.uniform_(-bound, bound, generator=generator)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        """Q-values of every action, ``(B, obs_dim) -> (B, n_actions)``."""
        return self.net(obs)


def td_target(
    rewards: torch.Tensor,
    next_q_target: torch.Tensor,
    terminated: torch.Tensor,
    gamma: float,
) -> torch.Tensor:
    """One-step Q-learning target ``r + gamma * (1 - terminated) * max_a' Q(s', a')``.

    A truncated transition (time limit) must come with ``terminated = 0`` so
    that it bootstraps; only a true terminal state cuts the sum.

    Args:
        rewards: ``(B,)``.
        next_q_target: Q-values of the next observations, ``(B, n_actions)``,
            usually from the target network.
        terminated: ``(B,)``, 1.0 for terminal transitions, else 0.0.
        gamma: discount factor in [0, 1].

    Returns:
        The targets, ``(B,)``, detached from any graph.
    """
    next_value = next_q_target.max(dim=1).values
    return (rewards + gamma * (1.0 - terminated) * next_value).detach()


def dqn_loss(
    q_values: torch.Tensor,
    actions: torch.Tensor,
    targets: torch.Tensor,
    kind: str = "huber",
) -> torch.Tensor:
    """Mean TD loss between ``Q(s, a)`` of the taken actions and the targets.

    Args:
        q_values: online Q-values, ``(B, n_actions)``.
        actions: actions taken, ``(B,)``, int64.
        targets: TD targets, ``(B,)``.
        kind: ``"mse"`` (half squared error is *not* used: plain mean squared
            error) or ``"huber"`` (smooth L1 with threshold 1, as in the DQN
            paper's error clipping).

    Returns:
        A scalar tensor.
    """
    check_choice("kind", kind, LOSS_KINDS)
    q_taken = q_values.gather(1, actions.unsqueeze(1)).squeeze(1)
    if kind == "mse":
        return F.mse_loss(q_taken, targets)
    return F.smooth_l1_loss(q_taken, targets)


def linear_epsilon(step: int, start: float, end: float, duration: int) -> float:
    """Exploration rate that falls linearly from ``start`` to ``end``.

    Returns ``start`` at ``step = 0``, ``end`` from ``step = duration`` on
    (and at once when ``duration`` is 0).
    """
    if duration <= 0:
        return end
    fraction = min(max(step, 0) / duration, 1.0)
    return start + fraction * (end - start)


def polyak_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """In place, ``target <- tau * source + (1 - tau) * target``; ``tau=1`` copies."""
    with torch.no_grad():
        for t, s in zip(target.parameters(), source.parameters(), strict=True):
            if tau == 1.0:
                t.copy_(s)
            else:
                t.lerp_(s, tau)


# ---------------------------------------------------------------------------
# Configuration
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    """Settings of one DQN run; defaults are tuned for CartPole-v1.

    They start from rl-zoo3's tuned CartPole-v1 DQN (rounds of gradient steps
    every 256 environment steps, a target network re-synchronised before each
    round, Huber loss, gradient clipping, epsilon 1 -> 0.04 over 8k steps)
    and trade its 128 small steps per round on a 256-256 network for 48 steps
    on batches of 256 with a 128-128 network and a learning rate of 1.5e-3:
    a third of the compute, and on seeds 0-4 every run's greedy policy
    reaches a mean return of 475 within 50k steps (``benchmarks/dqn_cartpole.py``).
    """

    env_id: str = "CartPole-v1"
    """Gymnasium id of the task; one of :data:`ENV_IDS`."""
    total_steps: int = 50_000
    """Environment steps of training."""
    learning_rate: float = 1.5e-3
    """Adam step size."""
    gamma: float = 0.99
    """Discount factor, in [0, 1]."""
    batch_size: int = 256
    """Transitions per gradient step; at most ``buffer_size``."""
    buffer_size: int = 100_000
    """Capacity of the replay memory (ignored when ``use_replay`` is False)."""
    learning_starts: int = 1_000
    """Environment steps of pure collection before the first gradient step."""
    train_frequency: int = 256
    """Do a round of gradient steps every this many environment steps."""
    gradient_steps: int = 48
    """Gradient steps in each round."""
    use_replay: bool = True
    """False: no replay memory; each gradient step uses the ``batch_size``
    most recent transitions."""
    use_target_network: bool = True
    """False: TD targets come from the online network itself."""
    target_update_period: int = 10
    """Update the target network every this many environment steps."""
    tau: float = 1.0
    """Target update rate in (0, 1]; 1 copies the online network."""
    loss: str = "huber"
    """TD loss, ``"huber"`` or ``"mse"``."""
    max_grad_norm: float | None = 10.0
    """Clip the gradient's global norm to this (None: no clipping)."""
    epsilon_start: float = 1.0
    """Exploration rate at step 0, in [0, 1]."""
    epsilon_end: float = 0.04
    """Exploration rate after the decay, in [0, 1]."""
    epsilon_decay_steps: int = 8_000
    """Environment steps over which epsilon falls linearly."""
    hidden: tuple[int, ...] = (128, 128)
    """Hidden-layer widths of the Q-network."""
    eval_every: int = 2_500
    """Evaluate the greedy policy every this many environment steps."""
    eval_episodes: int = 20
    """Episodes per greedy evaluation."""
    log_every: int = 1_000
    """Record the mean loss every this many environment steps."""
    seed: int = 0
    """Seed of the run: network, sampling, exploration and environments."""

    def __post_init__(self) -> None:
        check_choice("env_id", self.env_id, ENV_IDS)
        check_positive_int("total_steps", self.total_steps)
        check_positive("learning_rate", self.learning_rate)
        check_in_range("gamma", self.gamma, 0.0, 1.0)
        check_positive_int("batch_size", self.batch_size)
        check_positive_int("buffer_size", self.buffer_size)
        if self.use_replay and self.batch_size > self.buffer_size:
            raise ValueError(
                f"batch_size={self.batch_size!r} is larger than buffer_size="
                f"{self.buffer_size!r}: allowed is 1 to buffer_size"
            )
        check_non_negative_int("learning_starts", self.learning_starts)
        check_positive_int("train_frequency", self.train_frequency)
        check_positive_int("gradient_steps", self.gradient_steps)
        check_choice("use_replay", self.use_replay, (True, False))
        check_choice("use_target_network", self.use_target_network, (True, False))
        check_positive_int("target_update_period", self.target_update_period)
        check_in_range("tau", self.tau, 0.0, 1.0, low_inclusive=False)
        check_choice("loss", self.loss, LOSS_KINDS)
        if self.max_grad_norm is not None:
            check_positive("max_grad_norm", self.max_grad_norm)
        check_in_range("epsilon_start", self.epsilon_start, 0.0, 1.0)
        check_in_range("epsilon_end", self.epsilon_end, 0.0, 1.0)
        check_non_negative_int("epsilon_decay_steps", self.epsilon_decay_steps)
        if not isinstance(self.hidden, tuple):
            raise ValueError(
                f"hidden={self.hidden!r} is not allowed: it must be a tuple of positive integers"
            )
        for width in self.hidden:
            check_positive_int("hidden", width)
        check_positive_int("eval_every", self.eval_every)
        check_positive_int("eval_episodes", self.eval_episodes)
        check_positive_int("log_every", self.log_every)
        check_non_negative_int("seed", self.seed)


class DQNResult(NamedTuple):
    """What :func:`train_dqn` returns.

    Attributes:
        history: steps, returns, losses and wall time of the run.
        q_network: the trained online network, ready for :func:`evaluate`.
    """

    history: History
    q_network: QNetwork


# ---------------------------------------------------------------------------
# Evaluation and training
# ---------------------------------------------------------------------------


def evaluate(q_network: nn.Module, env_id: str, episodes: int, seed: int) -> np.ndarray:
    """Undiscounted returns of the greedy policy ``argmax_a Q(s, a)``.

    Episode ``i`` runs in its own environment reset with ``seed + i``; all
    episodes step in lockstep so the network sees one batch per step.

    Args:
        q_network: maps observations ``(B, obs_dim)`` to ``(B, n_actions)``.
        env_id: Gymnasium id of the task.
        episodes: number of episodes, ``E``.
        seed: seed of the first episode.

    Returns:
        The returns, shape ``(E,)``.
    """
    check_positive_int("episodes", episodes)
    check_non_negative_int("seed", seed)
    envs = [make_env(env_id) for _ in range(episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    obs = obs.astype(np.float32)
    returns = np.zeros(episodes)
    running = list(range(episodes))
    while running:
        with torch.no_grad():
            q = q_network(torch.from_numpy(obs[running]))
        actions = q.argmax(dim=1).tolist()
        still_running = []
        for i, action in zip(running, actions, strict=True):
            obs[i], reward, terminated, truncated, _ = envs[i].step(action)
            returns[i] += float(reward)
            if not (terminated or truncated):
                still_running.append(i)
        running = still_running
    for env in envs:
        env.close()
    return returns


def dqn_update(
    q_network: QNetwork,
    target_network: QNetwork,
    optimizer: torch.optim.Optimizer,
    batch: Batch,
    gamma: float,
    loss_kind: str,
    max_grad_norm: float | None,
) -> torch.Tensor:
    """One gradient step on the TD loss of ``batch``; returns the loss (detached).

    Pass ``target_network=q_network`` to compute targets with the online net.
    """
    with torch.no_grad():
        targets = td_target(batch.rewards, target_network(batch.next_obs), batch.terminated, gamma)
    loss = dqn_loss(q_network(batch.obs), batch.actions, targets, loss_kind)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_grad_norm is not None:
        nn.utils.clip_grad_norm_(q_network.parameters(), max_grad_norm)
    optimizer.step()
    return loss.detach()


@single_threaded
def train_dqn(config: DQNConfig, *, progress: bool = True) -> DQNResult:
    """Train a DQN agent; same config, same result, bit for bit.

    Args:
        config: the settings of the run.
        progress: show a tqdm progress bar.

    Returns:
        A :class:`DQNResult` with the :class:`History` (wall time apart,
        identical for identical configs) and the trained Q-network.

    Raises:
        TrainingDivergedError: if the loss becomes NaN or infinite; the
            message names the environment step.
    """
    start_time = time.perf_counter()
    history = History(config=dataclasses.asdict(config))
    rng = np.random.default_rng(config.seed)  # exploration
    gen = torch_generator(config.seed)  # network weights and replay sampling

    env = make_env(config.env_id)
    obs_dim = int(np.prod(env.observation_space.shape))
    n_actions = int(env.action_space.n)

    # Initialise the Q-network, its target copy and the replay memory.
    q_network = QNetwork(obs_dim, n_actions, config.hidden, generator=gen)
    target_network = copy.deepcopy(q_network) if config.use_target_network else q_network
    optimizer = torch.optim.Adam(q_network.parameters(), lr=config.learning_rate, fused=True)
    capacity = config.buffer_size if config.use_replay else config.batch_size
    buffer = ReplayBuffer(capacity, obs_dim)

    obs, _ = env.reset(seed=config.seed)
    episode_return = 0.0
    loss_sum, loss_count = 0.0, 0
    for step in tqdm(range(1, config.total_steps + 1), disable=not progress, desc="DQN"):
        # Act epsilon-greedily.
        epsilon = linear_epsilon(
            step, config.epsilon_start, config.epsilon_end, config.epsilon_decay_steps
        )
        if rng.random() < epsilon:
            action = int(rng.integers(n_actions))
        else:
            with torch.no_grad():
                action = int(q_network(torch.as_tensor(obs, dtype=torch.float32)).argmax())

        # Step the environment and store the transition. A time-limit
        # truncation is stored as non-terminal, so its target bootstraps.
        next_obs, reward, terminated, truncated, _ = env.step(action)
        buffer.add(obs, action, float(reward), next_obs, bool(terminated))
        episode_return += float(reward)
        if terminated or truncated:
            history.episode_steps.append(step)
            history.episode_returns.append(episode_return)
            episode_return = 0.0
            obs, _ = env.reset()
        else:
            obs = next_obs

        # Every train_frequency steps, a round of gradient steps on the TD loss.
        learning = step > config.learning_starts and len(buffer) >= config.batch_size
        if learning and step % config.train_frequency == 0:
            for _ in range(config.gradient_steps):
                if config.use_replay:
                    batch = buffer.sample(config.batch_size, gen)
                else:
                    batch = buffer.latest(config.batch_size)
                loss = dqn_update(
                    q_network,
                    target_network,
                    optimizer,
                    batch,
                    config.gamma,
                    config.loss,
                    config.max_grad_norm,
                ).item()
                check_finite("TD loss", loss, step)
                loss_sum += loss
                loss_count += 1

        # Periodically move the target network towards the online network.
        if config.use_target_network and step % config.target_update_period == 0:
            polyak_update(target_network, q_network, config.tau)

        # Logging and greedy evaluation on separately seeded environments.
        if step % config.log_every == 0 and loss_count > 0:
            history.loss_steps.append(step)
            history.losses.append(loss_sum / loss_count)
            loss_sum, loss_count = 0.0, 0
        if step % config.eval_every == 0:
            returns = evaluate(
                q_network, config.env_id, config.eval_episodes, config.seed + EVAL_SEED_OFFSET
            )
            history.eval_steps.append(step)
            history.eval_returns.append(float(returns.mean()))

    env.close()
    history.wall_time = time.perf_counter() - start_time
    return DQNResult(history, q_network)
