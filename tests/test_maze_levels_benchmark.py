"""The stored maze-levels benchmark (benchmarks/maze_levels.py): complete, within its
CPU budget, showing what chapter 6.2 says, and reproduced by a fresh sample of its runs."""

from __future__ import annotations

import json
import os
import random
import secrets

import maze_levels as bench
import numpy as np
import pytest

from metarl_lite import level_rl2, sweeps
from metarl_lite.envs import maze_levels

STORED = json.loads(sweeps.data_path("benchmarks/maze_levels.json").read_text())
#: Each test run re-checks other runs; set this variable to repeat a run's sample.
SAMPLE_SEED = os.environ.get("METARL_LITE_BENCH_SAMPLE", secrets.token_hex(4))
K = STORED["test"]["episodes"]


def _runs(method: str) -> list[dict]:
    return sorted((r for r in STORED["runs"] if r["method"] == method), key=lambda r: r["seed"])


def _steps(method: str) -> np.ndarray:
    """Mean steps per episode, shape ``(seeds, episodes)``."""
    return np.array([r["held_out"]["steps"] for r in _runs(method)])


def test_every_method_and_seed_is_stored() -> None:
    base = bench.config_for("rl2", 0)
    assert STORED["test"] == {
        "levels": bench.N_TEST,
        "size": base.size,
        "episodes": base.episodes,
        "max_steps": base.max_steps,
        "eval_seed": bench.EVAL_SEED,
        "shortest_steps": pytest.approx(
            maze_levels.shortest_steps(maze_levels.test_tasks(bench.N_TEST, base.size)).mean()
        ),
    }
    for method in bench.METHOD_NAMES:
        assert [r["seed"] for r in _runs(method)] == list(bench.SEEDS), method
    for method in bench.SETTINGS:
        for run in _runs(method):
            assert run["config"] == {**run["config"], **bench.SETTINGS[method]}
            assert len(run["history"]["returns"]) == run["config"]["updates"]
            assert len(run["held_out"]["steps"]) == K
            path = bench.model_path(bench.DEFAULT_MODELS, method, run["seed"])
            assert path.exists() and path.stat().st_size < 200_000
    for run in _runs("q_learning"):
        assert len(run["held_out"]["steps"]) == bench.Q_EPISODES
        assert run["config"] == {**run["config"], **STORED["q_tuning"]["best"]}


def test_the_benchmark_fits_its_cpu_budget() -> None:
    train = sum(r["train_process_seconds"] for r in STORED["runs"] if "train_process_seconds" in r)
    assert STORED["machine"]["total_process_seconds"] <= 600.0
    assert train <= STORED["machine"]["total_process_seconds"]


def test_rl2_goes_back_to_the_goal_from_episode_2() -> None:
    """Each seed: episode 2 takes less than half the steps of episode 1, and is within
    1.5 steps of the shortest path on average."""
    rl2 = _steps("rl2")
    assert np.all(rl2[:, 1] < 0.5 * rl2[:, 0])
    assert np.all(rl2[:, 1:] <= STORED["test"]["shortest_steps"] + 1.5)


def test_rl2_beats_both_baselines_in_episodes_2_to_k() -> None:
    rl2, q, memoryless = _steps("rl2"), _steps("q_learning"), _steps("memoryless")
    assert rl2[:, 1:].mean(axis=0).max() < q[:, 1:K].mean(axis=0).min()
    assert rl2[:, 1:].max() < memoryless.min()
    # Q-learning from scratch needs about ten episodes to do what RL^2 does in episode 2 ...
    assert q[:, 8].mean() > rl2[:, 1].mean()
    # ... but it then goes on to the shortest path, below RL^2's last episode.
    assert q[:, -1].mean() < rl2[:, -1].mean()
    assert q[:, -1].mean() < STORED["test"]["shortest_steps"] + 0.1


def test_the_memoryless_policy_does_not_improve_within_a_trial() -> None:
    memoryless = _steps("memoryless")
    assert np.all(np.abs(memoryless[:, -1] - memoryless[:, 0]) < 1.5)


def test_a_sample_of_the_training_runs_repeats_exactly() -> None:
    """The first updates of a random stored training run repeat its log exactly."""
    rng = random.Random(SAMPLE_SEED)
    method = rng.choice(list(bench.SETTINGS))
    seed = rng.choice(list(bench.SEEDS))
    run = next(r for r in _runs(method) if r["seed"] == seed)
    n = 12
    result = level_rl2.train_level_rl2(bench.config_for(method, seed), stop_after=n)
    assert result.history.episode_returns == run["history"]["returns"][:n], (
        f"{method} seed {seed} (repeat with METARL_LITE_BENCH_SAMPLE={SAMPLE_SEED})"
    )


@pytest.mark.parametrize("method", list(bench.SETTINGS))
def test_stored_policies_reproduce_their_held_out_results(method: str) -> None:
    seed = random.Random(SAMPLE_SEED + method).choice(list(bench.SEEDS))
    run = next(r for r in _runs(method) if r["seed"] == seed)
    model = bench.load_policy(method, seed)
    config = bench.config_for(method, seed)
    tasks = maze_levels.test_tasks(bench.N_TEST, config.size)
    stats = level_rl2.evaluate(
        model, tasks, config.episodes, config.max_steps, bench.EVAL_SEED + seed
    )
    assert bench.per_episode(stats) == run["held_out"], (method, seed, SAMPLE_SEED)


def test_q_learning_repeats_from_its_seed() -> None:
    seed = random.Random(SAMPLE_SEED).choice(list(bench.SEEDS))
    run = next(r for r in _runs("q_learning") if r["seed"] == seed)
    again = bench.run_q(seed, STORED["q_tuning"])
    assert again["held_out"] == run["held_out"]


def test_q_learning_settings_are_the_best_of_the_grid() -> None:
    scores = STORED["q_tuning"]["scores"]
    assert len(scores) == int(np.prod([len(v) for v in bench.Q_GRID.values()]))
    best = min(scores, key=lambda s: s["steps"])
    assert {k: best[k] for k in bench.Q_GRID} == STORED["q_tuning"]["best"]


def test_table_lists_every_method() -> None:
    table = STORED["table"]
    for name in bench.METHOD_NAMES.values():
        assert name in table
    assert "shortest path" in table
