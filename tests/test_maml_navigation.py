"""The stored 2D-navigation benchmark (benchmarks/maml_navigation.py): complete, meeting
the chapter's targets, reproduced by a fresh sample of its runs, and the widget's sweep."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import secrets

import maml_navigation as bench
import pytest
import torch

from metarl_lite import maml_rl, sweeps
from metarl_lite.envs import point_navigation as nav

STORED = json.loads(sweeps.data_path("benchmarks/maml_navigation.json").read_text())
#: Each test run re-checks other runs; set this variable to repeat a run's sample.
SAMPLE_SEED = os.environ.get("METARL_LITE_BENCH_SAMPLE", secrets.token_hex(4))
#: The brief's targets: MAML after one inner step on the held-out goals at least
#: -10 (Li et al. report -9.12 for MAML, Finn et al. -11.68), and at most five
#: minutes of meta-training on this 2-core machine.
TARGET_RETURN = -10.0
TARGET_SECONDS = 300.0
PREFIX = 3


def _runs(method: str) -> list[dict]:
    return [r for r in STORED["runs"] if r["method"] == method]


def test_every_method_and_seed_is_stored() -> None:
    assert STORED["test"]["tasks"] >= 100
    for method in bench.SETTINGS:
        runs = _runs(method)
        assert sorted(r["seed"] for r in runs) == [0, 1, 2], method
        for run in runs:
            assert len(run["returns"]) == bench.ADAPT_STEPS + 1
            assert run["config"] == {**run["config"], **bench.SETTINGS[method]}
            config = maml_rl.MamlRLConfig(**run["config"])
            assert len(run["history"]["post_returns"]) == config.iterations


@pytest.mark.xfail(
    strict=True,
    reason="missed: MAML scores -13.3 ± 0.4 after one step over seeds 0-2 (target -10); "
    "one step from the learned pre-update policy finds the goal's direction, not its "
    "distance (maml_rl.hand_made_returns: about -12 for the best fixed radius)",
)
def test_maml_meets_the_one_step_target() -> None:
    for run in _runs("maml"):
        assert run["returns"][1] >= TARGET_RETURN, run["seed"]


def test_maml_meta_trains_within_budget_and_adapts() -> None:
    for run in _runs("maml") + _runs("fomaml"):
        assert run["process_time"] <= TARGET_SECONDS, (run["method"], run["seed"])
        assert run["returns"][1] > run["returns"][0] + 20, (run["method"], run["seed"])
        # the second step, with half the step size, corrects the distance
        assert run["returns"][2] >= TARGET_RETURN, (run["method"], run["seed"])


def test_maml_adapts_better_than_the_baselines() -> None:
    def mean_after(method: str, steps: int) -> float:
        return sum(r["returns"][steps] for r in _runs(method)) / 3

    for baseline in ("pretrain", "random"):
        assert mean_after("maml", 1) > mean_after(baseline, 1) + 5, baseline


def test_a_sample_of_the_training_runs_repeats_exactly() -> None:
    """The first iterations of a random stored training run repeat its log exactly."""
    rng = random.Random(SAMPLE_SEED)
    run = rng.choice([r for r in STORED["runs"] if r["method"] != "random"])
    config = maml_rl.MamlRLConfig(**{**run["config"], "iterations": PREFIX})
    train = maml_rl.train_pretrained if run["method"] == "pretrain" else maml_rl.train_maml_rl
    fresh = train(config).history.to_dict()
    stored = run["history"]
    for key in ("env_steps", "pre_returns", "post_returns", "losses"):
        assert fresh[key] == stored[key][:PREFIX], (
            f"{run['method']} seed {run['seed']}: {key} differs from the stored run "
            f"(repeat with METARL_LITE_BENCH_SAMPLE={SAMPLE_SEED})"
        )


@pytest.mark.parametrize("method", list(bench.SETTINGS))
def test_stored_policies_reproduce_their_returns(method: str) -> None:
    run = next(r for r in _runs(method) if r["seed"] == 0)
    config = maml_rl.MamlRLConfig(**run["config"])
    policy = maml_rl.GaussianPolicy(config.hidden, config.log_std)
    path = sweeps.data_path(f"models/maml_rl/{method}_seed0.pt")
    policy.load_state_dict(torch.load(path, weights_only=True))
    returns = maml_rl.adaptation_returns(
        policy,
        nav.test_tasks(STORED["test"]["tasks"]),
        run["inner_lr"],
        bench.ADAPT_STEPS,
        config.inner_trajectories,
        config.gamma,
        later_lr=run["inner_lr"] * bench.LATER_LR_FACTOR,
    )
    assert returns.tolist() == run["returns"]


def test_random_baseline_repeats_from_its_seed() -> None:
    run = next(r for r in _runs("random") if r["seed"] == 2)
    assert bench.run_one("random", 2, models_dir=None)["returns"] == run["returns"]


def test_table_lists_every_method_and_the_anchors() -> None:
    text = bench.table(STORED["runs"])
    assert STORED["table"] == text  # the chapter prints the stored table
    for name in bench.METHOD_NAMES.values():
        assert name in text
    for anchor in bench.ANCHORS:
        assert f"| {anchor['return']} |" in text


def test_sweep_curve_is_deterministic_and_validated() -> None:
    params = {"inner_lr": bench.SWEEP_GRID["inner_lr"][0], "inner_steps": 1}
    x, y = bench.sweep_curve(params, 0)
    assert x == list(range(bench.ADAPT_STEPS + 1)) and len(y) == len(x)
    assert (x, y) == bench.sweep_curve(params, 0)
    assert y[1] > y[0]  # even a short meta-training adapts
    with pytest.raises(ValueError, match="inner_steps=7 is not allowed"):
        bench.sweep_curve({"inner_lr": 0.1, "inner_steps": 7}, 0)
    with pytest.raises(ValueError, match="params="):
        bench.sweep_curve({"inner_lr": 0.1}, 0)


def test_sweep_config_is_a_short_version_of_the_benchmark() -> None:
    config = bench.sweep_config({"inner_lr": 0.1, "inner_steps": 2}, 3)
    full = maml_rl.MamlRLConfig()
    assert config.iterations < full.iterations
    assert (
        dataclasses.replace(
            config,
            iterations=full.iterations,
            meta_batch=full.meta_batch,
            inner_lr=full.inner_lr,
            inner_steps=full.inner_steps,
            seed=full.seed,
        )
        == full
    )
