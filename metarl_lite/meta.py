"""Meta-learning on sine regression: MAML, first-order MAML and Reptile.

Chapter 3 of the book. The file follows the chapter:

1. the task family: sine waves ``y = A sin(x - phi)`` with amplitude ``A`` in
   [0.1, 5], phase ``phi`` in [0, pi] and inputs ``x`` in [-5, 5] (Finn et al.,
   2017), a K-shot *support* set to adapt on and a *query* set to score;
2. the network, a 1-40-40-1 ReLU perceptron whose weights may carry a leading
   task dimension, so that one ``torch.func.functional_call`` runs a separate
   copy of the network for every task of a batch;
3. the inner loop, :func:`adapt`: plain gradient descent on one task's support set;
4. the meta-gradients of the three meta-learners and of joint (multi-task)
   training, each a small function;
5. :func:`train_meta`, one loop for all of them, and :func:`train_average`, the
   parameter averaging of the sources, kept as a baseline;
6. meta-testing: :func:`adaptation_curve` fine-tunes on the held-out tasks and
   reports the query error after each step.

Shapes: ``B`` tasks, ``K`` support points and ``Q`` query points per task;
inputs and targets are ``(B, K, 1)`` or ``(B, Q, 1)``.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.func import functional_call
from tqdm.auto import tqdm

from metarl_lite._checks import (
    check_choice,
    check_in_range,
    check_non_negative_int,
    check_positive,
    check_positive_int,
)
from metarl_lite.history import TrainingDivergedError, check_finite
from metarl_lite.seeding import single_threaded, torch_generator

#: Ranges of the sine task family (Finn et al., 2017, section 5.1).
AMPLITUDE_RANGE: tuple[float, float] = (0.1, 5.0)
PHASE_RANGE: tuple[float, float] = (0.0, math.pi)
X_RANGE: tuple[float, float] = (-5.0, 5.0)

#: Seeds of the fixed held-out (meta-test) tasks and of the validation tasks used
#: to pick the baselines' fine-tuning step size. Meta-training draws its tasks from
#: the run's own seed; :func:`meta_test_set` never changes.
TEST_SEED = 2_000_003
VALIDATION_SEED = 1_000_003
#: Held-out tasks and query points per task used by :func:`meta_test_set`.
TEST_TASKS = 500
TEST_QUERY = 100

#: Methods trained by :func:`train_meta`.
META_METHODS: tuple[str, ...] = ("maml", "fomaml", "reptile", "pretrain")
#: Every method the chapter compares: the meta-learners, then the baselines.
METHODS: tuple[str, ...] = (*META_METHODS, "average", "scratch")
#: How the chapter names each method.
METHOD_NAMES: dict[str, str] = {
    "maml": "MAML",
    "fomaml": "first-order MAML",
    "reptile": "Reptile",
    "pretrain": "pretrain + fine-tune",
    "average": "parameter averaging",
    "scratch": "from scratch",
}
OUTER_OPTIMIZERS: tuple[str, ...] = ("adam", "sgd")

Params = dict[str, Tensor]


# ---------------------------------------------------------------------------
# 1. The task family
# ---------------------------------------------------------------------------


class SineTasks(NamedTuple):
    """A set of sine tasks ``y = amplitude * sin(x - phase)``.

    Attributes:
        amplitude: shape ``(n,)``.
        phase: shape ``(n,)``.
    """

    amplitude: Tensor
    phase: Tensor

    def __call__(self, x: Tensor) -> Tensor:
        """Each task's values at its own inputs: ``(n, N, 1) -> (n, N, 1)``."""
        return self.amplitude.view(-1, 1, 1) * torch.sin(x - self.phase.view(-1, 1, 1))

    def take(self, index: Tensor) -> SineTasks:
        """The tasks at ``index`` (shape ``(B,)``), repeats allowed."""
        return SineTasks(self.amplitude[index], self.phase[index])


class TaskBatch(NamedTuple):
    """Support and query sets of ``B`` tasks.

    Attributes:
        x_support, y_support: shape ``(B, K, 1)``, the K shots to adapt on.
        x_query, y_query: shape ``(B, Q, 1)``, fresh points of the same tasks.
    """

    x_support: Tensor
    y_support: Tensor
    x_query: Tensor
    y_query: Tensor

    def all_points(self) -> tuple[Tensor, Tensor]:
        """Support and query points together: ``x, y`` of shape ``(B, K + Q, 1)``."""
        x = torch.cat([self.x_support, self.x_query], dim=1)
        y = torch.cat([self.y_support, self.y_query], dim=1)
        return x, y


def sample_sine_tasks(n: int, generator: torch.Generator) -> SineTasks:
    """Draw ``n`` tasks: amplitude and phase uniform in their ranges."""
    check_positive_int("n", n)
    amplitude = torch.empty(n).uniform_(*AMPLITUDE_RANGE, generator=generator)
    phase = torch.empty(n).uniform_(*PHASE_RANGE, generator=generator)
    return SineTasks(amplitude, phase)


def sample_batch(
    tasks: SineTasks, k_shots: int, n_query: int, generator: torch.Generator
) -> TaskBatch:
    """Draw ``k_shots`` support and ``n_query`` query inputs per task, uniform in [-5, 5]."""
    check_positive_int("k_shots", k_shots)
    check_positive_int("n_query", n_query)
    n = tasks.amplitude.numel()
    x = torch.empty(n, k_shots + n_query, 1).uniform_(*X_RANGE, generator=generator)
    y = tasks(x)
    return TaskBatch(x[:, :k_shots], y[:, :k_shots], x[:, k_shots:], y[:, k_shots:])


def meta_test_set(
    k_shots: int, n_tasks: int = TEST_TASKS, n_query: int = TEST_QUERY, *, seed: int = TEST_SEED
) -> TaskBatch:
    """The held-out tasks, always the same: support sets of ``k_shots`` points.

    The tasks come first from the generator, so a K=5 and a K=10 test set hold
    the same sine waves (their support points differ).
    """
    generator = torch_generator(seed)
    tasks = sample_sine_tasks(n_tasks, generator)
    return sample_batch(tasks, k_shots, n_query, generator)


# ---------------------------------------------------------------------------
# 2. The network
# ---------------------------------------------------------------------------


def uniform_init_(layers: Sequence[nn.Linear], generator: torch.Generator) -> None:
    """Redraw each layer's weights and biases from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``
    (PyTorch's default ``nn.Linear`` scheme), from ``generator``, layer by layer."""
    with torch.no_grad():
        for layer in layers:
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)


def relu_mlp(layers: Sequence[nn.Linear], x: Tensor) -> Tensor:
    """``layers`` applied in turn with ReLU between them, as ``x @ W^T + b`` with
    ``matmul`` broadcasting, so that weights of shape ``(B, out, in)`` (a leading
    task dimension) run ``B`` networks at once on ``x`` of shape ``(B, N, in)``."""
    for i, layer in enumerate(layers):
        x = torch.matmul(x, layer.weight.transpose(-1, -2)) + layer.bias.unsqueeze(-2)
        if i < len(layers) - 1:
            x = torch.relu(x)
    return x


class SineNet(nn.Module):
    """The 1-40-40-1 ReLU network of Finn et al. (2017).

    Each layer computes ``x @ W^T + b`` with ``matmul`` broadcasting, so the
    weights may carry a leading task dimension: called through
    :func:`forward` with parameters of shape ``(B, *shape)``, it runs ``B``
    independent copies, one per task, in one pass.

    Args:
        hidden: widths of the hidden layers.
        generator: if given, the initial weights are drawn from it (PyTorch's
            default ``nn.Linear`` scheme) instead of the global random state.

    Shapes:
        ``forward(x)``: ``(..., N, 1) -> (..., N, 1)``.
    """

    def __init__(
        self, hidden: Sequence[int] = (40, 40), generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        sizes = [1, *hidden, 1]
        self.layers = nn.ModuleList(
            nn.Linear(n_in, n_out) for n_in, n_out in itertools.pairwise(sizes)
        )
        if generator is not None:
            uniform_init_(self.layers, generator)

    def forward(self, x: Tensor) -> Tensor:
        return relu_mlp(self.layers, x)


def parameters_of(model: nn.Module) -> Params:
    """The model's parameters by name (the tensors themselves, not copies)."""
    return dict(model.named_parameters())


def per_task(params: Params, n_tasks: int) -> Params:
    """One view of every parameter per task: ``shape -> (n_tasks, *shape)``.

    The views share memory and gradient with ``params``: the gradient that
    reaches the shared parameters is the sum of the per-task gradients.
    """
    return {name: p.unsqueeze(0).expand(n_tasks, *p.shape) for name, p in params.items()}


def forward(model: nn.Module, params: Params, x: Tensor) -> Tensor:
    """The model's output with ``params`` in place of its own: ``(B, N, 1) -> (B, N, 1)``."""
    return functional_call(model, params, (x,))


def task_losses(model: nn.Module, params: Params, x: Tensor, y: Tensor) -> Tensor:
    """Mean squared error of each task: ``(B, N, 1)`` inputs -> shape ``(B,)``."""
    return ((forward(model, params, x) - y) ** 2).mean(dim=(-2, -1))


# ---------------------------------------------------------------------------
# 3. The inner loop
# ---------------------------------------------------------------------------


def adapt(
    model: nn.Module,
    params: Params,
    x: Tensor,
    y: Tensor,
    inner_lr: float,
    steps: int,
    *,
    create_graph: bool = False,
) -> Params:
    """``steps`` steps of gradient descent on each task's loss, all tasks at once.

    ``phi <- phi - inner_lr * grad L_task(phi)``, starting from ``params``
    (shape ``(B, *shape)``, one copy per task). Summing the task losses before
    differentiating gives each copy its own task's gradient, since no task's
    loss depends on another's copy.

    Args:
        model: the network (its own weights are not used).
        params: per-task parameters, for example ``per_task(theta, B)``.
        x, y: support sets, shape ``(B, K, 1)``.
        inner_lr: step size ``alpha``.
        steps: number of steps.
        create_graph: keep the graph of each gradient, so that a later
            ``backward`` differentiates through the steps (second-order MAML).
            Without it the gradients are constants and the adapted parameters
            depend on ``params`` only through the identity (first-order).

    Returns:
        The adapted per-task parameters ``phi``.
    """
    for _ in range(steps):
        loss = task_losses(model, params, x, y).sum()
        grads = torch.autograd.grad(loss, list(params.values()), create_graph=create_graph)
        params = {
            name: p - inner_lr * g for (name, p), g in zip(params.items(), grads, strict=True)
        }
    return params


# ---------------------------------------------------------------------------
# 4. Meta-gradients
# ---------------------------------------------------------------------------


def maml_loss(
    model: nn.Module,
    params: Params,
    batch: TaskBatch,
    inner_lr: float,
    inner_steps: int,
    *,
    first_order: bool = False,
) -> Tensor:
    """The MAML objective: mean query loss after adapting on each support set.

    ``mean_i L_query_i(theta - alpha grad L_support_i(theta))`` for one inner
    step; ``inner_steps`` repeats the inner update. Its gradient with respect
    to ``params`` is MAML's meta-gradient; with ``first_order=True`` the
    inner gradients are treated as constants (first-order MAML).

    Returns:
        A scalar tensor.
    """
    n_tasks = batch.x_support.shape[0]
    phi = adapt(
        model,
        per_task(params, n_tasks),
        batch.x_support,
        batch.y_support,
        inner_lr,
        inner_steps,
        create_graph=not first_order,
    )
    return task_losses(model, phi, batch.x_query, batch.y_query).mean()


def reptile_direction(
    model: nn.Module, params: Params, batch: TaskBatch, inner_lr: float, inner_steps: int
) -> tuple[Params, Tensor]:
    """Reptile's update direction ``theta - mean_i phi_i`` (Nichol et al., 2018).

    Each ``phi_i`` is ``theta`` after ``inner_steps`` steps on task ``i``'s
    support set. The outer optimiser treats the direction as a gradient, so
    plain SGD with rate ``epsilon`` gives Reptile's
    ``theta <- theta + epsilon (mean_i phi_i - theta)``.

    Returns:
        The direction by parameter name, and the mean query loss of the adapted
        parameters (for the log; no gradient flows through either).
    """
    n_tasks = batch.x_support.shape[0]
    phi = adapt(
        model, per_task(params, n_tasks), batch.x_support, batch.y_support, inner_lr, inner_steps
    )
    direction = {name: (p - phi[name].mean(dim=0)).detach() for name, p in params.items()}
    with torch.no_grad():
        loss = task_losses(model, phi, batch.x_query, batch.y_query).mean()
    return direction, loss


def multitask_loss(model: nn.Module, params: Params, batch: TaskBatch) -> Tensor:
    """Joint training's objective: mean loss of the shared ``params`` on every
    task's points, support and query alike, with no adaptation."""
    x, y = batch.all_points()
    return task_losses(model, per_task(params, x.shape[0]), x, y).mean()


def meta_gradient(
    method: str, model: nn.Module, batch: TaskBatch, inner_lr: float, inner_steps: int
) -> tuple[Params, Tensor]:
    """One meta-gradient of ``method`` at the model's current parameters.

    Returns:
        The gradient by parameter name, and the loss it logs.
    """
    params = parameters_of(model)
    if method == "reptile":
        return reptile_direction(model, params, batch, inner_lr, inner_steps)
    if method == "pretrain":
        loss = multitask_loss(model, params, batch)
    else:
        first_order = method == "fomaml"
        loss = maml_loss(model, params, batch, inner_lr, inner_steps, first_order=first_order)
    grads = torch.autograd.grad(loss, list(params.values()))
    return dict(zip(params, grads, strict=True)), loss.detach()


# ---------------------------------------------------------------------------
# 5. Meta-training
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class MetaConfig:
    """Settings of one meta-training run; the defaults are the chapter's MAML.

    Attributes:
        method: one of :data:`METHODS`.
        k_shots: support points per task (K), in meta-training and meta-testing.
        n_query: query points per task in meta-training.
        inner_lr: step size ``alpha`` of the inner loop and of fine-tuning.
        inner_steps: inner-loop steps in meta-training (MAML, first-order MAML,
            Reptile); unused by the other methods.
        meta_batch: tasks per meta-iteration.
        iterations: meta-iterations (outer steps). ``average`` gives each task
            copy ``ceil(iterations * meta_batch / n_tasks)`` steps, the same
            number of task-gradients as meta-training.
        outer_lr: step size of the outer optimiser (of each copy, for ``average``).
        outer_optimizer: ``"adam"`` (as in Finn et al.) or ``"sgd"``.
        halve_every: halve the outer step size every this many iterations
            (0: never). The schedule depends on the iteration only, so a
            shorter run is the start of a longer one.
        n_tasks: size of the meta-training task pool, drawn once from the
            run's seed; ``None`` draws fresh tasks at every iteration
            (``average`` needs a pool).
        seed: seeds the initial weights, the task pool and every batch.
        log_every: iterations per entry of the loss log.
    """

    method: str = "maml"
    k_shots: int = 10
    n_query: int = 10
    inner_lr: float = 0.01
    inner_steps: int = 2
    meta_batch: int = 25
    iterations: int = 12_000
    outer_lr: float = 2e-3
    outer_optimizer: str = "adam"
    halve_every: int = 6_000
    n_tasks: int | None = None
    seed: int = 0
    log_every: int = 250

    def __post_init__(self) -> None:
        check_choice("method", self.method, METHODS)
        for name, high in (("k_shots", 100), ("n_query", 1000), ("inner_steps", 100)):
            check_positive_int(name, getattr(self, name))
            check_in_range(name, getattr(self, name), 1, high)
        check_in_range("inner_lr", self.inner_lr, 0.0, 1.0, low_inclusive=False)
        check_positive_int("meta_batch", self.meta_batch)
        check_non_negative_int("iterations", self.iterations)
        check_positive("outer_lr", self.outer_lr)
        check_choice("outer_optimizer", self.outer_optimizer, OUTER_OPTIMIZERS)
        check_non_negative_int("halve_every", self.halve_every)
        if self.n_tasks is not None:
            check_positive_int("n_tasks", self.n_tasks)
        elif self.method == "average":
            raise ValueError("n_tasks=None is not allowed for method='average': it needs a pool")
        check_non_negative_int("seed", self.seed)
        check_positive_int("log_every", self.log_every)


@dataclasses.dataclass
class MetaHistory:
    """The log of one meta-training run.

    Attributes:
        steps: iteration (for ``average``: copy step) at the end of each window.
        losses: mean training loss over each window of ``log_every`` iterations
            (post-adaptation query loss for the meta-learners, joint loss for
            ``pretrain``, each copy's own-task loss for ``average``).
        wall_time: seconds of training.
        config: the run's settings as a plain dict.
    """

    steps: list[int] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)
    wall_time: float = 0.0
    config: dict[str, object] = dataclasses.field(default_factory=dict)


class MetaResult(NamedTuple):
    """What :func:`train_meta` returns: the meta-learned network and its log."""

    model: SineNet
    history: MetaHistory


def _draw_tasks(pool: SineTasks | None, n: int, generator: torch.Generator) -> SineTasks:
    """``n`` tasks: fresh ones, or drawn with replacement from ``pool``."""
    if pool is None:
        return sample_sine_tasks(n, generator)
    index = torch.randint(pool.amplitude.numel(), (n,), generator=generator)
    return pool.take(index)


def _make_optimizer(name: str, params: list[Tensor], lr: float) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr) if name == "adam" else torch.optim.SGD(params, lr=lr)


@single_threaded
def train_meta(config: MetaConfig, *, progress: bool = True) -> MetaResult:
    """Meta-train a :class:`SineNet` with MAML, first-order MAML, Reptile or
    joint training (``pretrain``); ``average`` and ``scratch`` are dispatched to
    :func:`train_average` and to the untrained initial network.

    Each iteration:

    1. draw ``meta_batch`` tasks (from the pool, or fresh) and their support
       and query sets;
    2. compute the method's meta-gradient (:func:`meta_gradient`);
    3. take one step of the outer optimiser on the shared parameters, halving
       its step size every ``halve_every`` iterations.

    Raises:
        TrainingDivergedError: if the loss turns NaN or infinite; its ``history``
            holds the windows logged before that iteration.
    """
    if config.method == "average":
        return train_average(config, progress=progress)
    start = time.perf_counter()
    generator = torch_generator(config.seed)
    model = SineNet(generator=generator)
    history = MetaHistory(config=dataclasses.asdict(config))
    if config.method == "scratch":
        return MetaResult(model, history)
    pool = sample_sine_tasks(config.n_tasks, generator) if config.n_tasks else None
    optimizer = _make_optimizer(config.outer_optimizer, list(model.parameters()), config.outer_lr)
    window: list[float] = []
    for iteration in tqdm(
        range(1, config.iterations + 1), disable=not progress, desc=config.method
    ):
        tasks = _draw_tasks(pool, config.meta_batch, generator)
        batch = sample_batch(tasks, config.k_shots, config.n_query, generator)
        grads, loss = meta_gradient(
            config.method, model, batch, config.inner_lr, config.inner_steps
        )
        window.append(loss.item())
        try:
            check_finite(f"{config.method} meta-training loss", window[-1], iteration)
        except TrainingDivergedError as err:
            err.history = history  # the log of the windows completed before it
            raise
        for name, p in model.named_parameters():
            p.grad = grads[name]
        optimizer.step()
        if config.halve_every and iteration % config.halve_every == 0:
            for group in optimizer.param_groups:
                group["lr"] /= 2
        if iteration % config.log_every == 0:
            history.steps.append(iteration)
            history.losses.append(sum(window) / len(window))
            window.clear()
    history.wall_time = time.perf_counter() - start
    return MetaResult(model, history)


def average_steps(config: MetaConfig) -> int:
    """Steps of each task copy in :func:`train_average`: as many task-gradients
    in all as meta-training spends, ``ceil(iterations * meta_batch / n_tasks)``."""
    assert config.n_tasks is not None
    return math.ceil(config.iterations * config.meta_batch / config.n_tasks)


@single_threaded
def train_average(config: MetaConfig, *, progress: bool = True) -> MetaResult:
    """The sources' "average the parameters over tasks", made to run.

    From one shared initial network, a copy is trained on each of the
    ``n_tasks`` pool tasks, alone, with the outer optimiser (fresh ``K + Q``
    points of its task at every step); the copies' parameters are then
    averaged into one network. No step looks at how well a copy *adapts*: the
    chapter shows that this is multi-task averaging, not meta-learning.
    """
    start = time.perf_counter()
    generator = torch_generator(config.seed)
    model = SineNet(generator=generator)
    history = MetaHistory(config=dataclasses.asdict(config))
    assert config.n_tasks is not None
    pool = sample_sine_tasks(config.n_tasks, generator)
    copies = {
        name: p.detach().unsqueeze(0).repeat(config.n_tasks, *([1] * p.dim())).requires_grad_()
        for name, p in model.named_parameters()
    }
    optimizer = _make_optimizer(config.outer_optimizer, list(copies.values()), config.outer_lr)
    window: list[float] = []
    for step in tqdm(range(1, average_steps(config) + 1), disable=not progress, desc="average"):
        batch = sample_batch(pool, config.k_shots, config.n_query, generator)
        x, y = batch.all_points()
        losses = task_losses(model, copies, x, y)
        window.append(losses.mean().item())
        check_finite("average: task-copy loss", window[-1], step)
        optimizer.zero_grad()
        losses.sum().backward()  # each copy receives its own task's gradient only
        optimizer.step()
        if step % config.log_every == 0:
            history.steps.append(step)
            history.losses.append(sum(window) / len(window))
            window.clear()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(copies[name].mean(dim=0))
    history.wall_time = time.perf_counter() - start
    return MetaResult(model, history)


# ---------------------------------------------------------------------------
# 6. Meta-testing
# ---------------------------------------------------------------------------


def adaptation_path(
    model: nn.Module, x: Tensor, y: Tensor, inner_lr: float, steps: int
) -> Iterator[Params]:
    """The per-task parameters before and after each of ``steps`` fine-tuning
    steps on the support sets ``x, y`` (shape ``(B, K, 1)``): ``steps + 1`` items,
    detached."""
    params = {
        name: p.detach().clone().requires_grad_()
        for name, p in per_task(parameters_of(model), x.shape[0]).items()
    }
    yield {name: p.detach() for name, p in params.items()}
    for _ in range(steps):
        params = {
            name: p.detach().requires_grad_()
            for name, p in adapt(model, params, x, y, inner_lr, 1).items()
        }
        yield {name: p.detach() for name, p in params.items()}


@single_threaded
def adaptation_curve(
    model: nn.Module, batch: TaskBatch, inner_lr: float, steps: int = 10
) -> Tensor:
    """Query error of each task after 0, 1, ..., ``steps`` fine-tuning steps.

    Fine-tuning is plain gradient descent with step size ``inner_lr`` on each
    task's support set, from the model's parameters, as in the inner loop.

    Returns:
        Shape ``(steps + 1, B)``: row ``s`` holds every task's query MSE after
        ``s`` steps.

    Raises:
        TrainingDivergedError: if an error turns NaN or infinite (the step
            size is too large for this network).
    """
    check_in_range("inner_lr", inner_lr, 0.0, 1.0, low_inclusive=False)
    check_non_negative_int("steps", steps)
    rows = []
    for step, params in enumerate(
        adaptation_path(model, batch.x_support, batch.y_support, inner_lr, steps)
    ):
        with torch.no_grad():
            errors = task_losses(model, params, batch.x_query, batch.y_query)
        check_finite("meta-test query MSE", errors.mean().item(), step)
        rows.append(errors)
    return torch.stack(rows)


@single_threaded
def adapted_predictions(
    model: nn.Module, batch: TaskBatch, x: Tensor, inner_lr: float, steps: Sequence[int]
) -> dict[int, Tensor]:
    """The network's curves at ``x`` (shape ``(B, N, 1)``) after each number of
    fine-tuning steps in ``steps``, for drawing: step -> shape ``(B, N, 1)``."""
    wanted = set(steps)
    out = {}
    for step, params in enumerate(
        adaptation_path(model, batch.x_support, batch.y_support, inner_lr, max(wanted))
    ):
        if step in wanted:
            with torch.no_grad():
                out[step] = forward(model, params, x)
    return out


def tune_inner_lr(
    model: nn.Module,
    k_shots: int,
    candidates: Sequence[float] = (0.001, 0.003, 0.01, 0.03, 0.1),
    steps: int = 10,
    n_tasks: int = 100,
) -> float:
    """The step size among ``candidates`` with the lowest mean query error after
    ``steps`` fine-tuning steps on validation tasks (never the test tasks).

    A step size that diverges counts as infinitely bad.
    """
    batch = meta_test_set(k_shots, n_tasks, seed=VALIDATION_SEED)
    best, best_error = candidates[0], math.inf
    for lr in candidates:
        try:
            error = adaptation_curve(model, batch, lr, steps)[-1].mean().item()
        except FloatingPointError:
            continue
        if error < best_error:
            best, best_error = lr, error
    return best


def amplitude_moments() -> tuple[float, float]:
    """``(E[A], E[A^2])`` for the amplitude, uniform on :data:`AMPLITUDE_RANGE`."""
    a_lo, a_hi = AMPLITUDE_RANGE
    return (a_lo + a_hi) / 2, (a_hi**3 - a_lo**3) / (3 * (a_hi - a_lo))


def task_agnostic_mse(n: int = 400_001) -> float:
    """MSE of the best predictor that ignores the task, ``E[y | x]``, by quadrature.

    Over the phase in [0, pi], ``E[sin(x - phi)] = -2 cos(x) / pi``, so the best
    task-blind prediction is ``-(2/pi) E[A] cos x``; its error is the variance
    left, ``E[A^2]/2 - (2 E[A] / pi)^2 E_x[cos^2 x]``. A network trained on all
    tasks at once can do no better before it adapts.
    """
    mean_a, mean_a2 = amplitude_moments()
    x = torch.linspace(*X_RANGE, n, dtype=torch.float64)
    mean_cos2 = torch.trapezoid(torch.cos(x) ** 2, x).item() / (X_RANGE[1] - X_RANGE[0])
    return mean_a2 / 2 - (2 * mean_a / math.pi) ** 2 * mean_cos2
