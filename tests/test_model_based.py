"""Model-based control of varied pendulums: the planner's true dynamics and reward equal the
env's, the oracle swings up every corner of the task box, the model's loss and adaptation
step, the fits and meta-training repeat bit for bit, and the argument checks."""

import functools
import itertools
import math

import numpy as np
import pytest
import torch

from metarl_lite import model_based as mb
from metarl_lite.envs.varied_pendulum import PENDULUM_SAMPLING, VariedPendulumEnv, sample_tasks
from metarl_lite.history import TrainingDivergedError

SMALL = mb.AdaptConfig(
    n_train_tasks=4,
    rollouts_per_task=2,
    rollout_len=40,
    meta_iterations=20,
    meta_batch=2,
    dr_steps=20,
    scratch_steps=10,
    mpc=mb.MPCConfig(horizon=8, n_candidates=20),
)


def _small_tasks():
    return sample_tasks(np.random.default_rng(0), SMALL.n_train_tasks)


@pytest.mark.parametrize("task", [{"m": 1.0, "l": 1.0}, {"m": 0.6, "l": 1.8}])
def test_true_step_and_reward_equal_the_envs(task: dict[str, float]) -> None:
    env = VariedPendulumEnv(**task)
    env.reset(seed=0, options={"x_init": math.pi, "y_init": 8.0})
    rng = np.random.default_rng(1)
    for _ in range(100):
        theta, thetadot = env.state
        u = float(rng.uniform(-3, 3))
        _, r, *_ = env.step(np.array([u]))
        args = [torch.tensor([x], dtype=torch.float64) for x in (theta, thetadot, u)]
        new_theta, new_thetadot = mb.true_step(*args, task["m"], task["l"])
        np.testing.assert_allclose([new_theta.item(), new_thetadot.item()], env.state, rtol=1e-12)
        clipped = torch.clamp(args[2], -2, 2)
        assert mb.reward(args[0], args[1], clipped).item() == pytest.approx(r, rel=1e-9)


def test_angle_normalize_wraps_to_minus_pi_pi() -> None:
    x = torch.tensor([0.0, math.pi, -math.pi, 3 * math.pi + 0.1, -0.5])
    np.testing.assert_allclose(
        mb.angle_normalize(x).numpy(), [0.0, -math.pi, -math.pi, -math.pi + 0.1, -0.5], atol=1e-6
    )


def _oracle_angles(m: float, length: float, seed: int, from_rest: bool) -> np.ndarray:
    """|theta| over one 200-step episode of the oracle planner (shape (200,)), from
    Pendulum-v1's random start of ``seed`` or hanging straight down at rest."""
    env = VariedPendulumEnv(m=m, l=length)
    obs, _ = env.reset(seed=seed)
    if from_rest:
        env.state = np.array([math.pi, 0.0])
        obs = env._get_obs()
    step_fn = functools.partial(mb.true_step, m=m, l=length)
    generator = torch.Generator().manual_seed(seed)
    angles = []
    for _ in range(200):
        u = mb.plan(step_fn, *mb.obs_to_state(obs), mb.MPCConfig(), generator)
        obs, *_ = env.step(np.array([u], dtype=np.float32))
        angles.append(abs(mb.obs_to_state(obs)[0]))
    return np.array(angles)


@pytest.mark.parametrize("corner", list(itertools.product(*PENDULUM_SAMPLING.values())))
def test_the_oracle_swings_up_and_holds_every_corner_of_the_task_box(corner) -> None:
    for seed in (0, 1):
        angles = _oracle_angles(*corner, seed=seed, from_rest=False)
        # the last 2.5 s within 20 degrees of upright (the lightest, shortest rod jitters most)
        assert angles[-50:].max() < 0.35, (corner, seed)
        assert angles[-50:].mean() < 0.15, (corner, seed)


def test_from_rest_the_heavy_long_corner_needs_more_than_an_episode() -> None:
    """The torque limit binds: 2 N m against gravity's 20 N m at m = l = 2 (the planner,
    seeing 1 s ahead, cannot pump the rod up from rest in 10 s); the light long and heavy
    short corners are swung up from rest and held."""
    assert _oracle_angles(2.0, 2.0, seed=0, from_rest=True)[-50:].mean() > 1.0
    for corner in [(0.5, 2.0), (2.0, 0.5)]:
        assert _oracle_angles(*corner, seed=0, from_rest=True)[-50:].max() < 0.1, corner


def test_model_loss_is_zero_on_the_models_own_predictions() -> None:
    params = mb.init_model(mb.ModelConfig(hidden=8), torch.Generator().manual_seed(0))
    theta, thetadot, u = torch.rand(3, 50) * 2 - 1
    new_theta, new_thetadot = mb.predict_next(params, theta, thetadot, u)
    batch = mb.Transitions(theta, thetadot, u, new_theta - theta, new_thetadot - thetadot)
    assert mb.model_loss(params, batch).item() < 1e-12
    assert [p.shape for p in params] == [(4, 8), (8,), (8, 8), (8,), (8, 2), (2,)]


def test_adapt_lowers_the_loss_on_its_batch_and_can_keep_the_graph() -> None:
    data = mb.collect_random_transitions({"m": 0.7, "l": 1.5}, 1, 32, np.random.default_rng(0))
    params = [p.requires_grad_() for p in mb.init_model(mb.ModelConfig(), torch.Generator())]
    before = mb.model_loss(params, data).item()
    adapted = mb.adapt(params, data, 0.1, 5)
    assert mb.model_loss(adapted, data).item() < before
    assert all(p.is_leaf for p in adapted)
    graph = mb.adapt(params, data, 0.1, 2, create_graph=True)
    grads = torch.autograd.grad(mb.model_loss(graph, data), params)
    assert all(torch.isfinite(g).all() for g in grads)
    assert mb.adapt(params, data, 0.1, 0)[0].equal(params[0])


def test_collected_transitions_are_consecutive_within_a_rollout() -> None:
    data = mb.collect_random_transitions({"m": 1.0, "l": 1.0}, 2, 10, np.random.default_rng(3))
    assert data.size == 20
    after = data.theta[1:10]
    before = mb.angle_normalize(data.theta[:9] + data.dtheta[:9])
    np.testing.assert_allclose(mb.angle_normalize(after - before).numpy(), 0.0, atol=1e-5)
    np.testing.assert_allclose(
        data.thetadot[1:10].numpy(), (data.thetadot + data.dthetadot)[:9].numpy(), atol=1e-5
    )


def test_dr_and_meta_training_repeat_bit_for_bit_and_learn() -> None:
    tasks = _small_tasks()
    for train in (mb.train_dr, mb.train_meta):
        a, b = train(SMALL, tasks), train(SMALL, tasks)
        assert all(x.equal(y) for x, y in zip(a.params, b.params, strict=True))
        assert a.losses == b.losses and len(a.losses) == 1
    second = mb.train_meta(mb.AdaptConfig(**{**SMALL.__dict__, "first_order": False}), tasks)
    assert all(torch.isfinite(p).all() for p in second.params)
    longer = mb.train_dr(mb.AdaptConfig(**{**SMALL.__dict__, "dr_steps": 200}), tasks)
    assert longer.losses[-1] < longer.losses[0] / 2


def test_training_on_broken_data_raises() -> None:
    data = mb.collect_random_transitions({"m": 1.0, "l": 1.0}, 1, 8, np.random.default_rng(0))
    broken = data._replace(dthetadot=data.dthetadot * math.inf)
    params = mb.init_model(mb.ModelConfig(), torch.Generator())
    with pytest.raises(TrainingDivergedError, match="model loss"):
        mb.fit_model(params, broken, 5, 4, 1e-3, torch.Generator())


@pytest.mark.parametrize("agent", mb.AGENTS)
def test_every_agent_runs_and_repeats(agent: str) -> None:
    params = mb.init_model(SMALL.model, torch.Generator().manual_seed(1))
    run = functools.partial(
        mb.evaluate_agent, agent, {"m": 1.2, "l": 0.8}, SMALL, params, n_episodes=2, seed=4
    )
    returns = run()
    assert len(returns) == 2 and all(-3000 < r <= 0 for r in returns)
    assert run() == returns


def test_save_and_load_params(tmp_path) -> None:
    params = mb.init_model(mb.ModelConfig(), torch.Generator().manual_seed(2))
    mb.save_params(params, tmp_path / "m.pt")
    loaded = mb.load_params(tmp_path / "m.pt")
    assert all(x.equal(y) for x, y in zip(params, loaded, strict=True))
    torch.save([torch.zeros(1)], tmp_path / "bad.pt")
    with pytest.raises(ValueError, match="six weight tensors"):
        mb.load_params(tmp_path / "bad.pt")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"adapt_window": 0}, "adapt_window=0"),
        ({"inner_lr": -0.1}, "inner_lr=-0.1"),
        ({"outer_lr": 2.0}, "outer_lr=2.0"),
        ({"adapt_window": 50}, "at most rollout_len"),
        ({"adapt_window": 30, "query_size": 20, "query_anywhere": False}, "at most rollout_len"),
        ({"inner_steps": -1}, "inner_steps=-1"),
    ],
)
def test_config_rejects_bad_values(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        mb.AdaptConfig(**kwargs)


def test_evaluate_agent_rejects_bad_arguments() -> None:
    task = {"m": 1.0, "l": 1.0}
    with pytest.raises(ValueError, match="agent='ppo'"):
        mb.evaluate_agent("ppo", task, SMALL)
    with pytest.raises(ValueError, match="params=None"):
        mb.evaluate_agent("meta", task, SMALL)
    with pytest.raises(ValueError, match="n_episodes=0"):
        mb.evaluate_agent("random", task, SMALL, n_episodes=0)
    with pytest.raises(ValueError, match="hold=0"):
        mb.MPCConfig(hold=0)
