import numpy as np
import pytest

from metarl_lite.history import History, TrainingDivergedError, check_finite, smooth


def test_steps_to_reach_returns_first_crossing() -> None:
    h = History(eval_steps=[10, 20, 30], eval_returns=[5.0, 9.0, 12.0])
    assert h.steps_to_reach(9.0) == 20
    assert h.steps_to_reach(100.0) is None


def test_round_trip_drops_wall_time_by_default() -> None:
    h = History(eval_steps=[1], eval_returns=[2.0], wall_time=3.5, config={"a": 1})
    d = h.to_dict()
    assert "wall_time" not in d
    assert History.from_dict(d) == History(eval_steps=[1], eval_returns=[2.0], config={"a": 1})
    assert h.to_dict(with_wall_time=True)["wall_time"] == 3.5


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_check_finite_names_step(bad: float) -> None:
    with pytest.raises(TrainingDivergedError, match=r"TD loss became .* at step 42"):
        check_finite("TD loss", bad, 42)


def test_diverged_error_carries_the_step() -> None:
    with pytest.raises(TrainingDivergedError) as caught:
        check_finite("loss", float("nan"), 7)
    assert caught.value.step == 7 and caught.value.history is None


def test_smooth_is_trailing_mean() -> None:
    np.testing.assert_allclose(smooth([1, 2, 3, 4], 2), [1.0, 1.5, 2.5, 3.5])
    np.testing.assert_allclose(smooth([1, 2, 3], 1), [1, 2, 3])
