"""The exercise checks: right answers pass, wrong ones fail with a hint, nothing raises."""

import numpy as np
import pytest

from metarl_lite import exercises as ex
from metarl_lite import tabular


def _line(capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr().out
    assert out.count("\n") == 1, out
    return out.strip()


def test_ch1_discounted_return(capsys: pytest.CaptureFixture[str]) -> None:
    assert ex.ch1_discounted_return(4.58) is True
    assert _line(capsys).startswith("PASS")
    for wrong in (7.0, 4.0, "four", None, float("nan")):
        assert ex.ch1_discounted_return(wrong) is False
        line = _line(capsys)
        assert line.startswith("FAIL") and "Hint:" in line


def test_ch1_returns_to_go(capsys: pytest.CaptureFixture[str]) -> None:
    assert ex.ch1_returns_to_go(tabular.returns_to_go) is True
    assert _line(capsys).startswith("PASS")

    def forwards(rewards, gamma):  # a common mistake: discounting from the front
        return [
            sum(gamma**k * r for k, r in enumerate(rewards[: t + 1])) for t in range(len(rewards))
        ]

    def crashes(rewards, gamma):
        raise IndexError("list index out of range")

    def too_short(rewards, gamma):
        return tabular.returns_to_go(rewards, gamma)[:-1]

    for wrong in (forwards, crashes, too_short):
        assert ex.ch1_returns_to_go(wrong) is False
        assert _line(capsys).startswith("FAIL")


def test_ch1_returns_to_go_reports_the_exception(capsys: pytest.CaptureFixture[str]) -> None:
    ex.ch1_returns_to_go(lambda rewards, gamma: 1 / 0)
    assert "ZeroDivisionError" in capsys.readouterr().out


def test_ch1_greedy_probability(capsys: pytest.CaptureFixture[str]) -> None:
    assert ex.ch1_greedy_probability(0.85) is True
    assert _line(capsys).startswith("PASS")
    assert ex.ch1_greedy_probability(0.8) is False
    assert "random branch can pick the greedy action" in _line(capsys)
    assert ex.ch1_greedy_probability([0.85]) is False
    assert _line(capsys).startswith("FAIL")


def test_ch1_greedy_probability_agrees_with_sampling() -> None:
    rng = np.random.default_rng(0)
    q_row = np.array([1.0, 0.0, 0.0, 0.0])
    picks = [tabular.epsilon_greedy(q_row, ex.CH1_EPSILON, rng) for _ in range(10_000)]
    assert np.mean(np.asarray(picks) == 0) == pytest.approx(0.85, abs=0.015)


def test_ch1_optimal_values(capsys: pytest.CaptureFixture[str]) -> None:
    # Next to the goal: 10; one further: -1 + 0.9 * 10 = 8; two further: -1 + 0.9 * 8 = 6.2.
    assert ex.ch1_optimal_values([10, 8, 6.2]) is True
    assert _line(capsys).startswith("PASS")
    for wrong in ([10, 9, 8], [10, 8], 3.0, ["a", "b", "c"]):
        assert ex.ch1_optimal_values(wrong) is False
        assert _line(capsys).startswith("FAIL")
