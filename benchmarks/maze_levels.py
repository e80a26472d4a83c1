"""Game levels: RL^2 against Q-learning from scratch and a memoryless policy on held-out mazes.

Chapter 6.2. For each seed, two policies meta-train on generated training levels
(:func:`metarl_lite.level_rl2.train_level_rl2`): RL^2's GRU, whose memory lasts
the whole trial of ``K`` episodes on one level, and the same network without
memory (it sees only its cell and walls: trained on many levels, it cannot
adapt to one). Both then play one trial on each of the first :data:`N_TEST`
held-out levels (``maze_levels.test_tasks``). Tabular Q-learning starts from an
empty table on each held-out level and plays :data:`Q_EPISODES` episodes; its
settings are the best of :data:`Q_GRID` on :data:`N_TUNE` training levels (by
the mean steps over the first ``K`` episodes).

Usage::

    python benchmarks/maze_levels.py              # seeds 0-2, about 7 CPU minutes
    python benchmarks/maze_levels.py --seeds 0 --out /tmp/levels.json

Writes the per-episode results and the table to ``--out`` and every trained
policy (its acting part only; the critic is needed only in training) to ``--models``.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metarl_lite import level_rl2
from metarl_lite.envs import maze_levels

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/maze_levels.json"
DEFAULT_MODELS = ROOT / "book/data/models/maze_levels"
SEEDS: tuple[int, ...] = (0, 1, 2)
#: Held-out levels every method plays.
N_TEST = 200
#: Seed of the action draws on the held-out levels.
EVAL_SEED = 1_000
#: Episodes of Q-learning from scratch on each held-out level.
Q_EPISODES = 30
#: Training levels and seed used to pick Q-learning's settings.
N_TUNE = 100
TUNE_SEED = 77
#: Q-learning settings tried (each combination).
Q_GRID: dict[str, tuple[float, ...]] = {
    "q_init": (-5.0, 0.0, 10.0),
    "alpha": (0.5, 1.0),
    "epsilon": (0.0, 0.1),
    "gamma": (0.9, 1.0),
}
#: The runs: RL^2 and the memoryless policy (the rest are LevelRL2Config's defaults).
SETTINGS: dict[str, dict[str, Any]] = {
    "rl2": {"memory": True},
    "memoryless": {"memory": False},
}
METHOD_NAMES = {
    "rl2": "RL^2 (GRU, memory across episodes)",
    "memoryless": "memoryless policy, trained on all levels",
    "q_learning": "Q-learning from scratch",
}


def config_for(method: str, seed: int) -> level_rl2.LevelRL2Config:
    """The benchmark's configuration of a meta-trained method and seed."""
    return level_rl2.LevelRL2Config(seed=seed, **SETTINGS[method])


def model_path(models_dir: Path, method: str, seed: int) -> Path:
    return models_dir / f"{method}_seed{seed}.pt"


def load_policy(method: str, seed: int, models_dir: Path = DEFAULT_MODELS) -> Any:
    """A stored policy, ready to play."""
    return level_rl2.load_policy(model_path(models_dir, method, seed), config_for(method, seed))


def per_episode(stats: level_rl2.TrialStats) -> dict[str, list[float]]:
    """Means over the held-out levels, per episode of the trial."""
    return {
        "steps": stats.steps.mean(axis=0).tolist(),
        "returns": stats.returns.mean(axis=0).tolist(),
        "reached": stats.reached.mean(axis=0).tolist(),
    }


def tune_q_learning(episodes: int, max_steps: int, size: int) -> dict[str, Any]:
    """Q-learning's settings: the best of :data:`Q_GRID` on training levels."""
    tasks = maze_levels.sample_tasks(np.random.default_rng(TUNE_SEED), N_TUNE, size)
    scores = []
    for values in itertools.product(*Q_GRID.values()):
        settings = dict(zip(Q_GRID, values, strict=True))
        config = level_rl2.QBaselineConfig(max_steps=max_steps, **settings)
        stats = level_rl2.q_learning_trials(tasks, episodes, config, TUNE_SEED)
        scores.append({**settings, "steps": float(stats.steps.mean())})
    best = min(scores, key=lambda s: s["steps"])
    return {"best": {k: best[k] for k in Q_GRID}, "scores": scores}


def q_config(tuned: dict[str, Any], max_steps: int) -> level_rl2.QBaselineConfig:
    return level_rl2.QBaselineConfig(max_steps=max_steps, **tuned["best"])


def run_meta(method: str, seed: int, models_dir: Path | None) -> dict[str, Any]:
    """Meta-train one method with one seed and play the held-out levels."""
    config = config_for(method, seed)
    wall, cpu = time.perf_counter(), time.process_time()
    result = level_rl2.train_level_rl2(config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    tasks = maze_levels.test_tasks(N_TEST, config.size)
    stats = level_rl2.evaluate(
        result.model, tasks, config.episodes, config.max_steps, EVAL_SEED + seed
    )
    if models_dir is not None:
        models_dir.mkdir(parents=True, exist_ok=True)
        torch.save(level_rl2.acting_state(result.model), model_path(models_dir, method, seed))
    history = result.history
    return {
        "method": method,
        "seed": seed,
        "config": dataclasses.asdict(config),
        "env_steps": history.episode_steps[-1] if history.episode_steps else 0,
        "train_wall_seconds": wall,
        "train_process_seconds": cpu,
        "held_out": per_episode(stats),
        "history": {"steps": history.episode_steps, "returns": history.episode_returns},
    }


def run_q(seed: int, tuned: dict[str, Any]) -> dict[str, Any]:
    """Q-learning from scratch on every held-out level, with one seed."""
    base = config_for("rl2", seed)
    cpu = time.process_time()
    tasks = maze_levels.test_tasks(N_TEST, base.size)
    stats = level_rl2.q_learning_trials(tasks, Q_EPISODES, q_config(tuned, base.max_steps), seed)
    return {
        "method": "q_learning",
        "seed": seed,
        "config": dataclasses.asdict(q_config(tuned, base.max_steps)),
        "process_seconds": time.process_time() - cpu,
        "held_out": per_episode(stats),
    }


def _mean_sd(values: list[float]) -> str:
    return f"{np.mean(values):.2f} ± {np.std(values):.2f}"


def table(runs: list[dict[str, Any]], shortest: float, episodes: int) -> str:
    """Markdown: mean steps to the goal per episode of the trial (mean ± sd over seeds)."""
    late = (10, Q_EPISODES)
    header = [f"episode {k}" for k in range(1, episodes + 1)]
    header += [f"episode {k}" for k in late]
    lines = [
        "| method | " + " | ".join(header) + " | reached in episode 2 |",
        "|---|" + "---:|" * (len(header) + 1),
    ]
    for method, name in METHOD_NAMES.items():
        rs = [r for r in runs if r["method"] == method]
        steps = np.array([r["held_out"]["steps"] for r in rs])
        cells = [_mean_sd(steps[:, k].tolist()) for k in range(episodes)]
        cells += [_mean_sd(steps[:, k - 1].tolist()) if steps.shape[1] >= k else "–" for k in late]
        reached = [r["held_out"]["reached"][1] for r in rs]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {np.mean(reached):.0%} |")
    lines.append(
        "| shortest path (knows the goal) | "
        + " | ".join([f"{shortest:.2f}"] * len(header))
        + " | 100% |"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args(argv)
    start, cpu_start = time.perf_counter(), time.process_time()
    base = config_for("rl2", 0)
    tuned = tune_q_learning(base.episodes, base.max_steps, base.size)
    print(f"Q-learning settings: {tuned['best']}", file=sys.stderr, flush=True)
    runs = []
    for seed in args.seeds:
        for method in SETTINGS:
            run = run_meta(method, seed, args.models)
            print(
                f"{method} seed {seed}: steps {np.round(run['held_out']['steps'], 2)} "
                f"in {run['train_process_seconds']:.0f} s",
                file=sys.stderr,
                flush=True,
            )
            runs.append(run)
        runs.append(run_q(seed, tuned))
    tasks = maze_levels.test_tasks(N_TEST, base.size)
    shortest = float(maze_levels.shortest_steps(tasks).mean())
    report = {
        "test": {
            "levels": N_TEST,
            "size": base.size,
            "episodes": base.episodes,
            "max_steps": base.max_steps,
            "eval_seed": EVAL_SEED,
            "shortest_steps": shortest,
        },
        "settings": SETTINGS,
        "methods": METHOD_NAMES,
        "q_tuning": tuned,
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads_per_run": 1,
            "workers": 1,
            "total_seconds": time.perf_counter() - start,
            "total_process_seconds": time.process_time() - cpu_start,
        },
        "table": table(runs, shortest, base.episodes),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(report["table"])
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
