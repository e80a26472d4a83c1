"""Tests of metarl_lite.maml_rl: roll-outs that follow the environment's rules exactly,
the policy-gradient pieces, the meta-gradient, validation and determinism."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from metarl_lite import maml_rl as mr
from metarl_lite.envs import point_navigation as nav
from metarl_lite.history import TrainingDivergedError
from metarl_lite.meta import parameters_of, per_task
from metarl_lite.seeding import torch_generator

TINY = mr.MamlRLConfig(
    hidden=(16, 16),
    meta_batch=3,
    inner_trajectories=4,
    outer_trajectories=4,
    iterations=3,
)


def _policy(seed: int = 0, hidden: tuple[int, ...] = (16, 16)) -> mr.GaussianPolicy:
    return mr.GaussianPolicy(hidden, generator=torch_generator(seed))


def _rollout(
    policy: mr.GaussianPolicy, goals: np.ndarray, n_traj: int, seed: int = 1
) -> mr.Trajectories:
    g = torch.from_numpy(goals)
    return mr.rollout(
        policy, per_task(parameters_of(policy), len(goals)), g, n_traj, torch_generator(seed)
    )


# --- roll-outs ---------------------------------------------------------------------------------


def test_rollouts_follow_the_environment_bit_for_bit() -> None:
    """Replaying the sampled velocities in PointNavigationEnv gives the same positions,
    rewards and episode ends: the torch roll-out has exactly the env's dynamics."""
    # Goals near the origin and a policy with a mean of zero and a small std make
    # some episodes reach their goal, so termination is compared too.
    policy = _policy()
    with torch.no_grad():
        policy.layers[-1].weight.zero_()
        policy.layers[-1].bias.zero_()
        policy.log_std.fill_(-1.5)
    goals = np.concatenate([nav.test_tasks(4).goals, [[0.02, -0.01], [0.0, 0.03]]])
    goals = goals.astype(np.float32)
    traj = _rollout(policy, goals, n_traj=5)
    terminated_somewhere = False
    for i, goal in enumerate(goals):
        env = nav.PointNavigationEnv(goal=goal)
        for k in range(5):
            obs, _ = env.reset()
            length = int(traj.mask[i, k].sum())
            for t in range(length):
                assert np.array_equal(obs, traj.obs[i, k, t].numpy())
                velocity = (nav.MAX_SPEED * traj.actions[i, k, t]).numpy()
                obs, reward, terminated, truncated, _ = env.step(velocity)
                assert np.float32(reward) == traj.rewards[i, k, t].item()
                assert terminated == (t == length - 1 and length < nav.HORIZON)
                assert truncated == (t == nav.HORIZON - 1 and not terminated)
            assert np.array_equal(obs, traj.final[i, k].numpy())
            terminated_somewhere |= length < nav.HORIZON
            assert traj.rewards[i, k, length:].abs().sum() == 0
    assert terminated_somewhere


def test_torch_step_equals_the_numpy_step() -> None:
    rng = np.random.default_rng(0)
    positions = rng.uniform(-1, 1, (500, 2)).astype(np.float32)
    velocity = rng.uniform(-0.2, 0.2, (500, 2)).astype(np.float32)
    goals = nav.sample_tasks(rng, 500).goals
    goals[:50] = positions[:50] + np.clip(velocity[:50], -0.1, 0.1) + 0.005  # some terminate
    expected = nav.navigation_step(positions, velocity, goals)
    got = mr.torch_navigation_step(*(torch.from_numpy(a) for a in (positions, velocity, goals)))
    for e, g in zip(expected, got, strict=True):
        assert np.array_equal(e, g.numpy())
    assert expected[2].sum() >= 50


def test_rollout_shapes_and_steps() -> None:
    traj = _rollout(_policy(), nav.test_tasks(3).goals, n_traj=2)
    assert traj.obs.shape == (3, 2, nav.HORIZON, 2) and traj.actions.shape == traj.obs.shape
    assert traj.rewards.shape == traj.mask.shape == (3, 2, nav.HORIZON)
    assert traj.returns().shape == (3, 2)
    assert traj.env_steps() == int(traj.mask.sum()) <= 3 * 2 * nav.HORIZON
    assert torch.equal(traj.obs[:, :, 0], torch.zeros(3, 2, 2))


# --- policy gradient ---------------------------------------------------------------------------


def test_discounted_returns_match_a_loop() -> None:
    rewards = torch.randn(2, 3, 7, generator=torch_generator(0))
    got = mr.discounted_returns(rewards, 0.9)
    expected = torch.zeros_like(rewards)
    running = torch.zeros(2, 3)
    for t in reversed(range(7)):
        running = rewards[..., t] + 0.9 * running
        expected[..., t] = running
    torch.testing.assert_close(got, expected)
    torch.testing.assert_close(
        mr.discounted_returns(rewards, 1.0), rewards.flip(-1).cumsum(-1).flip(-1)
    )


def test_linear_baseline_fits_linear_returns_and_ignores_masked_steps() -> None:
    obs = torch.rand(2, 3, 10, 2, generator=torch_generator(0), dtype=torch.float64)
    coef = torch.tensor(
        [[1.0, -2.0, 0.5, 0.0, 3.0, 0.0, -1.0, 2.0], [0.0, 1.0, -1.0, 2.0, 0.0, 1.0, 0.0, -3.0]],
        dtype=torch.float64,
    )
    returns = (mr.baseline_features(obs) * coef.view(2, 1, 1, 8)).sum(-1)
    mask = torch.ones(2, 3, 10, dtype=torch.float64)
    mask[:, :, 8:] = 0
    noisy = returns.clone()
    noisy[:, :, 8:] = 1e3  # after the episode: must not matter
    fitted = mr.fit_linear_baseline(obs, noisy, mask, reg=1e-10)
    torch.testing.assert_close(fitted[:, :, :8], returns[:, :, :8], rtol=1e-5, atol=1e-5)


def test_advantages_are_standardised_per_task_over_the_steps_taken() -> None:
    traj = _rollout(_policy(), nav.test_tasks(4).goals, n_traj=3)
    adv = mr.advantages(traj, 0.99)
    n = traj.mask.sum(dim=(1, 2))
    mean = adv.sum(dim=(1, 2)) / n
    var = (adv**2).sum(dim=(1, 2)) / n - mean**2
    torch.testing.assert_close(mean, torch.zeros(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(var, torch.ones(4), atol=1e-4, rtol=0)
    assert torch.all(adv[traj.mask == 0] == 0)


def test_gaussian_log_prob_matches_torch_distributions() -> None:
    g = torch_generator(0)
    u, mean, log_std = (
        torch.randn(5, 2, generator=g),
        torch.randn(5, 2, generator=g),
        torch.randn(2, generator=g),
    )
    expected = torch.distributions.Normal(mean, log_std.exp()).log_prob(u).sum(-1)
    torch.testing.assert_close(mr.gaussian_log_prob(u, mean, log_std), expected)


def test_the_inner_step_of_a_batch_equals_each_task_alone() -> None:
    policy = _policy()
    goals = nav.test_tasks(3).goals
    traj = _rollout(policy, goals, n_traj=4)
    together = mr.policy_gradient_step(policy, per_task(parameters_of(policy), 3), traj, 0.1, 0.99)
    for i in range(3):
        alone_traj = mr.Trajectories(*(x[i : i + 1] for x in traj))
        alone = mr.policy_gradient_step(
            policy, per_task(parameters_of(policy), 1), alone_traj, 0.1, 0.99
        )
        for name, p in alone.items():
            torch.testing.assert_close(together[name][i], p[0], rtol=1e-5, atol=1e-6)


# --- the meta-gradient ---------------------------------------------------------------------------


def _meta_objective_and_data(first_order: bool):
    """The MAML objective on fixed inner and outer trajectories, in float64."""
    policy = _policy(hidden=(5,)).double()
    goals = nav.test_tasks(2).goals
    params32 = per_task(parameters_of(_policy(hidden=(5,))), 2)
    inner = mr.rollout(
        _policy(hidden=(5,)), params32, torch.from_numpy(goals), 3, torch_generator(1), horizon=10
    )
    outer = mr.rollout(
        _policy(hidden=(5,)), params32, torch.from_numpy(goals), 3, torch_generator(2), horizon=10
    )
    inner, outer = (mr.Trajectories(*(x.double() for x in t)) for t in (inner, outer))
    outer_adv = mr.advantages(outer, 0.99)

    def objective(theta: dict[str, torch.Tensor]) -> torch.Tensor:
        phi = mr.policy_gradient_step(
            policy, per_task(theta, 2), inner, 0.5, 0.99, create_graph=not first_order
        )
        return mr.surrogate_losses(policy, phi, outer, outer_adv).mean()

    return policy, objective


def test_second_order_meta_gradient_matches_finite_differences() -> None:
    policy, objective = _meta_objective_and_data(first_order=False)
    theta = {n: p.detach().clone().requires_grad_() for n, p in parameters_of(policy).items()}
    grads = torch.autograd.grad(objective(theta), list(theta.values()))
    eps = 1e-6
    for (name, p), g in zip(theta.items(), grads, strict=True):
        flat = p.detach().view(-1)
        for j in range(min(4, flat.numel())):
            values = []
            for sign in (1, -1):
                moved = {n: q.detach().clone() for n, q in theta.items()}
                moved[name].view(-1)[j] += sign * eps
                values.append(objective({n: q.requires_grad_() for n, q in moved.items()}))
            numeric = (values[0] - values[1]).item() / (2 * eps)
            assert g.view(-1)[j].item() == pytest.approx(numeric, rel=1e-4, abs=1e-7), name


def test_first_order_drops_the_second_order_term() -> None:
    policy, second = _meta_objective_and_data(first_order=False)
    _, first = _meta_objective_and_data(first_order=True)
    theta = {n: p.detach().clone().requires_grad_() for n, p in parameters_of(policy).items()}
    g2 = torch.autograd.grad(second(theta), list(theta.values()))
    g1 = torch.autograd.grad(first(theta), list(theta.values()))
    assert first(theta).item() == pytest.approx(second(theta).item())
    diff = sum((a - b).abs().sum().item() for a, b in zip(g1, g2, strict=True))
    assert diff > 1e-6


# --- training ------------------------------------------------------------------------------------


def test_training_repeats_bit_for_bit_and_depends_on_the_seed() -> None:
    a = mr.train_maml_rl(TINY).history
    b = mr.train_maml_rl(TINY).history
    c = mr.train_maml_rl(dataclasses.replace(TINY, seed=1)).history
    assert a.to_dict() == b.to_dict()
    assert a.post_returns != c.post_returns
    assert len(a.post_returns) == len(a.env_steps) == TINY.iterations
    assert a.env_steps[-1] <= TINY.iterations * TINY.env_steps_per_iteration()
    assert a.env_steps[0] > 0.9 * TINY.env_steps_per_iteration()
    assert a.config == dataclasses.asdict(TINY)
    assert a.wall_time > 0 and a.process_time > 0


def test_first_order_and_pretrained_runs_and_their_budgets() -> None:
    fo = mr.train_maml_rl(dataclasses.replace(TINY, first_order=True)).history
    so = mr.train_maml_rl(TINY).history
    assert fo.pre_returns[0] == so.pre_returns[0]  # same start, same first samples
    assert fo.post_returns[1:] != so.post_returns[1:]
    pre = mr.train_pretrained(TINY).history
    assert pre.pre_returns == pre.post_returns
    assert pre.env_steps[0] > 0.9 * TINY.env_steps_per_iteration()


def test_a_short_maml_run_improves_the_post_adaptation_return() -> None:
    config = dataclasses.replace(
        TINY, hidden=(32, 32), meta_batch=10, iterations=25, outer_lr=3e-3
    )
    history = mr.train_maml_rl(config).history
    assert np.mean(history.post_returns[-5:]) > np.mean(history.post_returns[:5]) + 5


def test_divergence_raises_with_the_iteration() -> None:
    config = dataclasses.replace(TINY, outer_lr=1e30, iterations=5)
    with pytest.raises(TrainingDivergedError, match="at step"):
        mr.train_maml_rl(config)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("inner_lr", 0.0, r"inner_lr=0.0 is out of range"),
        ("inner_steps", 0, r"inner_steps=0 is not allowed"),
        ("meta_batch", 2.5, r"meta_batch=2.5 is not allowed"),
        ("iterations", -1, r"iterations=-1 is not allowed"),
        ("outer_lr", -1e-3, r"outer_lr=-0.001 is out of range"),
        ("first_order", 1, r"first_order=1 is not allowed"),
        ("gamma", 1.5, r"gamma=1.5 is out of range"),
        ("hidden", (16, 0), r"hidden=0 is not allowed"),
        ("seed", -1, r"seed=-1 is not allowed"),
    ],
)
def test_config_validation_names_the_bad_setting(field: str, value: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        mr.MamlRLConfig(**{field: value})


def test_config_from_json_lists() -> None:
    assert mr.MamlRLConfig(hidden=[8, 8]).hidden == (8, 8)


# --- meta-testing --------------------------------------------------------------------------------


def test_adaptation_returns_are_deterministic_and_shaped() -> None:
    policy = _policy()
    tasks = nav.test_tasks(30)  # two chunks
    per_task_returns = mr.task_returns(policy, tasks, 0.1, 2, n_traj=3)
    assert per_task_returns.shape == (3, 30)
    mean = mr.adaptation_returns(policy, tasks, 0.1, 2, n_traj=3)
    torch.testing.assert_close(mean, per_task_returns.mean(dim=1))
    assert torch.equal(mean, mr.adaptation_returns(policy, tasks, 0.1, 2, n_traj=3))
    zero = mr.adaptation_returns(policy, tasks, 0.0, 2, n_traj=3)
    assert zero[0] == mean[0]  # same noise: the same first samples


def test_step_sizes_and_a_smaller_later_step() -> None:
    assert mr.step_sizes(0.1, 0) == []
    assert mr.step_sizes(0.1, 3) == [0.1, 0.1, 0.1]
    assert mr.step_sizes(0.1, 3, later_lr=0.05) == [0.1, 0.05, 0.05]
    with pytest.raises(ValueError, match="later_lr=-1"):
        mr.step_sizes(0.1, 2, later_lr=-1.0)
    policy, tasks = _policy(), nav.test_tasks(4)
    same = mr.adaptation_returns(policy, tasks, 0.1, 2, n_traj=3)
    halved = mr.adaptation_returns(policy, tasks, 0.1, 2, n_traj=3, later_lr=0.05)
    assert same[:2].tolist() == halved[:2].tolist() and same[2] != halved[2]


def test_adapted_paths_start_at_the_origin_and_end_where_the_episode_ends() -> None:
    paths = mr.adapted_paths(_policy(), nav.test_tasks(4), 0.1, steps=(0, 2), n_traj=2)
    assert sorted(paths) == [0, 2]
    for step_paths in paths.values():
        assert len(step_paths) == 4
        for path in step_paths:
            assert path.shape[1] == 2 and 2 <= path.shape[0] <= nav.HORIZON + 1
            assert np.array_equal(path[0], [0.0, 0.0])
            assert np.abs(np.diff(path, axis=0)).max() <= nav.MAX_SPEED + 1e-6


def test_random_policy_is_the_untrained_initialisation() -> None:
    a = mr.random_policy(TINY)
    b = mr.train_maml_rl(dataclasses.replace(TINY, iterations=0)).policy
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(p, q)


def test_tune_inner_lr_picks_a_candidate() -> None:
    lr = mr.tune_inner_lr(_policy(), candidates=(0.01, 0.1), n_tasks=4, n_traj=2)
    assert lr in (0.01, 0.1)


def test_hand_made_policies_bound_what_direction_alone_can_do() -> None:
    tasks = nav.test_tasks(40)
    oracle = mr.hand_made_returns(tasks, -0.5)
    fixed = mr.hand_made_returns(tasks, -0.5, radius=0.4)
    assert oracle.shape == fixed.shape == (40,)
    assert oracle.mean() > fixed.mean() + 5  # knowing the distance is worth a lot
    angles = np.linspace(0, 2 * np.pi, 8, endpoint=False)
    ring = nav.NavigationTasks(
        (0.3 * np.stack([np.cos(angles), np.sin(angles)], 1)).astype(np.float32)
    )
    torch.testing.assert_close(
        mr.hand_made_returns(ring, -0.5, radius=0.3),
        mr.hand_made_returns(ring, -0.5),
        rtol=1e-3,
        atol=1e-3,
    )
