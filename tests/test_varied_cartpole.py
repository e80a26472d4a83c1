"""CartPole with varied physics: Gymnasium's checker, equality with CartPole-v1 on the
default task, the direction of each constant's effect, the vector form against single
envs, the fixed split, solvability of the sampling box, and the argument checks."""

import itertools
import math

import gymnasium as gym
import numpy as np
import pytest
from cartpole_checks import assert_steps_like_singles, play
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.utils.env_checker import check_env
from gymnasium.wrappers import TimeLimit

from metarl_lite import envs
from metarl_lite.envs import varied_cartpole as vc
from metarl_lite.envs.varied_cartpole import (
    CARTPOLE_DEFAULTS,
    CARTPOLE_LIMITS,
    CARTPOLE_SAMPLING,
    CARTPOLE_TASK_KEYS,
    VARIED_CARTPOLE_ID,
    CartPoleTasks,
    VariedCartPoleEnv,
    VariedCartPoleVectorEnv,
    sample_tasks,
)

# CartPole's unbounded velocities make the checker warn; that is Gymnasium's own design.
UNBOUNDED_BOX = "ignore:.*Box observation space m"


def _rows(tasks: CartPoleTasks) -> np.ndarray:
    """The tasks as one array of shape (n, 5)."""
    return np.stack([getattr(tasks, key) for key in CARTPOLE_TASK_KEYS], axis=1)


def _corners(box: dict[str, tuple[float, float]]) -> CartPoleTasks:
    """The 32 corners of a box of tasks."""
    rows = np.array(list(itertools.product(*(box[key] for key in CARTPOLE_TASK_KEYS))))
    return CartPoleTasks(*rows.T)


def _lqr_gain(task: dict[str, float], tau: float = 0.02) -> np.ndarray:
    """Gain K, shape (4,), of a discrete-time LQR on CartPole's dynamics linearised
    at the upright rest (Euler step ``tau``); the force is ``-K @ state``."""
    g, mc, mp, half_len = task["gravity"], task["masscart"], task["masspole"], task["length"]
    total = mc + mp
    d = half_len * (4.0 / 3.0 - mp / total)
    a = np.zeros((4, 4))
    a[0, 1] = a[2, 3] = 1.0
    a[1, 2] = -mp * half_len * g / (total * d)
    a[3, 2] = g / d
    b = np.array(
        [[0.0], [(1.0 + mp * half_len / (total * d)) / total], [0.0], [-1.0 / (total * d)]]
    )
    a_d, b_d = np.eye(4) + tau * a, tau * b
    q, r = np.diag([1.0, 1.0, 10.0, 1.0]), 0.01
    p = q
    for _ in range(3000):
        k = np.linalg.solve(r + b_d.T @ p @ b_d, b_d.T @ p @ a_d)
        p = q + a_d.T @ p @ (a_d - b_d @ k)
    return k[0]


def _balanced_steps(tasks: CartPoleTasks, seeds: list[int]) -> np.ndarray:
    """Episode length of the task-aware bang-bang LQR controller, shape (len(seeds), n)."""
    n = len(tasks.gravity)
    gains = np.stack([_lqr_gain(tasks.task(i)) for i in range(n)])
    env = VariedCartPoleVectorEnv(n, tasks)
    lengths = np.zeros((len(seeds), n), dtype=int)
    for row, seed in enumerate(seeds):
        obs, _ = env.reset(seed=seed)
        alive = np.ones(n, dtype=bool)
        while alive.any():
            force = -(gains * obs).sum(axis=1)
            obs, _, terminated, truncated, _ = env.step((force > 0).astype(np.int64))
            lengths[row] += alive
            alive &= ~(terminated | truncated)
    return lengths


# -- the single env


@pytest.mark.filterwarnings(UNBOUNDED_BOX)
@pytest.mark.parametrize("task", [{}, vc.test_tasks(1).task(0)])
def test_check_env(task: dict[str, float]) -> None:
    check_env(VariedCartPoleEnv(**task), skip_render_check=True)


def test_defaults_are_gymnasiums() -> None:
    env = CartPoleEnv()
    for key, value in CARTPOLE_DEFAULTS.items():
        assert getattr(env, key) == value
    assert VariedCartPoleEnv().task == CARTPOLE_DEFAULTS


def test_make_env_by_id() -> None:
    assert VARIED_CARTPOLE_ID in vc.ENV_IDS
    assert VARIED_CARTPOLE_ID in envs.ENV_IDS
    env = envs.make_env(VARIED_CARTPOLE_ID, gravity=15.0, length=0.8)
    assert isinstance(env.unwrapped, VariedCartPoleEnv)
    assert env.spec is not None and env.spec.max_episode_steps == 500
    assert env.unwrapped.task == {**CARTPOLE_DEFAULTS, "gravity": 15.0, "length": 0.8}


def test_make_vec_uses_the_vector_form() -> None:
    env = gym.make_vec(VARIED_CARTPOLE_ID, num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(env, VariedCartPoleVectorEnv)
    assert env.num_envs == 3 and env.max_episode_steps == 500


def test_default_task_reproduces_cartpole_v1_exactly() -> None:
    actions = np.random.default_rng(0).integers(0, 2, size=2000)
    ours = play(envs.make_env(VARIED_CARTPOLE_ID), actions, seed=3)
    theirs = play(gym.make("CartPole-v1"), actions, seed=3)
    assert ours == theirs
    assert sum(step[2] is True for step in ours) > 50  # many episodes, each terminated


def test_default_task_is_truncated_at_500_like_cartpole_v1() -> None:
    gain = _lqr_gain(CARTPOLE_DEFAULTS)
    results = []
    for env in (envs.make_env(VARIED_CARTPOLE_ID), gym.make("CartPole-v1")):
        obs, _ = env.reset(seed=7)
        trace = []
        for _ in range(500):
            obs, reward, terminated, truncated, _ = env.step(int(-gain @ obs > 0))
            trace.append((obs.tobytes(), reward, terminated, truncated))
        results.append(trace)
    assert results[0] == results[1]
    assert [t[3] for t in results[0]] == [False] * 499 + [True]
    assert not any(t[2] for t in results[0])


def _steps_to_fall(**task: float) -> int:
    """Steps until the pole falls from a 0.05 rad tilt at rest, left on its own: pushes
    alternate right and left with the weakest force the limits allow (1 N)."""
    env = VariedCartPoleEnv(force_mag=1.0, **task)
    env.reset(seed=0)
    env.state = np.array([0.0, 0.0, 0.05, 0.0])
    for t in range(1, 1000):
        if env.step(t % 2)[2]:
            return t
    raise AssertionError("the pole never fell")


def test_stronger_gravity_and_shorter_pole_fall_sooner() -> None:
    by_gravity = [_steps_to_fall(gravity=g) for g in (4.9, 9.8, 19.6)]
    by_length = [_steps_to_fall(length=h) for h in (1.0, 0.5, 0.25)]
    assert by_gravity[0] > by_gravity[1] > by_gravity[2]
    assert by_length[0] > by_length[1] > by_length[2]


def _cart_speed_after_push(**task: float) -> float:
    env = VariedCartPoleEnv(**task)
    env.reset(seed=0)
    env.state = np.zeros(4)
    return float(env.step(1)[0][1])  # the cart's velocity after one push to the right


def test_stronger_push_and_lighter_cart_accelerate_more() -> None:
    by_force = [_cart_speed_after_push(force_mag=f) for f in (5.0, 10.0, 20.0)]
    by_mass = [_cart_speed_after_push(masscart=m) for m in (2.0, 1.0, 0.5)]
    assert 0 < by_force[0] < by_force[1] < by_force[2]
    assert 0 < by_mass[0] < by_mass[1] < by_mass[2]


def test_reset_options_change_the_task_and_keep_the_rest() -> None:
    env = VariedCartPoleEnv(masscart=2.0)
    env.reset(seed=0, options={"gravity": 12.0, "masspole": 0.3})
    assert env.task == {**CARTPOLE_DEFAULTS, "masscart": 2.0, "gravity": 12.0, "masspole": 0.3}
    assert env.total_mass == 2.3
    assert env.polemass_length == 0.3 * 0.5
    env.reset(options={"length": 0.8, "low": -0.01, "high": 0.01})
    assert env.polemass_length == 0.3 * 0.8
    assert np.all(np.abs(env.state) <= 0.01)


# -- the vector env


def test_vector_env_steps_exactly_like_single_envs() -> None:
    n, horizon = 6, 40  # a short time limit, so truncation happens too
    tasks = sample_tasks(np.random.default_rng(1), n)
    singles = [TimeLimit(VariedCartPoleEnv(**tasks.task(i)), horizon) for i in range(n)]
    vec = VariedCartPoleVectorEnv(n, max_episode_steps=horizon)
    vec.reset(seed=99, options={"tasks": tasks})
    for i, env in enumerate(singles):
        env.reset(seed=i)
    assert_steps_like_singles(vec, singles)
    np.testing.assert_array_equal(vec.gravity, tasks.gravity)  # tasks survive autoreset


def test_vector_env_tasks_default_and_persist_through_reset() -> None:
    vec = VariedCartPoleVectorEnv(3)
    assert all(vec.tasks.task(i) == CARTPOLE_DEFAULTS for i in range(3))
    tasks = vc.test_tasks(3)
    vec.reset(seed=0, options={"tasks": tasks})
    vec.reset(seed=1)
    np.testing.assert_array_equal(_rows(vec.tasks), _rows(tasks))
    np.testing.assert_array_equal(vec.total_mass, tasks.masscart + tasks.masspole)
    np.testing.assert_array_equal(vec.polemass_length, tasks.masspole * tasks.length)


def test_vector_env_rejects_wrong_number_of_tasks_and_keeps_the_old() -> None:
    vec = VariedCartPoleVectorEnv(4)
    vec.reset(seed=0, options={"tasks": vc.test_tasks(4)})
    with pytest.raises(ValueError, match=r"tasks\.gravity has shape \(3,\).*\(4,\).*num_envs=4"):
        vec.reset(options={"tasks": vc.test_tasks(3)})
    ragged = vc.test_tasks(4)._replace(length=np.full(5, 0.5))
    with pytest.raises(ValueError, match=r"tasks\.length has shape \(5,\)"):
        vec.reset(options={"tasks": ragged})
    with pytest.raises(ValueError, match="must be a CartPoleTasks"):
        vec.reset(options={"tasks": [vc.test_tasks(1).task(0)] * 4})
    np.testing.assert_array_equal(_rows(vec.tasks), _rows(vc.test_tasks(4)))


def test_vector_env_rejects_out_of_range_task() -> None:
    tasks = vc.test_tasks(4)
    bad = tasks._replace(masspole=np.where(np.arange(4) == 2, 1.5, tasks.masspole))
    with pytest.raises(ValueError) as err:
        VariedCartPoleVectorEnv(4).reset(options={"tasks": bad})
    assert "tasks.masspole[2]=1.5 is out of range: allowed is [0.01, 1.0]" in str(err.value)


def test_vector_env_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="num_envs=0"):
        VariedCartPoleVectorEnv(0)
    with pytest.raises(ValueError, match="render_mode='rgb_array'"):
        VariedCartPoleVectorEnv(2, render_mode="rgb_array")


# -- tasks and the split


def test_sample_tasks_is_deterministic_and_inside_the_box() -> None:
    a = sample_tasks(np.random.default_rng(5), 500)
    b = sample_tasks(np.random.default_rng(5), 500)
    c = sample_tasks(np.random.default_rng(6), 500)
    np.testing.assert_array_equal(_rows(a), _rows(b))
    assert not np.any(_rows(a) == _rows(c))
    for key, (low, high) in CARTPOLE_SAMPLING.items():
        values = getattr(a, key)
        assert values.shape == (500,)
        assert np.all((low <= values) & (values <= high))


def test_sampling_box_is_inside_carl_limits_and_centred_in_log_scale() -> None:
    tasks = sample_tasks(np.random.default_rng(0), 20_000)
    for key, (low, high) in CARTPOLE_SAMPLING.items():
        limit_low, limit_high = CARTPOLE_LIMITS[key]
        assert limit_low <= low < CARTPOLE_DEFAULTS[key] < high <= limit_high
        log_ratio = np.log(getattr(tasks, key) / CARTPOLE_DEFAULTS[key])
        # log-uniform on [-log 2, log 2]: median 0, standard error of the median ~0.006
        assert abs(np.median(log_ratio)) < 0.03
        assert np.mean(np.abs(log_ratio) < math.log(2) / 2) == pytest.approx(0.5, abs=0.02)


def test_test_tasks_are_fixed_and_prefix_stable() -> None:
    first = vc.test_tasks(100)
    np.testing.assert_array_equal(_rows(first), _rows(vc.test_tasks(100)))
    np.testing.assert_array_equal(_rows(vc.test_tasks(10)), _rows(first)[:10])
    np.testing.assert_array_equal(
        _rows(first), _rows(sample_tasks(np.random.default_rng(vc.TEST_SEED), 100))
    )


def test_test_tasks_never_occur_among_training_draws() -> None:
    test_rows = {tuple(row) for row in _rows(vc.test_tasks(200))}
    for seed in range(5):
        train = _rows(sample_tasks(np.random.default_rng(seed), 5_000))
        assert not test_rows & {tuple(row) for row in train}
        # nor does any single constant coincide
        for j in range(len(CARTPOLE_TASK_KEYS)):
            assert not np.isin(_rows(vc.test_tasks(200))[:, j], train[:, j]).any()


def test_task_round_trips_through_the_env() -> None:
    tasks = vc.test_tasks(5)
    for i in range(5):
        assert VariedCartPoleEnv(**tasks.task(i)).task == tasks.task(i)
    assert CartPoleTasks.default(2).task(1) == CARTPOLE_DEFAULTS


# -- solvability


def test_every_corner_of_the_sampling_box_can_be_balanced_for_500_steps() -> None:
    lengths = _balanced_steps(_corners(CARTPOLE_SAMPLING), seeds=[0, 1])
    assert lengths.min() == 500, lengths.min(axis=0)
    lengths = _balanced_steps(vc.test_tasks(16), seeds=[0])
    assert lengths.min() == 500, lengths


def test_some_corners_of_a_box_three_times_wider_cannot_be_balanced() -> None:
    box = {key: (value / 3, value * 3) for key, value in CARTPOLE_DEFAULTS.items()}
    lengths = _balanced_steps(_corners(box), seeds=[0])
    assert (lengths < 500).any()


# -- argument checks


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (key, value)
        for key, (low, high) in CARTPOLE_LIMITS.items()
        for value in (low / 2, high * 2, math.nan)
        if not math.isinf(value)
    ],
)
def test_out_of_range_parameter_is_rejected(key: str, value: float) -> None:
    low, high = CARTPOLE_LIMITS[key]
    allowed = f"allowed is [{low}, {high}]"
    with pytest.raises(ValueError) as err:
        VariedCartPoleEnv(**{key: value})
    assert f"{key}={value!r} is out of range: {allowed}" in str(err.value)

    env = VariedCartPoleEnv()
    with pytest.raises(ValueError) as err:
        env.reset(options={key: value})
    assert f"{key}={value!r} is out of range: {allowed}" in str(err.value)
    assert env.task == CARTPOLE_DEFAULTS

    tasks = CartPoleTasks.default(3)._replace(
        **{key: np.array([CARTPOLE_DEFAULTS[key], value, value])}
    )
    with pytest.raises(ValueError) as err:
        VariedCartPoleVectorEnv(3).reset(options={"tasks": tasks})
    assert f"tasks.{key}[1]={value!r} is out of range: {allowed}" in str(err.value)


def test_limits_themselves_are_allowed() -> None:
    finite = {key: high for key, (_, high) in CARTPOLE_LIMITS.items() if math.isfinite(high)}
    assert VariedCartPoleEnv(**finite).task == {**CARTPOLE_DEFAULTS, **finite}
    lows = {key: low for key, (low, _) in CARTPOLE_LIMITS.items()}
    assert VariedCartPoleEnv(**lows).task == lows


def test_unknown_task_keys_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"unknown keys \['gravty'\]"):
        VariedCartPoleEnv().reset(options={"gravty": 5.0})
    with pytest.raises(ValueError, match=r"unknown task parameters \['tau'\]"):
        VariedCartPoleEnv().set_task(tau=0.01)


def test_sample_tasks_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n=0"):
        sample_tasks(np.random.default_rng(0), 0)
    with pytest.raises(ValueError, match="rng=0"):
        sample_tasks(0, 3)  # type: ignore[arg-type]
    wide = {**CARTPOLE_SAMPLING, "masscart": (0.5, 20.0)}
    with pytest.raises(ValueError, match=r"ranges\['masscart'\] high=20.0 is out of range"):
        sample_tasks(np.random.default_rng(0), 3, ranges=wide)
    upside_down = {**CARTPOLE_SAMPLING, "length": (1.0, 0.5)}
    with pytest.raises(ValueError, match=r"ranges\['length'\]=\(1.0, 0.5\)"):
        sample_tasks(np.random.default_rng(0), 3, ranges=upside_down)


def test_sample_tasks_accepts_a_custom_box() -> None:
    box = {**CARTPOLE_SAMPLING, "gravity": (9.8, 9.8)}
    tasks = sample_tasks(np.random.default_rng(0), 50, ranges=box)
    assert np.all(tasks.gravity == 9.8)
    assert np.all(tasks.masscart != 1.0)
