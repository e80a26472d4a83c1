"""RL^2 recommender against LinUCB, linear Thompson sampling and discounted LinUCB (chapter 6.3).

RL^2 (:func:`metarl_lite.recommend.train_recommender`) meta-trains on users of
:mod:`metarl_lite.envs.drifting_users` whose preference shifts at a step drawn
from 25-75, for each seed in :data:`SEEDS`. Every method then plays the first
:data:`N_TEST` held-out users of ``test_tasks(N_TEST, shift_at=SHIFT_AT)`` (the
shift in the middle of the 100-step session), each with a fresh
``default_rng([PLAY_SEED, N_TEST])`` whose first draw is the click table
(common random numbers). The classic methods use the constants of
``recommend.TUNED``, tuned on training users.

Usage::

    python benchmarks/recommendation.py                 # seeds 0-2, two processes
    python benchmarks/recommendation.py --seeds 0 --out /tmp/rec.json --models /tmp/rec

Prints the table (progress to stderr), writes the runs, curves and table as JSON
to ``--out`` and every seed's network to ``--models``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import math
import multiprocessing
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metarl_lite import recommend
from metarl_lite.envs import drifting_users

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/recommendation.json"
DEFAULT_MODELS = ROOT / "book/data/models/recommend"
#: Held-out users, the step of their shift and the seed of the click tables.
N_TEST = 2000
SHIFT_AT = 50
STEPS = drifting_users.N_STEPS
PLAY_SEED = 0
SEEDS: tuple[int, ...] = (0, 1, 2)
#: RL^2's settings besides the seed (the rest are RecommenderConfig's defaults).
SETTINGS: dict[str, Any] = {}
#: Digits kept in the stored curves.
DIGITS = 4


def config_for(seed: int) -> recommend.RecommenderConfig:
    """The benchmark's configuration for ``seed``."""
    return recommend.RecommenderConfig(seed=seed, **SETTINGS)


def model_path(models_dir: Path, seed: int) -> Path:
    """Where the network of seed ``seed`` is stored."""
    return models_dir / f"rl2_recommender_seed{seed}.pt"


def test_users() -> drifting_users.UserTasks:
    """The held-out users of the benchmark."""
    return drifting_users.test_tasks(N_TEST, shift_at=SHIFT_AT)


test_users.__test__ = False  # type: ignore[attr-defined]  # not a pytest test


def play_rng() -> np.random.Generator:
    """A fresh generator for one method's sessions (the same for every method)."""
    return np.random.default_rng([PLAY_SEED, N_TEST])


def summary(regret: np.ndarray) -> dict[str, float]:
    """Mean and standard error over users of the cumulative regret before the shift
    (steps 1-50), after it (51-100) and over the session, from regret ``(B, n)``."""
    parts = {
        "before": regret[:, :SHIFT_AT].sum(axis=1),
        "after": regret[:, SHIFT_AT:].sum(axis=1),
        "total": regret.sum(axis=1),
    }
    out = {}
    for name, values in parts.items():
        out[name] = float(values.mean())
        out[f"{name}_se"] = float(values.std(ddof=1) / math.sqrt(values.size))
    return out


def curve(regret: np.ndarray) -> list[float]:
    """Mean regret per step over users, shape ``(n,)``, rounded to :data:`DIGITS`."""
    return [round(float(v), DIGITS) for v in regret.mean(axis=0)]


def oracle_clicks() -> float:
    """Mean clicks per session of the oracle on the held-out users (expected)."""
    users = test_users()
    means = drifting_users.session_means(users, drifting_users.catalogue(), STEPS)
    return round(float(means.max(axis=2).sum(axis=1).mean()), DIGITS)


def baseline_regrets() -> dict[str, np.ndarray]:
    """Per-user, per-step regret ``(N_TEST, n)`` of every classic method."""
    users = test_users()
    return {a: recommend.play(a, users, STEPS, play_rng()).regret for a in recommend.ALGORITHMS}


def rl2_regret(model: torch.nn.Module, *, greedy: bool = False) -> np.ndarray:
    """Per-user, per-step regret of a trained RL^2 recommender on the held-out users."""
    return recommend.evaluate_rl2(model, test_users(), STEPS, play_rng(), greedy=greedy).regret


def run_one(seed: int, models_dir: Path | None) -> dict[str, Any]:
    """Train RL^2 with one seed and play the held-out users."""
    config = config_for(seed)
    started = time.process_time()
    wall, cpu = time.perf_counter(), time.process_time()
    result = recommend.train_recommender(config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if models_dir is not None:
        models_dir.mkdir(parents=True, exist_ok=True)
        torch.save(result.model.state_dict(), model_path(models_dir, seed))
    regret = rl2_regret(result.model)
    baselines = baseline_regrets()
    paired = {a: summary(regret - baselines[a]) for a in ("linucb", "lin_ts", "d_linucb")}
    history = result.history
    return {
        "seed": seed,
        "config": dataclasses.asdict(config),
        "env_steps": history.episode_steps[-1] if history.episode_steps else 0,
        "train_wall_seconds": wall,
        "train_process_seconds": cpu,
        "process_seconds": time.process_time() - started,
        "summary": summary(regret),
        "paired": paired,
        "curve": curve(regret),
        "history": {"steps": history.episode_steps, "returns": history.episode_returns},
    }


def _pm(mean: float, se: float) -> str:
    return f"{mean:.2f} ± {se:.2f}"


def table(runs: list[dict[str, Any]], baselines: dict[str, dict[str, float]]) -> str:
    """Markdown: cumulative regret per method before, after the shift and in all
    (mean ± standard error over the held-out users; RL^2 also per seed and as the
    mean and spread over seeds), then RL^2 minus each classic method, paired."""
    lines = [
        f"| method | regret, steps 1-{SHIFT_AT} | regret, steps {SHIFT_AT + 1}-{STEPS} "
        f"| regret, whole session | per step before | per step after |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    rows = [(recommend.ALGORITHM_NAMES[a], baselines[a]) for a in recommend.ALGORITHMS]
    rows += [(f"RL^2, seed {r['seed']}", r["summary"]) for r in runs]
    for name, s in rows:
        lines.append(
            f"| {name} | {_pm(s['before'], s['before_se'])} | {_pm(s['after'], s['after_se'])} "
            f"| {_pm(s['total'], s['total_se'])} | {s['before'] / SHIFT_AT:.3f} "
            f"| {s['after'] / (STEPS - SHIFT_AT):.3f} |"
        )
    if runs:
        spread = {
            part: np.array([r["summary"][part] for r in runs])
            for part in ("before", "after", "total")
        }
        cells = [f"{v.mean():.2f} (range {v.min():.2f}-{v.max():.2f})" for v in spread.values()]
        lines.append(
            f"| RL^2, mean of {len(runs)} seeds | "
            + " | ".join(cells)
            + f" | {spread['before'].mean() / SHIFT_AT:.3f} "
            f"| {spread['after'].mean() / (STEPS - SHIFT_AT):.3f} |"
        )
    lines += [
        "",
        "| seed | RL^2 − LinUCB (before / after / all) | RL^2 − Thompson | "
        "RL^2 − discounted LinUCB | env steps | train CPU |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for r in runs:
        cells = []
        for a in ("linucb", "lin_ts", "d_linucb"):
            p = r["paired"][a]
            cells.append(
                f"{p['before']:+.2f} / {p['after']:+.2f} / {p['total']:+.2f} ± {p['total_se']:.2f}"
            )
        lines.append(
            f"| {r['seed']} | "
            + " | ".join(cells)
            + f" | {r['env_steps']:,} | {r['train_process_seconds']:.0f} s |"
        )
    return "\n".join(lines)


def _run_job(job: tuple[int, Path | None]) -> dict[str, Any]:
    seed, models_dir = job
    print(f"RL^2 recommender seed={seed}: start", file=sys.stderr, flush=True)
    run = run_one(seed, models_dir)
    print(
        f"RL^2 recommender seed={seed}: regret {run['summary']['total']:.2f} "
        f"in {run['train_process_seconds']:.0f} s CPU",
        file=sys.stderr,
        flush=True,
    )
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args(argv)
    start, cpu = time.perf_counter(), time.process_time()
    context = multiprocessing.get_context("spawn")
    jobs = [(seed, args.models) for seed in args.seeds]
    with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        runs = sorted(pool.map(_run_job, jobs), key=lambda r: r["seed"])
    regrets = baseline_regrets()
    baselines = {a: summary(r) for a, r in regrets.items()}
    report = {
        "test": {
            "users": N_TEST,
            "shift_at": SHIFT_AT,
            "steps": STEPS,
            "play_seed": PLAY_SEED,
        },
        "hyperparameters": recommend.TUNED,
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads_per_run": 1,
            "workers": args.workers,
            "total_seconds": time.perf_counter() - start,
            "total_process_seconds": time.process_time()
            - cpu
            + sum(r["process_seconds"] for r in runs),
        },
        "oracle_clicks": oracle_clicks(),
        "baselines": baselines,
        "baseline_curves": {a: curve(r) for a, r in regrets.items()},
        "table": table(runs, baselines),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(report["table"])
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
