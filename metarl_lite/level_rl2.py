"""RL^2 on maze levels: a recurrent agent that explores a new level once, then remembers.

Chapter 6 (game AI on new levels). The task family is
:mod:`metarl_lite.envs.maze_levels`: small levels with random walls and a goal
the agent cannot see. A *trial* is ``K`` episodes on one level; the recurrent
policy's hidden state is kept across the ``K`` episodes, so what it found in
episode 1 (where the goal is) can guide episodes 2 to ``K``. This is RL^2
(Duan et al., 2016; Wang et al., 2016) as in chapter 4 (:mod:`metarl_lite.rl2`),
with the same slow learner (:func:`metarl_lite.rl2.gae`,
:func:`metarl_lite.rl2.ppo_loss`, :func:`metarl_lite.rl2.linear_schedule`) and a
network of the same design, fed what a player sees:

1. the inputs (:func:`encode`): the cell (one-hot), the four wall bits, the
   previous action (one-hot), the previous reward and a flag that the previous
   step ended an episode (the agent is back at the start);
2. the network, :class:`LevelPolicy`: a ReLU embedding, a GRU (or, with
   ``memory=False``, a feed-forward layer that sees only the current
   observation: the memoryless baseline trained on the same levels, an analogue
   of domain randomisation), a policy head and a value head that in training
   also sees the goal (an asymmetric critic, as in chapter 4);
3. a batched level simulator, :func:`rollout`: ``B`` levels, one trial each;
4. :func:`train_level_rl2`, the PPO loop across training levels;
5. :func:`evaluate` on held-out levels, and the baseline :func:`q_learning_trials`:
   tabular Q-learning from scratch on each level;
6. :func:`draw_level`, a picture of a level and a path through it.

Shapes: ``B`` levels, side ``S`` (``S * S`` cells), ``K`` episodes per trial of
at most ``T`` steps each, ``L = K * T`` steps at most per trial, ``H`` hidden units.
Sequences are time-major, ``(L, B, ...)``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from metarl_lite._checks import check_in_range, check_non_negative_int, check_positive_int
from metarl_lite.envs.maze_levels import (
    GOAL_REWARD,
    LEVEL_MOVES,
    STEP_REWARD,
    LevelTasks,
    MazeLevelsEnv,
    sample_tasks,
)
from metarl_lite.history import History
from metarl_lite.rl2 import (
    gae,
    gradient_step,
    linear_schedule,
    minibatches,
    ppo_loss,
    sample_actions,
)
from metarl_lite.seeding import single_threaded, torch_generator
from metarl_lite.tabular import epsilon_greedy, q_learning_update

ACTIONS = len(LEVEL_MOVES)
#: Rewards are divided by this before the network and the critic see them.
REWARD_SCALE = GOAL_REWARD

# ---------------------------------------------------------------------------
# 1. The inputs
# ---------------------------------------------------------------------------


def observation_size(size: int) -> int:
    """Width of the observation part of the input: ``S * S`` cell one-hot plus 4 wall bits."""
    return size * size + 4


def input_size(size: int) -> int:
    """Width of one input: observation, previous action (4), previous reward, episode-end flag."""
    return observation_size(size) + ACTIONS + 2


def encode(
    cells: Tensor, wall_bits: Tensor, actions: Tensor, rewards: Tensor, ended: Tensor, size: int
) -> Tensor:
    """The input before a step: ``[one_hot(cell), walls, one_hot(a_prev), r_prev / 10, d_prev]``.

    Args:
        cells: shape ``(B,)``, the agent's cell ``row * S + col``.
        wall_bits: shape ``(B, 4)``, whether up, right, down, left are blocked.
        actions: shape ``(B,)``, the previous action, or -1 before the first step
            of the trial (encoded as zeros).
        rewards: shape ``(B,)``, the previous reward (0 before the first step).
        ended: shape ``(B,)``, 1.0 where the previous step ended an episode.
        size: ``S``.

    Returns:
        Shape ``(B, S * S + 10)``.
    """
    cell = nn.functional.one_hot(cells, size * size).float()
    action = nn.functional.one_hot(actions.clamp(min=0), ACTIONS).float()
    action = action * (actions >= 0).float().unsqueeze(-1)
    return torch.cat(
        [
            cell,
            wall_bits.float(),
            action,
            (rewards / REWARD_SCALE).float().unsqueeze(-1),
            ended.float().unsqueeze(-1),
        ],
        dim=-1,
    )


# ---------------------------------------------------------------------------
# 2. The network
# ---------------------------------------------------------------------------


class LevelPolicy(nn.Module):
    """Embedding, a GRU (or a memoryless layer), a softmax policy and a value head.

    With ``memory=True`` this is :class:`metarl_lite.rl2.GRUPolicy`'s design:
    the GRU's hidden state carries over every step of the trial, across
    episode boundaries. With ``memory=False`` the embedding sees only the
    current observation (cell and walls), and a ReLU layer replaces the GRU:
    the policy is a fixed map from what it sees to action probabilities.

    The value head sees the hidden state, the goal cell (one-hot) and the
    position in the trial (episode one-hot, share of the episode's steps used):
    a critic used only in training may know the task; the policy never does.

    Args:
        size: side ``S`` of the levels.
        episodes: ``K``, episodes per trial (for the critic's features).
        hidden: hidden units ``H``.
        memory: GRU (RL^2) or memoryless.
        generator: if given, the initial weights are drawn from it, the policy
            head 100 times smaller than the rest so that the first policy is uniform.

    Shapes:
        ``forward(inputs, h0)``: ``(T, B, S * S + 10)`` and ``(B, H)`` -> logits
        ``(T, B, 4)`` and hidden states ``(T, B, H)``; ``values(hidden, critic)``:
        ``(T, B, H)``, ``(T, B, S * S + K + 1)`` -> ``(T, B)``.
    """

    def __init__(
        self,
        size: int,
        episodes: int,
        hidden: int,
        generator: torch.Generator | None = None,
        *,
        memory: bool = True,
    ) -> None:
        super().__init__()
        check_in_range("size", size, 3, 12)
        check_positive_int("episodes", episodes)
        check_positive_int("hidden", hidden)
        self.size, self.episodes, self.hidden, self.memory = size, episodes, hidden, memory
        width = input_size(size) if memory else observation_size(size)
        self.embed = nn.Linear(width, hidden)
        self.core: nn.Module = nn.GRU(hidden, hidden) if memory else nn.Linear(hidden, hidden)
        self.policy = nn.Linear(hidden, ACTIONS)
        critic_in = hidden + size * size + episodes + 1
        self.value = nn.Sequential(nn.Linear(critic_in, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        if generator is not None:
            self._initialise(generator)

    @torch.no_grad()
    def _initialise(self, generator: torch.Generator) -> None:
        for p in self.parameters():
            bound = 1.0 / math.sqrt(p.shape[-1] if p.dim() > 1 else self.hidden)
            p.uniform_(-bound, bound, generator=generator)
        self.policy.weight.mul_(0.01)
        self.policy.bias.zero_()

    def initial_state(self, batch: int) -> Tensor:
        """The hidden state before the trial: zeros of shape ``(batch, H)``."""
        return torch.zeros(batch, self.hidden)

    def _embed(self, x: Tensor) -> Tensor:
        if not self.memory:
            x = x[..., : observation_size(self.size)]
        return torch.relu(self.embed(x))

    def step(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One step: input ``(B, S * S + 10)`` and state ``(B, H)`` -> logits ``(B, 4)``, state."""
        e = self._embed(x)
        if self.memory:
            _, h_next = self.core(e.unsqueeze(0), h.unsqueeze(0))
            h = h_next[0]
        else:
            h = torch.relu(self.core(e))
        return self.policy(h), h

    def forward(self, inputs: Tensor, h0: Tensor | None = None) -> tuple[Tensor, Tensor]:
        e = self._embed(inputs)
        if self.memory:
            h0 = self.initial_state(inputs.shape[1]) if h0 is None else h0
            hidden, _ = self.core(e, h0.unsqueeze(0))
        else:
            hidden = torch.relu(self.core(e))
        return self.policy(hidden), hidden

    def values(self, hidden: Tensor, critic: Tensor) -> Tensor:
        """The value head (in units of the goal reward): ``(T, B)``."""
        return self.value(torch.cat([hidden, critic], dim=-1)).squeeze(-1)


# ---------------------------------------------------------------------------
# 3. The batched levels
# ---------------------------------------------------------------------------


class Levels(NamedTuple):
    """``B`` levels as tensors, padded by one cell of outer wall on each side.

    Attributes:
        walls: bool, shape ``(B, S + 2, S + 2)``.
        start, goal: int64, shape ``(B, 2)``, in padded coordinates.
    """

    walls: Tensor
    start: Tensor
    goal: Tensor

    @classmethod
    def from_tasks(cls, tasks: LevelTasks) -> Levels:
        walls = np.pad(tasks.walls, ((0, 0), (1, 1), (1, 1)), constant_values=True)
        return cls(
            torch.as_tensor(walls),
            torch.as_tensor(tasks.start + 1, dtype=torch.int64),
            torch.as_tensor(tasks.goal + 1, dtype=torch.int64),
        )


_MOVES = torch.tensor(LEVEL_MOVES, dtype=torch.int64)


def neighbour_walls(walls: Tensor, pos: Tensor) -> Tensor:
    """Wall bits of each agent's four neighbours: ``(B, S+2, S+2)``, ``(B, 2)`` -> ``(B, 4)``."""
    nxt = pos.unsqueeze(1) + _MOVES.unsqueeze(0)  # (B, 4, 2)
    rows = torch.arange(pos.shape[0]).unsqueeze(1)
    return walls[rows, nxt[..., 0], nxt[..., 1]]


class Rollout(NamedTuple):
    """One trial on each of ``B`` levels, time-major over ``L`` steps.

    Attributes:
        inputs: ``(L, B, S * S + 10)``, the input before each step.
        actions, rewards, log_probs: ``(L, B)``; rewards unscaled (-1 or +10).
        alive: ``(L, B)`` bool, the step belongs to the trial (False once ``K``
            episodes are over).
        critic: ``(L, B, S * S + K + 1)``, the critic's task and time features.
        hidden: ``(L, B, H)``.
        episode_steps: ``(B, K)`` steps each episode took.
        episode_returns: ``(B, K)`` undiscounted return of each episode.
        reached: ``(B, K)`` bool, the episode reached the goal.
        cells: ``(L, B)`` the agent's cell after each step (``row * S + col``,
            unpadded), for drawing paths.
    """

    inputs: Tensor
    actions: Tensor
    rewards: Tensor
    log_probs: Tensor
    alive: Tensor
    critic: Tensor
    hidden: Tensor
    episode_steps: Tensor
    episode_returns: Tensor
    reached: Tensor
    cells: Tensor


@torch.no_grad()
def rollout(
    model: LevelPolicy,
    levels: Levels,
    episodes: int,
    max_steps: int,
    uniforms: Tensor,
    *,
    greedy: bool = False,
) -> Rollout:
    """Play one trial of ``episodes`` episodes on every level at once.

    The hidden state is kept across episodes; after an episode ends (goal or
    ``max_steps`` steps) the agent is put back on the start. The loop stops as
    soon as every level has finished its trial.

    Args:
        model: the policy.
        levels: the ``B`` levels.
        episodes: ``K``.
        max_steps: ``T``.
        uniforms: shape ``(K * T, B)``, U[0, 1) draws that pick the sampled actions.
        greedy: take the most probable action instead.
    """
    batch, size = levels.start.shape[0], model.size
    rows = torch.arange(batch)
    pos = levels.start.clone()
    goal_cell = (levels.goal[:, 0] - 1) * size + levels.goal[:, 1] - 1
    goal_hot = nn.functional.one_hot(goal_cell, size * size).float()
    step_in_ep = torch.zeros(batch, dtype=torch.int64)
    episode = torch.zeros(batch, dtype=torch.int64)
    prev_a = torch.full((batch,), -1, dtype=torch.int64)
    prev_r = torch.zeros(batch)
    ended = torch.zeros(batch)
    ep_steps = torch.zeros(batch, episodes, dtype=torch.int64)
    ep_returns = torch.zeros(batch, episodes)
    reached = torch.zeros(batch, episodes, dtype=torch.bool)
    h = model.initial_state(batch)
    out: dict[str, list[Tensor]] = {k: [] for k in (*Rollout._fields[:7], "cells")}
    out.pop("log_probs")
    logits_all = []
    for t in range(episodes * max_steps):
        alive = episode < episodes
        if not alive.any():
            break
        cells = (pos[:, 0] - 1) * size + pos[:, 1] - 1
        x = encode(cells, neighbour_walls(levels.walls, pos), prev_a, prev_r, ended, size)
        logit, h = model.step(x, h)
        a = logit.argmax(-1) if greedy else sample_actions(logit, uniforms[t])
        nxt = pos + _MOVES[a]
        blocked = levels.walls[rows, nxt[:, 0], nxt[:, 1]]
        pos = torch.where((blocked | ~alive).unsqueeze(-1), pos, nxt)
        at_goal = (pos == levels.goal).all(-1) & alive
        r = torch.where(at_goal, GOAL_REWARD, STEP_REWARD) * alive
        step_in_ep = step_in_ep + alive.long()
        ep_index = episode.clamp(max=episodes - 1)
        critic = torch.cat(
            [
                goal_hot,
                nn.functional.one_hot(ep_index, episodes).float(),
                ((step_in_ep - 1).float() / max_steps).unsqueeze(-1),
            ],
            dim=-1,
        )
        done = alive & (at_goal | (step_in_ep >= max_steps))
        live_rows = rows[alive]
        ep_steps[live_rows, ep_index[alive]] = step_in_ep[alive]
        ep_returns[live_rows, ep_index[alive]] += r[alive]
        reached[rows[at_goal], ep_index[at_goal]] = True
        for key, value in (
            ("inputs", x),
            ("actions", a),
            ("rewards", r),
            ("alive", alive),
            ("critic", critic),
            ("hidden", h),
            ("cells", (pos[:, 0] - 1) * size + pos[:, 1] - 1),
        ):
            out[key].append(value)
        logits_all.append(logit)
        pos = torch.where(done.unsqueeze(-1), levels.start, pos)
        step_in_ep = torch.where(done, 0, step_in_ep)
        episode = episode + done.long()
        prev_a, prev_r, ended = a, r, done.float()
    actions = torch.stack(out["actions"])
    log_probs = torch.log_softmax(torch.stack(logits_all), -1)
    return Rollout(
        inputs=torch.stack(out["inputs"]),
        actions=actions,
        rewards=torch.stack(out["rewards"]),
        log_probs=log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1),
        alive=torch.stack(out["alive"]),
        critic=torch.stack(out["critic"]),
        hidden=torch.stack(out["hidden"]),
        episode_steps=ep_steps,
        episode_returns=ep_returns,
        reached=reached,
        cells=torch.stack(out["cells"]),
    )


# ---------------------------------------------------------------------------
# 4. Training
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class LevelRL2Config:
    """Settings of one run on maze levels (RL^2, or the memoryless baseline).

    Attributes:
        size: side ``S`` of the levels.
        episodes: ``K``, episodes per trial on one level.
        max_steps: ``T``, steps before an episode is cut off.
        memory: ``True`` for RL^2's GRU, ``False`` for the memoryless policy.
        hidden: hidden units ``H``.
        batch: levels per update (fresh training levels every update).
        updates: parameter updates.
        lr: Adam's initial step size; it decays linearly to ``lr * lr_end``.
        lr_end: final step size as a fraction of ``lr``.
        gamma: discount of the trial's return (across episode boundaries).
        gae_lambda: lambda of the advantage estimates.
        entropy_coef: initial entropy weight, annealed linearly to 0 over
            ``entropy_anneal`` of the run.
        entropy_anneal: see ``entropy_coef``.
        value_coef: weight of the value loss.
        max_grad_norm: clip the gradient norm to this.
        epochs: PPO passes over each batch.
        minibatches: minibatches (of whole trials) per pass.
        clip: PPO's ratio clip.
        seed: seeds the weights, the training levels and every draw.
    """

    size: int = 4
    episodes: int = 4
    max_steps: int = 16
    memory: bool = True
    hidden: int = 64
    batch: int = 64
    updates: int = 600
    lr: float = 3e-3
    lr_end: float = 0.3
    gamma: float = 0.99
    gae_lambda: float = 0.95
    entropy_coef: float = 0.02
    entropy_anneal: float = 0.8
    value_coef: float = 0.5
    max_grad_norm: float = 1.0
    epochs: int = 2
    minibatches: int = 2
    clip: float = 0.2
    seed: int = 0

    def __post_init__(self) -> None:
        check_in_range("size", self.size, 3, 12)
        check_positive_int("episodes", self.episodes)
        check_positive_int("max_steps", self.max_steps)
        if not isinstance(self.memory, bool):
            raise ValueError(f"memory={self.memory!r} is not allowed: use True or False")
        check_positive_int("hidden", self.hidden)
        check_positive_int("batch", self.batch)
        check_non_negative_int("updates", self.updates)
        check_in_range("lr", self.lr, 0.0, 1.0, low_inclusive=False)
        check_in_range("lr_end", self.lr_end, 0.0, 1.0)
        check_in_range("gamma", self.gamma, 0.0, 1.0, low_inclusive=False)
        check_in_range("gae_lambda", self.gae_lambda, 0.0, 1.0)
        check_in_range("entropy_coef", self.entropy_coef, 0.0, math.inf)
        check_in_range("entropy_anneal", self.entropy_anneal, 0.0, 1.0)
        check_in_range("value_coef", self.value_coef, 0.0, math.inf)
        check_in_range("max_grad_norm", self.max_grad_norm, 0.0, math.inf, low_inclusive=False)
        check_positive_int("epochs", self.epochs)
        check_in_range("minibatches", self.minibatches, 1, self.batch)
        check_in_range("clip", self.clip, 0.0, 1.0, low_inclusive=False)
        check_non_negative_int("seed", self.seed)


def policy_for(config: LevelRL2Config, generator: torch.Generator | None = None) -> LevelPolicy:
    """The (untrained) network of a run with settings ``config``."""
    return LevelPolicy(
        config.size, config.episodes, config.hidden, generator, memory=config.memory
    )


def load_policy(path: str | Path, config: LevelRL2Config) -> LevelPolicy:
    """A stored policy (the weights it acts with; a stored file need not hold the
    critic, which only training uses), ready to play.

    Raises:
        ValueError: if the file lacks a weight of the policy or holds unknown ones.
    """
    model = policy_for(config, torch_generator(config.seed))
    state = torch.load(path, weights_only=True)
    missing, unexpected = model.load_state_dict(state, strict=False)
    missing = [k for k in missing if not k.startswith("value.")]
    if missing or unexpected:
        raise ValueError(
            f"{path} does not fit this config: missing {missing}, unexpected {unexpected}"
        )
    return model


def acting_state(model: LevelPolicy) -> dict[str, Tensor]:
    """The weights the policy acts with (the critic's are left out), to store."""
    return {k: v for k, v in model.state_dict().items() if not k.startswith("value.")}


class LevelRL2Result(NamedTuple):
    """What :func:`train_level_rl2` returns.

    Attributes:
        model: the trained policy.
        history: per update, ``episode_steps`` (environment steps so far) and
            ``episode_returns`` (mean return per trial of the batch); the mean
            loss per update; the wall time.
    """

    model: LevelPolicy
    history: History


@single_threaded
def train_level_rl2(
    config: LevelRL2Config, progress: bool = False, *, stop_after: int | None = None
) -> LevelRL2Result:
    """Meta-train a :class:`LevelPolicy` across training levels with PPO.

    Each update: generate ``batch`` fresh training levels; play one trial of
    ``K`` episodes on each with the current policy; compute GAE advantages over
    the whole trial (rewards divided by 10, the trial ends after ``K`` episodes);
    take ``epochs x minibatches`` Adam steps on the PPO loss of the steps that
    belong to the trial.

    Args:
        config: the settings.
        progress: show a progress bar.
        stop_after: stop after this many updates (schedules still follow ``config.updates``).

    Raises:
        TrainingDivergedError: if the loss turns NaN or infinite.
    """
    start = time.perf_counter()
    generator = torch_generator(config.seed)
    rng = np.random.default_rng(config.seed)
    model = policy_for(config, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history = History(config=dataclasses.asdict(config))
    length = config.episodes * config.max_steps
    n_updates = config.updates if stop_after is None else min(stop_after, config.updates)
    env_steps = 0
    for update in tqdm(range(n_updates), disable=not progress, desc="RL^2 levels"):
        lr = linear_schedule(config.lr, config.lr * config.lr_end, update, config.updates, 1.0)
        entropy_coef = linear_schedule(
            config.entropy_coef, 0.0, update, config.updates, config.entropy_anneal
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        levels = Levels.from_tasks(sample_tasks(rng, config.batch, config.size))
        uniforms = torch.rand(length, config.batch, generator=generator)
        trial = rollout(model, levels, config.episodes, config.max_steps, uniforms)
        alive = trial.alive.float()
        rewards = trial.rewards / REWARD_SCALE
        with torch.no_grad():
            old_values = model.values(trial.hidden, trial.critic) * alive
        advantages = gae(rewards, old_values, config.gamma, config.gae_lambda)
        returns = advantages + old_values
        live = trial.alive
        adv_live = advantages[live]
        advantages = (advantages - adv_live.mean()) / (adv_live.std() + 1e-8)
        losses = []
        for index in minibatches(config.batch, config.epochs, config.minibatches, generator):
            logits, hidden = model(trial.inputs[:, index])
            values = model.values(hidden, trial.critic[:, index])
            mask = live[:, index]
            loss = ppo_loss(
                logits[mask],
                values[mask],
                trial.actions[:, index][mask],
                trial.log_probs[:, index][mask],
                advantages[:, index][mask],
                returns[:, index][mask],
                clip=config.clip,
                value_coef=config.value_coef,
                entropy_coef=entropy_coef,
            )
            losses.append(
                gradient_step(
                    optimizer, loss.total, config.max_grad_norm, "RL^2 levels loss", update
                )
            )
        env_steps += int(live.sum())
        history.episode_steps.append(env_steps)
        history.episode_returns.append(trial.episode_returns.sum(1).mean().item())
        history.loss_steps.append(env_steps)
        history.losses.append(sum(losses) / len(losses))
    history.wall_time = time.perf_counter() - start
    return LevelRL2Result(model, history)


# ---------------------------------------------------------------------------
# 5. Testing on held-out levels, and the Q-learning baseline
# ---------------------------------------------------------------------------


class TrialStats(NamedTuple):
    """Per level and episode of a trial.

    Attributes:
        steps: int, shape ``(B, K)``, steps each episode took (``T`` if cut off).
        returns: shape ``(B, K)``, undiscounted return of each episode.
        reached: bool, shape ``(B, K)``.
    """

    steps: np.ndarray
    returns: np.ndarray
    reached: np.ndarray


@single_threaded
def evaluate(
    model: LevelPolicy,
    tasks: LevelTasks,
    episodes: int,
    max_steps: int,
    seed: int,
    *,
    greedy: bool = False,
) -> TrialStats:
    """Play one trial of ``episodes`` episodes on every level with the trained policy.

    Args:
        model: the policy (unchanged).
        tasks: ``B`` levels of the model's size.
        episodes, max_steps: ``K`` and ``T``.
        seed: seeds the action draws (``torch_generator(seed)``).
        greedy: take the most probable action.
    """
    if tasks.size != model.size:
        raise ValueError(f"tasks have size {tasks.size}: this model plays size {model.size}")
    check_positive_int("episodes", episodes)
    check_positive_int("max_steps", max_steps)
    uniforms = torch.rand(episodes * max_steps, tasks.n, generator=torch_generator(seed))
    trial = rollout(model, Levels.from_tasks(tasks), episodes, max_steps, uniforms, greedy=greedy)
    return TrialStats(
        trial.episode_steps.numpy(),
        trial.episode_returns.numpy().astype(np.float64),
        trial.reached.numpy(),
    )


@single_threaded
def trial_paths(
    model: LevelPolicy, tasks: LevelTasks, index: int, episodes: int, max_steps: int, seed: int
) -> list[list[tuple[int, int]]]:
    """The cells the policy visits in each episode of one trial on level ``index``.

    Returns:
        ``K`` lists of ``(row, col)``, each starting at the start cell.
    """
    one = LevelTasks(*(a[index : index + 1] for a in tasks))
    uniforms = torch.rand(episodes * max_steps, 1, generator=torch_generator(seed))
    trial = rollout(model, Levels.from_tasks(one), episodes, max_steps, uniforms)
    start = tuple(int(v) for v in one.start[0])
    paths: list[list[tuple[int, int]]] = [[start]]
    steps = trial.episode_steps[0].tolist()
    cells = trial.cells[:, 0].tolist()
    t = 0
    for k in range(episodes):
        for _ in range(steps[k]):
            paths[-1].append(divmod(cells[t], model.size))
            t += 1
        if k < episodes - 1:
            paths.append([start])
    return paths


@dataclasses.dataclass(frozen=True)
class QBaselineConfig:
    """Tabular Q-learning from scratch on one level (the state is the agent's cell).

    Attributes:
        alpha: step size.
        gamma: discount.
        epsilon: exploration probability.
        q_init: initial value of every table entry (above the best return: optimistic).
        max_steps: ``T``.
    """

    alpha: float = 1.0
    gamma: float = 0.95
    epsilon: float = 0.0
    q_init: float = 0.0
    max_steps: int = 16

    def __post_init__(self) -> None:
        check_in_range("alpha", self.alpha, 0.0, 1.0, low_inclusive=False)
        check_in_range("gamma", self.gamma, 0.0, 1.0)
        check_in_range("epsilon", self.epsilon, 0.0, 1.0)
        check_in_range("q_init", self.q_init, -1000.0, 1000.0)
        check_positive_int("max_steps", self.max_steps)


def q_learning_trials(
    tasks: LevelTasks, episodes: int, config: QBaselineConfig, seed: int
) -> TrialStats:
    """Q-learning from an all-``q_init`` table on every level, ``episodes`` episodes each.

    Each step: ``a`` epsilon-greedy from ``Q[s]`` (ties at random), then
    ``Q[s, a] += alpha (r + gamma max_a' Q[s', a'] - Q[s, a])`` (``r`` alone when
    the step reaches the goal), :func:`metarl_lite.tabular.q_learning_update`.
    The state ``s = row * S + col`` is the agent's cell: on one level the walls
    around a cell never change, so the cell is all a table needs.

    Args:
        tasks: ``B`` levels.
        episodes: episodes per level.
        config: the learner's settings.
        seed: level ``i`` uses ``default_rng([seed, i])``.
    """
    check_positive_int("episodes", episodes)
    rows = [_q_learning_level(tasks, i, episodes, config, seed, None) for i in range(tasks.n)]
    steps, returns, reached = (np.stack(parts) for parts in zip(*rows, strict=True))
    return TrialStats(steps, returns, reached)


def q_learning_paths(
    tasks: LevelTasks, index: int, episodes: int, config: QBaselineConfig, seed: int
) -> list[list[tuple[int, int]]]:
    """The cells Q-learning visits in each of its first ``episodes`` episodes on level
    ``index`` (the same run as in :func:`q_learning_trials` with this seed)."""
    check_positive_int("episodes", episodes)
    paths: list[list[tuple[int, int]]] = []
    _q_learning_level(tasks, index, episodes, config, seed, paths)
    return paths


def _q_learning_level(
    tasks: LevelTasks,
    i: int,
    episodes: int,
    config: QBaselineConfig,
    seed: int,
    paths: list[list[tuple[int, int]]] | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    size = tasks.size
    rng = np.random.default_rng([seed, i])
    env = MazeLevelsEnv(**tasks.task(i), size=size, max_steps=config.max_steps)
    q = np.full((size * size, ACTIONS), float(config.q_init))
    steps = np.zeros(episodes, dtype=np.int64)
    returns = np.zeros(episodes)
    reached = np.zeros(episodes, dtype=bool)
    for k in range(episodes):
        obs, _ = env.reset()
        s = int(obs[0] * size + obs[1])
        if paths is not None:
            paths.append([(int(obs[0]), int(obs[1]))])
        done = terminated = False
        while not done:
            a = epsilon_greedy(q[s], config.epsilon, rng)
            obs, r, terminated, truncated, _ = env.step(a)
            s_next = int(obs[0] * size + obs[1])
            q = q_learning_update(q, s, a, r, s_next, terminated, config.alpha, config.gamma)
            s, done = s_next, terminated or truncated
            steps[k] += 1
            returns[k] += r
            if paths is not None:
                paths[-1].append((int(obs[0]), int(obs[1])))
        reached[k] = terminated
    return steps, returns, reached


# ---------------------------------------------------------------------------
# 6. A picture of a level
# ---------------------------------------------------------------------------


def draw_level(
    ax: Any,
    walls: np.ndarray,
    start: tuple[int, int] | np.ndarray,
    goal: tuple[int, int] | np.ndarray,
    path: list[tuple[int, int]] | None = None,
    title: str | None = None,
) -> Any:
    """Draw a level on a matplotlib axes: walls dark, start ``S``, goal ``G`` and a path.

    Args:
        ax: the axes.
        walls: bool, shape ``(S, S)``.
        start, goal: ``(row, col)``.
        path: cells visited in order (as from :func:`trial_paths`); drawn as a
            line with a dot per visit, the ``n``-th visit of a cell shifted a
            little so that revisits show.
        title: optional title.

    Returns:
        The axes.
    """
    size = walls.shape[0]
    ax.imshow(walls, cmap="Greys", vmin=0, vmax=1.3, extent=(-0.5, size - 0.5, size - 0.5, -0.5))
    ax.set_xticks(np.arange(-0.5, size, 1), labels=[])
    ax.set_yticks(np.arange(-0.5, size, 1), labels=[])
    ax.tick_params(length=0)
    ax.grid(color="0.7", linewidth=0.5)
    ax.text(start[1], start[0], "S", ha="center", va="center", fontsize=14, color="tab:blue")
    ax.text(goal[1], goal[0], "G", ha="center", va="center", fontsize=14, color="tab:green")
    if path:
        rng = np.random.default_rng(0)
        jitter = rng.uniform(-0.18, 0.18, size=(len(path), 2))
        jitter[0] = jitter[-1] = 0.0
        cells = np.asarray(path, dtype=float) + jitter
        ax.plot(cells[:, 1], cells[:, 0], "-o", color="tab:red", markersize=3, linewidth=1.2)
    if title:
        ax.set_title(title, fontsize=9)
    return ax
