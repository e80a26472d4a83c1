"""Bernoulli bandits with ``k`` arms and ``n`` pulls, the first task family of
RL^2 (Duan et al., 2016): each task is a vector of arm means drawn i.i.d. from
``U[0, 1]``, and an agent meets a new task every trial.

A bandit is a one-state MDP: the observation is always ``0``, the action is the
arm to pull, and the reward is ``1`` with the arm's mean as probability, else
``0``. Everything an agent can learn about the task is in its history of
actions and rewards, which is why a recurrent policy can learn to explore.

Random numbers. At every reset the environment draws a table ``u`` of uniforms,
shape ``(n_pulls, k)``, from its ``np_random``; pull ``t`` of arm ``a`` pays
``1`` when ``u[t, a] < means[a]``. Each reward is Bernoulli(``means[a]``) and
independent of the others, as the task requires, and
:func:`metarl_lite.bandits.play` uses the same rule, so an algorithm run by
``play`` with the generator of ``reset(seed=s)`` sees exactly the rewards the
environment would give it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from metarl_lite._checks import check_choice, check_positive_int

#: Public names, also available as ``ml.envs.NAME``. The names every family defines
#: (``sample_tasks``, ``test_tasks``, ``ENV_IDS``, ``TEST_SEED``) stay out, so that
#: families do not shadow one another there: use ``ml.envs.bernoulli_bandit.sample_tasks``.
__all__ = [
    "BANDIT_ID",
    "BanditTasks",
    "BernoulliBanditEnv",
    "BernoulliBanditVectorEnv",
]

#: Gymnasium id of :class:`BernoulliBanditEnv`.
BANDIT_ID = "metarl_lite/BernoulliBandit-v0"
#: Gymnasium ids this module registers.
ENV_IDS: tuple[str, ...] = (BANDIT_ID,)
#: Seed of the held-out tasks (the arXiv number of Duan et al. 2016).
TEST_SEED = 161102779
#: The task :class:`BernoulliBanditEnv` plays when none is given: five arms.
DEFAULT_MEANS: tuple[float, ...] = (0.1, 0.3, 0.5, 0.7, 0.9)


class BanditTasks(NamedTuple):
    """A batch of Bernoulli bandits.

    Attributes:
        means: the arms' success probabilities, shape ``(n_tasks, k)``, in ``[0, 1]``.
    """

    means: np.ndarray

    @property
    def n_tasks(self) -> int:
        """Number of tasks (the leading axis)."""
        return int(self.means.shape[0])

    @property
    def k(self) -> int:
        """Number of arms."""
        return int(self.means.shape[1])

    def task(self, i: int) -> dict[str, np.ndarray]:
        """The keyword arguments of task ``i``: ``{"means": shape (k,)}``."""
        return {"means": self.means[i]}


def check_means(name: str, means: Any, k: int | None = None, *, batch: bool = False) -> np.ndarray:
    """Validate arm means and return them as a float64 array.

    Args:
        name: the argument's name, quoted in the message.
        means: shape ``(k,)``, or ``(n, k)`` with ``batch=True``; values in ``[0, 1]``.
        k: the required number of arms, or ``None`` for any ``k >= 2``.
        batch: whether a leading task axis is expected.

    Raises:
        ValueError: naming ``name``, the value received and what is allowed.
    """
    arr = np.asarray(means, dtype=np.float64)
    want = "(n_tasks, k)" if batch else "(k,)"
    ndim = 2 if batch else 1
    if arr.ndim != ndim or (batch and arr.shape[0] < 1):
        raise ValueError(f"{name} has shape {arr.shape}: it must be {want}")
    if arr.shape[-1] < 2:
        raise ValueError(f"{name} has {arr.shape[-1]} arms (shape {arr.shape}): k must be >= 2")
    if k is not None and arr.shape[-1] != k:
        raise ValueError(f"{name} has shape {arr.shape}: it must have k={k} arms")
    if not np.all((arr >= 0.0) & (arr <= 1.0)):  # also rejects NaN
        bad = float(arr[~((arr >= 0.0) & (arr <= 1.0))].ravel()[0])
        raise ValueError(f"{name} contains {bad!r}: every mean must lie in [0.0, 1.0]")
    return arr


def _check_k(k: int) -> None:
    check_positive_int("k", k)
    if k < 2:
        raise ValueError(f"k={k!r} is not allowed: a bandit needs k >= 2 arms")


def sample_tasks(rng: np.random.Generator, n: int, k: int = 5) -> BanditTasks:
    """``n`` training bandits with ``k`` arms, means i.i.d. ``U[0, 1]``.

    Returns:
        :class:`BanditTasks` with ``means`` of shape ``(n, k)``.
    """
    check_positive_int("n", n)
    _check_k(k)
    return BanditTasks(rng.random((n, k)))


def test_tasks(n: int, k: int = 5) -> BanditTasks:
    """The first ``n`` held-out bandits with ``k`` arms.

    They come from a generator seeded with ``(TEST_SEED, k)``, drawn row by row,
    so the result is the same on every call and ``test_tasks(m, k)`` is the
    first ``m`` rows of ``test_tasks(n, k)`` for ``m <= n``.
    """
    check_positive_int("n", n)
    _check_k(k)
    return BanditTasks(np.random.default_rng([TEST_SEED, k]).random((n, k)))


test_tasks.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


class BernoulliBanditEnv(gym.Env[np.int64, np.int64]):
    """A ``k``-armed Bernoulli bandit played for ``n_pulls`` pulls.

    Observation ``0`` always (``Discrete(1)``); action: the arm, ``0 .. k-1``;
    reward ``1.0`` with probability ``means[action]``, else ``0.0``.

    The episode ends after ``n_pulls`` pulls with ``terminated=True`` (and
    ``truncated=False``). The number of pulls is part of the task, not a time
    limit laid over it: the objective is the total reward of exactly ``n``
    pulls, and the best policy depends on how many are left (exploring pays
    only while there is time to use what was learnt). Nothing follows the last
    pull, so its value is zero and a learner must not bootstrap past it, which
    is what ``terminated`` says. (The observation does not show the pull count;
    a recurrent agent can count, and ``info["pulls"]`` gives it.)

    Args:
        means: the arms' success probabilities, shape ``(k,)``, ``k >= 2``, in ``[0, 1]``.
        n_pulls: pulls per episode, ``>= 1``.
        render_mode: ``None`` or ``"ansi"`` (pulls and successes per arm, as text).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        means: Sequence[float] | np.ndarray = DEFAULT_MEANS,
        n_pulls: int = 10,
        *,
        render_mode: str | None = None,
    ) -> None:
        self.means = check_means("means", means)
        check_positive_int("n_pulls", n_pulls)
        check_choice("render_mode", render_mode, (None, "ansi"))
        self.k = int(self.means.shape[0])
        self.n_pulls = n_pulls
        self.render_mode = render_mode
        self.observation_space = spaces.Discrete(1)
        self.action_space = spaces.Discrete(self.k)
        self._uniforms = np.ones((n_pulls, self.k))
        self._pulls = 0
        self._counts = np.zeros(self.k, dtype=np.int64)
        self._successes = np.zeros(self.k, dtype=np.int64)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict[str, Any]]:
        """Start a new episode. ``options={"means": ...}`` sets a new task
        (shape ``(k,)``, the same ``k``)."""
        super().reset(seed=seed)
        if options and "means" in options:
            self.means = check_means("options['means']", options["means"], self.k)
        self._uniforms = self.np_random.random((self.n_pulls, self.k))
        self._pulls = 0
        self._counts[:] = 0
        self._successes[:] = 0
        return np.int64(0), {"pulls": 0}

    def step(self, action: int) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action={action!r} is not allowed: choose an arm in 0..{self.k - 1}")
        if self._pulls >= self.n_pulls:
            raise RuntimeError(
                f"the episode ended after n_pulls={self.n_pulls} pulls: call reset() first"
            )
        arm = int(action)
        reward = float(self._uniforms[self._pulls, arm] < self.means[arm])
        self._pulls += 1
        self._counts[arm] += 1
        self._successes[arm] += int(reward)
        terminated = self._pulls >= self.n_pulls
        return np.int64(0), reward, terminated, False, {"pulls": self._pulls}

    def render(self) -> str | None:
        """With ``render_mode="ansi"``: one line per arm, ``successes/pulls``."""
        if self.render_mode != "ansi":
            return None
        lines = [f"pull {self._pulls}/{self.n_pulls}"]
        for a in range(self.k):
            lines.append(f"arm {a}: {self._successes[a]}/{self._counts[a]}")
        return "\n".join(lines) + "\n"


class BernoulliBanditVectorEnv(VectorEnv):
    """``num_envs`` Bernoulli bandits with ``k`` arms stepped together in numpy.

    Sub-environment ``i`` behaves exactly like a :class:`BernoulliBanditEnv`
    reset with seed ``seed + i`` (as in Gymnasium's ``SyncVectorEnv``): it has
    its own generator and draws its own table of uniforms at every reset.

    Tasks are set with ``reset(options={"tasks": BanditTasks})`` (``num_envs``
    tasks of ``k`` arms) and kept until the next such reset; the first reset
    must give them. All sub-environments end their episodes together, after
    ``n_pulls`` steps (``terminated``, see :class:`BernoulliBanditEnv`), and
    reset themselves on the next step in Gymnasium's ``NEXT_STEP`` mode: that
    step ignores the actions and returns observation ``0``, reward ``0`` and
    ``terminated = truncated = False``, with the same tasks and fresh uniforms.

    Observations: int64 zeros, shape ``(num_envs,)``; actions: ints, shape
    ``(num_envs,)``; rewards: float64, shape ``(num_envs,)``;
    ``infos["pulls"]``: int, shape ``(num_envs,)``.

    Args:
        num_envs: number of bandits, ``>= 1``.
        k: arms per bandit, ``>= 2``.
        n_pulls: pulls per episode, ``>= 1``.
    """

    metadata: ClassVar[dict[str, Any]] = {"autoreset_mode": AutoresetMode.NEXT_STEP}

    def __init__(self, num_envs: int, k: int = 5, n_pulls: int = 10) -> None:
        check_positive_int("num_envs", num_envs)
        _check_k(k)
        check_positive_int("n_pulls", n_pulls)
        self.num_envs = num_envs
        self.k = k
        self.n_pulls = n_pulls
        self.single_observation_space = spaces.Discrete(1)
        self.single_action_space = spaces.Discrete(k)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.means: np.ndarray | None = None
        self._rngs: list[np.random.Generator] = []
        self._uniforms = np.ones((num_envs, n_pulls, k))
        self._pulls = 0
        self._needs_reset = False
        self._rows = np.arange(num_envs)

    @property
    def tasks(self) -> BanditTasks | None:
        """The current tasks (``None`` before the first reset)."""
        return None if self.means is None else BanditTasks(self.means)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start new episodes in every sub-environment.

        Args:
            seed: sub-environment ``i`` is seeded with ``seed + i``; ``None``
                keeps the generators (fresh random ones on the first reset).
            options: ``{"tasks": BanditTasks}`` with ``num_envs`` tasks of ``k`` arms.
        """
        if options and "tasks" in options:
            tasks = options["tasks"]
            means = getattr(tasks, "means", tasks)
            means = check_means("options['tasks'].means", means, self.k, batch=True)
            if means.shape[0] != self.num_envs:
                raise ValueError(
                    f"options['tasks'] has {means.shape[0]} tasks: it must have "
                    f"num_envs={self.num_envs}, one per sub-environment"
                )
            self.means = means
        if self.means is None:
            raise ValueError(
                "options=None is not allowed on the first reset: give the tasks, "
                "reset(options={'tasks': BanditTasks})"
            )
        if seed is not None:
            self._rngs = [seeding.np_random(seed + i)[0] for i in range(self.num_envs)]
        elif not self._rngs:
            self._rngs = [seeding.np_random()[0] for _ in range(self.num_envs)]
        self._draw_uniforms()
        obs = np.zeros(self.num_envs, dtype=np.int64)
        return obs, {"pulls": np.zeros(self.num_envs, dtype=np.int64)}

    def _draw_uniforms(self) -> None:
        for i, rng in enumerate(self._rngs):
            self._uniforms[i] = rng.random((self.n_pulls, self.k))
        self._pulls = 0
        self._needs_reset = False

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if self.means is None:
            raise RuntimeError("call reset(options={'tasks': ...}) before step()")
        obs = np.zeros(self.num_envs, dtype=np.int64)
        no = np.zeros(self.num_envs, dtype=bool)
        if self._needs_reset:
            self._draw_uniforms()
            pulls = np.zeros(self.num_envs, dtype=np.int64)
            return obs, np.zeros(self.num_envs), no, no.copy(), {"pulls": pulls}
        arms = np.asarray(actions)
        if (
            arms.shape != (self.num_envs,)
            or not np.issubdtype(arms.dtype, np.integer)
            or np.any((arms < 0) | (arms >= self.k))
        ):
            raise ValueError(
                f"actions={actions!r} is not allowed: it must be integers in 0..{self.k - 1}, "
                f"shape ({self.num_envs},)"
            )
        u = self._uniforms[self._rows, self._pulls, arms]
        rewards = (u < self.means[self._rows, arms]).astype(np.float64)
        self._pulls += 1
        done = self._pulls >= self.n_pulls
        self._needs_reset = done
        terminated = np.full(self.num_envs, done)
        pulls = np.full(self.num_envs, self._pulls, dtype=np.int64)
        return obs, rewards, terminated, no, {"pulls": pulls}


if BANDIT_ID not in gym.registry:
    gym.register(id=BANDIT_ID, entry_point=BernoulliBanditEnv)
