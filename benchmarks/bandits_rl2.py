"""RL^2 on Bernoulli bandits against the classic bandit algorithms (Duan et al., 2016, table 1).

For each setting ``(n, k)`` of the paper's table, RL^2 meta-trains on bandits
drawn from its seed (:func:`metarl_lite.rl2.train_rl2`), then plays the first
:data:`N_TEST` held-out bandits of ``test_tasks(N_TEST, k)``; every algorithm of
:mod:`metarl_lite.bandits` plays the same bandits with the same reward table
(common random numbers: each is given a fresh ``default_rng([PLAY_SEED, n, k])``,
whose first draw is the table of uniforms that decides every pull), so
differences between methods are measured per bandit, with less noise.

Usage::

    python benchmarks/bandits_rl2.py                        # 4 settings, seeds 0-2
    python benchmarks/bandits_rl2.py --cells 10,5 --seeds 0 --out /tmp/rl2.json

Runs go to ``--workers`` processes (one torch thread each). Prints the table
beside the paper's on stdout (progress goes to stderr), writes every run and the
table as JSON to ``--out`` and the seed-0 networks to ``--models``.
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

from metarl_lite import bandits, rl2
from metarl_lite.envs.bernoulli_bandit import test_tasks

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "book/data/benchmarks/bandits_rl2.json"
DEFAULT_MODELS = ROOT / "book/data/models/rl2"
#: Held-out bandits per setting (the paper used 1000; more give smaller errors).
N_TEST = 10_000
#: Seed of the reward tables: ``default_rng([PLAY_SEED, n, k])``, as in ``bandits.table``.
PLAY_SEED = 0
SEEDS: tuple[int, ...] = (0, 1, 2)
CELLS: tuple[tuple[int, int], ...] = bandits.PAPER_CELLS
#: Duan et al. (2016), table 1, the RL^2 column.
PAPER_RL2: dict[tuple[int, int], float] = {
    (10, 5): 6.7,
    (10, 10): 6.7,
    (100, 5): 78.7,
    (100, 10): 83.5,
}
#: Settings per ``(n, k)`` besides arms, pulls and seed (the rest are RL2Config's defaults).
SETTINGS: dict[tuple[int, int], dict[str, Any]] = {
    (10, 5): {"batch": 500, "updates": 300},
    (10, 10): {"batch": 500, "updates": 300},
    (100, 5): {},
    (100, 10): {},
}
#: The targets at n = 100: RL^2 (sampled actions) at least UCB1 and at least this
#: share of the Gittins index policy, both measured here on the same bandits.
GITTINS_SHARE = 0.99


def config_for(n: int, k: int, seed: int) -> rl2.RL2Config:
    """The benchmark's configuration of setting ``(n, k)`` and ``seed``."""
    return rl2.RL2Config(arms=k, pulls=n, seed=seed, **SETTINGS[(n, k)])


def model_path(models_dir: Path, n: int, k: int, seed: int) -> Path:
    """Where the network of one run is stored."""
    return models_dir / f"rl2_n{n}_k{k}_seed{seed}.pt"


def summary(totals: np.ndarray) -> dict[str, float]:
    """Mean and standard error of per-bandit totals, shape ``(B,)``."""
    return {
        "mean": float(totals.mean()),
        "se": float(totals.std(ddof=1) / math.sqrt(totals.size)),
    }


def play_rl2(model: rl2.GRUPolicy, n: int, k: int, *, greedy: bool) -> np.ndarray:
    """Total reward of the trained policy on each held-out bandit, shape ``(N_TEST,)``."""
    means = test_tasks(N_TEST, k).means
    rng = np.random.default_rng([PLAY_SEED, n, k])
    return rl2.evaluate(model, means, rng, n, greedy=greedy).totals


def baseline_totals(n: int, k: int) -> dict[str, np.ndarray]:
    """Total reward of every algorithm of ``bandits`` on each held-out bandit."""
    means = test_tasks(N_TEST, k).means
    return {
        algorithm: bandits.held_out_totals(algorithm, means, n, seed=PLAY_SEED)
        for algorithm in bandits.ALGORITHMS
    }


def run_one(n: int, k: int, seed: int, models_dir: Path | None) -> dict[str, Any]:
    """Train RL^2 for one setting and seed, and play the held-out bandits."""
    config = config_for(n, k, seed)
    wall, cpu = time.perf_counter(), time.process_time()
    result = rl2.train_rl2(config)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    sampled = play_rl2(result.model, n, k, greedy=False)
    greedy = play_rl2(result.model, n, k, greedy=True)
    baselines = baseline_totals(n, k)
    if models_dir is not None and seed == 0:
        models_dir.mkdir(parents=True, exist_ok=True)
        torch.save(result.model.state_dict(), model_path(models_dir, n, k, seed))
    paired = {
        f"{mode}_minus_{algorithm}": summary(totals - baselines[algorithm])
        for mode, totals in (("sampled", sampled), ("greedy", greedy))
        for algorithm in ("ucb1", "gittins")
    }
    history = result.history
    return {
        "n": n,
        "k": k,
        "seed": seed,
        "config": dataclasses.asdict(config),
        "env_steps": history.episode_steps[-1] if history.episode_steps else 0,
        "train_wall_seconds": wall,
        "train_process_seconds": cpu,
        "sampled": summary(sampled),
        "greedy": summary(greedy),
        "paired": paired,
        "history": {"steps": history.episode_steps, "returns": history.episode_returns},
    }


def baselines_report(cells: list[tuple[int, int]]) -> dict[str, dict[str, dict[str, float]]]:
    """Mean and standard error of every baseline, per setting (keys ``"n,k"``)."""
    return {
        f"{n},{k}": {a: summary(t) for a, t in baseline_totals(n, k).items()} for n, k in cells
    }


def _mean_se(runs: list[dict[str, Any]], key: str) -> str:
    means = [r[key]["mean"] for r in runs]
    ses = [r[key]["se"] for r in runs]
    return f"{np.mean(means):.2f} ± {np.mean(ses):.2f}"


def table(runs: list[dict[str, Any]], baselines: dict[str, Any]) -> str:
    """Markdown table: every method per setting, ours (mean ± standard error over the
    held-out bandits; RL^2 averaged over seeds) beside the paper's."""
    names = [bandits.ALGORITHM_NAMES[a] for a in bandits.ALGORITHMS]
    lines = [
        "| n, k | | " + " | ".join(names) + " | RL^2 (sampled) | RL^2 (greedy) |",
        "|---|---|" + "---:|" * (len(names) + 2),
    ]
    cells = sorted({(r["n"], r["k"]) for r in runs})
    for n, k in cells:
        rs = [r for r in runs if (r["n"], r["k"]) == (n, k)]
        base = baselines[f"{n},{k}"]
        ours = [f"{base[a]['mean']:.2f} ± {base[a]['se']:.2f}" for a in bandits.ALGORITHMS]
        ours += [_mean_se(rs, "sampled"), _mean_se(rs, "greedy")]
        lines.append(f"| {n}, {k} | ours | " + " | ".join(ours) + " |")
        paper = [f"{bandits.PAPER_TABLE[(n, k)][a]:.1f}" for a in bandits.ALGORITHMS]
        paper += [f"{PAPER_RL2[(n, k)]:.1f}", ""]
        lines.append("| | paper | " + " | ".join(paper) + " |")
    lines += [
        "",
        "| n, k | seed | RL^2 sampled | − UCB1 (paired) | − Gittins (paired) "
        "| RL^2 greedy | − UCB1 (paired) | − Gittins (paired) | env steps | train time |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(runs, key=lambda r: (r["n"], r["k"], r["seed"])):
        p = r["paired"]
        lines.append(
            f"| {r['n']}, {r['k']} | {r['seed']} "
            f"| {r['sampled']['mean']:.2f} ± {r['sampled']['se']:.2f} "
            f"| {p['sampled_minus_ucb1']['mean']:+.2f} ± {p['sampled_minus_ucb1']['se']:.2f} "
            f"| {p['sampled_minus_gittins']['mean']:+.2f} "
            f"± {p['sampled_minus_gittins']['se']:.2f} "
            f"| {r['greedy']['mean']:.2f} ± {r['greedy']['se']:.2f} "
            f"| {p['greedy_minus_ucb1']['mean']:+.2f} ± {p['greedy_minus_ucb1']['se']:.2f} "
            f"| {p['greedy_minus_gittins']['mean']:+.2f} "
            f"± {p['greedy_minus_gittins']['se']:.2f} "
            f"| {r['env_steps']:,} | {r['train_process_seconds']:.0f} s |"
        )
    return "\n".join(lines)


def _run_job(job: tuple[int, int, int, Path | None]) -> dict[str, Any]:
    n, k, seed, models_dir = job
    print(f"RL^2 n={n} k={k} seed={seed}: start", file=sys.stderr, flush=True)
    run = run_one(n, k, seed, models_dir)
    print(
        f"RL^2 n={n} k={k} seed={seed}: {run['sampled']['mean']:.2f} "
        f"(greedy {run['greedy']['mean']:.2f}) in {run['train_process_seconds']:.0f} s",
        file=sys.stderr,
        flush=True,
    )
    return run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument(
        "--cells", nargs="+", default=[f"{n},{k}" for n, k in CELLS], help="n,k pairs"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--models", type=Path, default=DEFAULT_MODELS)
    args = parser.parse_args(argv)
    cells = [tuple(int(v) for v in c.split(",")) for c in args.cells]
    jobs = [(n, k, seed, args.models) for n, k in cells for seed in args.seeds]
    # Longest runs first, so that two workers finish together.
    jobs.sort(key=lambda j: -config_for(j[0], j[1], j[2]).updates * j[0])
    start = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(args.workers, mp_context=context) as pool:
        runs = list(pool.map(_run_job, jobs))
    runs.sort(key=lambda r: (r["n"], r["k"], r["seed"]))
    baselines = baselines_report(cells)
    report = {
        "test": {"bandits": N_TEST, "play_seed": PLAY_SEED},
        "settings": {f"{n},{k}": SETTINGS[(n, k)] for n, k in cells},
        "paper_rl2": {f"{n},{k}": PAPER_RL2[(n, k)] for n, k in cells},
        "paper_table": {f"{n},{k}": bandits.PAPER_TABLE[(n, k)] for n, k in cells},
        "gittins_share": GITTINS_SHARE,
        "machine": {
            "platform": platform.platform(),
            "torch": torch.__version__,
            "threads_per_run": 1,
            "workers": args.workers,
            "total_seconds": time.perf_counter() - start,
        },
        "baselines": baselines,
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
