"""2D navigation: MAML, first-order MAML, a policy pretrained on all goals, and a random one.

Every method trains on goals drawn from its seed, then is tested on the same
:data:`~metarl_lite.maml_rl.TEST_TASKS` held-out goals
(``point_navigation.test_tasks``), with the same exploration noise: from its
parameters, each goal's policy takes 0, 1, 2 and 3 policy-gradient steps of the
inner loop, each on 20 fresh trajectories, and the mean return of the
trajectories after each step is recorded. MAML and first-order MAML fine-tune
with the step size they were meta-trained with; the pretrained and the random
policy with the step size that does best after one step on validation goals
(:func:`metarl_lite.maml_rl.tune_inner_lr`). As in Finn et al.'s evaluation,
the steps after the first use half the first step size; the JSON also keeps the
returns with a constant step size. Runs go one after the other on one
CPU thread, so their times compare (but the machine may be shared: the JSON
keeps wall and process times).

Usage::

    python benchmarks/maml_navigation.py                 # seeds 0-2, every method
    python benchmarks/maml_navigation.py --seeds 0 --methods maml --out /tmp/nav.json

Prints a markdown table on stdout beside the published figures (progress goes to
stderr), writes the results and the table as JSON to ``--out`` and the seed-0
policies to ``--models`` (the chapter draws their paths).

The module also holds :func:`sweep_curve`, the short run behind the chapter's widget.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

from metarl_lite import maml_rl
from metarl_lite.envs import point_navigation as nav

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/maml_navigation.json"
DEFAULT_MODELS = ROOT / "book/data/models/maml_rl"
ADAPT_STEPS = 3
#: Fine-tuning steps after the first use this fraction of the first step size, as
#: in Finn et al.'s evaluation ("halving the learning rate after the first gradient
#: step"); ``returns_constant_lr`` keeps the first step size throughout.
LATER_LR_FACTOR = 0.5

#: Settings of each method besides the seed (the rest are MamlRLConfig's defaults).
SETTINGS: dict[str, dict[str, Any]] = {
    "maml": {},
    "fomaml": {"first_order": True},
    "pretrain": {},
    "random": {"iterations": 0},
}
METHOD_NAMES: dict[str, str] = {
    "maml": "MAML",
    "fomaml": "first-order MAML",
    "pretrain": "pretrained on all goals + fine-tuning",
    "random": "random initialisation + fine-tuning",
}
#: Methods whose fine-tuning step size is tuned on validation goals.
TUNED = ("pretrain", "random")

#: Published figures printed beside ours: mean return on held-out goals after
#: ``steps`` inner steps. Finn et al. (2017), appendix C.2, table 4 (their own MAML,
#: evaluated with the step size halved after the first step); Li et al. (2017),
#: the 2D navigation with a fixed start, one step.
ANCHORS: list[dict[str, Any]] = [
    {"source": "MAML, Finn et al. (2017), table 4", "steps": 0, "return": -40.41},
    {"source": "MAML, Finn et al. (2017), table 4", "steps": 1, "return": -11.68},
    {"source": "MAML, Finn et al. (2017), table 4", "steps": 2, "return": -3.33},
    {"source": "MAML, Finn et al. (2017), table 4", "steps": 3, "return": -3.23},
    {"source": "MAML, as reported by Li et al. (2017)", "steps": 1, "return": -9.12},
    {"source": "Meta-SGD, Li et al. (2017)", "steps": 1, "return": -8.64},
]


def train(method: str, config: maml_rl.MamlRLConfig) -> maml_rl.MamlRLResult:
    """Train ``method`` (random: no training) with ``config``."""
    if method == "pretrain":
        return maml_rl.train_pretrained(config, progress=True)
    if method == "random":
        return maml_rl.MamlRLResult(
            maml_rl.random_policy(config), maml_rl.MamlRLHistory(config=dataclasses.asdict(config))
        )
    return maml_rl.train_maml_rl(config, progress=True)


def run_one(method: str, seed: int, models_dir: Path | None) -> dict[str, Any]:
    """Train one method on one seed and test it on the held-out goals."""
    config = maml_rl.MamlRLConfig(seed=seed, **SETTINGS[method])
    result = train(method, config)
    policy = result.policy
    inner_lr = maml_rl.tune_inner_lr(policy) if method in TUNED else config.inner_lr
    tasks = nav.test_tasks(maml_rl.TEST_TASKS)
    evaluate = functools.partial(
        maml_rl.task_returns,
        policy,
        tasks,
        inner_lr,
        ADAPT_STEPS,
        config.inner_trajectories,
        config.gamma,
    )
    returns = evaluate(later_lr=inner_lr * LATER_LR_FACTOR)
    constant = evaluate()
    if models_dir is not None and seed == 0:
        models_dir.mkdir(parents=True, exist_ok=True)
        torch.save(policy.state_dict(), models_dir / f"{method}_seed{seed}.pt")
    history = result.history
    n_tasks = returns.shape[1]
    return {
        "method": method,
        "seed": seed,
        "config": dataclasses.asdict(config),
        "inner_lr": inner_lr,
        "returns": returns.mean(dim=1).tolist(),
        "returns_se": (returns.std(dim=1) / n_tasks**0.5).tolist(),
        "returns_constant_lr": constant.mean(dim=1).tolist(),
        "env_steps": history.env_steps[-1] if history.env_steps else 0,
        "wall_time": history.wall_time,
        "process_time": history.process_time,
        "history": history.to_dict(),
    }


# ---------------------------------------------------------------------------
# The chapter's widget: a short meta-training per grid point
# ---------------------------------------------------------------------------

#: The grid of the widget (the sweep's spec lives in metarl_lite.sweeps).
SWEEP_GRID: dict[str, tuple[Any, ...]] = {
    "inner_lr": (0.05, 0.1, 0.2),
    "inner_steps": (1, 2, 3),
}
#: The short budget of a sweep point: fewer iterations and tasks than the benchmark.
SWEEP_SETTINGS: dict[str, Any] = {"iterations": 80, "meta_batch": 10}
#: Held-out goals of a sweep point (the first of the benchmark's).
SWEEP_TEST_TASKS = 100


def sweep_config(params: dict[str, Any], seed: int) -> maml_rl.MamlRLConfig:
    """The configuration of a sweep point: the benchmark's MAML with the point's
    ``inner_lr`` and ``inner_steps`` and :data:`SWEEP_SETTINGS`."""
    if set(params) != set(SWEEP_GRID):
        raise ValueError(f"params={params!r} is not allowed: give exactly {sorted(SWEEP_GRID)}")
    for name, allowed in SWEEP_GRID.items():
        if params[name] not in allowed:
            options = ", ".join(repr(a) for a in allowed)
            raise ValueError(f"{name}={params[name]!r} is not allowed: choose one of {options}")
    return maml_rl.MamlRLConfig(seed=seed, **SWEEP_SETTINGS, **params)


def sweep_curve(params: dict[str, Any], seed: int) -> tuple[list[int], list[float]]:
    """Mean held-out return after 0 to 3 inner steps (``x``, ``y``) after a short
    meta-training with ``params`` (``inner_lr`` and ``inner_steps`` from
    :data:`SWEEP_GRID`); deterministic in ``(params, seed)``.

    Meta-testing takes every step with the point's ``inner_lr`` (no halving), as
    meta-training does, so the curves show what meta-training with 1, 2 or 3
    inner steps prepares for. A point takes 17 s (1 inner step) to 33 s (3) of
    CPU time on one thread."""
    config = sweep_config(params, seed)
    policy = maml_rl.train_maml_rl(config).policy
    returns = maml_rl.adaptation_returns(
        policy,
        nav.test_tasks(SWEEP_TEST_TASKS),
        config.inner_lr,
        ADAPT_STEPS,
        config.inner_trajectories,
        config.gamma,
    )
    return list(range(ADAPT_STEPS + 1)), returns.tolist()


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def table(runs: list[dict[str, Any]]) -> str:
    """Markdown table: held-out return after 0 to 3 steps (mean ± std over seeds);
    the step size after the first is halved, except in the constant-step column."""
    lines = [
        "| method | step size | return, 0 steps | 1 step | 2 steps | 3 steps "
        "| 3 steps, constant step size | env steps (millions) | training time (wall / CPU) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for method in SETTINGS:
        rs = [r for r in runs if r["method"] == method]
        if not rs:
            continue
        lrs = sorted({r["inner_lr"] for r in rs})
        cells = " | ".join(_cell([r["returns"][s] for r in rs]) for s in range(ADAPT_STEPS + 1))
        cells += " | " + _cell([r["returns_constant_lr"][ADAPT_STEPS] for r in rs])
        steps = statistics.mean(r["env_steps"] for r in rs) / 1e6
        wall = statistics.mean(r["wall_time"] for r in rs)
        cpu = statistics.mean(r["process_time"] for r in rs)
        lines.append(
            f"| {METHOD_NAMES[method]} | {'/'.join(f'{v:g}' for v in lrs)} | {cells} "
            f"| {steps:.1f} | {wall:.0f} s / {cpu:.0f} s |"
        )
    lines += ["", "| published figure | steps | return |", "|---|---:|---:|"]
    lines += [f"| {a['source']} | {a['steps']} | {a['return']} |" for a in ANCHORS]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--methods", nargs="+", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args(argv)
    runs = []
    start = time.perf_counter()
    for method in args.methods:
        for seed in args.seeds:
            print(f"{method} seed={seed}", file=sys.stderr, flush=True)
            runs.append(run_one(method, seed, args.models))
    report = {
        "test": {
            "tasks": maml_rl.TEST_TASKS,
            "seed": nav.TEST_SEED,
            "noise_seed": maml_rl.EVAL_SEED,
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
