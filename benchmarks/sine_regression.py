"""Sine regression: MAML, first-order MAML and Reptile against three baselines.

Every method meta-trains (or trains) on tasks drawn from its seed, then is
tested on the same :data:`~metarl_lite.meta.TEST_TASKS` held-out tasks: from its
parameters, plain gradient descent on each task's K shots, the query MSE after
0, 1, ..., 10 steps. The meta-learners fine-tune with the step size they were
meta-trained with; the baselines (pretrain, parameter averaging, from
scratch) with the step size that does best on validation tasks, chosen by
:func:`metarl_lite.meta.tune_inner_lr`. Runs go one after the other on one
CPU thread, so their wall times compare.

Usage::

    python benchmarks/sine_regression.py               # K = 10 and 5, seeds 0-2
    python benchmarks/sine_regression.py --seeds 0 --k 10 --out /tmp/sine.json

Prints a markdown table on stdout, beside the published anchors (progress goes
to stderr), writes the results and the table as JSON to ``--out`` and the seed-0 networks to
``--models`` (the chapter draws their fits).
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

import torch

from metarl_lite import meta

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/sine_regression.json"
DEFAULT_MODELS = ROOT / "book/data/models/sine"
ADAPT_STEPS = 10

#: Settings of each method besides K and the seed (the rest are MetaConfig's
#: defaults, which are MAML's settings).
SETTINGS: dict[str, dict[str, Any]] = {
    "maml": {},
    "fomaml": {"method": "fomaml"},
    "reptile": {"method": "reptile", "inner_steps": 5, "inner_lr": 0.02},
    "pretrain": {"method": "pretrain"},
    "average": {"method": "average", "n_tasks": 1000},
    "scratch": {"method": "scratch"},
}
#: Methods whose fine-tuning step size is tuned on validation tasks.
TUNED = ("pretrain", "average", "scratch")

#: Published figures printed beside ours: (source, K, steps) -> MSE.
ANCHORS: list[dict[str, Any]] = [
    {
        "source": "public Reptile reference, ~2 min on a 2-core CPU",
        "k": 10,
        "steps": 1,
        "mse": 0.62,
    },
    {
        "source": "public Reptile reference, ~2 min on a 2-core CPU",
        "k": 10,
        "steps": 10,
        "mse": 0.10,
    },
    {"source": "MAML, as reported by Li et al. (2017)", "k": 5, "steps": 1, "mse": 1.13},
    {"source": "Meta-SGD, Li et al. (2017)", "k": 5, "steps": 1, "mse": 0.90},
]


def run_one(method: str, k_shots: int, seed: int, models_dir: Path | None) -> dict[str, Any]:
    """Train one method on one seed and test it on the held-out tasks."""
    config = meta.MetaConfig(k_shots=k_shots, seed=seed, **SETTINGS[method])
    result = meta.train_meta(config, progress=True)
    inner_lr = meta.tune_inner_lr(result.model, k_shots) if method in TUNED else config.inner_lr
    errors = meta.adaptation_curve(
        result.model, meta.meta_test_set(k_shots), inner_lr, ADAPT_STEPS
    )
    if models_dir is not None and seed == 0:
        models_dir.mkdir(parents=True, exist_ok=True)
        torch.save(result.model.state_dict(), models_dir / f"{method}_k{k_shots}_seed{seed}.pt")
    n_tasks = errors.shape[1]
    return {
        "method": method,
        "k_shots": k_shots,
        "seed": seed,
        "config": dataclasses.asdict(config),
        "inner_lr": inner_lr,
        "mse": errors.mean(dim=1).tolist(),
        "mse_se": (errors.std(dim=1) / n_tasks**0.5).tolist(),
        "wall_time": result.history.wall_time,
        "history": {"steps": result.history.steps, "losses": result.history.losses},
    }


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def table(runs: list[dict[str, Any]]) -> str:
    """Markdown table: MSE after 0, 1 and 10 steps per method and K (mean ± std over seeds)."""
    lines = [
        "| method | K | step size | MSE, 0 steps | MSE, 1 step | MSE, 10 steps | training time |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    order = list(SETTINGS)
    keys = sorted(
        {(r["k_shots"], r["method"]) for r in runs}, key=lambda km: (-km[0], order.index(km[1]))
    )
    for k, method in keys:
        rs = [r for r in runs if r["k_shots"] == k and r["method"] == method]
        lrs = sorted({r["inner_lr"] for r in rs})
        times = [r["wall_time"] for r in rs]
        lines.append(
            f"| {meta.METHOD_NAMES[method]} | {k} | {'/'.join(f'{v:g}' for v in lrs)} "
            f"| {_cell([r['mse'][0] for r in rs])} | {_cell([r['mse'][1] for r in rs])} "
            f"| {_cell([r['mse'][ADAPT_STEPS] for r in rs])} "
            f"| {statistics.mean(times):.1f} s |"
        )
    lines += ["", "| published anchor | K | steps | MSE |", "|---|---:|---:|---:|"]
    lines += [f"| {a['source']} | {a['k']} | {a['steps']} | {a['mse']} |" for a in ANCHORS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--k", type=int, nargs="+", default=[10, 5])
    parser.add_argument("--methods", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args(argv)
    runs = []
    start = time.perf_counter()
    for k in args.k:
        for method in args.methods:
            for seed in args.seeds:
                print(f"{method} K={k} seed={seed}", file=sys.stderr, flush=True)
                runs.append(run_one(method, k, seed, args.models))
    report = {
        "test": {
            "tasks": meta.TEST_TASKS,
            "query_points": meta.TEST_QUERY,
            "seed": meta.TEST_SEED,
        },
        "adapt_steps": ADAPT_STEPS,
        "settings": SETTINGS,
        "anchors": ANCHORS,
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads": 1,
            "total_seconds": time.perf_counter() - start,
        },
        "table": table(runs),
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(table(runs))
    print(f"\nwrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
