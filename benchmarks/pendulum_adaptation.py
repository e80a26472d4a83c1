"""Pendulum with changed mass and length: a meta-learned model, domain randomisation,
a model from scratch, and two bounds, all planning with the same MPC.

For each seed, 40 training pendulums are drawn (``varied_pendulum.sample_tasks``)
and random-torque data collected in each. Two models are fit to it: the
domain-randomised model (``dr``, one fit to the pooled data) and the first-order
MAML initialisation (``meta``). Every agent then meets the same held-out
pendulums (``varied_pendulum.test_tasks(8)``) for three 200-step episodes in a
row, starting from the same states:

- ``meta``: the meta-learned model, adapted at every step by five gradient steps
  on the task's last 32 transitions;
- ``dr``: the domain-randomised model, never adapted;
- ``dr_adapt``: the domain-randomised model adapted exactly as ``meta`` is (does
  plain pretraining plus the same online steps do as well?);
- ``scratch``: a model fit only to this task's data, refit after each episode;
- ``oracle``: planning with the true dynamics (an upper bound for this planner);
- ``random``: uniform random torques (a lower bound).

Usage::

    python benchmarks/pendulum_adaptation.py                      # seeds 0-2
    python benchmarks/pendulum_adaptation.py --seeds 0 --out /tmp/p.json --models /tmp/m

Prints the markdown tables on stdout (progress to stderr), writes them and every
return as JSON to ``--out`` and the seeds' meta and DR weights to ``--models``.
Runs go one after the other on one CPU thread.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metarl_lite import model_based as mb
from metarl_lite.envs import varied_pendulum as vp

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/pendulum_adaptation.json"
DEFAULT_MODELS = ROOT / "book/data/models/pendulum"
N_TEST_TASKS = 8
N_EPISODES = 3
#: The agents in the order of the tables.
AGENTS: tuple[str, ...] = ("meta", "dr", "dr_adapt", "scratch", "oracle", "random")
AGENT_NAMES = {
    "meta": "meta-learned model, adapted online",
    "dr": "domain randomisation (no adaptation)",
    "dr_adapt": "domain randomisation + the same online steps",
    "scratch": "scratch (this task's data only)",
    "oracle": "oracle (true dynamics)",
    "random": "random torques",
}


def training_tasks(seed: int, config: mb.AdaptConfig) -> vp.PendulumTasks:
    """The training pendulums of ``seed``."""
    return vp.sample_tasks(np.random.default_rng([seed, 0]), config.n_train_tasks)


def model_path(models_dir: Path, name: str, seed: int) -> Path:
    """Where the weights of model ``name`` (``meta`` or ``dr``) of ``seed`` are stored."""
    return models_dir / f"{name}_seed{seed}.pt"


def evaluate(
    agent: str,
    task: dict[str, float],
    config: mb.AdaptConfig,
    params: dict[str, list[torch.Tensor]],
    seed: int,
) -> list[float]:
    """Returns of one agent over :data:`N_EPISODES` episodes in ``task``."""
    if agent == "dr_adapt":
        return mb.evaluate_agent(
            "dr", task, config, params["dr"], n_episodes=N_EPISODES, seed=seed, adapt_online=True
        )
    return mb.evaluate_agent(
        agent, task, config, params.get(agent), n_episodes=N_EPISODES, seed=seed
    )


def run_seed(seed: int, models_dir: Path | None) -> dict[str, Any]:
    """Train both models of one seed and test every agent on the held-out pendulums."""
    config = mb.AdaptConfig(seed=seed)
    tasks = training_tasks(seed, config)
    cpu, wall = time.process_time(), time.perf_counter()
    dr = mb.train_dr(config, tasks)
    dr_cpu = time.process_time() - cpu
    meta = mb.train_meta(config, tasks)
    meta_cpu = time.process_time() - cpu - dr_cpu
    if models_dir is not None:
        models_dir.mkdir(parents=True, exist_ok=True)
        mb.save_params(dr.params, model_path(models_dir, "dr", seed))
        mb.save_params(meta.params, model_path(models_dir, "meta", seed))
    params = {"dr": dr.params, "meta": meta.params}
    test = vp.test_tasks(N_TEST_TASKS)
    returns: dict[str, list[list[float]]] = {}
    eval_cpu: dict[str, float] = {}
    for agent in AGENTS:
        print(f"seed={seed} {agent}", file=sys.stderr, flush=True)
        start = time.process_time()
        returns[agent] = [
            evaluate(agent, test.task(i), config, params, seed) for i in range(N_TEST_TASKS)
        ]
        eval_cpu[agent] = round(time.process_time() - start, 1)
    return {
        "seed": seed,
        "config": dataclasses.asdict(config),
        "dr_losses": dr.losses,
        "meta_losses": meta.losses,
        "train_cpu_seconds": {"dr": round(dr_cpu, 1), "meta": round(meta_cpu, 1)},
        "eval_cpu_seconds": eval_cpu,
        "wall_seconds": round(time.perf_counter() - wall, 1),
        "returns": returns,
    }


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.0f}"
    return f"{statistics.mean(values):.0f} ± {statistics.stdev(values):.0f}"


def table(runs: list[dict[str, Any]]) -> str:
    """Two markdown tables: the return in each episode (mean over the held-out
    pendulums, then mean ± std over seeds), and episode 1 per pendulum (mean over seeds)."""
    lines = [
        "| agent | episode 1 | episode 2 | episode 3 | CPU s per seed (train + test) |",
        "|---|---:|---:|---:|---:|",
    ]
    for agent in AGENTS:
        cells = []
        for episode in range(N_EPISODES):
            per_seed = [
                statistics.mean(task[episode] for task in run["returns"][agent]) for run in runs
            ]
            cells.append(_cell(per_seed))
        train = {"meta": "meta", "dr": "dr", "dr_adapt": "dr"}.get(agent)
        cpu = statistics.mean(
            run["eval_cpu_seconds"][agent] + (run["train_cpu_seconds"][train] if train else 0)
            for run in runs
        )
        lines.append(f"| {AGENT_NAMES[agent]} | {' | '.join(cells)} | {cpu:.0f} |")
    test = vp.test_tasks(N_TEST_TASKS)
    lines += [
        "",
        "| m (kg) | l (m) | 3/(m l²) | " + " | ".join(AGENTS) + " |",
        "|---:|---:|---:|" + "---:|" * len(AGENTS),
    ]
    for i in range(N_TEST_TASKS):
        m, length = float(test.m[i]), float(test.l[i])
        cells = [
            f"{statistics.mean(run['returns'][agent][i][0] for run in runs):.0f}"
            for agent in AGENTS
        ]
        lines.append(
            f"| {m:.2f} | {length:.2f} | {3 / (m * length**2):.1f} | {' | '.join(cells)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args(argv)
    start, cpu = time.perf_counter(), time.process_time()
    runs = [run_seed(seed, args.models) for seed in args.seeds]
    test = vp.test_tasks(N_TEST_TASKS)
    report = {
        "test": {
            "tasks": [test.task(i) for i in range(N_TEST_TASKS)],
            "seed": vp.TEST_SEED,
            "episodes": N_EPISODES,
        },
        "agents": list(AGENTS),
        "agent_names": AGENT_NAMES,
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": 1,
            "total_seconds": round(time.perf_counter() - start, 1),
            "cpu_seconds": round(time.process_time() - cpu, 1),
        },
        "table": table(runs),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(report["table"])
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
