"""Tests of metarl_lite.learned_opt: gradient preprocessing, the coordinate-wise
LSTM rule, apply_rule and LearnedOptimizer, checkpoints, the quadratics,
validation, determinism, and the paper's first result (a rule meta-trained on
quadratics optimises held-out quadratics)."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from metarl_lite import learned_opt as lo
from metarl_lite.history import TrainingDivergedError
from metarl_lite.seeding import torch_generator


def _rule(seed: int = 0, config: lo.LSTMRuleConfig | None = None) -> lo.LSTMRule:
    return lo.LSTMRule(config or lo.LSTMRuleConfig(), generator=torch_generator(seed))


def _warm_state(rule: lo.LSTMRule, n: int, steps: int = 3, seed: int = 1) -> lo.LSTMState:
    """A non-zero state: the rule run ``steps`` times on random gradients."""
    generator = torch_generator(seed)
    state = rule.initial_state(n)
    with torch.no_grad():
        for _ in range(steps):
            _, state = rule(torch.randn(n, generator=generator), state)
    return state


# --- preprocessing -------------------------------------------------------------------------------


def test_preprocessing_matches_the_formula_on_hand_chosen_values() -> None:
    p = 10.0
    values = [2.0, -0.5, 1.0, 1e-3, 0.0, 1e-6, -1e-5, math.exp(-p), -math.exp(-p)]
    expected = [
        (math.log(2.0) / p, 1.0),
        (math.log(0.5) / p, -1.0),
        (0.0, 1.0),
        (math.log(1e-3) / p, 1.0),
        (-1.0, 0.0),  # zero gradient: the small branch, (-1, e^p * 0)
        (-1.0, 1e-6 * math.exp(p)),  # below e^{-p} = 4.54e-5: (-1, e^p g)
        (-1.0, -1e-5 * math.exp(p)),
        (-1.0, 1.0),  # on the boundary |g| = e^{-p}: the log branch, log(e^-p)/p = -1
        (-1.0, -1.0),
    ]
    out = lo.preprocess_gradient(torch.tensor(values, dtype=torch.float64), p)
    assert out.shape == (len(values), 2) and out.dtype == torch.float64
    torch.testing.assert_close(
        out, torch.tensor(expected, dtype=torch.float64), rtol=0, atol=1e-15
    )
    # Just below the boundary the small branch gives nearly the same pair: continuous.
    below = lo.preprocess_gradient(torch.tensor([math.exp(-p) * (1 - 1e-9)], dtype=torch.float64))
    torch.testing.assert_close(below[0], torch.tensor([-1.0, 1.0], dtype=torch.float64))
    assert below[0, 1].item() < 1.0


def test_preprocessing_uses_p_and_keeps_shapes() -> None:
    grad = torch.tensor([[0.1, -3.0], [0.0, 1e-3]])
    out = lo.preprocess_gradient(grad, p=5.0)
    assert out.shape == (2, 2, 2)
    # e^{-5} = 6.7e-3, so 1e-3 is now small: (-1, e^5 * 1e-3).
    torch.testing.assert_close(out[1, 1], torch.tensor([-1.0, 1e-3 * math.exp(5.0)]))
    torch.testing.assert_close(out[0, 1], torch.tensor([math.log(3.0) / 5.0, -1.0]))
    assert lo.PREPROCESS_P == 10.0 and lo.LSTMRuleConfig().p == 10.0
    assert torch.isfinite(lo.preprocess_gradient(torch.zeros(4))).all()


# --- the rule ------------------------------------------------------------------------------------


def test_rule_has_the_paper_architecture_and_shapes() -> None:
    config = lo.LSTMRuleConfig()
    assert (config.hidden, config.layers, config.output_scale) == (20, 2, 0.1)
    rule = _rule()
    state = rule.initial_state(7)
    assert state.h.shape == state.c.shape == (2, 7, 20)
    assert not state.h.any() and not state.c.any()
    update, new = rule(torch.randn(7), state)
    assert update.shape == (7,) and new.h.shape == new.c.shape == (2, 7, 20)
    # The update is output_scale times the linear read-out of the top hidden state.
    expected = rule.output(new.h[-1]).squeeze(-1) * 0.1
    torch.testing.assert_close(update, expected)


def test_rule_is_coordinate_wise() -> None:
    rule, n = _rule(), 50
    state = _warm_state(rule, n)
    grad = torch.randn(n, generator=torch_generator(2))
    with torch.no_grad():
        update, new = rule(grad, state)
        # Permuting the coordinates (gradients and states) permutes the updates.
        perm = torch.randperm(n, generator=torch_generator(3))
        permuted_state = lo.LSTMState(state.h[:, perm], state.c[:, perm])
        update_p, new_p = rule(grad[perm], permuted_state)
        torch.testing.assert_close(update_p, update[perm])
        torch.testing.assert_close(new_p.h, new.h[:, perm])
        # Changing every other coordinate leaves coordinate 0's update unchanged.
        other = grad.clone()
        other[1:] = torch.randn(n - 1, generator=torch_generator(4)) * 100
        update_o, _ = rule(other, state)
        torch.testing.assert_close(update_o[0], update[0])
        assert not torch.allclose(update_o[1:], update[1:])
        # A coordinate alone gives the same update as inside the batch.
        alone, _ = rule(grad[5:6], lo.LSTMState(state.h[:, 5:6], state.c[:, 5:6]))
        torch.testing.assert_close(alone[0], update[5])


def test_rule_detaches_the_gradient_but_not_its_weights() -> None:
    rule = _rule()
    grad = torch.randn(6, requires_grad=True)
    update, _ = rule(grad, _warm_state(rule, 6))
    update.sum().backward()
    assert grad.grad is None  # no second derivatives
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in rule.parameters())


def test_rule_initialisation_is_deterministic() -> None:
    a, b, c = _rule(0), _rule(0), _rule(1)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters(), strict=True):
        assert torch.equal(pa, pb) and not torch.equal(pa, pc)
        assert pa.abs().max() <= 1 / math.sqrt(20)


# --- apply_rule and LearnedOptimizer -------------------------------------------------------------


def test_apply_rule_round_trips_shapes_and_keeps_the_graph() -> None:
    rule = _rule()
    generator = torch_generator(5)
    shapes = [(4, 3, 2), (7,), (4, 5), ()]
    params = [torch.randn(s, generator=generator) for s in shapes]
    grads = [torch.randn(s, generator=generator) for s in shapes]
    new, state = lo.apply_rule(rule, params, grads, None)
    assert [tuple(p.shape) for p in new] == shapes
    n = sum(p.numel() for p in params)
    assert state.h.shape == (2, n, 20)
    # Same as one call of the rule on the concatenated gradient.
    flat_update, flat_state = rule(
        torch.cat([g.reshape(-1) for g in grads]), rule.initial_state(n)
    )
    flat_new = torch.cat([p.reshape(-1) for p in params]) + flat_update
    torch.testing.assert_close(torch.cat([p.reshape(-1) for p in new]), flat_new)
    torch.testing.assert_close(state.h, flat_state.h)
    # The new parameters depend on the rule's weights.
    sum(p.sum() for p in new).backward()
    assert rule.output.weight.grad is not None and rule.output.weight.grad.abs().sum() > 0


def test_apply_rule_rejects_mismatched_gradients() -> None:
    rule = _rule()
    with pytest.raises(ValueError, match=r"grads\[0\] has shape \(3,\).*\(2,\)"):
        lo.apply_rule(rule, [torch.zeros(2)], [torch.zeros(3)], None)
    with pytest.raises(ValueError, match="grads has 1 tensors but params has 2"):
        lo.apply_rule(rule, [torch.zeros(2), torch.zeros(1)], [torch.zeros(2)], None)


def test_learned_optimizer_equals_apply_rule() -> None:
    rule = _rule()
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    torch.manual_seed(0)
    for p in model.parameters():
        nn.init.normal_(p)
    names = [name for name, _ in model.named_parameters()]
    params = [p.detach().clone() for p in model.parameters()]
    optimizer = lo.LearnedOptimizer(model.parameters(), rule)
    generator = torch_generator(6)
    x, y = torch.randn(16, 3, generator=generator), torch.randn(16, 2, generator=generator)
    state = None
    for _ in range(4):
        # The optimiser on the module...
        optimizer.zero_grad()
        ((model(x) - y) ** 2).mean().backward()
        optimizer.step()
        # ... and apply_rule on a functional copy.
        copies = [p.requires_grad_() for p in params]
        named = dict(zip(names, copies, strict=True))
        out = torch.func.functional_call(model, named, x)
        grads = torch.autograd.grad(((out - y) ** 2).mean(), copies)
        with torch.no_grad():
            params, state = lo.apply_rule(rule, copies, list(grads), state)
    for p, q in zip(model.parameters(), params, strict=True):
        torch.testing.assert_close(p.detach(), q)
    first = next(iter(model.parameters()))
    assert optimizer.state[first]["h"].shape == (2, first.numel(), 20)
    assert all(w.grad is None for w in rule.parameters())  # the rule is not trained here


def test_learned_optimizer_skips_parameters_without_gradient() -> None:
    a, b = nn.Parameter(torch.ones(3)), nn.Parameter(torch.ones(2))
    optimizer = lo.LearnedOptimizer([a, b], _rule())
    (a**2).sum().backward()
    optimizer.step()
    assert not torch.equal(a.detach(), torch.ones(3)) and torch.equal(b.detach(), torch.ones(2))
    assert b not in optimizer.state


def test_checkpoint_round_trip(tmp_path) -> None:
    config = lo.LSTMRuleConfig(hidden=8, layers=3, p=5.0, output_scale=0.05)
    rule = _rule(3, config)
    path = tmp_path / "rule.pt"
    lo.save_rule(rule, path)
    loaded = lo.load_rule(path)
    assert loaded.config == config
    grad = torch.randn(11, generator=torch_generator(7))
    state = _warm_state(rule, 11)
    with torch.no_grad():
        u1, s1 = rule(grad, state)
        u2, s2 = loaded(grad, state)
    assert torch.equal(u1, u2) and torch.equal(s1.h, s2.h) and torch.equal(s1.c, s2.c)


# --- quadratics ----------------------------------------------------------------------------------


def test_quadratic_tasks_loss_and_gradient() -> None:
    tasks = lo.quadratic_tasks(torch_generator(0), 5, 4)
    assert tasks.W.shape == (5, 4, 4) and tasks.y.shape == (5, 4) and tasks.theta0.shape == (5, 4)
    theta = torch.randn(5, 4, generator=torch_generator(1), requires_grad=True)
    loss = lo.quadratic_loss(theta, tasks.W, tasks.y)
    rows = zip(tasks.W, theta, tasks.y, strict=True)
    expected = torch.stack([((w @ t - y) ** 2).sum() for w, t, y in rows])
    torch.testing.assert_close(loss, expected)
    (auto,) = torch.autograd.grad(loss.sum(), theta)
    torch.testing.assert_close(lo.quadratic_grad(theta, tasks.W, tasks.y), auto)
    # The held-out tasks are fixed and prefix-stable, and differ from training draws.
    a, b = lo.held_out_quadratics(10), lo.held_out_quadratics(30)
    assert all(torch.equal(x, z[:10]) for x, z in zip(a, b, strict=True))
    train = lo.quadratic_tasks(torch_generator(0), 1000)
    assert not (train.y[:, None, :] == a.y[None]).all(-1).any()


def test_optimise_quadratics_sgd_is_gradient_descent() -> None:
    tasks = lo.quadratic_tasks(torch_generator(0), 6)
    curve = lo.optimise_quadratics("sgd", tasks, 5, lr=0.01)
    assert curve.shape == (6, 6)
    theta = tasks.theta0.clone()
    torch.testing.assert_close(curve[0], lo.quadratic_loss(theta, tasks.W, tasks.y))
    for _ in range(5):
        theta = theta - 0.01 * lo.quadratic_grad(theta, tasks.W, tasks.y)
    torch.testing.assert_close(curve[-1], lo.quadratic_loss(theta, tasks.W, tasks.y))
    for method in ("adam", "rmsprop"):
        assert lo.optimise_quadratics(method, tasks, 5, lr=0.01).shape == (6, 6)
    assert lo.optimise_quadratics("lstm", tasks, 5, rule=_rule()).shape == (6, 6)
    with pytest.raises(TrainingDivergedError):
        lo.optimise_quadratics("sgd", tasks, 100, lr=10.0)


# --- validation and determinism ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "pattern"),
    [
        (lambda: lo.LSTMRuleConfig(hidden=0), r"hidden=0 .*positive integer"),
        (lambda: lo.LSTMRuleConfig(layers=2.0), r"layers=2.0 .*positive integer"),
        (lambda: lo.LSTMRuleConfig(p=-1.0), r"p=-1.0 is out of range: allowed is \(0.0, 80.0\]"),
        (lambda: lo.LSTMRuleConfig(output_scale=0.0), r"output_scale=0.0 is out of range"),
        (lambda: lo.QuadraticConfig(dim=0), r"dim=0 .*positive integer"),
        (lambda: lo.QuadraticConfig(unroll=30), r"unroll=30 .*horizon=100: it must divide"),
        (lambda: lo.QuadraticConfig(unroll=200), r"unroll=200 is out of range: allowed is \[1"),
        (lambda: lo.QuadraticConfig(meta_lr=0.0), r"meta_lr=0.0 is out of range: allowed is"),
        (lambda: lo.QuadraticConfig(iterations=-1), r"iterations=-1 .*integer >= 0"),
        (lambda: lo.QuadraticConfig(seed=-3), r"seed=-3 .*integer >= 0"),
        (lambda: lo.quadratic_tasks(torch_generator(0), 0), r"n=0 .*positive integer"),
        (
            lambda: lo.optimise_quadratics("newton", lo.held_out_quadratics(2), 3, lr=0.1),
            r"method='newton' is not allowed: choose one of 'lstm', 'sgd', 'adam', 'rmsprop'",
        ),
        (
            lambda: lo.optimise_quadratics("sgd", lo.held_out_quadratics(2), 3),
            r"lr=None is not allowed for method='sgd'",
        ),
        (
            lambda: lo.optimise_quadratics("adam", lo.held_out_quadratics(2), 3, lr=-0.1),
            r"lr=-0.1 is out of range",
        ),
        (
            lambda: lo.optimise_quadratics("lstm", lo.held_out_quadratics(2), 3),
            r"rule=None is not allowed for method='lstm'",
        ),
    ],
)
def test_bad_arguments_name_argument_value_and_allowed(make, pattern) -> None:
    with pytest.raises(ValueError, match=pattern):
        make()


_SMALL = lo.QuadraticConfig(meta_batch=8, horizon=10, unroll=5, iterations=3, log_every=1)


def test_meta_training_is_deterministic() -> None:
    rule_a, hist_a = lo.train_on_quadratics(_SMALL, progress=False)
    rule_b, hist_b = lo.train_on_quadratics(_SMALL, progress=False)
    rule_c, hist_c = lo.train_on_quadratics(
        lo.QuadraticConfig(**{**_SMALL.__dict__, "seed": 1}), progress=False
    )
    assert hist_a.losses == hist_b.losses and len(hist_a.losses) == 3
    assert hist_a.losses != hist_c.losses
    for a, b, c in zip(rule_a.parameters(), rule_b.parameters(), rule_c.parameters(), strict=True):
        assert torch.equal(a, b) and not torch.equal(a, c)
    assert hist_a.config["quadratic"]["seed"] == 0 and hist_a.config["rule"]["hidden"] == 20


def test_divergence_raises_with_the_iteration() -> None:
    huge = lo.LSTMRuleConfig(output_scale=1e25)
    with pytest.raises(TrainingDivergedError, match=r"quadratic meta-loss became .* at step 1"):
        lo.train_on_quadratics(_SMALL, huge, progress=False)


# --- the paper's first result --------------------------------------------------------------------


def test_meta_trained_rule_optimises_held_out_quadratics() -> None:
    """A short meta-training on quadratics (Andrychowicz et al., 2016, section 3.1)
    gives a rule that lowers held-out quadratics' loss far below the start, and far
    below what the untrained rule reaches."""
    config = lo.QuadraticConfig(meta_batch=32, iterations=40, meta_lr=3e-3, log_every=10)
    rule, history = lo.train_on_quadratics(config, progress=False)
    assert history.losses[-1] < history.losses[0]
    tasks = lo.held_out_quadratics(200)
    trained = lo.optimise_quadratics("lstm", tasks, 100, rule=rule).mean(dim=1)
    untrained = lo.optimise_quadratics("lstm", tasks, 100, rule=_rule(0)).mean(dim=1)
    assert trained[-1] < 0.2 * trained[0]
    assert trained[-1] < 0.5 * untrained[-1]
