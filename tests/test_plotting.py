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


def test_plot_update_vs_gradient_one_panel_per_coordinate() -> None:
    from metarl_lite.plotting import plot_update_vs_gradient

    g = np.linspace(-1, 1, 20).reshape(10, 2)
    fig = plot_update_vs_gradient(
        g, {"SGD": -0.1 * g, "Adam": -0.01 * np.sign(g)}, coordinate_labels=["w", "b"]
    )
    assert isinstance(fig, Figure)
    assert [ax.get_title() for ax in fig.axes] == ["w", "b"]
    assert len(fig.axes[0].collections) == 2
    np.testing.assert_allclose(fig.axes[0].collections[0].get_offsets()[:, 1], -0.1 * g[:, 0])
    with pytest.raises(ValueError, match=r"updates\['SGD'\] has shape \(3, 2\)"):
        plot_update_vs_gradient(g, {"SGD": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="coordinate_labels has 1 entries"):
        plot_update_vs_gradient(g, {"SGD": g}, coordinate_labels=["w"])
    with pytest.raises(ValueError, match="updates is empty"):
        plot_update_vs_gradient(g, {})


def test_plot_action_gap_draws_means_and_bands() -> None:
    from metarl_lite.plotting import plot_action_gap

    x = np.linspace(-0.2, 0.2, 5)
    fig = plot_action_gap(x, {"one": x, "three": np.stack([x, 2 * x, 3 * x])}, title="gap")
    ax = fig.axes[0]
    assert ax.get_title() == "gap"
    np.testing.assert_allclose(ax.lines[1].get_ydata(), 2 * x)
    assert len(ax.collections) == 1  # a band only for the curve with several networks
    assert ax.get_legend_handles_labels()[1] == ["one", "three (3)"]
    with pytest.raises(ValueError, match=r"gaps\['bad'\] has shape \(4,\)"):
        plot_action_gap(x, {"bad": np.zeros(4)})
