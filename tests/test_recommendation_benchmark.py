"""The stored recommendation benchmark (benchmarks/recommendation.py): complete, within its
CPU budget, the chapter's claims as measured, and reproduced by a fresh sample of its runs."""

from __future__ import annotations

import json
import os
import random
import secrets

import numpy as np
import pytest
import recommendation as bench
import torch

from metarl_lite import recommend, sweeps

STORED = json.loads(sweeps.data_path("benchmarks/recommendation.json").read_text())
#: Each test run re-checks another run; set this variable to repeat a run's sample.
SAMPLE_SEED = os.environ.get("METARL_LITE_BENCH_SAMPLE", secrets.token_hex(4))


def _load(seed: int) -> torch.nn.Module:
    run = next(r for r in STORED["runs"] if r["seed"] == seed)
    path = bench.model_path(sweeps.data_path("models/recommend"), seed)
    return recommend.load_policy(run["config"], str(path))


def test_every_seed_and_method_is_stored() -> None:
    assert STORED["test"] == {
        "users": bench.N_TEST,
        "shift_at": bench.SHIFT_AT,
        "steps": bench.STEPS,
        "play_seed": bench.PLAY_SEED,
    }
    assert sorted(r["seed"] for r in STORED["runs"]) == list(bench.SEEDS)
    assert set(STORED["baselines"]) == set(recommend.ALGORITHMS)
    assert STORED["hyperparameters"] == recommend.TUNED
    for run in STORED["runs"]:
        assert run["config"] == {**run["config"], **bench.SETTINGS}
        assert len(run["history"]["returns"]) == run["config"]["updates"]
        assert len(run["curve"]) == bench.STEPS


def test_cpu_budget() -> None:
    """At most 10 minutes of CPU for the three trainings plus everything else."""
    assert STORED["machine"]["threads_per_run"] == 1
    assert STORED["machine"]["total_process_seconds"] <= 600.0
    for run in STORED["runs"]:
        assert run["train_process_seconds"] <= 190.0, run["seed"]


def test_a_sample_of_the_training_runs_repeats_exactly() -> None:
    run = random.Random(SAMPLE_SEED).choice(STORED["runs"])
    config = recommend.RecommenderConfig(**run["config"])
    fresh = recommend.train_recommender(config, stop_after=3).history
    assert fresh.episode_returns == run["history"]["returns"][:3], (
        f"seed {run['seed']} differs (repeat with METARL_LITE_BENCH_SAMPLE={SAMPLE_SEED})"
    )


def test_a_stored_network_reproduces_its_evaluation() -> None:
    seed = random.Random(SAMPLE_SEED).choice(bench.SEEDS)
    run = next(r for r in STORED["runs"] if r["seed"] == seed)
    regret = bench.rl2_regret(_load(seed))
    assert bench.summary(regret) == run["summary"]
    assert bench.curve(regret) == run["curve"]


def test_stored_baselines_repeat() -> None:
    regrets = bench.baseline_regrets()
    assert {a: bench.summary(r) for a, r in regrets.items()} == STORED["baselines"]
    assert {a: bench.curve(r) for a, r in regrets.items()} == STORED["baseline_curves"]


def test_table_is_the_stored_one() -> None:
    assert bench.table(STORED["runs"], STORED["baselines"]) == STORED["table"]
    for name in ("LinUCB", "Linear Thompson sampling", "Discounted LinUCB", "RL^2, seed 2"):
        assert name in STORED["table"]


def test_paired_differences_are_consistent() -> None:
    for run in STORED["runs"]:
        for algorithm, paired in run["paired"].items():
            for part in ("before", "after", "total"):
                expected = run["summary"][part] - STORED["baselines"][algorithm][part]
                assert paired[part] == pytest.approx(expected, abs=1e-9)


def test_what_the_chapter_says() -> None:
    """Seed by seed: before the shift LinUCB and Thompson sampling beat RL^2; after it
    RL^2 beats both (they do not forget); discounted LinUCB beats RL^2 before the
    shift, after it and over the session, and has the least regret over the session."""
    base = STORED["baselines"]
    for run in STORED["runs"]:
        s = run["summary"]
        for algorithm in ("linucb", "lin_ts"):
            assert s["before"] > base[algorithm]["before"], (run["seed"], algorithm)
            assert s["after"] < base[algorithm]["after"], (run["seed"], algorithm)
        for part in ("before", "after", "total"):
            assert base["d_linucb"][part] < s[part], (run["seed"], part)
    others = [base[a]["total"] for a in ("random", "linucb", "lin_ts")]
    assert base["d_linucb"]["total"] < min(others)
    assert base["random"]["total"] > 2 * base["linucb"]["total"]


def test_the_gaps_the_chapter_quotes() -> None:
    """The ranges of the paired differences (RL^2 minus a method) the text gives."""
    quoted = {
        ("linucb", "before"): (0.9, 2.1),
        ("lin_ts", "before"): (0.85, 2.1),
        ("d_linucb", "before"): (0.9, 2.1),
        ("linucb", "after"): (-4.05, -2.95),
        ("lin_ts", "after"): (-6.85, -5.65),
        ("d_linucb", "after"): (0.65, 1.85),
    }
    for run in STORED["runs"]:
        for (algorithm, part), (low, high) in quoted.items():
            value = run["paired"][algorithm][part]
            assert low <= value <= high, (run["seed"], algorithm, part, value)


def test_what_the_widget_text_says() -> None:
    """From the stored sweep: with the shift at step 75 LinUCB beats RL^2 over the
    session; without a shift LinUCB and Thompson sampling beat discounted LinUCB,
    which beats RL^2."""
    sweep = sweeps.load("ch6_recommend")

    def final(method: str, shift_at: int) -> float:
        return float(sweep.curves_at({"method": method, "shift_at": shift_at})[:, -1].mean())

    assert final("linucb", 75) < final("rl2", 75)
    assert max(final("linucb", 100), final("lin_ts", 100)) < final("d_linucb", 100)
    assert final("d_linucb", 100) < final("rl2", 100)
    assert final("rl2", 50) < final("linucb", 50)


def test_summary_is_mean_and_standard_error() -> None:
    regret = np.ones((4, bench.STEPS))
    regret[:, bench.SHIFT_AT :] = 2.0
    s = bench.summary(regret)
    assert (s["before"], s["after"], s["total"]) == (50.0, 100.0, 150.0)
    assert s["total_se"] == 0.0
