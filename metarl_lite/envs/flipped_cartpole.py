"""CartPole with varied physics and, in half the tasks, the two actions swapped.

A task is a task of :mod:`~metarl_lite.envs.varied_cartpole` (gravity, the
masses of cart and pole, the pole's half length and the force of a push) and
one more bit, ``flipped``: in a flipped task action 0 pushes the cart *right*
and action 1 pushes it *left*. The observation is CartPole's four numbers and
does not show the bit, so no single memoryless policy can balance every task:
whatever it does in a state, it does the opposite in the flipped task. An agent
must find out, from the response of the pole to its first few pushes, which
way round the actions are, and adapt; that is the point of the family.

Apart from the swap everything is the varied CartPole's:
:class:`FlippedCartPoleEnv` turns an action into the push it stands for and
hands it to :class:`~metarl_lite.envs.varied_cartpole.VariedCartPoleEnv`'s
``step``, so a flipped task played with actions ``a`` is step for step the
unflipped task played with ``1 - a``.

Training tasks come from :func:`sample_tasks` (the varied CartPole's sampling
box, and a fair coin for the flip); the held-out test tasks, :func:`test_tasks`,
have exactly the physics of ``varied_cartpole.test_tasks`` and every second one
flipped, so results on the two families can be compared task by task.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np

from metarl_lite._checks import check_positive_int
from metarl_lite.envs import varied_cartpole
from metarl_lite.envs.varied_cartpole import (
    CARTPOLE_DEFAULTS,
    CARTPOLE_TASK_KEYS,
    CartPoleTasks,
    VariedCartPoleEnv,
    VariedCartPoleVectorEnv,
)

#: Public names, also available as ``ml.envs.NAME``. The names every family defines
#: (``sample_tasks``, ``test_tasks``, ``ENV_IDS``, ``TEST_SEED``) stay out, so that
#: families do not shadow one another there: use ``ml.envs.flipped_cartpole.sample_tasks``.
__all__ = [
    "FLIPPED_CARTPOLE_ID",
    "FLIPPED_CARTPOLE_TASK_KEYS",
    "FlippedCartPoleEnv",
    "FlippedCartPoleTasks",
    "FlippedCartPoleVectorEnv",
]

#: Gymnasium id of :class:`FlippedCartPoleEnv` (500 steps per episode, as CartPole-v1).
FLIPPED_CARTPOLE_ID = "metarl_lite/FlippedCartPole-v0"
#: Gymnasium ids this module registers.
ENV_IDS: tuple[str, ...] = (FLIPPED_CARTPOLE_ID,)

#: The keys of a task: the five constants of the varied CartPole, then ``flipped``.
FLIPPED_CARTPOLE_TASK_KEYS: tuple[str, ...] = (*CARTPOLE_TASK_KEYS, "flipped")

#: Seed of the held-out physics: the varied CartPole's own, because :func:`test_tasks`
#: takes its physics from ``varied_cartpole.test_tasks``; the flips are not random.
TEST_SEED = varied_cartpole.TEST_SEED


class FlippedCartPoleTasks(NamedTuple):
    """``n`` tasks: CartPole physics, and whether the actions are swapped.

    Attributes:
        physics: the five constants of each task, arrays of shape ``(n,)``.
        flipped: bool array of shape ``(n,)``; ``True`` where action 0 pushes
            right and action 1 pushes left.
    """

    physics: CartPoleTasks
    flipped: np.ndarray

    def task(self, i: int) -> dict[str, float | bool]:
        """Task ``i`` as keyword arguments of :class:`FlippedCartPoleEnv` or its
        ``reset(options=...)``."""
        return {**self.physics.task(i), "flipped": bool(self.flipped[i])}

    @classmethod
    def default(cls, n: int) -> FlippedCartPoleTasks:
        """``n`` copies of Gymnasium's CartPole, none flipped."""
        check_positive_int("n", n)
        return cls(CartPoleTasks.default(n), np.zeros(n, dtype=bool))


def _check_flipped(name: str, value: object) -> bool:
    """``value`` as a ``bool``, after checking that it is one."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name}={value!r} is not allowed: it must be True or False")
    return bool(value)


def _check_flips(flipped: object, n: int) -> np.ndarray:
    """A copy of ``flipped``, after checking that it is a bool array of shape ``(n,)``."""
    values = np.array(flipped)
    if values.dtype != np.bool_:
        raise ValueError(
            f"tasks.flipped has dtype {values.dtype}: it must be bool "
            "(True where the actions are swapped)"
        )
    if values.shape != (n,):
        raise ValueError(
            f"tasks.flipped has shape {values.shape}: it must be ({n},), "
            f"one task per sub-environment (num_envs={n})"
        )
    return values


def sample_tasks(
    rng: np.random.Generator,
    n: int,
    ranges: Mapping[str, tuple[float, float]] | None = None,
) -> FlippedCartPoleTasks:
    """Draw ``n`` training tasks: physics as ``varied_cartpole.sample_tasks``, each
    task flipped with probability 1/2.

    Args:
        rng: the source of randomness.
        n: the number of tasks.
        ranges: ``(low, high)`` per constant, as in ``varied_cartpole.sample_tasks``;
            ``None`` means its sampling box.

    Returns:
        The tasks. The physics are drawn first (one ``(n, 5)`` uniform draw), then
        the flips (``n`` more uniforms), so the physics, but not the flips, of the
        first ``m`` of ``n`` tasks equal those of ``m`` tasks drawn from a
        generator in the same state.
    """
    physics = varied_cartpole.sample_tasks(rng, n, ranges)
    return FlippedCartPoleTasks(physics, rng.random(n) < 0.5)


def test_tasks(n: int) -> FlippedCartPoleTasks:
    """The first ``n`` held-out test tasks, the same on every call.

    The physics are ``varied_cartpole.test_tasks(n)``, task for task, and the
    odd-numbered tasks (1, 3, 5, ...) are flipped: half of any even number of them.
    ``test_tasks(10)`` is the first ten of ``test_tasks(100)``."""
    return FlippedCartPoleTasks(varied_cartpole.test_tasks(n), np.arange(n) % 2 == 1)


class FlippedCartPoleEnv(VariedCartPoleEnv):
    """The varied CartPole whose actions may be swapped.

    Observations, rewards, termination and the physics are those of
    :class:`~metarl_lite.envs.varied_cartpole.VariedCartPoleEnv`. With
    ``flipped=False`` the two are the same env; with ``flipped=True`` action 0
    pushes right and action 1 pushes left. Built with :func:`gymnasium.make`
    (or :func:`metarl_lite.envs.make_env`) from :data:`FLIPPED_CARTPOLE_ID` it
    is cut off after 500 steps, as CartPole-v1.

    Args:
        gravity, masscart, masspole, length, force_mag: the physics, as in
            ``VariedCartPoleEnv``.
        flipped: whether the actions are swapped.
        sutton_barto_reward, render_mode: as in ``VariedCartPoleEnv``.

    ``reset(options={...})`` may hold ``flipped`` and any of the five constants,
    which change the task from that episode on (the rest stay as they were), and
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
        flipped: bool = False,
        sutton_barto_reward: bool = False,
        render_mode: str | None = None,
    ) -> None:
        flipped = _check_flipped("flipped", flipped)
        super().__init__(
            gravity=gravity,
            masscart=masscart,
            masspole=masspole,
            length=length,
            force_mag=force_mag,
            sutton_barto_reward=sutton_barto_reward,
            render_mode=render_mode,
        )
        self.flipped = flipped

    @property
    def task(self) -> dict[str, float | bool]:
        """The current task, as keyword arguments of the constructor."""
        return {**super().task, "flipped": self.flipped}

    def set_task(self, **task: float | bool) -> None:
        """Set ``flipped`` and some or all of the five constants.

        Raises:
            ValueError: for an unknown name, a constant outside the varied
                CartPole's limits or a ``flipped`` that is not a bool; nothing
                changes then.
        """
        unknown = sorted(set(task) - set(FLIPPED_CARTPOLE_TASK_KEYS))
        if unknown:
            allowed = list(FLIPPED_CARTPOLE_TASK_KEYS)
            raise ValueError(f"unknown task parameters {unknown}: allowed are {allowed}")
        physics = {key: value for key, value in task.items() if key != "flipped"}
        flipped = _check_flipped("flipped", task["flipped"]) if "flipped" in task else None
        super().set_task(**physics)
        if flipped is not None:
            self.flipped = flipped

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start an episode, first setting the task keys found in ``options``."""
        if options:
            allowed = [*FLIPPED_CARTPOLE_TASK_KEYS, "low", "high"]
            unknown = sorted(set(options) - set(allowed))
            if unknown:
                raise ValueError(f"options has unknown keys {unknown}: allowed are {allowed}")
            self.set_task(**{k: v for k, v in options.items() if k in FLIPPED_CARTPOLE_TASK_KEYS})
            options = {k: v for k, v in options.items() if k != "flipped"}
        return super().reset(seed=seed, options=options)

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        """One step with action ``action`` (0 or 1), which means ``1 - action`` when flipped."""
        assert self.action_space.contains(action), f"{action!r} ({type(action)}) invalid"
        return super().step(1 - action if self.flipped else action)


class FlippedCartPoleVectorEnv(VariedCartPoleVectorEnv):
    """``num_envs`` CartPoles stepped together, each with its own physics and flip.

    The step swaps the actions of the flipped sub-environments (one
    ``np.where``) and hands them to
    :class:`~metarl_lite.envs.varied_cartpole.VariedCartPoleVectorEnv`, whose
    batched step, ``NEXT_STEP`` autoreset and everything else are unchanged (a
    new episode keeps its sub-environment's task, flip included). Observations
    have shape ``(num_envs, 4)``, actions ``(num_envs,)``.

    Tasks are set in the constructor or with ``reset(options={"tasks": tasks})``,
    a :class:`FlippedCartPoleTasks` of ``num_envs`` tasks; a ``CartPoleTasks``
    is taken as those physics with no task flipped. A ``reset`` without tasks
    keeps the current ones.

    Args:
        num_envs: the number of sub-environments.
        tasks: their tasks; ``None`` means Gymnasium's CartPole, unflipped, in each.
        max_episode_steps, sutton_barto_reward, render_mode: as in
            ``VariedCartPoleVectorEnv``.
    """

    def __init__(
        self,
        num_envs: int = 1,
        tasks: FlippedCartPoleTasks | CartPoleTasks | None = None,
        *,
        max_episode_steps: int = 500,
        sutton_barto_reward: bool = False,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(
            num_envs,
            tasks,
            max_episode_steps=max_episode_steps,
            sutton_barto_reward=sutton_barto_reward,
            render_mode=render_mode,
        )

    def set_tasks(self, tasks: FlippedCartPoleTasks | CartPoleTasks) -> None:
        """Give sub-environment ``i`` the task ``tasks.task(i)``, from the next step on.

        Raises:
            ValueError: unless ``tasks`` holds ``num_envs`` tasks with physics
                within the varied CartPole's limits and a bool ``flipped``;
                nothing changes then.
        """
        if isinstance(tasks, CartPoleTasks):
            super().set_tasks(tasks)
            self.flipped = np.zeros(self.num_envs, dtype=bool)
            return
        if not isinstance(tasks, FlippedCartPoleTasks):
            raise ValueError(
                f"tasks={tasks!r} is not allowed: it must be a FlippedCartPoleTasks "
                "(from sample_tasks, test_tasks or FlippedCartPoleTasks.default)"
            )
        flipped = _check_flips(tasks.flipped, self.num_envs)
        try:
            super().set_tasks(tasks.physics)
        except ValueError as err:  # name the field as the caller wrote it
            raise ValueError(str(err).replace("tasks", "tasks.physics", 1)) from None
        self.flipped = flipped

    @property
    def tasks(self) -> FlippedCartPoleTasks:
        """The current tasks (copies)."""
        return FlippedCartPoleTasks(super().tasks, self.flipped.copy())

    def step(
        self, action: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        """One step of every sub-environment; ``action`` has shape ``(num_envs,)``, each
        0 or 1, and means ``1 - action`` where the task is flipped."""
        assert self.action_space.contains(action), f"{action!r} ({type(action)}) invalid"
        action = np.asarray(action, dtype=np.int64)
        return super().step(np.where(self.flipped, 1 - action, action))


if FLIPPED_CARTPOLE_ID not in gym.registry:
    gym.register(
        id=FLIPPED_CARTPOLE_ID,
        entry_point=FlippedCartPoleEnv,
        vector_entry_point=FlippedCartPoleVectorEnv,
        max_episode_steps=500,
        reward_threshold=475.0,
    )
