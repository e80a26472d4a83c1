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
    return [0.0, 1.0], [params["width"] + seed, params["width"] * 2 + seed]


@pytest.fixture
def stored_toy(tmp_path, monkeypatch):
    spec = sweeps.register(
        sweeps.SweepSpec(
            "_wtoy",
            "toy",
            # Axis names that would break a chart using them as Vega names:
            # "width" is a built-in signal, "n-step" is no identifier.
            {"width": (0.1, 0.2, 0.3), "n-step": ("a", "b")},
            {"width": 0.2, "n-step": "a"},
            (0, 1, 2),
            _toy_run,
            "steps",
            "y",
            reference=1.0,
            labels={"width": "step size"},
        )
    )
    sweeps.save(sweeps.run_sweep(spec, progress=False), tmp_path)
    monkeypatch.setattr(sweeps, "DATA_DIR", tmp_path)
    yield spec
    del sweeps.REGISTRY["_wtoy"]


def test_explorer_builds_controls_and_redraws(stored_toy, capsys) -> None:
    box = widgets.sweep_explorer("_wtoy")
    slider, toggle, button, _status, _out = box.children
    assert isinstance(slider, W.SelectionSlider) and slider.value == 0.2
    assert slider.description == "step size" and toggle.description == "n-step"
    assert isinstance(toggle, W.ToggleButtons)
    slider.value = 0.3  # triggers a redraw from the stored data
    capsys.readouterr()
    button.click()  # trains live and reports whether it matches the stored curves
    # Outside a kernel the Output widget captures nothing: the verdict reaches stdout.
    assert "identical to the stored curves" in capsys.readouterr().out
    assert not button.disabled


def test_sweep_figure_shows_point_defaults_and_live(stored_toy) -> None:
    sweep = sweeps.load("_wtoy")
    fig = widgets.sweep_figure(
        sweep, {"width": 0.1, "n-step": "b"}, live=sweep.curves_at(sweep.defaults)
    )
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == [
        "stored: width=0.1, n-step=b",
        "stored: defaults",
        "trained live",
        "target 1",
    ]


def test_explorer_output_carries_the_website_chart(stored_toy) -> None:
    explorer = widgets.sweep_explorer("_wtoy", live=False)
    bundle = explorer._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle  # what Jupyter draws
    assert 'class="metarl-chart"' in bundle["text/html"]  # what the website draws


def test_sweep_chart_carries_every_point_and_binds_every_axis(stored_toy) -> None:
    sweep = sweeps.load("_wtoy")
    spec = widgets.sweep_chart(sweep, stored_toy.labels).to_dict()
    rows = spec["layer"][0]["data"]["values"]
    assert len(rows) == 6 and sum(r["is_default"] for r in rows) == 1
    row = next(r for r in rows if r["a0"] == 0.3 and r["a1"] == "b")
    mean, low, high = mean_and_band(sweep.curves_at({"width": 0.3, "n-step": "b"}))
    assert row["x"] == sweep.x
    assert row["mean"] == pytest.approx(mean, rel=1e-3)
    assert row["low"] == pytest.approx(low, rel=1e-3)
    assert row["high"] == pytest.approx(high, rel=1e-3)
    # Axes become neutral Vega names p0, p1 (never "width": Vega's own signal).
    params = {p["name"]: p for p in spec["params"]}
    assert list(params) == ["p0", "p1"]
    assert params["p0"]["value"] == 0.2
    assert params["p0"]["bind"] == {
        "input": "radio",
        "options": [0.1, 0.2, 0.3],
        "name": "step size ",
    }
    assert params["p1"]["bind"] == {"input": "radio", "options": ["a", "b"], "name": "n-step "}
    assert spec["layer"][0]["transform"][0] == {
        "filter": "datum.is_default || (datum.a0 === p0 && datum.a1 === p1)"
    }


def test_website_chart_scripts_match_the_chart_specification() -> None:
    """Altair writes specifications for one Vega-Lite version; the site must serve that one."""
    pinned = json.loads((BOOK.parent / "web" / "package.json").read_text())["dependencies"]
    assert pinned["vega-lite"] == alt.VEGALITE_VERSION.lstrip("v")
    assert pinned["vega"].split(".")[0] == alt.VEGA_VERSION.lstrip("v").split(".")[0]
    assert pinned["vega-embed"].split(".")[0] == alt.VEGAEMBED_VERSION.lstrip("v").split(".")[0]


def test_chart_html_rejects_an_unsafe_element_id() -> None:
    chart = alt.Chart(alt.Data(values=[{"a": 1}])).mark_point()
    with pytest.raises(ValueError, match=r"element_id='x\"\);alert\(1' is not allowed"):
        widgets.chart_html(chart, 'x");alert(1')


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
                    r'id="metarl-chart-([\w-]+)-\d+-spec">(.*?)</script>', page, re.S
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
    fresh = widgets.sweep_chart(sweeps.load(name), sweeps.get_spec(name).labels).to_dict()
    assert json.loads(spec) == json.loads(json.dumps(fresh)), (
        f"{notebook}: the chart of {name!r} is stale: run `make notebooks`"
    )
