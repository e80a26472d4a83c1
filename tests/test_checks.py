import math

import pytest

from metarl_lite import _checks


def test_in_range_accepts_ends_when_inclusive() -> None:
    _checks.check_in_range("gamma", 0.0, 0.0, 1.0)
    _checks.check_in_range("gamma", 1.0, 0.0, 1.0)


@pytest.mark.parametrize("value", [-0.1, 1.5, math.nan])
def test_in_range_message_names_argument_value_and_range(value: float) -> None:
    with pytest.raises(ValueError, match=r"gamma=.* allowed is \[0.0, 1.0\]"):
        _checks.check_in_range("gamma", value, 0.0, 1.0)


def test_open_end_is_shown_and_enforced() -> None:
    with pytest.raises(ValueError, match=r"lr=0.0 .*\(0.0, inf\]"):
        _checks.check_positive("lr", 0.0)


@pytest.mark.parametrize("value", [0, -3, 2.0, True])
def test_positive_int_rejects(value: object) -> None:
    with pytest.raises(ValueError, match="batch_size"):
        _checks.check_positive_int("batch_size", value)  # type: ignore[arg-type]


def test_choice_lists_allowed_values() -> None:
    with pytest.raises(ValueError, match=r"env_id='Foo-v0'.*'CartPole-v1'"):
        _checks.check_choice("env_id", "Foo-v0", ("CartPole-v1",))
