"""Environments used in the book, and :func:`make_env` to build them by id.

- :mod:`~metarl_lite.envs.gridworld` (chapter 1): a small tabular world whose
  exact transition model is available as arrays.
- The task families of meta-RL (chapter 4), each a Gymnasium environment whose
  task is set through its constructor or ``reset(options=...)``, a batched
  (vector) form for meta-training, and ``sample_tasks(rng, n)`` / ``test_tasks(n)``
  for a fixed split into training and held-out tasks:

  - :mod:`~metarl_lite.envs.varied_cartpole`: CartPole with varied physics;
  - :mod:`~metarl_lite.envs.point_navigation`: a point robot and a hidden goal;
  - :mod:`~metarl_lite.envs.bernoulli_bandit`: Bernoulli bandits with k arms;
  - :mod:`~metarl_lite.envs.flipped_cartpole` (chapter 5): the varied CartPole
    with, in half the tasks, the two actions swapped;
  - :mod:`~metarl_lite.envs.varied_pendulum` (chapter 6): Pendulum with varied
    mass and length;
  - :mod:`~metarl_lite.envs.maze_levels` (chapter 6): gridworld levels with
    random walls and a hidden goal;
  - :mod:`~metarl_lite.envs.drifting_users` (chapter 6): simulated users of a
    recommender whose preferences shift during a session.

The classes and constants of every submodule are also available here, as
``ml.envs.NAME``. The names that every family defines (``sample_tasks``,
``test_tasks``, ``TEST_SEED``, ``ENV_IDS``) are used through their module, as in
``ml.envs.point_navigation.sample_tasks(rng, 10)``.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from metarl_lite._checks import check_choice
from metarl_lite.envs import (
    bernoulli_bandit,
    drifting_users,
    flipped_cartpole,
    maze_levels,
    point_navigation,
    varied_cartpole,
    varied_pendulum,
)
from metarl_lite.envs.bernoulli_bandit import *  # noqa: F403
from metarl_lite.envs.drifting_users import *  # noqa: F403
from metarl_lite.envs.flipped_cartpole import *  # noqa: F403
from metarl_lite.envs.gridworld import *  # noqa: F403
from metarl_lite.envs.gridworld import GRIDWORLD_ID, GridWorldEnv, TabularModel
from metarl_lite.envs.maze_levels import *  # noqa: F403
from metarl_lite.envs.point_navigation import *  # noqa: F403
from metarl_lite.envs.varied_cartpole import *  # noqa: F403
from metarl_lite.envs.varied_pendulum import *  # noqa: F403

if GRIDWORLD_ID not in gym.registry:
    gym.register(id=GRIDWORLD_ID, entry_point=GridWorldEnv)

#: Every environment id that :func:`make_env` knows.
ENV_IDS: tuple[str, ...] = (
    "CartPole-v1",
    GRIDWORLD_ID,
    *varied_cartpole.ENV_IDS,
    *point_navigation.ENV_IDS,
    *bernoulli_bandit.ENV_IDS,
    *flipped_cartpole.ENV_IDS,
    *varied_pendulum.ENV_IDS,
    *maze_levels.ENV_IDS,
    *drifting_users.ENV_IDS,
)
#: The ids whose states and actions are both finite, for tabular methods.
TABULAR_ENV_IDS: tuple[str, ...] = (GRIDWORLD_ID,)


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """Build the environment ``env_id`` with Gymnasium's ``gym.make``.

    Args:
        env_id: one of :data:`ENV_IDS`.
        **kwargs: passed to ``gym.make`` (for example ``render_mode="ansi"``,
            or ``slip=0.2`` for the gridworld).

    Raises:
        ValueError: for an id that is not in :data:`ENV_IDS`.
    """
    check_choice("env_id", env_id, ENV_IDS)
    return gym.make(env_id, **kwargs)


def gridworld_model(env: gym.Env) -> TabularModel:
    """The exact model of a (possibly wrapped) :class:`GridWorldEnv`."""
    inner = env.unwrapped
    if not isinstance(inner, GridWorldEnv):
        raise ValueError(f"env={env!r} is not a GridWorldEnv: only the gridworld has a model")
    return inner.model
