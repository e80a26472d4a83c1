import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
from matplotlib.figure import Figure

from metarl_lite.history import History
from metarl_lite.plotting import episode_curves, eval_curves, mean_and_band, plot_learning_curves


def test_mean_and_band() -> None:
    ys = np.array([[0.0, 2.0], [2.0, 4.0]])
    mean, low, high = mean_and_band(ys, "std")
    np.testing.assert_allclose(mean, [1.0, 3.0])
    np.testing.assert_allclose(low, [0.0, 2.0])
    _, low, high = mean_and_band(ys, "minmax")
    np.testing.assert_allclose(high, [2.0, 4.0])
    _, low, _ = mean_and_band(ys, "sem")
    np.testing.assert_allclose(low, [1 - 1 / np.sqrt(2), 3 - 1 / np.sqrt(2)])
    with pytest.raises(ValueError, match="band='iqr'"):
        mean_and_band(ys, "iqr")  # type: ignore[arg-type]


def test_plot_returns_labelled_figure() -> None:
    x = np.arange(5)
    fig = plot_learning_curves(
        {"a": (x, np.ones((3, 5))), "b": (x, np.zeros((3, 5)))},
        xlabel="environment steps",
        ylabel="return",
        hline=1.0,
        hline_label="target",
    )
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "environment steps"
    assert "over 3 seeds" in ax.get_title()
    assert len(ax.lines) == 3


def test_eval_curves_requires_same_steps() -> None:
    a = History(eval_steps=[1, 2], eval_returns=[1.0, 2.0])
    b = History(eval_steps=[1, 2], eval_returns=[3.0, 4.0])
    x, ys = eval_curves([a, b])
    assert x.tolist() == [1, 2] and ys.shape == (2, 2)
    with pytest.raises(ValueError, match="histories\\[1\\]"):
        eval_curves([a, History(eval_steps=[1, 3], eval_returns=[0.0, 0.0])])


def test_episode_curves_reads_last_finished_episode() -> None:
    h = History(episode_steps=[10, 30], episode_returns=[1.0, 3.0])
    _grid, ys = episode_curves([h], [5, 10, 20, 30, 40], window=1)
    np.testing.assert_array_equal(ys[0], [np.nan, 1.0, 1.0, 3.0, 3.0])


def test_plot_gridworld_returns_a_figure() -> None:
    from metarl_lite.envs import GRIDWORLD_ID, make_env
    from metarl_lite.plotting import plot_gridworld

    env = make_env(GRIDWORLD_ID)
    values = np.arange(env.unwrapped.n_states, dtype=float)
    fig = plot_gridworld(env, values, np.zeros(25, dtype=int), title="t")
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_title() == "t"
    assert isinstance(plot_gridworld(env), Figure)
    with pytest.raises(ValueError, match="not a GridWorldEnv"):
        plot_gridworld(make_env("CartPole-v1"))
