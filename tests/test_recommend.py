"""The recommenders: the linear maths by hand, common random numbers, tuning, RL^2 training."""

import dataclasses

import numpy as np
import pytest
import torch

from metarl_lite import recommend, rl2
from metarl_lite.envs import drifting_users as du


def test_regret_per_step() -> None:
    means = np.array([[[0.2, 0.9, 0.5], [0.7, 0.1, 0.3]]])
    actions = np.array([[1, 2]])
    np.testing.assert_allclose(recommend.regret_per_step(means, actions), [[0.0, 0.4]])


def test_ridge_update_and_linucb_score_by_hand() -> None:
    """Two observations, then the score of one item computed with explicit sums."""
    a_matrix, b = np.eye(2)[None].copy(), np.zeros((1, 2))
    x1, x2 = np.array([[1.0, 0.0]]), np.array([[0.6, 0.8]])
    a_matrix, b = recommend.ridge_update(a_matrix, b, x1, np.array([1.0]))
    a_matrix, b = recommend.ridge_update(a_matrix, b, x2, np.array([-1.0]))
    expected_a = np.eye(2) + np.outer(x1[0], x1[0]) + np.outer(x2[0], x2[0])
    np.testing.assert_allclose(a_matrix[0], expected_a)
    np.testing.assert_allclose(b[0], x1[0] - x2[0])
    a_inv = np.linalg.inv(a_matrix)
    theta_hat = a_inv[0] @ b[0]
    items = np.array([[0.0, 1.0], [1.0, 0.0]])
    scores = recommend.linucb_scores(items, theta_hat[None], a_inv, 0.5)
    for i, x in enumerate(items):
        by_hand = x @ theta_hat + 0.5 * np.sqrt(x @ a_inv[0] @ x)
        assert scores[0, i] == pytest.approx(by_hand)


def test_discounted_update_forgets_and_keeps_the_penalty() -> None:
    a_matrix, b = np.eye(2)[None] * recommend.RIDGE, np.zeros((1, 2))
    x = np.array([[1.0, 0.0]])
    a1, b1 = recommend.ridge_update(a_matrix, b, x, np.array([1.0]), gamma=0.5)
    np.testing.assert_allclose(a1[0], [[2.0, 0.0], [0.0, 1.0]])  # 0.5 I + x x^T + 0.5 I
    a2, b2 = recommend.ridge_update(a1, b1, np.array([[0.0, 1.0]]), np.array([1.0]), gamma=0.5)
    np.testing.assert_allclose(a2[0], [[1.5, 0.0], [0.0, 2.0]])
    np.testing.assert_allclose(b2[0], [0.5, 1.0])


def test_thompson_sample_has_the_posterior_covariance() -> None:
    a_inv = np.array([[[0.5, 0.1], [0.1, 0.2]]])
    z = np.random.default_rng(0).standard_normal((200_000, 2))
    draws = recommend.thompson_sample(
        np.array([[1.0, -1.0]]).repeat(len(z), 0), a_inv.repeat(len(z), 0), 2.0, z
    )
    np.testing.assert_allclose(draws.mean(axis=0), [1.0, -1.0], atol=0.01)
    np.testing.assert_allclose(np.cov(draws.T), 4.0 * a_inv[0], atol=0.01)


@pytest.mark.parametrize("algorithm", recommend.ALGORITHMS)
def test_play_is_deterministic_and_uses_the_click_table(algorithm: str) -> None:
    users = du.test_tasks(50, shift_at=10)
    s1 = recommend.play(algorithm, users, 20, np.random.default_rng(3))
    s2 = recommend.play(algorithm, users, 20, np.random.default_rng(3))
    np.testing.assert_array_equal(s1.actions, s2.actions)
    u = np.random.default_rng(3).random((50, 20, du.N_ITEMS))
    means = du.session_means(users, du.catalogue(), 20)
    rows, steps = np.arange(50)[:, None], np.arange(20)[None]
    expected = (u[rows, steps, s1.actions] < means[rows, steps, s1.actions]).astype(float)
    np.testing.assert_array_equal(s1.clicks, expected)
    assert (s1.regret >= 0).all()
    np.testing.assert_allclose(s1.cumulative_regret[:, -1], s1.regret.sum(axis=1))


def test_linear_methods_beat_random_and_discounting_helps_after_the_shift() -> None:
    users = du.test_tasks(400, shift_at=50)
    regret = {
        a: recommend.play(a, users, 100, np.random.default_rng(0)).regret
        for a in recommend.ALGORITHMS
    }
    for a in ("linucb", "lin_ts", "d_linucb"):
        assert regret[a].sum(axis=1).mean() < 0.7 * regret["random"].sum(axis=1).mean()
    assert regret["d_linucb"][:, 50:].sum() < 0.8 * regret["linucb"][:, 50:].sum()


def test_tuned_constants_repeat() -> None:
    """The stored best setting of LinUCB (the cheapest grid) is what tune() finds."""
    assert recommend.tune("linucb").best == recommend.TUNED["linucb"]


def test_tune_picks_the_least_regret() -> None:
    result = recommend.tune("lin_ts", n_tasks=50, steps=20)
    assert len(result.values) == len(recommend.TUNING_GRIDS["lin_ts"]["v"])
    assert result.best == result.values[int(np.argmin(result.regrets))]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"algorithm": "ucb1"}, "algorithm='ucb1'"),
        ({"algorithm": "linucb", "v": 0.1}, "v=0.1 is not a hyper-parameter"),
        ({"algorithm": "linucb", "alpha": -1.0}, "alpha=-1.0"),
        ({"algorithm": "d_linucb", "gamma": 0.0}, "gamma=0.0"),
        ({"algorithm": "random", "steps": 0}, "steps=0"),
    ],
)
def test_play_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    args = {"tasks": du.test_tasks(2), "steps": 5, "rng": np.random.default_rng(0), **kwargs}
    with pytest.raises(ValueError, match=match):
        recommend.play(**args)


@pytest.mark.parametrize(
    ("field", "value"),
    [("items", 1), ("hidden", 0), ("shift_high", 10), ("lr", 0.0), ("expected_reward", 1)],
)
def test_config_rejects_bad_values(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        recommend.RecommenderConfig(**{field: value})


TINY = recommend.RecommenderConfig(
    hidden=8, batch=8, updates=3, steps=12, shift_low=4, shift_high=8
)


def test_training_is_deterministic_and_short_runs_are_prefixes() -> None:
    full = recommend.train_recommender(TINY)
    again = recommend.train_recommender(TINY)
    part = recommend.train_recommender(TINY, stop_after=2)
    assert full.history.episode_returns == again.history.episode_returns
    assert part.history.episode_returns == full.history.episode_returns[:2]
    for p, q in zip(full.model.parameters(), again.model.parameters(), strict=True):
        assert torch.equal(p, q)
    assert full.history.episode_steps == [96, 192, 288]
    assert full.history.config == dataclasses.asdict(TINY)


def test_rl2_evaluation_meets_the_same_clicks_as_the_baselines() -> None:
    model = recommend.train_recommender(TINY).model
    users = du.test_tasks(30, shift_at=6)
    session = recommend.evaluate_rl2(model, users, 12, np.random.default_rng(4))
    u = np.random.default_rng(4).random((30, 12, du.N_ITEMS))
    means = du.session_means(users, du.catalogue(), 12)
    rows, steps = np.arange(30)[:, None], np.arange(12)[None]
    a = session.actions
    np.testing.assert_array_equal(session.clicks, (u[rows, steps, a] < means[rows, steps, a]))
    np.testing.assert_allclose(session.regret, recommend.regret_per_step(means, a))


def test_the_critic_sees_the_means_of_each_step() -> None:
    """rl2's value head takes means (T, B, k) that change within the trial, and with
    means constant over time it equals the chapter-4 form (B, k)."""
    model = recommend.policy_for(TINY, torch.Generator().manual_seed(0))
    hidden = torch.randn(5, 3, 8, generator=torch.Generator().manual_seed(1))
    means = torch.rand(3, 10, generator=torch.Generator().manual_seed(2))
    constant = model.values(hidden, means)
    assert torch.equal(model.values(hidden, means.expand(5, -1, -1)), constant)
    assert isinstance(model, rl2.GRUPolicy)
