"""Precomputed hyper-parameter sweeps behind the book's widgets.

A widget must answer at once when the reader moves a slider, so every curve
it can show is computed ahead of time: each point of a grid of settings, over
several seeds. A :class:`SweepSpec` says what to sweep and how to run one
point; ``python -m metarl_lite.sweeps NAME`` runs the whole grid and writes
``book/data/sweeps/NAME.json``; :func:`load` reads it back as a :class:`Sweep`.

Adding a sweep for a chapter: write a module-level function
``run(params, seed) -> (x, y)`` that trains once and returns one curve, then
call :func:`register` with a :class:`SweepSpec` at the bottom of this module.
The function must be deterministic in ``(params, seed)``: a test re-runs
random grid points and compares them with the stored file exactly.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import itertools
import json
import multiprocessing
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from metarl_lite._checks import check_choice, check_positive_int

Params = Mapping[str, Any]
RunFn = Callable[[Params, int], tuple[Sequence[float], Sequence[float]]]

#: The book's data folder in a checkout of the repository.
BOOK_DATA_DIR = Path(__file__).resolve().parents[1] / "book" / "data"
#: Where the sweeps live in a checkout of the book's repository.
DATA_DIR = BOOK_DATA_DIR / "sweeps"


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every point of ``grid`` (axis -> values), the last axis varying fastest."""
    axes = list(grid)
    return [dict(zip(axes, combo, strict=True)) for combo in itertools.product(*grid.values())]


@dataclasses.dataclass(frozen=True)
class SweepSpec:
    """What to sweep and how to compute one point of the grid.

    Attributes:
        name: file name of the stored sweep, ``book/data/sweeps/{name}.json``.
        title: one line for the plot.
        grid: the axes of the grid, in slider order: name -> allowed values.
        defaults: the point shown first; one value from each axis.
        seeds: the seeds run at every point (at least 3).
        run: module-level function ``run(params, seed) -> (x, y)``.
        xlabel, ylabel: axis labels with units.
        reference: optional horizontal line drawn on every plot (a target).
        labels: optional reader-facing name of an axis for its control
            (``{"alpha": "step size α"}``); an axis without one shows its name.
    """

    name: str
    title: str
    grid: dict[str, tuple[Any, ...]]
    defaults: dict[str, Any]
    seeds: tuple[int, ...]
    run: RunFn
    xlabel: str
    ylabel: str
    reference: float | None = None
    labels: dict[str, str] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.seeds) < 3:
            raise ValueError(f"seeds={self.seeds!r} is too short: a sweep needs at least 3 seeds")
        if set(self.defaults) != set(self.grid):
            raise ValueError(
                f"defaults={self.defaults!r} must give one value for each grid axis "
                f"{list(self.grid)}"
            )
        for axis, value in self.defaults.items():
            check_choice(f"defaults[{axis!r}]", value, self.grid[axis])
        for axis in self.labels:
            check_choice("labels key", axis, tuple(self.grid))

    def label(self, axis: str) -> str:
        """What the controls call ``axis``."""
        return self.labels.get(axis, axis)

    def points(self) -> list[dict[str, Any]]:
        """Every grid point, in a fixed order (the last axis varies fastest)."""
        return grid_points(self.grid)


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A computed sweep: the spec's description plus every point's curves."""

    name: str
    title: str
    grid: dict[str, list[Any]]
    defaults: dict[str, Any]
    seeds: list[int]
    xlabel: str
    ylabel: str
    reference: float | None
    x: list[float]
    curves: dict[str, list[list[float]]]

    def points(self) -> list[dict[str, Any]]:
        """Every grid point, in the order of :meth:`SweepSpec.points`."""
        return grid_points(self.grid)

    def curves_at(self, params: Params) -> np.ndarray:
        """Curves at one grid point: array of shape ``(n_seeds, len(x))``."""
        for axis, value in params.items():
            if axis not in self.grid:
                raise ValueError(
                    f"{axis!r} is not an axis of sweep {self.name!r}: {list(self.grid)}"
                )
            check_choice(axis, value, self.grid[axis])
        return np.asarray(self.curves[point_key(params, self.grid)], dtype=float)

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=None, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Sweep:
        return cls(**json.loads(text))


def point_key(params: Params, grid: Mapping[str, Any]) -> str:
    """The key of a grid point in :attr:`Sweep.curves`, axes in grid order."""
    return ",".join(f"{axis}={params[axis]!r}" for axis in grid)


REGISTRY: dict[str, SweepSpec] = {}


def register(spec: SweepSpec) -> SweepSpec:
    """Add ``spec`` to the registry under its name."""
    if spec.name in REGISTRY:
        raise ValueError(f"a sweep named {spec.name!r} is registered already")
    REGISTRY[spec.name] = spec
    return spec


def get_spec(name: str) -> SweepSpec:
    """The registered spec called ``name``."""
    check_choice("name", name, tuple(REGISTRY))
    return REGISTRY[name]


def run_point(name: str, params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Run one grid point of sweep ``name`` with one seed; returns ``(x, y)``."""
    x, y = get_spec(name).run(params, seed)
    return [float(v) for v in x], [float(v) for v in y]


def run_sweep(spec: SweepSpec, *, processes: int = 1, progress: bool = True) -> Sweep:
    """Run every grid point with every seed and collect the curves.

    Args:
        spec: the sweep to run (it must be registered, so that worker
            processes can find it by name).
        processes: worker processes; each runs one (point, seed) at a time.
        progress: show a progress bar over the runs.
    """
    check_positive_int("processes", processes)
    jobs = [(p, s) for p in spec.points() for s in spec.seeds]
    if processes == 1:
        results = [
            run_point(spec.name, p, s) for p, s in tqdm(jobs, disable=not progress, desc=spec.name)
        ]
    else:
        ctx = multiprocessing.get_context("spawn")
        with concurrent.futures.ProcessPoolExecutor(processes, mp_context=ctx) as pool:
            futures = [pool.submit(run_point, spec.name, p, s) for p, s in jobs]
            results = [f.result() for f in tqdm(futures, disable=not progress, desc=spec.name)]
    x = results[0][0]
    curves: dict[str, list[list[float]]] = {}
    for (params, _), (xi, yi) in zip(jobs, results, strict=True):
        if xi != x:
            raise ValueError(f"run at {params} returned another x axis than the first run")
        curves.setdefault(point_key(params, spec.grid), []).append(yi)
    return Sweep(
        name=spec.name,
        title=spec.title,
        grid={k: list(v) for k, v in spec.grid.items()},
        defaults=dict(spec.defaults),
        seeds=list(spec.seeds),
        xlabel=spec.xlabel,
        ylabel=spec.ylabel,
        reference=spec.reference,
        x=x,
        curves=curves,
    )


def _local_or(local: Path, fallback: Path) -> Path:
    """``local`` (relative to the working folder) if it exists, else ``fallback``.

    A notebook runs in ``book/``, so the book's data is first looked for at
    ``data/`` below the working folder, then in the repository that holds
    this package.
    """
    return local if local.exists() else fallback


def data_path(relative: str | Path) -> Path:
    """A file of the book's data folder, ``book/data/{relative}``."""
    return _local_or(Path("data") / relative, BOOK_DATA_DIR / relative)


def sweep_path(name: str) -> Path:
    """Where sweep ``name`` is stored: next to the notebooks, else in :data:`DATA_DIR`."""
    return _local_or(Path("data") / "sweeps" / f"{name}.json", DATA_DIR / f"{name}.json")


def load(name: str) -> Sweep:
    """Read the stored sweep called ``name``."""
    path = sweep_path(name)
    if not path.exists():
        raise FileNotFoundError(
            f"no stored sweep {name!r} at {path}: run `python -m metarl_lite.sweeps {name}`"
        )
    return Sweep.from_json(path.read_text())


def save(sweep: Sweep, out_dir: Path = DATA_DIR) -> Path:
    """Write ``sweep`` to ``out_dir / f"{sweep.name}.json"`` and return the path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{sweep.name}.json"
    path.write_text(sweep.to_json() + "\n")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m metarl_lite.sweeps NAME [NAME ...] [--processes N]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help=f"sweeps to run; known: {sorted(REGISTRY)}")
    parser.add_argument("--all", action="store_true", help="run every registered sweep")
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--out-dir", type=Path, default=DATA_DIR)
    args = parser.parse_args(argv)
    names = sorted(REGISTRY) if args.all else args.names
    if not names:
        parser.error("name at least one sweep, or --all")
    for name in names:
        sweep = run_sweep(get_spec(name), processes=args.processes)
        path = save(sweep, args.out_dir)
        print(f"wrote {path} ({path.stat().st_size / 1024:.1f} KiB)", file=sys.stderr)
    return 0


# --- The book's sweeps -------------------------------------------------------------------------
# Each chapter's run function and spec go below, in chapter order.

# Chapter 1: tabular Q-learning on the gridworld.
CH1_EPISODES = 200
CH1_BLOCK = 10


def run_ch1_q_learning(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Mean training return of each block of 10 episodes of Q-learning on the gridworld."""
    from metarl_lite.tabular import QLearningConfig, train_q_learning

    config = QLearningConfig(
        episodes=CH1_EPISODES,
        alpha=params["alpha"],
        gamma=params["gamma"],
        epsilon=params["epsilon"],
        slip=params["slip"],
        eval_every=CH1_EPISODES,
        seed=seed,
    )
    returns = np.asarray(train_q_learning(config, progress=False).history.episode_returns)
    blocks = returns.reshape(-1, CH1_BLOCK).mean(axis=1)
    x = np.arange(1, blocks.size + 1) * CH1_BLOCK
    return x.tolist(), blocks.tolist()


register(
    SweepSpec(
        name="ch1_q_learning",
        title="Q-learning on the 5x5 gridworld",
        grid={
            "alpha": (0.05, 0.1, 0.3, 0.5, 1.0),
            "gamma": (0.5, 0.9, 0.99),
            "epsilon": (0.01, 0.1, 0.3),
            "slip": (0.0, 0.2),
        },
        defaults={"alpha": 0.5, "gamma": 0.9, "epsilon": 0.1, "slip": 0.0},
        seeds=(0, 1, 2),
        run=run_ch1_q_learning,
        xlabel="training episodes",
        ylabel="training return (mean of 10 episodes)",
        reference=3.0,
        labels={
            "alpha": "step size α",
            "gamma": "discount γ",
            "epsilon": "exploration ε",
            "slip": "slip probability",
        },
    )
)


# Chapter 2: DQN on CartPole-v1.
DQN_VARIANTS: dict[str, dict[str, bool]] = {
    "DQN": {},
    "no target network": {"use_target_network": False},
    "no replay": {"use_replay": False},
}
CH2_HPARAM_STEPS = 30_000


def run_dqn_ablation(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Greedy-evaluation curve of DQN with default settings, or one ingredient removed."""
    from metarl_lite.dqn import DQNConfig, train_dqn

    config = DQNConfig(seed=seed, **DQN_VARIANTS[params["variant"]])
    history = train_dqn(config, progress=False).history
    return history.eval_steps, history.eval_returns


def run_dqn_hparams(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Greedy-evaluation curve of DQN over 30,000 steps with four settings changed."""
    from metarl_lite.dqn import DQNConfig, train_dqn

    config = DQNConfig(total_steps=CH2_HPARAM_STEPS, seed=seed, **params)
    history = train_dqn(config, progress=False).history
    return history.eval_steps, history.eval_returns


register(
    SweepSpec(
        name="dqn_ablations",
        title="DQN on CartPole-v1 and two ablations",
        grid={"variant": tuple(DQN_VARIANTS)},
        defaults={"variant": "DQN"},
        seeds=(0, 1, 2, 3, 4),
        run=run_dqn_ablation,
        xlabel="environment steps",
        ylabel="greedy return (mean of 20 episodes)",
        reference=475.0,
    )
)

register(
    SweepSpec(
        name="dqn_hparams",
        title="DQN on CartPole-v1, 30,000 steps",
        grid={
            "learning_rate": (5e-4, 1.5e-3, 5e-3),
            "gamma": (0.95, 0.99),
            "target_update_period": (10, 1_000, 5_000),
            "batch_size": (64, 256),
        },
        defaults={
            "learning_rate": 1.5e-3,
            "gamma": 0.99,
            "target_update_period": 10,
            "batch_size": 256,
        },
        seeds=(0, 1, 2),
        run=run_dqn_hparams,
        xlabel="environment steps",
        ylabel="greedy return (mean of 20 episodes)",
        reference=475.0,
        labels={
            "learning_rate": "learning rate",
            "gamma": "discount γ",
            "target_update_period": "target period (env steps)",
            "batch_size": "batch size",
        },
    )
)


# Chapter 3: meta-learning on sine regression. A short budget, so that the whole
# grid (648 runs) takes 11 minutes on 2 cores; benchmarks/sine_regression.py runs the full one.
CH3_ITERATIONS = 1_000
CH3_TEST_TASKS = 100
CH3_ADAPT_STEPS = 10


def run_ch3_sine(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Held-out MSE after 0 to 10 fine-tuning steps, after 1,000 meta-iterations."""
    from metarl_lite import meta

    config = meta.MetaConfig(iterations=CH3_ITERATIONS, seed=seed, **params)
    model = meta.train_meta(config, progress=False).model
    batch = meta.meta_test_set(config.k_shots, n_tasks=CH3_TEST_TASKS)
    errors = meta.adaptation_curve(model, batch, config.inner_lr, CH3_ADAPT_STEPS).mean(dim=1)
    return list(range(CH3_ADAPT_STEPS + 1)), errors.tolist()


register(
    SweepSpec(
        name="ch3_sine",
        title="Sine regression: 100 held-out tasks after 1,000 meta-iterations",
        grid={
            "method": ("maml", "fomaml", "reptile", "pretrain", "average", "scratch"),
            "inner_lr": (0.003, 0.01, 0.02),
            "inner_steps": (1, 2),
            "k_shots": (5, 10),
            "n_tasks": (10, 100, 1000),
        },
        defaults={
            "method": "maml",
            "inner_lr": 0.01,
            "inner_steps": 2,
            "k_shots": 10,
            "n_tasks": 1000,
        },
        seeds=(0, 1, 2),
        run=run_ch3_sine,
        xlabel="fine-tuning steps on the K shots",
        ylabel="query MSE (mean over 100 tasks)",
        labels={
            "method": "method",
            "inner_lr": "inner step size α",
            "inner_steps": "inner steps in meta-training",
            "k_shots": "K shots",
            "n_tasks": "meta-training tasks",
        },
    )
)


# Chapter 4: the classic bandit algorithms on k arms and n pulls (about 30 s for the grid).
def run_ch4_bandits(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Reward per pull as the n pulls are used, for one algorithm on 1,000 bandits."""
    from metarl_lite import bandits

    return bandits.sweep_curve(params, seed)


def _ch4_bandit_grid() -> dict[str, tuple[Any, ...]]:
    from metarl_lite import bandits

    return dict(bandits.SWEEP_GRID)


register(
    SweepSpec(
        name="ch4_bandits",
        title="Bernoulli bandits: 1,000 bandits with arm means from U[0, 1]",
        grid=_ch4_bandit_grid(),
        defaults={"arms": 10, "pulls": 100, "algorithm": "gittins"},
        seeds=(0, 1, 2),
        run=run_ch4_bandits,
        xlabel="share of the n pulls used",
        ylabel="mean reward per pull so far",
        labels={"arms": "arms k", "pulls": "pulls n", "algorithm": "algorithm"},
    )
)

# Chapter 4: fine-tuning the stored seed-0 policies of benchmarks/maml_navigation.py on
# held-out goals, with another inner step size; the seed draws the trajectories' noise.
CH4_NAV_GOALS = 40
CH4_NAV_STEPS = 3


def run_ch4_navigation(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Mean return on 40 held-out goals after 0 to 3 policy-gradient steps of one size."""
    from metarl_lite import challenges, maml_rl
    from metarl_lite.envs import point_navigation

    policy, _, config = challenges.load_navigation_policy(params["method"])
    returns = maml_rl.task_returns(
        policy,
        point_navigation.test_tasks(CH4_NAV_GOALS),
        params["inner_lr"],
        CH4_NAV_STEPS,
        config.inner_trajectories,
        config.gamma,
        seed=seed,
    )
    return list(range(CH4_NAV_STEPS + 1)), returns.mean(dim=1).tolist()


register(
    SweepSpec(
        name="ch4_navigation",
        title="Point navigation: 40 held-out goals, stored seed-0 policies fine-tuned",
        grid={
            "method": ("maml", "fomaml", "pretrain", "random"),
            "inner_lr": (0.03, 0.1, 0.3),
        },
        defaults={"method": "maml", "inner_lr": 0.1},
        seeds=(0, 1, 2),
        run=run_ch4_navigation,
        xlabel="policy-gradient steps on the held-out goal",
        ylabel="mean return (40 held-out goals)",
        reference=-10.0,
        labels={"method": "starting policy", "inner_lr": "inner step size α"},
    )
)

# Chapter 5: Reptile over DQN weights. Every point gets the same budget of environment
# steps per task slot, so fewer inner steps means more meta-iterations; the curve is
# read at common checkpoints (every 3,000 steps per slot, 24,000 for the 8 slots).
CH5_VECTOR_STEPS = 45_000
CH5_CHECKPOINT_STEPS = 3_000


def ch5_env_id(family: str) -> str:
    """The environment id of a chapter-5 task family: ``"cartpole"`` or ``"flipped"``."""
    from metarl_lite.meta_dqn import FAMILY_IDS

    check_choice("family", family, tuple(FAMILY_IDS))
    return FAMILY_IDS[family]


def run_ch5_reptile(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Mean validation return of the Reptile start, before adaptation, every 24,000 steps."""
    from metarl_lite import meta_dqn

    inner_steps = params["inner_steps"]
    config = meta_dqn.InitConfig(
        env_id=ch5_env_id(params["family"]),
        meta_lr=params["meta_lr"],
        inner_steps=inner_steps,
        iterations=CH5_VECTOR_STEPS // inner_steps,
        seed=seed,
    )
    result = meta_dqn.train_reptile(config)
    by_steps = dict(zip(result.env_steps, result.returns, strict=True))
    slots = config.meta_batch
    x = range(
        slots * CH5_CHECKPOINT_STEPS, slots * CH5_VECTOR_STEPS + 1, slots * CH5_CHECKPOINT_STEPS
    )
    return list(x), [by_steps[steps] for steps in x]


register(
    SweepSpec(
        name="ch5_reptile",
        title="Reptile over DQN weights: the start on 8 validation CartPoles",
        grid={
            "family": ("cartpole", "flipped"),
            "meta_lr": (0.5, 1.0),
            "inner_steps": (750, 1_500, 3_000),
        },
        defaults={"family": "cartpole", "meta_lr": 1.0, "inner_steps": 1_500},
        seeds=(0, 1, 2),
        run=run_ch5_reptile,
        xlabel="meta-training environment steps (8 tasks together)",
        ylabel="greedy return of the start on 8 validation tasks, before any adaptation",
        reference=475.0,
        labels={
            "family": "task family",
            "meta_lr": "meta step size ε",
            "inner_steps": "inner steps per task",
        },
    )
)


# Chapter 7: challenges. Stability: chapter 3's MAML on sine regression, 400 meta-iterations
# without step-size halving, over outer optimiser, outer step size and inner step size; a run
# that meets a NaN or infinite loss is drawn at log10 MSE = 10 from that window on.
CH7_STABILITY_ITERATIONS = 400
CH7_STABILITY_LOG_EVERY = 20


def run_ch7_stability(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """log10 of MAML's meta-training loss per 20 iterations, until it diverges."""
    from metarl_lite import challenges, meta

    config = meta.MetaConfig(
        method="maml",
        iterations=CH7_STABILITY_ITERATIONS,
        log_every=CH7_STABILITY_LOG_EVERY,
        halve_every=0,
        seed=seed,
        **params,
    )
    x, y = challenges.log_loss_curve(challenges.train_until_divergence(config))
    return list(x), y


register(
    SweepSpec(
        name="ch7_stability",
        title="MAML on sine regression: where meta-training diverges (10 = NaN or inf)",
        grid={
            "outer_optimizer": ("sgd", "adam"),
            "outer_lr": (1e-4, 1e-3, 1e-2, 0.1, 0.3, 1.0),
            "inner_lr": (0.01, 0.03, 0.1, 0.2, 0.3),
        },
        defaults={"outer_optimizer": "sgd", "outer_lr": 0.1, "inner_lr": 0.01},
        seeds=(0, 1, 2),
        run=run_ch7_stability,
        xlabel="meta-iterations",
        ylabel="log10 meta-training MSE (mean of 20 iterations; 10 = diverged)",
        labels={
            "outer_optimizer": "outer optimiser",
            "outer_lr": "outer step size β",
            "inner_lr": "inner step size α",
        },
    )
)

# Chapter 7: out-of-distribution goals. Chapter 4's stored seed-0 policies fine-tuned on 40
# goals on the edge of the square [-r, r]^2 (training goals: r <= 0.5); the seed draws the
# exploration noise. The curve is the return minus that of an oracle heading for the goal.
CH7_OOD_GOALS = 40
CH7_OOD_STEPS = 3


def run_ch7_ood(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Return minus the oracle's on 40 goals at max-norm radius r, after 0 to 3 steps."""
    from metarl_lite import challenges

    returns, oracle = challenges.ood_returns(
        params["method"], params["radius"], CH7_OOD_GOALS, CH7_OOD_STEPS, seed
    )
    return list(range(CH7_OOD_STEPS + 1)), [round(float(r - oracle), 3) for r in returns]


register(
    SweepSpec(
        name="ch7_ood",
        title="Point navigation: 40 goals at max-norm radius r (training goals: r <= 0.5)",
        grid={
            "method": ("maml", "fomaml", "pretrain", "random"),
            "radius": (0.25, 0.5, 0.75, 1.0, 1.5, 2.0),
        },
        defaults={"method": "maml", "radius": 1.0},
        seeds=(0, 1, 2),
        run=run_ch7_ood,
        xlabel="policy-gradient steps on the goal",
        ylabel="return minus the oracle's return (40 goals)",
        reference=0.0,
        labels={"method": "starting policy", "radius": "goal radius r"},
    )
)


# Chapter 6: personalised recommendation. The classic methods play 500 held-out users
# with the shift moved; RL^2 is the stored network of the benchmark's run with this seed
# (benchmarks/recommendation.py), so nothing is trained here (well under 1 s per point).
CH6_REC_USERS = 500
CH6_REC_STEPS = 100


def run_ch6_recommend(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Cumulative regret over a 100-step session, mean of 500 held-out users."""
    from metarl_lite import recommend
    from metarl_lite.envs import drifting_users

    users = drifting_users.test_tasks(CH6_REC_USERS, shift_at=params["shift_at"])
    rng = np.random.default_rng([seed, CH6_REC_USERS])
    if params["method"] == "rl2":
        report = json.loads(data_path("benchmarks/recommendation.json").read_text())
        config = next(r["config"] for r in report["runs"] if r["seed"] == seed)
        path = data_path(f"models/recommend/rl2_recommender_seed{seed}.pt")
        model = recommend.load_policy(config, str(path))
        session = recommend.evaluate_rl2(model, users, CH6_REC_STEPS, rng)
    else:
        session = recommend.play(params["method"], users, CH6_REC_STEPS, rng)
    cumulative = session.cumulative_regret.mean(axis=0)
    return list(range(1, CH6_REC_STEPS + 1)), [round(float(v), 3) for v in cumulative]


register(
    SweepSpec(
        name="ch6_recommend",
        title="Recommendation: 500 held-out users whose preference shifts once",
        grid={
            "method": ("linucb", "lin_ts", "d_linucb", "rl2", "random"),
            "shift_at": (25, 50, 75, 100),
        },
        defaults={"method": "rl2", "shift_at": 50},
        seeds=(0, 1, 2),
        run=run_ch6_recommend,
        xlabel="steps of the session (one recommendation each)",
        ylabel="cumulative regret (expected clicks lost to the oracle)",
        labels={"method": "recommender", "shift_at": "shift at step (100: none)"},
    )
)


# Chapter 6: game levels. The stored policies of benchmarks/maze_levels.py (one per
# training seed) and Q-learning from scratch play trials of 6 episodes (2 more than in
# training) on held-out levels with more or fewer walls than the training levels had.
CH6_LEVELS = 200
CH6_LEVEL_EPISODES = 6


def run_ch6_levels(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Mean steps to the goal in each episode of a trial, over 200 held-out levels."""
    from metarl_lite import level_rl2
    from metarl_lite.envs import maze_levels

    report = json.loads(data_path("benchmarks/maze_levels.json").read_text())
    test = report["test"]
    tasks = maze_levels.test_tasks(CH6_LEVELS, test["size"], params["wall_density"])
    episodes = CH6_LEVEL_EPISODES
    if params["method"] == "q_learning":
        q_config = level_rl2.QBaselineConfig(
            **report["q_tuning"]["best"], max_steps=test["max_steps"]
        )
        stats = level_rl2.q_learning_trials(tasks, episodes, q_config, seed)
    else:
        run = next(
            r for r in report["runs"] if r["method"] == params["method"] and r["seed"] == seed
        )
        config = level_rl2.LevelRL2Config(**run["config"])
        path = data_path(f"models/maze_levels/{params['method']}_seed{seed}.pt")
        model = level_rl2.load_policy(path, config)
        stats = level_rl2.evaluate(
            model, tasks, episodes, config.max_steps, test["eval_seed"] + seed
        )
    return list(range(1, episodes + 1)), [round(v, 3) for v in stats.steps.mean(axis=0)]


register(
    SweepSpec(
        name="ch6_levels",
        title="Maze levels: a trial of 6 episodes on each of 200 held-out levels",
        grid={
            "method": ("rl2", "memoryless", "q_learning"),
            "wall_density": (0.0, 0.1, 0.2, 0.3),
        },
        defaults={"method": "rl2", "wall_density": 0.2},
        seeds=(0, 1, 2),
        run=run_ch6_levels,
        xlabel="episode within the trial (the same level; 4 episodes in training)",
        ylabel="mean steps to the goal (cut off at 16)",
        labels={"method": "agent", "wall_density": "wall density of the held-out levels"},
    )
)


# Chapter 6: robot control. A new pendulum (mass 1 kg, length from the slider) met by one
# agent for three episodes; the meta-learned and domain-randomised models are the ones
# benchmarks/pendulum_adaptation.py stored for each seed (book/data/models/pendulum/).
CH6_PENDULUM_EPISODES = 3


def run_ch6_pendulum(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Return of each of three episodes in a pendulum of length ``params["length"]``."""
    from metarl_lite import model_based

    agent = params["agent"]
    check_choice("agent", agent, ("meta", "dr", "scratch", "oracle"))
    weights = None
    if agent in ("meta", "dr"):
        weights = model_based.load_params(data_path(f"models/pendulum/{agent}_seed{seed}.pt"))
    returns = model_based.evaluate_agent(
        agent,
        {"m": 1.0, "l": float(params["length"])},
        model_based.AdaptConfig(seed=seed),
        weights,
        n_episodes=CH6_PENDULUM_EPISODES,
        seed=seed,
    )
    return list(range(1, CH6_PENDULUM_EPISODES + 1)), [round(r, 1) for r in returns]


register(
    SweepSpec(
        name="ch6_pendulum",
        title="A new pendulum (1 kg): return per episode of each model-based agent",
        grid={"agent": ("meta", "dr", "scratch", "oracle"), "length": (0.5, 1.0, 1.5, 2.0)},
        defaults={"agent": "meta", "length": 1.5},
        seeds=(0, 1, 2),
        run=run_ch6_pendulum,
        xlabel="episode in the new task (200 steps each)",
        ylabel="return of the episode (higher is better, 0 is the best possible)",
        labels={"agent": "agent (model)", "length": "rod length l (m)"},
    )
)


# Chapter 7: chapter 5's stored CartPole starts, with no adaptation, on CartPoles whose
# constants lie in boxes wider than the training box; the seed picks the stored start.


def run_ch7_ood_cartpole(params: Params, seed: int) -> tuple[list[float], list[float]]:
    """Greedy return of a stored start on 20 CartPoles per box factor (3 episodes each)."""
    from metarl_lite import challenges

    returns = challenges.cartpole_ood_returns(params["start"], seed)
    return list(challenges.CARTPOLE_FACTORS), [round(float(r), 2) for r in returns]


register(
    SweepSpec(
        name="ch7_ood_cartpole",
        title="Chapter 5's starts on CartPoles beyond the training box (factor 2)",
        grid={"start": ("reptile", "pretrain")},
        defaults={"start": "reptile"},
        seeds=(0, 1, 2, 3, 4),
        run=run_ch7_ood_cartpole,
        xlabel="box factor f: each constant in [default / f, default × f]",
        ylabel="greedy return before adaptation (20 tasks)",
        reference=475.0,
        labels={"start": "stored start"},
    )
)


# Views: curves that a benchmark stored, shown with the same controls and website chart
# (see metarl_lite.widgets.benchmark_sweep). Nothing is re-run, so they have no run function
# and no file here: the benchmark's JSON is their data. Name -> (build, axis labels).
VIEWS: dict[str, tuple[Callable[[], Sweep], dict[str, str]]] = {}


def register_view(name: str, build: Callable[[], Sweep], labels: Mapping[str, str]) -> None:
    """Add a view over stored benchmark curves under ``name`` (no sweep may have it)."""
    if name in VIEWS or name in REGISTRY:
        raise ValueError(f"a sweep or view named {name!r} is registered already")
    VIEWS[name] = (build, dict(labels))


# Chapter 5: the held-out curves of benchmarks/meta_dqn.py, every method and family.
CH5_BENCHMARK = "benchmarks/meta_dqn.json"


def ch5_methods() -> Sweep:
    """The meta-DQN benchmark's held-out curves as a sweep over family x method.

    A curve is one seed's mean greedy return over its held-out tasks (5 per
    seed). Runs from scratch go on for twice as many steps as runs from a
    learned start (50,000 and 25,000); all curves are shown over the
    evaluations that every method has, so up to 25,000 steps.
    """
    from metarl_lite.widgets import benchmark_sweep

    report = json.loads(data_path(CH5_BENCHMARK).read_text())
    units = sorted(report["units"], key=lambda u: (u["family"], u["seed"]))
    families = [f for f in report["families"] if any(u["family"] == f for u in units)]
    seeds = sorted({u["seed"] for u in units})
    runs = [run for u in units for run in u["runs"].values()]
    common = set.intersection(*(set(run["eval_steps"]) for run in runs))
    x = sorted(common)
    curves = {}
    for family in families:
        mine = [u for u in units if u["family"] == family]
        if [u["seed"] for u in mine] != seeds:
            raise ValueError(
                f"{CH5_BENCHMARK}: family {family!r} has seeds {[u['seed'] for u in mine]}, "
                f"not {seeds}"
            )
        for method, description in report["methods"].items():
            rows = []
            for unit in mine:
                run = unit["runs"][method]
                keep = [i for i, step in enumerate(run["eval_steps"]) if step in common]
                rows.append(np.asarray(run["eval_returns"])[keep].mean(axis=1))
            curves[(family, description)] = np.stack(rows)
    tasks = report["tasks_per_seed"]
    return benchmark_sweep(
        "ch5_methods",
        curves,
        x,
        axes=("family", "method"),
        title=f"Meta-DQN on held-out CartPoles ({tasks} per seed)",
        xlabel="DQN environment steps on each held-out task",
        ylabel=f"greedy return (mean of {tasks} held-out tasks)",
        defaults={"family": families[0], "method": report["methods"]["scratch_adam"]},
        seeds=seeds,
        reference=report["threshold"],
    )


register_view("ch5_methods", ch5_methods, {"family": "task family", "method": "method"})


# Chapter 7: the meta-training curves of benchmarks/seed_variance.py, three seeds at a time.
CH7_SEEDS_BENCHMARK = "benchmarks/seed_variance.json"
CH7_SEEDS_WINDOW = 10
CH7_SEEDS_EVERY = 5


def ch7_seeds() -> Sweep:
    """Five "3-seed studies" of the same first-order MAML run: seeds 0-2, 3-5, 6-8,
    and the three seeds with the best and with the worst held-out score. A curve
    is one seed's post-adaptation training return, smoothed over 10 iterations
    and read every 5."""
    from metarl_lite.history import smooth
    from metarl_lite.widgets import benchmark_sweep

    report = json.loads(data_path(CH7_SEEDS_BENCHMARK).read_text())
    runs = {run["seed"]: run for run in report["runs"]}
    scores = {seed: run["returns"][report["score_step"]] for seed, run in runs.items()}
    ranked = sorted(scores, key=scores.__getitem__)
    studies = [[0, 1, 2], [3, 4, 5], [6, 7, 8], sorted(ranked[-3:]), sorted(ranked[:3])]
    names = ["seeds {}, {}, {}", "seeds {}, {}, {}", "seeds {}, {}, {}"]
    names += ["best 3: seeds {}, {}, {}", "worst 3: seeds {}, {}, {}"]
    iterations = len(runs[0]["post_returns"])
    keep = list(range(CH7_SEEDS_EVERY - 1, iterations, CH7_SEEDS_EVERY))
    curves = {}
    for name, study in zip(names, studies, strict=True):
        rows = [smooth(runs[s]["post_returns"], CH7_SEEDS_WINDOW)[keep] for s in study]
        curves[(name.format(*study),)] = np.round(np.stack(rows), 3)
    return benchmark_sweep(
        "ch7_seeds",
        curves,
        [i + 1 for i in keep],
        axes=("study",),
        title="First-order MAML on point navigation: one setting, three seeds at a time",
        xlabel="meta-iterations",
        ylabel="training return after adaptation (mean of 10 iterations)",
        defaults={"study": next(iter(curves))[0]},
    )


register_view("ch7_seeds", ch7_seeds, {"study": "three-seed study"})


if __name__ == "__main__":
    # Run through the imported module, not ``__main__``, so that worker
    # processes find the registry and the run functions under their real names.
    from metarl_lite.sweeps import main as _main

    raise SystemExit(_main())
