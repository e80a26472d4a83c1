"""RL^2 on Bernoulli bandits: a recurrent policy that learns to explore.

Chapter 4 of the book. RL^2 (Duan et al., 2016; Wang et al., 2016) meta-learns
a reinforcement-learning algorithm: a recurrent network plays one bandit for
``n`` pulls, seeing at each pull only what a bandit algorithm would see (the
arm it pulled last, the reward it got, and the flag that an episode ended), so
whatever it learns about *this* bandit lives in its hidden state. A slow,
ordinary RL algorithm trains the network's weights across many bandits drawn
from the task distribution; the fast learning within one bandit happens in the
forward pass, with the weights fixed. The file follows the chapter:

1. the inputs: previous action (one-hot), previous reward, done flag;
2. the network, :class:`GRUPolicy`: a ReLU embedding of the input, a GRU, a
   policy head and a value head;
3. the batched rollout, :func:`rollout`: ``B`` bandits at once, one GRU step per
   pull, rewards decided by :func:`pull` from a table of uniforms drawn before
   the trial (the rule of the environment and of ``metarl_lite.bandits.play``);
4. the slow learner: generalised advantage estimates (:func:`gae`) with a
   critic that knows how many pulls are left (:func:`horizon_weights`) and,
   in training only, the bandit's means; and the PPO clipped loss
   (:func:`ppo_loss`), which with one epoch and one minibatch is advantage
   actor-critic (A2C);
5. :func:`train_rl2`, the loop, and :func:`evaluate` / :func:`episode_trace` to
   test the result on held-out bandits.

Shapes: ``B`` bandits, ``k`` arms, ``n`` pulls per bandit (one trial), ``H``
hidden units. Sequences are stored time-major, ``(n, B, ...)``, as ``nn.GRU``
takes them; :func:`evaluate` returns ``(B, n)`` like ``metarl_lite.bandits.play``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Iterator
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from metarl_lite._checks import check_in_range, check_non_negative_int, check_positive_int
from metarl_lite.bandits import Play
from metarl_lite.envs.bernoulli_bandit import sample_tasks
from metarl_lite.history import History, check_finite
from metarl_lite.seeding import single_threaded, torch_generator

# ---------------------------------------------------------------------------
# 1. The inputs
# ---------------------------------------------------------------------------


def input_size(arms: int) -> int:
    """Width of one input: ``arms`` for the one-hot action, one each for reward and done."""
    return arms + 2


def encode(actions: Tensor, rewards: Tensor, arms: int) -> Tensor:
    """The network's input after a pull: ``[one_hot(action), reward, done]``.

    In RL^2 on bandits every pull is an episode of length one inside the trial
    (the environment's ``n``-pull episode is RL^2's trial), so the done flag is 1
    after every pull; it is 0 only in the input before the first pull
    (:func:`first_input`), which has no previous action or reward either.

    Args:
        actions: shape ``(B,)``, the arm pulled.
        rewards: shape ``(B,)``, the reward received.
        arms: ``k``.

    Returns:
        Shape ``(B, arms + 2)``.
    """
    one_hot = nn.functional.one_hot(actions, arms).to(torch.float32)
    done = torch.ones(rewards.shape[0], 1)
    return torch.cat([one_hot, rewards.to(torch.float32).unsqueeze(-1), done], dim=-1)


def first_input(batch: int, arms: int) -> Tensor:
    """The input before the first pull: zeros of shape ``(batch, arms + 2)``."""
    return torch.zeros(batch, input_size(arms))


def pull(means: Tensor, actions: Tensor, uniforms: Tensor) -> Tensor:
    """Bernoulli rewards from a table of uniforms: arm ``a`` pays 1 when ``u[a] < mean[a]``.

    This is the rule of :class:`metarl_lite.envs.BernoulliBanditEnv` and of
    :func:`metarl_lite.bandits.play`, written for a batch: each bandit holds one
    uniform per arm for the current pull, so every reward is Bernoulli with the
    pulled arm's mean, and two agents given the same table meet the same outcome
    whenever they pull the same arm at the same time.

    Args:
        means: shape ``(B, k)``.
        actions: shape ``(B,)``, integers in ``[0, k)``.
        uniforms: shape ``(B, k)``, draws from U[0, 1) for this pull.

    Returns:
        Shape ``(B,)``, floats 0.0 or 1.0.
    """
    index = actions.unsqueeze(1)
    return (uniforms.gather(1, index) < means.gather(1, index)).squeeze(1).float()


# ---------------------------------------------------------------------------
# 2. The network
# ---------------------------------------------------------------------------


class GRUPolicy(nn.Module):
    """A GRU over the inputs with a softmax policy head and a value head.

    The input first passes through a ReLU layer (the embedding of RL^2's
    ``(a, r, d)`` tuple): its units respond to *combinations* of arm and reward
    ("arm 2 paid"), which a GRU fed the raw one-hot would have to build from the
    weak products inside its gates before it could learn win-stay, lose-shift.

    The value head predicts the reward per pull still to come, ``m_t``; training
    scales it by the share of the trial left (:func:`horizon_weights`). With
    ``task_critic=True`` the value head also sees the bandit's arm means: a
    critic used only in training may know the task (an asymmetric actor-critic),
    and a baseline that knows which arms are good takes out much of the noise of
    the advantages that decide whether exploring paid off. The policy head never
    sees the means, and nothing the policy does at test time depends on them.

    Args:
        arms: number of arms ``k`` (actions).
        hidden: hidden units ``H`` of the embedding and of the GRU.
        task_critic: whether the value head sees the arm means.
        generator: if given, the initial weights are drawn from it (PyTorch's
            default uniform scheme, a policy head 100 times smaller so that the
            first policy is uniform) instead of from the global random state.

    Shapes:
        ``forward(inputs, h0, means)``: ``(T, B, k + 2)``, ``(B, H)`` and ``(B, k)``
        -> logits ``(T, B, k)``, values ``m_t`` ``(T, B)``, hidden states ``(T, B, H)``.
    """

    def __init__(
        self,
        arms: int,
        hidden: int,
        generator: torch.Generator | None = None,
        *,
        task_critic: bool = False,
    ) -> None:
        super().__init__()
        check_in_range("arms", arms, 2, 1000)
        check_positive_int("hidden", hidden)
        self.arms = arms
        self.hidden = hidden
        self.task_critic = task_critic
        self.embed = nn.Linear(input_size(arms), hidden)
        self.gru = nn.GRU(hidden, hidden)
        self.policy = nn.Linear(hidden, arms)
        if task_critic:
            self.value = nn.Sequential(
                nn.Linear(hidden + arms, hidden), nn.ReLU(), nn.Linear(hidden, 1)
            )
        else:
            self.value = nn.Sequential(nn.Linear(hidden, 1))
        if generator is not None:
            self._initialise(generator)

    @torch.no_grad()
    def _initialise(self, generator: torch.Generator) -> None:
        layers = [self.embed, *(m for m in self.value if isinstance(m, nn.Linear))]
        for layer in layers:
            bound = 1.0 / math.sqrt(layer.in_features)
            layer.weight.uniform_(-bound, bound, generator=generator)
            layer.bias.uniform_(-bound, bound, generator=generator)
        bound = 1.0 / math.sqrt(self.hidden)
        for p in self.gru.parameters():
            p.uniform_(-bound, bound, generator=generator)
        self.policy.weight.uniform_(-bound / 100, bound / 100, generator=generator)
        self.policy.bias.zero_()

    def initial_state(self, batch: int) -> Tensor:
        """The hidden state before the first pull: zeros of shape ``(batch, H)``."""
        return torch.zeros(batch, self.hidden)

    def step(self, x: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """One pull: input ``(B, k + 2)`` and state ``(B, H)`` -> logits ``(B, k)``, new state."""
        _, h_next = self.gru(torch.relu(self.embed(x)).unsqueeze(0), h.unsqueeze(0))
        return self.policy(h_next[0]), h_next[0]

    def values(self, hidden: Tensor, means: Tensor | None = None) -> Tensor:
        """The value head on hidden states ``(T, B, H)`` (and means ``(B, k)``, or
        ``(T, B, k)`` when they change during the trial): ``(T, B)``."""
        if self.task_critic:
            if means is None:
                raise ValueError("means=None is not allowed: this model's critic sees the task")
            task = means.to(hidden.dtype)
            if task.dim() == 2:  # one set of means for the whole trial
                task = task.unsqueeze(0).expand(hidden.shape[0], -1, -1)
            hidden = torch.cat([hidden, task], dim=-1)
        return self.value(hidden).squeeze(-1)

    def forward(
        self, inputs: Tensor, h0: Tensor | None = None, means: Tensor | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        if h0 is None:
            h0 = self.initial_state(inputs.shape[1])
        hidden, _ = self.gru(torch.relu(self.embed(inputs)), h0.unsqueeze(0))
        return self.policy(hidden), self.values(hidden, means), hidden


# ---------------------------------------------------------------------------
# 3. The batched rollout
# ---------------------------------------------------------------------------


class Rollout(NamedTuple):
    """One trial of ``n`` pulls on each of ``B`` bandits, time-major.

    Attributes:
        inputs: shape ``(n, B, k + 2)``, the input seen before each pull.
        actions: shape ``(n, B)``, the arms pulled.
        rewards: shape ``(n, B)``, the rewards received (0.0 or 1.0).
        log_probs: shape ``(n, B)``, log-probability of each action when taken.
        values: shape ``(n, B)``, the value estimate before each pull.
        hidden: shape ``(n, B, H)``, the hidden state each action was chosen from.
    """

    inputs: Tensor
    actions: Tensor
    rewards: Tensor
    log_probs: Tensor
    values: Tensor
    hidden: Tensor


def sample_actions(logits: Tensor, uniforms: Tensor) -> Tensor:
    """Draw one action per row by inverting the softmax's cumulative distribution.

    Args:
        logits: shape ``(B, k)``.
        uniforms: shape ``(B,)``, draws from U[0, 1).

    Returns:
        Shape ``(B,)``, the first index whose cumulative probability exceeds the draw.
    """
    cdf = torch.softmax(logits, dim=-1).cumsum(dim=-1)
    return (cdf <= uniforms.unsqueeze(-1)).sum(dim=-1).clamp(max=logits.shape[-1] - 1)


class Draws(NamedTuple):
    """The random numbers of one trial on ``B`` bandits, drawn before it starts.

    Attributes:
        rewards: shape ``(n, B, k)``: pull ``t`` of arm ``a`` on bandit ``b`` pays 1
            when ``rewards[t, b, a] < means[b, a]`` (see :func:`pull`).
        actions: shape ``(n, B)``: the uniform that picks each sampled action.
    """

    rewards: Tensor
    actions: Tensor


def draw(batch: int, arms: int, pulls: int, generator: torch.Generator) -> Draws:
    """Training draws from a ``torch.Generator``: the reward table, then the action draws."""
    rewards = torch.rand(pulls, batch, arms, generator=generator)
    return Draws(rewards, torch.rand(pulls, batch, generator=generator))


def draw_numpy(batch: int, arms: int, pulls: int, rng: np.random.Generator) -> Draws:
    """Test draws from a NumPy generator, in the order of ``bandits.play``.

    The reward table comes first, as ``rng.random((B, n, k))``, so RL^2 played with
    a generator in the same state as a baseline sees the same reward table.
    """
    rewards = rng.random((batch, pulls, arms))
    actions = rng.random((batch, pulls))
    return Draws(
        torch.as_tensor(rewards.transpose(1, 0, 2)),  # float64, compared with float64 means
        torch.as_tensor(actions.T, dtype=torch.float32),
    )


@torch.no_grad()
def rollout(model: GRUPolicy, means: Tensor, draws: Draws, *, greedy: bool = False) -> Rollout:
    """Play one trial on each bandit, all bandits in parallel.

    The GRU advances one step per pull; the hidden state carries over between
    pulls and is never reset within the trial.

    Args:
        model: the policy.
        means: shape ``(B, k)``, each bandit's arm means; or ``(n, B, k)``, means
            that change from pull to pull (chapter 6's drifting users).
        draws: the trial's random numbers; their first axis sets the pulls ``n``.
        greedy: pull the most probable arm instead of sampling.

    Returns:
        The trial, time-major (see :class:`Rollout`).
    """
    batch, arms = means.shape[-2:]
    x = first_input(batch, arms)
    h = model.initial_state(batch)
    inputs, actions, rewards, logits, hidden = [], [], [], [], []
    for t in range(draws.actions.shape[0]):
        logit, h = model.step(x, h)
        a = logit.argmax(dim=-1) if greedy else sample_actions(logit, draws.actions[t])
        r = pull(means[t] if means.dim() == 3 else means, a, draws.rewards[t])
        inputs.append(x)
        actions.append(a)
        rewards.append(r)
        logits.append(logit)
        hidden.append(h)
        x = encode(a, r, arms)
    actions_t, hidden_t = torch.stack(actions), torch.stack(hidden)
    log_probs = torch.log_softmax(torch.stack(logits), dim=-1)
    return Rollout(
        inputs=torch.stack(inputs),
        actions=actions_t,
        rewards=torch.stack(rewards),
        log_probs=log_probs.gather(-1, actions_t.unsqueeze(-1)).squeeze(-1),
        values=model.values(hidden_t, means),
        hidden=hidden_t,
    )


# ---------------------------------------------------------------------------
# 4. The slow learner
# ---------------------------------------------------------------------------


def gae(rewards: Tensor, values: Tensor, gamma: float, lam: float) -> Tensor:
    """Generalised advantage estimates (Schulman et al., 2016) over one trial.

    ``delta_t = r_t + gamma V_{t+1} - V_t`` with ``V_n = 0`` (the trial ends after
    ``n`` pulls), and ``A_t = delta_t + gamma lam A_{t+1}``.

    Args:
        rewards, values: shape ``(n, B)``.
        gamma: discount; 1 is the undiscounted cumulative reward the task scores.
        lam: GAE's lambda: 0 is one-step TD, 1 the Monte Carlo return minus ``V_t``.

    Returns:
        Advantages, shape ``(n, B)``.
    """
    advantages = torch.zeros_like(rewards)
    next_value = torch.zeros_like(rewards[0])
    running = torch.zeros_like(rewards[0])
    for t in range(rewards.shape[0] - 1, -1, -1):
        delta = rewards[t] + gamma * next_value - values[t]
        running = delta + gamma * lam * running
        advantages[t] = running
        next_value = values[t]
    return advantages


def horizon_weights(pulls: int, gamma: float) -> Tensor:
    """How much reward is left to earn before each pull, per unit reward rate.

    ``w_t = (1 + gamma + ... + gamma^(n - t - 1)) / n``, shape ``(n,)``; with
    ``gamma = 1`` it is the share of the trial still to play, ``(n - t) / n``. The
    critic predicts the reward per pull still to come, ``m_t``, from the hidden
    state, and its value is ``V_t = w_t m_t`` (in units of ``n`` pulls): the slow
    learner knows the trial's length, as the time feature of a linear baseline
    would, and the network need not learn to count to ``n`` before its value
    estimates become useful. The policy never sees ``t``.
    """
    t = torch.arange(pulls, dtype=torch.float64)
    left = pulls - t
    sums = left if gamma == 1.0 else (1.0 - gamma**left) / (1.0 - gamma)
    return (sums / pulls).float()


class Losses(NamedTuple):
    """The parts of the loss, each a scalar tensor."""

    total: Tensor
    policy: Tensor
    value: Tensor
    entropy: Tensor


def ppo_loss(
    logits: Tensor,
    values: Tensor,
    actions: Tensor,
    old_log_probs: Tensor,
    advantages: Tensor,
    returns: Tensor,
    *,
    clip: float,
    value_coef: float,
    entropy_coef: float,
) -> Losses:
    """The PPO loss (Schulman et al., 2017) on a batch of steps.

    ``-min(rho A, clip(rho, 1 - eps, 1 + eps) A) + c_v (V - R)^2 - c_e H(pi)``,
    averaged over steps, with ``rho = pi(a) / pi_old(a)``. At ``rho = 1`` (the
    first gradient on fresh data) its gradient is the advantage actor-critic
    (A2C) gradient ``-A grad log pi(a)``.

    Args:
        logits: shape ``(..., k)``.
        values, actions, old_log_probs, advantages, returns: shape ``(...)``.
        clip: ``eps``.
        value_coef: ``c_v``.
        entropy_coef: ``c_e``.
    """
    log_probs = torch.log_softmax(logits, dim=-1)
    chosen = log_probs.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
    ratio = torch.exp(chosen - old_log_probs)
    surrogate = torch.min(ratio * advantages, ratio.clamp(1 - clip, 1 + clip) * advantages)
    policy = -surrogate.mean()
    value = ((values - returns) ** 2).mean()
    entropy = -(log_probs.exp() * log_probs).sum(-1).mean()
    total = policy + value_coef * value - entropy_coef * entropy
    return Losses(total, policy, value, entropy)


def minibatches(
    batch: int, epochs: int, chunks: int, generator: torch.Generator
) -> Iterator[Tensor]:
    """PPO's minibatches: for each of ``epochs`` passes, the ``batch`` trial indices
    shuffled with ``generator`` and cut into ``chunks`` parts, each ``(batch / chunks,)``."""
    for _ in range(epochs):
        yield from torch.randperm(batch, generator=generator).chunk(chunks)


def gradient_step(
    optimizer: torch.optim.Optimizer, loss: Tensor, max_grad_norm: float, what: str, update: int
) -> float:
    """One optimiser step on the scalar ``loss``, its gradient's global norm clipped to
    ``max_grad_norm``; returns the loss. A NaN or infinite loss raises
    ``TrainingDivergedError`` naming ``what`` and ``update``. The RL^2 trainers of
    chapters 4 and 6 share it."""
    check_finite(what, loss.item(), update)
    optimizer.zero_grad()
    loss.backward()
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    nn.utils.clip_grad_norm_(parameters, max_grad_norm)
    optimizer.step()
    return loss.item()


def linear_schedule(start: float, end: float, update: int, updates: int, fraction: float) -> float:
    """A value that moves linearly from ``start`` to ``end`` over the first
    ``fraction`` of ``updates`` updates, then stays at ``end``.

    ``update`` counts from 0. A fraction of 0 gives ``end`` from the start.
    """
    span = fraction * updates
    if span <= 0:
        return end
    progress = min(update / span, 1.0)
    return start + (end - start) * progress


# ---------------------------------------------------------------------------
# 5. Training
# ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class RL2Config:
    """Settings of one RL^2 run; the defaults are the chapter's k = 5, n = 100 run.

    Attributes:
        arms: arms per bandit (k).
        pulls: pulls per trial (n); the trial is one episode of the outer RL problem.
        hidden: hidden units of the GRU.
        batch: bandits per update; each update plays ``batch * pulls`` env steps.
        updates: parameter updates (each on a fresh batch of bandits).
        lr: Adam's initial step size.
        lr_end: step size at the end, as a fraction of ``lr`` (linear decay).
        gamma: discount of the outer RL problem (1: the task's own objective).
        gae_lambda: lambda of the advantage estimates.
        entropy_coef: initial weight of the entropy bonus.
        entropy_anneal: fraction of the run over which the entropy weight falls
            linearly to zero.
        value_coef: weight of the value loss.
        max_grad_norm: clip the gradient's global norm to this.
        epochs: passes over each batch (PPO); 1 with ``minibatches=1`` is A2C.
        minibatches: minibatches (of whole trials) per pass.
        clip: PPO's ratio clip ``eps``.
        task_critic: let the value head see the bandit's means (training only;
            see :class:`GRUPolicy`).
        seed: seeds the initial weights, the training bandits and every draw.
    """

    arms: int = 5
    pulls: int = 100
    hidden: int = 48
    batch: int = 250
    updates: int = 360
    lr: float = 3e-3
    lr_end: float = 0.3
    gamma: float = 1.0
    gae_lambda: float = 0.95
    entropy_coef: float = 0.01
    entropy_anneal: float = 0.8
    value_coef: float = 0.5
    max_grad_norm: float = 1.0
    epochs: int = 4
    minibatches: int = 4
    clip: float = 0.2
    task_critic: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        check_in_range("arms", self.arms, 2, 1000)
        check_positive_int("pulls", self.pulls)
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
        check_positive_int("minibatches", self.minibatches)
        check_in_range("minibatches", self.minibatches, 1, self.batch)
        check_in_range("clip", self.clip, 0.0, 1.0, low_inclusive=False)
        if not isinstance(self.task_critic, bool):
            raise ValueError(f"task_critic={self.task_critic!r} is not allowed: use True or False")
        check_non_negative_int("seed", self.seed)


class RL2Result(NamedTuple):
    """What :func:`train_rl2` returns.

    Attributes:
        model: the trained policy.
        history: per update, ``episode_steps`` (env steps so far) and
            ``episode_returns`` (mean reward per trial of the batch, with the
            sampled actions); ``losses`` at ``loss_steps``; the wall time.
    """

    model: GRUPolicy
    history: History


def policy_for(config: RL2Config, generator: torch.Generator | None = None) -> GRUPolicy:
    """The network of a run with settings ``config`` (untrained), for example to
    load stored weights: ``policy_for(config).load_state_dict(...)``."""
    return GRUPolicy(config.arms, config.hidden, generator, task_critic=config.task_critic)


@single_threaded
def train_rl2(
    config: RL2Config, progress: bool = False, *, stop_after: int | None = None
) -> RL2Result:
    """Meta-train a :class:`GRUPolicy` on Bernoulli bandits with RL^2.

    Each update:

    1. draw ``batch`` training bandits (``sample_tasks``: arm means i.i.d. U[0, 1]);
    2. play one trial of ``pulls`` pulls on each, all at once, with the current
       policy (:func:`rollout`, no gradient);
    3. compute advantages with GAE and the returns the value head regresses on;
    4. for each of ``epochs`` passes, for each minibatch of trials, re-run the
       GRU over the stored inputs in one call and take an Adam step on the PPO
       loss; the step size and the entropy weight follow linear schedules.

    Args:
        config: the run's settings.
        progress: show a progress bar.
        stop_after: stop after this many updates (the schedules still follow
            ``config.updates``), so a short run is the exact start of the full one.

    Raises:
        TrainingDivergedError: if the loss turns NaN or infinite.
    """
    start = time.perf_counter()
    generator = torch_generator(config.seed)
    rng = np.random.default_rng(config.seed)
    model = policy_for(config, generator)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history = History(config=dataclasses.asdict(config))
    weights = horizon_weights(config.pulls, config.gamma).unsqueeze(1)  # (n, 1)
    n_updates = config.updates if stop_after is None else min(stop_after, config.updates)
    for update in tqdm(range(n_updates), disable=not progress, desc="RL^2"):
        lr = linear_schedule(config.lr, config.lr * config.lr_end, update, config.updates, 1.0)
        entropy_coef = linear_schedule(
            config.entropy_coef, 0.0, update, config.updates, config.entropy_anneal
        )
        for group in optimizer.param_groups:
            group["lr"] = lr
        means = torch.as_tensor(sample_tasks(rng, config.batch, config.arms).means).float()
        trial = rollout(model, means, draw(config.batch, config.arms, config.pulls, generator))
        # The critic works in units of n pulls, so its targets lie in [0, 1] for any n.
        scaled_rewards = trial.rewards / config.pulls
        old_values = weights * trial.values
        advantages = gae(scaled_rewards, old_values, config.gamma, config.gae_lambda)
        returns = advantages + old_values
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
        losses = []
        for index in minibatches(config.batch, config.epochs, config.minibatches, generator):
            logits, rates, _ = model(trial.inputs[:, index], None, means[index])
            loss = ppo_loss(
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
                gradient_step(optimizer, loss.total, config.max_grad_norm, "RL^2 loss", update)
            )
        steps = (update + 1) * config.batch * config.pulls
        history.episode_steps.append(steps)
        history.episode_returns.append(trial.rewards.sum(dim=0).mean().item())
        history.loss_steps.append(steps)
        history.losses.append(sum(losses) / len(losses))
    history.wall_time = time.perf_counter() - start
    return RL2Result(model, history)


# ---------------------------------------------------------------------------
# 6. Testing on held-out bandits
# ---------------------------------------------------------------------------


@single_threaded
def evaluate(
    model: GRUPolicy,
    means: np.ndarray | Tensor,
    rng: np.random.Generator,
    pulls: int,
    *,
    greedy: bool = False,
) -> Play:
    """Play one trial of ``pulls`` pulls on each bandit with the trained policy.

    Args:
        model: the policy; it does not change.
        means: shape ``(B, k)``, the bandits (for example ``test_tasks(B, k).means``).
        rng: seeds the draws (one integer is taken from it).
        pulls: ``n``.
        greedy: pull the most probable arm at each step instead of sampling.

    Returns:
        Actions and rewards, shape ``(B, n)``, as :func:`metarl_lite.bandits.play`
        returns them for the classic algorithms.
    """
    check_positive_int("pulls", pulls)
    means_t = torch.as_tensor(np.asarray(means), dtype=torch.float64)
    if means_t.dim() != 2 or means_t.shape[1] != model.arms:
        raise ValueError(
            f"means has shape {tuple(means_t.shape)}: expected (B, {model.arms}) for this model"
        )
    draws = draw_numpy(means_t.shape[0], model.arms, pulls, rng)
    trial = rollout(model, means_t, draws, greedy=greedy)
    return Play(trial.actions.T.numpy(), trial.rewards.T.numpy().astype(np.float64))


class Trace(NamedTuple):
    """One trial on one bandit, for the chapter's figure.

    Attributes:
        actions: shape ``(n,)``, the arms pulled.
        rewards: shape ``(n,)``, the rewards.
        probs: shape ``(n, k)``, the policy before each pull.
        values: shape ``(n,)``, the value estimate before each pull.
        hidden: shape ``(n, H)``, the hidden state each action was chosen from.
    """

    actions: np.ndarray
    rewards: np.ndarray
    probs: np.ndarray
    values: np.ndarray
    hidden: np.ndarray


@single_threaded
def episode_trace(
    model: GRUPolicy,
    means: np.ndarray | Tensor,
    rng: np.random.Generator,
    pulls: int,
    *,
    greedy: bool = False,
) -> Trace:
    """The arm choices, policy and hidden state over one trial on one bandit.

    Args:
        means: shape ``(k,)``, one bandit's arm means.
        rng, pulls, greedy: as in :func:`evaluate`.
    """
    check_positive_int("pulls", pulls)
    means_t = torch.as_tensor(np.asarray(means), dtype=torch.float64).reshape(1, -1)
    trial = rollout(model, means_t, draw_numpy(1, model.arms, pulls, rng), greedy=greedy)
    with torch.no_grad():
        logits, _, _ = model(trial.inputs, None, means_t)
    return Trace(
        trial.actions[:, 0].numpy(),
        trial.rewards[:, 0].numpy(),
        torch.softmax(logits[:, 0], dim=-1).numpy(),
        trial.values[:, 0].numpy(),
        trial.hidden[:, 0].numpy(),
    )
