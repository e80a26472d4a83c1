"""RL^2 on maze levels (metarl_lite/level_rl2.py): the inputs, the batched levels agree
with the Gymnasium env, the memoryless policy ignores history, training is
deterministic, and the Q-learning baseline learns each level."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from metarl_lite import level_rl2 as lr
from metarl_lite.envs import maze_levels as mz
from metarl_lite.seeding import torch_generator

SMALL = lr.LevelRL2Config(size=4, episodes=3, max_steps=10, hidden=16, batch=8, updates=3)


def test_encode_layout() -> None:
    x = lr.encode(
        torch.tensor([0, 5]),
        torch.tensor([[1, 0, 0, 1], [0, 0, 0, 0]]),
        torch.tensor([-1, 2]),
        torch.tensor([0.0, 10.0]),
        torch.tensor([0.0, 1.0]),
        size=4,
    )
    assert x.shape == (2, lr.input_size(4)) == (2, 16 + 4 + 4 + 2)
    assert x[0].tolist() == [1.0] + [0.0] * 15 + [1, 0, 0, 1] + [0, 0, 0, 0] + [0.0, 0.0]
    assert x[1, 5] == 1 and x[1, 20:24].tolist() == [0, 0, 1, 0]
    assert x[1, -2:].tolist() == [1.0, 1.0]  # reward / 10, episode ended


def _play_in_env(tasks: mz.LevelTasks, i: int, actions: list[int], max_steps: int) -> list:
    env = mz.MazeLevelsEnv(**tasks.task(i), size=tasks.size, max_steps=max_steps)
    env.reset()
    out = []
    for a in actions:
        obs, r, term, trunc, _ = env.step(a)
        out.append((int(obs[0] * tasks.size + obs[1]), r))
        if term or trunc:
            env.reset()
    return out


def test_batched_levels_follow_the_env_rules() -> None:
    tasks = mz.sample_tasks(np.random.default_rng(3), 6, 4)
    model = lr.policy_for(SMALL, torch_generator(0))
    uniforms = torch.rand(30, 6, generator=torch_generator(1))
    trial = lr.rollout(model, lr.Levels.from_tasks(tasks), 3, 10, uniforms)
    for i in range(6):
        live = trial.alive[:, i]
        actions = trial.actions[live, i].tolist()
        expected = _play_in_env(tasks, i, actions, 10)
        got = list(
            zip(trial.cells[live, i].tolist(), trial.rewards[live, i].tolist(), strict=True)
        )
        assert got == expected
        steps, returns = trial.episode_steps[i], trial.episode_returns[i]
        assert int(steps.sum()) == int(live.sum())
        for k in range(3):
            if trial.reached[i, k]:
                assert returns[k] == 11 - steps[k]
            else:
                assert steps[k] == 10 and returns[k] == -10


def test_memoryless_policy_ignores_everything_but_the_observation() -> None:
    model = lr.policy_for(dataclasses_replace(SMALL, memory=False), torch_generator(0))
    x = torch.zeros(1, lr.input_size(4))
    x[0, 3] = 1.0
    y = x.clone()
    y[0, -6:] = torch.tensor([0.0, 1.0, 0.0, 0.0, -0.1, 1.0])
    logits_x, _ = model.step(x, model.initial_state(1))
    logits_y, _ = model.step(y, torch.randn(1, 16))
    assert torch.equal(logits_x, logits_y)
    gru = lr.policy_for(SMALL, torch_generator(0))
    assert not torch.equal(
        gru.step(x, gru.initial_state(1))[0], gru.step(y, gru.initial_state(1))[0]
    )


def dataclasses_replace(config: lr.LevelRL2Config, **changes: object) -> lr.LevelRL2Config:
    import dataclasses

    return dataclasses.replace(config, **changes)


@pytest.mark.parametrize("memory", [True, False])
def test_training_is_deterministic_and_short_runs_are_prefixes(memory: bool) -> None:
    config = dataclasses_replace(SMALL, memory=memory)
    a = lr.train_level_rl2(config)
    b = lr.train_level_rl2(config)
    c = lr.train_level_rl2(config, stop_after=2)
    assert a.history.episode_returns == b.history.episode_returns
    assert a.history.episode_returns[:2] == c.history.episode_returns
    assert len(a.history.losses) == 3 and all(np.isfinite(a.history.losses))
    for p, q in zip(a.model.parameters(), b.model.parameters(), strict=True):
        assert torch.equal(p, q)


def test_evaluate_and_paths() -> None:
    tasks = mz.sample_tasks(np.random.default_rng(5), 4, 4)
    model = lr.policy_for(SMALL, torch_generator(0))
    stats = lr.evaluate(model, tasks, 3, 10, seed=2)
    assert stats.steps.shape == stats.returns.shape == stats.reached.shape == (4, 3)
    again = lr.evaluate(model, tasks, 3, 10, seed=2)
    assert np.array_equal(stats.steps, again.steps)
    paths = lr.trial_paths(model, tasks, 1, 3, 10, seed=2)
    assert len(paths) == 3
    for path in paths:
        assert path[0] == tuple(tasks.start[1])
        for (r0, c0), (r1, c1) in itertools.pairwise(path):
            assert abs(r0 - r1) + abs(c0 - c1) <= 1
    with pytest.raises(ValueError, match="size"):
        lr.evaluate(model, mz.test_tasks(2, 5), 3, 10, seed=0)


def test_q_learning_baseline_learns_each_level_and_repeats() -> None:
    tasks = mz.test_tasks(20, 4)
    config = lr.QBaselineConfig(alpha=1.0, gamma=1.0, epsilon=0.0, q_init=0.0, max_steps=16)
    stats = lr.q_learning_trials(tasks, 30, config, seed=0)
    again = lr.q_learning_trials(tasks, 30, config, seed=0)
    assert np.array_equal(stats.steps, again.steps)
    shortest = mz.shortest_steps(tasks)
    assert stats.steps[:, 0].mean() > 2 * shortest.mean()  # the first episode searches
    assert np.array_equal(stats.steps[:, -1], shortest)  # after 30 it takes the shortest path
    assert np.all(stats.returns[stats.reached] == 11 - stats.steps[stats.reached])


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="size"):
        lr.LevelRL2Config(size=2)
    with pytest.raises(ValueError, match="memory"):
        lr.LevelRL2Config(memory=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="minibatches"):
        lr.LevelRL2Config(batch=4, minibatches=8)
    with pytest.raises(ValueError, match="alpha"):
        lr.QBaselineConfig(alpha=0.0)
