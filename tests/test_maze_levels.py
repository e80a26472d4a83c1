"""Maze levels (metarl_lite/envs/maze_levels.py): level generation, the fixed held-out
split, the dark-room observation and the rewards."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import metarl_lite as ml
from metarl_lite.envs import maze_levels as mz

OPEN = np.zeros((5, 5), dtype=bool)
FIVE = {"size": 5}


def test_check_env_and_gym_make() -> None:
    check_env(mz.MazeLevelsEnv(), skip_render_check=True)
    env = gym.make(mz.MAZE_LEVELS_ID)
    assert isinstance(env.unwrapped, mz.MazeLevelsEnv)
    assert ml.envs.MazeLevelsEnv is mz.MazeLevelsEnv
    obs, info = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert info["steps"] == 0


def test_levels_are_connected_and_start_differs_from_goal() -> None:
    tasks = mz.sample_tasks(np.random.default_rng(0), 300, 5)
    assert tasks.walls.shape == (300, 5, 5) and tasks.start.shape == tasks.goal.shape == (300, 2)
    assert tasks.size == 5 and tasks.n == 300
    for i in range(tasks.n):
        walls, start, goal = tasks.walls[i], tuple(tasks.start[i]), tuple(tasks.goal[i])
        dist = mz.distances(walls, start)
        assert not walls[start] and not walls[goal] and start != goal
        assert (dist[~walls] >= 0).all()  # every free cell can be reached
        assert (~walls).sum() >= 5
    steps = mz.shortest_steps(tasks)
    assert steps.min() >= 1 and 3.0 < steps.mean() < 5.0
    assert 0.1 < tasks.walls.mean() < 0.25  # density 0.2, less after rejecting sealed rooms


def test_sampling_is_prefix_stable_and_the_test_split_is_fixed() -> None:
    long = mz.sample_tasks(np.random.default_rng(7), 20)
    short = mz.sample_tasks(np.random.default_rng(7), 5)
    for a, b in zip(long, short, strict=True):
        assert np.array_equal(a[:5], b)
    test_a, test_b = mz.test_tasks(30), mz.test_tasks(10)
    assert test_b.size == mz.DEFAULT_SIZE == 4
    for a, b in zip(test_a, test_b, strict=True):
        assert np.array_equal(a[:10], b)
    assert not np.array_equal(mz.test_tasks(10, 5).walls[:, :4, :4], test_b.walls)
    assert not np.array_equal(mz.test_tasks(10, 4, 0.3).walls, test_b.walls)


def test_held_out_levels_are_never_training_levels() -> None:
    test = mz.test_tasks(200)
    keys = {mz.level_key(*(a[i] for a in test)) for i in range(test.n)}
    assert all(mz.is_held_out(*(a[i] for a in test)) for i in range(test.n))
    train = mz.sample_tasks(np.random.default_rng(0), 3000)
    train_keys = [mz.level_key(*(a[i] for a in train)) for i in range(train.n)]
    assert not keys & set(train_keys)
    assert len(set(train_keys)) < train.n  # small levels do repeat within training


def test_observation_is_the_cell_and_its_walls_never_the_goal() -> None:
    walls = OPEN.copy()
    walls[1, 0] = True
    near = mz.MazeLevelsEnv(walls, (0, 0), (0, 1), **FIVE)
    far = mz.MazeLevelsEnv(walls, (0, 0), (4, 4), **FIVE)
    obs_near, _ = near.reset()
    obs_far, _ = far.reset()
    assert obs_near.tolist() == obs_far.tolist() == [0, 0, 1, 0, 1, 1]  # up, down, left blocked
    _, r_near, term_near, _, _ = near.step(1)
    obs, r_far, term_far, trunc, _ = far.step(1)
    assert obs.tolist() == [0, 1, 1, 0, 0, 0]
    assert (r_near, term_near) == (10.0, True) and (r_far, term_far, trunc) == (-1.0, False, False)


def test_walls_block_and_episodes_are_cut_off() -> None:
    walls = OPEN.copy()
    walls[0, 1] = True
    env = mz.MazeLevelsEnv(walls, (0, 0), (4, 4), max_steps=3, **FIVE)
    env.reset()
    flags = []
    for a in (1, 0, 3):  # into a wall, off the map twice: the agent stays put
        obs, r, term, trunc, _ = env.step(a)
        assert obs[:2].tolist() == [0, 0] and r == -1.0
        flags.append((term, trunc))
    assert flags == [(False, False), (False, False), (False, True)]


def test_reset_options_switch_level_and_bad_levels_raise() -> None:
    tasks = mz.test_tasks(3)
    env = mz.MazeLevelsEnv(**tasks.task(0))
    obs, _ = env.reset(options=tasks.task(2))
    assert obs[:2].tolist() == tasks.start[2].tolist()
    assert np.array_equal(env.walls, tasks.walls[2])
    with pytest.raises(ValueError, match="together"):
        env.reset(options={"goal": (0, 0)})
    with pytest.raises(ValueError, match="start"):
        mz.MazeLevelsEnv(OPEN, (5, 0), (1, 1), **FIVE)
    with pytest.raises(ValueError, match="differ"):
        mz.MazeLevelsEnv(OPEN, (1, 1), (1, 1), **FIVE)
    sealed = OPEN.copy()
    sealed[3, :] = True
    with pytest.raises(ValueError, match="cannot be reached"):
        mz.MazeLevelsEnv(sealed, (0, 0), (4, 4), **FIVE)
    with pytest.raises(ValueError, match="side"):
        mz.MazeLevelsEnv(np.zeros((4, 4), dtype=bool), (0, 0), (1, 1), **FIVE)
    with pytest.raises(ValueError, match="action"):
        env.step(4)
    with pytest.raises(ValueError, match="wall_density"):
        mz.sample_tasks(np.random.default_rng(0), 3, wall_density=0.6)
    with pytest.raises(ValueError, match="rng"):
        mz.sample_tasks(0, 3)  # type: ignore[arg-type]


def test_render_draws_walls_start_goal_and_agent() -> None:
    walls = OPEN.copy()
    walls[2, 2] = True
    env = mz.MazeLevelsEnv(walls, (0, 0), (4, 4), render_mode="ansi", **FIVE)
    env.reset()
    env.step(2)
    picture = env.render()
    assert picture.splitlines()[0] == "S . . . ."
    assert picture.splitlines()[1] == "A . . . ."
    assert picture.splitlines()[2] == ". . # . ."
    assert picture.splitlines()[4] == ". . . . G"
