"""Bernoulli bandits: the env, its vector form, the task split and argument checks."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import metarl_lite as ml
from metarl_lite.envs import bernoulli_bandit as bb
from metarl_lite.envs.bernoulli_bandit import (
    BANDIT_ID,
    BanditTasks,
    BernoulliBanditEnv,
    BernoulliBanditVectorEnv,
)


def test_check_env_passes() -> None:
    check_env(BernoulliBanditEnv(), skip_render_check=True)
    check_env(BernoulliBanditEnv((0.0, 1.0, 0.5), n_pulls=1), skip_render_check=True)


def test_make_env_by_id_and_public_names() -> None:
    assert BANDIT_ID in ml.envs.ENV_IDS
    assert bb.ENV_IDS == (BANDIT_ID,)
    env = ml.envs.make_env(BANDIT_ID, means=(0.2, 0.8), n_pulls=3)
    assert isinstance(env.unwrapped, BernoulliBanditEnv)
    assert env.action_space == gym.spaces.Discrete(2)
    assert env.observation_space == gym.spaces.Discrete(1)
    assert ml.envs.BernoulliBanditVectorEnv is BernoulliBanditVectorEnv
    assert ml.envs.BanditTasks is BanditTasks


def test_episode_terminates_after_n_pulls() -> None:
    env = BernoulliBanditEnv((0.3, 0.6), n_pulls=4)
    obs, info = env.reset(seed=0)
    assert obs == 0 and info == {"pulls": 0}
    for t in range(1, 5):
        obs, reward, terminated, truncated, info = env.step(t % 2)
        assert obs == 0 and reward in (0.0, 1.0) and info["pulls"] == t
        assert terminated == (t == 4) and truncated is False
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)


def test_rewards_follow_the_uniform_table() -> None:
    """Pull t of arm a pays 1 exactly when u[t, a] < means[a], u drawn at reset."""
    means = np.array([0.25, 0.5, 0.9])
    env = BernoulliBanditEnv(means, n_pulls=50)
    env.reset(seed=7)
    u = np.random.default_rng(7).random((50, 3))
    arms = np.random.default_rng(1).integers(0, 3, size=50)
    got = [env.step(int(a))[1] for a in arms]
    np.testing.assert_array_equal(got, (u[np.arange(50), arms] < means[arms]).astype(float))


def test_certain_arms_and_reward_rate() -> None:
    env = BernoulliBanditEnv((0.0, 1.0, 0.3), n_pulls=20_000)
    env.reset(seed=3)
    assert env.step(0)[1] == 0.0 and env.step(1)[1] == 1.0
    rate = np.mean([env.step(2)[1] for _ in range(19_998)])
    assert abs(rate - 0.3) < 4 * np.sqrt(0.3 * 0.7 / 19_998)


def test_same_seed_same_rewards_and_reset_options() -> None:
    def run(seed: int) -> list[float]:
        env = BernoulliBanditEnv((0.5, 0.5), n_pulls=30)
        env.reset(seed=seed)
        return [env.step(t % 2)[1] for t in range(30)]

    assert run(4) == run(4)
    assert run(4) != run(5)
    env = BernoulliBanditEnv((0.5, 0.5), n_pulls=2)
    env.reset(seed=0, options={"means": (1.0, 0.0)})
    assert env.step(0)[1] == 1.0 and env.step(1)[1] == 0.0
    np.testing.assert_array_equal(env.means, [1.0, 0.0])


def test_render_ansi() -> None:
    env = BernoulliBanditEnv((1.0, 0.0), n_pulls=3, render_mode="ansi")
    env.reset(seed=0)
    env.step(0)
    assert env.render() == "pull 1/3\narm 0: 1/1\narm 1: 0/0\n"
    assert BernoulliBanditEnv().render() is None


# -- the task split


def test_sample_tasks_shape_range_and_determinism() -> None:
    tasks = bb.sample_tasks(np.random.default_rng(0), 500, k=7)
    assert tasks.means.shape == (500, 7) and tasks.n_tasks == 500 and tasks.k == 7
    assert tasks.means.min() >= 0.0 and tasks.means.max() < 1.0
    np.testing.assert_array_equal(
        tasks.means, bb.sample_tasks(np.random.default_rng(0), 500, k=7).means
    )
    assert tasks.task(3)["means"].shape == (7,)
    assert abs(tasks.means.mean() - 0.5) < 0.02


def test_test_tasks_are_fixed_and_prefix_stable() -> None:
    for k in (2, 5, 10):
        big = bb.test_tasks(100, k).means
        np.testing.assert_array_equal(bb.test_tasks(100, k).means, big)
        np.testing.assert_array_equal(bb.test_tasks(10, k).means, big[:10])
    assert not np.array_equal(bb.test_tasks(10, 5).means[:, :2], bb.test_tasks(10, 2).means)
    # The first held-out bandit, written out, so a change of seed or rule is seen.
    np.testing.assert_allclose(
        bb.test_tasks(1, 2).means[0], np.random.default_rng([bb.TEST_SEED, 2]).random(2)
    )


def test_test_tasks_never_occur_among_training_tasks() -> None:
    for k in (2, 5, 10):
        held_out = {tuple(row) for row in bb.test_tasks(1000, k).means}
        for seed in (0, 1, 2, bb.TEST_SEED):
            train = bb.sample_tasks(np.random.default_rng(seed), 5000, k).means
            assert not held_out & {tuple(row) for row in train}


# -- the vector form


def test_vector_env_steps_exactly_like_single_envs() -> None:
    """Against Gymnasium's SyncVectorEnv of single envs: same seeds, same autoreset."""
    tasks = bb.test_tasks(6, 4)
    n_pulls = 5
    vec = BernoulliBanditVectorEnv(6, 4, n_pulls)
    sync = gym.vector.SyncVectorEnv(
        [lambda i=i: BernoulliBanditEnv(tasks.means[i], n_pulls) for i in range(6)]
    )
    obs_v, _ = vec.reset(seed=11, options={"tasks": tasks})
    obs_s, _ = sync.reset(seed=11)
    np.testing.assert_array_equal(obs_v, obs_s)
    assert vec.observation_space.contains(obs_v)
    rng = np.random.default_rng(0)
    for _ in range(3 * (n_pulls + 1)):
        actions = rng.integers(0, 4, size=6)
        out_v = vec.step(actions)
        out_s = sync.step(actions)
        for got, want in zip(out_v[:4], out_s[:4], strict=True):
            np.testing.assert_array_equal(got, want)
        np.testing.assert_array_equal(out_v[4]["pulls"], out_s[4]["pulls"])


def test_vector_env_keeps_tasks_and_autoresets() -> None:
    tasks = BanditTasks(np.array([[1.0, 0.0], [0.0, 1.0]]))
    vec = BernoulliBanditVectorEnv(2, 2, n_pulls=2)
    vec.reset(seed=0, options={"tasks": tasks})
    for _ in range(2):
        _, r, term, trunc, _ = vec.step(np.array([0, 0]))
        np.testing.assert_array_equal(r, [1.0, 0.0])
    assert term.all() and not trunc.any()
    _, r, term, trunc, info = vec.step(np.array([1, 1]))  # the autoreset step
    np.testing.assert_array_equal(r, [0.0, 0.0])
    assert not term.any() and not trunc.any() and (info["pulls"] == 0).all()
    _, r, *_ = vec.step(np.array([1, 1]))  # same tasks after the reset
    np.testing.assert_array_equal(r, [0.0, 1.0])
    vec.reset()  # tasks are kept without options
    np.testing.assert_array_equal(vec.tasks.means, tasks.means)


def test_vector_env_is_deterministic_per_seed() -> None:
    def run(seed: int) -> np.ndarray:
        vec = BernoulliBanditVectorEnv(8, 3, 20)
        vec.reset(seed=seed, options={"tasks": bb.test_tasks(8, 3)})
        return np.array([vec.step(np.full(8, t % 3))[1] for t in range(20)])

    np.testing.assert_array_equal(run(2), run(2))
    assert not np.array_equal(run(2), run(3))


# -- argument checks


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"means": (0.5, 1.5)}, ["means", "1.5", "[0.0, 1.0]"]),
        ({"means": (-0.1, 0.5)}, ["means", "-0.1", "[0.0, 1.0]"]),
        ({"means": (0.5, float("nan"))}, ["means", "nan", "[0.0, 1.0]"]),
        ({"means": (0.5,)}, ["means", "k must be >= 2"]),
        ({"means": [[0.5, 0.5]]}, ["means", "(1, 2)", "(k,)"]),
        ({"n_pulls": 0}, ["n_pulls=0", "positive integer"]),
        ({"n_pulls": 2.5}, ["n_pulls=2.5", "positive integer"]),
        ({"render_mode": "human"}, ["render_mode='human'", "'ansi'"]),
    ],
)
def test_env_rejects_bad_arguments(kwargs: dict, words: list[str]) -> None:
    with pytest.raises(ValueError) as err:
        BernoulliBanditEnv(**kwargs)
    for word in words:
        assert word in str(err.value)


def test_reset_and_step_reject_bad_values() -> None:
    env = BernoulliBanditEnv((0.5, 0.5))
    with pytest.raises(ValueError, match=r"options\['means'\].*k=2"):
        env.reset(options={"means": (0.5, 0.5, 0.5)})
    with pytest.raises(ValueError, match=r"options\['means'\] contains 2.0"):
        env.reset(options={"means": (0.5, 2.0)})
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action=2 .* 0\.\.1"):
        env.step(2)


def test_task_functions_and_vector_env_reject_bad_values() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"k=1 .* k >= 2"):
        bb.sample_tasks(rng, 3, k=1)
    with pytest.raises(ValueError, match="n=0"):
        bb.test_tasks(0)
    with pytest.raises(ValueError, match="k=1"):
        BernoulliBanditVectorEnv(2, k=1)
    with pytest.raises(ValueError, match="num_envs=0"):
        BernoulliBanditVectorEnv(0)
    vec = BernoulliBanditVectorEnv(2, k=3, n_pulls=2)
    with pytest.raises(ValueError, match="first reset"):
        vec.reset(seed=0)
    with pytest.raises(ValueError, match=r"3 tasks: .* num_envs=2"):
        vec.reset(options={"tasks": bb.test_tasks(3, 3)})
    with pytest.raises(ValueError, match=r"shape \(2, 2\).*k=3"):
        vec.reset(options={"tasks": bb.test_tasks(2, 2)})
    vec.reset(seed=0, options={"tasks": bb.test_tasks(2, 3)})
    with pytest.raises(ValueError, match="actions="):
        vec.step(np.array([0, 3]))
    with pytest.raises(ValueError, match="actions="):
        vec.step(np.array([0, 1, 2]))
