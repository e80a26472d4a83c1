"""Returns, Bellman equations and Q-learning against hand-computed values."""

# ruff: noqa: N806 -- P, R, V, Q follow the maths (Sutton and Barto's notation).

import math

import numpy as np
import pytest

from metarl_lite import tabular as tb
from metarl_lite.envs import GridWorldEnv
from metarl_lite.tabular import QLearningConfig, train_q_learning

# --- returns -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rewards", "gamma", "expected"),
    [
        ([1.0, 2.0, 3.0], 0.5, 1.0 + 0.5 * 2.0 + 0.25 * 3.0),  # 2.75
        ([1.0, 2.0, 3.0], 1.0, 6.0),
        ([1.0, 2.0, 3.0], 0.0, 1.0),
        ([-1.0, -1.0, -1.0, 10.0], 0.9, -1.0 - 0.9 - 0.81 + 7.29),  # 4.58
        ([], 0.9, 0.0),
    ],
)
def test_discounted_return_by_hand(rewards: list[float], gamma: float, expected: float) -> None:
    assert tb.discounted_return(rewards, gamma) == pytest.approx(expected)


def test_returns_to_go_by_hand() -> None:
    np.testing.assert_allclose(tb.returns_to_go([1.0, 2.0, 3.0], 0.5), [2.75, 3.5, 3.0])
    np.testing.assert_allclose(tb.returns_to_go([1.0, 2.0, 3.0], 0.0), [1.0, 2.0, 3.0])
    assert tb.returns_to_go([], 0.9).shape == (0,)


def test_returns_to_go_starts_with_discounted_return() -> None:
    rewards = np.random.default_rng(0).normal(size=20)
    g = tb.returns_to_go(rewards, 0.9)
    assert g[0] == pytest.approx(tb.discounted_return(rewards, 0.9))
    np.testing.assert_allclose(g[:-1], rewards[:-1] + 0.9 * g[1:])


# --- a tiny MDP solved by hand -----------------------------------------------------------------
# s0 --a1 (r=-1)--> s1 --a1 (r=+10)--> s2 (terminal); a0 always leads to s0 with r=0.


def _tiny_mdp() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    P = np.zeros((3, 2, 3))
    P[0, 0, 0] = P[0, 1, 1] = P[1, 0, 0] = P[1, 1, 2] = 1.0
    P[2, :, 2] = 1.0
    R = np.array([[0.0, -1.0], [0.0, 10.0], [0.0, 0.0]])
    terminal = np.array([False, False, True])
    return P, R, terminal


def test_value_iteration_on_tiny_mdp() -> None:
    # gamma = 0.5: V*(s1) = max(0.5 V*(s0), 10) = 10; V*(s0) = max(0.5 V*(s0), -1 + 5) = 4.
    V, Q = tb.value_iteration(*_tiny_mdp(), gamma=0.5)
    np.testing.assert_allclose(V, [4.0, 10.0, 0.0])
    np.testing.assert_allclose(Q, [[2.0, 4.0], [2.0, 10.0], [0.0, 0.0]])


def test_value_iteration_undiscounted() -> None:
    V, _ = tb.value_iteration(*_tiny_mdp(), gamma=1.0)
    np.testing.assert_allclose(V, [9.0, 10.0, 0.0])


def test_value_iteration_reports_non_convergence() -> None:
    with pytest.raises(RuntimeError, match="max_iterations=1"):
        tb.value_iteration(*_tiny_mdp(), gamma=0.5, max_iterations=1)


def test_bellman_backup_is_one_step_lookahead() -> None:
    Q = tb.bellman_backup(*_tiny_mdp(), V=np.array([4.0, 10.0, 99.0]), gamma=0.5)
    np.testing.assert_allclose(Q, [[2.0, 4.0], [2.0, 10.0], [0.0, 0.0]])  # V[s2] is ignored


def test_policy_evaluation_of_uniform_policy() -> None:
    # V0 = 0.5 (0.5 V0) + 0.5 (-1 + 0.5 V1), V1 = 0.5 (0.5 V0) + 0.5 * 10  =>  V0 = 12/11.
    V = tb.policy_evaluation(*_tiny_mdp(), policy=np.full((3, 2), 0.5), gamma=0.5)
    np.testing.assert_allclose(V, [12 / 11, 58 / 11, 0.0])


def test_policy_evaluation_of_optimal_actions_gives_v_star() -> None:
    P, R, terminal = _tiny_mdp()
    V_star, Q_star = tb.value_iteration(P, R, terminal, gamma=0.5)
    V = tb.policy_evaluation(P, R, terminal, tb.greedy_policy(Q_star), gamma=0.5)
    np.testing.assert_allclose(V, V_star)


def test_policy_evaluation_errors() -> None:
    with pytest.raises(ValueError, match="not finite with gamma=1"):
        tb.policy_evaluation(*_tiny_mdp(), policy=np.zeros(3, dtype=int), gamma=1.0)
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        tb.policy_evaluation(*_tiny_mdp(), policy=np.zeros(2, dtype=int), gamma=0.5)


def test_value_iteration_on_gridworld_matches_shortest_path() -> None:
    env = GridWorldEnv()
    V, Q = tb.value_iteration(*env.model, gamma=1.0)
    assert V[env.start_state] == pytest.approx(3.0)  # eight moves: 7 x (-1) + 10
    assert V[env.to_state(4, 3)] == pytest.approx(10.0)
    policy = tb.greedy_policy(Q)
    assert tb.policy_evaluation(*env.model, policy, gamma=1.0)[env.start_state] == pytest.approx(3)


# --- Q-learning pieces -------------------------------------------------------------------------


def test_q_learning_update_bootstraps_unless_terminated() -> None:
    Q = np.zeros((3, 2))
    Q[1] = [2.0, 5.0]
    live = tb.q_learning_update(Q, 0, 1, 1.0, 1, False, alpha=0.5, gamma=0.9)
    assert live[0, 1] == pytest.approx(0.5 * (1.0 + 0.9 * 5.0))  # 2.75
    done = tb.q_learning_update(Q, 0, 1, 1.0, 1, True, alpha=0.5, gamma=0.9)
    assert done[0, 1] == pytest.approx(0.5 * 1.0)
    assert Q[0, 1] == 0.0  # pure: the input is unchanged
    changed = np.argwhere(live != Q)
    np.testing.assert_array_equal(changed, [[0, 1]])


def test_td_target() -> None:
    assert tb.td_target(1.0, np.array([3.0, -2.0]), False, 0.5) == 2.5
    assert tb.td_target(1.0, np.array([3.0, -2.0]), True, 0.5) == 1.0


def test_epsilon_greedy_greedy_and_ties() -> None:
    rng = np.random.default_rng(0)
    picks = {tb.epsilon_greedy(np.array([0.0, 1.0, 1.0, -1.0]), 0.0, rng) for _ in range(200)}
    assert picks == {1, 2}
    assert tb.epsilon_greedy(np.array([0.0, 3.0, 1.0]), 0.0, rng) == 1


def test_epsilon_greedy_explores_uniformly() -> None:
    rng = np.random.default_rng(1)
    q_row = np.array([10.0, 0.0, 0.0, 0.0])
    picks = np.array([tb.epsilon_greedy(q_row, 0.4, rng) for _ in range(8000)])
    freq = np.bincount(picks, minlength=4) / picks.size
    # greedy with probability 1 - 0.4 + 0.4 / 4 = 0.7, each other action 0.1
    np.testing.assert_allclose(freq, [0.7, 0.1, 0.1, 0.1], atol=0.02)


# --- Q-learning training -----------------------------------------------------------------------


def test_q_learning_converges_to_value_iteration() -> None:
    config = QLearningConfig(alpha=1.0, gamma=0.9, epsilon=0.5, episodes=500, seed=0)
    result = train_q_learning(config, progress=False)
    env = GridWorldEnv()
    _, Q_star = tb.value_iteration(*env.model, gamma=0.9)
    live = ~env.model.terminal
    np.testing.assert_allclose(result.q[live], Q_star[live], atol=1e-6)
    assert result.history.eval_returns[-1] == 3.0


def test_training_bootstraps_through_truncation() -> None:
    # Every episode is cut off after one step from S. Bumping into the top edge
    # leaves the agent on S, so Q[S, up] = -1 + 0.9 * max_a Q[S, a] = -1 - 0.9.
    # Treating the time limit as termination would give -1.
    config = QLearningConfig(alpha=1.0, gamma=0.9, epsilon=1.0, episodes=200, max_steps=1)
    q = train_q_learning(config, progress=False).q
    np.testing.assert_allclose(q[0], [-1.9, -1.0, -1.0, -1.9])


def test_history_layout() -> None:
    config = QLearningConfig(episodes=25, eval_every=10)
    h = train_q_learning(config, progress=False).history
    np.testing.assert_array_equal(config.eval_episode_indices(), [0, 10, 20, 25])
    assert len(h.eval_returns) == len(h.eval_steps) == 4
    assert h.eval_steps[0] == 0 and h.eval_steps[-1] == h.episode_steps[-1]
    assert len(h.episode_returns) == len(h.losses) == 25
    assert h.config["alpha"] == config.alpha
    assert h.wall_time > 0


def test_same_seed_same_run_other_seed_other_run() -> None:
    def run(seed: int) -> tb.QLearningResult:
        return train_q_learning(QLearningConfig(episodes=40, slip=0.2, seed=seed), progress=False)

    a, b, c = run(7), run(7), run(8)
    assert a.history.to_dict() == b.history.to_dict()
    np.testing.assert_array_equal(a.q, b.q)
    assert a.history.episode_returns != c.history.episode_returns


def test_no_output_without_progress(capsys: pytest.CaptureFixture[str]) -> None:
    train_q_learning(QLearningConfig(episodes=3), progress=False)
    out = capsys.readouterr()
    assert out.out == "" and out.err == ""


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "match"),
    [
        ("env_id", "CartPole-v1", "env_id='CartPole-v1' is not allowed: choose one of"),
        ("episodes", 0, "episodes=0"),
        ("episodes", 2.5, "episodes=2.5"),
        ("alpha", 0.0, r"alpha=0\.0 is out of range: allowed is \(0\.0, 1\.0\]"),
        ("alpha", 1.5, r"alpha=1\.5 is out of range"),
        ("gamma", -0.1, r"gamma=-0\.1 is out of range: allowed is \[0\.0, 1\.0\]"),
        ("gamma", 1.01, r"gamma=1\.01"),
        ("epsilon", 1.2, r"epsilon=1\.2 is out of range: allowed is \[0\.0, 1\.0\]"),
        ("epsilon", -0.5, r"epsilon=-0\.5"),
        ("q_init", math.nan, "q_init=nan"),
        ("slip", 2.0, r"slip=2\.0"),
        ("max_steps", 0, "max_steps=0"),
        ("eval_every", 0, "eval_every=0"),
        ("eval_episodes", -1, "eval_episodes=-1"),
        ("seed", -3, "seed=-3"),
    ],
)
def test_config_rejects(field: str, value: object, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        QLearningConfig(**{field: value})


def test_config_is_frozen() -> None:
    config = QLearningConfig()
    with pytest.raises(AttributeError):
        config.alpha = 0.1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: tb.discounted_return([1.0], 1.5), r"gamma=1\.5"),
        (lambda: tb.returns_to_go([1.0], -1.0), r"gamma=-1\.0"),
        (lambda: tb.value_iteration(*_tiny_mdp(), gamma=0.5, tol=0.0), r"tol=0\.0"),
        (lambda: tb.value_iteration(*_tiny_mdp(), gamma=2.0), r"gamma=2\.0"),
        (lambda: tb.policy_evaluation(*_tiny_mdp(), np.zeros(3), gamma=-1.0), r"gamma=-1\.0"),
        (lambda: tb.epsilon_greedy(np.zeros(2), 1.5, np.random.default_rng()), r"epsilon=1\.5"),
    ],
)
def test_functions_reject_bad_arguments(call, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        call()
