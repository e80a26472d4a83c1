"""A learned optimiser: the coordinate-wise LSTM of Andrychowicz et al. (2016).

"Learning to learn by gradient descent by gradient descent" replaces a
hand-designed update rule such as SGD or Adam by a small recurrent network
``m`` with weights ``phi``. At every step the network reads the gradient and
proposes the update::

    g_t = grad f(theta_t)
    u_t, s_{t+1} = m(g_t, s_t; phi)
    theta_{t+1} = theta_t + u_t

The file follows the chapter:

1. gradient preprocessing (the paper's appendix A): each gradient coordinate
   becomes two numbers, its log-magnitude and its sign, so that the network sees
   gradients of any scale on one footing;
2. the rule, :class:`LSTMRule`: a two-layer LSTM with 20 units per layer and a
   linear output, run on every parameter coordinate *separately* with shared
   weights. Each coordinate has its own hidden state, so one small network
   optimises any number of parameters, and ``N`` coordinates are simply a batch
   of ``N`` for the LSTM;
3. using the rule: :func:`apply_rule` (one step on a list of tensors, with the
   graph kept so that a meta-loss can reach ``phi``) and
   :class:`LearnedOptimizer` (a trained rule as a ``torch.optim`` optimiser);
4. the paper's first experiment: meta-training on random 10-dimensional
   quadratics ``f(theta) = ||W theta - y||^2`` by truncated back-propagation
   through time, and the comparison with SGD, RMSprop and Adam.

Meta-training minimises the summed loss along the trajectory,
``L(phi) = E_f [ sum_t f(theta_t) ]``, by Adam on ``phi``. The gradient
``g_t`` fed to the rule is treated as a constant (the paper drops the second
derivatives), so ``dL/dphi`` flows only through the updates ``u_t``.

Shapes: ``N`` coordinates; ``n`` quadratic tasks of dimension ``d``.
"""

# ruff: noqa: N803, N806 -- W follows the paper's notation, f(theta) = ||W theta - y||^2.

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from metarl_lite._checks import (
    check_choice,
    check_in_range,
    check_non_negative_int,
    check_positive,
    check_positive_int,
)
from metarl_lite.history import check_finite
from metarl_lite.seeding import single_threaded, torch_generator

__all__ = [
    "PREPROCESS_P",
    "QUADRATIC_METHODS",
    "TEST_SEED",
    "VALIDATION_SEED",
    "LSTMRule",
    "LSTMRuleConfig",
    "LSTMState",
    "LearnedOptimizer",
    "QuadraticConfig",
    "QuadraticHistory",
    "QuadraticTasks",
    "apply_rule",
    "detach_state",
    "held_out_quadratics",
    "load_rule",
    "optimise_quadratics",
    "preprocess_gradient",
    "quadratic_grad",
    "quadratic_loss",
    "quadratic_tasks",
    "save_rule",
    "train_on_quadratics",
    "tune_learning_rate",
]

#: The preprocessing constant ``p`` of Andrychowicz et al. (2016), appendix A.
PREPROCESS_P: float = 10.0

#: Optimisers compared on the quadratics: the learned rule and three hand-designed ones.
QUADRATIC_METHODS: tuple[str, ...] = ("lstm", "sgd", "adam", "rmsprop")

#: Seeds of the fixed held-out quadratics and of the ones used to tune the
#: hand-designed optimisers' learning rates. Meta-training draws from its own seed.
TEST_SEED = 3_000_017
VALIDATION_SEED = 1_000_033


# ---------------------------------------------------------------------------
# 1. Gradient preprocessing
# ---------------------------------------------------------------------------


def preprocess_gradient(grad: Tensor, p: float = PREPROCESS_P) -> Tensor:
    """Andrychowicz et al. (2016), appendix A: each coordinate to two inputs.

    ``g -> (log|g| / p, sign g)`` if ``|g| >= exp(-p)``, else ``(-1, exp(p) g)``.

    The first input is the gradient's magnitude on a log scale (``-1`` for
    every magnitude below ``exp(-p)``), the second its sign (a rescaled value
    for tiny gradients, so that the map is continuous at the boundary).

    Args:
        grad: gradient, any shape ``(...,)``.
        p: the constant ``p > 0``.

    Returns:
        Shape ``(..., 2)``, the same dtype as ``grad``.
    """
    magnitude = grad.abs()
    big = magnitude >= math.exp(-p)
    # The clamp keeps log finite where the small branch is taken (log 0 = -inf).
    log_part = torch.where(big, torch.log(magnitude.clamp_min(math.exp(-p))) / p, -1.0)
    sign_part = torch.where(big, torch.sign(grad), grad * math.exp(p))
    return torch.stack([log_part, sign_part], dim=-1)


# ---------------------------------------------------------------------------
# 2. The rule
# ---------------------------------------------------------------------------


class LSTMState(NamedTuple):
    """The recurrent state of ``N`` coordinates.

    Attributes:
        h: hidden states, shape ``(layers, N, hidden)``.
        c: cell states, shape ``(layers, N, hidden)``.
    """

    h: Tensor
    c: Tensor


def detach_state(state: LSTMState) -> LSTMState:
    """The state cut from its graph: the boundary of truncated back-propagation."""
    return LSTMState(state.h.detach(), state.c.detach())


@dataclasses.dataclass(frozen=True)
class LSTMRuleConfig:
    """Architecture of the coordinate-wise LSTM rule; the defaults are the paper's.

    Attributes:
        hidden: units per LSTM layer (20 in the paper).
        layers: stacked LSTM layers (2 in the paper).
        p: the preprocessing constant of :func:`preprocess_gradient` (10).
        output_scale: the linear output is multiplied by this to give the
            update (0.1 in the paper).
    """

    hidden: int = 20
    layers: int = 2
    p: float = PREPROCESS_P
    output_scale: float = 0.1

    def __post_init__(self) -> None:
        check_positive_int("hidden", self.hidden)
        check_in_range("hidden", self.hidden, 1, 1024)
        check_positive_int("layers", self.layers)
        check_in_range("layers", self.layers, 1, 8)
        check_in_range("p", self.p, 0.0, 80.0, low_inclusive=False)
        check_positive("output_scale", self.output_scale)


class LSTMRule(nn.Module):
    """The learned update rule: one small LSTM shared by every coordinate.

    The ``N`` coordinates are a batch of ``N`` for each layer's ``nn.LSTMCell``
    (one time step per call), so the cost is a few ``(N, 4 hidden)`` matrix
    products per layer and no Python loop over coordinates. A coordinate's
    update depends only on its own gradients, present and past (through its
    own state).

    Args:
        config: the architecture.
        generator: if given, every weight is drawn from it (PyTorch's default
            uniform scheme, ``U(-1/sqrt(fan), 1/sqrt(fan))``), so that the same
            generator state gives the same rule.

    Shapes:
        ``forward(grad, state)``: ``(N,)`` and ``LSTMState`` of ``N`` ->
        update ``(N,)`` and the new ``LSTMState``.
    """

    def __init__(
        self,
        config: LSTMRuleConfig = LSTMRuleConfig(),
        *,
        generator: torch.Generator | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        sizes = [2] + [config.hidden] * (config.layers - 1)
        self.cells = nn.ModuleList(nn.LSTMCell(size, config.hidden) for size in sizes)
        self.output = nn.Linear(config.hidden, 1)
        if generator is not None:
            with torch.no_grad():
                # Every fan is ``hidden``: the LSTM's and the output layer's input.
                bound = 1.0 / math.sqrt(config.hidden)
                for weight in self.parameters():
                    weight.uniform_(-bound, bound, generator=generator)

    def initial_state(self, n: int) -> LSTMState:
        """Zero state for ``n`` coordinates: ``h`` and ``c`` of shape ``(layers, n, hidden)``."""
        check_non_negative_int("n", n)
        weight = self.output.weight
        shape = (self.config.layers, n, self.config.hidden)
        zeros = torch.zeros(shape, dtype=weight.dtype, device=weight.device)
        return LSTMState(zeros, zeros.clone())

    def forward(self, grad: Tensor, state: LSTMState) -> tuple[Tensor, LSTMState]:
        """One step of the rule on ``N`` coordinates.

        Args:
            grad: shape ``(N,)``; detached here (no second derivatives).
            state: the coordinates' state, ``h`` and ``c`` of shape
                ``(layers, N, hidden)``.

        Returns:
            The update ``output_scale * linear(h_top)`` of shape ``(N,)``, to be
            *added* to the parameters, and the new state.
        """
        x = preprocess_gradient(grad.detach(), self.config.p)  # (N, 2)
        hs, cs = [], []
        for cell, h, c in zip(self.cells, state.h, state.c, strict=True):
            h, c = cell(x, (h, c))  # each (N, hidden)
            hs.append(h)
            cs.append(c)
            x = h
        update = self.output(x).squeeze(-1) * self.config.output_scale
        return update, LSTMState(torch.stack(hs), torch.stack(cs))


# ---------------------------------------------------------------------------
# 3. Using the rule
# ---------------------------------------------------------------------------


def apply_rule(
    rule: LSTMRule,
    params: Sequence[Tensor],
    grads: Sequence[Tensor],
    state: LSTMState | None,
) -> tuple[list[Tensor], LSTMState]:
    """One step of the rule on a list of tensors: ``theta <- theta + m(g)``.

    Every element of every tensor is a coordinate (a leading task dimension is
    just more coordinates). The gradients are flattened and concatenated in
    order, the rule runs once on all ``N = sum(p.numel())`` coordinates, and
    the update is split back. The graph from the rule's weights to the new
    parameters is kept, so a loss of the new parameters can be back-propagated
    into the rule.

    Args:
        rule: the learned rule.
        params: tensors of any shapes.
        grads: their gradients, the same shapes.
        state: the state of the ``N`` coordinates from the previous step, or
            ``None`` for the zero state of the first step.

    Returns:
        The new parameters (``p + update``, the same shapes) and the new state.
    """
    if len(params) != len(grads):
        raise ValueError(
            f"grads has {len(grads)} tensors but params has {len(params)}: "
            "allowed is one gradient per parameter"
        )
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        if p.shape != g.shape:
            raise ValueError(
                f"grads[{i}] has shape {tuple(g.shape)}: allowed is the shape of "
                f"params[{i}], {tuple(p.shape)}"
            )
    sizes = [p.numel() for p in params]
    if state is None:
        state = rule.initial_state(sum(sizes))
    flat = torch.cat([g.reshape(-1) for g in grads])
    update, state = rule(flat, state)
    pieces = torch.split(update, sizes)
    new = [p + u.view_as(p) for p, u in zip(params, pieces, strict=True)]
    return new, state


class LearnedOptimizer(torch.optim.Optimizer):
    """A trained rule as a ``torch.optim`` optimiser.

    ``step()`` applies the rule to every parameter that has a gradient (all the
    parameters of a group in one call of the rule), under ``torch.no_grad``:
    the rule's weights are not trained here. Each parameter keeps its
    coordinates' LSTM state in ``self.state[p]`` (``"h"`` and ``"c"``, shape
    ``(layers, p.numel(), hidden)``), so the optimiser's ``state_dict`` holds
    it. The rule is kept as ``self.rule``; it is not saved in ``state_dict``
    (use :func:`save_rule`).

    Args:
        params: the parameters to optimise (as for any ``torch.optim`` optimiser).
        rule: the learned rule.
    """

    def __init__(self, params: Iterable[Tensor] | Iterable[dict[str, Any]], rule: LSTMRule):
        super().__init__(params, defaults={})
        self.rule = rule

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One step of the rule; ``closure`` (optional) re-evaluates the loss."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params = [p for p in group["params"] if p.grad is not None]
            if not params:
                continue
            for p in params:
                if not self.state[p]:
                    zero = self.rule.initial_state(p.numel())
                    self.state[p]["h"], self.state[p]["c"] = zero.h, zero.c
            state = LSTMState(
                torch.cat([self.state[p]["h"] for p in params], dim=1),
                torch.cat([self.state[p]["c"] for p in params], dim=1),
            )
            new, state = apply_rule(self.rule, params, [p.grad for p in params], state)
            sizes = [p.numel() for p in params]
            for p, value, h, c in zip(
                params,
                new,
                torch.split(state.h, sizes, dim=1),
                torch.split(state.c, sizes, dim=1),
                strict=True,
            ):
                p.copy_(value)
                self.state[p]["h"], self.state[p]["c"] = h, c
        return loss


def save_rule(rule: LSTMRule, path: str | os.PathLike[str]) -> None:
    """Write the rule's configuration (a plain dict) and weights to ``path``."""
    torch.save({"config": dataclasses.asdict(rule.config), "state_dict": rule.state_dict()}, path)


def load_rule(path: str | os.PathLike[str]) -> LSTMRule:
    """Read a rule written by :func:`save_rule` (with ``weights_only=True``)."""
    saved = torch.load(path, weights_only=True)
    rule = LSTMRule(LSTMRuleConfig(**saved["config"]))
    rule.load_state_dict(saved["state_dict"])
    return rule


# ---------------------------------------------------------------------------
# 4. Quadratics: the paper's first experiment
# ---------------------------------------------------------------------------


class QuadraticTasks(NamedTuple):
    """``n`` quadratics ``f_i(theta) = ||W_i theta - y_i||^2`` and their starting points.

    Attributes:
        W: shape ``(n, d, d)``, entries ``N(0, 1)``.
        y: shape ``(n, d)``, entries ``N(0, 1)``.
        theta0: shape ``(n, d)``, the starting parameters, entries ``N(0, 0.01^2)``.
    """

    W: Tensor
    y: Tensor
    theta0: Tensor


def quadratic_tasks(generator: torch.Generator, n: int, dim: int = 10) -> QuadraticTasks:
    """Draw ``n`` quadratics of dimension ``dim`` (Andrychowicz et al., section 3.1).

    ``W`` and ``y`` are standard normal; the start ``theta0`` is normal with
    standard deviation 0.01, close to the origin, as in the authors' released code.
    """
    check_positive_int("n", n)
    check_positive_int("dim", dim)
    # One row of draws per task, so that the first k of n tasks are the k tasks.
    draws = torch.randn(n, dim * dim + 2 * dim, generator=generator)
    W = draws[:, : dim * dim].reshape(n, dim, dim)
    y = draws[:, dim * dim : dim * dim + dim]
    theta0 = 0.01 * draws[:, dim * dim + dim :]
    return QuadraticTasks(W, y, theta0)


def held_out_quadratics(n: int = 1000, dim: int = 10, *, seed: int = TEST_SEED) -> QuadraticTasks:
    """The held-out quadratics, always the same (drawn from :data:`TEST_SEED`);
    ``held_out_quadratics(k)`` is the first ``k`` of ``held_out_quadratics(n)``."""
    return quadratic_tasks(torch_generator(seed), n, dim)


def quadratic_loss(theta: Tensor, W: Tensor, y: Tensor) -> Tensor:
    """``||W theta - y||^2`` of each task.

    Shapes: ``theta (n, d)``, ``W (n, d, d)``, ``y (n, d)`` -> ``(n,)``.
    """
    residual = torch.einsum("nij,nj->ni", W, theta) - y
    return (residual**2).sum(dim=-1)


def quadratic_grad(theta: Tensor, W: Tensor, y: Tensor) -> Tensor:
    """The gradient ``2 W^T (W theta - y)`` of each task's loss, shape ``(n, d)``.

    Computed from ``theta.detach()``: a constant, as the rule must see it.
    """
    residual = torch.einsum("nij,nj->ni", W, theta.detach()) - y
    return 2 * torch.einsum("nij,ni->nj", W, residual)


_TORCH_OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "rmsprop": torch.optim.RMSprop,
}


@single_threaded
def optimise_quadratics(
    method: str,
    tasks: QuadraticTasks,
    steps: int = 100,
    *,
    lr: float | None = None,
    rule: LSTMRule | None = None,
) -> Tensor:
    """Run an optimiser on every quadratic of ``tasks`` from ``theta0``.

    ``"lstm"`` uses the learned ``rule``; ``"sgd"``, ``"adam"`` and
    ``"rmsprop"`` are PyTorch's optimisers with step size ``lr`` (other
    settings at PyTorch's defaults) on one ``(n, d)`` tensor. The tasks'
    losses are summed before differentiating, so each row receives its own
    task's gradient, and these optimisers act coordinate by coordinate, so
    each task is optimised as if alone.

    Returns:
        Shape ``(steps + 1, n)``: row ``t`` holds every task's loss after ``t`` steps.

    Raises:
        TrainingDivergedError: if the mean loss turns NaN or infinite.
    """
    check_choice("method", method, QUADRATIC_METHODS)
    check_non_negative_int("steps", steps)
    if method == "lstm":
        if rule is None:
            raise ValueError("rule=None is not allowed for method='lstm': pass the LSTMRule")
        return _lstm_curve(rule, tasks, steps)
    if lr is None:
        raise ValueError(f"lr=None is not allowed for method={method!r}: pass a step size > 0")
    check_positive("lr", lr)
    theta = tasks.theta0.clone().requires_grad_()
    optimizer = _TORCH_OPTIMIZERS[method]([theta], lr=lr)
    rows = []
    for step in range(steps + 1):
        losses = quadratic_loss(theta, tasks.W, tasks.y)
        rows.append(losses.detach())
        check_finite(f"{method} loss on quadratics", losses.mean().item(), step)
        if step < steps:
            optimizer.zero_grad()
            losses.sum().backward()
            optimizer.step()
    return torch.stack(rows)


def _lstm_curve(rule: LSTMRule, tasks: QuadraticTasks, steps: int) -> Tensor:
    theta, state = tasks.theta0.clone(), None
    rows = []
    with torch.no_grad():
        for step in range(steps + 1):
            losses = quadratic_loss(theta, tasks.W, tasks.y)
            rows.append(losses)
            check_finite("lstm loss on quadratics", losses.mean().item(), step)
            if step < steps:
                grad = quadratic_grad(theta, tasks.W, tasks.y)
                (theta,), state = apply_rule(rule, [theta], [grad], state)
    return torch.stack(rows)


def tune_learning_rate(
    method: str,
    tasks: QuadraticTasks,
    steps: int = 100,
    candidates: Sequence[float] = tuple(10.0 ** (k / 4) for k in range(-20, 1)),
) -> float:
    """The step size among ``candidates`` with the lowest mean loss after ``steps``
    steps on ``tasks`` (use validation tasks, never the test tasks).

    The default candidates run from ``1e-5`` to ``1`` in quarter decades. A step
    size that diverges counts as infinitely bad.
    """
    check_choice("method", method, QUADRATIC_METHODS[1:])
    best, best_loss = candidates[0], math.inf
    for lr in candidates:
        try:
            loss = optimise_quadratics(method, tasks, steps, lr=lr)[-1].mean().item()
        except FloatingPointError:
            continue
        if loss < best_loss:
            best, best_loss = lr, loss
    return best


@dataclasses.dataclass(frozen=True)
class QuadraticConfig:
    """Settings of meta-training the rule on quadratics; the defaults are the paper's.

    Attributes:
        dim: dimension ``d`` of each quadratic (10).
        meta_batch: quadratics per meta-iteration (128).
        horizon: optimisation steps of each trajectory (100).
        unroll: steps back-propagated through per meta-update (20): a trajectory
            gives ``horizon / unroll`` Adam steps on the rule's weights, the
            parameters and the LSTM state being carried (detached) from one
            unroll to the next.
        meta_lr: Adam's step size on the rule's weights.
        iterations: trajectories (fresh quadratics each).
        seed: seeds the rule's initial weights and every quadratic.
        log_every: iterations per entry of the loss log.
    """

    dim: int = 10
    meta_batch: int = 128
    horizon: int = 100
    unroll: int = 20
    meta_lr: float = 1e-3
    iterations: int = 1000
    seed: int = 0
    log_every: int = 10

    def __post_init__(self) -> None:
        for name in ("dim", "meta_batch", "horizon", "unroll", "log_every"):
            check_positive_int(name, getattr(self, name))
        check_in_range("unroll", self.unroll, 1, self.horizon)
        if self.horizon % self.unroll:
            raise ValueError(
                f"unroll={self.unroll!r} is not allowed with horizon={self.horizon}: "
                "it must divide the horizon"
            )
        check_in_range("meta_lr", self.meta_lr, 0.0, 1.0, low_inclusive=False)
        check_non_negative_int("iterations", self.iterations)
        check_non_negative_int("seed", self.seed)


@dataclasses.dataclass
class QuadraticHistory:
    """The log of one meta-training run on quadratics.

    Attributes:
        iterations: iteration at the end of each logging window.
        losses: mean over the window of the trajectory's mean loss per step,
            ``mean_{i, t} f_i(theta_t)`` for ``t = 1..horizon``.
        final_losses: mean over the window of the mean loss at the last step.
        wall_time: seconds of training.
        config: the run's settings (both configs) as a plain dict.
    """

    iterations: list[int] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)
    final_losses: list[float] = dataclasses.field(default_factory=list)
    wall_time: float = 0.0
    config: dict[str, Any] = dataclasses.field(default_factory=dict)


def unrolled_loss(
    rule: LSTMRule, tasks: QuadraticTasks, theta: Tensor, state: LSTMState, steps: int
) -> tuple[Tensor, Tensor, LSTMState]:
    """``steps`` steps of the rule on every quadratic, keeping the graph.

    Returns:
        The meta-loss ``sum_t mean_i f_i(theta_t)`` over the ``steps`` new
        points (a scalar, differentiable with respect to the rule's weights), the
        last parameters ``(n, d)`` and the last state.
    """
    meta_loss = theta.new_zeros(())
    for _ in range(steps):
        grad = quadratic_grad(theta, tasks.W, tasks.y)
        (theta,), state = apply_rule(rule, [theta], [grad], state)
        meta_loss = meta_loss + quadratic_loss(theta, tasks.W, tasks.y).mean()
    return meta_loss, theta, state


@single_threaded
def train_on_quadratics(
    config: QuadraticConfig = QuadraticConfig(),
    rule_config: LSTMRuleConfig = LSTMRuleConfig(),
    *,
    progress: bool = True,
) -> tuple[LSTMRule, QuadraticHistory]:
    """Meta-train an :class:`LSTMRule` on random quadratics (Andrychowicz et al., 3.1).

    Each iteration:

    1. draw ``meta_batch`` fresh quadratics and start every one at its ``theta0``,
       with the zero LSTM state;
    2. for each of the ``horizon / unroll`` unrolls: run the rule ``unroll``
       steps keeping the graph (:func:`unrolled_loss`), back-propagate the summed
       loss into the rule's weights and take one Adam step on them; then cut
       the parameters and the state from the graph and go on from there.

    Returns:
        The trained rule and the log.

    Raises:
        TrainingDivergedError: if the meta-loss turns NaN or infinite; the
            message gives the iteration.
    """
    start = time.perf_counter()
    generator = torch_generator(config.seed)
    rule = LSTMRule(rule_config, generator=generator)
    history = QuadraticHistory(
        config={"quadratic": dataclasses.asdict(config), "rule": dataclasses.asdict(rule_config)}
    )
    optimizer = torch.optim.Adam(rule.parameters(), lr=config.meta_lr)
    window: list[float] = []
    final_window: list[float] = []
    for iteration in tqdm(
        range(1, config.iterations + 1), disable=not progress, desc="quadratics"
    ):
        tasks = quadratic_tasks(generator, config.meta_batch, config.dim)
        theta, state = tasks.theta0, rule.initial_state(tasks.theta0.numel())
        total = 0.0
        for _ in range(config.horizon // config.unroll):
            meta_loss, theta, state = unrolled_loss(rule, tasks, theta, state, config.unroll)
            total += meta_loss.item()
            check_finite("quadratic meta-loss", total, iteration)
            optimizer.zero_grad()
            meta_loss.backward()
            optimizer.step()
            theta, state = theta.detach(), detach_state(state)
        window.append(total / config.horizon)
        final_window.append(quadratic_loss(theta, tasks.W, tasks.y).mean().item())
        if iteration % config.log_every == 0:
            history.iterations.append(iteration)
            history.losses.append(sum(window) / len(window))
            history.final_losses.append(sum(final_window) / len(final_window))
            window.clear()
            final_window.clear()
    history.wall_time = time.perf_counter() - start
    return rule, history
