"""Tests of metarl_lite.dqn."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from metarl_lite import dqn
from metarl_lite.dqn import (
    DQNConfig,
    QNetwork,
    dqn_loss,
    evaluate,
    linear_epsilon,
    polyak_update,
    td_target,
    train_dqn,
)
from metarl_lite.history import TrainingDivergedError

# A configuration small enough for tests: about 2.8k gradient steps. The short
# horizon (gamma 0.9) lets greedy returns rise within a few thousand steps.
FAST = DQNConfig(
    total_steps=6_000,
    learning_rate=1e-3,
    gamma=0.9,
    batch_size=128,
    buffer_size=10_000,
    learning_starts=500,
    train_frequency=16,
    gradient_steps=8,
    epsilon_decay_steps=3_000,
    hidden=(64, 64),
    eval_every=3_000,
    eval_episodes=10,
    log_every=500,
)


# --- pure functions ---------------------------------------------------------


def test_td_target_hand_computed_terminated_vs_truncated() -> None:
    # Three transitions with reward 1 and gamma 0.9:
    #   0: ordinary step             -> 1 + 0.9 * max(1, 2)  = 2.8
    #   1: terminal (pole fell)      -> 1                      (no bootstrap)
    #   2: truncated by time limit   -> stored terminated=0 -> 1 + 0.9 * max(2, 4) = 4.6
    rewards = torch.tensor([1.0, 1.0, 1.0])
    next_q = torch.tensor([[1.0, 2.0], [3.0, 0.5], [2.0, 4.0]])
    terminated = torch.tensor([0.0, 1.0, 0.0])
    y = td_target(rewards, next_q, terminated, gamma=0.9)
    torch.testing.assert_close(y, torch.tensor([2.8, 1.0, 4.6]))
    # Had the truncated step been (wrongly) marked terminal, it would not bootstrap.
    wrong = td_target(rewards, next_q, torch.tensor([0.0, 1.0, 1.0]), gamma=0.9)
    assert wrong[2].item() == pytest.approx(1.0)


def test_td_target_gamma_zero_and_no_grad() -> None:
    next_q = torch.randn(5, 3, requires_grad=True)
    y = td_target(torch.arange(5.0), next_q, torch.zeros(5), gamma=0.0)
    torch.testing.assert_close(y, torch.arange(5.0))
    assert not y.requires_grad


def test_dqn_loss_mse_and_huber() -> None:
    q = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    actions = torch.tensor([1, 0])
    targets = torch.tensor([2.5, 0.0])
    # Errors of the taken actions: 2 - 2.5 = -0.5 and 3 - 0 = 3.
    assert dqn_loss(q, actions, targets, "mse").item() == pytest.approx((0.25 + 9.0) / 2)
    # Huber: 0.5 * 0.5**2 = 0.125 and 3 - 0.5 = 2.5.
    assert dqn_loss(q, actions, targets, "huber").item() == pytest.approx((0.125 + 2.5) / 2)
    with pytest.raises(ValueError, match="kind"):
        dqn_loss(q, actions, targets, "l1")


def test_dqn_loss_gradient_only_on_taken_actions() -> None:
    q = torch.zeros(2, 3, requires_grad=True)
    dqn_loss(q, torch.tensor([2, 0]), torch.ones(2), "mse").backward()
    assert q.grad is not None
    assert (q.grad[0, :2] == 0).all() and q.grad[0, 2] != 0
    assert (q.grad[1, 1:] == 0).all() and q.grad[1, 0] != 0


def test_linear_epsilon() -> None:
    assert linear_epsilon(0, 1.0, 0.1, 100) == pytest.approx(1.0)
    assert linear_epsilon(50, 1.0, 0.1, 100) == pytest.approx(0.55)
    assert linear_epsilon(100, 1.0, 0.1, 100) == pytest.approx(0.1)
    assert linear_epsilon(10_000, 1.0, 0.1, 100) == pytest.approx(0.1)
    assert linear_epsilon(5, 1.0, 0.2, 0) == pytest.approx(0.2)


def test_polyak_update() -> None:
    gen = torch.Generator().manual_seed(0)
    source, target = QNetwork(3, 2, (4,), generator=gen), QNetwork(3, 2, (4,), generator=gen)
    before = [p.clone() for p in target.parameters()]
    polyak_update(target, source, 0.25)
    for t, b, s in zip(target.parameters(), before, source.parameters(), strict=True):
        torch.testing.assert_close(t, 0.75 * b + 0.25 * s)
    polyak_update(target, source, 1.0)
    for t, s in zip(target.parameters(), source.parameters(), strict=True):
        assert torch.equal(t, s)


def test_q_network_shapes_and_seeded_init() -> None:
    net = QNetwork(4, 2, (8, 8), generator=torch.Generator().manual_seed(3))
    assert net(torch.zeros(5, 4)).shape == (5, 2)
    assert net(torch.zeros(4)).shape == (2,)
    same = QNetwork(4, 2, (8, 8), generator=torch.Generator().manual_seed(3))
    for a, b in zip(net.parameters(), same.parameters(), strict=True):
        assert torch.equal(a, b)
    bound = 1 / math.sqrt(4)
    assert net.net[0].weight.abs().max() <= bound
    assert len(QNetwork(4, 2, ()).net) == 1  # linear Q-function


# --- configuration ----------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"gamma": -0.01}, "gamma"),
        ({"gamma": 1.5}, "gamma"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"learning_rate": -1e-3}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": -64}, "batch_size"),
        ({"buffer_size": 0}, "buffer_size"),
        ({"buffer_size": 32, "batch_size": 64}, "batch_size"),
        ({"env_id": "NoSuchEnv-v0"}, "env_id"),
        ({"total_steps": 0}, "total_steps"),
        ({"learning_starts": -1}, "learning_starts"),
        ({"train_frequency": 0}, "train_frequency"),
        ({"gradient_steps": 0}, "gradient_steps"),
        ({"target_update_period": 0}, "target_update_period"),
        ({"tau": 0.0}, "tau"),
        ({"loss": "l2"}, "loss"),
        ({"max_grad_norm": 0.0}, "max_grad_norm"),
        ({"epsilon_start": 1.2}, "epsilon_start"),
        ({"epsilon_end": -0.1}, "epsilon_end"),
        ({"epsilon_decay_steps": -1}, "epsilon_decay_steps"),
        ({"hidden": (64, 0)}, "hidden"),
        ({"hidden": [64, 64]}, "hidden"),
        ({"eval_every": 0}, "eval_every"),
        ({"eval_episodes": 0}, "eval_episodes"),
        ({"log_every": 0}, "log_every"),
        ({"seed": -1}, "seed"),
        ({"use_replay": "yes"}, "use_replay"),
    ],
)
def test_invalid_config_raises_naming_the_field(changes: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        DQNConfig(**changes)


def test_config_error_message_gives_value_and_range() -> None:
    with pytest.raises(ValueError, match=r"gamma=1\.5 is out of range: allowed is \[0\.0, 1\.0\]"):
        DQNConfig(gamma=1.5)
    with pytest.raises(ValueError, match=r"env_id='Pong-v5'.*'CartPole-v1'"):
        DQNConfig(env_id="Pong-v5")


def test_no_replay_allows_any_buffer_size_and_config_is_frozen() -> None:
    DQNConfig(use_replay=False, buffer_size=1, batch_size=64)
    with pytest.raises(dataclasses.FrozenInstanceError):
        DQNConfig().gamma = 0.5  # type: ignore[misc]
    assert "CartPole-v1" in dqn.ENV_IDS


# --- training ---------------------------------------------------------------


def test_nan_loss_stops_training_naming_the_step(monkeypatch: pytest.MonkeyPatch) -> None:
    real_update = dqn.dqn_update
    calls = {"n": 0}

    def update_that_fails_on_the_third_call(*args: object, **kwargs: object) -> torch.Tensor:
        calls["n"] += 1
        loss = real_update(*args, **kwargs)  # type: ignore[arg-type]
        return loss * math.nan if calls["n"] == 3 else loss

    monkeypatch.setattr(dqn, "dqn_update", update_that_fails_on_the_third_call)
    config = dataclasses.replace(FAST, learning_starts=100, train_frequency=50, gradient_steps=1)
    # Updates happen at steps 150, 200, 250: the third one diverges.
    with pytest.raises(TrainingDivergedError, match=r"TD loss became nan at step 250\b"):
        train_dqn(config, progress=False)


def test_absurd_learning_rate_diverges() -> None:
    config = dataclasses.replace(
        FAST, learning_rate=1e30, loss="mse", max_grad_norm=None, learning_starts=200
    )
    with pytest.raises(TrainingDivergedError, match=r"TD loss became (nan|inf) at step \d+"):
        train_dqn(config, progress=False)


def test_same_seed_same_history() -> None:
    config = dataclasses.replace(FAST, total_steps=2_000, eval_every=1_000, eval_episodes=3)
    first = train_dqn(config, progress=False)
    second = train_dqn(config, progress=False)
    assert first.history.losses  # training did happen
    assert first.history.to_dict() == second.history.to_dict()
    for a, b in zip(first.q_network.parameters(), second.q_network.parameters(), strict=True):
        assert torch.equal(a, b)
    other = train_dqn(dataclasses.replace(config, seed=1), progress=False)
    assert other.history.to_dict() != first.history.to_dict()


@pytest.mark.parametrize(
    "changes", [{"use_target_network": False}, {"use_replay": False}, {"tau": 0.1}]
)
def test_ablations_run(changes: dict) -> None:
    config = dataclasses.replace(FAST, total_steps=1_500, eval_every=1_500, eval_episodes=2)
    history = train_dqn(dataclasses.replace(config, **changes), progress=False).history
    assert len(history.losses) == 2 and all(np.isfinite(history.losses))
    assert history.eval_steps == [1_500]


def test_short_run_beats_random_policy() -> None:
    result = train_dqn(FAST, progress=False)
    history = result.history
    assert history.eval_steps == [3_000, 6_000]
    assert history.loss_steps[0] == 1_000 and len(history.losses) == 11
    assert sum(history.episode_returns) == pytest.approx(history.episode_steps[-1])
    assert history.wall_time > 0
    # A uniformly random policy averages about 22 on CartPole-v1.
    random_policy = QNetwork(4, 2, (64, 64), generator=torch.Generator().manual_seed(0))
    untrained = evaluate(random_policy, "CartPole-v1", episodes=20, seed=123)
    trained = evaluate(result.q_network, "CartPole-v1", episodes=20, seed=123)
    assert untrained.shape == trained.shape == (20,)
    assert untrained.mean() < 50
    assert trained.mean() > 100
    assert history.eval_returns[-1] > 100
