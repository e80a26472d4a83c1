"""Meta-DQN: chapter 2's DQN run on many tasks at once, with a meta-learned start
and a learned update rule.

The chapter's agent is the DQN of :mod:`metarl_lite.dqn`, with the same
:class:`~metarl_lite.dqn.DQNConfig` and the same loss. What changes is that one
run trains ``M`` independent Q-networks, one per task, in lockstep: their weights
carry a leading task axis (shape ``(M, ...)``), their replay memories are one
array with a task axis, and the ``M`` environments are one Gymnasium vector env.
Adam is coordinate-wise, so one ``torch.optim.Adam`` over the stacked weights is
``M`` independent Adams; gradient clipping is done per task. This is what makes a
meta-learner affordable on a CPU: its inner loop is a whole DQN run per task.

The meta-learner plays the two roles of the chapter:

* a **starting point** (:func:`train_reptile`): Reptile (Nichol et al., 2018)
  over DQN weights, moving a shared initialisation toward the weights that a
  short DQN run reaches on each training task; :func:`train_pretrained` is the
  baseline that trains one network on all training tasks together;
* an **update rule** (:func:`train_update_rule`): the coordinate-wise LSTM of
  :mod:`metarl_lite.learned_opt`, which reads each weight's gradient of the TD
  loss and writes that weight's update, meta-trained by truncated
  back-propagation through DQN updates on training tasks.

:func:`train_dqn_tasks` runs the meta-test: DQN on held-out tasks from any
starting point, with Adam or a learned rule.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from tqdm.auto import tqdm

from metarl_lite import learned_opt
from metarl_lite._checks import (
    check_choice,
    check_in_range,
    check_non_negative_int,
    check_positive_int,
)
from metarl_lite.dqn import EVAL_SEED_OFFSET, DQNConfig, QNetwork, linear_epsilon
from metarl_lite.envs import flipped_cartpole, varied_cartpole
from metarl_lite.history import check_finite
from metarl_lite.seeding import single_threaded, torch_generator

FAMILIES: dict[str, ModuleType] = {
    varied_cartpole.VARIED_CARTPOLE_ID: varied_cartpole,
    flipped_cartpole.FLIPPED_CARTPOLE_ID: flipped_cartpole,
}
"""The task families, by environment id: each module has ``sample_tasks(rng, n)``,
``test_tasks(n)`` and a vector env that takes ``tasks=``."""

FAMILY_IDS: dict[str, str] = {
    "cartpole": varied_cartpole.VARIED_CARTPOLE_ID,
    "flipped": flipped_cartpole.FLIPPED_CARTPOLE_ID,
}
"""The families' short names (used by the benchmark, the widgets and the chapter)
and their environment ids."""

OBS_DIM = 4
N_ACTIONS = 2

Params = list[Tensor]
"""Q-network weights ``[W1, b1, W2, b2, W3, b3]`` in ``nn.Linear``'s layout, each
with a leading task axis: ``W`` is ``(M, out, in)``, ``b`` is ``(M, out)``."""


def check_family(env_id: str) -> ModuleType:
    """The family module of ``env_id``; a ValueError names the allowed ids."""
    check_choice("env_id", env_id, tuple(FAMILIES))
    return FAMILIES[env_id]


def vector_env(env_id: str, tasks: Any) -> Any:
    """The family's vector env with one sub-environment per task."""
    family = check_family(env_id)
    env_class = (
        flipped_cartpole.FlippedCartPoleVectorEnv
        if family is flipped_cartpole
        else varied_cartpole.VariedCartPoleVectorEnv
    )
    return env_class(num_envs=n_tasks(tasks), tasks=tasks)


def n_tasks(tasks: Any) -> int:
    """Number of tasks in a family's task batch."""
    if isinstance(tasks, varied_cartpole.CartPoleTasks):
        return len(tasks.gravity)
    return len(tasks.flipped)


# ---------------------------------------------------------------------------
# Q-networks with a task axis
# ---------------------------------------------------------------------------


def init_params(hidden: tuple[int, ...], n: int, generator: torch.Generator) -> Params:
    """``n`` freshly initialised Q-networks, stacked: network ``i`` is drawn as
    chapter 2's ``QNetwork(4, 2, hidden, generator=...)`` would be, in turn."""
    nets = [QNetwork(OBS_DIM, N_ACTIONS, hidden, generator=generator) for _ in range(n)]
    return [
        torch.stack(ps).detach() for ps in zip(*(net.parameters() for net in nets), strict=True)
    ]


def repeat_params(params: Params, n: int) -> Params:
    """``n`` independent copies of one network (weights with a task axis of size 1)."""
    if params[0].shape[0] != 1:
        raise ValueError(
            f"params has a task axis of size {params[0].shape[0]}: allowed is one network (size 1)"
        )
    return [p.detach().expand(n, *p.shape[1:]).clone() for p in params]


def q_values(params: Params, obs: Tensor) -> Tensor:
    """Q-values of every action, ``(M, B, 4) -> (M, B, 2)``; a task axis of
    size 1 in ``params`` broadcasts one network over all ``M`` rows of ``obs``."""
    x = obs
    m = obs.shape[0]
    n_layers = len(params) // 2
    for i in range(n_layers):
        weight = params[2 * i].expand(m, -1, -1)
        bias = params[2 * i + 1].expand(m, -1)
        x = torch.baddbmm(bias.unsqueeze(1), x, weight.transpose(1, 2))
        if i < n_layers - 1:
            x = torch.relu(x)
    return x


def td_losses(params: Params, target_params: Params, batch: TaskBatch, gamma: float) -> Tensor:
    """Chapter 2's Huber TD loss, one per task, ``(M,)``.

    Task ``m``'s entry equals ``dqn.dqn_loss(q, actions, dqn.td_target(...))`` on
    its own rows; summing over tasks and differentiating gives every network
    its own gradient.
    """
    with torch.no_grad():
        next_value = q_values(target_params, batch.next_obs).max(dim=2).values
        targets = batch.rewards + gamma * (1.0 - batch.terminated) * next_value
    q_taken = q_values(params, batch.obs).gather(2, batch.actions.unsqueeze(2)).squeeze(2)
    return F.smooth_l1_loss(q_taken, targets, reduction="none").mean(dim=1)


def clip_per_task(grads: Sequence[Tensor], max_norm: float | None) -> list[Tensor]:
    """Scale each task's gradient so its global norm is at most ``max_norm``, as
    ``torch.nn.utils.clip_grad_norm_`` does for one network (same ``1e-6``)."""
    if max_norm is None:
        return list(grads)
    sq = sum(g.pow(2).flatten(1).sum(dim=1) for g in grads)
    coef = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
    return [g * coef.view(-1, *([1] * (g.dim() - 1))) for g in grads]


# ---------------------------------------------------------------------------
# Replay memories and acting, for M tasks in lockstep
# ---------------------------------------------------------------------------


class TaskBatch(NamedTuple):
    """A minibatch per task: ``obs``, ``next_obs`` ``(M, B, 4)``; ``actions``
    ``(M, B)`` int64; ``rewards``, ``terminated`` ``(M, B)`` float32."""

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    next_obs: Tensor
    terminated: Tensor


class TaskReplay:
    """One ring-buffer replay memory per task, held as arrays with a task axis.

    Args:
        n: number of tasks ``M``.
        capacity: transitions kept per task.
    """

    def __init__(self, n: int, capacity: int) -> None:
        self.obs = torch.zeros(n, capacity, OBS_DIM)
        self.next_obs = torch.zeros(n, capacity, OBS_DIM)
        self.actions = torch.zeros(n, capacity, dtype=torch.int64)
        self.rewards = torch.zeros(n, capacity)
        self.terminated = torch.zeros(n, capacity)
        self.capacity = capacity
        self.pos = np.zeros(n, dtype=np.int64)
        self.size = np.zeros(n, dtype=np.int64)

    def add(self, rows: np.ndarray, obs, actions, rewards, next_obs, terminated) -> None:
        """Store one transition for each task in ``rows`` (the others skip a step)."""
        if rows.size == 0:
            return
        idx = torch.from_numpy(rows)
        pos = torch.from_numpy(self.pos[rows])
        self.obs[idx, pos] = torch.from_numpy(obs[rows])
        self.next_obs[idx, pos] = torch.from_numpy(next_obs[rows])
        self.actions[idx, pos] = torch.from_numpy(actions[rows])
        self.rewards[idx, pos] = torch.from_numpy(rewards[rows].astype(np.float32))
        self.terminated[idx, pos] = torch.from_numpy(terminated[rows].astype(np.float32))
        self.pos[rows] = (self.pos[rows] + 1) % self.capacity
        self.size[rows] = np.minimum(self.size[rows] + 1, self.capacity)

    def sample(self, batch_size: int, generator: torch.Generator) -> TaskBatch:
        """``batch_size`` transitions per task, uniformly from that task's memory."""
        n = len(self.size)
        u = torch.rand(n, batch_size, generator=generator, dtype=torch.float64)
        idx = (u * torch.from_numpy(self.size).unsqueeze(1)).long()
        rows = torch.arange(n).unsqueeze(1)
        return TaskBatch(
            self.obs[rows, idx],
            self.actions[rows, idx],
            self.rewards[rows, idx],
            self.next_obs[rows, idx],
            self.terminated[rows, idx],
        )


class Actor:
    """``M`` environments stepped together by epsilon-greedy Q-networks, each
    transition stored in its task's replay memory.

    The vector env resets a finished sub-environment on its *next* step
    (Gymnasium's ``NEXT_STEP`` autoreset); that reset step is counted as an
    environment step of the task but its (empty) transition is not stored.
    """

    def __init__(self, env_id: str, tasks: Any, config: DQNConfig, seed: int) -> None:
        self.env = vector_env(env_id, tasks)
        self.n = n_tasks(tasks)
        self.config = config
        self.rng = np.random.default_rng(seed)
        self.replay = TaskReplay(self.n, config.buffer_size)
        obs, _ = self.env.reset(seed=seed)
        self.obs = obs
        self.resetting = np.zeros(self.n, dtype=bool)
        self.episode_return = np.zeros(self.n)
        self.episode_returns: list[list[float]] = [[] for _ in range(self.n)]
        self.step_count = 0

    def step(self, params: Params) -> None:
        """One epsilon-greedy step in every environment."""
        self.step_count += 1
        c = self.config
        epsilon = linear_epsilon(
            self.step_count, c.epsilon_start, c.epsilon_end, c.epsilon_decay_steps
        )
        with torch.no_grad():
            greedy = q_values(params, torch.from_numpy(self.obs).unsqueeze(1))
        actions = greedy[:, 0].argmax(dim=1).numpy()
        explore = self.rng.random(self.n) < epsilon
        actions[explore] = self.rng.integers(N_ACTIONS, size=int(explore.sum()))
        next_obs, rewards, terminated, truncated, _ = self.env.step(actions)
        stored = np.flatnonzero(~self.resetting)
        self.replay.add(stored, self.obs, actions, rewards, next_obs, terminated)
        self.episode_return += rewards
        done = terminated | truncated
        for i in np.flatnonzero(done):
            self.episode_returns[i].append(float(self.episode_return[i]))
        self.episode_return[done] = 0.0
        self.resetting = done
        self.obs = next_obs

    def new_tasks(self, tasks: Any) -> None:
        """Go on with new tasks (same number): every environment starts a new
        episode; the replay memories keep what they hold."""
        self.obs, _ = self.env.reset(options={"tasks": tasks})
        self.resetting[:] = False
        self.episode_return[:] = 0.0

    def reseed(self, seed: int) -> None:
        """Re-seed the exploration generator."""
        self.rng = np.random.default_rng(seed)

    def ready(self) -> bool:
        """Whether this step has a round of gradient steps (chapter 2's schedule)."""
        c = self.config
        return (
            self.step_count > c.learning_starts
            and self.step_count % c.train_frequency == 0
            and bool((self.replay.size >= c.batch_size).all())
        )


def evaluate_tasks(
    params: Params, env_id: str, tasks: Any, episodes: int, seed: int
) -> np.ndarray:
    """Undiscounted returns of each task's greedy policy on its own task.

    Args:
        params: ``M`` networks (or one, with a task axis of size 1).
        env_id, tasks: the family and its ``M`` tasks.
        episodes: episodes per task, ``E``.
        seed: seed of the vector env that draws all ``M * E`` start states.

    Returns:
        ``(M, E)`` returns.
    """
    check_positive_int("episodes", episodes)
    m = n_tasks(tasks)
    env = vector_env(env_id, repeat_tasks(tasks, episodes))
    obs, _ = env.reset(seed=seed)
    returns = np.zeros(m * episodes)
    alive = np.ones(m * episodes, dtype=bool)
    while alive.any():
        with torch.no_grad():
            q = q_values(params, torch.from_numpy(obs).view(m, episodes, OBS_DIM))
        actions = q.argmax(dim=2).reshape(-1).numpy()
        obs, rewards, terminated, truncated, _ = env.step(actions)
        returns += rewards * alive
        alive &= ~(terminated | truncated)
    env.close()
    return returns.reshape(m, episodes)


def repeat_tasks(tasks: Any, k: int) -> Any:
    """Each task of a task batch ``k`` times in a row (``t0, t0, ..., t1, t1, ...``)."""
    return type(tasks)(
        *(
            repeat_tasks(field, k) if isinstance(field, tuple) else np.repeat(field, k, axis=0)
            for field in tasks
        )
    )


def select_tasks(tasks: Any, index: slice | np.ndarray) -> Any:
    """The tasks that ``index`` picks from a task batch (nested batches included)."""
    return type(tasks)(
        *(
            select_tasks(field, index) if isinstance(field, tuple) else field[index]
            for field in tasks
        )
    )


# ---------------------------------------------------------------------------
# DQN on M tasks at once: the meta-test, and the inner loop of Reptile
# ---------------------------------------------------------------------------


class TaskRunResult(NamedTuple):
    """What :func:`train_dqn_tasks` returns.

    Attributes:
        eval_steps: environment steps (per task) of the evaluations, ``(K,)``.
        eval_returns: mean greedy return of each task's network at each
            evaluation, ``(K, M)``.
        params: the trained networks, task axis ``M``.
        episode_returns: each task's training-episode returns.
        wall_time: seconds, evaluation included.
    """

    eval_steps: np.ndarray
    eval_returns: np.ndarray
    params: Params
    episode_returns: list[list[float]]
    wall_time: float


def gradient_step(
    params: Params,
    target_params: Params,
    batch: TaskBatch,
    config: DQNConfig,
    step: int,
) -> tuple[Tensor, list[Tensor]]:
    """The TD losses ``(M,)`` (detached) and their per-task clipped gradients."""
    losses = td_losses(params, target_params, batch, config.gamma)
    grads = torch.autograd.grad(losses.sum(), params)
    check_finite("TD loss", float(losses.detach().sum()), step)
    return losses.detach(), clip_per_task(grads, config.max_grad_norm)


def sync_target(target_params: Params, params: Params, tau: float) -> None:
    """``target <- tau * params + (1 - tau) * target``, in place, for every task."""
    with torch.no_grad():
        for t, p in zip(target_params, params, strict=True):
            t.lerp_(p.detach(), tau) if tau < 1.0 else t.copy_(p.detach())


@single_threaded
def train_dqn_tasks(
    env_id: str,
    tasks: Any,
    config: DQNConfig,
    *,
    init: Params | None = None,
    rule: learned_opt.LSTMRule | None = None,
    evaluate: bool = True,
    on_update: Callable[[list[Tensor], Params, Params], None] | None = None,
    progress: bool = False,
) -> TaskRunResult:
    """Chapter 2's DQN on each of ``M`` tasks, all in one loop.

    Args:
        env_id: the task family, a key of :data:`FAMILIES`.
        tasks: its ``M`` tasks; each gets its own network, memory and optimiser.
        config: the DQN settings (``config.env_id`` is not used: the family's
            vector env replaces it); ``config.seed`` seeds everything.
        init: one network to start every task from (task axis of size 1);
            ``None`` draws ``M`` fresh networks as chapter 2 does.
        rule: a learned update rule to use instead of Adam (then
            ``config.learning_rate`` is not used).
        evaluate: evaluate the greedy networks at step 0 and every
            ``config.eval_every`` steps, on episodes seeded from
            ``config.seed + EVAL_SEED_OFFSET``.
        on_update: if given, called after every update as
            ``on_update(grads, params_before, params_after)`` (the clipped
            gradients fed to the optimiser, and detached weights), to watch
            what the optimiser does with each gradient.
        progress: show a progress bar.

    Raises:
        TrainingDivergedError: if a TD loss becomes NaN or infinite.
    """
    start = time.perf_counter()
    m = n_tasks(tasks)
    gen = torch_generator(config.seed)
    params = init_params(config.hidden, m, gen) if init is None else repeat_params(init, m)
    for p in params:
        p.requires_grad_(True)
    target_params = [p.detach().clone() for p in params]
    adam = None
    state = None
    if rule is None:
        adam = torch.optim.Adam(params, lr=config.learning_rate)
    else:
        state = rule.initial_state(sum(p.numel() for p in params))
    actor = Actor(env_id, tasks, config, config.seed)
    eval_seed = config.seed + EVAL_SEED_OFFSET
    eval_steps: list[int] = []
    eval_returns: list[np.ndarray] = []

    def record(step: int) -> None:
        returns = evaluate_tasks(params, env_id, tasks, config.eval_episodes, eval_seed)
        eval_steps.append(step)
        eval_returns.append(returns.mean(axis=1))

    if evaluate:
        record(0)
    for step in tqdm(range(1, config.total_steps + 1), disable=not progress, desc="DQN"):
        actor.step(params)
        if actor.ready():
            for _ in range(config.gradient_steps):
                batch = actor.replay.sample(config.batch_size, gen)
                _, grads = gradient_step(params, target_params, batch, config, step)
                before = [p.detach().clone() for p in params] if on_update else []
                if adam is not None:
                    for p, g in zip(params, grads, strict=True):
                        p.grad = g
                    adam.step()
                else:
                    with torch.no_grad():
                        new, state = learned_opt.apply_rule(rule, params, grads, state)
                    params = [p.requires_grad_(True) for p in new]
                if on_update is not None:
                    on_update(grads, before, [p.detach() for p in params])
        if step % config.target_update_period == 0:
            sync_target(target_params, params, config.tau)
        if evaluate and step % config.eval_every == 0:
            record(step)
    actor.env.close()
    return TaskRunResult(
        np.asarray(eval_steps),
        np.asarray(eval_returns).reshape(len(eval_steps), m),
        [p.detach() for p in params],
        actor.episode_returns,
        time.perf_counter() - start,
    )


# ---------------------------------------------------------------------------
# The chapter's settings
# ---------------------------------------------------------------------------

CHAPTER_DQN = DQNConfig(hidden=(64, 64))
"""Chapter 2's DQN settings with a 64-64 Q-network (4,610 weights instead of
17,410), because the learned rule runs an LSTM on every weight at every step."""

FINE_TUNE_DQN = dataclasses.replace(
    CHAPTER_DQN, learning_starts=256, epsilon_start=0.1, epsilon_decay_steps=2_000
)
"""The settings for a network that already knows something: collection starts
after one batch's worth of steps, and exploration starts at 0.1, not 1."""


# ---------------------------------------------------------------------------
# A meta-learned starting point: Reptile over DQN weights, and its baseline
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class InitConfig:
    """Settings of meta-training a starting point (:func:`train_reptile`) or of
    pretraining one network on all training tasks (:func:`train_pretrained`).

    Both see the same tasks in the same order: ``iterations`` rounds of
    ``meta_batch`` tasks drawn from the family with ``seed``, each task run for
    ``inner_steps`` environment steps.
    """

    env_id: str = varied_cartpole.VARIED_CARTPOLE_ID
    """The task family, a key of :data:`FAMILIES`."""
    iterations: int = 60
    """Meta-iterations (rounds of tasks)."""
    meta_batch: int = 8
    """Training tasks per meta-iteration."""
    inner_steps: int = 1_500
    """Environment steps of DQN on each task per meta-iteration."""
    meta_lr: float = 1.0
    """Reptile's outer step size: the start moves this fraction of the way to
    the tasks' mean adapted weights (1: all the way)."""
    dqn: DQNConfig = FINE_TUNE_DQN
    """DQN settings of the inner runs (and of pretraining)."""
    eval_tasks: int = 8
    """Validation tasks on which the start is evaluated after each iteration."""
    eval_episodes: int = 5
    """Episodes per validation task."""
    seed: int = 0
    """Seed of the tasks, the networks and the inner runs."""

    def __post_init__(self) -> None:
        check_family(self.env_id)
        check_positive_int("iterations", self.iterations)
        check_positive_int("meta_batch", self.meta_batch)
        check_positive_int("inner_steps", self.inner_steps)
        check_in_range("meta_lr", self.meta_lr, 0.0, 1.0, low_inclusive=False)
        if self.dqn.learning_starts >= self.inner_steps:
            raise ValueError(
                f"dqn.learning_starts={self.dqn.learning_starts!r} is not below inner_steps="
                f"{self.inner_steps!r}: allowed is fewer collection steps than inner steps"
            )
        check_positive_int("eval_tasks", self.eval_tasks)
        check_positive_int("eval_episodes", self.eval_episodes)
        check_non_negative_int("seed", self.seed)


VALIDATION_SEED = 5_000_011
"""Seed of the validation tasks on which meta-training is monitored."""


class InitResult(NamedTuple):
    """What :func:`train_reptile` and :func:`train_pretrained` return.

    Attributes:
        init: the starting point, one network (task axis of size 1): of the
            starts after each iteration, the one with the highest mean return
            on the validation tasks (DQN's greedy policy can collapse late in
            training; the choice uses validation tasks, never test tasks).
        best_iteration: the iteration (from 0) whose start was kept.
        env_steps: environment steps of all tasks so far, after each iteration.
        returns: mean greedy return of ``init`` on the validation tasks after
            each iteration, before any adaptation.
        wall_time: seconds.
    """

    init: Params
    best_iteration: int
    env_steps: list[int]
    returns: list[float]
    wall_time: float


def _validation(config: InitConfig) -> Any:
    family = check_family(config.env_id)
    return family.sample_tasks(np.random.default_rng(VALIDATION_SEED), config.eval_tasks)


def _inner_round(
    actor: Actor,
    params: Params,
    target_params: Params,
    adam: torch.optim.Optimizer,
    first_step: int,
    n_steps: int,
    config: DQNConfig,
    generator: torch.Generator,
    *,
    pooled: bool,
) -> None:
    """``n_steps`` steps of DQN with Adam on ``actor``'s tasks, in place.

    With ``pooled`` one network (task axis 1) learns from minibatches drawn
    equally from every task's memory; otherwise each task's network from its own.
    """
    per_task = config.batch_size // actor.n if pooled else config.batch_size
    for step in range(first_step, first_step + n_steps):
        actor.step(params)
        if actor.ready():
            for _ in range(config.gradient_steps):
                batch = actor.replay.sample(per_task, generator)
                if pooled:
                    batch = TaskBatch(*(x.reshape(1, -1, *x.shape[2:]) for x in batch))
                _, grads = gradient_step(params, target_params, batch, config, step)
                for p, g in zip(params, grads, strict=True):
                    p.grad = g
                adam.step()
        if step % config.target_update_period == 0:
            sync_target(target_params, params, config.tau)


def _train_init(config: InitConfig, *, reptile: bool, progress: bool) -> InitResult:
    start = time.perf_counter()
    family = check_family(config.env_id)
    rng = np.random.default_rng(config.seed)
    gen = torch_generator(config.seed)
    dqn = dataclasses.replace(config.dqn, total_steps=config.iterations * config.inner_steps)
    if not reptile:
        check_positive_int("dqn.batch_size // meta_batch", dqn.batch_size // config.meta_batch)
    theta = init_params(dqn.hidden, 1, gen)
    validation = _validation(config)
    actor = Actor(config.env_id, family.sample_tasks(rng, config.meta_batch), dqn, 0)
    if not reptile:
        params = [p.requires_grad_(True) for p in theta]
        target = [p.detach().clone() for p in params]
        adam = torch.optim.Adam(params, lr=dqn.learning_rate)
    env_steps: list[int] = []
    returns: list[float] = []
    best = theta
    desc = "Reptile" if reptile else "pretraining"
    for it in tqdm(range(config.iterations), disable=not progress, desc=desc):
        if it > 0:
            actor.new_tasks(family.sample_tasks(rng, config.meta_batch))
        actor.reseed(int(rng.integers(2**31)))
        if reptile:
            params = [p.requires_grad_(True) for p in repeat_params(theta, config.meta_batch)]
            target = [p.detach().clone() for p in params]
            adam = torch.optim.Adam(params, lr=dqn.learning_rate)
        first = it * config.inner_steps + 1
        _inner_round(
            actor, params, target, adam, first, config.inner_steps, dqn, gen, pooled=not reptile
        )
        with torch.no_grad():
            if reptile:
                theta = [
                    t + config.meta_lr * (p.mean(dim=0, keepdim=True) - t)
                    for t, p in zip(theta, params, strict=True)
                ]
            else:
                theta = [p.detach().clone() for p in params]
        check_finite("start's weights", float(sum(t.sum() for t in theta)), it)
        env_steps.append((it + 1) * config.meta_batch * config.inner_steps)
        returns.append(
            float(
                evaluate_tasks(
                    theta, config.env_id, validation, config.eval_episodes, VALIDATION_SEED
                ).mean()
            )
        )
        if len(returns) == 1 or returns[-1] > max(returns[:-1]):
            best = [t.clone() for t in theta]
    actor.env.close()
    best_iteration = int(np.argmax(returns))
    return InitResult(best, best_iteration, env_steps, returns, time.perf_counter() - start)


@single_threaded
def train_reptile(config: InitConfig, *, progress: bool = False) -> InitResult:
    """Reptile over DQN weights.

    Each iteration draws ``meta_batch`` tasks, runs DQN from the current start
    ``theta`` on each for ``inner_steps`` steps (a fresh Adam, ``config.dqn``),
    and moves the start toward the mean of the adapted weights ``phi_i``:
    ``theta <- theta + meta_lr * (mean_i phi_i - theta)``.

    Each of the ``meta_batch`` slots keeps its replay memory from one
    iteration to the next (the exploration schedule runs on, too), as
    :func:`train_pretrained`'s memories do: a DQN run that starts every few
    thousand steps from an empty memory learns too little to move the start.
    """
    return _train_init(config, reptile=True, progress=progress)


@single_threaded
def train_pretrained(config: InitConfig, *, progress: bool = False) -> InitResult:
    """The baseline start: one DQN trained on all the training tasks together.

    It sees what :func:`train_reptile` sees (the same tasks in the same order,
    ``meta_batch`` at a time for ``inner_steps`` steps each), but one network
    acts in all ``meta_batch`` environments and learns, with one Adam that
    runs on throughout, from minibatches drawn equally from their replay
    memories. ``meta_lr`` is not used.
    """
    return _train_init(config, reptile=False, progress=progress)


# ---------------------------------------------------------------------------
# A learned update rule: the LSTM meta-trained through DQN updates
# ---------------------------------------------------------------------------


CHAPTER_RULE = learned_opt.LSTMRuleConfig(hidden=20, layers=1, output_scale=0.001)
"""The chapter's LSTM: 20 units as in Andrychowicz et al. (2016), but one layer
instead of their two, and an output scale of 0.001 instead of 0.1.

One layer, because the rule runs on every weight of every task at every DQN
update (23,050 coordinates for 5 tasks, 9,400 updates in a 50,000-step run),
and a second layer doubles that cost. The smaller scale, because DQN's weights
move by about 1e-3 per Adam step, not 0.1: with a scale of 0.01 the agents
meta-trained alongside the rule stayed near a return of 10 for most of
60,000 steps; with 0.001 they reached 100-400."""


@dataclasses.dataclass(frozen=True)
class RuleConfig:
    """Settings of meta-training the LSTM update rule on DQN (:func:`train_update_rule`)."""

    env_id: str = varied_cartpole.VARIED_CARTPOLE_ID
    """The task family, a key of :data:`FAMILIES`."""
    rule: learned_opt.LSTMRuleConfig = CHAPTER_RULE
    """The LSTM: :data:`CHAPTER_RULE`."""
    meta_batch: int = 4
    """DQN agents trained side by side, one task each."""
    lives: int = 2
    """Each agent's lives: a life is a fresh task and a fresh network."""
    life_steps: int = 20_000
    """Environment steps per life."""
    unroll: int = 16
    """DQN updates per truncated unroll (one meta-gradient step each)."""
    meta_lr: float = 3e-3
    """Adam step size for the LSTM's weights."""
    dqn: DQNConfig = CHAPTER_DQN
    """DQN settings of the agents (``learning_rate`` is not used)."""
    seed: int = 0
    """Seed of the LSTM, the tasks, the networks and the agents."""

    def __post_init__(self) -> None:
        check_family(self.env_id)
        check_positive_int("meta_batch", self.meta_batch)
        check_positive_int("lives", self.lives)
        check_positive_int("life_steps", self.life_steps)
        check_positive_int("unroll", self.unroll)
        check_in_range("meta_lr", self.meta_lr, 0.0, 1.0, low_inclusive=False)
        check_non_negative_int("seed", self.seed)


class RuleResult(NamedTuple):
    """What :func:`train_update_rule` returns.

    Attributes:
        rule: the meta-trained LSTM.
        meta_losses: the meta-loss of each unroll: the TD loss after each
            update relative to the loss before the unroll, averaged over the
            unroll's updates and the agents (below 1: the rule lowers the loss).
        episode_returns: the agents' training-episode returns, per life and agent.
        wall_time: seconds.
    """

    rule: learned_opt.LSTMRule
    meta_losses: list[float]
    episode_returns: list[list[list[float]]]
    wall_time: float


def unrolled_meta_loss(
    rule: learned_opt.LSTMRule,
    params: Params,
    target_params: Params,
    state: learned_opt.LSTMState,
    replay: TaskReplay,
    n_updates: int,
    config: DQNConfig,
    generator: torch.Generator,
    step: int,
) -> tuple[Tensor, Params, learned_opt.LSTMState]:
    """``n_updates`` DQN updates by the rule, and the meta-loss to back-propagate.

    The loss after update ``t`` is measured on a fresh minibatch and divided by
    the loss before the first update, per task, so that every agent counts the
    same whatever the size of its Q-values; the meta-loss is their mean over
    ``t = 1 .. n_updates`` and tasks. The gradients fed to the rule are constants
    (no second derivatives), as in Andrychowicz et al. (2016).

    Returns:
        The meta-loss (a scalar with a graph to the rule's weights), and the
        parameters and LSTM state after the updates (still in that graph).
    """
    base = None
    meta_loss = torch.zeros(())
    for t in range(n_updates + 1):
        batch = replay.sample(config.batch_size, generator)
        losses = td_losses(params, target_params, batch, config.gamma)
        if base is None:
            base = losses.detach().clamp_min(1e-8)
        else:
            meta_loss = meta_loss + (losses / base).mean()
        if t == n_updates:
            break
        grads = torch.autograd.grad(losses.sum(), params, retain_graph=True)
        check_finite("TD loss", float(losses.detach().sum()), step)
        params, state = learned_opt.apply_rule(
            rule, params, clip_per_task(grads, config.max_grad_norm), state
        )
    return meta_loss / n_updates, params, state


@single_threaded
def train_update_rule(config: RuleConfig, *, progress: bool = False) -> RuleResult:
    """Meta-train the LSTM update rule by truncated back-propagation through DQN.

    ``meta_batch`` DQN agents, each on its own training task, learn with the
    rule in place of Adam, on chapter 2's schedule. Each round of
    ``gradient_steps`` updates is cut into unrolls of ``unroll`` updates; after
    each unroll the meta-loss (:func:`unrolled_meta_loss`) is back-propagated
    through the unroll into the LSTM's weights, Adam takes a step on them, and
    the agents go on from where the unroll left them (detached). After
    ``life_steps`` steps each agent starts a new life on a new task with a new
    network, so that the rule sees the start of learning as well as its end.

    Raises:
        TrainingDivergedError: if a TD loss or the meta-loss becomes NaN or infinite.
    """
    start = time.perf_counter()
    family = check_family(config.env_id)
    rng = np.random.default_rng(config.seed)
    gen = torch_generator(config.seed)
    rule = learned_opt.LSTMRule(config.rule, generator=gen)
    meta_opt = torch.optim.Adam(rule.parameters(), lr=config.meta_lr)
    dqn = dataclasses.replace(config.dqn, total_steps=config.life_steps)
    meta_losses: list[float] = []
    returns: list[list[list[float]]] = []
    bar = tqdm(total=config.lives * config.life_steps, disable=not progress, desc="LSTM rule")
    for _ in range(config.lives):
        tasks = family.sample_tasks(rng, config.meta_batch)
        actor = Actor(config.env_id, tasks, dqn, int(rng.integers(2**31)))
        params = [p.requires_grad_(True) for p in init_params(dqn.hidden, config.meta_batch, gen)]
        target_params = [p.detach().clone() for p in params]
        state = rule.initial_state(sum(p.numel() for p in params))
        for step in range(1, config.life_steps + 1):
            actor.step(params)
            if actor.ready():
                done = 0
                while done < dqn.gradient_steps:
                    n = min(config.unroll, dqn.gradient_steps - done)
                    meta_loss, params, state = unrolled_meta_loss(
                        rule, params, target_params, state, actor.replay, n, dqn, gen, step
                    )
                    check_finite("meta-loss", float(meta_loss.detach()), len(meta_losses))
                    meta_opt.zero_grad(set_to_none=True)
                    meta_loss.backward()
                    meta_opt.step()
                    meta_losses.append(float(meta_loss.detach()))
                    params = [p.detach().requires_grad_(True) for p in params]
                    state = learned_opt.detach_state(state)
                    done += n
            if step % dqn.target_update_period == 0:
                sync_target(target_params, params, dqn.tau)
            bar.update()
        actor.env.close()
        returns.append(actor.episode_returns)
    bar.close()
    return RuleResult(rule, meta_losses, returns, time.perf_counter() - start)
