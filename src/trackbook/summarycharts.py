"""The summary's metric curves: one Vega-Lite spec per metric, built by ``tb.plot``'s builder.

Each chart overlays the best runs' curves of one metric (``plots.curves_chart``, the builder the
panel uses: legend click picks a run, hover shows the values), its points downsampled in DuckDB
to :data:`CURVE_BUDGET` per chart. The inline data is then stored by column, strings as
dictionary codes, which makes it about four times smaller than Altair's records; the page
script turns it back into records before drawing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from trackbook import plotdata, series
from trackbook.store import Store

CURVE_BUDGET = 5_000  # points per chart, split across its runs (as DESIGN asks)
MAX_CHARTS = 6
MAX_CURVE_RUNS = 20  # runs drawn per chart: more lines than this read as noise
WIDTH, HEIGHT = 460, 220
DROPPED_FIELDS = ("wall_time",)  # the x axis is the step; wall time would only add bytes
COLUMNS_MARK = "tb_columns"  # how the page script recognises a dataset stored by column


@dataclass
class Chart:
    metric: str
    spec: dict[str, Any]
    n_runs: int
    n_points: int


def build(frame: Any, summaries: Any, keys: list[str], *, store: Store
          ) -> tuple[list[Chart], list[str], list[str]]:
    """Charts of ``keys`` for the best runs of ``frame`` (ranked order).

    Returns
    -------
    tuple
        The charts, the ids of the runs drawn, and sentences about what was left out.
    """
    from trackbook import plots

    logged = summaries[summaries["key"].isin(keys)]
    with_curves = set(logged["run_id"])
    candidates = frame[frame["run_id"].isin(with_curves)]
    shown = candidates.head(MAX_CURVE_RUNS)
    notes = []
    if len(candidates) > len(shown):
        notes.append(f"Curves show the best {len(shown)} of {len(candidates)} runs with these "
                     "metrics; the tables list every run.")
    names = plotdata.labels(shown)
    domain = [names[r] for r in shown["run_id"]]  # one colour per run in every chart
    charts = []
    for key in keys:
        runs_of_key = set(logged.loc[logged["key"] == key, "run_id"])
        sub = shown[shown["run_id"].isin(runs_of_key)]
        if sub.empty:
            continue
        per_series = series.points_per_series(CURVE_BUDGET, len(sub))
        points = plotdata.curve_points(sub, [key], per_series=per_series, store=store)
        if points.empty:
            notes.append(f"{key} has no finite values to draw.")
            continue
        points["run"] = points["run_id"].map(names)
        log_y = plotdata.wants_log(points["value"])
        chart = plots.curves_chart(points, log_y=log_y, title=key, width=WIDTH, height=HEIGHT)
        # The builder's output is valid by construction (tests/test_plots.py checks it);
        # schema validation would cost ~0.6 s a chart.
        spec = chart.to_dict(validate=False)
        compact(spec, domain, log_ticks=decades(points["value"]) if log_y else None)
        charts.append(Chart(key, spec, n_runs=len(sub), n_points=len(points)))
    return charts, list(shown["run_id"]), notes


def decades(values: Any) -> list[float]:
    """Powers of ten spanning positive ``values`` (every other one past 8 decades)."""
    low, high = math.floor(math.log10(values.min())), math.ceil(math.log10(values.max()))
    step = 1 if high - low <= 8 else 2
    return [float(f"1e{k}") for k in range(low, high + 1, step)]


def compact(spec: dict[str, Any], domain: list[str], *,
            log_ticks: list[float] | None = None) -> None:
    """Store inline data by column, fix the run colours, lay the legend out under the plot;
    a log axis gets its ticks and grid lines at ``log_ticks`` only."""
    datasets = spec.get("datasets", {})
    for name, rows in list(datasets.items()):
        datasets[name] = by_column(rows)
    data = spec.get("data")
    if isinstance(data, dict) and isinstance(data.get("values"), list):
        data["values"] = by_column(data["values"])
    spec["width"] = "container"  # the page's grid decides the size; the chart follows it
    spec["autosize"] = {"type": "fit-x", "contains": "padding"}
    for encoding in _encodings(spec):
        y = encoding.get("y")
        if log_ticks and isinstance(y, dict) and (y.get("scale") or {}).get("type") == "log":
            # Left to itself a log axis draws a grid line at every minor tick (2x, 3x...).
            y["axis"] = {**(y.get("axis") or {}), "values": log_ticks}
        color = encoding.get("color")
        if isinstance(color, dict) and color.get("field") == "run":
            color["scale"] = {"domain": domain}
            legend = color.get("legend")
            if isinstance(legend, dict):
                legend.update(orient="bottom", columns=3, labelLimit=170, title=None,
                              columnPadding=12, symbolSize=120)


def _encodings(spec: Any) -> list[dict[str, Any]]:
    """Every ``encoding`` object of a (layered, faceted) spec."""
    found: list[dict[str, Any]] = []
    if isinstance(spec, dict):
        if isinstance(spec.get("encoding"), dict):
            found.append(spec["encoding"])
        for key in ("layer", "spec", "hconcat", "vconcat", "concat"):
            part = spec.get(key)
            for child in part if isinstance(part, list) else [part]:
                found += _encodings(child)
    return found


def by_column(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Records as columns: numbers rounded to what a chart can show, strings as codes."""
    fields = [f for f in (rows[0] if rows else {}) if f not in DROPPED_FIELDS]
    columns: dict[str, Any] = {}
    for name in fields:
        values = [row.get(name) for row in rows]
        if values and all(isinstance(v, str) for v in values):
            levels = list(dict.fromkeys(values))
            code = {level: i for i, level in enumerate(levels)}
            columns[name] = {"levels": levels, "codes": [code[v] for v in values]}
        else:
            columns[name] = [_rounded(v, name) for v in values]
    return {COLUMNS_MARK: len(rows), "fields": columns}


def _rounded(value: Any, name: str) -> Any:
    if not isinstance(value, float):
        return value
    if not math.isfinite(value):
        return None  # JSON has no NaN; a chart cannot draw one anyway
    if name == "time_s":
        return round(value, 2)
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return float(f"{value:.6g}")  # tooltips show 4 digits; 6 keep every pixel right
