"""Variance across seeds: first-order MAML on point navigation, ten seeds.

Chapter 7 asks how much one meta-RL result moves when nothing changes but the
seed. This script meta-trains first-order MAML (chapter 4's navigation
settings, with a shorter budget of :data:`ITERATIONS` iterations) once for
each of the seeds 0-9, then tests every policy on the same
:data:`~metarl_lite.maml_rl.TEST_TASKS` held-out goals with the same
exploration noise, exactly as ``benchmarks/maml_navigation.py`` does: 0 to
:data:`ADAPT_STEPS` policy-gradient steps, the first with the meta-training
step size, the later ones with half of it. The seed sets the initial weights,
the training goals and the exploration noise of training; the test is the same
for every seed, so the spread in the table is the spread of training alone.

Usage::

    python benchmarks/seed_variance.py                      # seeds 0-9
    python benchmarks/seed_variance.py --seeds 0 1 --out /tmp/sv.json --models /tmp/sv

Writes the per-seed learning curves, held-out returns, times and a markdown
table to ``--out`` and each seed's policy to ``--models`` (the test re-evaluates
one of them and re-trains the first iterations of one seed, and compares).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metarl_lite import challenges, maml_rl
from metarl_lite.envs import point_navigation as nav

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/seed_variance.json"
DEFAULT_MODELS = ROOT / "book/data/models/seed_variance"
SEEDS: tuple[int, ...] = tuple(range(10))
#: Meta-training iterations per seed: 150 of the chapter-4 benchmark's 400, so that
#: ten seeds cost about as much CPU as four full runs.
ITERATIONS = 150
ADAPT_STEPS = 2
LATER_LR_FACTOR = 0.5
#: The score of a seed: the mean held-out return after this many steps (the one
#: step that first-order MAML is meta-trained for).
SCORE_STEP = 1
#: Bootstrap resamples and seed of the confidence intervals in the table.
BOOTSTRAP_RESAMPLES = 10_000
BOOTSTRAP_SEED = 0


def config_for(seed: int) -> maml_rl.MamlRLConfig:
    """The run of one seed: chapter 4's first-order MAML with :data:`ITERATIONS`."""
    return maml_rl.MamlRLConfig(first_order=True, iterations=ITERATIONS, seed=seed)


def evaluate(policy: torch.nn.Module, config: maml_rl.MamlRLConfig) -> list[float]:
    """Mean return over the held-out goals after 0 to :data:`ADAPT_STEPS` steps."""
    returns = maml_rl.task_returns(
        policy,
        nav.test_tasks(maml_rl.TEST_TASKS),
        config.inner_lr,
        ADAPT_STEPS,
        config.inner_trajectories,
        config.gamma,
        later_lr=config.inner_lr * LATER_LR_FACTOR,
    )
    return returns.mean(dim=1).tolist()


def run_one(seed: int, models_dir: Path | None) -> dict[str, Any]:
    """Train one seed, test it, and save its policy to ``models_dir``."""
    config = config_for(seed)
    result = maml_rl.train_maml_rl(config, progress=True)
    start = time.process_time()
    returns = evaluate(result.policy, config)
    eval_seconds = time.process_time() - start
    if models_dir is not None:
        models_dir.mkdir(parents=True, exist_ok=True)
        torch.save(result.policy.state_dict(), models_dir / f"fomaml_seed{seed}.pt")
    history = result.history
    return {
        "seed": seed,
        "returns": returns,
        "env_steps": history.env_steps[-1],
        "wall_time": history.wall_time,
        "process_time": history.process_time,
        "eval_process_time": eval_seconds,
        "pre_returns": history.pre_returns,
        "post_returns": history.post_returns,
    }


def make_table(runs: list[dict[str, Any]]) -> str:
    """The chapter's table: each seed's held-out returns, then the statistics."""
    head = " | ".join(f"{s} step{'s' if s != 1 else ''}" for s in range(ADAPT_STEPS + 1))
    lines = [
        f"| seed | return, {head} | env steps (millions) | training CPU time |",
        "|---:|" + "---:|" * (ADAPT_STEPS + 1) + "---:|---:|",
    ]
    for run in runs:
        cells = " | ".join(f"{r:.2f}" for r in run["returns"])
        lines.append(
            f"| {run['seed']} | {cells} | {run['env_steps'] / 1e6:.1f} | "
            f"{run['process_time']:.0f} s |"
        )
    scores = np.array([run["returns"][SCORE_STEP] for run in runs])
    summary = challenges.seed_summary(scores, n_resamples=BOOTSTRAP_RESAMPLES, seed=BOOTSTRAP_SEED)
    lines += [
        "",
        f"| statistic of the {len(runs)} seeds' return after {SCORE_STEP} step | value |",
        "|---|---:|",
        f"| mean | {summary['mean']:.2f} |",
        f"| standard deviation | {summary['std']:.2f} |",
        f"| median | {summary['median']:.2f} |",
        f"| interquartile mean | {summary['iqm']:.2f} |",
        f"| best - worst seed | {summary['max'] - summary['min']:.2f} |",
        f"| 95% bootstrap CI of the mean | [{summary['ci_low']:.2f}, {summary['ci_high']:.2f}] |",
        f"| means of the 120 three-seed subsets | {summary['triple_min']:.2f} to "
        f"{summary['triple_max']:.2f} |",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    runs = []
    for seed in args.seeds:
        runs.append(run_one(seed, args.models))
        print(f"seed {seed}: {runs[-1]['returns']}", file=sys.stderr)
    table = make_table(runs)
    report = {
        "method": "first-order MAML",
        "config": {k: v for k, v in dataclasses.asdict(config_for(0)).items() if k != "seed"},
        "test": {
            "tasks": maml_rl.TEST_TASKS,
            "seed": nav.TEST_SEED,
            "noise_seed": maml_rl.EVAL_SEED,
        },
        "adapt_steps": ADAPT_STEPS,
        "later_lr_factor": LATER_LR_FACTOR,
        "score_step": SCORE_STEP,
        "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED},
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": 1,
            "total_seconds": time.perf_counter() - start,
        },
        "table": table,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
