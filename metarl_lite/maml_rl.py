"""MAML for reinforcement learning: a policy that adapts to a hidden goal in one
policy-gradient step.

Chapter 4 of the book, on the 2D navigation tasks of Finn, Abbeel and Levine
(2017) (:mod:`metarl_lite.envs.point_navigation`). The file follows the chapter:

1. the policy, a Gaussian whose mean is a ReLU network (2-64-64-2; Finn et al.
   use 2-100-100-2) and whose log standard deviation is a learned vector (as in
   Finn et al.); like chapter 3's network its weights may carry a leading task
   dimension, so one ``functional_call`` runs a separate policy for every task;
2. roll-outs of many tasks times many trajectories at once, in torch, with
   exactly the rules of the environment file (a test compares them step by step);
3. the policy gradient of the inner loop: REINFORCE (Williams, 1992) with
   discounted rewards-to-go and, as a baseline, the linear feature baseline of
   rllab that Finn et al. used, refitted on each task's own trajectories;
4. the inner loop, :func:`adapt`: one (or more) policy-gradient steps per task;
5. :func:`train_maml_rl`: the outer loop differentiates the post-adaptation
   surrogate loss through the inner step (second order, or first order);
   :func:`train_pretrained`, the baseline trained on all goals with plain
   policy gradient;
6. meta-testing: :func:`adaptation_returns` and :func:`adapted_paths` on the
   held-out goals, and :func:`hand_made_returns`, two hand-made policies that
   bound what one step can achieve.

What differs from the reference recipe, and why: Finn et al. take the outer step
with TRPO (KL step 0.01) on meta-batches of 20 tasks (their appendix A.2; the
released ``maml_trpo_point.py`` in ``cbfinn/maml_rl`` uses 40), for up to 500
iterations, and evaluate the iterate with the best training return; here the
outer optimiser is Adam on the same surrogate loss, which is simpler to read and,
on this small task, fast enough, and the last iterate is evaluated. The
meta-gradient, as in their code, treats the inner trajectories as fixed data:
it differentiates through the inner update but not through the dependence of
the inner *sampling distribution* on the parameters (the term that E-MAML and
ProMP add; Rothfuss et al., 2019).

What one step can learn here. The pre-update policy that MAML finds holds the
point near the origin, and the noise of its trajectories reveals the direction
of the goal (the gradient of minus the distance is a unit vector) far better
than its distance. One step therefore sends the point a roughly fixed distance
in the right direction. :func:`hand_made_returns` measures the ceiling of that:
a policy that knows each held-out goal's exact direction, stops at the best
fixed radius (0.4) and has MAML's learned noise scores -12.0, against -2.3
for one that also knows the distance; MAML scores -13.3 after one step (Finn
et al. report -11.68, Li et al. -9.12). The second step, sampled near the goal,
corrects the distance: with the step size halved after the first step, as Finn
et al. evaluate, the return after two steps is -6.9.

Shapes: ``B`` tasks, ``K`` trajectories per task, ``T`` = 100 steps;
observations ``(B, K, T, 2)``, per-step quantities ``(B, K, T)``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call
from tqdm.auto import tqdm

from metarl_lite._checks import (
    check_in_range,
    check_non_negative_int,
    check_positive,
    check_positive_int,
)
from metarl_lite.envs import point_navigation as nav
from metarl_lite.history import check_finite
from metarl_lite.meta import Params, parameters_of, per_task, relu_mlp, uniform_init_
from metarl_lite.seeding import single_threaded, torch_generator

#: Held-out goals (``point_navigation.test_tasks``) of the evaluation.
TEST_TASKS = 100
#: Seed of the exploration noise of the evaluation: every policy is tested on the
#: same goals with the same noise, so differences come from the policies alone.
EVAL_SEED = 7_000_003
#: Seed of the validation goals used to choose a baseline's fine-tuning step size.
VALIDATION_SEED = 5_000_011
#: Tasks per chunk when evaluating, to bound memory (the noise is drawn chunk by
#: chunk, so the results depend on it: it is fixed).
EVAL_CHUNK = 25


# ---------------------------------------------------------------------------
# 1. The policy
# ---------------------------------------------------------------------------


class GaussianPolicy(nn.Module):
    """A Gaussian policy: mean from a ReLU network, learned log standard deviation.

    The policy acts in units of the maximum speed: the environment receives the
    velocity ``MAX_SPEED * u``, clipped to ``[-0.1, 0.1]``, for a sample ``u``.
    (rllab's ``normalize`` wrapper, which Finn et al. used, does the same: the
    policy's actions in ``[-1, 1]`` are scaled to the action box.) The
    log-probabilities are those of ``u``.

    As in chapter 3's network, each layer computes ``x @ W^T + b`` with
    ``matmul`` broadcasting, so that parameters of shape ``(B, *shape)`` (see
    :func:`~metarl_lite.meta.per_task`) run ``B`` policies at once.

    Args:
        hidden: widths of the hidden layers (Finn et al.: two of 100; the
            chapter's default, :class:`MamlRLConfig`, two of 64).
        log_std: initial log standard deviation of each action coordinate.
        generator: if given, the initial weights are drawn from it.

    Shapes:
        ``forward(obs)``: ``(..., N, 2) -> (..., N, 2)``, the mean action.
    """

    def __init__(
        self,
        hidden: Sequence[int] = (64, 64),
        log_std: float = -0.5,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        sizes = [2, *hidden, 2]
        self.layers = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in itertools.pairwise(sizes)
        )
        self.log_std = nn.Parameter(torch.full((2,), float(log_std)))
        if generator is not None:
            uniform_init_(self.layers, generator)

    def forward(self, obs: Tensor) -> Tensor:
        return relu_mlp(self.layers, obs)


def mean_and_log_std(policy: nn.Module, params: Params, obs: Tensor) -> tuple[Tensor, Tensor]:
    """The policy's mean ``(B, N, 2)`` and log std ``(B, 1, 2)`` at ``obs`` ``(B, N, 2)``,
    with the per-task ``params`` in place of its own."""
    mean = functional_call(policy, params, (obs,))
    return mean, params["log_std"].unsqueeze(-2)


def gaussian_log_prob(u: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    """Log-density of ``u`` under independent normals, summed over the last axis."""
    z = (u - mean) * torch.exp(-log_std)
    return (-0.5 * z * z - log_std - 0.5 * math.log(2 * math.pi)).sum(-1)


# ---------------------------------------------------------------------------
# 2. Roll-outs
# ---------------------------------------------------------------------------


class Trajectories(NamedTuple):
    """``K`` trajectories of each of ``B`` tasks, padded to the horizon.

    Attributes:
        obs: positions before each step, shape ``(B, K, T, 2)``.
        actions: the policy's samples ``u``, shape ``(B, K, T, 2)``.
        rewards: shape ``(B, K, T)``, zero after the episode ended.
        mask: 1.0 for the steps that were taken, 0.0 after termination, ``(B, K, T)``.
        final: position after the last step taken, shape ``(B, K, 2)``.
    """

    obs: Tensor
    actions: Tensor
    rewards: Tensor
    mask: Tensor
    final: Tensor

    def returns(self) -> Tensor:
        """Undiscounted return of each trajectory, shape ``(B, K)``."""
        return self.rewards.sum(-1)

    def env_steps(self) -> int:
        """Environment steps taken (terminated trajectories stop early)."""
        return int(self.mask.sum().item())


def torch_navigation_step(
    positions: Tensor, velocity: Tensor, goals: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """:func:`~metarl_lite.envs.point_navigation.navigation_step` in torch, float32.

    Same operations in the same order, so both give the same bits:
    ``(positions, velocity, goals)`` of shape ``(..., 2)`` to ``(new_positions,
    rewards, terminated)``. One exception: torch's float32 square root may be
    off by one unit in the last place on CPUs with vector units, where NumPy's
    is correctly rounded; taking it in float64 and rounding to float32 gives the
    correctly rounded result (float64 has more than twice float32's precision).
    """
    velocity = torch.clamp(velocity, -nav.MAX_SPEED, nav.MAX_SPEED)
    new_positions = positions + velocity
    offset = new_positions - goals
    squared = offset[..., 0] * offset[..., 0] + offset[..., 1] * offset[..., 1]
    rewards = -torch.sqrt(squared.double()).to(torch.float32)
    terminated = (offset.abs() < nav.GOAL_TOLERANCE).all(-1)
    return new_positions, rewards, terminated


@torch.no_grad()
def rollout(
    policy: nn.Module,
    params: Params,
    goals: Tensor,
    n_traj: int,
    generator: torch.Generator,
    horizon: int = nav.HORIZON,
) -> Trajectories:
    """Sample ``n_traj`` episodes of each task with its own policy parameters.

    Every episode starts at the origin; each step samples ``u`` from the
    Gaussian policy, moves by the velocity ``MAX_SPEED * u`` clipped to the box,
    and ends the episode on reaching the goal (the environment's rules, in torch).

    Args:
        policy: the network (its own weights are not used).
        params: per-task parameters, shape ``(B, *shape)``.
        goals: float32, shape ``(B, 2)``.
        n_traj: trajectories per task ``K``.
        generator: source of the exploration noise, drawn at once as
            ``(T, B, K, 2)`` standard normals.
        horizon: steps per episode ``T``.
    """
    params = {name: p.detach() for name, p in params.items()}
    n_tasks = goals.shape[0]
    noise = torch.randn((horizon, n_tasks, n_traj, 2), generator=generator)
    goal = goals.to(torch.float32).unsqueeze(1)  # (B, 1, 2)
    positions = torch.zeros(n_tasks, n_traj, 2)
    alive = torch.ones(n_tasks, n_traj, dtype=torch.bool)
    obs, actions, rewards, mask = [], [], [], []
    std = torch.exp(params["log_std"]).unsqueeze(-2)
    for t in range(horizon):
        mean = functional_call(policy, params, (positions,))
        u = mean + std * noise[t]
        new_positions, reward, terminated = torch_navigation_step(
            positions, nav.MAX_SPEED * u, goal
        )
        obs.append(positions)
        actions.append(u)
        rewards.append(torch.where(alive, reward, 0.0))
        mask.append(alive)
        positions = torch.where(alive.unsqueeze(-1), new_positions, positions)
        alive = alive & ~terminated
    return Trajectories(
        obs=torch.stack(obs, dim=2),
        actions=torch.stack(actions, dim=2),
        rewards=torch.stack(rewards, dim=2),
        mask=torch.stack(mask, dim=2).to(torch.float32),
        final=positions,
    )


# ---------------------------------------------------------------------------
# 3. Policy gradient with a linear feature baseline
# ---------------------------------------------------------------------------


def discounted_returns(rewards: Tensor, gamma: float) -> Tensor:
    """Reward-to-go ``G_t = sum_{s >= t} gamma^(s-t) r_s`` along the last axis ``(..., T)``."""
    horizon = rewards.shape[-1]
    steps = torch.arange(horizon, dtype=torch.float64)
    lag = steps.view(-1, 1) - steps.view(1, -1)  # [s, t] = s - t
    weights = torch.where(lag >= 0, gamma ** lag.clamp(min=0), 0.0)
    return (rewards.double() @ weights).to(rewards.dtype)


def baseline_features(obs: Tensor) -> Tensor:
    """rllab's linear-baseline features ``(o, o^2, t/100, (t/100)^2, (t/100)^3, 1)``.

    ``obs`` ``(B, K, T, 2)`` -> ``(B, K, T, 8)``; positions are clipped to
    ``[-10, 10]`` as in rllab, and time is counted in hundreds of steps.
    """
    o = obs.clamp(-10, 10)
    t = (torch.arange(obs.shape[-2], dtype=obs.dtype) / 100).view(-1, 1)
    t = t.expand(*obs.shape[:-1], 1)
    return torch.cat([o, o * o, t, t * t, t * t * t, torch.ones_like(t)], dim=-1)


def fit_linear_baseline(obs: Tensor, returns: Tensor, mask: Tensor, reg: float = 1e-5) -> Tensor:
    """Each task's least-squares fit of the returns on :func:`baseline_features`.

    Ridge regression over the steps taken (``mask``), one fit per task (rllab
    refits its baseline on each batch of trajectories); in float64.

    Returns:
        The baseline's value at every step, shape ``(B, K, T)``.
    """
    x = baseline_features(obs).double() * mask.double().unsqueeze(-1)
    x = x.flatten(1, 2)  # (B, K*T, F)
    y = (returns.double() * mask.double()).flatten(1, 2).unsqueeze(-1)
    gram = x.transpose(1, 2) @ x + reg * torch.eye(x.shape[-1], dtype=torch.float64)
    coef = torch.linalg.solve(gram, x.transpose(1, 2) @ y)  # (B, F, 1)
    return (x @ coef).view(returns.shape).to(returns.dtype)


def advantages(traj: Trajectories, gamma: float) -> Tensor:
    """Reward-to-go minus the linear baseline, standardised per task (mean 0,
    std 1 over the steps taken), as rllab's ``center_adv`` does. Shape ``(B, K, T)``."""
    returns = discounted_returns(traj.rewards, gamma)
    adv = (returns - fit_linear_baseline(traj.obs, returns, traj.mask)) * traj.mask
    count = traj.mask.sum(dim=(1, 2), keepdim=True)
    mean = adv.sum(dim=(1, 2), keepdim=True) / count
    var = (((adv - mean) * traj.mask) ** 2).sum(dim=(1, 2), keepdim=True) / count
    return (adv - mean) / (var.sqrt() + 1e-8) * traj.mask


def surrogate_losses(policy: nn.Module, params: Params, traj: Trajectories, adv: Tensor) -> Tensor:
    """Each task's REINFORCE surrogate ``-mean_t log pi(u_t | s_t) A_t``, shape ``(B,)``.

    Its gradient is the policy-gradient estimate; the mean is over the steps
    taken by the task's ``K`` trajectories.
    """
    n_tasks, n_traj, horizon, _ = traj.obs.shape
    obs = traj.obs.reshape(n_tasks, n_traj * horizon, 2)
    mean, log_std = mean_and_log_std(policy, params, obs)
    log_prob = gaussian_log_prob(traj.actions.reshape(n_tasks, -1, 2), mean, log_std)
    weighted = (log_prob * adv.reshape(n_tasks, -1)).sum(-1)
    return -weighted / traj.mask.sum(dim=(1, 2))


# ---------------------------------------------------------------------------
# 4. The inner loop
# ---------------------------------------------------------------------------


def policy_gradient_step(
    policy: nn.Module,
    params: Params,
    traj: Trajectories,
    inner_lr: float,
    gamma: float,
    *,
    create_graph: bool = False,
) -> Params:
    """One step ``phi <- phi - inner_lr * grad surrogate`` of every task at once.

    Summing the task losses before differentiating gives each task's copy its
    own gradient (no task's loss depends on another's copy). With
    ``create_graph`` the step stays differentiable (second-order MAML).
    """
    loss = surrogate_losses(policy, params, traj, advantages(traj, gamma)).sum()
    grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
    return {name: p - inner_lr * g for (name, p), g in zip(params.items(), grads, strict=True)}


def adapt(
    policy: nn.Module,
    params: Params,
    goals: Tensor,
    inner_lr: float,
    steps: int,
    n_traj: int,
    generator: torch.Generator,
    gamma: float,
    *,
    create_graph: bool = False,
) -> tuple[Params, list[Trajectories]]:
    """``steps`` rounds of: sample ``n_traj`` trajectories per task, take one
    policy-gradient step on them.

    Returns:
        The adapted per-task parameters, and the trajectories of each round
        (sampled before its step: ``result[1][s]`` is the policy after ``s`` steps).
    """
    sampled = []
    for _ in range(steps):
        traj = rollout(policy, params, goals, n_traj, generator)
        sampled.append(traj)
        params = policy_gradient_step(
            policy, params, traj, inner_lr, gamma, create_graph=create_graph
        )
    return params, sampled


# ---------------------------------------------------------------------------
# 5. Meta-training
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MamlRLConfig:
    """Settings of one meta-training run; the defaults are the chapter's MAML.

    The reference recipes, for comparison: Finn et al.'s ``maml_trpo_point.py``
    takes 100 TRPO steps on 40 tasks of 20 + 20 trajectories (16 million
    environment steps); the PyTorch port's ``configs/maml/2d-navigation.yaml``
    500 steps on 20 tasks (40 million). The defaults here take 400 Adam steps
    on 20 tasks (about 30 million steps, about two minutes on one CPU thread).

    Attributes:
        inner_lr: step size ``alpha`` of the inner policy-gradient step (and of
            fine-tuning at meta-test time); both references use 0.1.
        inner_steps: inner steps in meta-training.
        inner_trajectories: trajectories per task for each inner step (references: 20).
        outer_trajectories: trajectories per task after adaptation, for the outer loss.
        meta_batch: tasks per iteration (references: 20 or 40).
        iterations: outer steps.
        outer_lr: Adam's step size (the references use TRPO with a KL step of 0.01).
        first_order: drop the second-order term (first-order MAML).
        gamma: discount of the rewards-to-go (rllab's default 0.99); returns
            are reported undiscounted.
        hidden: widths of the policy's ReLU hidden layers. Finn et al. use
            (100, 100), the PyTorch port (64, 64); the smaller one reaches the
            same held-out return here (seed 0, ``log_std=0``: -13.3 after one
            step against -13.4 for (100, 100) after 300 iterations) at 0.6
            times the cost of an iteration.
        log_std: initial log standard deviation of the policy, in units of the
            maximum speed. rllab starts at 0 (a standard deviation of one); -0.5
            starts from less noise, which the learned value reaches after a few
            hundred iterations anyway, and gained half a point of return (seed
            0: -12.8 against -13.3 after one step).
        seed: seeds the initial weights, the goals and the exploration noise.
    """

    inner_lr: float = 0.1
    inner_steps: int = 1
    inner_trajectories: int = 20
    outer_trajectories: int = 20
    meta_batch: int = 20
    iterations: int = 400
    outer_lr: float = 1e-3
    first_order: bool = False
    gamma: float = 0.99
    hidden: tuple[int, ...] = (64, 64)
    log_std: float = -0.5
    seed: int = 0

    def __post_init__(self) -> None:
        check_in_range("inner_lr", self.inner_lr, 0.0, 10.0, low_inclusive=False)
        for name in ("inner_steps", "inner_trajectories", "outer_trajectories", "meta_batch"):
            check_positive_int(name, getattr(self, name))
        check_in_range("inner_steps", self.inner_steps, 1, 10)
        check_non_negative_int("iterations", self.iterations)
        check_positive("outer_lr", self.outer_lr)
        if not isinstance(self.first_order, bool):
            raise ValueError(f"first_order={self.first_order!r} is not allowed: use True or False")
        check_in_range("gamma", self.gamma, 0.0, 1.0)
        object.__setattr__(self, "hidden", tuple(self.hidden))
        for width in self.hidden:
            check_positive_int("hidden", width)
        check_in_range("log_std", self.log_std, -5.0, 2.0)
        check_non_negative_int("seed", self.seed)

    def env_steps_per_iteration(self) -> int:
        """Most environment steps one iteration can take (episodes may end early)."""
        per_task = self.inner_steps * self.inner_trajectories + self.outer_trajectories
        return self.meta_batch * per_task * nav.HORIZON


@dataclasses.dataclass
class MamlRLHistory:
    """The log of one training run, one entry per iteration.

    Attributes:
        env_steps: environment steps taken so far, at the end of each iteration.
        pre_returns: mean return of the trajectories sampled before adaptation.
        post_returns: mean return after ``inner_steps`` inner steps (for
            :func:`train_pretrained`, equal to ``pre_returns``: it does not adapt).
        losses: the outer (surrogate) loss.
        wall_time: seconds of training (``time.perf_counter``).
        process_time: CPU seconds of training (``time.process_time``).
        config: the run's settings as a plain dict.
    """

    env_steps: list[int] = dataclasses.field(default_factory=list)
    pre_returns: list[float] = dataclasses.field(default_factory=list)
    post_returns: list[float] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)
    wall_time: float = 0.0
    process_time: float = 0.0
    config: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_dict(self, *, with_times: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; times are left out unless asked for, so that stored
        results stay identical from one run to the next."""
        out = dataclasses.asdict(self)
        if not with_times:
            out.pop("wall_time")
            out.pop("process_time")
        return out


class MamlRLResult(NamedTuple):
    """What the training functions return: the policy and its log."""

    policy: GaussianPolicy
    history: MamlRLHistory


def _goals(rng: np.random.Generator, n: int) -> Tensor:
    return torch.from_numpy(nav.sample_tasks(rng, n).goals)


def _outer_step(optimizer: torch.optim.Optimizer, loss: Tensor) -> None:
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()


@single_threaded
def train_maml_rl(config: MamlRLConfig, progress: bool = False) -> MamlRLResult:
    """Meta-train a :class:`GaussianPolicy` with MAML on navigation goals.

    Each iteration:

    1. draw ``meta_batch`` training goals (``point_navigation.sample_tasks``);
    2. inner loop: from the shared parameters ``theta``, sample
       ``inner_trajectories`` per goal and take a policy-gradient step, keeping
       its graph (:func:`adapt`), ``inner_steps`` times;
    3. sample ``outer_trajectories`` per goal with the adapted policies and
       compute their surrogate loss;
    4. differentiate that loss with respect to ``theta``, through the inner
       steps, and take one Adam step.

    Raises:
        TrainingDivergedError: if a loss or a return turns NaN or infinite.
    """
    start, start_cpu = time.perf_counter(), time.process_time()
    generator = torch_generator(config.seed)
    rng = np.random.default_rng(config.seed)
    policy = GaussianPolicy(config.hidden, config.log_std, generator)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.outer_lr)
    history = MamlRLHistory(config=dataclasses.asdict(config))
    env_steps = 0
    for iteration in tqdm(range(1, config.iterations + 1), disable=not progress, desc="MAML"):
        goals = _goals(rng, config.meta_batch)
        theta = per_task(parameters_of(policy), config.meta_batch)
        phi, inner = adapt(
            policy,
            theta,
            goals,
            config.inner_lr,
            config.inner_steps,
            config.inner_trajectories,
            generator,
            config.gamma,
            create_graph=not config.first_order,
        )
        outer = rollout(policy, phi, goals, config.outer_trajectories, generator)
        loss = surrogate_losses(policy, phi, outer, advantages(outer, config.gamma)).mean()
        env_steps += sum(t.env_steps() for t in inner) + outer.env_steps()
        history.env_steps.append(env_steps)
        history.pre_returns.append(inner[0].returns().mean().item())
        history.post_returns.append(outer.returns().mean().item())
        history.losses.append(loss.item())
        check_finite("MAML outer loss", history.losses[-1], iteration)
        check_finite("post-adaptation return", history.post_returns[-1], iteration)
        _outer_step(optimizer, loss)
    history.wall_time = time.perf_counter() - start
    history.process_time = time.process_time() - start_cpu
    return MamlRLResult(policy, history)


@single_threaded
def train_pretrained(config: MamlRLConfig, progress: bool = False) -> MamlRLResult:
    """The baseline "pretrained on all goals": plain policy gradient, no adaptation.

    Same policy, seed, goals per iteration, iterations and optimiser as
    :func:`train_maml_rl`, and as many trajectories per goal as one MAML
    iteration samples (``inner_steps * inner_trajectories + outer_trajectories``),
    so both spend the same environment steps; the loss is the REINFORCE
    surrogate of the shared policy on every goal. At meta-test time it is
    fine-tuned with the same inner loop as MAML. The inner-loop settings of
    ``config`` only size its batches.
    """
    start, start_cpu = time.perf_counter(), time.process_time()
    generator = torch_generator(config.seed)
    rng = np.random.default_rng(config.seed)
    policy = GaussianPolicy(config.hidden, config.log_std, generator)
    optimizer = torch.optim.Adam(policy.parameters(), lr=config.outer_lr)
    history = MamlRLHistory(config=dataclasses.asdict(config))
    n_traj = config.inner_steps * config.inner_trajectories + config.outer_trajectories
    env_steps = 0
    for iteration in tqdm(range(1, config.iterations + 1), disable=not progress, desc="pretrain"):
        goals = _goals(rng, config.meta_batch)
        theta = per_task(parameters_of(policy), config.meta_batch)
        traj = rollout(policy, theta, goals, n_traj, generator)
        loss = surrogate_losses(policy, theta, traj, advantages(traj, config.gamma)).mean()
        env_steps += traj.env_steps()
        history.env_steps.append(env_steps)
        history.pre_returns.append(traj.returns().mean().item())
        history.post_returns.append(history.pre_returns[-1])
        history.losses.append(loss.item())
        check_finite("pretraining loss", history.losses[-1], iteration)
        _outer_step(optimizer, loss)
    history.wall_time = time.perf_counter() - start
    history.process_time = time.process_time() - start_cpu
    return MamlRLResult(policy, history)


def random_policy(config: MamlRLConfig) -> GaussianPolicy:
    """The untrained policy of ``config``'s seed: the "random" baseline, fine-tuned
    at meta-test time like the others."""
    return GaussianPolicy(config.hidden, config.log_std, torch_generator(config.seed))


# ---------------------------------------------------------------------------
# 6. Meta-testing
# ---------------------------------------------------------------------------


def step_sizes(inner_lr: float, steps: int, later_lr: float | None = None) -> list[float]:
    """The step size of each of ``steps`` fine-tuning steps: ``inner_lr`` for the
    first, ``later_lr`` (default: ``inner_lr`` again) for the others.

    Finn et al. (2017, appendix) evaluate with half the step size after the first
    step; the benchmark does the same with ``later_lr = inner_lr / 2``.
    """
    check_in_range("inner_lr", inner_lr, 0.0, 10.0)
    check_non_negative_int("steps", steps)
    later = inner_lr if later_lr is None else later_lr
    check_in_range("later_lr", later, 0.0, 10.0)
    return [inner_lr] + [later] * max(steps - 1, 0) if steps else []


def adaptation_path(
    policy: nn.Module,
    goals: Tensor,
    lrs: Sequence[float],
    n_traj: int,
    gamma: float,
    generator: torch.Generator,
) -> Iterator[Trajectories]:
    """The trajectories of each task before and after each fine-tuning step.

    From the policy's parameters, every task (goal of ``goals``, shape ``(B, 2)``)
    is adapted alone by the inner loop of meta-training: sample ``n_traj``
    trajectories, take a policy-gradient step with the next step size of
    ``lrs``, repeat. Yields ``len(lrs) + 1`` batches of trajectories: item ``s``
    is sampled by the policies after ``s`` steps (and serves their next step).
    """
    params = {
        name: p.detach().clone().requires_grad_()
        for name, p in per_task(parameters_of(policy), goals.shape[0]).items()
    }
    for step in range(len(lrs) + 1):
        traj = rollout(policy, params, goals, n_traj, generator)
        yield traj
        if step < len(lrs):
            params = {
                name: p.detach().requires_grad_()
                for name, p in policy_gradient_step(policy, params, traj, lrs[step], gamma).items()
            }


@single_threaded
def task_returns(
    policy: nn.Module,
    tasks: nav.NavigationTasks,
    inner_lr: float,
    steps: int,
    n_traj: int = 20,
    gamma: float = 0.99,
    seed: int = EVAL_SEED,
    later_lr: float | None = None,
) -> Tensor:
    """Mean return of each task's trajectories after 0, 1, ..., ``steps`` inner steps.

    Each task is adapted by :func:`adaptation_path` with the step sizes of
    :func:`step_sizes`; the return after ``s`` steps is that of the
    trajectories the policy samples after ``s`` steps, as in Finn et al.'s
    evaluation. Tasks go in chunks of :data:`EVAL_CHUNK`, with noise from ``seed``.

    Returns:
        Shape ``(steps + 1, n_tasks)``.

    Raises:
        TrainingDivergedError: if a return turns NaN or infinite.
    """
    lrs = step_sizes(inner_lr, steps, later_lr)
    check_positive_int("n_traj", n_traj)
    generator = torch_generator(seed)
    columns = []
    for goals in torch.split(torch.from_numpy(tasks.goals), EVAL_CHUNK):
        rows = []
        for step, traj in enumerate(adaptation_path(policy, goals, lrs, n_traj, gamma, generator)):
            rows.append(traj.returns().mean(dim=1))
            check_finite("meta-test return", rows[-1].mean().item(), step)
        columns.append(torch.stack(rows))
    return torch.cat(columns, dim=1)


def adaptation_returns(
    policy: nn.Module,
    tasks: nav.NavigationTasks,
    inner_lr: float,
    steps: int,
    n_traj: int = 20,
    gamma: float = 0.99,
    seed: int = EVAL_SEED,
    later_lr: float | None = None,
) -> Tensor:
    """Mean return over ``tasks`` after 0, 1, ..., ``steps`` inner steps, shape
    ``(steps + 1,)``: the mean over tasks of :func:`task_returns`."""
    return task_returns(policy, tasks, inner_lr, steps, n_traj, gamma, seed, later_lr).mean(dim=1)


@single_threaded
def adapted_paths(
    policy: nn.Module,
    tasks: nav.NavigationTasks,
    inner_lr: float,
    steps: Sequence[int] = (0, 3),
    n_traj: int = 20,
    gamma: float = 0.99,
    seed: int = EVAL_SEED,
    later_lr: float | None = None,
) -> dict[int, list[np.ndarray]]:
    """Paths of the point before and after adaptation, for drawing.

    Each task is adapted as in :func:`task_returns`; after each number of
    steps in ``steps``, the first sampled trajectory of each task is kept.

    Returns:
        step -> one array per task of the positions visited, shape ``(T_i + 1, 2)``
        from the origin to the last position (``T_i`` < 100 when the goal was reached).
    """
    wanted = set(steps)
    lrs = step_sizes(inner_lr, max(wanted), later_lr)
    goals = torch.from_numpy(tasks.goals)
    out: dict[int, list[np.ndarray]] = {}
    path = adaptation_path(policy, goals, lrs, n_traj, gamma, torch_generator(seed))
    for step, traj in enumerate(path):
        if step in wanted:
            out[step] = []
            for i in range(goals.shape[0]):
                length = int(traj.mask[i, 0].sum().item())
                visited = torch.cat([traj.obs[i, 0, :length], traj.final[i, :1]])
                out[step].append(visited.numpy().copy())
    return out


def tune_inner_lr(
    policy: nn.Module,
    candidates: Sequence[float] = (0.01, 0.03, 0.1, 0.3, 1.0),
    steps: int = 1,
    n_tasks: int = 40,
    n_traj: int = 20,
) -> float:
    """The step size among ``candidates`` with the best mean return after ``steps``
    fine-tuning steps on validation goals (never the held-out ones)."""
    tasks = nav.sample_tasks(np.random.default_rng(VALIDATION_SEED), n_tasks)
    best, best_return = candidates[0], -math.inf
    for lr in candidates:
        try:
            value = adaptation_returns(policy, tasks, lr, steps, n_traj)[-1].item()
        except FloatingPointError:
            continue
        if value > best_return:
            best, best_return = lr, value
    return best


@torch.no_grad()
def hand_made_returns(
    tasks: nav.NavigationTasks,
    log_std: float,
    radius: float | None = None,
    n_traj: int = 20,
    seed: int = EVAL_SEED,
) -> Tensor:
    """Mean return of a hand-made policy on each task, for reference.

    Its mean action heads straight for a target point, ``u = (target - s) /
    MAX_SPEED`` (clipped by the environment), with Gaussian noise of log
    standard deviation ``log_std`` as the learned policies have. With
    ``radius=None`` the target is the goal itself (an oracle that knows the
    task); otherwise it is the point at ``radius`` from the origin in the
    goal's direction: a policy that knows where the goal lies but not how far,
    which is what one policy-gradient step from a policy that stays near the
    origin can learn.

    Returns:
        Shape ``(n_tasks,)``.
    """
    check_in_range("log_std", log_std, -10.0, 2.0)
    check_positive_int("n_traj", n_traj)
    goals = torch.from_numpy(tasks.goals)
    if radius is None:
        targets = goals
    else:
        check_in_range("radius", radius, 0.0, math.inf)
        targets = radius * goals / goals.norm(dim=1, keepdim=True).clamp(min=1e-12)
    generator = torch_generator(seed)
    noise = torch.randn((nav.HORIZON, goals.shape[0], n_traj, 2), generator=generator)
    positions = torch.zeros(goals.shape[0], n_traj, 2)
    alive = torch.ones(goals.shape[0], n_traj, dtype=torch.bool)
    total = torch.zeros(goals.shape[0], n_traj)
    for t in range(nav.HORIZON):
        u = (targets.unsqueeze(1) - positions) / nav.MAX_SPEED + math.exp(log_std) * noise[t]
        new_positions, reward, terminated = torch_navigation_step(
            positions, nav.MAX_SPEED * u, goals.unsqueeze(1)
        )
        total += torch.where(alive, reward, 0.0)
        positions = torch.where(alive.unsqueeze(-1), new_positions, positions)
        alive = alive & ~terminated
    return total.mean(dim=1)
