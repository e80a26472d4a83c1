"""Checks shared by the CartPole families' tests: the trajectory of an action
sequence, and a vector env stepping exactly like single environments through
terminations, truncations and autoresets."""

from __future__ import annotations

from collections.abc import Sequence

import gymnasium as gym
import numpy as np


def assert_steps_like_singles(vec: gym.vector.VectorEnv, singles: Sequence[gym.Env]) -> None:
    """Step ``vec`` and ``singles`` (already reset, the same tasks, one each) with the
    same 400 random actions and compare every observation, reward and flag.

    ``vec`` is a CartPole vector env whose sub-environments restart one step after
    they end (Gymnasium's ``NEXT_STEP`` autoreset); its start states are copied
    into the single environments so that only the dynamics are compared.
    """
    n = len(singles)
    vec.state = np.stack([env.unwrapped.state for env in singles], axis=1)
    actions = np.random.default_rng(2).integers(0, 2, size=(400, n))
    done = np.zeros(n, dtype=bool)
    counts = {"terminated": 0, "truncated": 0, "autoreset": 0}
    for a in actions:
        obs, reward, terminated, truncated, _ = vec.step(a)
        for i, env in enumerate(singles):
            if done[i]:  # next-step autoreset: the action is ignored, a new episode starts
                assert (reward[i], terminated[i], truncated[i]) == (0.0, False, False)
                env.reset()
                env.unwrapped.state = vec.state[:, i].copy()
                counts["autoreset"] += 1
                continue
            s_obs, s_reward, s_terminated, s_truncated, _ = env.step(int(a[i]))
            assert obs[i].tobytes() == s_obs.tobytes()
            assert (reward[i], terminated[i], truncated[i]) == (
                s_reward,
                s_terminated,
                s_truncated,
            )
            counts["terminated"] += s_terminated
            counts["truncated"] += s_truncated
        done = terminated | truncated
    assert min(counts.values()) > 5, counts


def play(env: gym.Env, actions: np.ndarray, seed: int) -> list[tuple]:
    """Every (obs, reward, terminated, truncated) of ``actions``, resetting after each end."""
    out = []
    obs, _ = env.reset(seed=seed)
    out.append((obs.tobytes(), None, None, None))
    for a in actions:
        obs, reward, terminated, truncated, _ = env.step(int(a))
        out.append((obs.tobytes(), reward, terminated, truncated))
        if terminated or truncated:
            obs, _ = env.reset()
            out.append((obs.tobytes(), None, None, None))
    return out
