"""The stored sine-regression benchmark (benchmarks/sine_regression.py): complete,
meeting the chapter's targets, and reproduced by a fresh sample of its runs."""

from __future__ import annotations

import json
import os
import random
import secrets

import pytest
import sine_regression as bench
import torch

from metarl_lite import meta, sweeps

STORED = json.loads(sweeps.data_path("benchmarks/sine_regression.json").read_text())
#: Each test run re-checks other runs; set this variable to repeat a run's sample.
SAMPLE_SEED = os.environ.get("METARL_LITE_BENCH_SAMPLE", secrets.token_hex(4))


def _runs(method: str, k: int) -> list[dict]:
    return [r for r in STORED["runs"] if r["method"] == method and r["k_shots"] == k]


def test_every_method_k_and_seed_is_stored() -> None:
    assert STORED["test"]["tasks"] >= 100
    for method in meta.METHODS:
        for k in (10, 5):
            runs = _runs(method, k)
            assert sorted(r["seed"] for r in runs) == [0, 1, 2], (method, k)
            assert all(len(r["mse"]) == bench.ADAPT_STEPS + 1 for r in runs)
            assert all(r["config"] == {**r["config"], **bench.SETTINGS[method]} for r in runs)


def test_maml_meets_the_chapter_targets() -> None:
    for run in _runs("maml", 10):
        assert run["mse"][1] <= 0.5, run["seed"]
        assert run["mse"][10] <= 0.1, run["seed"]
        assert run["wall_time"] <= 60.0, run["seed"]


def test_a_sample_of_the_training_runs_repeats_exactly() -> None:
    """The first 500 iterations of a random stored run give its first two logged losses."""
    rng = random.Random(SAMPLE_SEED)
    run = rng.choice([r for r in STORED["runs"] if r["method"] in meta.META_METHODS])
    config = meta.MetaConfig(**{**run["config"], "iterations": 2 * run["config"]["log_every"]})
    fresh = meta.train_meta(config, progress=False).history
    assert fresh.losses == run["history"]["losses"][:2], (
        f"{run['method']} K={run['k_shots']} seed {run['seed']} differs from the stored run "
        f"(repeat with METARL_LITE_BENCH_SAMPLE={SAMPLE_SEED})"
    )


@pytest.mark.parametrize("method", meta.METHODS)
def test_stored_networks_reproduce_their_curves(method: str) -> None:
    run = next(r for r in _runs(method, 10) if r["seed"] == 0)
    net = meta.SineNet()
    path = sweeps.data_path(f"models/sine/{method}_k10_seed0.pt")
    net.load_state_dict(torch.load(path, weights_only=True))
    errors = meta.adaptation_curve(net, meta.meta_test_set(10), run["inner_lr"], bench.ADAPT_STEPS)
    assert errors.mean(dim=1).tolist() == run["mse"]


def test_scratch_baseline_repeats_from_its_seed() -> None:
    run = next(r for r in _runs("scratch", 5) if r["seed"] == 1)
    assert bench.run_one("scratch", 5, 1, models_dir=None)["mse"] == run["mse"]


def test_table_lists_every_method_and_the_anchors() -> None:
    text = bench.table(STORED["runs"])
    assert STORED["table"] == text  # the chapter prints the stored table
    for name in meta.METHOD_NAMES.values():
        assert name in text
    for anchor in bench.ANCHORS:
        assert f"| {anchor['mse']} |" in text
