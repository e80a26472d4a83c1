import matplotlib

matplotlib.use("Agg")

import json
import re
from pathlib import Path

import altair as alt
import ipywidgets as W
import nbformat
import numpy as np
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


def _fake_curves() -> dict[tuple[str, str], np.ndarray]:
    """Curves of 3 seeds at 4 x values for 2 families x 3 methods, all different."""
    curves = {}
    for i, family in enumerate(("cartpole", "flipped")):
        for j, method in enumerate(("scratch", "reptile", "lstm")):
            curves[(family, method)] = np.arange(12.0).reshape(3, 4) + 100 * i + 10 * j
    return curves


def _fake_benchmark_sweep(**kwargs) -> sweeps.Sweep:
    options = {
        "axes": ("family", "method"),
        "title": "fake benchmark",
        "xlabel": "steps",
        "ylabel": "return",
        "reference": 475,
        **kwargs,
    }
    return widgets.benchmark_sweep("_fake_bench", _fake_curves(), [0, 10, 20, 30], **options)


def test_benchmark_sweep_puts_the_curves_on_a_grid() -> None:
    sweep = _fake_benchmark_sweep(seeds=(3, 4, 5))
    assert sweep.grid == {
        "family": ["cartpole", "flipped"],
        "method": ["scratch", "reptile", "lstm"],
    }
    assert sweep.defaults == {"family": "cartpole", "method": "scratch"}
    assert sweep.seeds == [3, 4, 5] and sweep.x == [0.0, 10.0, 20.0, 30.0]
    assert sweep.reference == 475.0
    for (family, method), curves in _fake_curves().items():
        assert sweep.curves_at({"family": family, "method": method}).tolist() == curves.tolist()
    # It survives the round trip through JSON, as a stored sweep does.
    assert sweeps.Sweep.from_json(sweep.to_json()) == sweep
    assert _fake_benchmark_sweep().seeds == [0, 1, 2]
    other = _fake_benchmark_sweep(defaults={"family": "flipped", "method": "lstm"})
    assert other.defaults == {"family": "flipped", "method": "lstm"}


def test_benchmark_sweep_rejects_bad_curves() -> None:
    x = [0, 10, 20, 30]
    options = {"axes": ("family", "method"), "title": "t", "xlabel": "x", "ylabel": "y"}
    missing = _fake_curves()
    del missing[("flipped", "reptile")]
    with pytest.raises(ValueError, match=r"no entry for the grid point \('flipped', 'reptile'\)"):
        widgets.benchmark_sweep("b", missing, x, **options)
    short = _fake_curves()
    short[("cartpole", "lstm")] = short[("cartpole", "lstm")][:, :3]
    with pytest.raises(ValueError, match=r"shape \(3, 3\): allowed is \(3, 4\)"):
        widgets.benchmark_sweep("b", short, x, **options)
    nan = _fake_curves()
    nan[("flipped", "scratch")][1, 2] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        widgets.benchmark_sweep("b", nan, x, **options)
    with pytest.raises(ValueError, match="curves key"):
        widgets.benchmark_sweep("b", {("cartpole",): np.zeros((3, 4))}, x, **options)
    with pytest.raises(ValueError, match="at least 3"):
        widgets.benchmark_sweep("b", {("a", "b"): np.zeros((2, 4))}, x, **options)
    with pytest.raises(ValueError, match="seeds="):
        widgets.benchmark_sweep("b", _fake_curves(), x, seeds=(0, 1), **options)
    with pytest.raises(ValueError, match=r"defaults\['method'\]='adam' is not allowed"):
        widgets.benchmark_sweep(
            "b", _fake_curves(), x, defaults={"family": "cartpole", "method": "adam"}, **options
        )
    with pytest.raises(ValueError, match="name='no name' is not allowed"):
        widgets.benchmark_sweep("no name", _fake_curves(), x, **options)


def test_explorer_and_chart_over_a_benchmark_sweep() -> None:
    sweep = _fake_benchmark_sweep()
    with pytest.raises(ValueError, match="live=True is not allowed for '_fake_bench'"):
        widgets.sweep_explorer(sweep)
    labels = {"family": "task family"}
    explorer = widgets.sweep_explorer(sweep, live=False, labels=labels)
    family, method, _out = explorer.children  # no Train-live button, no status
    assert isinstance(family, W.ToggleButtons) and family.description == "task family"
    assert isinstance(method, W.ToggleButtons) and method.description == "method"
    method.value = "lstm"  # redraws from the given curves
    html = explorer._repr_mimebundle_()["text/html"]
    spec = json.loads(re.search(r'-spec">(.*?)</script>', html, re.S).group(1))
    assert spec == json.loads(json.dumps(widgets.sweep_chart(sweep, labels).to_dict()))
    assert 'id="metarl-chart-_fake_bench-' in html
    rows = spec["layer"][0]["data"]["values"]
    row = next(r for r in rows if r["a0"] == "flipped" and r["a1"] == "reptile")
    assert row["mean"] == pytest.approx([114.0, 115.0, 116.0, 117.0])


def test_explorer_and_chart_take_a_sweep_or_its_name(stored_toy) -> None:
    sweep = sweeps.load("_wtoy")
    by_name = widgets.sweep_chart("_wtoy").to_dict()
    assert by_name == widgets.sweep_chart(sweep, stored_toy.labels).to_dict()
    # A registered sweep passed as an object keeps its labels and its live button.
    slider, _toggle, button, _status, _out = widgets.sweep_explorer(sweep).children
    assert slider.description == "step size" and isinstance(button, W.Button)


def _fake_report(steps_scratch: list[int], steps_start: list[int]) -> dict:
    """A meta_dqn benchmark report with 2 families, 2 methods, 3 seeds, 2 tasks per seed."""
    methods = {"scratch_adam": "from scratch", "reptile_adam": "Reptile start"}
    units = []
    for family in ("flipped", "cartpole"):  # out of order: the view sorts them
        for seed in (2, 0, 1):
            runs = {}
            for k, method in enumerate(methods):
                steps = steps_scratch if method == "scratch_adam" else steps_start
                runs[method] = {
                    "eval_steps": steps,
                    "eval_returns": [[seed + k + i, seed + k + i + 2] for i in range(len(steps))],
                }
            units.append({"family": family, "seed": seed, "runs": runs})
    return {
        "families": {"cartpole": "c-v0", "flipped": "f-v0"},
        "methods": methods,
        "threshold": 475.0,
        "tasks_per_seed": 2,
        "units": units,
    }


def test_ch5_methods_view_reads_the_benchmark(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # data_path() looks in ./data first
    path = tmp_path / "data" / sweeps.CH5_BENCHMARK
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(_fake_report([0, 10, 20, 30, 40], [0, 10, 20])))
    sweep, labels = widgets.stored_sweep("ch5_methods")
    assert labels == {"family": "task family", "method": "method"}
    assert sweep.grid == {
        "family": ["cartpole", "flipped"],
        "method": ["from scratch", "Reptile start"],
    }
    assert sweep.defaults == {"family": "cartpole", "method": "from scratch"}
    assert sweep.seeds == [0, 1, 2] and sweep.x == [0.0, 10.0, 20.0]  # the common steps
    assert sweep.reference == 475.0
    # Seed s, method k, evaluation i: tasks return s + k + i and s + k + i + 2.
    curves = sweep.curves_at({"family": "flipped", "method": "Reptile start"})
    assert curves.tolist() == [[s + 1 + i + 1 for i in range(3)] for s in range(3)]
    with pytest.raises(ValueError, match="live=True is not allowed for 'ch5_methods'"):
        widgets.sweep_explorer("ch5_methods")
    assert len(widgets.sweep_explorer("ch5_methods", live=False).children) == 3


def test_views_and_sweeps_have_distinct_names() -> None:
    with pytest.raises(ValueError, match="registered already"):
        sweeps.register_view("ch5_reptile", lambda: None, {})
    with pytest.raises(ValueError, match="registered already"):
        sweeps.register_view("ch5_methods", lambda: None, {})


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
    fresh = widgets.sweep_chart(*widgets.stored_sweep(name)).to_dict()
    assert json.loads(spec) == json.loads(json.dumps(fresh)), (
        f"{notebook}: the chart of {name!r} is stale: run `make notebooks`"
    )


@pytest.mark.parametrize("path", sorted(BOOK.glob("[0-9][0-9]_*.ipynb")), ids=lambda p: p.name)
def test_every_chapter_has_a_website_chart(path: Path) -> None:
    """Each chapter carries at least one kernel-free chart for its website page."""
    assert any(notebook == path.name for notebook, _, _ in _committed_charts()), (
        f"{path.name}: no sweep_explorer chart in the committed outputs"
    )
