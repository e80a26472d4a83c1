"""The throughput benchmark at a tiny size: the structure of its results, not the timings."""

import json
from pathlib import Path

import env_throughput
import numpy as np
import pytest
from gymnasium import spaces

FIELDS = {
    "form",
    "num_envs",
    "vector_steps",
    "wall_s",
    "cpu_s",
    "steps_per_s",
    "steps_per_s_cpu",
    "ratio",
    "ratio_cpu",
}


def test_measure_gives_one_record_per_form_and_size() -> None:
    records = env_throughput.measure(env_throughput.FORMS, [1, 3], repeats=2, min_time=0.001)
    forms = list(env_throughput.FORMS)
    assert [(r["num_envs"], r["form"]) for r in records] == [
        (n, form) for n in (1, 3) for form in forms
    ]
    for r in records:
        assert set(r) == FIELDS
        assert r["vector_steps"] >= 10
        assert len(r["wall_s"]) == len(r["cpu_s"]) == 2
        assert r["steps_per_s"] == pytest.approx(
            r["vector_steps"] * r["num_envs"] / min(r["wall_s"])
        )
        assert r["steps_per_s"] > 0 and r["ratio"] > 0 and r["ratio_cpu"] > 0
        if r["form"] == env_throughput.REFERENCE:
            assert r["ratio"] == 1.0 and r["ratio_cpu"] == 1.0


def test_random_actions_fit_the_space() -> None:
    rng = np.random.default_rng(0)
    discrete = env_throughput.random_actions(spaces.Discrete(5), 50, 4, rng)
    assert discrete.shape == (50, 4) and discrete.min() >= 0 and discrete.max() == 4
    box = spaces.Box(-0.1, 0.1, shape=(2,), dtype=np.float32)
    continuous = env_throughput.random_actions(box, 50, 4, rng)
    assert continuous.shape == (50, 4, 2) and continuous.dtype == np.float32
    assert all(box.contains(a) for a in continuous.reshape(-1, 2))
    with pytest.raises(ValueError, match="only Discrete and Box"):
        env_throughput.random_actions(spaces.MultiBinary(3), 5, 2, rng)


def test_main_writes_the_table_and_json(tmp_path: Path) -> None:
    out = tmp_path / "throughput.json"
    env_throughput.main(
        ["--sizes", "2", "--repeats", "1", "--min-time", "0.001", "--out", str(out)]
    )
    report = json.loads(out.read_text())
    assert report["reference"] == env_throughput.REFERENCE
    assert len(report["results"]) == len(env_throughput.FORMS)
    assert report["table"].count("\n") == 1 + len(env_throughput.FORMS)
