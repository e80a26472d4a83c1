"""Pendulum with varied mass and length: Gymnasium's checker, equality with Pendulum-v1 on
the default task, the direction of each constant's effect, the fixed split, and the
argument checks. (That every corner of the sampling box can be swung up is checked in
tests/test_model_based.py, with the planner.)"""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from metarl_lite import envs
from metarl_lite.envs import varied_pendulum as vpend
from metarl_lite.envs.varied_pendulum import (
    PENDULUM_DEFAULTS,
    PENDULUM_LIMITS,
    PENDULUM_SAMPLING,
    VARIED_PENDULUM_ID,
    PendulumTasks,
    VariedPendulumEnv,
    sample_tasks,
)


def _play(env: gym.Env, actions: np.ndarray, seed: int) -> np.ndarray:
    """Observations and rewards of one run of ``actions``, shape (len(actions), 4)."""
    env.reset(seed=seed)
    rows = []
    for u in actions:
        obs, reward, terminated, _truncated, _ = env.step(np.array([u], dtype=np.float32))
        assert not terminated
        rows.append([*obs, reward])
    return np.array(rows)


# Pendulum-v1's torque box is [-2, 2]: the checker warns, as for Gymnasium's own Pendulum.
@pytest.mark.filterwarnings("ignore:.*symmetric and normalized")
@pytest.mark.parametrize("task", [PENDULUM_DEFAULTS, {"m": 0.5, "l": 2.0}, {"m": 2.0, "l": 0.5}])
def test_check_env(task: dict[str, float]) -> None:
    check_env(VariedPendulumEnv(**task), skip_render_check=True)


def test_registered_and_exported() -> None:
    assert VARIED_PENDULUM_ID in gym.registry
    assert envs.VariedPendulumEnv is VariedPendulumEnv
    env = gym.make(VARIED_PENDULUM_ID, m=1.5)
    assert env.spec.max_episode_steps == 200
    assert env.unwrapped.task == {"m": 1.5, "l": 1.0}


def test_default_task_reproduces_pendulum_v1_exactly() -> None:
    actions = np.random.default_rng(0).uniform(-2.5, 2.5, size=200)
    ours = _play(gym.make(VARIED_PENDULUM_ID), actions, seed=3)
    theirs = _play(gym.make("Pendulum-v1"), actions, seed=3)
    np.testing.assert_array_equal(ours, theirs)


def test_truncated_at_200_like_pendulum_v1() -> None:
    env = gym.make(VARIED_PENDULUM_ID, l=0.7)
    env.reset(seed=0)
    for t in range(200):
        *_, terminated, truncated, _ = env.step(np.zeros(1, dtype=np.float32))
        assert not terminated
        assert truncated == (t == 199)


def _speed_after_push(**task: float) -> float:
    env = VariedPendulumEnv(**task)
    env.reset(seed=0, options={"x_init": 0.0, "y_init": 0.0})  # upright (theta = 0), at rest
    obs, *_ = env.step(np.array([2.0], dtype=np.float32))
    return float(obs[2])


def test_lighter_and_shorter_rods_turn_faster_under_the_same_torque() -> None:
    base = _speed_after_push()
    assert _speed_after_push(m=0.5) > base > _speed_after_push(m=2.0)
    assert _speed_after_push(l=0.5) > base > _speed_after_push(l=2.0)
    # thetadot' = 3 / (m l^2) u dt from rest upright: exactly Gymnasium's formula
    assert base == pytest.approx(3.0 * 2.0 * 0.05, rel=1e-6)


def test_reset_options_change_the_task_and_pass_gymnasiums_start_bounds() -> None:
    env = VariedPendulumEnv()
    obs, _ = env.reset(seed=1, options={"m": 0.7, "x_init": 0.1, "y_init": 0.2})
    assert env.task == {"m": 0.7, "l": 1.0}
    assert abs(np.arctan2(obs[1], obs[0])) <= 0.1 and abs(obs[2]) <= 0.2
    env.reset(seed=1, options={"l": 1.3})
    assert env.task == {"m": 0.7, "l": 1.3}
    # options without task keys: the same start as Gymnasium's default bounds
    a, _ = env.reset(seed=5)
    b, _ = env.reset(seed=5, options={"l": 1.3})
    np.testing.assert_array_equal(a, b)


def test_sampled_tasks_are_log_uniform_in_the_box_and_prefix_stable() -> None:
    tasks = sample_tasks(np.random.default_rng(0), 4000)
    for key, (low, high) in PENDULUM_SAMPLING.items():
        values = getattr(tasks, key)
        assert values.shape == (4000,)
        assert low <= values.min() and values.max() <= high
        # log-uniform: the geometric centre splits the draws in half
        assert abs(np.mean(values < np.sqrt(low * high)) - 0.5) < 0.03
    head = sample_tasks(np.random.default_rng(0), 10)
    np.testing.assert_array_equal(head.m, tasks.m[:10])
    np.testing.assert_array_equal(vpend.test_tasks(3).l, vpend.test_tasks(8).l[:3])
    assert tasks.task(0) == {"m": float(tasks.m[0]), "l": float(tasks.l[0])}


def test_training_draws_never_repeat_a_test_task() -> None:
    test = vpend.test_tasks(8)
    train = sample_tasks(np.random.default_rng(123), 1000)
    assert not np.isin(test.m, train.m).any()


def test_default_tasks() -> None:
    tasks = PendulumTasks.default(3)
    np.testing.assert_array_equal(tasks.m, [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="n=0"):
        PendulumTasks.default(0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"m": 0.01}, "m=0.01 is out of range"),
        ({"l": 20.0}, "l=20.0 is out of range"),
        ({"render_mode": "ansi"}, "render_mode='ansi'"),
    ],
)
def test_env_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        VariedPendulumEnv(**kwargs)


def test_bad_reset_options_and_tasks_change_nothing() -> None:
    env = VariedPendulumEnv(m=1.2)
    with pytest.raises(ValueError, match="unknown keys"):
        env.reset(options={"g": 9.8})
    with pytest.raises(ValueError, match=r"l=0\.0 is out of range"):
        env.reset(options={"m": 0.5, "l": 0.0})
    assert env.task == {"m": 1.2, "l": 1.0}
    with pytest.raises(ValueError, match="unknown task parameters"):
        env.set_task(mass=1.0)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((None, 3), "numpy Generator"),
        ((np.random.default_rng(0), 0), "n=0"),
        ((np.random.default_rng(0), 3, {"m": (0.5, 2.0)}), "needs exactly"),
        ((np.random.default_rng(0), 3, {"m": (2.0, 0.5), "l": (0.5, 2.0)}), "low <= high"),
        ((np.random.default_rng(0), 3, {"m": (0.5, 20.0), "l": (0.5, 2.0)}), "out of range"),
    ],
)
def test_sample_tasks_rejects_bad_arguments(args: tuple, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        sample_tasks(*args)


def test_limits_contain_the_sampling_box() -> None:
    for key, (low, high) in PENDULUM_SAMPLING.items():
        assert PENDULUM_LIMITS[key][0] <= low < PENDULUM_DEFAULTS[key] < high
        assert high <= PENDULUM_LIMITS[key][1]
