"""Simulated users whose preferences drift: the task family of chapter 6's recommender.

A catalogue of ``k`` items is fixed for the whole family: item ``i`` has a
feature vector ``x_i`` of unit length in ``R^d`` (:func:`catalogue`). A task is
one user: a hidden preference ``theta`` on the unit sphere of ``R^d`` that holds
for the first ``shift_at`` steps of the session, then jumps to a second,
independent preference (the preference shift). At step ``t`` the recommender
shows one item ``a_t`` and the user clicks it with probability

    mu_i(t) = (1 + x_i . theta_t) / 2,

which lies in ``[0, 1]`` because both vectors have unit length. The click
probability is linear in the features, the model LinUCB and linear Thompson
sampling assume, so the classic baselines of :mod:`metarl_lite.recommend` meet
a well-specified problem; what they do not assume is the shift.

Shapes: ``B`` users, ``k`` items, ``d`` features, ``n`` steps per session.

Random numbers. As in :mod:`metarl_lite.envs.bernoulli_bandit`, a session
holds a table ``u`` of uniforms, shape ``(n, k)``: step ``t``'s item ``a``
is clicked when ``u[t, a] < mu_a(t)``. Two recommenders given the same table
meet the same outcome whenever they show the same item at the same step
(common random numbers).
"""

from __future__ import annotations

from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl_lite._checks import check_in_range, check_positive_int

__all__ = [
    "DRIFTING_USERS_ID",
    "DriftingUsersEnv",
    "UserTasks",
    "catalogue",
    "click_probabilities",
    "session_means",
]

#: Gymnasium id of :class:`DriftingUsersEnv`.
DRIFTING_USERS_ID = "metarl_lite/DriftingUsers-v0"
#: Gymnasium ids this module registers.
ENV_IDS: tuple[str, ...] = (DRIFTING_USERS_ID,)
#: Seed of the held-out users (the year and number of Li et al.'s LinUCB paper, WWW 2010).
TEST_SEED = 2010_0001
#: Seed of the catalogue's item features.
CATALOGUE_SEED = 6_3
#: The family's defaults: items, features, steps per session.
N_ITEMS = 10
N_FEATURES = 4
N_STEPS = 100
#: Shift times of training users: uniform on these steps (inclusive), for ``N_STEPS``.
SHIFT_RANGE: tuple[int, int] = (25, 75)


def _unit_rows(z: np.ndarray) -> np.ndarray:
    return z / np.linalg.norm(z, axis=-1, keepdims=True)


def catalogue(k: int = N_ITEMS, d: int = N_FEATURES) -> np.ndarray:
    """The items' features, shape ``(k, d)``: unit vectors, uniform on the sphere,
    always the same for a given ``(k, d)`` (drawn from ``(CATALOGUE_SEED, k, d)``)."""
    check_in_range("k", k, 2, 1000)
    check_in_range("d", d, 1, 100)
    return _unit_rows(np.random.default_rng([CATALOGUE_SEED, k, d]).standard_normal((k, d)))


def click_probabilities(items: np.ndarray, theta: np.ndarray) -> np.ndarray:
    """``mu = (1 + theta . x_i) / 2`` for every item.

    Args:
        items: shape ``(k, d)``, unit rows.
        theta: shape ``(..., d)``, unit vectors.

    Returns:
        Shape ``(..., k)``, in ``[0, 1]``.
    """
    return np.clip(0.5 * (1.0 + np.asarray(theta) @ np.asarray(items).T), 0.0, 1.0)


class UserTasks(NamedTuple):
    """A batch of users.

    Attributes:
        theta_before: shape ``(B, d)``, unit vectors: the preference before the shift.
        theta_after: shape ``(B, d)``, unit vectors: the preference from step ``shift_at``.
        shift_at: shape ``(B,)``, int64: the first step (counted from 0) of the new
            preference; ``n`` or more means no shift within an ``n``-step session.
    """

    theta_before: np.ndarray
    theta_after: np.ndarray
    shift_at: np.ndarray

    @property
    def n_tasks(self) -> int:
        """Number of users (the leading axis)."""
        return int(self.theta_before.shape[0])

    @property
    def d(self) -> int:
        """Number of features."""
        return int(self.theta_before.shape[1])

    def task(self, i: int) -> dict[str, Any]:
        """The keyword arguments of user ``i`` for :class:`DriftingUsersEnv`."""
        return {
            "theta_before": self.theta_before[i],
            "theta_after": self.theta_after[i],
            "shift_at": int(self.shift_at[i]),
        }

    def with_shift_at(self, shift_at: int) -> UserTasks:
        """The same users with every shift at step ``shift_at``."""
        check_positive_int("shift_at", shift_at)
        return self._replace(shift_at=np.full(self.n_tasks, shift_at, dtype=np.int64))


def _check_shift_range(shift_range: tuple[int, int]) -> None:
    low, high = shift_range
    check_positive_int("shift_range[0]", low)
    check_positive_int("shift_range[1]", high)
    if high < low:
        raise ValueError(
            f"shift_range={shift_range!r} is not allowed: it must be (low, high), low <= high"
        )


def _draw(
    rng_theta: np.random.Generator,
    rng_shift: np.random.Generator,
    n: int,
    d: int,
    shift_range: tuple[int, int],
) -> UserTasks:
    check_positive_int("n", n)
    check_in_range("d", d, 1, 100)
    _check_shift_range(shift_range)
    z = rng_theta.standard_normal((n, 2, d))  # row by row: a prefix of users is stable
    low, high = shift_range
    shift = low + np.floor(rng_shift.random(n) * (high - low + 1)).astype(np.int64)
    return UserTasks(_unit_rows(z[:, 0]), _unit_rows(z[:, 1]), shift)


def sample_tasks(
    rng: np.random.Generator,
    n: int,
    d: int = N_FEATURES,
    shift_range: tuple[int, int] = SHIFT_RANGE,
) -> UserTasks:
    """``n`` training users: two independent preferences uniform on the sphere and a
    shift time uniform on ``shift_range`` (inclusive)."""
    return _draw(rng, rng, n, d, shift_range)


def test_tasks(n: int, d: int = N_FEATURES, shift_at: int | None = None) -> UserTasks:
    """The first ``n`` held-out users, drawn from :data:`TEST_SEED`.

    ``test_tasks(m)`` is the first ``m`` users of ``test_tasks(n)`` for ``m <= n``.
    With ``shift_at`` every user's shift is at that step (the preferences stay the
    same); by default the shift times are drawn from :data:`SHIFT_RANGE`.
    """
    tasks = _draw(
        np.random.default_rng([TEST_SEED, d, 0]),
        np.random.default_rng([TEST_SEED, d, 1]),
        n,
        d,
        SHIFT_RANGE,
    )
    return tasks if shift_at is None else tasks.with_shift_at(shift_at)


test_tasks.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def session_means(tasks: UserTasks, items: np.ndarray, steps: int) -> np.ndarray:
    """Every user's click probabilities at every step: the batched form of the family.

    Args:
        tasks: ``B`` users.
        items: shape ``(k, d)``.
        steps: ``n``.

    Returns:
        Shape ``(B, n, k)``: ``mu[b, t]`` uses ``theta_before[b]`` for ``t < shift_at[b]``
        and ``theta_after[b]`` from then on.
    """
    check_positive_int("steps", steps)
    before = click_probabilities(items, tasks.theta_before)[:, None, :]
    after = click_probabilities(items, tasks.theta_after)[:, None, :]
    shifted = (np.arange(steps)[None, :] >= tasks.shift_at[:, None])[:, :, None]
    return np.where(shifted, after, before)


def _check_unit(name: str, value: Any, d: int) -> np.ndarray:
    arr = np.asarray(value, dtype=np.float64)
    if arr.shape != (d,):
        raise ValueError(f"{name} has shape {arr.shape}: it must be ({d},)")
    norm = float(np.linalg.norm(arr))
    if not abs(norm - 1.0) <= 1e-6:
        raise ValueError(f"{name}={arr.tolist()!r} has length {norm}: it must be a unit vector")
    return arr


class DriftingUsersEnv(gym.Env[np.ndarray, np.int64]):
    """One user's session of ``n_steps`` recommendations from a fixed catalogue.

    Observation: the catalogue's features, shape ``(k, d)`` (the same at every
    step: everything a recommender learns about the user is in its history of
    items and clicks). Action: the item to show, ``0 .. k-1``. Reward: ``1.0``
    for a click, else ``0.0``. ``info["regret"]`` is the step's expected regret,
    ``max_i mu_i(t) - mu_a(t)``, which only a simulator can know.

    The session ends after ``n_steps`` steps with ``terminated=True``, as a
    bandit trial does (:class:`~metarl_lite.envs.BernoulliBanditEnv`).

    Args:
        theta_before, theta_after: unit vectors of shape ``(d,)``; default: the
            first held-out user.
        shift_at: the step (from 0) at which ``theta_after`` takes over, ``>= 1``.
        n_steps: steps per session.
        items: shape ``(k, d)``, unit rows; default :func:`catalogue` for ``d``.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(
        self,
        theta_before: np.ndarray | None = None,
        theta_after: np.ndarray | None = None,
        shift_at: int | None = None,
        n_steps: int = N_STEPS,
        items: np.ndarray | None = None,
    ) -> None:
        check_positive_int("n_steps", n_steps)
        default = test_tasks(1).task(0)
        d = N_FEATURES if theta_before is None else int(np.asarray(theta_before).size)
        self.items = catalogue(N_ITEMS, d) if items is None else np.asarray(items, float)
        if self.items.ndim != 2 or self.items.shape[1] != d or self.items.shape[0] < 2:
            raise ValueError(f"items has shape {self.items.shape}: it must be (k >= 2, {d})")
        self.k, self.d, self.n_steps = self.items.shape[0], d, n_steps
        self._set_user(
            default["theta_before"] if theta_before is None else theta_before,
            default["theta_after"] if theta_after is None else theta_after,
            default["shift_at"] if shift_at is None else shift_at,
        )
        self.observation_space = spaces.Box(-1.0, 1.0, (self.k, self.d), np.float64)
        self.action_space = spaces.Discrete(self.k)
        self._uniforms = np.ones((n_steps, self.k))
        self._t = 0

    def _set_user(self, theta_before: Any, theta_after: Any, shift_at: Any) -> None:
        self.theta_before = _check_unit("theta_before", theta_before, self.d)
        self.theta_after = _check_unit("theta_after", theta_after, self.d)
        check_positive_int("shift_at", shift_at)
        self.shift_at = int(shift_at)

    def means(self, t: int) -> np.ndarray:
        """Click probabilities of every item at step ``t``, shape ``(k,)``."""
        theta = self.theta_before if t < self.shift_at else self.theta_after
        return click_probabilities(self.items, theta)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Start a session; ``options`` may set ``theta_before``, ``theta_after`` and
        ``shift_at`` (a new user, same ``d``)."""
        super().reset(seed=seed)
        if options:
            unknown = set(options) - {"theta_before", "theta_after", "shift_at"}
            if unknown:
                raise ValueError(
                    f"options={options!r} is not allowed: keys are theta_before, theta_after "
                    "and shift_at"
                )
            self._set_user(
                options.get("theta_before", self.theta_before),
                options.get("theta_after", self.theta_after),
                options.get("shift_at", self.shift_at),
            )
        self._uniforms = self.np_random.random((self.n_steps, self.k))
        self._t = 0
        return self.items.copy(), {"step": 0}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(
                f"action={action!r} is not allowed: choose an item in 0..{self.k - 1}"
            )
        if self._t >= self.n_steps:
            raise RuntimeError(
                f"the session ended after n_steps={self.n_steps} steps: call reset() first"
            )
        mu = self.means(self._t)
        item = int(action)
        click = float(self._uniforms[self._t, item] < mu[item])
        regret = float(mu.max() - mu[item])
        self._t += 1
        terminated = self._t >= self.n_steps
        return self.items.copy(), click, terminated, False, {"step": self._t, "regret": regret}


if DRIFTING_USERS_ID not in gym.registry:
    gym.register(id=DRIFTING_USERS_ID, entry_point=DriftingUsersEnv)
