"""Tests of metarl_lite.meta_dqn: chapter 2's DQN on many tasks at once, Reptile,
pretraining, and meta-training the LSTM update rule."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from metarl_lite import dqn, learned_opt
from metarl_lite import meta_dqn as md
from metarl_lite.envs import flipped_cartpole, varied_cartpole
from metarl_lite.history import TrainingDivergedError

CARTPOLE = varied_cartpole.VARIED_CARTPOLE_ID
FLIPPED = flipped_cartpole.FLIPPED_CARTPOLE_ID
SHORT = dataclasses.replace(
    md.FINE_TUNE_DQN, total_steps=1_200, eval_every=600, eval_episodes=3, gradient_steps=8
)


def random_batch(gen: torch.Generator, m: int, b: int) -> md.TaskBatch:
    return md.TaskBatch(
        torch.randn(m, b, 4, generator=gen),
        torch.randint(0, 2, (m, b), generator=gen),
        torch.rand(m, b, generator=gen),
        torch.randn(m, b, 4, generator=gen),
        (torch.rand(m, b, generator=gen) < 0.2).float(),
    )


def networks(params: md.Params) -> list[dqn.QNetwork]:
    """The task networks of ``params`` as chapter 2 QNetworks."""
    nets = []
    for i in range(params[0].shape[0]):
        net = dqn.QNetwork(4, 2, (64, 64))
        with torch.no_grad():
            for p, q in zip(net.parameters(), params, strict=True):
                p.copy_(q[i])
        nets.append(net)
    return nets


# ---------------------------------------------------------------------------
# The batched network and loss equal chapter 2's, task by task
# ---------------------------------------------------------------------------


def test_init_params_draws_chapter_2_networks_in_turn() -> None:
    params = md.init_params((64, 64), 3, torch.Generator().manual_seed(5))
    gen = torch.Generator().manual_seed(5)
    for i in range(3):
        net = dqn.QNetwork(4, 2, (64, 64), generator=gen)
        for p, q in zip(net.parameters(), params, strict=True):
            assert torch.equal(p, q[i])


def test_q_values_and_td_losses_equal_chapter_2_per_task() -> None:
    gen = torch.Generator().manual_seed(0)
    params = md.init_params((64, 64), 3, gen)
    target = md.init_params((64, 64), 3, gen)
    batch = random_batch(gen, 3, 32)
    losses = md.td_losses(params, target, batch, 0.99)
    for i, (net, tnet) in enumerate(zip(networks(params), networks(target), strict=True)):
        torch.testing.assert_close(md.q_values(params, batch.obs)[i], net(batch.obs[i]))
        targets = dqn.td_target(
            batch.rewards[i], tnet(batch.next_obs[i]), batch.terminated[i], 0.99
        )
        expected = dqn.dqn_loss(net(batch.obs[i]), batch.actions[i], targets, "huber")
        torch.testing.assert_close(losses[i], expected)


def test_shared_network_broadcasts_over_tasks() -> None:
    gen = torch.Generator().manual_seed(1)
    one = md.init_params((64, 64), 1, gen)
    obs = torch.randn(4, 7, 4, generator=gen)
    torch.testing.assert_close(md.q_values(one, obs), md.q_values(md.repeat_params(one, 4), obs))


def test_gradients_and_clipping_equal_chapter_2_per_task() -> None:
    gen = torch.Generator().manual_seed(2)
    params = [p.requires_grad_(True) for p in md.init_params((64, 64), 2, gen)]
    target = [p.detach().clone() for p in params]
    batch = random_batch(gen, 2, 64)
    batch = batch._replace(rewards=batch.rewards * 50)  # large errors, so clipping acts
    _, grads = md.gradient_step(params, target, batch, dataclasses.replace(SHORT), 1)
    for i, net in enumerate(networks([p.detach() for p in params])):
        tnet = networks(target)[i]
        targets = dqn.td_target(
            batch.rewards[i], tnet(batch.next_obs[i]), batch.terminated[i], 0.99
        )
        dqn.dqn_loss(net(batch.obs[i]), batch.actions[i], targets, "huber").backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), SHORT.max_grad_norm)
        for p, g in zip(net.parameters(), grads, strict=True):
            torch.testing.assert_close(p.grad, g[i])


def test_one_adam_over_stacked_weights_is_one_adam_per_task() -> None:
    gen = torch.Generator().manual_seed(3)
    stacked = [p.requires_grad_(True) for p in md.init_params((64, 64), 2, gen)]
    singles = [[p[i].detach().clone().requires_grad_(True) for p in stacked] for i in range(2)]
    adam = torch.optim.Adam(stacked, lr=1e-2)
    adams = [torch.optim.Adam(s, lr=1e-2) for s in singles]
    for _ in range(3):
        grads = [torch.randn(p.shape, generator=gen) for p in stacked]
        for p, g in zip(stacked, grads, strict=True):
            p.grad = g
        adam.step()
        for i, (single, opt) in enumerate(zip(singles, adams, strict=True)):
            for p, g in zip(single, grads, strict=True):
                p.grad = g[i].clone()
            opt.step()
    for i, single in enumerate(singles):
        for p, q in zip(single, stacked, strict=True):
            torch.testing.assert_close(p, q[i])


# ---------------------------------------------------------------------------
# Replay memories, acting and evaluation
# ---------------------------------------------------------------------------


def test_replay_keeps_tasks_apart_and_samples_what_it_stored() -> None:
    replay = md.TaskReplay(2, capacity=3)
    for t in range(5):
        obs = np.full((2, 4), t, dtype=np.float32) + np.array([[0.0], [100.0]], dtype=np.float32)
        rows = np.array([0]) if t == 4 else np.array([0, 1])  # task 1 skips the last step
        replay.add(rows, obs, np.zeros(2, dtype=np.int64), np.ones(2), obs, np.zeros(2, bool))
    assert replay.size.tolist() == [3, 3]
    batch = replay.sample(200, torch.Generator().manual_seed(0))
    assert set(batch.obs[0, :, 0].tolist()) == {2.0, 3.0, 4.0}  # the last 3 of task 0
    assert set(batch.obs[1, :, 0].tolist()) == {101.0, 102.0, 103.0}


def test_actor_does_not_store_the_reset_step() -> None:
    tasks = varied_cartpole.CartPoleTasks.default(3)
    actor = md.Actor(CARTPOLE, tasks, dataclasses.replace(SHORT, epsilon_start=1.0), seed=0)
    params = md.init_params((64, 64), 3, torch.Generator().manual_seed(0))
    for _ in range(300):
        actor.step(params)
    episodes = np.array([len(r) for r in actor.episode_returns])
    # Every finished episode but the last costs one reset step, which is not stored.
    assert (episodes > 3).all()
    assert (actor.replay.size >= 300 - episodes).all()
    assert (actor.replay.size <= 300 - episodes + 1).all()
    lengths = [sum(r) for r in actor.episode_returns]  # reward 1 per stored step
    assert all(n <= s for n, s in zip(lengths, actor.replay.size, strict=True))


def linear_controller() -> md.Params:
    """A linear Q-function whose greedy policy pushes toward the pole's fall."""
    weight = torch.tensor([[-1.0, -2.0, -10.0, -3.0], [1.0, 2.0, 10.0, 3.0]]).unsqueeze(0)
    return [weight, torch.zeros(1, 2)]


def test_evaluate_tasks_with_a_known_controller() -> None:
    tasks = flipped_cartpole.test_tasks(4)  # tasks 1 and 3 are flipped
    returns = md.evaluate_tasks(linear_controller(), FLIPPED, tasks, episodes=3, seed=0)
    assert returns.shape == (4, 3)
    assert (returns[[0, 2]] == 500).all()
    assert (returns[[1, 3]] < 50).all()
    same = md.evaluate_tasks(linear_controller(), FLIPPED, tasks, episodes=3, seed=0)
    np.testing.assert_array_equal(returns, same)


def test_task_helpers_handle_nested_task_batches() -> None:
    tasks = flipped_cartpole.test_tasks(4)
    picked = md.select_tasks(tasks, slice(2, None))
    assert picked.flipped.tolist() == [False, True]
    np.testing.assert_array_equal(picked.physics.gravity, tasks.physics.gravity[2:])
    repeated = md.repeat_tasks(tasks, 2)
    assert repeated.flipped.tolist() == [False, False, True, True, False, False, True, True]
    assert md.n_tasks(repeated) == 8


# ---------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------


def test_train_dqn_tasks_is_deterministic_and_learns() -> None:
    tasks = varied_cartpole.CartPoleTasks.default(2)
    config = dataclasses.replace(
        md.CHAPTER_DQN, total_steps=4_000, eval_every=4_000, eval_episodes=5
    )
    a = md.train_dqn_tasks(CARTPOLE, tasks, config)
    b = md.train_dqn_tasks(CARTPOLE, tasks, config)
    np.testing.assert_array_equal(a.eval_returns, b.eval_returns)
    for p, q in zip(a.params, b.params, strict=True):
        assert torch.equal(p, q)
    assert a.eval_steps.tolist() == [0, 4_000]
    assert (a.eval_returns[1] > 2 * a.eval_returns[0]).all()


def test_train_dqn_tasks_with_a_rule_and_a_start() -> None:
    rule = learned_opt.LSTMRule(
        learned_opt.LSTMRuleConfig(layers=1, output_scale=0.01),
        generator=torch.Generator().manual_seed(0),
    )
    start = md.init_params((64, 64), 1, torch.Generator().manual_seed(1))
    seen = []
    run = md.train_dqn_tasks(
        FLIPPED,
        flipped_cartpole.test_tasks(2),
        SHORT,
        init=start,
        rule=rule,
        on_update=lambda g, before, after: seen.append((g, before, after)),
    )
    assert len(seen) == 3 * SHORT.gradient_steps  # rounds at steps 512, 768 and 1024
    # Evaluated before any update: both tasks start from the same network.
    first = md.evaluate_tasks(
        start, FLIPPED, flipped_cartpole.test_tasks(2), 3, SHORT.seed + dqn.EVAL_SEED_OFFSET
    )
    np.testing.assert_array_equal(run.eval_returns[0], first.mean(axis=1))
    grads, before, after = seen[0]
    flat = torch.cat([g.reshape(-1) for g in grads])
    update, _ = rule(flat, rule.initial_state(flat.numel()))
    torch.testing.assert_close(
        torch.cat([(a - b).reshape(-1) for a, b in zip(after, before, strict=True)]), update
    )


def test_divergence_is_reported() -> None:
    tasks = varied_cartpole.CartPoleTasks.default(1)
    config = dataclasses.replace(SHORT, learning_rate=1e30, max_grad_norm=None, gamma=1.0)
    with pytest.raises(TrainingDivergedError, match="TD loss"):
        md.train_dqn_tasks(CARTPOLE, tasks, dataclasses.replace(config, total_steps=20_000))


INIT = md.InitConfig(iterations=2, meta_batch=2, inner_steps=600, dqn=SHORT, eval_tasks=2)


def test_reptile_step_size_interpolates_between_start_and_mean() -> None:
    # One iteration: the inner runs do not depend on meta_lr, so the start moves
    # meta_lr of the way from the initial weights to the mean adapted weights.
    one = dataclasses.replace(INIT, iterations=1)
    full = md.train_reptile(dataclasses.replace(one, meta_lr=1.0))
    half = md.train_reptile(dataclasses.replace(one, meta_lr=0.5))
    theta0 = md.init_params(SHORT.hidden, 1, torch.Generator().manual_seed(one.seed))
    for f, h, t in zip(full.init, half.init, theta0, strict=True):
        torch.testing.assert_close(h, (f + t) / 2)
    assert not torch.equal(full.init[0], theta0[0])


def test_init_training_is_deterministic_and_prefix_stable() -> None:
    for train in (md.train_reptile, md.train_pretrained):
        a = train(INIT)
        b = train(INIT)
        assert a.returns == b.returns
        for p, q in zip(a.init, b.init, strict=True):
            assert torch.equal(p, q)
        short = train(dataclasses.replace(INIT, iterations=1))
        assert short.returns == a.returns[:1]
        assert a.env_steps == [2 * 600, 2 * 2 * 600]
        assert a.best_iteration == int(np.argmax(a.returns))


RULE = md.RuleConfig(
    rule=learned_opt.LSTMRuleConfig(layers=1, output_scale=0.01),
    meta_batch=2,
    lives=1,
    life_steps=800,
    unroll=4,
    dqn=dataclasses.replace(md.CHAPTER_DQN, learning_starts=256, gradient_steps=8),
)


def test_rule_meta_training_is_deterministic_prefix_stable_and_round_trips(tmp_path) -> None:
    a = md.train_update_rule(RULE)
    b = md.train_update_rule(RULE)
    assert a.meta_losses == b.meta_losses
    assert len(a.meta_losses) == 2 * 2  # rounds at steps 512 and 768, of 2 unrolls of 4
    assert all(np.isfinite(a.meta_losses))
    short = md.train_update_rule(dataclasses.replace(RULE, life_steps=600))
    assert short.meta_losses == a.meta_losses[:2]
    path = tmp_path / "rule.pt"
    learned_opt.save_rule(a.rule, path)
    loaded = learned_opt.load_rule(path)
    for p, q in zip(a.rule.parameters(), loaded.parameters(), strict=True):
        assert torch.equal(p, q)
    other = md.train_update_rule(dataclasses.replace(RULE, seed=1))
    assert other.meta_losses != a.meta_losses


# ---------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: md.check_family("CartPole-v1"), r"env_id='CartPole-v1'"),
        (lambda: md.InitConfig(meta_lr=0.0), r"meta_lr=0\.0"),
        (lambda: md.InitConfig(inner_steps=100), r"dqn\.learning_starts=256 .*inner_steps=100"),
        (lambda: md.InitConfig(meta_batch=0), r"meta_batch=0"),
        (lambda: md.RuleConfig(unroll=0), r"unroll=0"),
        (lambda: md.RuleConfig(env_id="x"), r"env_id='x'"),
        (
            lambda: md.repeat_params(md.init_params((4,), 2, torch.Generator()), 3),
            r"task axis of size 2",
        ),
        (
            lambda: md.evaluate_tasks(
                linear_controller(), CARTPOLE, varied_cartpole.CartPoleTasks.default(1), 0, 0
            ),
            r"episodes=0",
        ),
    ],
)
def test_bad_input_names_the_argument(make, match) -> None:
    with pytest.raises(ValueError, match=match):
        make()
