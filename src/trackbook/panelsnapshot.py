"""What a panel shows where no widget can: its first page as static HTML and as text.

A notebook reopened without trust (one a colleague sent, one nbclient executed, the demo's),
GitHub and nbconvert do not run widget views; JupyterLab then renders the next mimetype of the
output, so the panel's mimebundle carries this snapshot: the runs as they were when the cell
ran, and how to get the live panel back. Inline styles only, every user-written string escaped
(the card's rules, :mod:`trackbook.cardview`).
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from html import escape
from typing import Any

from trackbook import panelquery, textable
from trackbook.cardview import FONT, MUTED, badge
from trackbook.errors import TrackbookError

ROWS = 10  # a snapshot, not the table: the live panel pages through the rest
LIVE = "run the cell for the live panel (filter, sort, columns, compare)"


def snapshot(store: Any, *, mode: str = "panel", experiment: str = "", where: str = "",
             order_by: str = "", columns: list[str] | None = None,
             fixed_runs: list[str] | None = None) -> dict[str, str]:
    """``{"text/html": ..., "text/plain": ...}`` of the panel's first rows (or the compared
    runs); a store that cannot be read gives a line saying why instead of a table."""
    try:
        if mode == "compare":
            data = _compared(store, fixed_runs or [])
        else:
            data = _first_page(store, experiment, where, order_by, columns or [])
    except Exception as exc:  # a fallback must never keep the live panel from showing
        reason = exc if isinstance(exc, (TrackbookError, ValueError, OSError)) \
            else f"the snapshot failed: {exc}"
        line = f"trackbook {mode}: {reason}"
        return {"text/html": f'<div style="{FONT}">{escape(line)}</div>', "text/plain": line}
    return {"text/html": _html(data), "text/plain": _text(data)}


def _first_page(store: Any, experiment: str, where: str, order_by: str,
                columns: list[str]) -> dict[str, Any]:
    if not columns:
        columns = panelquery.available_columns(store, experiment=experiment or None)["default"]
    page = panelquery.page(store, where=where or None, experiment=experiment or None,
                           order_by=order_by or None, page_size=ROWS, columns=columns)
    scope = [f"experiment {experiment}" if experiment else "all experiments"]
    if where:
        scope.append(f"filter {where}")
    if order_by:
        scope.append(f"sorted by {order_by}")
    return {"what": "panel", "scope": scope, "total": page["total"], "columns": columns,
            "rows": page["rows"]}


def _compared(store: Any, run_ids: list[str]) -> dict[str, Any]:
    data = panelquery.compare(store, runs=run_ids)
    differing = [p for p in data["params"] if p["differs"]]
    columns = [f"params.{p['key']}" for p in differing]
    rows = []
    for i, run in enumerate(data["runs"]):
        values = {f"params.{p['key']}": p["values"][i] for p in differing}
        for metric in data["metrics"][:4]:
            values[f"metrics.{metric['key']}"] = metric["last"][i]
        rows.append({**run, "values": values})
    columns += [f"metrics.{m['key']}" for m in data["metrics"][:4]]
    return {"what": "compare", "scope": ["the params that differ"], "total": len(rows),
            "columns": columns, "rows": rows}


def _title(data: dict[str, Any]) -> str:
    runs = f"{data['total']:,} run{'s' if data['total'] != 1 else ''}"
    return " · ".join([f"trackbook {data['what']}", *data["scope"], runs])


def _footer(data: dict[str, Any]) -> str:
    when = datetime.now(timezone.utc).astimezone().strftime("%Y-%m-%d %H:%M")
    shown = len(data["rows"])
    part = f"the first {shown} of {data['total']:,}" if shown < data["total"] else "all"
    return f"A snapshot from {when} ({part} runs): {LIVE}."


def number(value: Any) -> str:
    """A value as the live panel writes it (js/format.ts ``formatValue``): 3 significant
    digits, exponents below 1e-3 and from 1e6 (``1e-4``, ``2.5e-5``), '–' when missing."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()
                                  and abs(value) < 1e15):
        return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))
    if not math.isfinite(value):
        return str(value)
    if abs(value) < 1e-3 or abs(value) >= 1e6:
        mantissa, exponent = f"{value:.2e}".split("e")
        return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"
    rounded = float(f"{value:.3g}")
    return str(int(rounded)) if rounded.is_integer() else repr(rounded)


def _html(data: dict[str, Any]) -> str:
    head = ('<th style="text-align:left;">name</th><th style="text-align:left;">status</th>'
            + "".join(f"<th>{escape(c)}</th>" for c in data["columns"]))
    body = []
    for row in data["rows"]:
        cells = [f"<td style=\"text-align:left; white-space:nowrap;\">"
                 f"{escape(str(row.get('name') or ''))}</td>",
                 f"<td style=\"text-align:left;\">{badge(str(row.get('status', '')))}</td>"]
        for column in data["columns"]:
            value = row["values"].get(column)
            cells.append(f"<td>{escape(number(value))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    empty = "" if data["rows"] else f'<div style="{MUTED}">no runs match</div>'
    return (f'<div style="{FONT}"><div style="font-weight:600; margin-bottom:4px;">'
            f"{escape(_title(data))}</div>{empty}"
            + (f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
               if data["rows"] else "")
            + f'<div style="{MUTED} margin-top:4px;">{escape(_footer(data))}</div></div>')


def _text(data: dict[str, Any]) -> str:
    rows = data["rows"]
    columns = [textable.column("name", [r.get("name") for r in rows]),
               textable.column("status", [r.get("status") for r in rows])]
    columns += [textable.column(c, [r["values"].get(c) for r in rows]) for c in data["columns"]]
    table = textable.render(columns, 100, keep=2)
    lines = [_title(data)]
    if rows:
        lines += table.lines
        if table.hidden:
            lines.append(textable.hidden_note(table.hidden))
    else:
        lines.append("no runs match")
    return "\n".join([*lines, _footer(data)])
