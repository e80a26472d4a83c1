"""The stored meta-DQN benchmark (benchmarks/meta_dqn.py): complete, its targets,
its checkpoints, and a fresh sample of its runs repeating exactly."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import secrets

import meta_dqn as bench
import numpy as np
import pytest
import torch

from metarl_lite import learned_opt, sweeps
from metarl_lite import meta_dqn as md

STORED = json.loads(sweeps.data_path("benchmarks/meta_dqn.json").read_text())
MODELS = sweeps.BOOK_DATA_DIR / "models" / "meta_dqn"
#: Each test run re-checks other runs; set this variable to repeat a run's sample.
SAMPLE_SEED = os.environ.get("METARL_LITE_BENCH_SAMPLE", secrets.token_hex(4))
#: The issue's budget for meta-training each component on this 2-core machine.
TARGET_SECONDS = 300.0
UNITS = [(u["family"], u["seed"]) for u in STORED["units"]]


def unit(family: str, seed: int) -> dict:
    return next(u for u in STORED["units"] if (u["family"], u["seed"]) == (family, seed))


def test_every_family_seed_and_method_is_stored() -> None:
    assert sorted(UNITS) == sorted((f, s) for f in bench.FAMILIES for s in bench.SEEDS)
    for u in STORED["units"]:
        assert set(u["runs"]) == set(bench.METHODS)
        for method, run in u["runs"].items():
            horizon = bench.SCRATCH_STEPS if method.startswith("scratch") else bench.START_STEPS
            assert run["eval_steps"][0] == 0
            assert run["eval_steps"][-1] == horizon
            assert np.shape(run["eval_returns"]) == (len(run["eval_steps"]), 5)
    assert STORED["table"] == bench.table(bench.summarise(STORED["units"]))


def test_meta_training_of_each_component_fits_the_budget() -> None:
    for u in STORED["units"]:
        for component, log in u["meta_training"].items():
            assert log["process_seconds"] <= TARGET_SECONDS, (u["family"], u["seed"], component)


def test_stored_starts_reproduce_their_validation_return() -> None:
    for family, seed in UNITS:
        env_id = bench.FAMILIES[family]
        config = md.InitConfig(env_id=env_id, seed=seed)
        for component in ("reptile", "pretrain"):
            path = MODELS / f"{family}_{component}_seed{seed}.pt"
            start = torch.load(path, weights_only=True)
            log = unit(family, seed)["meta_training"][component]
            returns = md.evaluate_tasks(
                start, env_id, md._validation(config), config.eval_episodes, md.VALIDATION_SEED
            )
            assert float(returns.mean()) == log["returns"][log["best_iteration"]]


def test_stored_rules_load() -> None:
    for family, seed in UNITS:
        rule = learned_opt.load_rule(MODELS / f"{family}_rule_seed{seed}.pt")
        assert rule.config == md.RuleConfig().rule


def test_a_sample_of_meta_training_repeats_exactly() -> None:
    """The first iterations (or unrolls) of a random stored meta-training repeat."""
    rng = random.Random(SAMPLE_SEED)
    family, seed = rng.choice(UNITS)
    env_id = bench.FAMILIES[family]
    log = unit(family, seed)["meta_training"]
    message = f"(repeat with METARL_LITE_BENCH_SAMPLE={SAMPLE_SEED})"
    config = md.InitConfig(env_id=env_id, seed=seed, iterations=2)
    assert md.train_reptile(config).returns == log["reptile"]["returns"][:2], message
    assert md.train_pretrained(config).returns == log["pretrain"]["returns"][:2], message
    rule_config = md.RuleConfig(env_id=env_id, seed=seed, lives=1, life_steps=1_300)
    fresh = md.train_update_rule(rule_config).meta_losses
    assert len(fresh) == 6
    assert [round(x, 5) for x in fresh] == log["rule"]["meta_losses"][:6], message


def test_a_sample_of_the_held_out_runs_repeats_exactly() -> None:
    """The first 5,000 steps of a random stored held-out run repeat its evaluations."""
    rng = random.Random(SAMPLE_SEED)
    family, seed = rng.choice(UNITS)
    method = rng.choice(list(bench.METHODS))
    env_id = bench.FAMILIES[family]
    stored = unit(family, seed)["runs"][method]
    lr = STORED["tuning"][family]["chosen"]
    if method.startswith("scratch"):
        config = dataclasses.replace(md.CHAPTER_DQN, learning_rate=lr)
        start = None
    else:
        config = md.FINE_TUNE_DQN
        which = "pretrain" if method.startswith("pretrain") else "reptile"
        start = torch.load(MODELS / f"{family}_{which}_seed{seed}.pt", weights_only=True)
    rule = None
    if method.endswith("lstm"):
        rule = learned_opt.load_rule(MODELS / f"{family}_rule_seed{seed}.pt")
    config = dataclasses.replace(config, total_steps=5_000, seed=seed)
    fresh = md.train_dqn_tasks(env_id, bench.held_out(env_id, seed), config, init=start, rule=rule)
    np.testing.assert_array_equal(
        fresh.eval_returns.round(2),
        np.asarray(stored["eval_returns"][:3]),
        err_msg=f"{family} seed {seed} {method} (METARL_LITE_BENCH_SAMPLE={SAMPLE_SEED})",
    )


@pytest.mark.parametrize("family", list(bench.FAMILIES))
def test_held_out_tasks_are_the_families_test_tasks(family: str) -> None:
    env_id = bench.FAMILIES[family]
    everything = md.check_family(env_id).test_tasks(25)
    seen = [md.select_tasks(everything, slice(5 * s, 5 * s + 5)) for s in bench.SEEDS]
    for seed, tasks in zip(bench.SEEDS, seen, strict=True):
        held = bench.held_out(env_id, seed)
        for a, b in zip(task_arrays(held), task_arrays(tasks), strict=True):
            np.testing.assert_array_equal(a, b)


def task_arrays(tasks) -> list[np.ndarray]:
    """The arrays of a (possibly nested) task batch."""
    out = []
    for field in tasks:
        out.extend(task_arrays(field) if isinstance(field, tuple) else [np.asarray(field)])
    return out


# ---------------------------------------------------------------------------
# The targets and what the chapter says about them
# ---------------------------------------------------------------------------

SUMMARY = STORED["summary"]


def median_steps(family: str, method: str) -> float:
    """Median steps to 475 over seeds; a seed that never got there counts as infinite."""
    row = SUMMARY[family][method]
    return np.inf if row["median_steps"] is None else row["median_steps"]


def test_reptile_start_reaches_475_in_a_third_of_scratch_steps() -> None:
    """The issue's first target, on held-out CartPole tasks."""
    assert median_steps("cartpole", "reptile_adam") <= median_steps("cartpole", "scratch_adam") / 3


@pytest.mark.xfail(
    strict=True,
    reason="missed: from scratch, the LSTM rule's area over steps 0-25k is 74 against tuned "
    "Adam's 133 on CartPole and 17 against 152 on the flipped family (5 seeds); meta-trained "
    "on 16-update unrolls of TD loss, it takes steps far smaller than Adam's (short-horizon "
    "bias, shown in the chapter)",
)
def test_lstm_rule_matches_tuned_adam() -> None:
    """The issue's second target: from scratch, the rule's area is Adam's or more."""
    for family in bench.FAMILIES:
        rows = SUMMARY[family]
        assert rows["scratch_lstm"]["area_mean"] >= rows["scratch_adam"]["area_mean"], family


def test_no_start_balances_the_flipped_validation_tasks() -> None:
    """What the chapter says of the flipped family: one network can balance only one
    kind of task, so no start kept by meta-training comes near 475 there."""
    for u in STORED["units"]:
        if u["family"] == "flipped":
            for component in ("reptile", "pretrain"):
                assert max(u["meta_training"][component]["returns"]) < 400, u["seed"]
