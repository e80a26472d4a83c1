"""CartPole with the actions flipped in half the tasks: a flipped task is the varied
CartPole with swapped actions, Gymnasium's checker, the vector form against single envs,
the fixed split, why one memoryless controller cannot serve both halves, and the
argument checks."""

import gymnasium as gym
import numpy as np
import pytest
from cartpole_checks import assert_steps_like_singles, play
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import TimeLimit

from metarl_lite import envs
from metarl_lite.envs import flipped_cartpole as fc
from metarl_lite.envs import varied_cartpole as vc
from metarl_lite.envs.flipped_cartpole import (
    FLIPPED_CARTPOLE_ID,
    FLIPPED_CARTPOLE_TASK_KEYS,
    FlippedCartPoleEnv,
    FlippedCartPoleTasks,
    FlippedCartPoleVectorEnv,
    sample_tasks,
)
from metarl_lite.envs.varied_cartpole import (
    CARTPOLE_DEFAULTS,
    CARTPOLE_SAMPLING,
    CARTPOLE_TASK_KEYS,
    CartPoleTasks,
    VariedCartPoleEnv,
)

# CartPole's unbounded velocities make the checker warn; that is Gymnasium's own design.
UNBOUNDED_BOX = "ignore:.*Box observation space m"

#: A fixed linear controller (push right when w @ obs > 0), about the LQR gain of the
#: default task scaled down; it balances that task for the full 500 steps.
BALANCING_WEIGHTS = np.array([1.0, 2.0, 10.0, 3.0])


def _rows(tasks: FlippedCartPoleTasks) -> np.ndarray:
    """The tasks as one array of shape (n, 6): the five constants, then the flip."""
    columns = [getattr(tasks.physics, key) for key in CARTPOLE_TASK_KEYS]
    return np.stack([*columns, tasks.flipped], axis=1)


def _balanced_steps(env: gym.Env, weights: np.ndarray, seed: int) -> int:
    """Steps (at most 500) that the controller ``int(weights @ obs > 0)`` keeps the pole up."""
    obs, _ = env.reset(seed=seed)
    for t in range(1, 501):
        obs, _, terminated, _, _ = env.step(int(weights @ obs > 0))
        if terminated:
            return t
    return 500


# -- a flipped task is the varied CartPole with swapped actions


@pytest.mark.parametrize("i", range(4))
def test_flipped_task_is_the_varied_task_with_swapped_actions(i: int) -> None:
    task = fc.test_tasks(4).task(i)
    physics = {key: task[key] for key in CARTPOLE_TASK_KEYS}
    actions = np.random.default_rng(i).integers(0, 2, size=1500)
    ours = play(FlippedCartPoleEnv(**task), actions, seed=i)
    mapped = 1 - actions if task["flipped"] else actions
    theirs = play(VariedCartPoleEnv(**physics), mapped, seed=i)
    assert ours == theirs
    assert sum(step[2] is True for step in ours) > 30  # many episodes, each terminated


def test_action_one_pushes_left_when_flipped() -> None:
    velocities = {}
    for flipped in (False, True):
        env = FlippedCartPoleEnv(flipped=flipped)
        env.reset(seed=0)
        env.state = np.zeros(4)
        velocities[flipped] = float(env.step(1)[0][1])  # the cart's velocity
    assert velocities[False] > 0 and velocities[True] == -velocities[False]


def test_reset_options_change_the_flip_and_keep_the_rest() -> None:
    env = FlippedCartPoleEnv(masscart=2.0)
    assert env.task == {**CARTPOLE_DEFAULTS, "masscart": 2.0, "flipped": False}
    env.reset(seed=0, options={"flipped": True, "gravity": 12.0})
    assert env.task == {**CARTPOLE_DEFAULTS, "masscart": 2.0, "gravity": 12.0, "flipped": True}
    env.reset(options={"length": 0.8, "low": -0.01, "high": 0.01})
    assert env.flipped is True and env.length == 0.8
    assert np.all(np.abs(env.state) <= 0.01)
    env.set_task(flipped=np.bool_(False))
    assert env.flipped is False


def test_task_round_trips_through_the_env() -> None:
    tasks = fc.test_tasks(5)
    for i in range(5):
        assert FlippedCartPoleEnv(**tasks.task(i)).task == tasks.task(i)
    assert FlippedCartPoleTasks.default(2).task(1) == {**CARTPOLE_DEFAULTS, "flipped": False}
    assert list(tasks.task(0)) == list(FLIPPED_CARTPOLE_TASK_KEYS)


@pytest.mark.filterwarnings(UNBOUNDED_BOX)
@pytest.mark.parametrize("flipped", [False, True])
def test_check_env(flipped: bool) -> None:
    check_env(
        FlippedCartPoleEnv(**{**fc.test_tasks(1).task(0), "flipped": flipped}),
        skip_render_check=True,
    )


def test_make_env_by_id() -> None:
    assert FLIPPED_CARTPOLE_ID in fc.ENV_IDS
    assert FLIPPED_CARTPOLE_ID in envs.ENV_IDS
    env = envs.make_env(FLIPPED_CARTPOLE_ID, flipped=True, length=0.8)
    assert isinstance(env.unwrapped, FlippedCartPoleEnv)
    assert env.spec is not None and env.spec.max_episode_steps == 500
    assert env.spec.reward_threshold == 475.0
    assert env.unwrapped.task == {**CARTPOLE_DEFAULTS, "length": 0.8, "flipped": True}
    assert envs.FlippedCartPoleTasks is FlippedCartPoleTasks  # star-imported


def test_make_vec_uses_the_vector_form() -> None:
    env = gym.make_vec(FLIPPED_CARTPOLE_ID, num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(env, FlippedCartPoleVectorEnv)
    assert env.num_envs == 3 and env.max_episode_steps == 500
    assert not env.flipped.any()


def test_truncated_after_500_steps_by_id() -> None:
    env = envs.make_env(FLIPPED_CARTPOLE_ID, flipped=True)
    obs, _ = env.reset(seed=4)
    flags = []
    for _ in range(500):  # the mirrored controller balances the flipped task
        obs, _, terminated, truncated, _ = env.step(int(-BALANCING_WEIGHTS @ obs > 0))
        flags.append((terminated, truncated))
    assert flags == [(False, False)] * 499 + [(False, True)]


# -- the point of the family


def test_one_fixed_controller_cannot_balance_both_halves() -> None:
    """The controller that balances the unflipped task drops the flipped pole within a
    few steps (8 or 9 from these starts), and its mirror image the other way round."""
    w = BALANCING_WEIGHTS
    for seed in range(10):
        assert _balanced_steps(FlippedCartPoleEnv(), w, seed) == 500
        assert _balanced_steps(FlippedCartPoleEnv(flipped=True), w, seed) < 50
        assert _balanced_steps(FlippedCartPoleEnv(flipped=True), -w, seed) == 500
        assert _balanced_steps(FlippedCartPoleEnv(), -w, seed) < 50


# -- the vector env


def test_vector_env_steps_exactly_like_single_envs() -> None:
    n, horizon = 6, 40  # a short time limit, so truncation happens too
    tasks = sample_tasks(np.random.default_rng(1), n)
    assert 0 < tasks.flipped.sum() < n
    singles = [TimeLimit(FlippedCartPoleEnv(**tasks.task(i)), horizon) for i in range(n)]
    vec = FlippedCartPoleVectorEnv(n, max_episode_steps=horizon)
    vec.reset(seed=99, options={"tasks": tasks})
    for i, env in enumerate(singles):
        env.reset(seed=i)
    assert_steps_like_singles(vec, singles)
    np.testing.assert_array_equal(_rows(vec.tasks), _rows(tasks))  # tasks survive autoreset


def test_vector_env_controller_falls_only_on_flipped_tasks() -> None:
    n = 8
    vec = FlippedCartPoleVectorEnv(n, fc.test_tasks(n)._replace(physics=CartPoleTasks.default(n)))
    obs, _ = vec.reset(seed=0)
    alive, lengths = np.ones(n, dtype=bool), np.zeros(n, dtype=int)
    while alive.any():
        obs, _, terminated, truncated, _ = vec.step((obs @ BALANCING_WEIGHTS > 0).astype(int))
        lengths += alive
        alive &= ~(terminated | truncated)
    np.testing.assert_array_equal(lengths[::2], 500)
    assert lengths[1::2].max() < 50, lengths


def test_vector_env_tasks_default_persist_and_accept_cartpole_tasks() -> None:
    vec = FlippedCartPoleVectorEnv(3)
    assert all(vec.tasks.task(i) == {**CARTPOLE_DEFAULTS, "flipped": False} for i in range(3))
    tasks = fc.test_tasks(3)
    vec.reset(seed=0, options={"tasks": tasks})
    vec.reset(seed=1)
    np.testing.assert_array_equal(_rows(vec.tasks), _rows(tasks))
    np.testing.assert_array_equal(vec.total_mass, tasks.physics.masscart + tasks.physics.masspole)
    vec.tasks.flipped[:] = False  # a copy: the env keeps its flips
    np.testing.assert_array_equal(vec.flipped, [False, True, False])
    vec.reset(options={"tasks": vc.test_tasks(3)})  # the varied family's tasks: none flipped
    np.testing.assert_array_equal(
        _rows(vec.tasks), _rows(fc.test_tasks(3)._replace(flipped=[0] * 3))
    )


def test_vector_env_rejects_bad_tasks_and_keeps_the_old() -> None:
    vec = FlippedCartPoleVectorEnv(4)
    vec.reset(seed=0, options={"tasks": fc.test_tasks(4)})
    short_flips = fc.test_tasks(4)._replace(flipped=np.array([True, False, True]))
    with pytest.raises(ValueError, match=r"tasks\.flipped has shape \(3,\).*\(4,\).*num_envs=4"):
        vec.reset(options={"tasks": short_flips})
    short_physics = fc.test_tasks(4)._replace(physics=vc.test_tasks(3))
    with pytest.raises(ValueError, match=r"tasks\.physics\.gravity has shape \(3,\).*\(4,\)"):
        vec.reset(options={"tasks": short_physics})
    int_flips = fc.test_tasks(4)._replace(flipped=np.array([0, 1, 0, 1]))
    with pytest.raises(ValueError, match=r"tasks\.flipped has dtype int64: it must be bool"):
        vec.reset(options={"tasks": int_flips})
    physics = vc.test_tasks(4)
    heavy = physics._replace(masspole=np.where(np.arange(4) == 2, 1.5, physics.masspole))
    with pytest.raises(ValueError) as err:
        vec.reset(options={"tasks": fc.test_tasks(4)._replace(physics=heavy)})
    assert "tasks.physics.masspole[2]=1.5 is out of range: allowed is [0.01, 1.0]" in str(
        err.value
    )
    with pytest.raises(ValueError, match="must be a FlippedCartPoleTasks"):
        vec.reset(options={"tasks": [fc.test_tasks(1).task(0)] * 4})
    np.testing.assert_array_equal(_rows(vec.tasks), _rows(fc.test_tasks(4)))


def test_vector_env_rejects_bad_actions_and_arguments() -> None:
    vec = FlippedCartPoleVectorEnv(2, fc.test_tasks(2))
    vec.reset(seed=0)
    with pytest.raises(AssertionError, match=r"array\(\[0, 2\]\)"):
        vec.step(np.array([0, 2]))
    with pytest.raises(AssertionError):
        vec.step(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="num_envs=0"):
        FlippedCartPoleVectorEnv(0)
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        FlippedCartPoleVectorEnv(2, render_mode="rgb_array")


# -- tasks and the split


def test_sample_tasks_is_reproducible_and_flips_about_half() -> None:
    a = sample_tasks(np.random.default_rng(5), 4000)
    b = sample_tasks(np.random.default_rng(5), 4000)
    np.testing.assert_array_equal(_rows(a), _rows(b))
    assert a.flipped.dtype == np.bool_ and a.flipped.shape == (4000,)
    # a fair coin: the standard error of the fraction is 0.008
    assert a.flipped.mean() == pytest.approx(0.5, abs=0.03)
    # the physics are the varied family's, drawn first from the same generator
    physics = vc.sample_tasks(np.random.default_rng(5), 4000)
    np.testing.assert_array_equal(_rows(a)[:, :5], np.stack(physics, axis=1))
    for key, (low, high) in CARTPOLE_SAMPLING.items():
        assert np.all((low <= getattr(a.physics, key)) & (getattr(a.physics, key) <= high))
    c = sample_tasks(np.random.default_rng(6), 4000)
    assert not np.array_equal(a.flipped, c.flipped)


def test_sample_tasks_passes_a_custom_box_on() -> None:
    box = {**CARTPOLE_SAMPLING, "gravity": (9.8, 9.8)}
    tasks = sample_tasks(np.random.default_rng(0), 50, ranges=box)
    assert np.all(tasks.physics.gravity == 9.8)


def test_test_tasks_are_fixed_prefix_stable_and_half_flipped() -> None:
    first = fc.test_tasks(100)
    np.testing.assert_array_equal(_rows(first), _rows(fc.test_tasks(100)))
    np.testing.assert_array_equal(_rows(fc.test_tasks(10)), _rows(first)[:10])
    np.testing.assert_array_equal(_rows(first)[:, :5], np.stack(vc.test_tasks(100), axis=1))
    assert first.flipped.dtype == np.bool_ and first.flipped.sum() == 50
    np.testing.assert_array_equal(first.flipped[:4], [False, True, False, True])
    assert fc.TEST_SEED == vc.TEST_SEED


def test_test_tasks_never_occur_among_training_draws() -> None:
    test_physics = _rows(fc.test_tasks(200))[:, :5]
    for seed in range(5):
        train = _rows(sample_tasks(np.random.default_rng(seed), 5_000))[:, :5]
        assert not {tuple(row) for row in test_physics} & {tuple(row) for row in train}
        for j in range(len(CARTPOLE_TASK_KEYS)):  # nor does any single constant coincide
            assert not np.isin(test_physics[:, j], train[:, j]).any()


# -- argument checks


@pytest.mark.parametrize("value", [1, 0, "yes", None, np.array([True])])
def test_flipped_must_be_a_bool(value: object) -> None:
    with pytest.raises(ValueError, match=r"flipped=.* is not allowed: it must be True or False"):
        FlippedCartPoleEnv(flipped=value)  # type: ignore[arg-type]
    env = FlippedCartPoleEnv(flipped=True)
    with pytest.raises(ValueError, match="it must be True or False"):
        env.reset(options={"flipped": value, "gravity": 5.0})
    assert env.task == {**CARTPOLE_DEFAULTS, "flipped": True}  # nothing changed


def test_bad_physics_and_unknown_keys_are_rejected_and_change_nothing() -> None:
    env = FlippedCartPoleEnv()
    with pytest.raises(
        ValueError, match=r"masspole=2\.0 is out of range: allowed is \[0\.01, 1\.0\]"
    ):
        env.reset(options={"masspole": 2.0, "flipped": True})
    assert env.task == {**CARTPOLE_DEFAULTS, "flipped": False}
    with pytest.raises(ValueError, match=r"unknown keys \['flip'\].*'flipped'"):
        env.reset(options={"flip": True})
    with pytest.raises(ValueError, match=r"unknown task parameters \['tau'\].*'flipped'"):
        env.set_task(tau=0.01)
    with pytest.raises(ValueError, match=r"length=10\.0 is out of range"):
        FlippedCartPoleEnv(length=10.0, flipped=True)


def test_single_env_rejects_bad_actions() -> None:
    env = FlippedCartPoleEnv(flipped=True)
    env.reset(seed=0)
    for action in (2, -1, 0.0):
        with pytest.raises(AssertionError, match=f"{action!r}"):
            env.step(action)  # type: ignore[arg-type]


def test_sample_tasks_and_default_reject_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n=0"):
        sample_tasks(np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match="rng=0"):
        sample_tasks(0, 3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="n=-1"):
        FlippedCartPoleTasks.default(-1)
