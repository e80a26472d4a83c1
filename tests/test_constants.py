import numpy as np
import pytest

from metarl_lite.envs._constants import check_ranges, checked_task, sample_log_uniform

KEYS = ("a", "b")
LIMITS = {"a": (0.1, 10.0), "b": (1.0, np.inf)}


def test_draws_are_log_uniform_in_the_box_and_prefix_stable() -> None:
    ranges = {"a": (0.5, 2.0), "b": (2.0, 8.0)}
    a, b = sample_log_uniform(np.random.default_rng(0), 2000, ranges, KEYS, LIMITS)
    assert a.min() >= 0.5 and a.max() <= 2.0 and b.min() >= 2.0 and b.max() <= 8.0
    assert abs(np.median(np.log(a))) < 0.05  # log-uniform: the median is the geometric centre
    first = sample_log_uniform(np.random.default_rng(0), 5, ranges, KEYS, LIMITS)
    assert np.array_equal(first[0], a[:5]) and np.array_equal(first[1], b[:5])


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ({"a": (0.5, 2.0)}, "it needs exactly"),
        ({"a": (2.0, 0.5), "b": (2.0, 8.0)}, "low <= high"),
        ({"a": (0.5, 2.0), "b": (2.0, np.inf)}, "< inf"),
        ({"a": (0.01, 2.0), "b": (2.0, 8.0)}, r"ranges\['a'\] low"),
    ],
)
def test_bad_ranges_are_named(ranges: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_ranges(ranges, KEYS, LIMITS)


def test_checked_task_names_unknown_keys_and_bad_values() -> None:
    assert checked_task({"a": 1}, KEYS, LIMITS) == {"a": 1.0}
    with pytest.raises(ValueError, match=r"unknown task parameters \['c'\]"):
        checked_task({"c": 1.0}, KEYS, LIMITS)
    with pytest.raises(ValueError, match="b"):
        checked_task({"b": 0.5}, KEYS, LIMITS)


def test_rng_must_be_a_generator() -> None:
    with pytest.raises(ValueError, match="numpy Generator"):
        sample_log_uniform(np.random.RandomState(0), 3, {"a": (1, 2), "b": (2, 3)}, KEYS, LIMITS)
