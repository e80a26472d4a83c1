"""CartPole with varied physics: a task is a setting of five physical constants.

Gymnasium's CartPole-v1 fixes gravity, the masses of cart and pole, the pole's
length and the force of a push. Here each task draws them anew, so a policy
tuned to one CartPole may topple another: a meta-learner must find out, from a
few steps, how heavy and how long this pole is. The dynamics are Gymnasium's
own (:class:`VariedCartPoleEnv` subclasses its ``CartPoleEnv`` and only sets the
constants), so with the default task every step equals CartPole-v1's.

Three sets of numbers describe the family, all keyed by the attribute names of
Gymnasium's ``CartPoleEnv`` (``length`` is *half* the pole's length, as there):

- :data:`CARTPOLE_DEFAULTS`: Gymnasium's values, the task of CartPole-v1.
- :data:`CARTPOLE_LIMITS`: the outer limits, outside which a task is an error.
  They are the context bounds of CartPole in the CARL benchmark (Benjamins et
  al., "Contextualize Me - The Case for Context in Reinforcement Learning",
  TMLR 2023; github.com/automl/CARL, file
  ``carl/envs/gymnasium/classic_control/carl_cartpole.py``, ``get_context_features``;
  the same numbers are the ``CONTEXT_BOUNDS`` of the older
  ``carl/envs/classic_control/carl_cartpole.py``): each mass, the length and the
  force may vary by a factor of 10 either way, gravity must be at least 0.1.
- :data:`CARTPOLE_SAMPLING`: the narrower box that training and test tasks are
  drawn from, each constant log-uniformly between half and twice its default.
  Log-uniform, because these constants act through ratios (a pole twice as
  heavy is as different as one half as heavy), which puts the default at the
  box's geometric centre. A factor of 2 and no more, because CartPole must stay
  solvable: the start is within 0.05 of upright and the pole falls at 12
  degrees, so a weak push on a heavy cart under a short pole and strong gravity
  (far corners of CARL's limits) cannot catch the pole at all. Every corner of this box is
  balanced for the full 500 steps by a controller that knows the task (a
  linear-quadratic regulator on the linearised dynamics, pushing toward the
  sign of its force); ``tests/test_varied_cartpole.py`` checks this. With a
  factor of 2.5 two of the 32 corners already defeat that controller, with 3
  six, and with CARL's factor of 10 fourteen.

Training tasks come from :func:`sample_tasks` with the caller's generator; the
held-out test tasks are :func:`test_tasks`, always drawn from :data:`TEST_SEED`.
The vector form, :class:`VariedCartPoleVectorEnv`, steps many CartPoles, one
task each, with Gymnasium's batched numpy code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium.envs.classic_control.cartpole import CartPoleEnv, CartPoleVectorEnv

from metarl_lite._checks import check_choice, check_positive_int
from metarl_lite.envs._constants import (
    check_constant,
    checked_task,
    sample_log_uniform,
)

#: Public names, also available as ``ml.envs.NAME``. The names every family defines
#: (``sample_tasks``, ``test_tasks``, ``ENV_IDS``, ``TEST_SEED``) stay out, so that
#: families do not shadow one another there: use ``ml.envs.varied_cartpole.sample_tasks``.
__all__ = [
    "CARTPOLE_DEFAULTS",
    "CARTPOLE_LIMITS",
    "CARTPOLE_SAMPLING",
    "CARTPOLE_TASK_KEYS",
    "VARIED_CARTPOLE_ID",
    "CartPoleTasks",
    "VariedCartPoleEnv",
    "VariedCartPoleVectorEnv",
]

#: Gymnasium id of :class:`VariedCartPoleEnv` (500 steps per episode, as CartPole-v1).
VARIED_CARTPOLE_ID = "metarl_lite/VariedCartPole-v0"
#: Gymnasium ids this module registers.
ENV_IDS: tuple[str, ...] = (VARIED_CARTPOLE_ID,)

#: The five constants that make a task, in the order of :class:`CartPoleTasks`.
CARTPOLE_TASK_KEYS: tuple[str, ...] = ("gravity", "masscart", "masspole", "length", "force_mag")

#: Gymnasium's CartPole constants: gravity (m/s^2), cart and pole mass (kg), half
#: the pole's length (m) and the force of a push (N).
CARTPOLE_DEFAULTS: dict[str, float] = {
    "gravity": 9.8,
    "masscart": 1.0,
    "masspole": 0.1,
    "length": 0.5,
    "force_mag": 10.0,
}

#: CARL's bounds on each constant, ``(low, high)``, both included (see the module
#: docstring for the source). A task outside them raises ``ValueError``.
CARTPOLE_LIMITS: dict[str, tuple[float, float]] = {
    "gravity": (0.1, math.inf),
    "masscart": (0.1, 10.0),
    "masspole": (0.01, 1.0),
    "length": (0.05, 5.0),
    "force_mag": (1.0, 100.0),
}

#: How far from its default a sampled constant may go, as a factor either way.
SAMPLING_FACTOR = 2.0

#: The box tasks are sampled from, ``(low, high)``: half to twice the default,
#: clipped to :data:`CARTPOLE_LIMITS` (no clipping happens with these numbers).
CARTPOLE_SAMPLING: dict[str, tuple[float, float]] = {
    key: (
        max(value / SAMPLING_FACTOR, CARTPOLE_LIMITS[key][0]),
        min(value * SAMPLING_FACTOR, CARTPOLE_LIMITS[key][1]),
    )
    for key, value in CARTPOLE_DEFAULTS.items()
}

#: Seed of the held-out test tasks.
TEST_SEED = 4_000_001


class CartPoleTasks(NamedTuple):
    """``n`` CartPole tasks, one value of each constant per task.

    Attributes:
        gravity, masscart, masspole, length, force_mag: float arrays of shape
            ``(n,)``; ``length`` is half the pole's length, as in Gymnasium.
    """

    gravity: np.ndarray
    masscart: np.ndarray
    masspole: np.ndarray
    length: np.ndarray
    force_mag: np.ndarray

    def task(self, i: int) -> dict[str, float]:
        """Task ``i`` as keyword arguments of :class:`VariedCartPoleEnv` or its
        ``reset(options=...)``."""
        return {key: float(getattr(self, key)[i]) for key in CARTPOLE_TASK_KEYS}

    @classmethod
    def default(cls, n: int) -> CartPoleTasks:
        """``n`` copies of Gymnasium's CartPole (:data:`CARTPOLE_DEFAULTS`)."""
        check_positive_int("n", n)
        return cls(*(np.full(n, CARTPOLE_DEFAULTS[key]) for key in CARTPOLE_TASK_KEYS))


def _check_tasks(tasks: CartPoleTasks, n: int) -> CartPoleTasks:
    """``tasks`` as float64 arrays, after checking that it holds ``n`` tasks within limits."""
    if not isinstance(tasks, CartPoleTasks):
        raise ValueError(
            f"tasks={tasks!r} is not allowed: it must be a CartPoleTasks "
            "(from sample_tasks, test_tasks or CartPoleTasks.default)"
        )
    arrays = []
    for key in CARTPOLE_TASK_KEYS:
        values = np.asarray(getattr(tasks, key), dtype=np.float64)
        if values.shape != (n,):
            raise ValueError(
                f"tasks.{key} has shape {values.shape}: it must be ({n},), "
                f"one task per sub-environment (num_envs={n})"
            )
        bad = np.flatnonzero(
            ~((values >= CARTPOLE_LIMITS[key][0]) & (values <= CARTPOLE_LIMITS[key][1]))
        )
        if bad.size:
            check_constant(f"tasks.{key}[{bad[0]}]", key, float(values[bad[0]]), CARTPOLE_LIMITS)
        arrays.append(values)
    return CartPoleTasks(*arrays)


def sample_tasks(
    rng: np.random.Generator,
    n: int,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> CartPoleTasks:
    """Draw ``n`` training tasks, each constant log-uniform in its range.

    Args:
        rng: the source of randomness.
        n: the number of tasks.
        ranges: ``(low, high)`` per constant, within :data:`CARTPOLE_LIMITS`;
            ``None`` means :data:`CARTPOLE_SAMPLING`.

    Returns:
        The tasks, each array of shape ``(n,)``. Task ``i`` uses only the
        ``i``-th row of one ``(n, 5)`` uniform draw, so the first ``m`` of ``n``
        tasks equal the ``m`` tasks drawn from a generator in the same state.
    """
    ranges = CARTPOLE_SAMPLING if ranges is None else ranges
    return CartPoleTasks(*sample_log_uniform(rng, n, ranges, CARTPOLE_TASK_KEYS, CARTPOLE_LIMITS))


def test_tasks(n: int) -> CartPoleTasks:
    """The first ``n`` held-out test tasks: the same on every call, drawn from
    :data:`TEST_SEED` in the :data:`CARTPOLE_SAMPLING` box.

    ``test_tasks(10)`` is the first ten of ``test_tasks(100)``. The constants are
    continuous, so a training draw repeats a test task with probability zero
    (a test checks it on many draws)."""
    return sample_tasks(np.random.default_rng(TEST_SEED), n)


class VariedCartPoleEnv(CartPoleEnv):
    """Gymnasium's CartPole with its five physical constants set by the task.

    Everything but the constants is CartPole-v1's: the observation (cart
    position and velocity, pole angle and angular velocity, float32 of shape
    ``(4,)``), actions 0 (push left) and 1 (push right), reward 1 per step,
    termination when the pole tilts past 12 degrees or the cart leaves
    ``[-2.4, 2.4]``. Like ``CartPoleEnv`` the class itself never truncates;
    built with :func:`gymnasium.make` (or :func:`metarl_lite.envs.make_env`)
    from :data:`VARIED_CARTPOLE_ID` it is cut off after 500 steps, as CartPole-v1.

    Args:
        gravity, masscart, masspole, length, force_mag: the task (defaults:
            :data:`CARTPOLE_DEFAULTS`), each within :data:`CARTPOLE_LIMITS`.
        sutton_barto_reward: Gymnasium's option: reward 0 per step and -1 on
            termination.
        render_mode: ``None``, or Gymnasium's ``"rgb_array"`` or ``"human"``
            (these need pygame).

    ``reset(options={...})`` may hold any of the five constants, which change
    the task from that episode on (the rest stay as they were), and
    Gymnasium's ``"low"`` and ``"high"`` bounds of the random start.
    """

    def __init__(
        self,
        *,
        gravity: float = CARTPOLE_DEFAULTS["gravity"],
        masscart: float = CARTPOLE_DEFAULTS["masscart"],
        masspole: float = CARTPOLE_DEFAULTS["masspole"],
        length: float = CARTPOLE_DEFAULTS["length"],
        force_mag: float = CARTPOLE_DEFAULTS["force_mag"],
        sutton_barto_reward: bool = False,
        render_mode: str | None = None,
    ) -> None:
        check_choice("render_mode", render_mode, (None, "rgb_array", "human"))
        super().__init__(sutton_barto_reward=sutton_barto_reward, render_mode=render_mode)
        self.set_task(
            gravity=gravity,
            masscart=masscart,
            masspole=masspole,
            length=length,
            force_mag=force_mag,
        )

    @property
    def task(self) -> dict[str, float]:
        """The current task, as keyword arguments of the constructor."""
        return {key: float(getattr(self, key)) for key in CARTPOLE_TASK_KEYS}

    def set_task(self, **task: float) -> None:
        """Set some or all of the five constants (and the two derived from them).

        Raises:
            ValueError: for an unknown name or a value outside
                :data:`CARTPOLE_LIMITS`; nothing changes then.
        """
        values = checked_task(task, CARTPOLE_TASK_KEYS, CARTPOLE_LIMITS)
        for key, value in values.items():
            setattr(self, key, value)
        self.total_mass = self.masspole + self.masscart
        self.polemass_length = self.masspole * self.length

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode, first setting the task keys found in ``options``."""
        if options:
            unknown = sorted(set(options) - {*CARTPOLE_TASK_KEYS, "low", "high"})
            if unknown:
                raise ValueError(
                    f"options has unknown keys {unknown}: allowed are "
                    f"{[*CARTPOLE_TASK_KEYS, 'low', 'high']}"
                )
            self.set_task(**{k: v for k, v in options.items() if k in CARTPOLE_TASK_KEYS})
        return super().reset(seed=seed, options=options)


class VariedCartPoleVectorEnv(CartPoleVectorEnv):
    """``num_envs`` CartPoles stepped together, each with its own task.

    Gymnasium's ``CartPoleVectorEnv`` computes a step with numpy operations
    that broadcast, so holding each constant as an array of shape
    ``(num_envs,)`` (with the derived ``total_mass`` and ``polemass_length``)
    gives every sub-environment its own physics; the step itself is
    Gymnasium's, unchanged. Observations have shape ``(num_envs, 4)``, actions
    ``(num_envs,)``.

    Tasks are set in the constructor or with ``reset(options={"tasks": tasks})``
    (a :class:`CartPoleTasks` of ``num_envs`` tasks); a ``reset`` without them
    keeps the current tasks.

    Autoreset is Gymnasium's ``NEXT_STEP`` mode: a step on which a
    sub-environment ends (terminated, or truncated after ``max_episode_steps``
    steps) returns its last observation as usual; its *next* step ignores the
    action and returns the first observation of a new episode (drawn from this
    vector env's own generator), reward 0 and ``terminated = truncated =
    False``. The new episode keeps the sub-environment's task.

    Args:
        num_envs: the number of sub-environments.
        tasks: their tasks; ``None`` means Gymnasium's CartPole in each.
        max_episode_steps: steps before a sub-environment is truncated (500 as
            CartPole-v1).
        sutton_barto_reward: Gymnasium's option, as in :class:`VariedCartPoleEnv`.
        render_mode: only ``None``: Gymnasium's vector renderer draws one pole
            length for all (render a :class:`VariedCartPoleEnv` instead).
    """

    def __init__(
        self,
        num_envs: int = 1,
        tasks: CartPoleTasks | None = None,
        *,
        max_episode_steps: int = 500,
        sutton_barto_reward: bool = False,
        render_mode: str | None = None,
    ) -> None:
        check_positive_int("num_envs", num_envs)
        check_positive_int("max_episode_steps", max_episode_steps)
        check_choice("render_mode", render_mode, (None,))
        super().__init__(
            num_envs=num_envs,
            max_episode_steps=max_episode_steps,
            render_mode=render_mode,
            sutton_barto_reward=sutton_barto_reward,
        )
        self.set_tasks(CartPoleTasks.default(num_envs) if tasks is None else tasks)

    def set_tasks(self, tasks: CartPoleTasks) -> None:
        """Give sub-environment ``i`` the task ``tasks.task(i)``, from the next step on.

        Raises:
            ValueError: unless ``tasks`` holds ``num_envs`` tasks within
                :data:`CARTPOLE_LIMITS`; nothing changes then.
        """
        checked = _check_tasks(tasks, self.num_envs)
        for key in CARTPOLE_TASK_KEYS:
            setattr(self, key, getattr(checked, key))
        self.total_mass = self.masspole + self.masscart
        self.polemass_length = self.masspole * self.length

    @property
    def tasks(self) -> CartPoleTasks:
        """The current tasks (copies)."""
        return CartPoleTasks(*(getattr(self, key).copy() for key in CARTPOLE_TASK_KEYS))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new episodes in every sub-environment, first setting
        ``options["tasks"]`` if given (other options are Gymnasium's ``low``/``high``)."""
        if options and "tasks" in options:
            self.set_tasks(options["tasks"])
            options = {k: v for k, v in options.items() if k != "tasks"}
        return super().reset(seed=seed, options=options)


if VARIED_CARTPOLE_ID not in gym.registry:
    gym.register(
        id=VARIED_CARTPOLE_ID,
        entry_point=VariedCartPoleEnv,
        vector_entry_point=VariedCartPoleVectorEnv,
        max_episode_steps=500,
        reward_threshold=475.0,
    )
