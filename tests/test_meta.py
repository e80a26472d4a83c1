"""Tests of metarl_lite.meta: the sine tasks, the inner loop, the three
meta-gradients, the baselines, validation and determinism."""

from __future__ import annotations

import math

import pytest
import torch

from metarl_lite import meta
from metarl_lite.history import TrainingDivergedError
from metarl_lite.seeding import torch_generator


def _batch(n_tasks: int = 3, k: int = 5, q: int = 7, seed: int = 0) -> meta.TaskBatch:
    generator = torch_generator(seed)
    return meta.sample_batch(meta.sample_sine_tasks(n_tasks, generator), k, q, generator)


def _double(batch: meta.TaskBatch) -> meta.TaskBatch:
    return meta.TaskBatch(*(t.double() for t in batch))


# --- tasks ---------------------------------------------------------------------------------------


def test_tasks_lie_in_the_published_ranges() -> None:
    tasks = meta.sample_sine_tasks(10_000, torch_generator(0))
    assert tasks.amplitude.min() >= 0.1 and tasks.amplitude.max() <= 5.0
    assert tasks.phase.min() >= 0.0 and tasks.phase.max() <= math.pi
    batch = meta.sample_batch(tasks, 10, 5, torch_generator(1))
    assert batch.x_support.shape == (10_000, 10, 1) and batch.x_query.shape == (10_000, 5, 1)
    assert batch.x_support.min() >= -5 and batch.x_query.max() <= 5
    torch.testing.assert_close(batch.y_support, tasks(batch.x_support))
    mean_a, mean_a2 = meta.amplitude_moments()
    assert tasks.amplitude.mean().item() == pytest.approx(mean_a, abs=0.05)
    assert (tasks.amplitude**2).mean().item() == pytest.approx(mean_a2, abs=0.2)


def test_meta_test_set_is_fixed_and_shares_its_tasks_across_k() -> None:
    a, b = meta.meta_test_set(10), meta.meta_test_set(10)
    for ta, tb in zip(a, b, strict=True):
        assert torch.equal(ta, tb)
    five = meta.meta_test_set(5)
    assert a.x_support.shape == (meta.TEST_TASKS, 10, 1) and five.x_support.shape[1] == 5
    # Same sine waves: the ratio y/sin is the same task by task at any point.
    tasks = meta.sample_sine_tasks(meta.TEST_TASKS, torch_generator(meta.TEST_SEED))
    torch.testing.assert_close(five.y_query, tasks(five.x_query))


def test_training_validation_and_test_tasks_are_disjoint() -> None:
    def pairs(tasks: meta.SineTasks) -> set[tuple[float, float]]:
        return set(zip(tasks.amplitude.tolist(), tasks.phase.tolist(), strict=True))

    test = pairs(meta.sample_sine_tasks(meta.TEST_TASKS, torch_generator(meta.TEST_SEED)))
    valid = pairs(meta.sample_sine_tasks(100, torch_generator(meta.VALIDATION_SEED)))
    pools = (meta.sample_sine_tasks(1000, torch_generator(seed)) for seed in range(5))
    train = set().union(*(pairs(pool) for pool in pools))
    assert not test & train and not valid & train and not test & valid


# --- network and inner loop ----------------------------------------------------------------------


def test_per_task_forward_equals_one_network_per_task() -> None:
    model = meta.SineNet(generator=torch_generator(0))
    batch = _batch()
    params = meta.per_task(meta.parameters_of(model), 3)
    out = meta.forward(model, params, batch.x_query)
    for i in range(3):
        torch.testing.assert_close(out[i], model(batch.x_query[i]))


def test_adapt_gives_each_task_its_own_gradient_step() -> None:
    model = meta.SineNet(generator=torch_generator(0))
    batch = _batch()
    params = meta.per_task(meta.parameters_of(model), 3)
    adapted = meta.adapt(model, params, batch.x_support, batch.y_support, 0.05, 1)
    for i in range(3):
        single = meta.SineNet()
        single.load_state_dict(model.state_dict())
        loss = ((single(batch.x_support[i]) - batch.y_support[i]) ** 2).mean()
        loss.backward()
        for name, p in single.named_parameters():
            torch.testing.assert_close(adapted[name][i], p - 0.05 * p.grad)


# --- meta-gradients ------------------------------------------------------------------------------


def test_maml_meta_gradient_matches_finite_differences() -> None:
    model = meta.SineNet(hidden=(3,), generator=torch_generator(1)).double()
    batch = _double(_batch(n_tasks=2, k=4, q=6, seed=2))
    params = meta.parameters_of(model)

    def objective() -> float:
        return meta.maml_loss(model, params, batch, inner_lr=0.1, inner_steps=2).item()

    loss = meta.maml_loss(model, params, batch, inner_lr=0.1, inner_steps=2)
    grads = torch.autograd.grad(loss, list(params.values()))
    eps = 1e-6
    for p, g in zip(params.values(), grads, strict=True):
        flat, g_flat = p.data.view(-1), g.view(-1)
        for j in range(flat.numel()):
            old = flat[j].item()
            flat[j] = old + eps
            up = objective()
            flat[j] = old - eps
            down = objective()
            flat[j] = old
            assert g_flat[j].item() == pytest.approx((up - down) / (2 * eps), rel=1e-5, abs=1e-8)


def test_first_order_maml_drops_exactly_the_second_order_term() -> None:
    # A linear model y = w x + b has the quadratic loss mean((w x + b - y)^2), whose
    # Hessian on task i's support set is H_i = 2 mean([x, 1][x, 1]^T). For one inner
    # step, MAML's meta-gradient is mean_i (I - alpha H_i) g_i with g_i the query
    # gradient at the adapted point; first-order MAML keeps mean_i g_i only.
    model = meta.SineNet(hidden=(), generator=torch_generator(3)).double()
    batch = _double(_batch(n_tasks=4, k=5, q=8, seed=4))
    params = meta.parameters_of(model)
    alpha = 0.1

    def grad(first_order: bool) -> torch.Tensor:
        loss = meta.maml_loss(model, params, batch, alpha, 1, first_order=first_order)
        return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(params.values()))])

    maml, fomaml = grad(False), grad(True)
    features = torch.cat([batch.x_support, torch.ones_like(batch.x_support)], dim=-1)  # (B, K, 2)
    hessians = 2 * features.transpose(1, 2) @ features / features.shape[1]  # (B, 2, 2)
    # Per-task query gradients at the adapted point, in the order (w, b).
    phi = meta.adapt(model, meta.per_task(params, 4), batch.x_support, batch.y_support, alpha, 1)
    per_task_loss = meta.task_losses(model, phi, batch.x_query, batch.y_query).sum() / 4
    g = torch.autograd.grad(per_task_loss, list(phi.values()))
    g_tasks = torch.cat([g[0].reshape(4, 1), g[1].reshape(4, 1)], dim=1)  # (B, 2)
    second_order_term = -alpha * (hessians @ g_tasks.unsqueeze(-1)).squeeze(-1).sum(dim=0)
    torch.testing.assert_close(fomaml, g_tasks.sum(dim=0))
    torch.testing.assert_close(maml - fomaml, second_order_term)
    assert second_order_term.abs().max() > 1e-3  # the term is not negligible here


def test_reptile_on_one_task_with_one_step_is_a_scaled_sgd_step() -> None:
    seed, alpha, epsilon = 5, 0.02, 0.3
    config = meta.MetaConfig(
        method="reptile",
        meta_batch=1,
        n_tasks=1,
        iterations=1,
        inner_steps=1,
        inner_lr=alpha,
        outer_lr=epsilon,
        outer_optimizer="sgd",
        seed=seed,
    )
    after = meta.train_meta(config, progress=False).model
    # Replay the run's draws: initial weights, the pool of one task, the draw, the batch.
    generator = torch_generator(seed)
    before = meta.SineNet(generator=generator)
    pool = meta.sample_sine_tasks(1, generator)
    torch.randint(1, (1,), generator=generator)
    batch = meta.sample_batch(pool, config.k_shots, config.n_query, generator)
    loss = ((before(batch.x_support[0]) - batch.y_support[0]) ** 2).mean()
    loss.backward()
    for (name, p), q in zip(before.named_parameters(), after.parameters(), strict=True):
        torch.testing.assert_close(q, p - epsilon * alpha * p.grad, msg=name)


def test_one_step_of_parameter_averaging_is_one_step_of_joint_training() -> None:
    config = meta.MetaConfig(
        method="average",
        n_tasks=8,
        meta_batch=8,
        iterations=1,
        outer_optimizer="sgd",
        outer_lr=0.05,
        seed=6,
    )
    assert meta.average_steps(config) == 1
    averaged = meta.train_average(config, progress=False).model
    generator = torch_generator(config.seed)
    joint = meta.SineNet(generator=generator)
    pool = meta.sample_sine_tasks(8, generator)
    batch = meta.sample_batch(pool, config.k_shots, config.n_query, generator)
    meta.multitask_loss(joint, meta.parameters_of(joint), batch).backward()
    for (name, p), q in zip(joint.named_parameters(), averaged.parameters(), strict=True):
        torch.testing.assert_close(q, p - 0.05 * p.grad, msg=name)


# --- training and testing ------------------------------------------------------------------------


@pytest.mark.parametrize("method", meta.METHODS)
def test_training_is_deterministic(method: str) -> None:
    def run(seed: int) -> tuple[dict[str, torch.Tensor], list[float]]:
        config = meta.MetaConfig(
            method=method, iterations=40, n_tasks=20, log_every=10, seed=seed, inner_steps=2
        )
        result = meta.train_meta(config, progress=False)
        return result.model.state_dict(), result.history.losses

    (w1, l1), (w2, l2), (w3, _) = run(0), run(0), run(1)
    assert l1 == l2
    assert all(torch.equal(w1[k], w2[k]) for k in w1)
    assert not all(torch.equal(w1[k], w3[k]) for k in w1)
    if method != "scratch":  # average logs per copy step: 40 * 25 / 20 = 50 steps
        assert len(l1) == (5 if method == "average" else 4)
        assert all(math.isfinite(v) for v in l1)


def test_a_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    short = meta.train_meta(meta.MetaConfig(iterations=20, log_every=10), progress=False)
    long = meta.train_meta(meta.MetaConfig(iterations=40, log_every=10), progress=False)
    assert long.history.losses[:2] == short.history.losses


def test_maml_learns_to_adapt_in_600_iterations() -> None:
    config = meta.MetaConfig(iterations=600, seed=0)
    trained = meta.train_meta(config, progress=False).model
    untrained = meta.train_meta(meta.MetaConfig(method="scratch"), progress=False).model
    batch = meta.meta_test_set(10, n_tasks=100)
    after = meta.adaptation_curve(trained, batch, 0.01, 10).mean(dim=1)
    before = meta.adaptation_curve(untrained, batch, 0.01, 10).mean(dim=1)
    assert after.shape == (11,)
    assert after[10] < after[1] < after[0]
    assert after[1] < 0.5 * before[1]


def test_adaptation_curve_and_predictions_agree() -> None:
    model = meta.SineNet(generator=torch_generator(0))
    batch = meta.meta_test_set(10, n_tasks=4)
    curve = meta.adaptation_curve(model, batch, 0.01, 3)
    preds = meta.adapted_predictions(model, batch, batch.x_query, 0.01, [0, 3])
    for step in (0, 3):
        torch.testing.assert_close(
            ((preds[step] - batch.y_query) ** 2).mean(dim=(1, 2)), curve[step]
        )


def test_task_agnostic_mse_matches_monte_carlo() -> None:
    exact = meta.task_agnostic_mse()
    assert exact == pytest.approx(3.006, abs=1e-3)
    generator = torch_generator(0)
    batch = meta.sample_batch(meta.sample_sine_tasks(200_000, generator), 1, 4, generator)
    mean_a, _ = meta.amplitude_moments()
    guess = -(2 / math.pi) * mean_a * torch.cos(batch.x_query)
    assert ((guess - batch.y_query) ** 2).mean().item() == pytest.approx(exact, abs=0.03)


def test_tune_inner_lr_picks_a_candidate_and_skips_divergent_ones() -> None:
    model = meta.SineNet(generator=torch_generator(0))
    assert meta.tune_inner_lr(model, 10, candidates=(1e-4, 0.01, 1.0), n_tasks=20) == 0.01


# --- errors --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k_shots": 0}, "k_shots=0"),
        ({"k_shots": 101}, r"k_shots=101 is out of range: allowed is \[1, 100\]"),
        ({"k_shots": 2.5}, "k_shots=2.5"),
        ({"inner_steps": 0}, "inner_steps=0"),
        ({"inner_steps": 101}, "inner_steps=101 is out of range"),
        ({"inner_lr": 0.0}, r"inner_lr=0.0 is out of range: allowed is \(0.0, 1.0\]"),
        ({"inner_lr": 1.5}, "inner_lr=1.5 is out of range"),
        ({"outer_lr": -1e-3}, "outer_lr=-0.001"),
        ({"method": "tfml"}, "method='tfml' is not allowed"),
        ({"outer_optimizer": "rmsprop"}, "outer_optimizer='rmsprop'"),
        ({"method": "average"}, "n_tasks=None is not allowed for method='average'"),
        ({"n_tasks": 0}, "n_tasks=0"),
        ({"meta_batch": 0}, "meta_batch=0"),
    ],
)
def test_config_rejects_bad_values_by_name(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        meta.MetaConfig(**kwargs)


def test_bad_arguments_of_the_test_functions_are_named() -> None:
    model = meta.SineNet()
    with pytest.raises(ValueError, match=r"inner_lr=-0\.1 is out of range"):
        meta.adaptation_curve(model, _batch(), -0.1)
    with pytest.raises(ValueError, match="k_shots=0"):
        meta.meta_test_set(0)
    with pytest.raises(ValueError, match="n=0"):
        meta.sample_sine_tasks(0, torch_generator(0))


def test_divergence_stops_with_a_clear_message() -> None:
    model = meta.SineNet(generator=torch_generator(0))
    with pytest.raises(TrainingDivergedError, match=r"meta-test query MSE became .* at step"):
        meta.adaptation_curve(model, meta.meta_test_set(10, n_tasks=10), 1.0, 50)
    config = meta.MetaConfig(iterations=50, outer_lr=1e6, outer_optimizer="sgd")
    with pytest.raises(TrainingDivergedError, match="maml meta-training loss became"):
        meta.train_meta(config, progress=False)
