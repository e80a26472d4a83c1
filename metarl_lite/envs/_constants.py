"""Task families whose tasks are physical constants: checks and log-uniform draws.

The varied CartPole (chapter 4) and the varied Pendulum (chapter 6) set a few
named constants of a Gymnasium environment, each within hard ``limits`` (name ->
``(low, high)``), and draw training tasks log-uniformly inside a sampling box.
Both use the functions here, so that their checks and their draws are one code.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from metarl_lite._checks import check_in_range, check_positive_int

Limits = Mapping[str, tuple[float, float]]


def check_constant(name: str, key: str, value: float, limits: Limits) -> None:
    """Raise ``ValueError`` naming ``name`` if ``value`` lies outside ``limits[key]``."""
    low, high = limits[key]
    check_in_range(name, value, low, high)


def checked_task(
    task: Mapping[str, float], keys: Sequence[str], limits: Limits
) -> dict[str, float]:
    """``task`` (some of the constants ``keys``) as floats, after checking every name
    and value; raises ``ValueError`` for an unknown name or a value outside ``limits``."""
    unknown = sorted(set(task) - set(keys))
    if unknown:
        raise ValueError(f"unknown task parameters {unknown}: allowed are {list(keys)}")
    values = {key: float(value) for key, value in task.items()}
    for key, value in values.items():
        check_constant(key, key, value, limits)
    return values


def check_ranges(ranges: Limits, keys: Sequence[str], limits: Limits) -> None:
    """Check a sampling box: exactly the constants ``keys``, each ``(low, high)`` with
    ``low <= high < inf``, both ends within ``limits``."""
    if set(ranges) != set(keys):
        raise ValueError(f"ranges has keys {sorted(ranges)}: it needs exactly {list(keys)}")
    for key in keys:
        low, high = ranges[key]
        check_constant(f"ranges[{key!r}] low", key, low, limits)
        check_constant(f"ranges[{key!r}] high", key, high, limits)
        if not low <= high < math.inf:
            raise ValueError(
                f"ranges[{key!r}]=({low}, {high}) is not allowed: it needs low <= high < inf"
            )


def sample_log_uniform(
    rng: np.random.Generator, n: int, ranges: Limits, keys: Sequence[str], limits: Limits
) -> list[np.ndarray]:
    """``n`` draws of each constant in ``keys``, log-uniform in ``ranges``.

    Returns:
        One array of shape ``(n,)`` per key, in the order of ``keys``. Draw ``i``
        uses only row ``i`` of one ``(n, len(keys))`` uniform draw, so the first
        ``m`` of ``n`` draws equal the ``m`` drawn from a generator in the same state.
    """
    if not isinstance(rng, np.random.Generator):
        raise ValueError(
            f"rng={rng!r} is not allowed: it must be a numpy Generator (np.random.default_rng)"
        )
    check_positive_int("n", n)
    check_ranges(ranges, keys, limits)
    u = rng.random((n, len(keys)))
    columns = []
    for j, key in enumerate(keys):
        log_low, log_high = np.log(ranges[key][0]), np.log(ranges[key][1])
        values = np.exp(log_low + u[:, j] * (log_high - log_low))
        # exp(log(x)) can miss x by a rounding error: keep the ends inside the range.
        columns.append(np.clip(values, *ranges[key]))
    return columns
