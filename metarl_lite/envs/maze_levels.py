"""Maze levels: a family of small gridworld levels, each with its own walls and a hidden goal.

Chapter 6 (game AI on new levels). A game that generates its levels by a
program (procedural generation) asks a player to cope with a layout it has
never seen. Here a *level* is a ``size x size`` room with randomly placed inner
walls (always leaving the free cells connected), a start cell and a goal cell.
The goal is not drawn on the map: the agent sees only where it stands and which
of its four neighbours are walls (a "dark room"), so it must search for the
goal, and a player that remembers where it found the goal can walk straight
back to it in the next episode on the same level.

A *trial* is ``K`` episodes on one level; the level (walls, start, goal) stays
the same for the whole trial. Rewards follow the chapter-1 gridworld: -1 for a
step that does not reach the goal, +10 for the step that does (which ends the
episode, ``terminated=True``); after ``max_steps`` steps the episode is cut off
(``truncated=True``). An episode that reaches the goal after ``s`` steps thus
returns ``11 - s``, and one that does not returns ``-max_steps``.

Training levels come from :func:`sample_tasks` with the caller's generator;
held-out levels from :func:`test_tasks`, always drawn from :data:`TEST_SEED`.
Each level is generated from its own child seed, so a prefix of a draw equals a
shorter draw (prefix-stable).
"""

from __future__ import annotations

import zlib
from collections import deque
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl_lite._checks import check_choice, check_in_range, check_positive_int

__all__ = [
    "LEVEL_MOVES",
    "MAZE_LEVELS_ID",
    "LevelTasks",
    "MazeLevelsEnv",
]

#: Gymnasium id of :class:`MazeLevelsEnv`.
MAZE_LEVELS_ID = "metarl_lite/MazeLevels-v0"
#: Gymnasium ids this module registers.
ENV_IDS: tuple[str, ...] = (MAZE_LEVELS_ID,)
#: Seed of the held-out levels (mixed with the level size).
TEST_SEED = 6_000_002
#: Action ``a`` moves by ``LEVEL_MOVES[a]`` = (row change, column change): up, right, down, left.
LEVEL_MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
#: One level in this many (by checksum) is held out from training.
HELD_OUT_SHARE = 10
#: Default side of a level (free interior, the outer wall not counted).
DEFAULT_SIZE = 4
#: Default cap on the steps of an episode.
DEFAULT_MAX_STEPS = 16
#: Default probability that a cell of a generated level is a wall.
DEFAULT_WALL_DENSITY = 0.2
STEP_REWARD = -1.0
GOAL_REWARD = 10.0


class LevelTasks(NamedTuple):
    """``n`` levels of one size.

    Attributes:
        walls: bool, shape ``(n, size, size)``; ``walls[i, r, c]`` is a wall.
        start: int64, shape ``(n, 2)``: the start cell ``(row, col)`` of each level.
        goal: int64, shape ``(n, 2)``: the goal cell of each level.
    """

    walls: np.ndarray
    start: np.ndarray
    goal: np.ndarray

    def task(self, i: int) -> dict[str, Any]:
        """Level ``i`` as keyword arguments of :class:`MazeLevelsEnv` or its
        ``reset(options=...)``."""
        return {
            "walls": self.walls[i].copy(),
            "start": tuple(int(v) for v in self.start[i]),
            "goal": tuple(int(v) for v in self.goal[i]),
        }

    @property
    def n(self) -> int:
        """Number of levels."""
        return int(self.walls.shape[0])

    @property
    def size(self) -> int:
        """Side of the levels."""
        return int(self.walls.shape[1])


def distances(walls: np.ndarray, source: tuple[int, int]) -> np.ndarray:
    """Shortest-path lengths (in steps) from ``source`` to every cell, by breadth-first search.

    Args:
        walls: bool, shape ``(size, size)``.
        source: ``(row, col)``, a free cell.

    Returns:
        int64, shape ``(size, size)``; -1 for walls and cells that cannot be reached.
    """
    size = walls.shape[0]
    dist = np.full(walls.shape, -1, dtype=np.int64)
    dist[source] = 0
    queue = deque([source])
    while queue:
        r, c = queue.popleft()
        for dr, dc in LEVEL_MOVES:
            nr, nc = r + dr, c + dc
            if 0 <= nr < size and 0 <= nc < size and not walls[nr, nc] and dist[nr, nc] < 0:
                dist[nr, nc] = dist[r, c] + 1
                queue.append((nr, nc))
    return dist


def shortest_steps(tasks: LevelTasks) -> np.ndarray:
    """Fewest steps from start to goal on each level, shape ``(n,)``."""
    return np.array(
        [
            distances(tasks.walls[i], tuple(tasks.start[i]))[tuple(tasks.goal[i])]
            for i in range(tasks.n)
        ]
    )


def is_held_out(walls: np.ndarray, start: np.ndarray, goal: np.ndarray) -> bool:
    """Whether a level belongs to the held-out split: one level in :data:`HELD_OUT_SHARE`
    by a checksum of its walls, start and goal, so no training level is ever a test level."""
    return zlib.crc32(level_key(walls, start, goal)) % HELD_OUT_SHARE == 0


def generate_level(
    rng: np.random.Generator, size: int, wall_density: float, held_out: bool = False
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One level: walls ``(size, size)``, start ``(2,)`` and goal ``(2,)``.

    Walls are i.i.d. with probability ``wall_density``; a draw is kept only if
    the free cells are connected and number at least ``size`` (so no part of the
    room is sealed off); then start and goal are two distinct free cells. Draws
    are repeated until the level lies in the asked split (:func:`is_held_out`).
    """
    while True:
        walls = rng.random((size, size)) < wall_density
        free = np.argwhere(~walls)
        if len(free) < max(size, 2):
            continue
        dist = distances(walls, (int(free[0, 0]), int(free[0, 1])))
        if (dist[~walls] < 0).any():
            continue
        pick = rng.choice(len(free), size=2, replace=False)
        start, goal = free[pick[0]].astype(np.int64), free[pick[1]].astype(np.int64)
        if is_held_out(walls, start, goal) == held_out:
            return walls, start, goal


def sample_tasks(
    rng: np.random.Generator,
    n: int,
    size: int = DEFAULT_SIZE,
    wall_density: float = DEFAULT_WALL_DENSITY,
    *,
    held_out: bool = False,
) -> LevelTasks:
    """Generate ``n`` training levels (or, with ``held_out=True``, held-out ones).

    Args:
        rng: the source of randomness; one integer per level is taken from it
            and seeds that level's own generator (so the first ``m`` of ``n``
            levels equal ``m`` levels drawn from a generator in the same state).
        n: number of levels.
        size: side of a level, 3 to 12.
        wall_density: probability that a cell is a wall, in ``[0, 0.4]``.
        held_out: draw from the held-out split instead (see :func:`is_held_out`).

    Returns:
        The levels, arrays with a leading level axis of length ``n``.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng={rng!r} is not allowed: it must be a numpy Generator (np.random.default_rng)"
        )
    check_positive_int("n", n)
    check_in_range("size", size, 3, 12)
    check_in_range("wall_density", wall_density, 0.0, 0.4)
    seeds = rng.integers(0, 2**63 - 1, size=n)
    walls, start, goal = zip(
        *(
            generate_level(np.random.default_rng(int(s)), size, wall_density, held_out)
            for s in seeds
        ),
        strict=True,
    )
    return LevelTasks(np.stack(walls), np.stack(start), np.stack(goal))


def test_tasks(
    n: int, size: int = DEFAULT_SIZE, wall_density: float = DEFAULT_WALL_DENSITY
) -> LevelTasks:
    """The first ``n`` held-out levels of side ``size``: the same on every call,
    generated from ``default_rng([TEST_SEED, size, round(100 * wall_density)])``;
    ``test_tasks(10)`` is the first ten of ``test_tasks(100)``. Other wall
    densities than the training one give levels unlike any seen in training. No
    held-out level is ever a training level (:func:`is_held_out`)."""
    check_in_range("size", size, 3, 12)
    check_in_range("wall_density", wall_density, 0.0, 0.4)
    rng = np.random.default_rng([TEST_SEED, size, round(100 * wall_density)])
    return sample_tasks(rng, n, size, wall_density, held_out=True)


def level_key(walls: np.ndarray, start: np.ndarray, goal: np.ndarray) -> bytes:
    """A hashable fingerprint of one level, to count levels shared by two sets."""
    return np.packbits(walls).tobytes() + np.asarray([*start, *goal], np.int8).tobytes()


def wall_bits(walls: np.ndarray, row: int, col: int) -> np.ndarray:
    """Whether each neighbour of ``(row, col)`` (up, right, down, left) is blocked,
    the outer wall included: int64, shape ``(4,)``."""
    size = walls.shape[0]
    out = np.zeros(4, dtype=np.int64)
    for a, (dr, dc) in enumerate(LEVEL_MOVES):
        r, c = row + dr, col + dc
        out[a] = not (0 <= r < size and 0 <= c < size) or bool(walls[r, c])
    return out


def _check_level(
    walls: Any, start: Any, goal: Any, size: int | None = None
) -> tuple[np.ndarray, tuple[int, int], tuple[int, int]]:
    w = np.asarray(walls)
    if w.ndim != 2 or w.shape[0] != w.shape[1] or w.dtype != np.bool_:
        raise ValueError(
            f"walls has shape {w.shape} and dtype {w.dtype}: it must be a square bool array"
        )
    if size is not None and w.shape[0] != size:
        raise ValueError(f"walls has side {w.shape[0]}: this environment's levels have {size}")
    check_in_range("walls side", w.shape[0], 3, 12)
    cells = []
    for name, cell in (("start", start), ("goal", goal)):
        rc = tuple(int(v) for v in np.asarray(cell).reshape(-1))
        if len(rc) != 2 or not all(0 <= v < w.shape[0] for v in rc) or w[rc]:
            raise ValueError(f"{name}={cell!r} is not allowed: it must be a free (row, col) cell")
        cells.append(rc)
    if cells[0] == cells[1]:
        raise ValueError(f"start={start!r} and goal={goal!r} must differ")
    if distances(w, cells[0])[cells[1]] < 0:
        raise ValueError(f"goal={goal!r} cannot be reached from start={start!r}")
    return w.copy(), cells[0], cells[1]


class MazeLevelsEnv(gym.Env[np.ndarray, np.int64]):
    """One maze level with a hidden goal.

    Actions: 0 up, 1 right, 2 down, 3 left; a move into a wall (or the outer
    wall) leaves the agent where it was. The observation is
    ``[row, col, up, right, down, left]`` (int64, ``MultiDiscrete``): the
    agent's cell and whether each neighbour is blocked; the goal is not in it.
    Rewards: ``-1`` per step, ``+10`` on the step that enters the goal, which
    ends the episode; cut off after ``max_steps`` steps.

    Args:
        walls, start, goal: the level (as in :meth:`LevelTasks.task`); ``None``
            for walls means the first held-out level of side ``size``.
        size: side of the levels this environment accepts.
        max_steps: steps before an episode is truncated.
        render_mode: ``None`` or ``"ansi"``.

    ``reset(options={"walls": ..., "start": ..., "goal": ...})`` switches level
    (all three together) from that episode on.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        walls: np.ndarray | None = None,
        start: tuple[int, int] | None = None,
        goal: tuple[int, int] | None = None,
        *,
        size: int = DEFAULT_SIZE,
        max_steps: int = DEFAULT_MAX_STEPS,
        render_mode: str | None = None,
    ) -> None:
        check_in_range("size", size, 3, 12)
        check_positive_int("max_steps", max_steps)
        check_choice("render_mode", render_mode, (None, "ansi"))
        if walls is None:
            level = test_tasks(1, size).task(0)
            walls, start, goal = level["walls"], level["start"], level["goal"]
        self.size = size
        self.max_steps = max_steps
        self.render_mode = render_mode
        self.walls, self.start, self.goal = _check_level(walls, start, goal, size)
        self.observation_space = spaces.MultiDiscrete([size, size, 2, 2, 2, 2])
        self.action_space = spaces.Discrete(len(LEVEL_MOVES))
        self._pos = self.start
        self._steps = 0

    def _obs(self) -> np.ndarray:
        return np.concatenate([np.asarray(self._pos), wall_bits(self.walls, *self._pos)])

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        if options:
            unknown = set(options) - {"walls", "start", "goal"}
            if unknown or len(options) != 3:
                raise ValueError(
                    f"options={sorted(options)} is not allowed: give 'walls', 'start' and "
                    "'goal' together"
                )
            self.walls, self.start, self.goal = _check_level(
                options["walls"], options["start"], options["goal"], self.size
            )
        self._pos, self._steps = self.start, 0
        return self._obs(), self._info()

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action={action!r} is not allowed: choose 0, 1, 2 or 3")
        dr, dc = LEVEL_MOVES[int(action)]
        r, c = self._pos[0] + dr, self._pos[1] + dc
        if 0 <= r < self.size and 0 <= c < self.size and not self.walls[r, c]:
            self._pos = (r, c)
        self._steps += 1
        terminated = self._pos == self.goal
        reward = GOAL_REWARD if terminated else STEP_REWARD
        truncated = not terminated and self._steps >= self.max_steps
        return self._obs(), reward, terminated, truncated, self._info()

    def _info(self) -> dict[str, Any]:
        return {"cell": self._pos, "steps": self._steps}

    def render(self) -> str | None:
        """With ``render_mode="ansi"``: ``#`` wall, ``S`` start, ``G`` goal, ``A`` agent."""
        if self.render_mode != "ansi":
            return None
        return render_level(self.walls, self.start, self.goal, self._pos)


def render_level(
    walls: np.ndarray,
    start: tuple[int, int],
    goal: tuple[int, int],
    agent: tuple[int, int] | None = None,
) -> str:
    """A text picture of a level: ``#`` wall, ``.`` free, ``S``, ``G`` and the agent ``A``."""
    chars = [["#" if w else "." for w in row] for row in np.asarray(walls)]
    chars[start[0]][start[1]] = "S"
    chars[goal[0]][goal[1]] = "G"
    if agent is not None:
        chars[agent[0]][agent[1]] = "A"
    return "\n".join(" ".join(row) for row in chars) + "\n"


if MAZE_LEVELS_ID not in gym.registry:
    gym.register(id=MAZE_LEVELS_ID, entry_point=MazeLevelsEnv)
