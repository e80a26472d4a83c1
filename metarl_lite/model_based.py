"""Model-based control that adapts to changed dynamics (chapter 6, robot control).

A robot whose load or limbs change must still be controlled. Following Nagabandi
et al. (2019, "Learning to Adapt in Dynamic, Real-World Environments through
Meta-Reinforcement Learning"), the agent here learns a **dynamics model** that
predicts the change of state from a state and an action, and acts by **model
predictive control** (MPC): at every step it tries many action sequences inside
the model, takes the first action of the best one, and plans again at the next
step. Three agents share that planner and differ only in their model:

- ``"meta"``: a meta-learned initialisation ``params_meta`` of the model's
  weights (first-order MAML), adapted at every step by a few gradient steps on
  the last ``adapt_window`` transitions of the current task;
- ``"dr"`` (domain randomisation): one model fit to the pooled data of all
  training tasks and never adapted;
- ``"scratch"``: a fresh model fit only to the new task's own data, refit after
  every episode.

Two bounds need no learning: ``"oracle"`` plans with the true dynamics of the
task and ``"random"`` draws torques uniformly.

The task family is :mod:`metarl_lite.envs.varied_pendulum`. States inside the
planner are ``(theta, thetadot)`` tensors of shape ``(n,)``; the model is a small
MLP held as a list of weight tensors, so that adapted copies are plain lists
(the maths are pure functions of ``params``).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from metarl_lite._checks import (
    check_choice,
    check_in_range,
    check_non_negative_int,
    check_positive,
    check_positive_int,
)
from metarl_lite.envs.varied_pendulum import PendulumTasks, VariedPendulumEnv
from metarl_lite.history import TrainingDivergedError, check_finite
from metarl_lite.seeding import single_threaded

__all__ = [
    "AGENTS",
    "AdaptConfig",
    "MPCConfig",
    "ModelConfig",
    "ModelFit",
    "Transitions",
    "adapt",
    "angle_normalize",
    "collect_random_transitions",
    "episode_seed",
    "evaluate_agent",
    "features",
    "fit_model",
    "init_model",
    "load_params",
    "mlp",
    "model_loss",
    "obs_to_state",
    "plan",
    "predict_next",
    "reward",
    "save_params",
    "train_dr",
    "train_meta",
    "training_data",
    "true_step",
]

#: The agents :func:`evaluate_agent` knows.
AGENTS: tuple[str, ...] = ("meta", "dr", "scratch", "oracle", "random")

# Pendulum-v1's constants (gymnasium.envs.classic_control.pendulum.PendulumEnv).
G = 10.0
DT = 0.05
MAX_SPEED = 8.0
MAX_TORQUE = 2.0
#: Scales of the model's two outputs, the changes of theta and thetadot in one step:
#: the network predicts ``delta / DELTA_SCALE``, numbers of order one.
DELTA_SCALE = (0.4, 2.0)


# -- The pendulum's maths ------------------------------------------------------------------


def angle_normalize(theta: torch.Tensor) -> torch.Tensor:
    """``theta`` wrapped to ``[-pi, pi)``, as Gymnasium's Pendulum does."""
    return torch.remainder(theta + math.pi, 2 * math.pi) - math.pi


def reward(theta: torch.Tensor, thetadot: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """Pendulum-v1's reward ``-(theta^2 + 0.1 thetadot^2 + 0.001 u^2)``, any equal shapes."""
    return -(angle_normalize(theta) ** 2 + 0.1 * thetadot**2 + 0.001 * u**2)


def true_step(
    theta: torch.Tensor,
    thetadot: torch.Tensor,
    u: torch.Tensor,
    m: float,
    l: float,  # noqa: E741
) -> tuple[torch.Tensor, torch.Tensor]:
    """The task's true dynamics (Pendulum-v1's step) on tensors of shape ``(n,)``.

    ``thetadot' = clip(thetadot + (3 g / (2 l) sin theta + 3 / (m l^2) u) dt, +-8)``
    and ``theta' = theta + thetadot' dt``, with ``u`` clipped to ``[-2, 2]``. The
    oracle plans with it; a test checks it against ``VariedPendulumEnv.step``.
    """
    u = torch.clamp(u, -MAX_TORQUE, MAX_TORQUE)
    new_thetadot = thetadot + (3 * G / (2 * l) * torch.sin(theta) + 3.0 / (m * l**2) * u) * DT
    new_thetadot = torch.clamp(new_thetadot, -MAX_SPEED, MAX_SPEED)
    return theta + new_thetadot * DT, new_thetadot


def obs_to_state(obs: np.ndarray) -> tuple[float, float]:
    """``(theta, thetadot)`` from Pendulum's observation ``(cos, sin, thetadot)``."""
    return math.atan2(float(obs[1]), float(obs[0])), float(obs[2])


# -- The dynamics model --------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """The dynamics model: an MLP from ``(cos theta, sin theta, thetadot / 8, u / 2)``
    to the scaled change ``(dtheta, dthetadot) / DELTA_SCALE``.

    Attributes:
        hidden: units in each of the two hidden layers (tanh).
    """

    hidden: int = 32

    def __post_init__(self) -> None:
        check_positive_int("hidden", self.hidden)


def init_model(config: ModelConfig, generator: torch.Generator) -> list[torch.Tensor]:
    """Fresh weights ``[W1 (4, h), b1 (h,), W2 (h, h), b2 (h,), W3 (h, 2), b3 (2,)]``,
    uniform in ``+-1/sqrt(fan_in)`` like ``nn.Linear``, biases zero."""
    sizes = [4, config.hidden, config.hidden, 2]
    params = []
    for fan_in, fan_out in itertools.pairwise(sizes):
        bound = 1.0 / math.sqrt(fan_in)
        params.append((torch.rand(fan_in, fan_out, generator=generator) * 2 - 1) * bound)
        params.append(torch.zeros(fan_out))
    return params


def mlp(params: Sequence[torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """The MLP on inputs of shape ``(n, 4)``: output of shape ``(n, 2)``."""
    w1, b1, w2, b2, w3, b3 = params
    h = torch.tanh(x @ w1 + b1)
    h = torch.tanh(h @ w2 + b2)
    return h @ w3 + b3


def features(theta: torch.Tensor, thetadot: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    """The model's input, shape ``(n, 4)``, from three tensors of shape ``(n,)``."""
    return torch.stack(
        [torch.cos(theta), torch.sin(theta), thetadot / MAX_SPEED, u / MAX_TORQUE], dim=-1
    )


def predict_next(
    params: Sequence[torch.Tensor],
    theta: torch.Tensor,
    thetadot: torch.Tensor,
    u: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The model's next state: ``s' = s + DELTA_SCALE * f_params(s, u)``, shapes ``(n,)``
    (the angular velocity is clipped to ``[-8, 8]`` as the env does)."""
    u = torch.clamp(u, -MAX_TORQUE, MAX_TORQUE)
    delta = mlp(params, features(theta, thetadot, u))
    new_thetadot = torch.clamp(thetadot + DELTA_SCALE[1] * delta[:, 1], -MAX_SPEED, MAX_SPEED)
    return theta + DELTA_SCALE[0] * delta[:, 0], new_thetadot


class Transitions(NamedTuple):
    """``n`` transitions ``(theta, thetadot, u) -> (theta', thetadot')``, each of shape
    ``(n,)``; ``dtheta`` is ``theta' - theta`` wrapped to ``[-pi, pi)``."""

    theta: torch.Tensor
    thetadot: torch.Tensor
    u: torch.Tensor
    dtheta: torch.Tensor
    dthetadot: torch.Tensor

    def __getitem__(self, index: Any) -> Any:  # type: ignore[override]
        """An int picks a field, as for any tuple; a slice or index tensor picks rows."""
        if isinstance(index, int):
            return tuple.__getitem__(self, index)
        return Transitions(*(field[index] for field in self))

    @property
    def size(self) -> int:
        """The number of transitions."""
        return int(self.theta.shape[0])

    @classmethod
    def concat(cls, parts: Sequence[Transitions]) -> Transitions:
        """The transitions of ``parts``, one after the other."""
        return cls(*(torch.cat(fields) for fields in zip(*parts, strict=True)))


def model_loss(params: Sequence[torch.Tensor], batch: Transitions) -> torch.Tensor:
    """Mean squared error of the scaled state change:
    ``L = mean_i || f_params(s_i, u_i) - (s'_i - s_i) / DELTA_SCALE ||^2``."""
    pred = mlp(params, features(batch.theta, batch.thetadot, batch.u))
    target = torch.stack([batch.dtheta / DELTA_SCALE[0], batch.dthetadot / DELTA_SCALE[1]], dim=-1)
    return ((pred - target) ** 2).sum(-1).mean()


def adapt(
    params: Sequence[torch.Tensor],
    batch: Transitions,
    lr: float,
    steps: int,
    *,
    create_graph: bool = False,
) -> list[torch.Tensor]:
    """``steps`` plain gradient steps ``params <- params - lr * grad L(params; batch)``.

    With ``create_graph`` the result stays differentiable in ``params`` (second-order
    MAML); otherwise the returned tensors are detached leaves that require grad.
    """
    current = [p if p.requires_grad else p.detach().requires_grad_() for p in params]
    for _ in range(steps):
        grads = torch.autograd.grad(model_loss(current, batch), current, create_graph=create_graph)
        current = [p - lr * g for p, g in zip(current, grads, strict=True)]
        if not create_graph:
            current = [p.detach().requires_grad_() for p in current]
    return current


# -- Planning ------------------------------------------------------------------------------

StepFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


@dataclasses.dataclass(frozen=True)
class MPCConfig:
    """Random-shooting MPC: score ``n_candidates`` torque sequences of ``horizon``
    steps in the model, apply the first torque of the best.

    Attributes:
        horizon: planning steps ``H`` (0.05 s each).
        n_candidates: sequences ``N`` scored per step.
        hold: each sampled torque is held for ``hold`` steps, so a sequence has
            ``ceil(H / hold)`` free values: fewer dimensions for the same number
            of samples to cover (``hold=1`` is plain random shooting).
    """

    horizon: int = 20
    n_candidates: int = 200
    hold: int = 4

    def __post_init__(self) -> None:
        check_positive_int("horizon", self.horizon)
        check_positive_int("n_candidates", self.n_candidates)
        check_positive_int("hold", self.hold)


def plan(
    step_fn: StepFn,
    theta: float,
    thetadot: float,
    config: MPCConfig,
    generator: torch.Generator,
) -> float:
    """The first torque of the sequence with the highest predicted return
    ``J(u_0..u_{H-1}) = sum_t reward(s_{t+1}, u_t)``, ``s_{t+1} = step_fn(s_t, u_t)``.

    Args:
        step_fn: a model ``(theta, thetadot, u) -> (theta', thetadot')`` on shape ``(N,)``.
        theta, thetadot: the current state.
        config: the planner's settings.
        generator: the source of the candidate torques.
    """
    n, horizon = config.n_candidates, config.horizon
    knots = -(-horizon // config.hold)
    values = (torch.rand(knots, n, generator=generator) * 2 - 1) * MAX_TORQUE
    actions = values.repeat_interleave(config.hold, dim=0)[:horizon]
    th = torch.full((n,), theta)
    thd = torch.full((n,), thetadot)
    total = torch.zeros(n)
    with torch.no_grad():
        for t in range(horizon):
            th, thd = step_fn(th, thd, actions[t])
            total += reward(th, thd, actions[t])
    return float(actions[0, int(torch.argmax(total))])


# -- Data and training ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class AdaptConfig:
    """Everything the three learned agents need, from data collection to online adaptation.

    Attributes:
        model: the dynamics model.
        mpc: the planner every agent shares.
        n_train_tasks: training tasks, drawn by ``sample_tasks`` from the seed.
        rollouts_per_task: random-torque rollouts collected in each training task,
            each from a random angle and angular velocity (Gymnasium's
            ``x_init = pi``, ``y_init = 8``).
        rollout_len: steps per rollout.
        meta_iterations: outer steps of first-order MAML.
        meta_batch: tasks per outer step.
        adapt_window: ``M``, the transitions a model adapts on (the last ``M`` of
            the current task when acting; ``M`` consecutive ones in meta-training).
        query_size: ``K``, the transitions of the same task that the adapted model
            is scored on in meta-training.
        inner_lr: ``alpha``, the step size of the adaptation step.
        inner_steps: gradient steps per adaptation.
        first_order: drop the second derivatives of the MAML gradient.
        query_anywhere: score the adapted model on ``K`` transitions drawn from anywhere
            in the task's data, instead of the ``K`` that follow the ``M``.
        outer_lr: Adam step size of meta-training and of the DR and scratch fits.
        dr_steps: Adam steps of the domain-randomised fit (batch ``dr_batch``).
        dr_batch: transitions per step of the DR and scratch fits.
        scratch_steps: Adam steps of the scratch model after each episode.
        seed: seeds the training tasks, the data, the weights and the planner.
    """

    model: ModelConfig = ModelConfig()
    mpc: MPCConfig = MPCConfig()
    n_train_tasks: int = 40
    rollouts_per_task: int = 10
    rollout_len: int = 40
    meta_iterations: int = 800
    meta_batch: int = 8
    adapt_window: int = 32
    query_size: int = 32
    inner_lr: float = 0.1
    inner_steps: int = 5
    first_order: bool = True
    query_anywhere: bool = True
    outer_lr: float = 3e-3
    dr_steps: int = 2000
    dr_batch: int = 128
    scratch_steps: int = 300
    seed: int = 0

    def __post_init__(self) -> None:
        for name in (
            "n_train_tasks",
            "rollouts_per_task",
            "rollout_len",
            "meta_iterations",
            "meta_batch",
            "adapt_window",
            "query_size",
            "dr_steps",
            "dr_batch",
            "scratch_steps",
        ):
            check_positive_int(name, getattr(self, name))
        check_non_negative_int("inner_steps", self.inner_steps)
        check_non_negative_int("seed", self.seed)
        check_positive("inner_lr", self.inner_lr)
        check_in_range("outer_lr", self.outer_lr, 0.0, 1.0, low_inclusive=False)
        if self.window_len > self.rollout_len:
            raise ValueError(
                f"a meta-training window of {self.window_len} transitions (adapt_window, "
                f"plus query_size unless query_anywhere) is not allowed: it must be at most "
                f"rollout_len={self.rollout_len}"
            )

    @property
    def window_len(self) -> int:
        """Consecutive transitions one meta-training sample takes from a rollout."""
        return self.adapt_window + (0 if self.query_anywhere else self.query_size)


def _transitions(rows: Sequence[tuple[float, float, float, float, float]]) -> Transitions:
    """Rows ``(theta, thetadot, u, theta', thetadot')`` as :class:`Transitions`."""
    a = torch.tensor(rows, dtype=torch.float32).reshape(-1, 5)
    return Transitions(
        a[:, 0], a[:, 1], a[:, 2], angle_normalize(a[:, 3] - a[:, 0]), a[:, 4] - a[:, 1]
    )


def collect_random_transitions(
    task: dict[str, float], n_rollouts: int, rollout_len: int, rng: np.random.Generator
) -> Transitions:
    """Random-torque rollouts in one task, ``n_rollouts * rollout_len`` transitions,
    rollout after rollout (rows ``r * rollout_len`` to ``(r + 1) * rollout_len - 1``
    are rollout ``r``, consecutive in time)."""
    check_positive_int("n_rollouts", n_rollouts)
    check_positive_int("rollout_len", rollout_len)
    env = VariedPendulumEnv(**task)
    rows = []
    for _ in range(n_rollouts):
        obs, _ = env.reset(
            seed=int(rng.integers(2**31)), options={"x_init": math.pi, "y_init": MAX_SPEED}
        )
        for u in rng.uniform(-MAX_TORQUE, MAX_TORQUE, size=rollout_len):
            next_obs, *_ = env.step(np.array([u], dtype=np.float32))
            rows.append((*obs_to_state(obs), float(np.float32(u)), *obs_to_state(next_obs)))
            obs = next_obs
    return _transitions(rows)


def training_data(config: AdaptConfig, tasks: PendulumTasks) -> list[Transitions]:
    """The random-torque data of each training task, from ``config.seed``."""
    rng = np.random.default_rng([config.seed, 1])
    return [
        collect_random_transitions(
            tasks.task(i), config.rollouts_per_task, config.rollout_len, rng
        )
        for i in range(len(tasks.m))
    ]


@dataclasses.dataclass
class ModelFit:
    """A fitted model and its training curve.

    Attributes:
        params: the weights (see :func:`init_model`).
        steps: gradient (outer) steps at which ``losses`` were logged.
        losses: mean training loss over each logging window (the query loss after
            adaptation for meta-training).
        wall_time: seconds spent.
    """

    params: list[torch.Tensor]
    steps: list[int] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)
    wall_time: float = 0.0


#: Training losses are logged as the mean over each window of this many steps.
LOG_EVERY = 20


def _log(fit: ModelFit, step: int, window: list[float]) -> None:
    check_finite("model loss", window[-1], step)
    if step % LOG_EVERY == 0:
        fit.steps.append(step)
        fit.losses.append(round(float(np.mean(window)), 6))
        window.clear()


def fit_model(
    params: Sequence[torch.Tensor],
    data: Transitions,
    steps: int,
    batch: int,
    lr: float,
    generator: torch.Generator,
    *,
    progress: bool = False,
    desc: str = "fit",
) -> ModelFit:
    """``steps`` Adam steps on minibatches of ``data`` (drawn with replacement)."""
    start = time.perf_counter()
    fit = ModelFit([p.detach().clone().requires_grad_() for p in params])
    optimiser = torch.optim.Adam(fit.params, lr=lr)
    window: list[float] = []
    for step in tqdm(range(1, steps + 1), disable=not progress, desc=desc):
        idx = torch.randint(data.size, (batch,), generator=generator)
        loss = model_loss(fit.params, data[idx])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        window.append(float(loss.detach()))
        _log(fit, step, window)
    fit.params = [p.detach() for p in fit.params]
    fit.wall_time = time.perf_counter() - start
    return fit


@single_threaded
def train_dr(config: AdaptConfig, tasks: PendulumTasks, *, progress: bool = False) -> ModelFit:
    """Domain randomisation: one model fit to the pooled data of every training task."""
    data = Transitions.concat(training_data(config, tasks))
    generator = torch.Generator().manual_seed(config.seed)
    params = init_model(config.model, generator)
    return fit_model(
        params,
        data,
        config.dr_steps,
        config.dr_batch,
        config.outer_lr,
        generator,
        progress=progress,
        desc="dr",
    )


@single_threaded
def train_meta(config: AdaptConfig, tasks: PendulumTasks, *, progress: bool = False) -> ModelFit:
    """First-order (or full) MAML of the model's initial weights ``params_meta``.

    Each outer step draws ``meta_batch`` tasks; in each, the model adapts
    (:func:`adapt`) on ``M`` consecutive transitions of one rollout and is scored on
    ``K`` query transitions of the same task: by default drawn from anywhere in the
    task's data (``query_anywhere``), because the planner asks the adapted model
    about states up to 20 steps away, which the last ``M`` did not visit; otherwise
    the ``K`` that follow the ``M``, as in Nagabandi et al. The outer gradient of
    that query loss (taken at the adapted weights when ``first_order``) moves
    ``params_meta`` by Adam.
    """
    start = time.perf_counter()
    data = training_data(config, tasks)
    generator = torch.Generator().manual_seed(config.seed)
    fit = ModelFit([p.requires_grad_() for p in init_model(config.model, generator)])
    optimiser = torch.optim.Adam(fit.params, lr=config.outer_lr)
    m, k, length = config.adapt_window, config.query_size, config.rollout_len
    window: list[float] = []
    iterator = tqdm(range(1, config.meta_iterations + 1), disable=not progress, desc="meta")
    for step in iterator:
        task_ids = torch.randint(len(data), (config.meta_batch,), generator=generator)
        grads = [torch.zeros_like(p) for p in fit.params]
        total = 0.0
        for i in task_ids.tolist():
            rollout = int(torch.randint(config.rollouts_per_task, (1,), generator=generator))
            offset = int(torch.randint(length - config.window_len + 1, (1,), generator=generator))
            first = rollout * length + offset
            support = data[i][first : first + m]
            if config.query_anywhere:
                query = data[i][torch.randint(data[i].size, (k,), generator=generator)]
            else:
                query = data[i][first + m : first + m + k]
            adapted = adapt(
                fit.params,
                support,
                config.inner_lr,
                config.inner_steps,
                create_graph=not config.first_order,
            )
            loss = model_loss(adapted, query)
            wrt = adapted if config.first_order else fit.params
            for g, d in zip(grads, torch.autograd.grad(loss, wrt), strict=True):
                g += d / config.meta_batch
            total += float(loss.detach()) / config.meta_batch
        optimiser.zero_grad()
        for p, g in zip(fit.params, grads, strict=True):
            p.grad = g
        optimiser.step()
        window.append(total)
        _log(fit, step, window)
    fit.params = [p.detach() for p in fit.params]
    fit.wall_time = time.perf_counter() - start
    return fit


def save_params(params: Sequence[torch.Tensor], path: str | Path) -> None:
    """Write a model's weights to ``path`` (a ``.pt`` file of a list of tensors)."""
    torch.save([p.detach().clone() for p in params], Path(path))


def load_params(path: str | Path) -> list[torch.Tensor]:
    """Read weights written by :func:`save_params`."""
    params = torch.load(Path(path), weights_only=True)
    if not (isinstance(params, list) and len(params) == 6):
        raise ValueError(f"path={str(path)!r} does not hold a model's six weight tensors")
    return params


# -- Acting in a new task ------------------------------------------------------------------


def episode_seed(seed: int, episode: int) -> int:
    """The ``reset`` seed of episode ``episode`` in a run with ``seed``: the same for
    every agent, so that agents are compared from the same starts."""
    return 10_000 * seed + episode


@single_threaded
def evaluate_agent(
    agent: str,
    task: dict[str, float],
    config: AdaptConfig,
    params: Sequence[torch.Tensor] | None = None,
    *,
    n_episodes: int = 4,
    seed: int = 0,
    adapt_online: bool | None = None,
    progress: bool = False,
) -> list[float]:
    """Run one agent for ``n_episodes`` 200-step episodes in a new task; its returns.

    Args:
        agent: one of :data:`AGENTS`.
        task: the task, ``{"m": ..., "l": ...}``.
        config: the planner and adaptation settings.
        params: the model's weights for ``"meta"`` and ``"dr"`` (ignored otherwise).
        n_episodes: episodes in the task, one after the other; data carries over.
        seed: seeds the starts (:func:`episode_seed`), the planner and the scratch model.
        adapt_online: adapt ``params`` at every step by :func:`adapt` on the last
            ``adapt_window`` transitions; ``None`` means yes for ``"meta"`` only.
        progress: show a progress bar over steps.

    Returns:
        The undiscounted return of each episode, ``n_episodes`` floats.
    """
    check_choice("agent", agent, AGENTS)
    check_positive_int("n_episodes", n_episodes)
    check_non_negative_int("seed", seed)
    if agent in ("meta", "dr") and params is None:
        raise ValueError(f"params=None is not allowed for agent={agent!r}: pass its weights")
    online = agent == "meta" if adapt_online is None else adapt_online
    env = VariedPendulumEnv(**task)
    generator = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng([seed, 2])
    if agent == "scratch":
        params = init_model(config.model, torch.Generator().manual_seed(seed))
    base = None if params is None else [p.detach() for p in params]
    rows: list[tuple[float, float, float, float, float]] = []
    returns = []
    bar = tqdm(total=200 * n_episodes, disable=not progress, desc=agent)
    for episode in range(n_episodes):
        obs, _ = env.reset(seed=episode_seed(seed, episode))
        total = 0.0
        for _ in range(200):
            theta, thetadot = obs_to_state(obs)
            if agent == "random":
                u = float(rng.uniform(-MAX_TORQUE, MAX_TORQUE))
            else:
                if agent == "oracle":
                    step_fn: StepFn = functools.partial(true_step, m=task["m"], l=task["l"])
                else:
                    current = base
                    if online and rows:
                        recent = _transitions(rows[-config.adapt_window :])
                        current = adapt(base, recent, config.inner_lr, config.inner_steps)
                    step_fn = functools.partial(predict_next, [p.detach() for p in current])
                u = plan(step_fn, theta, thetadot, config.mpc, generator)
            next_obs, r, *_ = env.step(np.array([u], dtype=np.float32))
            rows.append((theta, thetadot, float(np.float32(u)), *obs_to_state(next_obs)))
            total += float(r)
            obs = next_obs
            bar.update()
        returns.append(round(total, 3))
        if agent == "scratch":
            fit = fit_model(
                base,
                _transitions(rows),
                config.scratch_steps,
                config.dr_batch,
                config.outer_lr,
                generator,
            )
            base = fit.params
        if not math.isfinite(total):
            raise TrainingDivergedError(f"return became {total} in episode {episode}")
    bar.close()
    return returns
