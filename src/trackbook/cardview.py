"""Run and sweep cards as static HTML with inline SVG sparklines.

JupyterLab saves no widget state, so when a ``%%track`` cell ends its live card is replaced by
this HTML: a reopened notebook, GitHub and nbconvert still show it. The same HTML is the
``_repr_html_`` of runs. Inline styles only (no ``<style>`` or script), so sanitisers keep the
look; every user-written string is escaped.
"""

from __future__ import annotations

import math
from html import escape
from typing import Any

STATUS_COLOURS = {
    "running": "#2563eb", "finished": "#16a34a", "failed": "#dc2626",
    "interrupted": "#d97706", "crashed": "#9333ea", "skipped": "#6b7280",
}
FONT = ("font-family: var(--jp-ui-font-family, -apple-system, 'Segoe UI', Roboto, sans-serif);"
        "font-size: 12px; color: var(--jp-ui-font-color1, #1f2937);")
MUTED = "color: var(--jp-ui-font-color2, #6b7280);"
BOX = ("border: 1px solid var(--jp-border-color2, #e5e7eb); border-radius: 6px;"
       "background: var(--jp-layout-color1, transparent);")
MAX_PARAMS = 24
MAX_METRICS = 12


def number(value: Any) -> str:
    """3 significant digits, exponents for very small or large numbers."""
    if value is None:
        return "–"
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if not math.isfinite(value):
        return str(value)
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e5:
        return f"{value:.2e}"
    return f"{value:.3g}"


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "–"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def badge(status: str) -> str:
    colour = STATUS_COLOURS.get(status, "#6b7280")
    return (f'<span style="display:inline-block; padding:1px 7px; border-radius:9px; '
            f'font-size:11px; font-weight:600; color:#fff; background:{colour};">'
            f"{escape(status)}</span>")


def sparkline(points: list[list[Any]], width: int = 120, height: int = 28) -> str:
    """An SVG polyline of (step, value) points; None values break the line."""
    finite = [(s, v) for s, v in points if v is not None]
    if len(finite) < 2:
        return f'<svg width="{width}" height="{height}" role="img"></svg>'
    xs = [s for s, _ in finite]
    ys = [v for _, v in finite]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    sx = (width - 4) / ((x1 - x0) or 1)
    sy = (height - 4) / ((y1 - y0) or 1)
    segments: list[list[str]] = []
    current: list[str] = []
    for s, v in points:
        if v is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{2 + (s - x0) * sx:.1f},{height - 2 - (v - y0) * sy:.1f}")
    if current:
        segments.append(current)
    lines = "".join(
        f'<polyline points="{" ".join(seg)}" fill="none" stroke="currentColor" '
        f'stroke-width="1.3" stroke-linejoin="round"/>' for seg in segments if len(seg) > 1)
    last = segments[-1][-1].split(",") if segments else None
    dot = (f'<circle cx="{last[0]}" cy="{last[1]}" r="2" fill="currentColor"/>'
           if last else "")
    return (f'<svg width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" style="color: var(--jp-brand-color1, #2563eb);">{lines}{dot}</svg>')


def _header(state: dict[str, Any]) -> str:
    bits = [badge(state.get("status", "running")),
            f'<strong style="font-size:13px;">{escape(str(state.get("name", "")))}</strong>',
            f'<span style="{MUTED}">{escape(str(state.get("run_id", ""))[:8])}'
            f' · {escape(str(state.get("experiment", "")))}'
            f' · {duration(state.get("elapsed_s"))}</span>']
    return '<div style="display:flex; gap:8px; align-items:center;">' + "".join(bits) + "</div>"


def _params(params: dict[str, Any]) -> str:
    if not params:
        return ""
    items = list(params.items())[:MAX_PARAMS]
    more = len(params) - len(items)
    cells = "".join(
        f'<span style="margin-right:12px;"><span style="{MUTED}">{escape(str(k))}</span> '
        f"{escape(number(v) if isinstance(v, (int, float)) else str(v))}</span>"
        for k, v in items)
    tail = f'<span style="{MUTED}">+{more} more</span>' if more > 0 else ""
    return f'<div style="margin-top:6px; line-height:1.6;">{cells}{tail}</div>'


def _metric_tile(metric: dict[str, Any]) -> str:
    low = metric.get("min")
    extra = f"min {number(low)} · {metric.get('count', 0):,} pts" if low is not None else ""
    return (f'<div style="{BOX} padding:6px 8px; min-width:130px;">'
            f'<div style="{MUTED} font-size:11px;">{escape(str(metric["key"]))}</div>'
            f'<div style="font-size:15px; font-weight:600; font-variant-numeric: tabular-nums;">'
            f'{escape(number(metric.get("last")))}'
            f'<span style="{MUTED} font-size:11px; font-weight:400;"> @ {metric.get("step")}'
            f"</span></div>{sparkline(metric.get('spark', []))}"
            f'<div style="{MUTED} font-size:10px;">{escape(extra)}</div></div>')


def run_card(state: dict[str, Any]) -> str:
    """A run: status, name, id, experiment, duration, params, a tile per metric."""
    metrics = state.get("metrics", [])[:MAX_METRICS]
    tiles = "".join(_metric_tile(m) for m in metrics)
    tiles_html = (f'<div style="display:flex; flex-wrap:wrap; gap:8px; margin-top:8px;">'
                  f"{tiles}</div>") if tiles else ""
    error = state.get("error")
    error_html = (f'<pre style="margin:8px 0 0; max-height:8em; overflow:auto; font-size:11px;'
                  f' color:#dc2626; white-space:pre-wrap;">{escape(_last_lines(error))}</pre>'
                  if error else "")
    return (f'<div class="tb-card" style="{FONT} {BOX} padding:10px 12px; margin:2px 0;">'
            f"{_header(state)}{_params(state.get('params', {}))}{tiles_html}{error_html}"
            "</div>")


def _last_lines(text: str, n: int = 6) -> str:
    return "\n".join(str(text).rstrip().splitlines()[-n:])


def sweep_card(state: dict[str, Any]) -> str:
    """A sweep: its own header and progress, then one row per child."""
    children = state.get("children", [])
    done = sum(1 for c in children if c.get("status") not in ("running", "pending"))
    failed = sum(1 for c in children if c.get("status") == "failed")
    progress = (f'<span style="{MUTED}">{done}/{len(children)} done'
                f'{f" · {failed} failed" if failed else ""}</span>')
    keys = state.get("metric_keys", [])[:4]
    head = "".join(f'<th style="text-align:right; padding:2px 8px; {MUTED}">{escape(k)}</th>'
                   for k in keys)
    rows = "".join(_sweep_row(child, keys) for child in children)
    table = (f'<table style="border-collapse:collapse; margin-top:8px; font-size:12px;">'
             f'<tr><th style="text-align:left; padding:2px 8px; {MUTED}">run</th>'
             f'<th style="padding:2px 8px; {MUTED}">status</th>'
             f'<th style="text-align:right; padding:2px 8px; {MUTED}">time</th>{head}</tr>'
             f"{rows}</table>")
    spec = escape(str(state.get("spec", "")))
    return (f'<div class="tb-card" style="{FONT} {BOX} padding:10px 12px; margin:2px 0;">'
            f'{_header(state)}<div style="margin-top:4px;">sweep <code>{spec}</code> '
            f"{progress}</div>{table}</div>")


def _sweep_row(child: dict[str, Any], keys: list[str]) -> str:
    status = child.get("status", "pending")
    shown = badge(status) if status != "pending" else f'<span style="{MUTED}">pending</span>'
    metrics = child.get("metrics", {})
    cells = "".join(
        f'<td style="text-align:right; padding:2px 8px; font-variant-numeric: tabular-nums;">'
        f"{escape(number(metrics.get(k)))}</td>" for k in keys)
    return (f'<tr style="border-top:1px solid var(--jp-border-color2, #e5e7eb);">'
            f'<td style="padding:2px 8px;">{escape(str(child.get("name", "")))}</td>'
            f'<td style="padding:2px 8px; text-align:center;">{shown}</td>'
            f'<td style="text-align:right; padding:2px 8px;">'
            f'{duration(child.get("elapsed_s"))}</td>{cells}</tr>')
