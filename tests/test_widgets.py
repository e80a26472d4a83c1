import matplotlib

matplotlib.use("Agg")

import ipywidgets as W
import pytest

from metarl_lite import sweeps, widgets


def _toy_run(params: sweeps.Params, seed: int) -> tuple[list[float], list[float]]:
    return [0.0, 1.0], [params["lr"] + seed, params["lr"] * 2 + seed]


@pytest.fixture
def stored_toy(tmp_path, monkeypatch):
    spec = sweeps.register(
        sweeps.SweepSpec(
            "_wtoy",
            "toy",
            {"lr": (0.1, 0.2, 0.3), "kind": ("a", "b")},
            {"lr": 0.2, "kind": "a"},
            (0, 1, 2),
            _toy_run,
            "steps",
            "y",
            reference=1.0,
        )
    )
    sweeps.save(sweeps.run_sweep(spec, progress=False), tmp_path)
    monkeypatch.setattr(sweeps, "DATA_DIR", tmp_path)
    yield spec
    del sweeps.REGISTRY["_wtoy"]


def test_explorer_builds_controls_and_redraws(stored_toy) -> None:
    box = widgets.sweep_explorer("_wtoy")
    slider, toggle, button, _status, _out = box.children
    assert isinstance(slider, W.SelectionSlider) and slider.value == 0.2
    assert isinstance(toggle, W.ToggleButtons)
    slider.value = 0.3  # triggers a redraw from the stored data
    button.click()  # trains live and reports whether it matches the stored curves
    assert not button.disabled


def test_sweep_figure_shows_point_defaults_and_live(stored_toy) -> None:
    sweep = sweeps.load("_wtoy")
    fig = widgets.sweep_figure(
        sweep, {"lr": 0.1, "kind": "b"}, live=sweep.curves_at(sweep.defaults)
    )
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["stored: lr=0.1, kind=b", "stored: defaults", "trained live", "target 1"]
