"""The sweep machinery on a toy spec, and the stored sweeps against fresh runs."""

import os
import random
import secrets
from collections.abc import Iterator

import pytest

from metarl_lite import sweeps


def _toy_run(params: sweeps.Params, seed: int) -> tuple[list[float], list[float]]:
    return [0.0, 1.0, 2.0], [params["a"] * x + seed for x in (0.0, 1.0, 2.0)]


@pytest.fixture
def toy_spec() -> Iterator[sweeps.SweepSpec]:
    spec = sweeps.SweepSpec(
        name="_toy",
        title="toy",
        grid={"a": (1.0, 2.0), "b": ("x", "y")},
        defaults={"a": 1.0, "b": "x"},
        seeds=(0, 1, 2),
        run=_toy_run,
        xlabel="steps",
        ylabel="y",
    )
    sweeps.register(spec)
    yield spec
    del sweeps.REGISTRY["_toy"]


def test_run_save_load_round_trip(toy_spec: sweeps.SweepSpec, tmp_path, monkeypatch) -> None:
    sweep = sweeps.run_sweep(toy_spec, progress=False)
    assert len(sweep.curves) == 4
    assert sweep.curves_at({"a": 2.0, "b": "y"}).tolist() == [[0, 2, 4], [1, 3, 5], [2, 4, 6]]
    path = sweeps.save(sweep, tmp_path)
    assert sweeps.Sweep.from_json(path.read_text()) == sweep
    monkeypatch.setattr(sweeps, "DATA_DIR", tmp_path)
    assert sweeps.load("_toy") == sweep


def test_curves_at_rejects_off_grid(toy_spec: sweeps.SweepSpec) -> None:
    sweep = sweeps.run_sweep(toy_spec, progress=False)
    with pytest.raises(ValueError, match=r"a=3\.0"):
        sweep.curves_at({"a": 3.0, "b": "x"})


def test_spec_validation() -> None:
    with pytest.raises(ValueError, match="seeds"):
        sweeps.SweepSpec("s", "t", {"a": (1,)}, {"a": 1}, (0, 1), _toy_run, "x", "y")
    with pytest.raises(ValueError, match="defaults"):
        sweeps.SweepSpec("s", "t", {"a": (1,)}, {"a": 2}, (0, 1, 2), _toy_run, "x", "y")
    with pytest.raises(ValueError, match="labels key='b'"):
        sweeps.SweepSpec(
            "s", "t", {"a": (1,)}, {"a": 1}, (0, 1, 2), _toy_run, "x", "y", labels={"b": "B"}
        )
    spec = sweeps.SweepSpec(
        "s",
        "t",
        {"a": (1,), "c": (2,)},
        {"a": 1, "c": 2},
        (0, 1, 2),
        _toy_run,
        "x",
        "y",
        labels={"a": "step size"},
    )
    assert (spec.label("a"), spec.label("c")) == ("step size", "c")


def test_unknown_sweep_name() -> None:
    with pytest.raises(ValueError, match="name='nope'"):
        sweeps.get_spec("nope")


#: Each run checks other grid points; set this variable to repeat a run's sample.
SAMPLE_SEED = os.environ.get("METARL_LITE_SWEEP_SAMPLE", secrets.token_hex(4))


@pytest.mark.parametrize("name", sorted(sweeps.REGISTRY))
def test_stored_sweep_matches_fresh_runs(name: str) -> None:
    """Re-run two random (point, seed) pairs of each stored sweep and compare exactly.

    The sample changes from run to run, so that over time every point is
    checked; a failure names the sample to repeat it with.
    """
    spec = sweeps.get_spec(name)
    stored = sweeps.load(name)
    assert stored.grid == {k: list(v) for k, v in spec.grid.items()}
    assert stored.seeds == list(spec.seeds)
    rng = random.Random(f"{name}-{SAMPLE_SEED}")
    for _ in range(2):
        params = rng.choice(spec.points())
        i = rng.randrange(len(spec.seeds))
        x, y = sweeps.run_point(name, params, spec.seeds[i])
        assert x == stored.x
        assert y == stored.curves_at(params)[i].tolist(), (
            f"{name} at {params}, seed {spec.seeds[i]} differs from the stored curve "
            f"(repeat with METARL_LITE_SWEEP_SAMPLE={SAMPLE_SEED})"
        )


def test_stored_sweeps_are_complete_and_small() -> None:
    """Every point of every sweep over at least 3 seeds; all sweeps together under 10 MB."""
    total = 0
    for name, spec in sweeps.REGISTRY.items():
        path = sweeps.sweep_path(name)
        total += path.stat().st_size
        stored = sweeps.load(name)
        assert len(stored.seeds) >= 3
        for params in spec.points():
            curves = stored.curves_at(params)
            assert curves.shape == (len(stored.seeds), len(stored.x)), (name, params)
    assert total < 10 * 2**20, f"the stored sweeps take {total / 2**20:.1f} MB; the limit is 10"


def test_data_path_prefers_the_notebook_folder(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert sweeps.data_path("benchmarks/x.json") == sweeps.BOOK_DATA_DIR / "benchmarks/x.json"
    (tmp_path / "data" / "benchmarks").mkdir(parents=True)
    (tmp_path / "data" / "benchmarks" / "x.json").write_text("{}")
    assert sweeps.data_path("benchmarks/x.json").resolve() == tmp_path / "data/benchmarks/x.json"
