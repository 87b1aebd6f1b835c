"""``tb.plot``: metric curves, a param against a metric, parallel coordinates (Altair charts).

The only module that imports altair. Each public function picks runs and data (through
:mod:`trackbook.plotdata`, downsampled in DuckDB) and hands a tidy DataFrame to a pure builder
(``curves_chart``, ``band_chart``, ``scatter_chart``, ``parallel_chart``) that returns an
``altair.Chart``; the panel, the compare view and the exported summary use the same builders.
Data goes in as ``alt.InlineData`` already cut to the chart's budget, so Altair's row limit
is never lifted. Colours are left to the theme the chart is drawn in (light or dark notebook,
or the summary page).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

import altair as alt

from trackbook import chartpreview, plotdata, series
from trackbook.leaderboard import guess_goal
from trackbook.plotdata import StoreArg

WIDTH, HEIGHT = 520, 240
MAX_LEGEND = 20
SHOW_POINTS_UP_TO = 60  # series this short are drawn with a dot per point
X_AXES = {  # x= choice -> (field, type, axis title)
    "step": ("step", "quantitative", "step"),
    "time": ("time_s", "quantitative", "time since start (s)"),
    "wall_time": ("wall_time", "temporal", "wall time"),
}
__all__ = ["band_chart", "curves", "curves_chart", "parallel", "parallel_chart", "scatter",
           "scatter_chart"]


def _inline(frame: Any, columns: Sequence[str]) -> alt.InlineData:
    """Rows as JSON-ready records (NaN -> null, times -> epoch ms) for ``alt.InlineData``."""
    import pandas as pd

    data = frame[list(columns)].copy()
    for name in data.columns:
        if pd.api.types.is_datetime64_any_dtype(data[name]):
            data[name] = (data[name] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(milliseconds=1)
    records = json.loads(data.to_json(orient="records"))
    # Altair validates a new InlineData row by row against the schema (2 s for 20k rows);
    # these rows are plain JSON made just above, and the chart is still validated in to_dict.
    with alt.utils.schemapi.debug_mode(False):
        return alt.InlineData(values=records)


def _x(x: str) -> tuple[str, str, str]:
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}, not {x!r}")
    return X_AXES[x]


def _x_encoding(field: str, kind: str, title: str) -> alt.X:
    # Steps are whole numbers: no tick at step 0.5.
    axis = alt.Axis(tickMinStep=1, format="~d") if field == "step" else alt.Axis()
    return alt.X(f"{field}:{kind[0].upper()}", title=title, axis=axis)


def _y_scale(values: Any, log_y: bool) -> alt.Scale:
    if not log_y:
        return alt.Scale(zero=False)
    # A log axis cannot show zero or negative values; symlog can, and looks alike elsewhere.
    positive = len(values) == 0 or bool((values.dropna() > 0).all())
    return alt.Scale(type="log") if positive else alt.Scale(type="symlog")


def _legend() -> alt.Legend:
    # Symbols drawn as full strokes: the legend would otherwise copy a faint layer's opacity.
    return alt.Legend(symbolType="stroke", symbolOpacity=1, symbolStrokeWidth=2.5,
                      labelLimit=240)


def _faceted(layers: Any, data: alt.InlineData, metrics: list[str], title: str | None,
             width: int, height: int, columns: int, preview: dict[str, Any]) -> Any:
    """One panel per metric (each with its own y axis), or the single chart with a title.

    ``preview`` (``chartpreview.describe``) goes into ``usermeta``: where no widget runs,
    the output shows a static drawing made from it and the chart's data.
    """
    if len(metrics) == 1:
        return layers.properties(data=data, width=width, height=height,
                                 title=title or metrics[0], usermeta=preview)
    facet = alt.Facet("metric:N", title=None, sort=metrics,
                      header=alt.Header(labelFontWeight="bold", labelFontSize=12))
    inner = layers.properties(width=min(width, 380), height=min(height, 200))
    chart = inner.facet(facet=facet, data=data, columns=columns)
    chart = chart.resolve_scale(x="independent", y="independent").properties(usermeta=preview)
    return chart.properties(title=title) if title else chart


# -- curves -------------------------------------------------------------------------------------

def curves_chart(points: Any, *, x: str = "step", log_y: bool = False, title: str | None = None,
                 width: int = WIDTH, height: int = HEIGHT, columns: int = 2) -> Any:
    """Metric curves, one line per run, one panel per metric.

    Parameters
    ----------
    points
        ``run_id, run, metric, step, time_s, wall_time, value`` and optionally ``smooth`` (then
        the raw line is drawn faint under the smoothed one), as ``plotdata.curve_points`` gives.
    x
        ``step``, ``time`` (seconds since each run started) or ``wall_time``.
    """
    field, kind, x_title = _x(x)
    metrics = list(dict.fromkeys(points["metric"]))
    n_runs = points["run"].nunique()
    smoothed = "smooth" in points.columns
    columns_out = ["run_id", "run", "metric", "step", "time_s", "wall_time", "value"]
    data = _inline(points, columns_out + (["smooth"] if smoothed else []))

    pick = alt.selection_point(fields=["run"], bind="legend", name="pick")
    hover = alt.selection_point(fields=["run_id", "metric", "step"], nearest=True,
                                on="pointerover", clear="pointerout", empty=False, name="hover")
    legend = _legend() if n_runs <= MAX_LEGEND else None
    color = alt.Color("run:N", title="run", legend=legend)
    x_enc = _x_encoding(field, kind, x_title)
    y_field = "smooth" if smoothed else "value"
    y_enc = alt.Y(f"{y_field}:Q", title=None, scale=_y_scale(points["value"], log_y))
    faded = alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.12))

    base = alt.Chart().encode(x=x_enc, color=color, detail="run_id:N")
    layers = []
    if smoothed:
        layers.append(base.mark_line(strokeWidth=1, clip=True).encode(
            y=alt.Y("value:Q", scale=_y_scale(points["value"], log_y), title=None),
            opacity=alt.when(pick).then(alt.value(0.25)).otherwise(alt.value(0.05))))
    # Short series (a value per epoch) show their points; a single point is all there is.
    longest = int(points.groupby(["run_id", "metric"]).size().max()) if len(points) else 0
    marker = alt.OverlayMarkDef(filled=True, size=22) if longest <= SHOW_POINTS_UP_TO else False
    layers.append(base.mark_line(strokeWidth=1.8, clip=True, point=marker)
                  .encode(y=y_enc, opacity=faded).add_params(pick))
    tooltip = [alt.Tooltip("run:N"), alt.Tooltip("metric:N"), alt.Tooltip("step:Q"),
               alt.Tooltip("value:Q", format=".4~g")]
    if smoothed:
        tooltip.append(alt.Tooltip("smooth:Q", format=".4~g", title="smoothed"))
    tooltip.append(alt.Tooltip("time_s:Q", format=".1f", title="seconds"))
    layers.append(base.mark_circle(size=48, clip=True).encode(
        y=y_enc, opacity=alt.when(hover).then(alt.value(1.0)).otherwise(alt.value(0.0)),
        tooltip=tooltip).add_params(hover))
    preview = chartpreview.describe("curves", x=field, y=y_field, series="run",
                                    x_title=x_title, log_y=log_y, x_time=kind == "temporal")
    return _faceted(alt.layer(*layers), data, metrics, title, width, height, columns, preview)


def band_chart(bands: Any, *, x: str = "step", log_y: bool = False, group_title: str = "group",
               title: str | None = None, width: int = WIDTH, height: int = HEIGHT,
               columns: int = 2) -> Any:
    """Mean ± std per group (e.g. over seeds), one band and line per group, a panel per metric.

    ``bands`` has ``group, metric, step, time_s, mean, std, lo, hi, n`` (``plotdata.band_points``).
    """
    field, kind, x_title = _x("time" if x == "wall_time" else x)
    metrics = list(dict.fromkeys(bands["metric"]))
    data = _inline(bands, ["group", "metric", "step", "time_s", "mean", "std", "lo", "hi", "n"])
    pick = alt.selection_point(fields=["group"], bind="legend", name="pick")
    n_groups = bands["group"].nunique()
    legend = _legend() if n_groups <= MAX_LEGEND else None
    color = alt.Color("group:N", title=group_title, legend=legend)
    scale = _y_scale(bands["lo"], log_y)
    x_enc = _x_encoding(field, kind, x_title)
    base = alt.Chart().encode(x=x_enc, color=color)
    band = base.mark_area(opacity=0.18, clip=True).encode(
        y=alt.Y("lo:Q", scale=scale, title=None), y2="hi:Q",
        opacity=alt.when(pick).then(alt.value(0.22)).otherwise(alt.value(0.03)))
    line = base.mark_line(strokeWidth=1.8, clip=True).encode(
        y=alt.Y("mean:Q", scale=scale, title=None),
        opacity=alt.when(pick).then(alt.value(1.0)).otherwise(alt.value(0.12)),
        tooltip=[alt.Tooltip("group:N", title=group_title), alt.Tooltip("metric:N"),
                 alt.Tooltip("step:Q", format=".0f"), alt.Tooltip("mean:Q", format=".4~g"),
                 alt.Tooltip("std:Q", format=".3~g"), alt.Tooltip("n:Q", title="runs")],
    ).add_params(pick)
    preview = chartpreview.describe("bands", x=field, y="mean", series="group",
                                    x_title=x_title, log_y=log_y, legend=group_title,
                                    lo="lo", hi="hi")
    return _faceted(alt.layer(band, line), data, metrics, title, width, height, columns,
                    preview)


def curves(runs: Any = None, metric: str | Sequence[str] | None = None, *, x: str = "step",
           smooth: float = 0.0, log_y: bool = False, group_by: str | Sequence[str] | None = None,
           where: str | None = None, experiment: Any = None, limit: int | None = plotdata.MAX_RUNS,
           points: int = series.DEFAULT_POINTS_PER_SERIES, budget: int | None = None,
           title: str | None = None, store: StoreArg = None, **size: Any) -> Any:
    """Metric curves of runs, overlaid; or mean ± std bands per group with ``group_by``.

    Parameters
    ----------
    runs
        Ids, prefixes, names, ``Run`` objects or a ``tb.runs()`` frame; default: the newest
        ``limit`` runs matching ``where`` / ``experiment``.
    metric
        A key or a list of keys (one panel each); default: every metric the runs logged.
    x
        ``step``, ``time`` (seconds since each run started) or ``wall_time``.
    smooth
        Exponential moving average weight in [0, 1), as TensorBoard's slider.
    log_y
        Log scale (symlog when values reach zero or below).
    group_by
        A param (``"lr"``) or a list: runs alike in them form one group, drawn as the mean with
        a ± std band (over seeds, typically). ``True``: every param that varies except the seed.
    points
        Points per series at most (long series are cut into buckets keeping first, last, min
        and max of each, in DuckDB); ``budget`` sets a total for the chart instead.

    Returns
    -------
    altair.Chart
    """
    frame = plotdata.select_runs(runs, where=where, experiment=experiment, limit=limit,
                                 store=store)
    if frame.empty:
        raise ValueError("no runs to plot" + (f" match {where!r}" if where else ""))
    keys = plotdata.curve_keys(metric, frame, store)
    if group_by is not None and group_by is not False:
        columns = plotdata.group_columns(frame, group_by)
        bands = plotdata.band_points(frame, keys, columns, buckets=series.DEFAULT_BAND_BUCKETS,
                                     store=store)
        group_title = " ".join(c.removeprefix("params.") for c in columns) or "group"
        return band_chart(bands, x=x, log_y=log_y, group_title=group_title, title=title, **size)
    per = series.points_per_series(budget, len(frame) * len(keys)) if budget else points
    data = plotdata.curve_points(frame, keys, per_series=per, smooth=smooth, store=store)
    if data.empty:
        raise ValueError(f"these runs logged no finite values of {', '.join(keys)}")
    return curves_chart(data, x=x, log_y=log_y, title=title, **size)






# -- a param against a metric --------------------------------------------------------------------

def scatter_chart(frame: Any, x: str, y: str, *, color: str | None = None,
                  log_x: bool | None = None, log_y: bool = False, title: str | None = None,
                  width: int = 360, height: int = 260) -> Any:
    """One point per run: column ``x`` (a param) against column ``y`` (a metric)."""
    names = plotdata.labels(frame)
    data = frame.assign(run=frame["run_id"].map(names), _x=frame[x], _y=frame[y])
    numeric_x = plotdata.is_numeric(frame[x]) and not plotdata.is_few_integers(frame[x])
    if log_x is None:
        log_x = plotdata.wants_log(frame[x])
    x_title, y_title = x.removeprefix("params."), y.removeprefix("metrics.")
    if numeric_x and log_x:
        x_enc = alt.X("_x:Q", title=x_title, scale=alt.Scale(type="log"),
                      axis=alt.Axis(values=plotdata.decades(frame[x]), format="~g"))
    elif numeric_x:
        x_enc = alt.X("_x:Q", title=x_title, scale=alt.Scale(zero=False))
    else:  # categories in their natural order (2 before 10), as labels
        levels = sorted(frame[x].dropna().unique(), key=lambda v: (str(type(v)), v))
        data["_x"] = data["_x"].map(plotdata.shown)
        x_enc = alt.X("_x:N", title=x_title, sort=[plotdata.shown(v) for v in levels],
                      axis=alt.Axis(labelAngle=0))
    x_tip = (alt.Tooltip("_x:Q", title=x_title, format=".4~g") if numeric_x
             else alt.Tooltip("_x:N", title=x_title))
    tooltip = [alt.Tooltip("run:N"), x_tip, alt.Tooltip("_y:Q", title=y_title, format=".4~g")]
    columns = ["run_id", "run", "status", "_x", "_y"]
    encode: dict[str, Any] = {"x": x_enc, "y": alt.Y("_y:Q", title=y_title,
                                                     scale=_y_scale(data["_y"], log_y))}
    if color:
        data["_c"] = data[color]
        c_title = color.removeprefix("params.")
        c_type = "Q" if plotdata.is_numeric(frame[color]) else "N"
        encode["color"] = alt.Color(f"_c:{c_type}", title=c_title)
        tooltip.append(alt.Tooltip(f"_c:{c_type}", title=c_title))
        columns.append("_c")
    chart = alt.Chart(_inline(data.dropna(subset=["_y"]), columns)).mark_circle(
        size=70, opacity=0.85).encode(tooltip=tooltip, **encode)
    return chart.properties(width=width, height=height, title=title or f"{y_title} by {x_title}")




def scatter(x: str, y: str, runs: Any = None, *, color: str | None = None,
            log_x: bool | None = None, log_y: bool = False, where: str | None = None,
            experiment: Any = None, limit: int | None = None, title: str | None = None,
            store: StoreArg = None, **size: Any) -> Any:
    """A param (or any ``tb.runs()`` column) against a metric, one point per run.

    ``y`` is a metric (``val_loss``, ``val_loss.min``) or a column; ``color`` a second column.
    ``log_x`` is guessed (a positive param spanning two decades, as learning rates do).
    """
    frame = plotdata.select_runs(runs, where=where, experiment=experiment, limit=limit,
                                 store=store)
    if frame.empty:
        raise ValueError("no runs to plot" + (f" match {where!r}" if where else ""))
    x_col = plotdata.column_of(frame, x)
    frame, y_col = plotdata.metric_or_column(frame, y, store)
    color_col = plotdata.column_of(frame, color) if color else None
    return scatter_chart(frame, x_col, y_col, color=color_col, log_x=log_x, log_y=log_y,
                         title=title, **size)




# -- parallel coordinates ------------------------------------------------------------------------

def parallel_chart(axes: Any, *, metric: str, goal: str = "min", title: str | None = None,
                   width: int = 640, height: int = 280) -> Any:
    """Parallel coordinates: one line per run across param axes, ending at the metric.

    ``axes`` has ``run_id, run, axis, order, position, value, metric`` (``plotdata
    .parallel_axes``); lines are coloured by the metric, best runs brightest.
    """
    order = list(dict.fromkeys(axes.sort_values("order")["axis"]))
    data = _inline(axes, ["run_id", "run", "axis", "order", "position", "value", "metric"])
    hover = alt.selection_point(fields=["run_id"], on="pointerover", clear="pointerout",
                                nearest=True, name="hover")
    x_enc = alt.X("axis:N", sort=order, title=None, scale=_axes_scale(),
                  axis=alt.Axis(orient="top", labelAngle=0, domain=False, ticks=False,
                                labelFontWeight="bold", labelLimit=140, grid=False,
                                labelPadding=10))
    y_enc = alt.Y("position:Q", axis=None, scale=alt.Scale(domain=[0, 1]))
    lines = alt.Chart(data).mark_line(strokeWidth=1.6).encode(
        x=x_enc, y=y_enc, detail="run_id:N", order="order:Q",
        color=alt.Color("metric:Q", title=metric,
                        scale=alt.Scale(scheme="redblue", reverse=goal == "min")),
        opacity=alt.when(hover).then(alt.value(1.0)).otherwise(alt.value(0.55)),
        strokeWidth=alt.when(hover).then(alt.value(3.5)).otherwise(alt.value(1.6)),
        tooltip=[alt.Tooltip("run:N"), alt.Tooltip("axis:N"), alt.Tooltip("value:N"),
                 alt.Tooltip("metric:Q", title=metric, format=".4~g")],
    ).add_params(hover)
    ticks = plotdata.axis_labels(axes)
    rules = alt.Chart(alt.InlineData(values=[{"axis": a} for a in order])).mark_rule(
        opacity=0.35).encode(x=alt.X("axis:N", sort=order, scale=_axes_scale()))
    at = ticks["position"]
    labels = [_axis_text(ticks[at == 0.0], order, y_enc, "bottom"),
              _axis_text(ticks[(at > 0) & (at < 1)], order, y_enc, "middle"),
              _axis_text(ticks[at == 1.0], order, y_enc, "top")]
    chart = alt.layer(rules, lines, *labels).properties(width=width, height=height)
    return chart.properties(title=title) if title else chart


def _axes_scale() -> alt.Scale:
    return alt.Scale(padding=0.12)  # the first and last axis near the chart's edges


def _axis_text(ticks: Any, order: list[str], y_enc: alt.Y,
               baseline: Literal["bottom", "middle", "top"]) -> alt.Chart:
    return alt.Chart(_inline(ticks, ["axis", "position", "value"])).mark_text(
        align="left", dx=5, baseline=baseline, fontSize=10, opacity=0.8).encode(
        x=alt.X("axis:N", sort=order, scale=_axes_scale()), y=y_enc, text="value:N")




def parallel(params: Sequence[str] | None = None, metric: str | None = None, runs: Any = None,
             *, goal: str | None = None, where: str | None = None, experiment: Any = None,
             limit: int | None = None, title: str | None = None, store: StoreArg = None,
             **size: Any) -> Any:
    """Parallel coordinates of params -> metric, one line per run.

    ``params`` default to every param that varies (at most 8); ``metric`` to the only one
    logged. ``goal`` (min/max) sets which end of the colour scale is bright; guessed from the
    metric's name.
    """
    frame = plotdata.select_runs(runs, where=where, experiment=experiment, limit=limit,
                                 store=store)
    if frame.empty:
        raise ValueError("no runs to plot" + (f" match {where!r}" if where else ""))
    if metric is None:
        logged = series.metric_keys(list(frame["run_id"]), store=store)
        if len(logged) != 1:
            raise ValueError(f"say which metric: one of {', '.join(logged) or '(none logged)'}")
        metric = logged[0]
    frame, metric_col = plotdata.metric_or_column(frame, metric, store)
    dims = ([plotdata.column_of(frame, p) for p in params] if params is not None
            else plotdata.varying_params(frame)[:8])
    if not dims:
        raise ValueError("no param varies between these runs: nothing to draw axes for")
    key = plotdata.metric_spec(metric)[0]
    axes = plotdata.parallel_axes(frame, dims, metric_col)
    return parallel_chart(axes, metric=metric_col.removeprefix("metrics."),
                          goal=goal or guess_goal(key), title=title, **size)
