"""Meta-DQN on held-out CartPoles: five ways to start and to update a DQN agent.

For each task family (CartPole with varied physics, and the same with the
action meaning flipped in half the tasks) and each seed, the script

1. meta-trains the three components on training tasks drawn from the seed:
   a Reptile start, a start pretrained on all tasks together, and the LSTM
   update rule (each on one CPU thread, process time recorded);
2. runs DQN on 5 held-out tasks (seed ``s`` takes test tasks ``5s .. 5s+4``,
   so 5 seeds cover 25 tasks) in five ways:

   ============== ==================== ==================
   method         start                 update
   ============== ==================== ==================
   scratch_adam   random (chapter 2)    Adam, tuned rate
   pretrain_adam  pretrained            Adam
   reptile_adam   Reptile               Adam
   scratch_lstm   random                LSTM rule
   reptile_lstm   Reptile               LSTM rule
   ============== ==================== ==================

Adam's learning rate for DQN from scratch is tuned per family on validation
tasks (never test tasks) from :data:`LR_GRID`, by the mean evaluation return
over the run. Runs from scratch get chapter 2's 50,000 steps; runs from a
learned start get half of that, with :data:`metarl_lite.meta_dqn.FINE_TUNE_DQN`.

Usage::

    python benchmarks/meta_dqn.py                      # both families, seeds 0-4
    python benchmarks/meta_dqn.py --families cartpole --seeds 0 --out /tmp/m.json

Prints a markdown table (steps to a mean greedy return of 475 and the area
under the curve), writes everything as JSON to ``--out`` and every component's
checkpoint to ``--models``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import json
import multiprocessing
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from metarl_lite import learned_opt
from metarl_lite import meta_dqn as md
from metarl_lite.dqn import DQNConfig

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/meta_dqn.json"
DEFAULT_MODELS = ROOT / "book/data/models/meta_dqn"

FAMILIES = md.FAMILY_IDS
SEEDS = (0, 1, 2, 3, 4)
TASKS_PER_SEED = 5
SCRATCH_STEPS = 50_000
START_STEPS = 25_000
THRESHOLD = 475.0
LR_GRID = (5e-4, 1.5e-3, 3e-3)
TUNING_TASKS = 5
METHODS: dict[str, str] = {
    "scratch_adam": "DQN from scratch, tuned Adam",
    "pretrain_adam": "pretrained on all tasks + Adam",
    "reptile_adam": "Reptile start + Adam",
    "scratch_lstm": "DQN from scratch, LSTM rule",
    "reptile_lstm": "Reptile start + LSTM rule",
}


def held_out(env_id: str, seed: int) -> Any:
    """The 5 held-out tasks of ``seed``: test tasks ``5 seed .. 5 seed + 4``."""
    family = md.check_family(env_id)
    tasks = family.test_tasks(TASKS_PER_SEED * (seed + 1))
    return md.select_tasks(tasks, slice(TASKS_PER_SEED * seed, None))


def steps_to(steps: np.ndarray, curve: np.ndarray, threshold: float = THRESHOLD) -> int | None:
    """First evaluation step at which ``curve`` reaches ``threshold`` (None: never)."""
    hits = np.flatnonzero(curve >= threshold)
    return int(steps[hits[0]]) if hits.size else None


def area(steps: np.ndarray, curve: np.ndarray, horizon: int = START_STEPS) -> float:
    """Mean return over evaluations at steps ``0 .. horizon`` (the area under the
    curve divided by its width, so that 500 means solved from the start)."""
    return float(curve[steps <= horizon].mean())


def tune_adam(env_id: str) -> dict[str, Any]:
    """Adam's rate for DQN from scratch, chosen on validation tasks."""
    family = md.check_family(env_id)
    tasks = family.sample_tasks(np.random.default_rng(md.VALIDATION_SEED), TUNING_TASKS)
    scores = {}
    for lr in LR_GRID:
        config = dataclasses.replace(md.CHAPTER_DQN, learning_rate=lr, total_steps=SCRATCH_STEPS)
        run = md.train_dqn_tasks(env_id, tasks, config)
        scores[lr] = float(run.eval_returns.mean())
        print(f"tune {env_id} lr={lr}: {scores[lr]:.1f}", file=sys.stderr, flush=True)
    best = max(scores, key=scores.get)
    return {"grid": list(LR_GRID), "scores": scores, "chosen": best}


def _timed(fn: Any, *args: Any) -> tuple[Any, float]:
    cpu = time.process_time()
    out = fn(*args)
    return out, time.process_time() - cpu


def run_unit(env_id: str, seed: int, lr: float, models: Path | None) -> dict[str, Any]:
    """Meta-train the three components with ``seed`` and run the five methods."""
    key = next(k for k, v in FAMILIES.items() if v == env_id)
    init_config = md.InitConfig(env_id=env_id, seed=seed)
    rule_config = md.RuleConfig(env_id=env_id, seed=seed)
    reptile, reptile_cpu = _timed(md.train_reptile, init_config)
    pretrain, pretrain_cpu = _timed(md.train_pretrained, init_config)
    rule, rule_cpu = _timed(md.train_update_rule, rule_config)
    if models is not None:
        models.mkdir(parents=True, exist_ok=True)
        torch.save(reptile.init, models / f"{key}_reptile_seed{seed}.pt")
        torch.save(pretrain.init, models / f"{key}_pretrain_seed{seed}.pt")
        learned_opt.save_rule(rule.rule, models / f"{key}_rule_seed{seed}.pt")
    tasks = held_out(env_id, seed)
    scratch = dataclasses.replace(
        md.CHAPTER_DQN, learning_rate=lr, total_steps=SCRATCH_STEPS, seed=seed
    )
    fine = dataclasses.replace(md.FINE_TUNE_DQN, total_steps=START_STEPS, seed=seed)
    setups: dict[str, tuple[DQNConfig, md.Params | None, learned_opt.LSTMRule | None]] = {
        "scratch_adam": (scratch, None, None),
        "pretrain_adam": (fine, pretrain.init, None),
        "reptile_adam": (fine, reptile.init, None),
        "scratch_lstm": (scratch, None, rule.rule),
        "reptile_lstm": (fine, reptile.init, rule.rule),
    }
    runs = {}
    for method, (config, init, update_rule) in setups.items():
        result, cpu = _timed(
            lambda c=config, i=init, r=update_rule: md.train_dqn_tasks(
                env_id, tasks, c, init=i, rule=r
            )
        )
        curve = result.eval_returns.mean(axis=1)
        runs[method] = {
            "eval_steps": result.eval_steps.tolist(),
            "eval_returns": result.eval_returns.round(2).tolist(),
            "steps_to_threshold": steps_to(result.eval_steps, curve),
            "task_steps_to_threshold": [
                steps_to(result.eval_steps, result.eval_returns[:, i])
                for i in range(result.eval_returns.shape[1])
            ],
            "area": area(result.eval_steps, curve),
            "process_seconds": cpu,
        }
        print(
            f"{key} seed={seed} {method}: steps to 475 {runs[method]['steps_to_threshold']}, "
            f"area {runs[method]['area']:.1f}, {cpu:.0f} s",
            file=sys.stderr,
            flush=True,
        )
    return {
        "family": key,
        "seed": seed,
        "meta_training": {
            "reptile": {
                "returns": reptile.returns,
                "env_steps": reptile.env_steps,
                "best_iteration": reptile.best_iteration,
                "process_seconds": reptile_cpu,
            },
            "pretrain": {
                "returns": pretrain.returns,
                "env_steps": pretrain.env_steps,
                "best_iteration": pretrain.best_iteration,
                "process_seconds": pretrain_cpu,
            },
            "rule": {
                "meta_losses": [round(x, 5) for x in rule.meta_losses],
                "process_seconds": rule_cpu,
            },
        },
        "runs": runs,
    }


def _run_job(job: tuple[str, int, float, Path | None]) -> dict[str, Any]:
    env_id, seed, lr, models = job
    print(f"{env_id} seed={seed}: start", file=sys.stderr, flush=True)
    return run_unit(env_id, seed, lr, models)


def _tune_job(env_id: str) -> tuple[str, dict[str, Any]]:
    return env_id, tune_adam(env_id)


def summarise(units: list[dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per family and method: steps to 475 per seed, their median, and the area."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for family in FAMILIES:
        mine = [u for u in units if u["family"] == family]
        if not mine:
            continue
        out[family] = {}
        for method in METHODS:
            steps = [u["runs"][method]["steps_to_threshold"] for u in mine]
            areas = [u["runs"][method]["area"] for u in mine]
            reached = [s for s in steps if s is not None]
            horizon = max(u["runs"][method]["eval_steps"][-1] for u in mine)
            # A seed that never reached 475 counts as beyond its horizon.
            censored = [s if s is not None else np.inf for s in steps]
            median = float(np.median(censored))
            out[family][method] = {
                "steps_to_threshold": steps,
                "seeds_reaching": len(reached),
                "median_steps": median if np.isfinite(median) else None,
                "horizon": horizon,
                "area_mean": float(np.mean(areas)),
                "area_std": float(np.std(areas)),
                "final_mean": float(
                    np.mean([np.mean(u["runs"][method]["eval_returns"][-1]) for u in mine])
                ),
            }
    return out


def table(summary: dict[str, dict[str, dict[str, Any]]]) -> str:
    """The markdown table the chapter prints."""
    lines = [
        "| family | method | steps to 475 (median of seeds) | seeds reaching | "
        "area, steps 0-25k (mean ± std) | final return |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for family, methods in summary.items():
        for method, row in methods.items():
            median = (
                f"{row['median_steps']:,.0f}"
                if row["median_steps"] is not None
                else f"> {row['horizon']:,}"
            )
            lines.append(
                f"| {family} | {METHODS[method]} | {median} | "
                f"{row['seeds_reaching']}/{len(row['steps_to_threshold'])} | "
                f"{row['area_mean']:.1f} ± {row['area_std']:.1f} | {row['final_mean']:.1f} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    env_ids = [FAMILIES[f] for f in args.families]
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        tuning = dict(pool.map(_tune_job, env_ids))
        jobs = [
            (env_id, seed, tuning[env_id]["chosen"], args.models)
            for seed in args.seeds
            for env_id in env_ids
        ]
        units: list[dict[str, Any]] = []
        # The report is rewritten after every unit, so that a long run can be followed.
        futures = [pool.submit(_run_job, job) for job in jobs]
        for future in concurrent.futures.as_completed(futures):
            units.append(future.result())
            write_report(args, tuning, units, start)
    report = write_report(args, tuning, units, start)
    print(report["table"])
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


def write_report(
    args: argparse.Namespace,
    tuning: dict[str, dict[str, Any]],
    units: list[dict[str, Any]],
    start: float,
) -> dict[str, Any]:
    """Write the JSON report of the units done so far; return it."""
    units = sorted(units, key=lambda u: (list(FAMILIES).index(u["family"]), u["seed"]))
    summary = summarise(units)
    report = {
        "families": {f: FAMILIES[f] for f in args.families},
        "methods": METHODS,
        "threshold": THRESHOLD,
        "tasks_per_seed": TASKS_PER_SEED,
        "scratch_steps": SCRATCH_STEPS,
        "start_steps": START_STEPS,
        "settings": {
            "chapter_dqn": dataclasses.asdict(md.CHAPTER_DQN),
            "fine_tune_dqn": dataclasses.asdict(md.FINE_TUNE_DQN),
            "init": dataclasses.asdict(md.InitConfig()),
            "rule": dataclasses.asdict(md.RuleConfig()),
        },
        "tuning": {f: tuning[FAMILIES[f]] for f in args.families},
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads_per_run": 1,
            "workers": args.workers,
            "total_seconds": time.perf_counter() - start,
        },
        "summary": summary,
        "table": table(summary),
        "units": units,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    return report


if __name__ == "__main__":
    raise SystemExit(main())
