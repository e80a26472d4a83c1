"""The stored pendulum benchmark (benchmarks/pendulum_adaptation.py): complete, within its
CPU budget, reproduced by a fresh sample of its runs from the stored weights, and the
findings the chapter states about it."""

from __future__ import annotations

import dataclasses
import json
import os
import random
import secrets
import statistics

import pendulum_adaptation as bench
import torch

from metarl_lite import model_based as mb
from metarl_lite import sweeps
from metarl_lite.envs import varied_pendulum as vp

STORED = json.loads(sweeps.data_path("benchmarks/pendulum_adaptation.json").read_text())
MODELS = sweeps.data_path("models/pendulum")
#: Each test run re-checks other runs; set this variable to repeat a run's sample.
SAMPLE_SEED = os.environ.get("METARL_LITE_BENCH_SAMPLE", secrets.token_hex(4))
#: The brief's budget for the whole benchmark, in CPU seconds on one thread.
BUDGET_SECONDS = 480.0


def _run(seed: int) -> dict:
    return next(r for r in STORED["runs"] if r["seed"] == seed)


def _episode_mean(agent: str, episode: int) -> float:
    """Return in ``episode`` averaged over the held-out pendulums and the seeds."""
    return statistics.mean(
        statistics.mean(task[episode] for task in run["returns"][agent]) for run in STORED["runs"]
    )


def test_every_seed_agent_task_and_episode_is_stored_within_budget() -> None:
    assert sorted(r["seed"] for r in STORED["runs"]) == [0, 1, 2]
    assert STORED["machine"]["cpu_seconds"] <= BUDGET_SECONDS
    tasks = vp.test_tasks(bench.N_TEST_TASKS)
    assert STORED["test"]["tasks"] == [tasks.task(i) for i in range(bench.N_TEST_TASKS)]
    for run in STORED["runs"]:
        assert run["config"] == dataclasses.asdict(mb.AdaptConfig(seed=run["seed"]))
        assert set(run["returns"]) == set(bench.AGENTS)
        for returns in run["returns"].values():
            assert len(returns) == bench.N_TEST_TASKS
            assert all(len(r) == bench.N_EPISODES for r in returns)
        assert (MODELS / f"meta_seed{run['seed']}.pt").exists()
    assert sum(p.stat().st_size for p in MODELS.iterdir()) < 100_000


def test_the_table_is_the_one_the_script_writes() -> None:
    assert STORED["table"] == bench.table(STORED["runs"])
    for name in bench.AGENT_NAMES.values():
        assert name in STORED["table"]


def test_a_sample_of_the_held_out_runs_repeats_exactly() -> None:
    """A random (seed, agent, pendulum) run from the stored weights gives the stored returns."""
    rng = random.Random(SAMPLE_SEED)
    seed = rng.choice([0, 1, 2])
    agent = rng.choice([a for a in bench.AGENTS if a != "random"])
    i = rng.randrange(bench.N_TEST_TASKS)
    params = {name: mb.load_params(MODELS / f"{name}_seed{seed}.pt") for name in ("meta", "dr")}
    task = vp.test_tasks(bench.N_TEST_TASKS).task(i)
    fresh = bench.evaluate(agent, task, mb.AdaptConfig(seed=seed), params, seed)
    assert fresh == _run(seed)["returns"][agent][i], (
        f"seed {seed} {agent} task {i} differs "
        f"(repeat with METARL_LITE_BENCH_SAMPLE={SAMPLE_SEED})"
    )


def test_the_dr_fit_and_the_start_of_meta_training_repeat_exactly() -> None:
    seed = random.Random(SAMPLE_SEED).choice([0, 1, 2])
    config = mb.AdaptConfig(seed=seed)
    tasks = bench.training_tasks(seed, config)
    dr = mb.train_dr(config, tasks)
    stored = mb.load_params(MODELS / f"dr_seed{seed}.pt")
    assert all(a.equal(b) for a, b in zip(dr.params, stored, strict=True))
    assert dr.losses == _run(seed)["dr_losses"]
    prefix = 2 * mb.LOG_EVERY
    short = mb.train_meta(mb.AdaptConfig(seed=seed, meta_iterations=prefix), tasks)
    assert short.losses == _run(seed)["meta_losses"][:2]
    assert len(_run(seed)["meta_losses"]) == config.meta_iterations // mb.LOG_EVERY
    assert torch.isfinite(torch.cat([p.flatten() for p in short.params])).all()


def test_the_bounds_frame_every_learned_agent() -> None:
    for episode in range(bench.N_EPISODES):
        oracle, rand = _episode_mean("oracle", episode), _episode_mean("random", episode)
        for agent in ("meta", "dr", "dr_adapt", "scratch"):
            assert _episode_mean(agent, episode) <= oracle + 1e-9, (agent, episode)
        for agent in ("meta", "dr", "dr_adapt"):
            assert _episode_mean(agent, episode) > rand, (agent, episode)


def _first_episode(agent: str, i: int) -> float:
    """Episode-1 return on held-out pendulum ``i``, averaged over seeds."""
    return statistics.mean(run["returns"][agent][i][0] for run in STORED["runs"])


def _authority(i: int) -> float:
    task = STORED["test"]["tasks"][i]
    return 3.0 / (task["m"] * task["l"] ** 2)


def test_what_the_chapter_says_about_episode_one() -> None:
    # averaged: the meta-learned model is near the oracle and far above domain randomisation
    meta, dr, oracle = (_episode_mean(a, 0) for a in ("meta", "dr", "oracle"))
    assert meta > dr + 100 and meta > oracle - 30
    # the same online steps on the DR model do not make up the difference
    assert _episode_mean("dr_adapt", 0) < meta - 100
    for i in range(bench.N_TEST_TASKS):
        if 2.0 < _authority(i) < 8.0:  # near the default: every prior is as good as the oracle
            for agent in ("meta", "dr", "dr_adapt"):
                assert _first_episode(agent, i) > _first_episode("oracle", i) - 10, (agent, i)
        if _authority(i) < 1.5:  # long rods, weak torque: DR fails, the adapted model does not
            assert _first_episode("dr", i) < -400, i
            assert _first_episode("meta", i) > _first_episode("dr", i) + 250, i
    # scratch's first episode plans with a random model: worse than random torques
    assert _episode_mean("scratch", 0) < _episode_mean("random", 0)


def test_what_the_chapter_says_about_later_episodes() -> None:
    # one episode of its own data puts scratch level with the meta-learned agent, ...
    assert abs(_episode_mean("scratch", 1) - _episode_mean("meta", 1)) < 20
    # ... and ahead of it (near the oracle) in episode 3
    assert _episode_mean("scratch", 2) > _episode_mean("meta", 2) + 20
    assert _episode_mean("scratch", 2) > _episode_mean("oracle", 2) - 10
