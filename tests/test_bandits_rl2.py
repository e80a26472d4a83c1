"""The stored RL^2 bandit benchmark (benchmarks/bandits_rl2.py): complete, meeting
the chapter's targets as measured, and reproduced by a fresh sample of its runs."""

from __future__ import annotations

import json
import os
import random
import secrets

import bandits_rl2 as bench
import numpy as np
import pytest
import torch

from metarl_lite import bandits, rl2, sweeps

STORED = json.loads(sweeps.data_path("benchmarks/bandits_rl2.json").read_text())
#: Each test run re-checks other runs; set this variable to repeat a run's sample.
SAMPLE_SEED = os.environ.get("METARL_LITE_BENCH_SAMPLE", secrets.token_hex(4))
LONG_CELLS = [(n, k) for n, k in bench.CELLS if n == 100]


def _runs(n: int, k: int) -> list[dict]:
    return [r for r in STORED["runs"] if (r["n"], r["k"]) == (n, k)]


def test_every_setting_and_seed_is_stored() -> None:
    assert STORED["test"] == {"bandits": bench.N_TEST, "play_seed": bench.PLAY_SEED}
    assert bench.N_TEST >= 1000
    for n, k in bench.CELLS:
        runs = _runs(n, k)
        assert sorted(r["seed"] for r in runs) == list(bench.SEEDS), (n, k)
        for run in runs:
            assert run["config"] == {**run["config"], **bench.SETTINGS[(n, k)]}
            assert run["config"]["pulls"] == n and run["config"]["arms"] == k
            updates = run["config"]["updates"]
            assert len(run["history"]["returns"]) == updates
            assert run["env_steps"] == updates * run["config"]["batch"] * n
        assert set(STORED["baselines"][f"{n},{k}"]) == set(bandits.ALGORITHMS)


@pytest.mark.parametrize(("n", "k"), LONG_CELLS)
def test_rl2_reaches_99_percent_of_gittins_at_100_pulls(n: int, k: int) -> None:
    """Each seed's policy (sampled actions) earns at least 99% of the Gittins
    policy's mean total reward on the same held-out bandits."""
    if k == 10:
        pytest.xfail("target missed at k = 10: about 96% of Gittins (chapter 4 says so)")
    base = STORED["baselines"][f"{n},{k}"]
    for run in _runs(n, k):
        ours = run["sampled"]["mean"]
        assert ours >= bench.GITTINS_SHARE * base["gittins"]["mean"], (run["seed"], ours)


@pytest.mark.xfail(
    strict=True,
    reason="target missed: RL^2 is 0.5 (k = 5) and 2.3-3.8 (k = 10) below UCB1 on the same "
    "bandits; chapter 4 reports the gap. A run that closes it turns this into a failure, "
    "so that the chapter's text is revisited.",
)
@pytest.mark.parametrize(("n", "k"), LONG_CELLS)
def test_rl2_at_least_ucb1_at_100_pulls(n: int, k: int) -> None:
    base = STORED["baselines"][f"{n},{k}"]
    for run in _runs(n, k):
        assert run["sampled"]["mean"] >= base["ucb1"]["mean"], (run["seed"], base["ucb1"])


def test_rl2_below_ucb1_by_what_the_chapter_says() -> None:
    """The gaps the chapter reports: about 0.5 below UCB1 at k = 5, 2-4 at k = 10."""
    for k, (low, high) in ((5, (0.3, 0.7)), (10, (2.0, 4.0))):
        for run in _runs(100, k):
            gap = -run["paired"]["sampled_minus_ucb1"]["mean"]
            assert low <= gap <= high, (k, run["seed"], gap)


@pytest.mark.parametrize(("n", "k"), bench.CELLS)
def test_training_took_at_most_five_minutes(n: int, k: int) -> None:
    for run in _runs(n, k):
        assert run["train_process_seconds"] <= 300.0, (run["seed"], run["train_process_seconds"])


def test_paired_differences_are_consistent_with_the_means() -> None:
    for run in STORED["runs"]:
        base = STORED["baselines"][f"{run['n']},{run['k']}"]
        for mode in ("sampled", "greedy"):
            for algorithm in ("ucb1", "gittins"):
                diff = run["paired"][f"{mode}_minus_{algorithm}"]["mean"]
                expected = run[mode]["mean"] - base[algorithm]["mean"]
                assert diff == pytest.approx(expected, abs=1e-9)


def test_a_sample_of_the_training_runs_repeats_exactly() -> None:
    """The first updates of a random stored run give its first stored returns."""
    rng = random.Random(SAMPLE_SEED)
    run = rng.choice(STORED["runs"])
    config = rl2.RL2Config(**run["config"])
    fresh = rl2.train_rl2(config, stop_after=3).history
    assert fresh.episode_returns == run["history"]["returns"][:3], (
        f"n={run['n']} k={run['k']} seed {run['seed']} differs from the stored run "
        f"(repeat with METARL_LITE_BENCH_SAMPLE={SAMPLE_SEED})"
    )
    assert fresh.episode_steps == run["history"]["steps"][:3]


@pytest.mark.parametrize(("n", "k"), bench.CELLS)
def test_stored_networks_reproduce_their_evaluation(n: int, k: int) -> None:
    run = next(r for r in _runs(n, k) if r["seed"] == 0)
    model = rl2.policy_for(rl2.RL2Config(**run["config"]))
    path = bench.model_path(sweeps.data_path("models/rl2"), n, k, 0)
    model.load_state_dict(torch.load(path, weights_only=True))
    for mode in ("sampled", "greedy"):
        totals = bench.play_rl2(model, n, k, greedy=mode == "greedy")
        assert bench.summary(totals) == run[mode]


def test_stored_baselines_repeat() -> None:
    n, k = 10, 5
    fresh = {a: bench.summary(t) for a, t in bench.baseline_totals(n, k).items()}
    assert fresh == STORED["baselines"][f"{n},{k}"]


def test_table_lists_every_method_and_the_paper() -> None:
    text = bench.table(STORED["runs"], STORED["baselines"])
    assert STORED["table"] == text  # the chapter prints the stored table
    for name in bandits.ALGORITHM_NAMES.values():
        assert name in text
    for value in bench.PAPER_RL2.values():
        assert f"| {value:.1f} |" in text


def test_summary_is_mean_and_standard_error() -> None:
    s = bench.summary(np.array([1.0, 2.0, 3.0, 4.0]))
    assert s["mean"] == 2.5
    assert s["se"] == pytest.approx(np.std([1, 2, 3, 4], ddof=1) / 2)


def test_stored_policy_explores_first_and_then_exploits() -> None:
    """The chapter's figure: on held-out bandits the seed-0 policy for 100 pulls of
    5 arms spreads its first pulls and settles on the best arm later (random play
    pulls the best arm 20% of the time throughout)."""
    run = next(r for r in _runs(100, 5) if r["seed"] == 0)
    model = rl2.policy_for(rl2.RL2Config(**run["config"]))
    path = bench.model_path(sweeps.data_path("models/rl2"), 100, 5, 0)
    model.load_state_dict(torch.load(path, weights_only=True))
    means = bench.test_tasks(1000, 5).means
    play = rl2.evaluate(model, means, np.random.default_rng(0), 100)
    on_best = (play.actions == means.argmax(axis=1)[:, None]).mean(axis=0)
    assert on_best[:10].mean() < 0.5
    assert on_best[-10:].mean() > 0.65
