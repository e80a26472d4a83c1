"""Steps per second of the chapter-4 vector environments against Gymnasium's CartPole.

The reference is Gymnasium's own ``CartPoleVectorEnv``: a numpy batch of
CartPoles, the fastest CartPole Gymnasium ships. Beside it, at the same
``num_envs``, run the three task families' vector forms (varied CartPole,
point navigation, Bernoulli bandits, each with one sampled task per
sub-environment) and, to show what batching buys, Gymnasium's
``SyncVectorEnv`` looping over single varied CartPoles (``gym.make_vec`` with
``vectorization_mode="sync"``, wrappers included, as a user would build it).

Actions are random, drawn before timing from a generator seeded alike for
every form (so the three CartPole forms see the same actions). Episodes run on
and reset themselves (next-step autoreset), so the cost of resets is counted.
Each measurement is the best of ``--repeats`` timed runs of enough vector steps
to last ``--min-time`` seconds, taking the forms in turn within each repeat so
that noise from other work on the machine spreads over all of them; compare
the ratios rather than the raw rates. Wall time and process (CPU) time are
both recorded.

Usage::

    python benchmarks/env_throughput.py                    # num_envs 1, 16, 256, 1024
    python benchmarks/env_throughput.py --sizes 1 64 --repeats 3 --out /tmp/t.json

Prints a markdown table on stdout (progress goes to stderr) and writes the
results as JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleVectorEnv
from gymnasium.vector import VectorEnv

from metarl_lite.envs import bernoulli_bandit, point_navigation, varied_cartpole

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/env_throughput.json"
REFERENCE = "Gymnasium CartPoleVectorEnv"
TASK_SEED = 0
ACTION_SEED = 1


def _with_tasks(env: VectorEnv, tasks: Any) -> VectorEnv:
    env.reset(seed=0, options={"tasks": tasks})
    return env


def _gymnasium_cartpole(num_envs: int, rng: np.random.Generator) -> VectorEnv:
    env = CartPoleVectorEnv(num_envs=num_envs)
    env.reset(seed=0)
    return env


def _varied_cartpole(num_envs: int, rng: np.random.Generator) -> VectorEnv:
    tasks = varied_cartpole.sample_tasks(rng, num_envs)
    return _with_tasks(varied_cartpole.VariedCartPoleVectorEnv(num_envs), tasks)


def _varied_cartpole_sync(num_envs: int, rng: np.random.Generator) -> VectorEnv:
    tasks = varied_cartpole.sample_tasks(rng, num_envs)
    env = gym.make_vec(
        varied_cartpole.VARIED_CARTPOLE_ID, num_envs=num_envs, vectorization_mode="sync"
    )
    env.reset(seed=0)
    for i, sub_env in enumerate(env.envs):
        sub_env.reset(options=tasks.task(i))
    return env


def _point_navigation(num_envs: int, rng: np.random.Generator) -> VectorEnv:
    tasks = point_navigation.sample_tasks(rng, num_envs)
    return _with_tasks(point_navigation.PointNavigationVectorEnv(num_envs), tasks)


def _bernoulli_bandit(num_envs: int, rng: np.random.Generator) -> VectorEnv:
    tasks = bernoulli_bandit.sample_tasks(rng, num_envs)
    return _with_tasks(bernoulli_bandit.BernoulliBanditVectorEnv(num_envs), tasks)


#: Each vector form, built for ``num_envs`` sub-environments with tasks drawn from
#: the generator. The first is the reference.
FORMS: dict[str, Callable[[int, np.random.Generator], VectorEnv]] = {
    REFERENCE: _gymnasium_cartpole,
    "VariedCartPoleVectorEnv": _varied_cartpole,
    "SyncVectorEnv of VariedCartPoleEnv": _varied_cartpole_sync,
    "PointNavigationVectorEnv": _point_navigation,
    "BernoulliBanditVectorEnv": _bernoulli_bandit,
}


def random_actions(
    space: spaces.Space, n_steps: int, num_envs: int, rng: np.random.Generator
) -> np.ndarray:
    """Random actions for ``n_steps`` vector steps, shape ``(n_steps, num_envs, *space.shape)``.

    Args:
        space: the single (per sub-environment) action space, ``Discrete`` or ``Box``.
    """
    if isinstance(space, spaces.Discrete):
        low = int(space.start)
        return rng.integers(low, low + int(space.n), size=(n_steps, num_envs), dtype=np.int64)
    if isinstance(space, spaces.Box):
        shape = (n_steps, num_envs, *space.shape)
        return rng.uniform(space.low, space.high, size=shape).astype(space.dtype)
    raise ValueError(f"space={space!r} is not allowed: only Discrete and Box actions")


def _run(env: VectorEnv, actions: np.ndarray) -> tuple[float, float]:
    """Wall and CPU seconds to step ``env`` through ``actions``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for action in actions:
        env.step(action)
    return time.perf_counter() - wall, time.process_time() - cpu


def _steps_for(env: VectorEnv, num_envs: int, min_time: float, rng: np.random.Generator) -> int:
    """Vector steps that take about ``min_time`` seconds (at least 10)."""
    n = 10
    while True:
        wall, _ = _run(env, random_actions(env.single_action_space, n, num_envs, rng))
        if wall >= min_time / 10 or n >= 1_000_000:
            return max(10, math.ceil(n * min_time / max(wall, 1e-9)))
        n *= 4


def measure(
    forms: dict[str, Callable[[int, np.random.Generator], VectorEnv]],
    sizes: Sequence[int],
    *,
    repeats: int = 5,
    min_time: float = 0.2,
    progress: bool = False,
) -> list[dict[str, Any]]:
    """Environment steps per second of each form at each size.

    Args:
        forms: name -> factory ``(num_envs, rng) -> VectorEnv``; the first is
            the reference that ratios are taken to.
        sizes: the values of ``num_envs``.
        repeats: timed runs per form and size; the best counts.
        min_time: seconds each timed run should last, about.
        progress: print a line per size on stderr.

    Returns:
        One record per form and size: ``form``, ``num_envs``, ``vector_steps``
        (per timed run), ``wall_s`` and ``cpu_s`` (lists, one per repeat),
        ``steps_per_s`` and ``steps_per_s_cpu`` (environment steps per second,
        best repeat) and ``ratio`` / ``ratio_cpu`` (to the reference at the
        same size).
    """
    reference = next(iter(forms))
    records = []
    for num_envs in sizes:
        envs, actions, rows = {}, {}, {}
        for name, make in forms.items():
            env = make(num_envs, np.random.default_rng(TASK_SEED))
            n_steps = _steps_for(env, num_envs, min_time, np.random.default_rng(ACTION_SEED))
            envs[name] = env
            actions[name] = random_actions(
                env.single_action_space, n_steps, num_envs, np.random.default_rng(ACTION_SEED)
            )
            rows[name] = {
                "form": name,
                "num_envs": num_envs,
                "vector_steps": n_steps,
                "wall_s": [],
                "cpu_s": [],
            }
        for _ in range(repeats):
            for name, env in envs.items():
                wall, cpu = _run(env, actions[name])
                rows[name]["wall_s"].append(wall)
                rows[name]["cpu_s"].append(cpu)
        for row in rows.values():
            env_steps = row["vector_steps"] * num_envs
            row["steps_per_s"] = env_steps / min(row["wall_s"])
            row["steps_per_s_cpu"] = env_steps / max(min(row["cpu_s"]), 1e-9)
        for row in rows.values():
            row["ratio"] = row["steps_per_s"] / rows[reference]["steps_per_s"]
            row["ratio_cpu"] = row["steps_per_s_cpu"] / rows[reference]["steps_per_s_cpu"]
            records.append(row)
        for env in envs.values():
            env.close()
        if progress:
            best = ", ".join(f"{r['form']}: {r['steps_per_s']:,.0f}/s" for r in rows.values())
            print(f"num_envs={num_envs}: {best}", file=sys.stderr, flush=True)
    return records


def markdown_table(records: list[dict[str, Any]], repeats: int) -> str:
    """One row per size and form: steps per second (wall, CPU) and ratios to the reference."""
    lines = [
        f"| num_envs | vector form | env steps/s (wall, best of {repeats}) "
        f"| ratio to {REFERENCE} | env steps/s (CPU time) | ratio (CPU time) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for r in records:
        lines.append(
            f"| {r['num_envs']} | {r['form']} | {r['steps_per_s']:,.0f} | {r['ratio']:.2f} "
            f"| {r['steps_per_s_cpu']:,.0f} | {r['ratio_cpu']:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 16, 256, 1024])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--min-time", type=float, default=0.2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    start = time.perf_counter()
    records = measure(
        FORMS, args.sizes, repeats=args.repeats, min_time=args.min_time, progress=True
    )
    total = time.perf_counter() - start
    table = markdown_table(records, args.repeats)
    print(table)
    report = {
        "reference": REFERENCE,
        "sizes": args.sizes,
        "repeats": args.repeats,
        "min_time": args.min_time,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "numpy": np.__version__,
            "gymnasium": gym.__version__,
            "cpu_count": os.cpu_count(),
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "total_seconds": total,
        },
        "table": table,
        "results": records,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n")
    print(f"\nwrote {args.out} in {total:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
