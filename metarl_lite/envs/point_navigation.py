"""Point navigation with a hidden goal: the 2D navigation tasks of MAML.

Finn, Abbeel and Levine (2017, section 5.3) meta-train a policy on a point that
must walk to a goal it cannot see. The rules here follow their released
environment (``maml_examples/point_env_randgoal.py`` in ``cbfinn/maml_rl``) and
its PyTorch port (``maml_rl/envs/navigation.py`` in ``tristandeleu/pytorch-maml-rl``):

- the point starts at the origin; the goal of a task is drawn uniformly from
  the square ``[-0.5, 0.5]^2``;
- an action is a velocity, clipped to ``[-0.1, 0.1]`` per coordinate (the port
  clips inside the environment; the original clips through rllab's ``normalize``
  wrapper, whose policy acts in ``[-1, 1]`` scaled to the box);
- the point moves first, then the reward is minus its Euclidean distance to the
  goal *after* the move;
- the episode terminates when the point is within 0.01 of the goal in *each*
  coordinate (a square of side 0.02, as in both sources, not a disc); it is
  truncated after 100 steps, the paper's horizon;
- the observation is the position alone, so the goal must be inferred from the
  rewards: that is what makes this a meta-learning problem.

Positions, goals and rewards are float32, so that a batched torch roll-out of
the same rules (:mod:`metarl_lite.maml_rl`) reproduces this module bit for bit.

Names: :class:`NavigationTasks` holds goals with a leading task axis;
:func:`sample_tasks` draws training goals; :func:`test_tasks` gives the fixed
held-out goals; :class:`PointNavigationEnv` is one Gymnasium environment and
:class:`PointNavigationVectorEnv` a NumPy batch of them, one goal per
sub-environment; :func:`navigation_step` is the rule both of them apply.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from metarl_lite._checks import check_in_range, check_non_negative_int, check_positive_int

#: Public names, also available as ``ml.envs.NAME``. The task functions every family
#: defines (``sample_tasks``, ``test_tasks``) and the constants stay out, so that
#: families do not shadow one another there: use ``ml.envs.point_navigation.sample_tasks``.
__all__ = [
    "NAVIGATION_ID",
    "NavigationTasks",
    "PointNavigationEnv",
    "PointNavigationVectorEnv",
    "navigation_step",
]

#: Gymnasium id of :class:`PointNavigationEnv`.
NAVIGATION_ID = "metarl_lite/PointNavigation-v0"
#: Gymnasium ids this module registers.
ENV_IDS: tuple[str, ...] = (NAVIGATION_ID,)

#: Each goal coordinate lies in this interval (Finn et al., 2017).
GOAL_RANGE: tuple[float, float] = (-0.5, 0.5)
#: Each velocity coordinate is clipped to ``[-MAX_SPEED, MAX_SPEED]``.
MAX_SPEED = 0.1
#: Steps before an episode is truncated.
HORIZON = 100
#: The episode terminates when ``|position - goal| < GOAL_TOLERANCE`` in both coordinates.
GOAL_TOLERANCE = 0.01
#: The goal of an environment built without one (a corner: the farthest goals).
DEFAULT_GOAL: tuple[float, float] = (0.5, 0.5)
#: Seed of the held-out goals of :func:`test_tasks`.
TEST_SEED = 4_000_037

_DTYPE = np.float32


def observation_bound(horizon: int) -> float:
    """How far the point can get in ``horizon`` steps, per coordinate, plus 1% for
    float32 rounding (100 steps of 0.1 sum to 10.000002 in float32)."""
    return 1.01 * horizon * MAX_SPEED


class NavigationTasks(NamedTuple):
    """A set of navigation tasks, one goal per task.

    Attributes:
        goals: float32, shape ``(n, 2)``.
    """

    goals: np.ndarray

    def task(self, i: int) -> dict[str, np.ndarray]:
        """Task ``i`` as keyword arguments of :class:`PointNavigationEnv` or its ``reset``
        options: ``{"goal": goals[i]}`` (shape ``(2,)``)."""
        return {"goal": self.goals[i].copy()}

    def take(self, index: np.ndarray | list[int]) -> NavigationTasks:
        """The tasks at ``index`` (shape ``(m,)``), repeats allowed."""
        return NavigationTasks(self.goals[np.asarray(index)])


def _draw_goals(rng: np.random.Generator, n: int) -> NavigationTasks:
    return NavigationTasks(rng.uniform(*GOAL_RANGE, size=(n, 2)).astype(_DTYPE))


def sample_tasks(rng: np.random.Generator, n: int) -> NavigationTasks:
    """``n`` training goals, uniform in ``[-0.5, 0.5]^2``, drawn from ``rng``."""
    check_positive_int("n", n)
    return _draw_goals(rng, n)


def test_tasks(n: int) -> NavigationTasks:
    """The first ``n`` held-out goals: always the same, drawn from :data:`TEST_SEED`.

    ``test_tasks(10)`` is the first ten of ``test_tasks(100)``. Goals are
    continuous, so a training draw repeats a test goal with probability zero
    (a test checks it on many draws).
    """
    check_positive_int("n", n)
    return _draw_goals(np.random.default_rng(TEST_SEED), n)


def check_goals(name: str, goals: Any, shape: tuple[int, ...]) -> np.ndarray:
    """``goals`` as a float32 array of ``shape``, every coordinate in :data:`GOAL_RANGE`.

    Raises:
        ValueError: naming ``name``, for a wrong shape or a coordinate out of range.
    """
    array = np.asarray(goals, dtype=np.float64)
    if array.shape != shape:
        raise ValueError(f"{name}={goals!r} has shape {array.shape}: it must have shape {shape}")
    bad = ~((array >= GOAL_RANGE[0]) & (array <= GOAL_RANGE[1]))  # NaN counts as bad
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        check_in_range(f"{name}{list(where)}", float(array[where]), *GOAL_RANGE)
    return array.astype(_DTYPE)


def navigation_step(
    positions: np.ndarray, actions: np.ndarray, goals: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One step of every point: the rule of both environments.

    Args:
        positions: float32, shape ``(..., 2)``.
        actions: velocities, shape ``(..., 2)``; clipped to ``[-0.1, 0.1]``.
        goals: float32, shape ``(..., 2)``.

    Returns:
        ``(new_positions, rewards, terminated)`` of shapes ``(..., 2)``,
        ``(...)`` and ``(...)``: the reward is minus the distance to the goal
        after the move; ``terminated`` is true within :data:`GOAL_TOLERANCE`
        of the goal in both coordinates.
    """
    velocity = np.clip(np.asarray(actions, dtype=_DTYPE), -MAX_SPEED, MAX_SPEED)
    new_positions = (positions + velocity).astype(_DTYPE)
    offset = new_positions - goals
    rewards = -np.sqrt(offset[..., 0] * offset[..., 0] + offset[..., 1] * offset[..., 1])
    terminated = np.all(np.abs(offset) < GOAL_TOLERANCE, axis=-1)
    return new_positions, rewards, terminated


def _check_actions(actions: Any, shape: tuple[int, ...]) -> np.ndarray:
    array = np.asarray(actions, dtype=_DTYPE)
    if array.shape != shape:
        raise ValueError(f"action={actions!r} has shape {array.shape}: it must have shape {shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"action={actions!r} is not allowed: it must be finite")
    return array


class PointNavigationEnv(gym.Env[np.ndarray, np.ndarray]):
    """A point in the plane that must reach a goal it does not observe.

    Observation: the position, float32 shape ``(2,)`` (the goal is hidden),
    within :func:`observation_bound` of the origin.
    Action: a velocity, float32 shape ``(2,)`` in ``[-0.1, 0.1]^2``; larger
    values are clipped. Reward: minus the distance to the goal after the move.
    The episode terminates within 0.01 of the goal in each coordinate and is
    truncated after :data:`HORIZON` steps. The start (the origin) and the
    dynamics are deterministic.

    Args:
        goal: the task, shape ``(2,)`` in ``[-0.5, 0.5]^2``; change it with
            ``reset(options={"goal": ...})``.
        horizon: steps before truncation.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012 -- Gymnasium's convention

    def __init__(self, goal: Any = DEFAULT_GOAL, horizon: int = HORIZON) -> None:
        check_positive_int("horizon", horizon)
        self.goal = check_goals("goal", goal, (2,))
        self.horizon = horizon
        bound = observation_bound(horizon)
        self.observation_space = spaces.Box(-bound, bound, shape=(2,), dtype=_DTYPE)
        self.action_space = spaces.Box(-MAX_SPEED, MAX_SPEED, shape=(2,), dtype=_DTYPE)
        self.position = np.zeros(2, dtype=_DTYPE)
        self.elapsed = 0

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Back to the origin; ``options={"goal": ...}`` sets a new goal."""
        super().reset(seed=seed)
        if options and "goal" in options:
            self.goal = check_goals("goal", options["goal"], (2,))
        self.position = np.zeros(2, dtype=_DTYPE)
        self.elapsed = 0
        return self.position.copy(), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        velocity = _check_actions(action, (2,))
        self.position, reward, terminated = navigation_step(self.position, velocity, self.goal)
        self.elapsed += 1
        truncated = self.elapsed >= self.horizon and not terminated
        return self.position.copy(), float(reward), bool(terminated), truncated, {}


class PointNavigationVectorEnv(VectorEnv):
    """``num_envs`` point-navigation environments stepped together in NumPy.

    Sub-environment ``i`` has goal ``tasks.goals[i]``; set the tasks with
    ``reset(options={"tasks": NavigationTasks})`` (``n`` must equal
    ``num_envs``). Each sub-environment steps exactly like
    :class:`PointNavigationEnv`. A finished sub-environment is reset on the
    next call of :meth:`step` (Gymnasium's next-step autoreset): that call
    ignores its action and returns the origin, reward 0 and no termination.

    Shapes: observations ``(num_envs, 2)``, actions ``(num_envs, 2)``,
    rewards, ``terminated`` and ``truncated`` ``(num_envs,)``.

    Args:
        num_envs: number of sub-environments.
        tasks: their goals (default: :data:`DEFAULT_GOAL` for every one).
        horizon: steps before truncation.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 -- Gymnasium's convention
        "render_modes": [],
        "autoreset_mode": AutoresetMode.NEXT_STEP,
    }

    def __init__(
        self, num_envs: int, tasks: NavigationTasks | None = None, horizon: int = HORIZON
    ) -> None:
        check_positive_int("num_envs", num_envs)
        check_positive_int("horizon", horizon)
        self.num_envs = num_envs
        self.horizon = horizon
        bound = observation_bound(horizon)
        self.single_observation_space = spaces.Box(-bound, bound, shape=(2,), dtype=_DTYPE)
        self.single_action_space = spaces.Box(-MAX_SPEED, MAX_SPEED, shape=(2,), dtype=_DTYPE)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.goals = np.tile(np.asarray(DEFAULT_GOAL, dtype=_DTYPE), (num_envs, 1))
        if tasks is not None:
            self.goals = self._check_tasks(tasks)
        self.positions = np.zeros((num_envs, 2), dtype=_DTYPE)
        self.elapsed = np.zeros(num_envs, dtype=np.int64)
        self._needs_reset = np.zeros(num_envs, dtype=bool)

    def _check_tasks(self, tasks: Any) -> np.ndarray:
        if not isinstance(tasks, NavigationTasks):
            raise ValueError(f"tasks={tasks!r} is not allowed: it must be a NavigationTasks")
        return check_goals("tasks.goals", tasks.goals, (self.num_envs, 2))

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Every point back to the origin; ``options={"tasks": ...}`` sets new goals."""
        if seed is not None:
            check_non_negative_int("seed", seed)
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seed)
        if options and "tasks" in options:
            self.goals = self._check_tasks(options["tasks"])
        self.positions = np.zeros((self.num_envs, 2), dtype=_DTYPE)
        self.elapsed = np.zeros(self.num_envs, dtype=np.int64)
        self._needs_reset = np.zeros(self.num_envs, dtype=bool)
        return self.positions.copy(), {}

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        velocity = _check_actions(actions, (self.num_envs, 2))
        positions, rewards, terminated = navigation_step(self.positions, velocity, self.goals)
        elapsed = self.elapsed + 1
        restart = self._needs_reset
        if restart.any():
            positions[restart] = 0.0
            rewards[restart] = 0.0
            terminated[restart] = False
            elapsed[restart] = 0
        truncated = (elapsed >= self.horizon) & ~terminated
        self.positions, self.elapsed = positions, elapsed
        self._needs_reset = terminated | truncated
        return (
            positions.copy(),
            rewards.astype(np.float64),
            terminated,
            truncated,
            {},
        )


if NAVIGATION_ID not in gym.registry:
    gym.register(id=NAVIGATION_ID, entry_point=PointNavigationEnv)
