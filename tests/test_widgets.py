import matplotlib

matplotlib.use("Agg")

import json
import re
from pathlib import Path

import altair as alt
import ipywidgets as W
import nbformat
import pytest

from metarl_lite import sweeps, widgets
from metarl_lite.plotting import mean_and_band

BOOK = Path(__file__).resolve().parents[1] / "book"


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


def test_explorer_output_carries_the_website_chart(stored_toy) -> None:
    explorer = widgets.sweep_explorer("_wtoy", live=False)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # what Jupyter draws
    assert 'class="metarl-chart"' in bundle["text/html"]  # what the website draws


def test_sweep_chart_carries_every_point_and_binds_every_axis(stored_toy) -> None:
    sweep = sweeps.load("_wtoy")
    spec = widgets.sweep_chart(sweep).to_dict()
    rows = spec["layer"][0]["data"]["values"] if "data" in spec["layer"][0] else None
    rows = rows or next(iter(spec["datasets"].values()))
    assert len(rows) == 6 and sum(r["is_default"] for r in rows) == 1
    row = next(r for r in rows if r["lr"] == 0.3 and r["kind"] == "b")
    mean, low, high = mean_and_band(sweep.curves_at({"lr": 0.3, "kind": "b"}))
    assert row["x"] == sweep.x
    assert row["mean"] == pytest.approx(mean, rel=1e-3)
    assert row["low"] == pytest.approx(low, rel=1e-3)
    assert row["high"] == pytest.approx(high, rel=1e-3)
    params = {p["name"]: p for p in spec["params"]}
    assert list(params) == ["lr", "kind"]
    assert params["lr"]["value"] == 0.2 and params["lr"]["bind"]["options"] == [0.1, 0.2, 0.3]
    assert params["kind"]["bind"] == {"input": "radio", "options": ["a", "b"], "name": "kind "}


def test_chart_html_keeps_the_spec_inside_its_script() -> None:
    chart = alt.Chart(alt.Data(values=[{"a": "</script><b>"}])).mark_point()
    page = widgets.chart_html(chart, "c1")
    assert page.count("</script>") == 2  # the spec's and the drawing code's, nothing else
    spec = re.search(r'id="c1-spec">(.*?)</script>', page, re.S).group(1)
    assert json.loads(spec)["data"]["values"] == [{"a": "</script><b>"}]


def _committed_charts() -> list[tuple[str, str, str]]:
    """(notebook, sweep name, spec JSON) of every chart in the committed outputs."""
    found = []
    for path in sorted(BOOK.glob("[0-9][0-9]_*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            for output in cell.get("outputs", []):
                page = output.get("data", {}).get("text/html", "")
                for name, spec in re.findall(
                    r'id="metarl-chart-(\w+)-\d+-spec">(.*?)</script>', page, re.S
                ):
                    found.append((path.name, name, spec))
    return found


def test_every_explorer_in_the_book_has_its_chart() -> None:
    explorers = sum(
        "sweep_explorer(" in cell.source
        for path in BOOK.glob("[0-9][0-9]_*.ipynb")
        for cell in nbformat.read(path, as_version=4).cells
        if cell.cell_type == "code"
    )
    assert explorers > 0 and len(_committed_charts()) == explorers


@pytest.mark.parametrize("notebook, name, spec", _committed_charts())
def test_committed_chart_matches_the_stored_sweep(notebook: str, name: str, spec: str) -> None:
    """A sweep recomputed without re-running the notebooks leaves a stale website chart."""
    fresh = widgets.sweep_chart(sweeps.load(name)).to_dict()
    assert json.loads(spec) == json.loads(json.dumps(fresh)), (
        f"{notebook}: the chart of {name!r} is stale: run `make notebooks`"
    )
