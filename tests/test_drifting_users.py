"""Drifting users: the catalogue, the click model, the task split, the env and its batch form."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import metarl_lite as ml
from metarl_lite.envs import drifting_users as du
from metarl_lite.envs.drifting_users import DRIFTING_USERS_ID, DriftingUsersEnv, UserTasks


def test_check_env_passes() -> None:
    check_env(DriftingUsersEnv(), skip_render_check=True)
    task = du.test_tasks(3, d=2).task(2)
    check_env(DriftingUsersEnv(**task, n_steps=5), skip_render_check=True)


def test_registered_and_public() -> None:
    assert du.ENV_IDS == (DRIFTING_USERS_ID,)
    env = gym.make(DRIFTING_USERS_ID)
    assert isinstance(env.unwrapped, DriftingUsersEnv)
    assert env.action_space == gym.spaces.Discrete(du.N_ITEMS)
    assert ml.envs.DriftingUsersEnv is DriftingUsersEnv
    assert ml.envs.UserTasks is UserTasks


def test_catalogue_is_fixed_unit_vectors() -> None:
    items = du.catalogue()
    assert items.shape == (du.N_ITEMS, du.N_FEATURES)
    np.testing.assert_allclose(np.linalg.norm(items, axis=1), 1.0)
    np.testing.assert_array_equal(items, du.catalogue())
    assert not np.array_equal(du.catalogue(10, 3)[:, :3], items[:, :3])


def test_click_probabilities_are_the_linear_model() -> None:
    items = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    theta = np.array([[0.6, 0.8]])
    np.testing.assert_allclose(du.click_probabilities(items, theta), [[0.8, 0.9, 0.2]])
    tasks = du.test_tasks(500)
    mu = du.click_probabilities(du.catalogue(), tasks.theta_before)
    assert mu.min() >= 0.0 and mu.max() <= 1.0
    assert abs(mu.mean() - 0.5) < 0.02  # preferences uniform on the sphere


def test_held_out_users_are_fixed_and_prefix_stable() -> None:
    big, small = du.test_tasks(50), du.test_tasks(10)
    for field in UserTasks._fields:
        np.testing.assert_array_equal(getattr(big, field)[:10], getattr(small, field))
    np.testing.assert_allclose(np.linalg.norm(big.theta_before, axis=1), 1.0)
    np.testing.assert_allclose(np.linalg.norm(big.theta_after, axis=1), 1.0)
    low, high = du.SHIFT_RANGE
    assert big.shift_at.min() >= low and big.shift_at.max() <= high
    fixed = du.test_tasks(10, shift_at=50)
    np.testing.assert_array_equal(fixed.theta_after, small.theta_after)
    assert (fixed.shift_at == 50).all()


def test_training_users_differ_from_held_out_and_cover_the_range() -> None:
    train = du.sample_tasks(np.random.default_rng(0), 5000)
    test = du.test_tasks(100)
    distances = np.linalg.norm(train.theta_before[:, None] - test.theta_before[None], axis=-1)
    assert distances.min() > 1e-6
    assert set(np.unique(train.shift_at)) == set(range(du.SHIFT_RANGE[0], du.SHIFT_RANGE[1] + 1))
    again = du.sample_tasks(np.random.default_rng(0), 5000)
    np.testing.assert_array_equal(train.theta_after, again.theta_after)


def test_session_means_switch_at_the_shift() -> None:
    tasks = du.test_tasks(4)._replace(shift_at=np.array([1, 3, 5, 200]))
    items = du.catalogue()
    means = du.session_means(tasks, items, 6)
    assert means.shape == (4, 6, du.N_ITEMS)
    before = du.click_probabilities(items, tasks.theta_before)
    after = du.click_probabilities(items, tasks.theta_after)
    for b, s in enumerate(tasks.shift_at):
        for t in range(6):
            np.testing.assert_array_equal(means[b, t], before[b] if t < s else after[b])


def test_env_steps_follow_the_table_and_shift() -> None:
    task = du.test_tasks(1, shift_at=4).task(0)
    env = DriftingUsersEnv(**task, n_steps=8)
    obs, info = env.reset(seed=5)
    np.testing.assert_array_equal(obs, du.catalogue())
    assert info == {"step": 0}
    u = np.random.default_rng(5).random((8, du.N_ITEMS))
    means = du.session_means(du.test_tasks(1, shift_at=4), du.catalogue(), 8)[0]
    for t in range(8):
        item = (3 * t) % du.N_ITEMS
        _, click, terminated, truncated, info = env.step(item)
        assert click == float(u[t, item] < means[t, item])
        assert info["regret"] == pytest.approx(means[t].max() - means[t, item])
        assert terminated == (t == 7) and truncated is False
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_reset_options_set_a_new_user() -> None:
    env = DriftingUsersEnv(n_steps=3)
    other = du.test_tasks(3).task(2)
    env.reset(seed=0, options=other)
    np.testing.assert_array_equal(env.theta_after, other["theta_after"])
    assert env.shift_at == other["shift_at"]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"theta_before": [1.0, 1.0, 0.0, 0.0]}, "unit vector"),
        ({"theta_after": [1.0, 0.0]}, r"shape \(2,\)"),
        ({"shift_at": 0}, "shift_at=0"),
        ({"n_steps": 0}, "n_steps=0"),
    ],
)
def test_bad_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        DriftingUsersEnv(**kwargs)


def test_bad_options_and_actions_raise() -> None:
    env = DriftingUsersEnv()
    with pytest.raises(ValueError, match="options"):
        env.reset(options={"goal": 1})
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action=10"):
        env.step(10)
    with pytest.raises(ValueError, match="shift_range"):
        du.sample_tasks(np.random.default_rng(0), 3, shift_range=(10, 5))
    with pytest.raises(ValueError, match="n=0"):
        du.test_tasks(0)
