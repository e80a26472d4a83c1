"""Tests of metarl_lite.rl2: inputs, rewards, the batched rollout, GAE, the loss,
the config's checks, determinism, and that a short run learns."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from metarl_lite import bandits, rl2
from metarl_lite.envs.bernoulli_bandit import BernoulliBanditEnv, sample_tasks, test_tasks
from metarl_lite.history import TrainingDivergedError


def _model(arms: int = 3, hidden: int = 8, seed: int = 0) -> rl2.GRUPolicy:
    return rl2.GRUPolicy(arms, hidden, torch.Generator().manual_seed(seed))


def test_inputs_are_one_hot_action_reward_and_done() -> None:
    x = rl2.encode(torch.tensor([2, 0]), torch.tensor([1.0, 0.0]), arms=3)
    assert x.tolist() == [[0, 0, 1, 1, 1], [1, 0, 0, 0, 1]]
    assert rl2.first_input(2, 3).tolist() == [[0.0] * 5] * 2


def test_pull_pays_one_when_the_arms_uniform_is_below_its_mean() -> None:
    means = torch.tensor([[0.2, 0.8], [0.5, 0.5]], dtype=torch.float64)
    uniforms = torch.tensor([[0.5, 0.5], [0.5, 0.49]], dtype=torch.float64)
    assert rl2.pull(means, torch.tensor([0, 1]), uniforms).tolist() == [0.0, 1.0]
    assert rl2.pull(means, torch.tensor([1, 0]), uniforms).tolist() == [1.0, 0.0]


def test_batched_rollout_gives_the_environments_rewards() -> None:
    """RL^2's actions replayed in BernoulliBanditEnv, reset with the same seed, earn
    exactly the rewards of the batched rollout."""
    model = _model(arms=4)
    means = sample_tasks(np.random.default_rng(5), 6, 4).means
    n = 30
    for b in range(means.shape[0]):
        play = rl2.evaluate(model, means[b : b + 1], np.random.default_rng(100 + b), n)
        env = BernoulliBanditEnv(means[b], n_pulls=n)
        env.reset(seed=100 + b)
        rewards = [env.step(int(a))[1] for a in play.actions[0]]
        assert rewards == play.rewards[0].tolist()


def test_evaluate_shares_the_reward_table_of_bandits_play() -> None:
    """Where RL^2 and a baseline pull the same arm at the same time on the same
    bandit, with generators in the same state, they get the same reward."""
    means = test_tasks(200, 3).means
    ours = rl2.evaluate(_model(), means, np.random.default_rng(7), 20)
    theirs = bandits.play("thompson", means, 20, np.random.default_rng(7))
    same = ours.actions == theirs.actions
    assert same.sum() > 500
    assert np.array_equal(ours.rewards[same], theirs.rewards[same])


def test_reward_rate_matches_the_arm_means() -> None:
    means = np.tile([[0.1, 0.6, 0.9]], (4000, 1))
    play = rl2.evaluate(_model(), means, np.random.default_rng(0), 5)
    for arm, mean in enumerate((0.1, 0.6, 0.9)):
        got = play.rewards[play.actions == arm]
        assert abs(got.mean() - mean) < 4 * math.sqrt(mean * (1 - mean) / got.size)


def test_sampled_actions_follow_the_softmax() -> None:
    logits = torch.tensor([[0.0, 1.0, 2.0]]).expand(60_000, 3)
    u = torch.rand(60_000, generator=torch.Generator().manual_seed(0))
    counts = torch.bincount(rl2.sample_actions(logits, u), minlength=3) / 60_000
    assert torch.allclose(counts, torch.softmax(logits[0], 0), atol=0.01)
    assert rl2.sample_actions(torch.tensor([[0.0, 0.0]]), torch.tensor([0.9999999])).item() == 1


def test_rollout_matches_one_gru_call_over_its_inputs() -> None:
    """The step-by-step rollout and the single nn.GRU call used for the gradient agree."""
    model = _model(arms=3, hidden=16)
    means = torch.rand(5, 3, generator=torch.Generator().manual_seed(1))
    trial = rl2.rollout(model, means, rl2.draw(5, 3, 12, torch.Generator().manual_seed(2)))
    logits, values, hidden = model(trial.inputs)
    log_probs = torch.log_softmax(logits, -1).gather(-1, trial.actions.unsqueeze(-1))
    assert torch.allclose(log_probs.squeeze(-1), trial.log_probs, atol=1e-6)
    assert torch.allclose(values, trial.values, atol=1e-6)
    assert torch.allclose(hidden, trial.hidden, atol=1e-6)
    # each input is the previous pull's action, reward and done flag
    assert torch.equal(trial.inputs[1:, :, :3].argmax(-1), trial.actions[:-1])
    assert torch.equal(trial.inputs[1:, :, 3], trial.rewards[:-1])
    assert trial.inputs[0].abs().sum() == 0 and torch.all(trial.inputs[1:, :, 4] == 1)


def test_greedy_rollout_takes_the_most_probable_arm() -> None:
    model = _model()
    means = torch.rand(4, 3, generator=torch.Generator().manual_seed(3))
    trial = rl2.rollout(model, means, rl2.draw(4, 3, 6, torch.Generator()), greedy=True)
    logits, _, _ = model(trial.inputs)
    assert torch.equal(trial.actions, logits.argmax(-1))


def test_gae_with_lambda_one_is_return_minus_value_and_with_zero_the_td_error() -> None:
    rewards = torch.tensor([[1.0], [0.0], [2.0]])
    values = torch.tensor([[0.5], [0.2], [1.0]])
    mc = rl2.gae(rewards, values, gamma=0.9, lam=1.0)
    returns = torch.tensor([[1 + 0.9 * 0 + 0.81 * 2], [0.9 * 2], [2.0]])
    assert torch.allclose(mc, returns - values)
    td = rl2.gae(rewards, values, gamma=0.9, lam=0.0)
    expected = torch.tensor([[1 + 0.9 * 0.2 - 0.5], [0 + 0.9 * 1.0 - 0.2], [2 - 1.0]])
    assert torch.allclose(td, expected)


def test_horizon_weights_count_the_pulls_left() -> None:
    assert torch.allclose(rl2.horizon_weights(4, 1.0), torch.tensor([1.0, 0.75, 0.5, 0.25]))
    w = rl2.horizon_weights(3, 0.5)
    assert torch.allclose(w, torch.tensor([1.75, 1.5, 1.0]) / 3)


def test_ppo_loss_gradient_at_ratio_one_is_the_actor_critic_gradient() -> None:
    torch.manual_seed(0)
    logits = torch.randn(7, 3, requires_grad=True)
    actions = torch.randint(3, (7,))
    advantages = torch.randn(7)
    old = torch.log_softmax(logits, -1).gather(-1, actions.unsqueeze(-1)).squeeze(-1).detach()
    zeros = torch.zeros(7)
    loss = rl2.ppo_loss(
        logits, zeros, actions, old, advantages, zeros, clip=0.2, value_coef=0, entropy_coef=0
    )
    (grad,) = torch.autograd.grad(loss.total, logits)
    a2c = -(advantages * torch.log_softmax(logits, -1).gather(-1, actions[:, None])[:, 0]).mean()
    (expected,) = torch.autograd.grad(a2c, logits)
    assert torch.allclose(grad, expected, atol=1e-7)


def test_ppo_loss_clips_the_ratio() -> None:
    logits = torch.log(torch.tensor([[0.9, 0.1]]))
    old = torch.log(torch.tensor([0.5]))
    loss = rl2.ppo_loss(
        logits,
        torch.zeros(1),
        torch.tensor([0]),
        old,
        torch.tensor([1.0]),
        torch.zeros(1),
        clip=0.2,
        value_coef=0.0,
        entropy_coef=0.0,
    )
    assert loss.policy.item() == pytest.approx(-1.2)


def test_linear_schedule() -> None:
    assert rl2.linear_schedule(1.0, 0.0, 0, 10, 0.5) == 1.0
    assert rl2.linear_schedule(1.0, 0.0, 2, 10, 0.5) == pytest.approx(0.6)
    assert rl2.linear_schedule(1.0, 0.0, 7, 10, 0.5) == 0.0
    assert rl2.linear_schedule(1.0, 0.5, 3, 10, 0.0) == 0.5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("arms", 1),
        ("pulls", 0),
        ("hidden", 0),
        ("batch", -1),
        ("updates", -1),
        ("lr", 0.0),
        ("lr_end", 1.5),
        ("gamma", 0.0),
        ("gae_lambda", 1.1),
        ("entropy_coef", -0.1),
        ("entropy_anneal", 2.0),
        ("value_coef", -1.0),
        ("max_grad_norm", 0.0),
        ("epochs", 0),
        ("minibatches", 0),
        ("clip", 0.0),
        ("seed", -1),
        ("pulls", 2.5),
        ("task_critic", 1),
    ],
)
def test_config_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        rl2.RL2Config(**{field: value})


def test_config_rejects_more_minibatches_than_bandits() -> None:
    with pytest.raises(ValueError, match="minibatches"):
        rl2.RL2Config(batch=4, minibatches=5)


def test_evaluate_checks_the_means_shape() -> None:
    with pytest.raises(ValueError, match="means"):
        rl2.evaluate(_model(arms=3), np.zeros((4, 5)), np.random.default_rng(0), 5)


SMALL = rl2.RL2Config(arms=3, pulls=10, hidden=16, batch=32, updates=4, minibatches=2)


def test_training_repeats_bit_for_bit_and_a_prefix_is_the_start_of_the_run() -> None:
    a = rl2.train_rl2(SMALL)
    b = rl2.train_rl2(SMALL)
    assert a.history.episode_returns == b.history.episode_returns
    assert a.history.losses == b.history.losses
    for pa, pb in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(pa, pb)
    prefix = rl2.train_rl2(SMALL, stop_after=2)
    assert prefix.history.episode_returns == a.history.episode_returns[:2]
    assert a.history.episode_steps == [320, 640, 960, 1280]
    assert a.history.config == dataclasses.asdict(SMALL)


def test_divergence_raises() -> None:
    with pytest.raises(TrainingDivergedError, match="step 0"):
        rl2.train_rl2(dataclasses.replace(SMALL, value_coef=math.inf))


def test_a_short_run_learns_to_beat_random_play() -> None:
    """60 updates on 10-pull, 2-armed bandits: well above the 5.0 of random pulls."""
    config = rl2.RL2Config(arms=2, pulls=10, hidden=32, batch=128, updates=60)
    model = rl2.train_rl2(config).model
    means = test_tasks(2000, 2).means
    totals = rl2.evaluate(model, means, np.random.default_rng(0), 10).rewards.sum(axis=1)
    random_totals = bandits.play("random", means, 10, np.random.default_rng(0)).totals
    assert totals.mean() > random_totals.mean() + 0.8


def test_episode_trace_shapes_and_agreement_with_evaluate() -> None:
    model = _model(arms=3, hidden=8)
    means = np.array([0.2, 0.5, 0.9])
    trace = rl2.episode_trace(model, means, np.random.default_rng(4), 15)
    assert trace.actions.shape == (15,) and trace.hidden.shape == (15, 8)
    assert trace.probs.shape == (15, 3) and np.allclose(trace.probs.sum(1), 1, atol=1e-6)
    play = rl2.evaluate(model, means[None], np.random.default_rng(4), 15)
    assert np.array_equal(trace.actions, play.actions[0])
    assert np.array_equal(trace.rewards, play.rewards[0])


def test_task_critic_sees_the_means_but_the_policy_does_not() -> None:
    model = rl2.GRUPolicy(3, 8, torch.Generator().manual_seed(0), task_critic=True)
    inputs = rl2.draw(4, 3, 6, torch.Generator().manual_seed(1)).rewards  # any (T, B, 3) data
    inputs = torch.cat([inputs, torch.ones(6, 4, 2)], dim=-1)
    low, high = torch.full((4, 3), 0.1), torch.full((4, 3), 0.9)
    logits_low, values_low, _ = model(inputs, None, low)
    logits_high, values_high, _ = model(inputs, None, high)
    assert torch.equal(logits_low, logits_high)
    assert not torch.allclose(values_low, values_high)
    with pytest.raises(ValueError, match="means"):
        model(inputs)
