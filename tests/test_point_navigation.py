"""Point navigation (metarl_lite/envs/point_navigation.py): the rules of Finn et al.'s
2D navigation, the fixed task split, and a vector form that steps like the single env."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import metarl_lite as ml
from metarl_lite.envs import point_navigation as pn


def test_check_env_and_make_env() -> None:
    check_env(pn.PointNavigationEnv(goal=(0.3, -0.4)), skip_render_check=True)
    assert pn.NAVIGATION_ID in ml.envs.ENV_IDS
    env = ml.envs.make_env(pn.NAVIGATION_ID)
    assert isinstance(env.unwrapped, pn.PointNavigationEnv)
    obs, info = env.reset(seed=0)
    assert obs.tolist() == [0.0, 0.0] and info == {}
    assert ml.envs.PointNavigationVectorEnv is pn.PointNavigationVectorEnv


def test_the_goal_is_hidden_and_the_start_is_the_origin() -> None:
    near = pn.PointNavigationEnv(goal=(0.5, 0.5))
    far = pn.PointNavigationEnv(goal=(-0.5, -0.5))
    assert near.observation_space.shape == (2,)
    obs_near, _ = near.reset(seed=3)
    obs_far, _ = far.reset(seed=4)
    assert np.array_equal(obs_near, obs_far)
    step_near = near.step(np.array([0.05, 0.05], dtype=np.float32))
    step_far = far.step(np.array([0.05, 0.05], dtype=np.float32))
    assert np.array_equal(step_near[0], step_far[0])  # same position, whatever the goal
    assert step_near[1] > step_far[1]  # only the reward tells them apart


def test_reward_is_minus_the_distance_after_the_move_and_actions_are_clipped() -> None:
    env = pn.PointNavigationEnv(goal=(0.3, 0.0))
    env.reset()
    obs, reward, terminated, truncated, _ = env.step(np.array([1.0, -0.05], dtype=np.float32))
    expected = np.array([0.1, -0.05], dtype=np.float32)
    assert np.array_equal(obs, expected)  # the x velocity was clipped to 0.1
    assert reward == pytest.approx(-np.hypot(0.1 - 0.3, -0.05), rel=1e-6)
    assert not terminated and not truncated


def test_termination_within_the_tolerance_square_and_truncation_at_the_horizon() -> None:
    env = pn.PointNavigationEnv(goal=(0.2, 0.1))
    env.reset()
    assert not env.step(np.array([0.1, 0.1], dtype=np.float32))[2]
    _, reward, terminated, truncated, _ = env.step(np.array([0.095, -0.005], dtype=np.float32))
    assert terminated and not truncated  # 0.005 from the goal in each coordinate
    assert reward == pytest.approx(-np.hypot(0.005, 0.005), abs=1e-6)

    corner = pn.PointNavigationEnv(goal=(0.0, 0.0))
    corner.reset()
    # (0.0099, 0.0099) is inside the square although 0.014 away; (0.0, 0.011) is not.
    assert corner.step(np.array([0.0099, 0.0099], dtype=np.float32))[2]
    corner.reset()
    assert not corner.step(np.array([0.0, 0.011], dtype=np.float32))[2]

    env = pn.PointNavigationEnv(goal=(0.5, 0.5))
    env.reset()
    flags = [env.step(np.zeros(2, dtype=np.float32))[2:4] for _ in range(pn.HORIZON)]
    assert flags[-1] == (False, True)
    assert all(f == (False, False) for f in flags[:-1])
    assert pn.HORIZON == 100


def test_reset_options_change_the_goal() -> None:
    env = pn.PointNavigationEnv()
    assert env.goal.tolist() == list(pn.DEFAULT_GOAL)
    env.reset(options={"goal": (0.1, 0.2)})
    assert np.array_equal(env.goal, np.array([0.1, 0.2], dtype=np.float32))
    env.reset()
    assert np.array_equal(env.goal, np.array([0.1, 0.2], dtype=np.float32))  # kept


@pytest.mark.parametrize(
    ("goal", "message"),
    [
        ((0.6, 0.0), r"goal\[0\]=0.6 is out of range: allowed is \[-0.5, 0.5\]"),
        ((0.0, -0.51), r"goal\[1\]=-0.51 is out of range"),
        ((0.0, float("nan")), r"goal\[1\]=nan is out of range"),
        ((0.1, 0.2, 0.3), r"goal=\(0.1, 0.2, 0.3\) has shape \(3,\): it must have shape \(2,\)"),
        (0.1, r"has shape \(\): it must have shape \(2,\)"),
    ],
)
def test_bad_goals_are_refused_with_their_value(goal: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        pn.PointNavigationEnv(goal=goal)
    env = pn.PointNavigationEnv()
    with pytest.raises(ValueError, match=message):
        env.reset(options={"goal": goal})


def test_bad_actions_tasks_and_sizes_are_refused() -> None:
    env = pn.PointNavigationEnv()
    env.reset()
    with pytest.raises(ValueError, match=r"action=.* must have shape \(2,\)"):
        env.step(np.zeros(3))
    with pytest.raises(ValueError, match="must be finite"):
        env.step(np.array([np.nan, 0.0]))
    vec = pn.PointNavigationVectorEnv(3)
    with pytest.raises(ValueError, match=r"(?s)tasks.goals=.* must have shape \(3, 2\)"):
        vec.reset(options={"tasks": pn.test_tasks(2)})
    with pytest.raises(ValueError, match=r"tasks.goals\[1, 0\]=0.7 is out of range"):
        vec.reset(options={"tasks": pn.NavigationTasks(np.array([[0, 0], [0.7, 0], [0, 0]]))})
    with pytest.raises(ValueError, match="must be a NavigationTasks"):
        vec.reset(options={"tasks": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="num_envs=0"):
        pn.PointNavigationVectorEnv(0)
    with pytest.raises(ValueError, match="n=0"):
        pn.sample_tasks(np.random.default_rng(0), 0)


def test_tasks_lie_in_the_square_and_task_i_builds_the_env() -> None:
    tasks = pn.sample_tasks(np.random.default_rng(0), 1000)
    assert tasks.goals.shape == (1000, 2) and tasks.goals.dtype == np.float32
    assert tasks.goals.min() >= -0.5 and tasks.goals.max() <= 0.5
    assert tasks.goals.min() < -0.49 and tasks.goals.max() > 0.49
    env = pn.PointNavigationEnv(**tasks.task(7))
    assert np.array_equal(env.goal, tasks.goals[7])
    assert np.array_equal(tasks.take([7, 7]).goals, tasks.goals[[7, 7]])


def test_the_split_is_fixed_prefix_stable_and_disjoint_from_training() -> None:
    held_out = pn.test_tasks(100)
    assert np.array_equal(held_out.goals, pn.test_tasks(100).goals)
    assert np.array_equal(pn.test_tasks(10).goals, held_out.goals[:10])
    test_set = {tuple(g) for g in held_out.goals.tolist()}
    for seed in range(5):
        train = pn.sample_tasks(np.random.default_rng(seed), 10_000)
        assert not test_set & {tuple(g) for g in train.goals.tolist()}


def test_sampling_is_deterministic_in_the_generator() -> None:
    a = pn.sample_tasks(np.random.default_rng(5), 20)
    b = pn.sample_tasks(np.random.default_rng(5), 20)
    c = pn.sample_tasks(np.random.default_rng(6), 20)
    assert np.array_equal(a.goals, b.goals) and not np.array_equal(a.goals, c.goals)


def _rollout_single(goals: np.ndarray, actions: np.ndarray) -> tuple[np.ndarray, ...]:
    """Gymnasium's own SyncVectorEnv of single envs, for reference (next-step autoreset)."""
    envs = gym.vector.SyncVectorEnv(
        [lambda g=g: pn.PointNavigationEnv(goal=g) for g in goals],
        autoreset_mode=gym.vector.AutoresetMode.NEXT_STEP,
    )
    obs, _ = envs.reset(seed=0)
    out = [[obs], [], [], []]
    for a in actions:
        obs, reward, terminated, truncated, _ = envs.step(a)
        for store, value in zip(out, (obs, reward, terminated, truncated), strict=True):
            store.append(value)
    return tuple(np.stack(x) for x in out)


def test_the_vector_env_steps_exactly_like_single_envs() -> None:
    rng = np.random.default_rng(0)
    tasks = pn.sample_tasks(rng, 6)
    # Two points are steered onto their goals, so termination and autoreset happen.
    tasks = pn.NavigationTasks(np.concatenate([[[0.05, 0.05], [-0.2, 0.1]], tasks.goals[2:]]))
    tasks = pn.NavigationTasks(tasks.goals.astype(np.float32))
    steps = 2 * pn.HORIZON + 7
    actions = rng.uniform(-0.15, 0.15, size=(steps, 6, 2)).astype(np.float32)
    actions[:3, 0] = [0.05, 0.05]
    actions[:2, 1] = [-0.1, 0.05]
    expected = _rollout_single(tasks.goals, actions)

    vec = pn.PointNavigationVectorEnv(6)
    obs, _ = vec.reset(seed=0, options={"tasks": tasks})
    got = [[obs], [], [], []]
    for a in actions:
        obs, reward, terminated, truncated, _ = vec.step(a)
        for store, value in zip(got, (obs, reward, terminated, truncated), strict=True):
            store.append(value)
    got = tuple(np.stack(x) for x in got)
    names = ("obs", "reward", "terminated", "truncated")
    for name, e, g in zip(names, expected, got, strict=True):
        assert e.dtype == g.dtype, name
        assert np.array_equal(e, g), name
    assert got[2][:, 0].any() and got[2][:, 1].any()  # terminations happened
    assert got[3].sum() >= 4  # and truncations


def test_navigation_step_is_the_rule_of_both_envs() -> None:
    positions = np.array([[0.0, 0.0], [0.3, -0.2]], dtype=np.float32)
    actions = np.array([[0.2, -0.02], [0.0, 0.0]], dtype=np.float32)
    goals = np.array([[0.1, 0.0], [0.3, -0.2]], dtype=np.float32)
    new, reward, terminated = pn.navigation_step(positions, actions, goals)
    assert np.array_equal(new, np.array([[0.1, -0.02], [0.3, -0.2]], dtype=np.float32))
    assert reward[1] == 0.0 and reward[0] == pytest.approx(-0.02, rel=1e-5)
    assert terminated.tolist() == [False, True]
