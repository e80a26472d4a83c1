"""Our DQN against Stable-Baselines3's DQN on CartPole-v1.

Both train for the same number of environment steps on the same seeds, and
both are measured the same way: every ``EVAL_EVERY`` steps, the greedy policy
plays ``EVAL_EPISODES`` episodes on environments seeded apart from training
(:func:`metarl_lite.dqn.evaluate`, with the same seeds for both methods).
Both run on one CPU thread, one run after the other, so wall times compare.

Usage::

    python benchmarks/dqn_cartpole.py                       # 5 seeds, 50k steps
    python benchmarks/dqn_cartpole.py --seeds 0 1 --steps 10000 --out /tmp/b.json

Prints a markdown table on stdout (progress goes to stderr) and writes the
results as JSON to ``--out``.
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

import gymnasium as gym
import stable_baselines3
import torch
from stable_baselines3 import DQN
from stable_baselines3.common.callbacks import BaseCallback

from metarl_lite.dqn import EVAL_SEED_OFFSET, DQNConfig, evaluate, train_dqn
from metarl_lite.seeding import torch_threads

ENV_ID = "CartPole-v1"
EVAL_EVERY = 2_500
EVAL_EPISODES = 20
THRESHOLD = 475.0
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "book/data/benchmarks/dqn_cartpole.json"

# rl-zoo3's tuned hyperparameters for DQN on CartPole-v1, from
# rl_baselines3_zoo/hyperparams/dqn.yml (entry "CartPole-v1", n_timesteps 5e4).
# Everything else is SB3's DQN default (Huber loss, max_grad_norm 10, tau 1).
ZOO_CARTPOLE: dict[str, Any] = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}


class GreedyEvalCallback(BaseCallback):
    """Evaluate SB3's greedy policy with our :func:`evaluate` every ``every`` steps."""

    def __init__(self, every: int, episodes: int, seed: int) -> None:
        super().__init__()
        self.every, self.episodes, self.seed = every, episodes, seed
        self.eval_steps: list[int] = []
        self.eval_returns: list[float] = []

    def _on_step(self) -> bool:
        if self.num_timesteps % self.every == 0:
            returns = evaluate(self.model.q_net, ENV_ID, self.episodes, self.seed)
            self.eval_steps.append(self.num_timesteps)
            self.eval_returns.append(float(returns.mean()))
        return True


def steps_to_reach(steps: list[int], returns: list[float], threshold: float) -> int | None:
    """First evaluation step whose mean return is at least ``threshold``."""
    return next((s for s, r in zip(steps, returns, strict=True) if r >= threshold), None)


def run_ours(seed: int, total_steps: int) -> dict[str, Any]:
    config = DQNConfig(
        total_steps=total_steps, eval_every=EVAL_EVERY, eval_episodes=EVAL_EPISODES, seed=seed
    )
    history = train_dqn(config, progress=False).history
    return {
        "seed": seed,
        "eval_steps": history.eval_steps,
        "eval_returns": history.eval_returns,
        "wall_time": history.wall_time,
    }


def run_sb3(seed: int, total_steps: int) -> dict[str, Any]:
    with torch_threads(1):
        start = time.perf_counter()
        model = DQN("MlpPolicy", gym.make(ENV_ID), seed=seed, device="cpu", **ZOO_CARTPOLE)
        callback = GreedyEvalCallback(EVAL_EVERY, EVAL_EPISODES, seed + EVAL_SEED_OFFSET)
        model.learn(total_timesteps=total_steps, callback=callback)
        wall_time = time.perf_counter() - start
    return {
        "seed": seed,
        "eval_steps": callback.eval_steps,
        "eval_returns": callback.eval_returns,
        "wall_time": wall_time,
    }


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    reached = [
        s
        for r in runs
        if (s := steps_to_reach(r["eval_steps"], r["eval_returns"], THRESHOLD)) is not None
    ]
    finals = [r["eval_returns"][-1] for r in runs]
    return {
        "seeds": len(runs),
        "seeds_reaching": len(reached),
        "median_steps_to_threshold": statistics.median(reached) if reached else None,
        "final_eval_mean": statistics.mean(finals),
        "final_eval_std": statistics.pstdev(finals),
        "wall_time_mean": statistics.mean(r["wall_time"] for r in runs),
    }


def markdown_table(summaries: dict[str, dict[str, Any]]) -> str:
    lines = [
        f"| method | seeds reaching {THRESHOLD:g} | median steps to {THRESHOLD:g} "
        "| final evaluation (mean ± std) | wall time per run (mean) |",
        "|---|---|---|---|---|",
    ]
    for method, s in summaries.items():
        median = s["median_steps_to_threshold"]
        lines.append(
            f"| {method} | {s['seeds_reaching']}/{s['seeds']} "
            f"| {'—' if median is None else f'{median:,.0f}'} "
            f"| {s['final_eval_mean']:.1f} ± {s['final_eval_std']:.1f} "
            f"| {s['wall_time_mean']:.1f} s |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--steps", type=int, default=50_000)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    methods = {
        "metarl_lite DQN (default DQNConfig)": run_ours,
        f"SB3 {stable_baselines3.__version__} DQN (rl-zoo3 CartPole-v1)": run_sb3,
    }
    runs: dict[str, list[dict[str, Any]]] = {}
    for method, run in methods.items():
        runs[method] = []
        for seed in args.seeds:
            result = run(seed, args.steps)
            reach = steps_to_reach(result["eval_steps"], result["eval_returns"], THRESHOLD)
            print(
                f"{method}, seed {seed}: steps to {THRESHOLD:g} = {reach}, "
                f"final = {result['eval_returns'][-1]:.1f}, wall = {result['wall_time']:.1f} s",
                file=sys.stderr,
                flush=True,
            )
            runs[method].append(result)

    summaries = {method: summarize(r) for method, r in runs.items()}
    table = markdown_table(summaries)
    print(table)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "env_id": ENV_ID,
        "seeds": args.seeds,
        "total_steps": args.steps,
        "eval_every": EVAL_EVERY,
        "eval_episodes": EVAL_EPISODES,
        "threshold": THRESHOLD,
        "hyperparameters": {
            "metarl_lite": dataclasses.asdict(DQNConfig(total_steps=args.steps)),
            "sb3_rl_zoo3": ZOO_CARTPOLE,
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "gymnasium": gym.__version__,
            "stable_baselines3": stable_baselines3.__version__,
        },
        "summary": summaries,
        "runs": runs,
        "table": table,
    }
    args.out.write_text(json.dumps(record, indent=2) + "\n")


if __name__ == "__main__":
    main()
