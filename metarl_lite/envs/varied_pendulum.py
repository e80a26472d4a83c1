"""Pendulum with varied physics: a task is a pendulum's mass and length.

Gymnasium's Pendulum-v1 swings up a rod of mass ``m = 1`` kg and length
``l = 1`` m with a torque of at most 2 N m. Here each task draws ``m`` and ``l``
anew, so a controller tuned to one pendulum over- or under-shoots another: the
same torque turns a light short rod four times faster, and a heavy long one
needs several swings to gather enough energy to reach the top. The dynamics are
Gymnasium's own (:class:`VariedPendulumEnv` subclasses its ``PendulumEnv`` and
only sets ``m`` and ``l``), so the default task steps exactly as Pendulum-v1::

    thetadot' = thetadot + (3 g / (2 l) sin(theta) + 3 / (m l^2) u) dt
    theta'    = theta + thetadot' dt            (thetadot' clipped to [-8, 8])

with ``g = 10``, ``dt = 0.05`` and ``u`` clipped to ``[-2, 2]``.

- :data:`PENDULUM_DEFAULTS`: Gymnasium's values, the task of Pendulum-v1.
- :data:`PENDULUM_LIMITS`: the outer limits (a factor of 10 either way),
  outside which a task is an error.
- :data:`PENDULUM_SAMPLING`: the box training and test tasks are drawn from,
  each constant log-uniformly from half to twice its default (these constants
  act through ratios, so a rod twice as heavy is as different as one half as
  heavy, and the default sits at the box's geometric centre). Across the box
  the torque's effect ``3 / (m l^2)`` varies 64-fold and gravity's ``3 g / (2 l)``
  4-fold. At the heavy long corner the torque limit binds: 2 N m against
  gravity's 20 N m, so the rod must be pumped up in several swings. From
  Pendulum-v1's random starts, model predictive control with the true dynamics
  (:mod:`metarl_lite.model_based`) swings every corner up and holds it within
  one 200-step episode; from rest hanging straight down, the heaviest longest
  rods need longer than an episode (``tests/test_model_based.py`` checks both).

Training tasks come from :func:`sample_tasks` with the caller's generator; the
held-out test tasks are :func:`test_tasks`, always drawn from :data:`TEST_SEED`.
No vector form is needed: a Pendulum step costs microseconds, and the model-based
agents of :mod:`metarl_lite.model_based` batch their planning, not the env.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.pendulum import PendulumEnv

from metarl_lite._checks import check_choice, check_positive_int
from metarl_lite.envs._constants import (
    checked_task,
    sample_log_uniform,
)

#: Public names, also available as ``ml.envs.NAME`` (the names every family
#: defines stay out: use ``ml.envs.varied_pendulum.sample_tasks``).
__all__ = [
    "PENDULUM_DEFAULTS",
    "PENDULUM_LIMITS",
    "PENDULUM_SAMPLING",
    "PENDULUM_TASK_KEYS",
    "VARIED_PENDULUM_ID",
    "PendulumTasks",
    "VariedPendulumEnv",
]

#: Gymnasium id of :class:`VariedPendulumEnv` (200 steps per episode, as Pendulum-v1).
VARIED_PENDULUM_ID = "metarl_lite/VariedPendulum-v0"
#: Gymnasium ids this module registers.
ENV_IDS: tuple[str, ...] = (VARIED_PENDULUM_ID,)

#: The two constants that make a task, in the order of :class:`PendulumTasks`.
PENDULUM_TASK_KEYS: tuple[str, ...] = ("m", "l")

#: Gymnasium's Pendulum constants: the rod's mass (kg) and length (m).
PENDULUM_DEFAULTS: dict[str, float] = {"m": 1.0, "l": 1.0}

#: Bounds on each constant, ``(low, high)``, both included: a factor of 10 either way.
PENDULUM_LIMITS: dict[str, tuple[float, float]] = {"m": (0.1, 10.0), "l": (0.1, 10.0)}

#: The box tasks are sampled from, ``(low, high)``, log-uniformly (see the module docstring).
PENDULUM_SAMPLING: dict[str, tuple[float, float]] = {"m": (0.5, 2.0), "l": (0.5, 2.0)}

#: Seed of the held-out test tasks.
TEST_SEED = 6_000_001


class PendulumTasks(NamedTuple):
    """``n`` pendulum tasks.

    Attributes:
        m: float array of shape ``(n,)``, the rod's mass in kg.
        l: float array of shape ``(n,)``, the rod's length in m.
    """

    m: np.ndarray
    l: np.ndarray  # noqa: E741 (Gymnasium's name for the length)

    def task(self, i: int) -> dict[str, float]:
        """Task ``i`` as keyword arguments of :class:`VariedPendulumEnv` or its
        ``reset(options=...)``."""
        return {key: float(getattr(self, key)[i]) for key in PENDULUM_TASK_KEYS}

    @classmethod
    def default(cls, n: int) -> PendulumTasks:
        """``n`` copies of Gymnasium's Pendulum (:data:`PENDULUM_DEFAULTS`)."""
        check_positive_int("n", n)
        return cls(*(np.full(n, PENDULUM_DEFAULTS[key]) for key in PENDULUM_TASK_KEYS))


def sample_tasks(
    rng: np.random.Generator,
    n: int,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> PendulumTasks:
    """Draw ``n`` training tasks, each constant log-uniform in its range.

    Args:
        rng: the source of randomness.
        n: the number of tasks.
        ranges: ``(low, high)`` per constant, within :data:`PENDULUM_LIMITS`;
            ``None`` means :data:`PENDULUM_SAMPLING`.

    Returns:
        The tasks, each array of shape ``(n,)``. Task ``i`` uses only row ``i``
        of one ``(n, 2)`` uniform draw, so the first ``k`` of ``n`` tasks equal
        the ``k`` tasks drawn from a generator in the same state.
    """
    ranges = PENDULUM_SAMPLING if ranges is None else ranges
    return PendulumTasks(*sample_log_uniform(rng, n, ranges, PENDULUM_TASK_KEYS, PENDULUM_LIMITS))


def test_tasks(n: int) -> PendulumTasks:
    """The first ``n`` held-out test tasks: the same on every call, drawn from
    :data:`TEST_SEED` in the :data:`PENDULUM_SAMPLING` box (``test_tasks(4)`` is
    the first four of ``test_tasks(10)``)."""
    return sample_tasks(np.random.default_rng(TEST_SEED), n)


class VariedPendulumEnv(PendulumEnv):
    """Gymnasium's Pendulum with the rod's mass ``m`` and length ``l`` set by the task.

    Everything else is Pendulum-v1's: the observation ``(cos theta, sin theta,
    thetadot)`` (float32, shape ``(3,)``), the torque action in ``[-2, 2]`` N m
    (shape ``(1,)``), the reward ``-(theta^2 + 0.1 thetadot^2 + 0.001 u^2)``
    with ``theta`` wrapped to ``[-pi, pi)``, and no termination. Like
    ``PendulumEnv`` the class itself never truncates; built with
    :func:`gymnasium.make` from :data:`VARIED_PENDULUM_ID` it is cut off after
    200 steps, as Pendulum-v1. The picture that ``render`` draws keeps
    Gymnasium's rod of length 1.

    Args:
        m, l: the task (defaults: :data:`PENDULUM_DEFAULTS`), within
            :data:`PENDULUM_LIMITS`.
        render_mode: ``None``, ``"rgb_array"`` or ``"human"`` (these need pygame).

    ``reset(options={...})`` may hold ``"m"`` and ``"l"``, which change the task
    from that episode on, and Gymnasium's ``"x_init"`` and ``"y_init"`` bounds of
    the random start angle and angular velocity.
    """

    def __init__(
        self,
        *,
        m: float = PENDULUM_DEFAULTS["m"],
        l: float = PENDULUM_DEFAULTS["l"],  # noqa: E741
        render_mode: str | None = None,
    ) -> None:
        check_choice("render_mode", render_mode, (None, "rgb_array", "human"))
        super().__init__(render_mode=render_mode)
        self.set_task(m=m, l=l)

    @property
    def task(self) -> dict[str, float]:
        """The current task, as keyword arguments of the constructor."""
        return {key: float(getattr(self, key)) for key in PENDULUM_TASK_KEYS}

    def set_task(self, **task: float) -> None:
        """Set ``m``, ``l`` or both.

        Raises:
            ValueError: for an unknown name or a value outside
                :data:`PENDULUM_LIMITS`; nothing changes then.
        """
        values = checked_task(task, PENDULUM_TASK_KEYS, PENDULUM_LIMITS)
        for key, value in values.items():
            setattr(self, key, value)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode, first setting the task keys found in ``options``."""
        if options:
            allowed = {*PENDULUM_TASK_KEYS, "x_init", "y_init"}
            unknown = sorted(set(options) - allowed)
            if unknown:
                raise ValueError(
                    f"options has unknown keys {unknown}: allowed are {sorted(allowed)}"
                )
            self.set_task(**{k: v for k, v in options.items() if k in PENDULUM_TASK_KEYS})
            options = {k: v for k, v in options.items() if k not in PENDULUM_TASK_KEYS} or None
        return super().reset(seed=seed, options=options)


if VARIED_PENDULUM_ID not in gym.registry:
    gym.register(
        id=VARIED_PENDULUM_ID,
        entry_point=VariedPendulumEnv,
        max_episode_steps=200,
    )
