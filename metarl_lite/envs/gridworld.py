"""The gridworld of chapter 1: a small tabular world whose exact transition
model is available as arrays, so that value iteration can compute the optimal
values that Q-learning should find.
"""

# ruff: noqa: N806 -- P and R follow the maths (Sutton and Barto's notation).

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, NamedTuple

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from metarl_lite._checks import check_choice, check_in_range, check_positive_int

__all__ = [
    "ACTION_NAMES",
    "ARROWS",
    "DEFAULT_LAYOUT",
    "GRIDWORLD_ID",
    "MOVES",
    "GridWorldEnv",
    "TabularModel",
]

#: Gymnasium id of :class:`GridWorldEnv`.
GRIDWORLD_ID = "metarl_lite/GridWorld-v0"

#: The default 5x5 map. ``S`` start, ``G`` goal, ``#`` wall, ``X`` pit, ``.`` free.
DEFAULT_LAYOUT: tuple[str, ...] = (
    "S....",
    ".#.#.",
    "...X.",
    ".#...",
    ".X..G",
)

#: Action ``a`` moves by ``MOVES[a]`` = (row change, column change).
MOVES: tuple[tuple[int, int], ...] = ((-1, 0), (0, 1), (1, 0), (0, -1))
#: Names and arrows of the actions, in action order.
ACTION_NAMES: tuple[str, ...] = ("up", "right", "down", "left")
ARROWS: tuple[str, ...] = ("↑", "→", "↓", "←")

_CELL_TYPES = frozenset("SG#X.")


class TabularModel(NamedTuple):
    """The exact model of a finite MDP, as arrays.

    Attributes:
        P: transition probabilities, shape ``(n_states, n_actions, n_states)``;
            ``P[s, a, s_next]`` is the probability of landing in ``s_next``.
        R: expected reward, shape ``(n_states, n_actions)``.
        terminal: bool, shape ``(n_states,)``: ``True`` where an episode
            ends (``terminated``), and on any state that can never be entered
            (a gridworld's walls); the value of these states is zero.
    """

    P: np.ndarray
    R: np.ndarray
    terminal: np.ndarray


class GridWorldEnv(gym.Env[np.int64, np.int64]):
    """A small gridworld with walls and pits, solvable exactly.

    The agent starts at ``S`` and must reach the goal ``G``. Every step it
    chooses one of four actions (0 up, 1 right, 2 down, 3 left). With
    probability ``1 - slip`` it moves that way; with probability ``slip`` it
    slips to one of the two perpendicular directions (``slip / 2`` each). A
    move into a wall ``#`` or off the map leaves it where it was.

    Rewards depend only on the cell the agent lands in:
    ``goal_reward`` (default +10) on entering ``G``, ``pit_reward`` (default
    -10) on entering a pit ``X``, and ``step_reward`` (default -1) otherwise,
    so the shortest safe path earns the most. Entering ``G`` or ``X`` ends the
    episode (``terminated=True``); after ``max_steps`` steps without that, it
    is cut off (``truncated=True``). With the default map and rewards the best
    undiscounted return is ``10 - 7 = 3`` (eight moves).

    The observation is the cell index ``s = row * n_cols + col``. Wall cells
    have indices too but are never visited. The exact model is
    :attr:`model` (a :class:`TabularModel`): goal, pits and walls are
    absorbing with zero reward, and ``model.terminal`` marks all three (a wall
    is never entered, so its value is zero like that of a terminal state).

    Args:
        layout: rows of the map, all of one length, made of ``S G # X .``;
            exactly one ``S`` and at least one ``G``.
        slip: probability of slipping sideways, in ``[0, 1]``.
        max_steps: steps before the episode is truncated.
        step_reward, goal_reward, pit_reward: the rewards described above.
        render_mode: ``None`` or ``"ansi"`` (a text picture).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}

    def __init__(
        self,
        layout: Sequence[str] = DEFAULT_LAYOUT,
        *,
        slip: float = 0.0,
        max_steps: int = 100,
        step_reward: float = -1.0,
        goal_reward: float = 10.0,
        pit_reward: float = -10.0,
        render_mode: str | None = None,
    ) -> None:
        self.layout = _check_layout(layout)
        check_in_range("slip", slip, 0.0, 1.0)
        check_positive_int("max_steps", max_steps)
        check_choice("render_mode", render_mode, (None, "ansi"))
        self.slip = float(slip)
        self.max_steps = max_steps
        self.step_reward = float(step_reward)
        self.goal_reward = float(goal_reward)
        self.pit_reward = float(pit_reward)
        self.render_mode = render_mode

        self.n_rows, self.n_cols = len(self.layout), len(self.layout[0])
        cells = "".join(self.layout)
        self.n_states, self.n_actions = len(cells), len(MOVES)
        self.start_state = cells.index("S")
        self.walls = np.array([c == "#" for c in cells])
        self.goals = np.array([c == "G" for c in cells])
        self.pits = np.array([c == "X" for c in cells])
        self.observation_space = spaces.Discrete(self.n_states)
        self.action_space = spaces.Discrete(self.n_actions)
        self.model = self._build_model()
        self._state = self.start_state
        self._steps = 0

    # -- geometry

    def to_state(self, row: int, col: int) -> int:
        """Cell index of ``(row, col)``."""
        return row * self.n_cols + col

    def to_cell(self, state: int) -> tuple[int, int]:
        """``(row, col)`` of cell index ``state``."""
        return divmod(int(state), self.n_cols)

    def _move(self, state: int, direction: int) -> int:
        row, col = self.to_cell(state)
        dr, dc = MOVES[direction]
        r, c = row + dr, col + dc
        if not (0 <= r < self.n_rows and 0 <= c < self.n_cols) or self.walls[self.to_state(r, c)]:
            return state
        return self.to_state(r, c)

    def _reward(self, state_next: int) -> float:
        if self.goals[state_next]:
            return self.goal_reward
        if self.pits[state_next]:
            return self.pit_reward
        return self.step_reward

    def _outcomes(self, direction: int) -> list[tuple[int, float]]:
        """(actual direction, probability) pairs for the chosen ``direction``."""
        side = self.slip / 2.0
        left, right = (direction - 1) % 4, (direction + 1) % 4
        return [
            (d, p) for d, p in ((direction, 1.0 - self.slip), (left, side), (right, side)) if p
        ]

    def _build_model(self) -> TabularModel:
        n_s, n_a = self.n_states, self.n_actions
        P = np.zeros((n_s, n_a, n_s))
        R = np.zeros((n_s, n_a))
        terminal = self.goals | self.pits | self.walls
        for s in range(n_s):
            for a in range(n_a):
                if terminal[s]:
                    P[s, a, s] = 1.0  # absorbing, zero reward
                    continue
                for d, p in self._outcomes(a):
                    s_next = self._move(s, d)
                    P[s, a, s_next] += p
                    R[s, a] += p * self._reward(s_next)
        for arr in (P, R, terminal):
            arr.flags.writeable = False
        return TabularModel(P, R, terminal)

    # -- the Gymnasium API

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.int64, dict[str, Any]]:
        """Put the agent on ``S``. ``options={"start_state": s}`` starts it on
        cell ``s`` instead (any cell that is not a wall, goal or pit)."""
        super().reset(seed=seed)
        start = self.start_state
        if options and "start_state" in options:
            start = int(options["start_state"])
            check_in_range("options['start_state']", start, 0, self.n_states - 1)
            if self.model.terminal[start]:
                raise ValueError(
                    f"options['start_state']={start} is not allowed: it is a wall, goal or pit"
                )
        self._state, self._steps = start, 0
        return np.int64(self._state), self._info()

    def step(self, action: int) -> tuple[np.int64, float, bool, bool, dict[str, Any]]:
        if not self.action_space.contains(action):
            raise ValueError(f"action={action!r} is not allowed: choose 0, 1, 2 or 3")
        direction = int(action)
        if self.slip > 0.0:
            u = self.np_random.random()
            side = self.slip / 2.0
            if u < side:
                direction = (direction - 1) % 4
            elif u < self.slip:
                direction = (direction + 1) % 4
        self._state = self._move(self._state, direction)
        self._steps += 1
        reward = self._reward(self._state)
        terminated = bool(self.goals[self._state] or self.pits[self._state])
        truncated = not terminated and self._steps >= self.max_steps
        return np.int64(self._state), reward, terminated, truncated, self._info()

    def _info(self) -> dict[str, Any]:
        return {"cell": self.to_cell(self._state), "steps": self._steps}

    def render(self) -> str | None:
        """With ``render_mode="ansi"``, the map with the agent drawn as ``A``."""
        if self.render_mode != "ansi":
            return None
        chars = [list(row) for row in self.layout]
        row, col = self.to_cell(self._state)
        chars[row][col] = "A"
        return "\n".join(" ".join(row) for row in chars) + "\n"

    def render_policy(self, policy: Sequence[int] | np.ndarray) -> str:
        """A text picture of a deterministic policy: one arrow per free cell.

        Args:
            policy: action per state, shape ``(n_states,)``.
        """
        policy = np.asarray(policy)
        if policy.shape != (self.n_states,):
            raise ValueError(
                f"policy has shape {policy.shape}: it must be ({self.n_states},), "
                "one action per state"
            )
        rows = []
        for r, line in enumerate(self.layout):
            out = []
            for c, ch in enumerate(line):
                s = self.to_state(r, c)
                out.append(ch if ch in "#GX" else ARROWS[int(policy[s])])
            rows.append(" ".join(out))
        return "\n".join(rows) + "\n"


def _check_layout(layout: Sequence[str]) -> tuple[str, ...]:
    rows = tuple(layout)
    if not rows or any(len(r) != len(rows[0]) for r in rows) or not rows[0]:
        raise ValueError(f"layout={rows!r} is not allowed: rows must be non-empty, of one length")
    bad = set("".join(rows)) - _CELL_TYPES
    if bad:
        raise ValueError(
            f"layout={rows!r} has unknown cells {sorted(bad)}: allowed are S, G, #, X and ."
        )
    cells = "".join(rows)
    if cells.count("S") != 1 or "G" not in cells:
        raise ValueError(f"layout={rows!r} needs exactly one S and at least one G")
    return rows
