"""Argument checks shared by every config and function in the package.

Each check raises :class:`ValueError` whose message names the argument, the
value it received and what is allowed, so a reader who mistypes a setting in
a notebook sees at once which one and why.
"""

from __future__ import annotations

import math
from collections.abc import Collection


def check_in_range(
    name: str,
    value: float,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> None:
    """Raise if ``value`` lies outside the interval from ``low`` to ``high``.

    Args:
        name: the argument's name, quoted in the message.
        value: the value received.
        low, high: the interval's ends (``math.inf`` for an open end).
        low_inclusive, high_inclusive: whether each end belongs to the interval.
    """
    ok_low = value >= low if low_inclusive else value > low
    ok_high = value <= high if high_inclusive else value < high
    if isinstance(value, bool) or not (ok_low and ok_high) or math.isnan(value):
        left = "[" if low_inclusive else "("
        right = "]" if high_inclusive else ")"
        raise ValueError(
            f"{name}={value!r} is out of range: allowed is {left}{low}, {high}{right}"
        )


def check_positive(name: str, value: float) -> None:
    """Raise unless ``value`` is a number greater than zero."""
    check_in_range(name, value, 0.0, math.inf, low_inclusive=False)


def check_positive_int(name: str, value: int) -> None:
    """Raise unless ``value`` is an ``int`` greater than zero."""
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{name}={value!r} is not allowed: it must be a positive integer")


def check_non_negative_int(name: str, value: int) -> None:
    """Raise unless ``value`` is an ``int`` of zero or more."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{name}={value!r} is not allowed: it must be an integer >= 0")


def check_choice(name: str, value: object, allowed: Collection[object]) -> None:
    """Raise unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name}={value!r} is not allowed: choose one of {options}")
