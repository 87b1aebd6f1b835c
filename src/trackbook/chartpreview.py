"""A static SVG of a ``tb.plot`` curves or bands chart, for outputs where no widget runs.

A notebook opened without trust (one nbclient executed, one a colleague sent), GitHub and
nbconvert show an output's static fallback instead of its widget view. For the curves and
seed bands that ``tb.plot`` builds, that fallback is this drawing: one small panel per metric,
a line per run or group (the smoothed one when there is one), the ± std band, the y range, a
legend. It reads the chart's own inline data and the description ``plots.py`` leaves in the
spec's ``usermeta``; any other chart has no preview. Pure Python, every label escaped; the
points are thinned per series to keep the file small, extremes kept.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from html import escape
from typing import Any

USERMETA = "trackbook"  # spec["usermeta"][USERMETA] = what plots.py drew, see describe()
# Vega's default categorical scheme (tableau10), so the preview matches the live chart.
COLOURS = ("#4c78a8", "#f58518", "#e45756", "#72b7b2", "#54a24b", "#eeca3b", "#b279a2",
           "#ff9da6", "#9d755d", "#bab0ac")
PANEL_W, PANEL_H = 360, 170
MARGIN = {"left": 52, "right": 12, "top": 22, "bottom": 30}
LEGEND_W = 190
MAX_LEGEND = 12
POINTS_PER_SERIES = 300  # after thinning: about 2 per pixel of a panel's width ...
POINTS = 6_000  # ... and at most this many in all (~80 kB of SVG), split across the series
FONT = "font-family='sans-serif' font-size='11'"
TEXT, MUTED, GRID = "#333", "#777", "#e5e5e5"


def describe(kind: str, *, x: str, y: str, series: str, x_title: str, log_y: bool,
             legend: str | None = None, lo: str | None = None, hi: str | None = None,
             x_time: bool = False) -> dict[str, Any]:
    """What ``plots.py`` puts into ``usermeta`` for the preview: field names of its data,
    titles, scales (``x_time``: x is epoch milliseconds)."""
    return {USERMETA: {"kind": kind, "x": x, "y": y, "series": series, "x_title": x_title,
                       "log_y": log_y, "legend": legend or series, "lo": lo, "hi": hi,
                       "x_time": x_time}}


def svg_of(spec: dict[str, Any]) -> str | None:
    """The preview of a Vega-Lite spec made by ``tb.plot`` (curves or bands), else None."""
    meta = (spec.get("usermeta") or {}).get(USERMETA)
    rows = _rows(spec)
    if not isinstance(meta, dict) or meta.get("kind") not in ("curves", "bands") or not rows:
        return None
    metrics = list(dict.fromkeys(str(r.get("metric")) for r in rows))
    names = list(dict.fromkeys(str(r.get(meta["series"])) for r in rows))
    colour = {name: COLOURS[i % len(COLOURS)] for i, name in enumerate(names)}
    columns = 1 if len(metrics) == 1 else 2
    n_rows = math.ceil(len(metrics) / columns)
    cell_w = PANEL_W + MARGIN["left"] + MARGIN["right"]
    cell_h = PANEL_H + MARGIN["top"] + MARGIN["bottom"]
    width = columns * cell_w + LEGEND_W
    height = max(n_rows * cell_h, 40 + 16 * min(len(names), MAX_LEGEND + 1))
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
             f"viewBox='0 0 {width} {height}'><rect width='100%' height='100%' fill='#fff'/>"]
    n_series = len({(str(r.get("metric")), str(r.get(meta["series"]))) for r in rows})
    per_series = max(40, min(POINTS_PER_SERIES, POINTS // max(n_series, 1)))
    for i, metric in enumerate(metrics):
        mine = [r for r in rows if str(r.get("metric")) == metric]
        left, top = (i % columns) * cell_w, (i // columns) * cell_h
        parts.append(_panel(mine, metric, meta, colour, left, top, per_series))
    parts.append(_legend(names, colour, columns * cell_w + 8, str(meta.get("legend") or "")))
    parts.append("</svg>")
    return "".join(parts)


def html_of(svg: str, alt_text: str) -> str:
    """The preview as an ``<img>`` (sanitisers keep it; inline ``<svg>`` they drop)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (f'<img alt="{escape(alt_text)}" src="data:image/svg+xml;base64,{data}"/>'
            '<div style="color:#777; font-size:11px;">A static preview: run the cell for the '
            "interactive chart.</div>")


# -- drawing ------------------------------------------------------------------------------------

def _rows(spec: dict[str, Any]) -> list[dict[str, Any]]:
    data = spec.get("data") or {}
    if isinstance(data.get("values"), list):
        return data["values"]
    found = (spec.get("datasets") or {}).get(data.get("name"))
    return found if isinstance(found, list) else []


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _panel(rows: list[dict[str, Any]], metric: str, meta: dict[str, Any],
           colour: dict[str, str], left: float, top: float, per_series: int) -> str:
    x_key, y_key, lo_key, hi_key = meta["x"], meta["y"], meta.get("lo"), meta.get("hi")
    log_y = bool(meta.get("log_y"))
    ys = [v for r in rows for k in (y_key, lo_key, hi_key) if k
          if (v := _number(r.get(k))) is not None and (v > 0 or not log_y)]
    xs = [v for r in rows if (v := _number(r.get(x_key))) is not None]
    out = [f"<g transform='translate({left:.0f},{top:.0f})'>",
           f"<text x='{MARGIN['left']}' y='14' {FONT} font-weight='bold' fill='{TEXT}'>"
           f"{escape(metric)}</text>"]
    if not xs or not ys:
        out.append(f"<text x='{MARGIN['left']}' y='60' {FONT} fill='{MUTED}'>no values</text>")
        return "".join([*out, "</g>"])
    scale_x = _scale(min(xs), max(xs), MARGIN["left"], MARGIN["left"] + PANEL_W, False)
    scale_y = _scale(min(ys), max(ys), MARGIN["top"] + PANEL_H, MARGIN["top"], log_y)
    out.append(_axes(min(xs), max(xs), min(ys), max(ys), scale_x, scale_y, log_y,
                     meta.get("x_title") or x_key, bool(meta.get("x_time"))))
    by_series: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        by_series.setdefault(str(r.get(meta["series"])), []).append(r)
    for name, points in by_series.items():
        points = sorted((p for p in points if _number(p.get(x_key)) is not None),
                        key=lambda p: p[x_key])
        if lo_key and hi_key:
            out.append(_band(points, x_key, lo_key, hi_key, scale_x, scale_y, colour[name]))
        out.append(_line(_thin(points, y_key, per_series), x_key, y_key, scale_x, scale_y,
                         colour[name]))
    return "".join([*out, "</g>"])


def _scale(low: float, high: float, start: float, end: float, log: bool) -> Any:
    if log:
        low, high = math.log10(low), math.log10(high)
    if high == low:
        low, high = low - 0.5, high + 0.5

    def to_pixel(value: float) -> float:
        value = math.log10(value) if log else value
        return start + (value - low) / (high - low) * (end - start)
    return to_pixel


def _thin(points: list[dict[str, Any]], key: str, most: int) -> list[dict[str, Any]]:
    """At most about ``most`` points: per bucket its first, lowest, highest and last."""
    if len(points) <= most:
        return points
    size = math.ceil(len(points) / max(most // 4, 1))
    kept: list[dict[str, Any]] = []
    for start in range(0, len(points), size):
        bucket = list(enumerate(points[start:start + size]))
        valued = [(i, p) for i, p in bucket if _number(p.get(key)) is not None]
        picks = {bucket[0][0], bucket[-1][0]}
        if valued:
            picks |= {min(valued, key=lambda ip: ip[1][key])[0],
                      max(valued, key=lambda ip: ip[1][key])[0]}
        kept += [points[start + i] for i in sorted(picks)]
    return kept


def _line(points: Sequence[dict[str, Any]], x_key: str, y_key: str, sx: Any, sy: Any,
          colour: str) -> str:
    """Polylines through the points, broken where a value is missing (or not drawable)."""
    runs: list[list[str]] = [[]]
    for p in points:
        y = _number(p.get(y_key))
        if y is None:
            runs.append([])
            continue
        try:
            runs[-1].append(f"{sx(p[x_key]):.1f},{sy(y):.1f}")
        except ValueError:  # the log of a value <= 0: a gap, as in the live chart
            runs.append([])
    out = []
    for run in runs:
        if len(run) == 1:
            cx, cy = run[0].split(",")
            out.append(f"<circle cx='{cx}' cy='{cy}' r='2.5' fill='{colour}'/>")
        elif run:
            out.append(f"<polyline fill='none' stroke='{colour}' stroke-width='1.6' "
                       f"points='{' '.join(run)}'/>")
    return "".join(out)


def _band(points: Sequence[dict[str, Any]], x_key: str, lo_key: str, hi_key: str, sx: Any,
          sy: Any, colour: str) -> str:
    upper, lower = [], []
    for p in points:
        lo, hi = _number(p.get(lo_key)), _number(p.get(hi_key))
        if lo is None or hi is None:
            continue
        try:
            upper.append(f"{sx(p[x_key]):.1f},{sy(hi):.1f}")
            lower.append(f"{sx(p[x_key]):.1f},{sy(lo):.1f}")
        except ValueError:
            continue
    if len(upper) < 2:
        return ""
    return (f"<polygon fill='{colour}' fill-opacity='0.18' stroke='none' "
            f"points='{' '.join(upper + lower[::-1])}'/>")


def _ticks(low: float, high: float, log: bool) -> list[float]:
    if log:
        decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        for steps in ((1,), (1, 2, 5), (1, 2, 3, 4, 5, 6, 7, 8, 9)):
            ticks = [m * 10.0 ** e for e in decades for m in steps if low <= m * 10.0 ** e <= high]
            if len(ticks) >= 3:
                return ticks
        return ticks or [low, high]
    if high == low:
        return [low]
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step) * step
    return [first + i * step for i in range(int((high - first) / step + 1e-9) + 1)]


def _label(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e").replace("e+", "e")
    return f"{value:.4g}"


def _time_label(epoch_ms: float, span_ms: float) -> str:
    moment = datetime.fromtimestamp(epoch_ms / 1000, timezone.utc)
    if span_ms < 10_000:
        return moment.strftime("%M:%S.%f")[:-5]
    return moment.strftime("%H:%M:%S" if span_ms < 120_000 else
                           "%H:%M" if span_ms < 2 * 86_400_000 else "%m-%d")


def _axes(x0: float, x1: float, y0: float, y1: float, sx: Any, sy: Any, log_y: bool,
          x_title: str, x_time: bool) -> str:
    left, right = MARGIN["left"], MARGIN["left"] + PANEL_W
    bottom, top = MARGIN["top"] + PANEL_H, MARGIN["top"]
    out = [f"<rect x='{left}' y='{top}' width='{PANEL_W}' height='{PANEL_H}' fill='none' "
           f"stroke='{GRID}'/>"]
    for tick in _ticks(y0, y1, log_y):
        y = sy(tick)
        out.append(f"<line x1='{left}' x2='{right}' y1='{y:.1f}' y2='{y:.1f}' stroke='{GRID}'/>"
                   f"<text x='{left - 4}' y='{y + 3.5:.1f}' {FONT} fill='{MUTED}' "
                   f"text-anchor='end'>{_label(tick)}</text>")
    for tick in _ticks(x0, x1, False):
        x = sx(tick)
        text = _time_label(tick, x1 - x0) if x_time else _label(tick)
        out.append(f"<text x='{x:.1f}' y='{bottom + 13}' {FONT} fill='{MUTED}' "
                   f"text-anchor='middle'>{text}</text>")
    title = f"{x_title} (UTC)" if x_time else x_title
    out.append(f"<text x='{(left + right) / 2:.0f}' y='{bottom + 26}' {FONT} fill='{TEXT}' "
               f"text-anchor='middle'>{escape(title)}</text>")
    return "".join(out)


def _legend(names: list[str], colour: dict[str, str], left: float, title: str) -> str:
    out = [f"<g transform='translate({left:.0f},0)'><text x='0' y='14' {FONT} "
           f"font-weight='bold' fill='{TEXT}'>{escape(title)}</text>"]
    for i, name in enumerate(names[:MAX_LEGEND]):
        y = 32 + 16 * i
        label = name if len(name) <= 28 else name[:27] + "…"
        out.append(f"<line x1='0' x2='16' y1='{y - 4}' y2='{y - 4}' stroke='{colour[name]}' "
                   f"stroke-width='2.5'/><text x='22' y='{y}' {FONT} fill='{TEXT}'>"
                   f"{escape(label)}</text>")
    if len(names) > MAX_LEGEND:
        out.append(f"<text x='0' y='{32 + 16 * MAX_LEGEND}' {FONT} fill='{MUTED}'>"
                   f"+{len(names) - MAX_LEGEND} more</text>")
    return "".join([*out, "</g>"])
