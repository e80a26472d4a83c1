"""The environments: Gymnasium's checker, the gridworld's model against its steps, make_env."""

# ruff: noqa: N806 -- P and R follow the maths (Sutton and Barto's notation).

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from metarl_lite import envs
from metarl_lite.envs import GRIDWORLD_ID, GridWorldEnv, make_env


# CartPole's unbounded velocities make the checker warn; that is Gymnasium's own design.
@pytest.mark.filterwarnings("ignore:.*Box observation space m")
@pytest.mark.parametrize("env_id", envs.ENV_IDS)
def test_check_env_on_every_id(env_id: str) -> None:
    env = make_env(env_id)
    check_env(env.unwrapped, skip_render_check=True)
    env.close()


def test_check_env_on_slippery_gridworld() -> None:
    check_env(GridWorldEnv(slip=0.3), skip_render_check=True)


def test_make_env_builds_the_gridworld_with_kwargs() -> None:
    env = make_env(GRIDWORLD_ID, slip=0.25, max_steps=7)
    assert isinstance(env.unwrapped, GridWorldEnv)
    assert env.unwrapped.slip == 0.25
    assert env.unwrapped.max_steps == 7


def test_make_env_rejects_unknown_id() -> None:
    with pytest.raises(ValueError) as err:
        make_env("FrozenLake-v1")
    msg = str(err.value)
    assert "env_id='FrozenLake-v1'" in msg
    for env_id in envs.ENV_IDS:
        assert repr(env_id) in msg


def test_gridworld_is_registered() -> None:
    assert GRIDWORLD_ID in gym.registry


def _sampled_transitions(env: GridWorldEnv, s: int, a: int, n: int) -> tuple[np.ndarray, float]:
    counts = np.zeros(env.n_states)
    reward = 0.0
    for _ in range(n):
        env.reset(options={"start_state": s})
        s_next, r, *_ = env.step(a)
        counts[s_next] += 1
        reward += r
    return counts / n, reward / n


def test_deterministic_model_matches_steps_exactly() -> None:
    env = GridWorldEnv()
    env.reset(seed=0)
    P, R, terminal = env.model
    for s in range(env.n_states):
        if terminal[s]:
            continue
        for a in range(env.n_actions):
            freq, mean_r = _sampled_transitions(env, s, a, 1)
            np.testing.assert_array_equal(freq, P[s, a])
            assert mean_r == R[s, a]


def test_slippery_model_matches_sampled_frequencies() -> None:
    env = GridWorldEnv(slip=0.4)
    env.reset(seed=1)
    P, R, _ = env.model
    n = 4000  # the standard error of a frequency is below 0.008
    for s, a in [(0, 1), (7, 2), (11, 0), (19, 3)]:
        freq, mean_r = _sampled_transitions(env, s, a, n)
        np.testing.assert_allclose(freq, P[s, a], atol=0.03)
        assert mean_r == pytest.approx(R[s, a], abs=0.3)


def test_model_is_a_distribution_and_terminals_absorb() -> None:
    env = GridWorldEnv(slip=0.2)
    P, R, terminal = env.model
    assert P.shape == (25, 4, 25) and R.shape == (25, 4) and terminal.shape == (25,)
    np.testing.assert_allclose(P.sum(axis=2), 1.0)
    np.testing.assert_array_equal(terminal, env.goals | env.pits | env.walls)
    assert (env.goals.sum(), env.pits.sum(), env.walls.sum()) == (1, 2, 3)
    for s in np.flatnonzero(terminal):
        assert np.all(P[s, :, s] == 1.0) and np.all(R[s] == 0.0)


def test_moves_walls_and_edges() -> None:
    env = GridWorldEnv()
    env.reset(seed=0)
    s, r, terminated, truncated, info = env.step(0)  # up from the top-left corner: stay
    assert (s, r, terminated, truncated, info["cell"]) == (0, -1.0, False, False, (0, 0))
    env.reset(options={"start_state": env.to_state(0, 1)})
    s, *_ = env.step(2)  # down into the wall at (1, 1): stay
    assert env.to_cell(s) == (0, 1)


def test_goal_and_pit_terminate_with_their_rewards() -> None:
    env = GridWorldEnv()
    env.reset(seed=0, options={"start_state": env.to_state(4, 3)})
    _, r, terminated, truncated, _ = env.step(1)
    assert (r, terminated, truncated) == (10.0, True, False)
    env.reset(options={"start_state": env.to_state(4, 2)})
    _, r, terminated, truncated, _ = env.step(3)
    assert (r, terminated, truncated) == (-10.0, True, False)


def test_truncation_at_max_steps() -> None:
    env = GridWorldEnv(max_steps=3)
    env.reset(seed=0)
    flags = [env.step(0)[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]


def test_shortest_path_return_is_three() -> None:
    env = GridWorldEnv()
    env.reset(seed=0)
    total = sum(env.step(a)[1] for a in [1, 1, 1, 1, 2, 2, 2, 2])
    assert total == 3.0


def test_ansi_render_shows_the_agent() -> None:
    env = make_env(GRIDWORLD_ID, render_mode="ansi")
    env.reset(seed=0)
    env.step(1)
    assert env.render().splitlines()[0] == "S A . . ."


def test_render_policy_draws_arrows() -> None:
    env = GridWorldEnv()
    text = env.render_policy(np.ones(env.n_states, dtype=int))
    assert text.splitlines()[1] == "→ # → # →"
    with pytest.raises(ValueError, match="shape"):
        env.render_policy([0, 1])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"slip": 1.5}, r"slip=1\.5"),
        ({"max_steps": 0}, "max_steps=0"),
        ({"render_mode": "human"}, "render_mode='human'"),
        ({"layout": ("S.", "G")}, "one length"),
        ({"layout": ("S?", ".G")}, r"unknown cells \['\?'\]"),
        ({"layout": ("..", ".G")}, "exactly one S"),
    ],
)
def test_gridworld_rejects_bad_arguments(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GridWorldEnv(**kwargs)


@pytest.mark.parametrize("cell", [(1, 1), (4, 4), (2, 3)])
def test_reset_rejects_wall_goal_and_pit_starts(cell: tuple[int, int]) -> None:
    env = GridWorldEnv()
    with pytest.raises(ValueError, match="start_state"):
        env.reset(seed=0, options={"start_state": env.to_state(*cell)})


def test_same_seed_same_slips() -> None:
    def run(seed: int) -> list[int]:
        env = GridWorldEnv(slip=0.5)
        env.reset(seed=seed)
        return [int(env.step(1)[0]) for _ in range(20)]

    assert run(3) == run(3)
    assert run(3) != run(4)
