"""The record every ``train_*`` function returns."""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np


class TrainingDivergedError(FloatingPointError):
    """Raised when a loss or a value turns NaN or infinite during training.

    Attributes:
        step: the step at which the value was computed, where known.
        history: what the run had logged before it diverged, where the trainer
            attaches it (``None`` otherwise).
    """

    def __init__(self, message: str, step: int | None = None, history: Any = None) -> None:
        super().__init__(message)
        self.step = step
        self.history = history


def check_finite(what: str, value: float, step: int) -> None:
    """Stop training with a clear message when ``value`` is NaN or infinite.

    Args:
        what: the quantity's name, for example ``"TD loss"``.
        value: its current value.
        step: the environment or gradient step at which it was computed.
    """
    if not math.isfinite(value):
        raise TrainingDivergedError(
            f"{what} became {value} at step {step}: training diverged. "
            "Try a smaller learning rate or a target network.",
            step,
        )


@dataclasses.dataclass
class History:
    """What happened during one training run.

    Attributes:
        episode_steps: environment steps at the end of each training episode.
        episode_returns: undiscounted return of each training episode.
        eval_steps: environment steps at which the greedy policy was evaluated.
        eval_returns: mean greedy return at each evaluation.
        losses: mean loss over each logging window (one per ``loss_steps``).
        loss_steps: environment steps at which ``losses`` were logged.
        wall_time: seconds spent in training, evaluation included.
        config: the settings of the run, as a plain dict.
    """

    episode_steps: list[int] = dataclasses.field(default_factory=list)
    episode_returns: list[float] = dataclasses.field(default_factory=list)
    eval_steps: list[int] = dataclasses.field(default_factory=list)
    eval_returns: list[float] = dataclasses.field(default_factory=list)
    losses: list[float] = dataclasses.field(default_factory=list)
    loss_steps: list[int] = dataclasses.field(default_factory=list)
    wall_time: float = 0.0
    config: dict[str, Any] = dataclasses.field(default_factory=dict)

    def steps_to_reach(self, threshold: float) -> int | None:
        """First evaluation step whose mean return is at least ``threshold``.

        Returns ``None`` when no evaluation reached it.
        """
        for step, ret in zip(self.eval_steps, self.eval_returns, strict=True):
            if ret >= threshold:
                return step
        return None

    def to_dict(self, *, with_wall_time: bool = False) -> dict[str, Any]:
        """A JSON-ready dict; wall time is left out unless asked for, so that
        stored results stay identical from one run to the next."""
        out = dataclasses.asdict(self)
        if not with_wall_time:
            out.pop("wall_time")
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history written by :meth:`to_dict`."""
        return cls(**data)


def smooth(values: list[float] | np.ndarray, window: int) -> np.ndarray:
    """Trailing moving average with the same length as ``values``.

    Element ``i`` is the mean of ``values[max(0, i - window + 1) : i + 1]``.
    """
    x = np.asarray(values, dtype=float)
    if window <= 1 or x.size == 0:
        return x
    csum = np.cumsum(np.insert(x, 0, 0.0))
    idx = np.arange(1, x.size + 1)
    lo = np.maximum(0, idx - window)
    return (csum[idx] - csum[lo]) / (idx - lo)
