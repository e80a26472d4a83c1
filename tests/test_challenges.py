"""Chapter 7's helpers: seed statistics, out-of-distribution goals, the compute-cost table,
and meta-training that stops at divergence."""

from __future__ import annotations

import itertools
import json
import math

import matplotlib
import numpy as np
import pytest

from metarl_lite import challenges, meta, sweeps
from metarl_lite.history import TrainingDivergedError

matplotlib.use("Agg")

# --- 1. seeds -----------------------------------------------------------------------------


def test_interquartile_mean_drops_a_quarter_at_each_end() -> None:
    x = [10.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, -100.0]
    # sorted: -100, 0, 1, ..., 7, 10; floor(10 / 4) = 2 dropped at each end -> 1..6
    assert challenges.interquartile_mean(x) == pytest.approx(3.5)
    assert challenges.interquartile_mean([1.0, 2.0, 3.0]) == pytest.approx(2.0)  # none dropped
    assert challenges.interquartile_mean([0.0, 1.0, 2.0, 100.0]) == pytest.approx(1.5)
    with pytest.raises(ValueError, match="values"):
        challenges.interquartile_mean([])
    with pytest.raises(ValueError, match="finite"):
        challenges.interquartile_mean([1.0, math.nan])


def test_bootstrap_ci_is_seeded_covers_the_mean_and_shrinks_with_more_data() -> None:
    rng = np.random.default_rng(1)
    small, large = rng.normal(0.0, 1.0, 10), rng.normal(0.0, 1.0, 1000)
    a = challenges.bootstrap_ci(small, seed=3)
    assert a == challenges.bootstrap_ci(small, seed=3)
    assert a != challenges.bootstrap_ci(small, seed=4)
    assert a[0] < small.mean() < a[1]
    b = challenges.bootstrap_ci(large, n_resamples=2000)
    assert b[1] - b[0] < (a[1] - a[0]) / 3
    low, high = challenges.bootstrap_ci(small, "iqm", n_resamples=500)
    assert low < challenges.interquartile_mean(small) < high
    with pytest.raises(ValueError, match="statistic"):
        challenges.bootstrap_ci(small, "mode")
    with pytest.raises(ValueError, match="confidence"):
        challenges.bootstrap_ci(small, confidence=1.0)
    with pytest.raises(ValueError, match="at least 2"):
        challenges.bootstrap_ci([1.0])


def test_subset_means_are_every_k_seed_study() -> None:
    x = np.arange(10.0) ** 2
    means = challenges.subset_means(x, 3)
    assert means.shape == (math.comb(10, 3),) == (120,)
    assert means.mean() == pytest.approx(x.mean())  # each value is in as many subsets
    assert means.min() == pytest.approx(x[:3].mean())
    assert means.max() == pytest.approx(x[-3:].mean())
    assert means[0] == pytest.approx(x[[0, 1, 2]].mean())
    with pytest.raises(ValueError, match="k"):
        challenges.subset_means(x, 11)
    summary = challenges.seed_summary(x, n_resamples=500)
    assert summary["triple_min"] == pytest.approx(means.min())
    assert summary["std"] == pytest.approx(x.std(ddof=1))
    assert summary["ci_low"] < summary["mean"] < summary["ci_high"]


# --- 2. out-of-distribution goals ------------------------------------------------------------


@pytest.mark.parametrize("radius", [0.25, 1.0, 3.0])
def test_ood_goals_lie_on_the_square_edge(radius: float) -> None:
    goals = challenges.ood_goals(radius, 200).goals
    assert goals.shape == (200, 2) and goals.dtype == np.float32
    np.testing.assert_allclose(np.abs(goals).max(axis=1), radius, rtol=1e-6)
    # every edge is used, and the goals repeat for the same seed
    assert len({(round(float(np.sign(g[0])), 0), abs(g[0]) == np.abs(g).max()) for g in goals}) > 2
    np.testing.assert_array_equal(goals, challenges.ood_goals(radius, 200).goals)
    with pytest.raises(ValueError, match="radius"):
        challenges.ood_goals(0.0, 3)
    with pytest.raises(ValueError, match="radius"):
        challenges.ood_goals(11.0, 3)


def test_ood_returns_fall_with_distance_and_adaptation_helps_in_distribution() -> None:
    near, near_oracle = challenges.ood_returns("maml", 0.25, n_goals=10, steps=2)
    far, far_oracle = challenges.ood_returns("maml", 2.0, n_goals=10, steps=2)
    assert near.shape == far.shape == (3,)
    assert near_oracle > far_oracle  # a far goal costs every policy more
    assert near[2] > near[0] + 5  # adapting works on training-like goals
    assert far_oracle - far[2] > near_oracle - near[2]  # and less well far away
    with pytest.raises(ValueError, match="method"):
        challenges.load_navigation_policy("reptile")


# --- 3. compute cost -----------------------------------------------------------------------


def test_compute_costs_reads_every_stored_benchmark() -> None:
    rows = challenges.compute_costs()
    names = {r.benchmark for r in rows}
    stored = {p.stem for p in sweeps.data_path("benchmarks").glob("*.json")}
    assert names == stored
    by = {(r.benchmark, r.method): r for r in rows}
    nav = by[("maml_navigation", "MAML")]
    report = json.loads(sweeps.data_path("benchmarks/maml_navigation.json").read_text())
    runs = [r for r in report["runs"] if r["method"] == "maml"]
    assert nav.runs == len(runs) and nav.chapter == 4
    assert nav.cpu_seconds == pytest.approx(np.mean([r["process_time"] for r in runs]))
    assert nav.env_steps == pytest.approx(np.mean([r["env_steps"] for r in runs]))
    reptile = by[("meta_dqn", "cartpole, meta-training: Reptile start")]
    init = json.loads(sweeps.data_path("benchmarks/meta_dqn.json").read_text())["settings"]["init"]
    assert reptile.env_steps == init["iterations"] * init["meta_batch"] * init["inner_steps"]
    assert [r.chapter for r in rows if r.chapter is not None] == sorted(
        r.chapter for r in rows if r.chapter is not None
    )
    table = challenges.cost_table(rows)
    assert table.count("\n") == len(rows) + 1
    assert "| 4 | maml_navigation | MAML |" in table


def test_compute_costs_of_an_unknown_benchmark_gives_its_total(tmp_path) -> None:
    (tmp_path / "other.json").write_text(json.dumps({"machine": {"total_seconds": 12.5}}))
    (tmp_path / "bare.json").write_text("{}")
    runs = [
        {"method": "a", "train_cpu_seconds": {"x": 1.0, "y": 2.0}, "env_steps": 10},
        {"method": "a", "train_cpu_seconds": 5.0, "wall_seconds": 9.0, "env_steps": 30},
        {"method": "b", "train_cpu_seconds": "n/a"},
    ]
    (tmp_path / "later.json").write_text(json.dumps({"runs": runs}))
    rows = challenges.compute_costs(tmp_path)
    assert [
        (r.benchmark, r.method, r.runs, r.cpu_seconds, r.wall_seconds, r.env_steps) for r in rows
    ] == [
        ("bare", "(whole script)", 1, None, None, None),
        ("later", "a", 2, 4.0, 9.0, 20.0),
        ("later", "b", 1, None, None, None),
        ("other", "(whole script)", 1, None, 12.5, None),
    ]
    assert "| - | other | (whole script) | 1 | - | 12 | - |" in challenges.cost_table(rows)
    with pytest.raises(ValueError, match="directory"):
        challenges.compute_costs(tmp_path / "missing")


def test_break_even_tasks() -> None:
    assert challenges.break_even_tasks(720_000, 47_500) == 16
    assert challenges.break_even_tasks(0, 1) == 0
    assert challenges.break_even_tasks(100, 100) == 1
    with pytest.raises(ValueError, match="saving_per_task"):
        challenges.break_even_tasks(100, 0)


# --- 4. stability ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "optimizer"), [("maml", "adam"), ("reptile", "sgd"), ("fomaml", "adam")]
)
def test_train_until_divergence_is_train_meta_when_nothing_diverges(
    method: str, optimizer: str
) -> None:
    config = meta.MetaConfig(
        method=method,
        iterations=40,
        log_every=10,
        halve_every=20,
        outer_optimizer=optimizer,
        n_tasks=50 if method == "reptile" else None,
        seed=2,
    )
    run = challenges.train_until_divergence(config)
    history = meta.train_meta(config, progress=False).history
    assert run.diverged_at is None
    assert run.steps == history.steps and run.losses == history.losses


def test_a_diverging_run_keeps_its_log_and_is_drawn_at_the_diverged_level() -> None:
    config = meta.MetaConfig(
        iterations=60, log_every=10, halve_every=0, outer_optimizer="sgd", outer_lr=0.1,
        inner_lr=0.1, seed=0,
    )  # fmt: skip
    run = challenges.train_until_divergence(config)
    with pytest.raises(TrainingDivergedError, match=f"step {run.diverged_at}:"):
        meta.train_meta(config, progress=False)
    assert run.diverged_at is not None and run.diverged_at <= 60
    x, y = challenges.log_loss_curve(run)
    assert x == list(range(10, 61, 10))
    kept = len(run.losses)
    assert kept == (run.diverged_at - 1) // 10
    assert y[kept:] == [challenges.DIVERGED_LEVEL] * (6 - kept)
    assert all(v <= challenges.LOG_CEILING for v in y[:kept])


def test_log_loss_curve_clips_huge_finite_losses() -> None:
    run = challenges.StabilityRun([10, 20], [0.01, 1e20], None, 20, 10)
    assert challenges.log_loss_curve(run) == ([10, 20], [-2.0, challenges.LOG_CEILING])


# --- plots ------------------------------------------------------------------------------------


def test_plots_return_figures() -> None:
    from matplotlib.figure import Figure

    rng = np.random.default_rng(0)
    fig = challenges.plot_seed_variance(rng.normal(size=(5, 30)), range(5))
    assert isinstance(fig, Figure)
    for name, plot in (
        ("ch7_stability", challenges.plot_stability_map),
        ("ch7_ood", challenges.plot_ood),
    ):
        if sweeps.sweep_path(name).exists():
            assert isinstance(plot(sweeps.load(name)), Figure)


def test_stability_map_marks_a_cell_diverged_if_any_seed_diverged() -> None:
    if not sweeps.sweep_path("ch7_stability").exists():
        pytest.skip("sweep ch7_stability not computed")
    sweep = sweeps.load("ch7_stability")
    maps = challenges.stability_map(sweep)
    for optimizer, cells in maps.items():
        for (i, inner), (j, outer) in itertools.product(
            enumerate(sweep.grid["inner_lr"]), enumerate(sweep.grid["outer_lr"])
        ):
            point = {"outer_optimizer": optimizer, "outer_lr": outer, "inner_lr": inner}
            final = sweep.curves_at(point)[:, -1]
            assert (cells[i, j] == challenges.DIVERGED_LEVEL) == (
                final >= challenges.DIVERGED_LEVEL
            ).any()


def test_cartpole_box_tasks_widen_with_the_factor() -> None:
    from metarl_lite.envs import varied_cartpole as vc

    for factor in (1.0, 2.0, 10.0):
        tasks = challenges.cartpole_box_tasks(factor, 50)
        for key, default in vc.CARTPOLE_DEFAULTS.items():
            values = getattr(tasks, key)
            assert (values >= default / factor * (1 - 1e-12)).all()
            assert (values <= default * factor * (1 + 1e-12)).all()
    wide = challenges.cartpole_box_tasks(10.0, 50).masspole
    assert wide.max() / wide.min() > 10  # far wider than the training box's 4
    with pytest.raises(ValueError, match="factor"):
        challenges.cartpole_box_tasks(20.0, 3)


def test_cartpole_ood_returns_are_seeded_and_fall_outside_the_box() -> None:
    a = challenges.cartpole_ood_returns("reptile", 0, factors=(2.0, 10.0), n_tasks=5, episodes=2)
    b = challenges.cartpole_ood_returns("reptile", 0, factors=(2.0, 10.0), n_tasks=5, episodes=2)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (2,) and a[1] < a[0]
    with pytest.raises(ValueError, match="start"):
        challenges.cartpole_ood_returns("scratch", 0)
