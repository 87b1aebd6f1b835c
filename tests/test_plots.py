"""tb.plot: charts built from a real store, checked through ``to_dict()``."""

from __future__ import annotations

import math

import pandas as pd
import pytest

import trackbook as tb
from trackbook import plotdata


@pytest.fixture
def sweep() -> list[str]:
    """Nine runs: three learning rates x three seeds, two metrics of 200 steps."""
    ids = []
    for lr in (1e-4, 1e-3, 1e-2):
        for seed in range(3):
            params = {"lr": lr, "seed": seed, "opt": "adam" if seed % 2 else "sgd"}
            with tb.start_run(f"lr={lr} seed={seed}", params=params) as run:
                for i in range(200):
                    run.log(loss=math.exp(-i * lr * 10) + 0.01 * seed, acc=i / 200)
            ids.append(run.run_id)
    return ids


def _values(spec: dict) -> list[dict]:
    """Every inline row of a chart (Altair moves inline data into ``datasets``)."""
    return [row for rows in spec.get("datasets", {}).values() for row in rows]


def _marks(spec: dict) -> list[str]:
    layers = spec.get("layer") or spec.get("spec", {}).get("layer") or [spec]
    return [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"]
            for layer in layers]


def test_curves_of_one_metric(sweep: list[str]) -> None:
    spec = tb.plot.curves(sweep[:3], "loss").to_dict()
    rows = _values(spec)
    assert {r["run"] for r in rows} == {"lr=0.0001 seed=0", "lr=0.0001 seed=1",
                                        "lr=0.0001 seed=2"}
    assert len(rows) == 3 * 200 and {r["metric"] for r in rows} == {"loss"}
    assert _marks(spec) == ["line", "circle"]
    assert spec["title"] == "loss"
    assert spec["layer"][0]["encoding"]["x"]["field"] == "step"
    assert any(p.get("bind") == "legend" for p in spec["params"])  # click a run to pick it


def test_curves_facet_metrics_smooth_and_log(sweep: list[str]) -> None:
    spec = tb.plot.curves(sweep[:2], ["loss", "acc"], smooth=0.9, log_y=True).to_dict()
    assert spec["facet"]["field"] == "metric" and spec["facet"]["sort"] == ["loss", "acc"]
    assert spec["resolve"]["scale"]["y"] == "independent"
    rows = _values(spec)
    assert all("smooth" in r for r in rows)
    assert _marks(spec) == ["line", "line", "circle"]  # raw faint, smoothed, hover points
    # acc starts at 0, which a log axis cannot show: the shared y scale is symlog
    assert spec["spec"]["layer"][1]["encoding"]["y"]["scale"]["type"] == "symlog"
    one = pd.DataFrame([r for r in rows if r["run_id"] == sweep[0] and r["metric"] == "loss"])
    expected = plotdata.smoothed(one["value"], 0.9)
    assert one["smooth"].tolist() == pytest.approx(expected.tolist())


def test_smoothing_is_tensorboards_debiased_ema() -> None:
    values = pd.Series([1.0, 2.0, 3.0, 10.0])
    weight, last, out = 0.6, 0.0, []
    for i, v in enumerate(values, start=1):
        last = last * weight + (1 - weight) * v
        out.append(last / (1 - weight**i))
    assert plotdata.smoothed(values, weight).tolist() == pytest.approx(out)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        plotdata.smoothed(values, 1.0)


def test_log_scale_falls_back_to_symlog_when_values_reach_zero(sweep: list[str]) -> None:
    spec = tb.plot.curves(sweep[:1], "acc", log_y=True).to_dict()  # acc starts at 0
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "symlog"
    spec = tb.plot.curves(sweep[:1], "loss", log_y=True).to_dict()
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"


def test_x_can_be_time_or_wall_time(sweep: list[str]) -> None:
    spec = tb.plot.curves(sweep[:1], "loss", x="wall_time").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["type"] == "temporal"
    assert isinstance(_values(spec)[0]["wall_time"], int)  # epoch milliseconds
    spec = tb.plot.curves(sweep[:1], "loss", x="time").to_dict()
    assert spec["layer"][0]["encoding"]["x"]["field"] == "time_s"
    with pytest.raises(ValueError, match="x must be one of"):
        tb.plot.curves(sweep[:1], "loss", x="epoch")


def test_group_by_draws_mean_and_std_bands(sweep: list[str]) -> None:
    spec = tb.plot.curves(metric="loss", group_by="lr").to_dict()
    assert _marks(spec) == ["area", "line"]
    rows = _values(spec)
    assert {r["group"] for r in rows} == {"lr=0.0001", "lr=0.001", "lr=0.01"}
    assert {r["n"] for r in rows} == {3}  # three seeds in every group and bucket
    first = next(r for r in rows if r["group"] == "lr=0.01" and r["step"] < 1)
    assert first["mean"] == pytest.approx(1.01)  # exp(0) + 0.01 * mean(seed)
    assert first["lo"] < first["mean"] < first["hi"]


def test_group_by_true_groups_by_every_param_but_the_seed(sweep: list[str]) -> None:
    spec = tb.plot.curves(metric="loss", group_by=True).to_dict()
    groups = {r["group"] for r in _values(spec)}
    assert groups == {f"lr={lr} opt={opt}" for lr in ("0.0001", "0.001", "0.01")
                      for opt in ("adam", "sgd")}


def test_runs_by_prefix_name_or_frame_keep_the_order_given(sweep: list[str]) -> None:
    frame = plotdata.select_runs([sweep[4][:8], "lr=0.0001 seed=0"])
    assert list(frame["run_id"]) == [sweep[4], sweep[0]]
    frame = plotdata.select_runs(tb.runs(where="params.lr = 0.01"))
    assert set(frame["run_id"]) == set(sweep[6:])
    frame = plotdata.select_runs(where="params.seed = 1", limit=2)
    assert len(frame) == 2


def test_errors_name_what_exists(sweep: list[str]) -> None:
    with pytest.raises(ValueError, match="their metrics are: acc, loss"):
        tb.plot.curves(sweep[:1], "val_loss")
    with pytest.raises(ValueError, match="no runs to plot"):
        tb.plot.curves(where="params.lr > 1")
    with pytest.raises(ValueError, match="their params are: lr, opt, seed"):
        tb.plot.scatter("dropout", "loss")
    with pytest.raises(tb.RunNotFound):
        tb.plot.curves(["ffffff"], "loss")


def test_a_budget_bounds_the_points_sent(sweep: list[str]) -> None:
    spec = tb.plot.curves(sweep, ["loss", "acc"], budget=900).to_dict()
    assert len(_values(spec)) <= 900
    assert tb.plot.curves(sweep, "loss", points=40).to_dict()  # 40 per series


def test_scatter_guesses_a_log_axis_and_colours(sweep: list[str]) -> None:
    spec = tb.plot.scatter("lr", "loss.min", color="opt").to_dict()
    assert spec["encoding"]["x"]["scale"]["type"] == "log"
    assert spec["encoding"]["color"]["type"] == "nominal"
    rows = _values(spec)
    assert len(rows) == 9
    best = min(rows, key=lambda r: r["_y"])
    assert best["_x"] == 0.01 and best["run"].startswith("lr=0.01")
    assert spec["title"] == "loss.min by lr"
    spec = tb.plot.scatter("opt", "acc").to_dict()
    assert spec["encoding"]["x"]["type"] == "nominal"


def test_parallel_coordinates(sweep: list[str]) -> None:
    spec = tb.plot.parallel(metric="loss.min").to_dict()
    rows = [r for r in _values(spec) if "run_id" in r]
    axes = {r["axis"]: r["order"] for r in rows}
    assert axes == {"lr": 0, "opt": 1, "seed": 2, "loss.min": 3}
    assert all(0 <= r["position"] <= 1 for r in rows)
    lr = {r["value"]: r["position"] for r in rows if r["axis"] == "lr"}
    assert lr == {"0.0001": 0.0, "0.001": 0.5, "0.01": 1.0}  # log-spaced
    opt = {r["value"]: r["position"] for r in rows if r["axis"] == "opt"}
    assert opt == {"adam": 0.0, "sgd": 1.0}
    line = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    assert line["encoding"]["color"]["scale"]["reverse"] is True  # loss: low is best
    with pytest.raises(ValueError, match="say which metric"):
        tb.plot.parallel()


def test_altair_row_limit_stays_on() -> None:
    import altair as alt

    assert alt.data_transformers.active == "default"
    assert alt.data_transformers.options.get("max_rows", 5000) == 5000


# -- the static preview outputs without widgets show ----------------------------------------------

def _svg(spec: dict) -> str:
    from trackbook import chartpreview

    svg = chartpreview.svg_of(spec)
    assert svg is not None
    return svg


def test_a_curves_preview_draws_each_metric_and_run(sweep: list[str]) -> None:
    import xml.etree.ElementTree as ET

    svg = _svg(tb.plot.curves(sweep[:4], ["loss", "acc"], smooth=0.5).to_dict())
    root = ET.fromstring(svg)  # well-formed XML: an <img> of it displays
    ns = "{http://www.w3.org/2000/svg}"
    texts = [t.text for t in root.iter(f"{ns}text")]
    assert {"loss", "acc", "run", "step", "lr=0.0001 seed=0"} <= set(texts)
    assert len(list(root.iter(f"{ns}polyline"))) == 2 * 4  # a line per run per metric


def test_a_band_preview_has_a_band_per_group_and_the_group_title(sweep: list[str]) -> None:
    svg = _svg(tb.plot.curves(sweep, "loss", group_by="lr").to_dict())
    assert svg.count("<polygon") == 3 and svg.count("<polyline") == 3
    assert ">lr<" in svg  # the legend's title is the grouping param, as in the live chart


def test_preview_escapes_names_thins_long_series_and_skips_other_charts(sweep: list[str]
                                                                       ) -> None:
    from trackbook import chartpreview

    with tb.start_run("<script>alert(1)</script>") as run:
        for i in range(5000):
            run.log(loss=2 + math.sin(i / 50) + (20.0 if i == 2345 else 0.0))
    spec = tb.plot.curves([run.run_id], "loss", log_y=True).to_dict()
    svg = _svg(spec)
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    points = svg.split("points='")[1].split("'")[0].split()
    assert len(points) <= chartpreview.POINTS_PER_SERIES + 4  # thinned ...
    ys = [float(p.split(",")[1]) for p in svg.split("<polyline")[1].split("points='")[1]
          .split("'")[0].split()]
    assert min(ys) < 30  # ... the spike (the highest value, at the top) is still drawn
    assert chartpreview.svg_of(tb.plot.scatter("params.lr", "metrics.loss", sweep).to_dict()) \
        is None
    assert chartpreview.svg_of({"mark": "point", "data": {"values": [{"a": 1}]}}) is None


def test_the_renderer_adds_the_preview_for_tb_plot_charts_only(sweep: list[str]) -> None:
    from trackbook import widget

    bundle = widget.altair_renderer(tb.plot.curves(sweep[:2], "loss").to_dict())
    assert bundle["text/html"].startswith('<img alt="&lt;trackbook chart:')
    assert "data:image/svg+xml;base64," in bundle["text/html"]
    other = widget.altair_renderer(tb.plot.scatter("params.lr", "metrics.loss", sweep).to_dict())
    assert "text/html" not in other and "image/svg+xml" not in other
