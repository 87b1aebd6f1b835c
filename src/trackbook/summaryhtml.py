"""The summary as one self-contained HTML page (DESIGN "Share").

Everything the page needs is inside it: the stylesheet, the vega bundle (``static/
vega-embed.js``), the page script (``summary_assets/summary.js``) and the data, which sits in a
``<script type="application/json">`` block with ``<``, ``>``, ``&``, U+2028 and U+2029 escaped.
Every user-written string is HTML-escaped where it is written; no element carries an event
handler. A Content-Security-Policy forbids every fetch (``default-src 'none'``) and lets only
the page's own two scripts run (by hash), so neither a bug nor a crafted run name can reach the
network. Tables are plain HTML (readable without script and in print); the script sorts them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

from trackbook import summarycards, summarytext
from trackbook.cardview import badge
from trackbook.summarydata import ExportError, Summary

HERE = Path(__file__).resolve().parent
ASSETS = HERE / "summary_assets"
VEGA_BUNDLE = HERE / "static" / "vega-embed.js"
MAX_METRIC_COLUMNS = 6
# Rows shown before "show all" (the page script folds longer tables; without script, and in
# print, every row shows).
LEADERBOARD_ROWS = 15
RUNS_ROWS = 30


def e(value: Any) -> str:
    """HTML-escaped text, quotes included (safe in text and in attribute values)."""
    return escape(str(value), quote=True)


def json_text(value: Any) -> str:
    """JSON safe inside ``<script type="application/json">``: it cannot end the element."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def script_text(source: str) -> str:
    """A script's source safe to inline: no ``</script`` or ``<!--`` can end or bend it."""
    return source.replace("</script", "<\\/script").replace("</SCRIPT", "<\\/SCRIPT") \
        .replace("<!--", "<\\!--")


def _hash(source: str) -> str:
    digest = hashlib.sha256(source.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def content_security_policy(scripts: list[str]) -> str:
    """Nothing may be fetched; only these inline scripts run, and nothing evaluates a string
    (the vega bundle runs expressions with vega-interpreter, js/vega-global.ts)."""
    hashes = " ".join(_hash(s) for s in scripts)
    return ("default-src 'none'; "
            f"script-src {hashes}; "
            "style-src 'unsafe-inline'; img-src data:; "
            "base-uri 'none'; form-action 'none'")


def render(summary: Summary) -> str:
    """The whole page."""
    css = (ASSETS / "summary.css").read_text(encoding="utf-8")
    page_js = script_text((ASSETS / "summary.js").read_text(encoding="utf-8"))
    scripts = [page_js]
    if summary.charts:
        if not VEGA_BUNDLE.is_file():
            raise ExportError(f"the chart bundle {VEGA_BUNDLE} is missing; reinstall trackbook "
                              "(`pip install -e .` builds it with npm)")
        scripts.insert(0, script_text(VEGA_BUNDLE.read_text(encoding="utf-8")))
    data = {"charts": [{"id": f"chart-{i}", "metric": chart.metric, "spec": chart.spec}
                       for i, chart in enumerate(summary.charts)]}
    body = "".join([_header(summary), _toc(summary), _tiles(summary), _leaderboard(summary),
                    _curves(summary), _runs_table(summary), _details(summary),
                    _omitted(summary), _footer(summary)])
    tags = "".join(f"<script>{s}</script>\n" for s in scripts)
    policy = e(content_security_policy(scripts))
    return (
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<meta name="generator" content="trackbook {e(summary.version)}">\n'
        f"<title>{e(summary.title)}</title>\n<style>\n{css}</style>\n</head>\n<body>\n"
        f'<div class="page">\n{body}</div>\n'
        f'<script type="application/json" id="tb-data">{json_text(data)}</script>\n'
        f"{tags}</body>\n</html>\n"
    )


# -- the top of the page -----------------------------------------------------------------------

def _header(s: Summary) -> str:
    bits = [f"<span><b>{len(s.frame)}</b> run{'s' if len(s.frame) != 1 else ''}</span>"]
    label = "experiment" if len(s.experiments) == 1 else "experiments"
    bits.append(f"<span>{label} {', '.join(f'<b>{e(x)}</b>' for x in s.experiments)}</span>")
    if s.where:
        bits.append(f"<span>filter <code>{e(s.where)}</code></span>")
    bits.append(f"<span>store <code>{e(s.store)}</code></span>")
    bits.append(f"<span>made {e(summarytext.when(s.made_at))}</span>")
    return ('<header class="top"><div class="eyebrow"><span class="logo">trackbook</span>'
            f" · run summary</div><h1>{e(s.title)}</h1>"
            f'<div class="meta">{"".join(bits)}</div></header>\n')


def _toc(s: Summary) -> str:
    links = [("leaderboard", "Leaderboard"), ("curves", "Curves"), ("runs", "Runs"),
             ("details", "Run details")]
    if s.omitted:
        links.append(("omitted", "Left out"))
    return ('<nav class="toc" aria-label="Sections">'
            + "".join(f'<a href="#{a}">{t}</a>' for a, t in links) + "</nav>\n")


def _tiles(s: Summary) -> str:
    tiles = []
    best = s.best
    if best is not None and s.ranking is not None:
        tiles.append(_tile("Best run", summarytext.metric(best.score),
                           f'<a href="#run-{best.run_id}">{e(best.name)}</a><br>'
                           f"{e(s.ranking.label)}, {e(s.ranking.better)}"))
    statuses = Counter(s.frame["status"])
    shown = " · ".join(f"{n} {e(k)}" for k, n in statuses.most_common())
    tiles.append(_tile("Runs", str(len(s.frame)), shown))
    varying = [c.removeprefix("params.") for c in s.varying]
    tiles.append(_tile("Params that differ", str(len(varying)),
                       e(", ".join(varying[:8]) + (" …" if len(varying) > 8 else ""))
                       or "none: every run has the same params"))
    starts = [r.start_time for r in s.runs if r.start_time is not None]
    if starts:
        first, last = min(starts), max(starts)
        span = (f"{e(summarytext.when(first))} → {e(last.strftime('%H:%M UTC'))}"
                if first.date() == last.date() else
                f"{e(summarytext.when(first))} → {e(summarytext.when(last))}")
        total = sum(r.duration_s or 0 for r in s.runs)
        run_time = summarytext.duration(total).replace(" ", "\u00a0")
        tiles.append(_tile("Started", first.strftime("%b %d, %Y"),
                           f"{span} · {e(run_time)} of run time"))
    return f'<div class="tiles">{"".join(tiles)}</div>\n'


def _tile(label: str, value: str, sub: str) -> str:
    return (f'<div class="tile"><div class="label">{e(label)}</div>'
            f'<div class="value">{e(value)}</div><div class="sub">{sub}</div></div>')


def _section(anchor: str, title: str, note: str, content: str) -> str:
    return (f'<section id="{anchor}"><div class="section-head"><h2>{e(title)}</h2>'
            f'<span class="muted">{note}</span></div>{content}</section>\n')


def _th(label: str, numeric: bool = False, cls: str = "") -> str:
    """A header cell whose button sorts the column (``data-type="num"``: as numbers)."""
    classes = " ".join(c for c in (cls, "num" if numeric else "") if c)
    attrs = (' data-type="num"' if numeric else "") + (f' class="{classes}"' if classes else "")
    return f'<th scope="col"{attrs}><button type="button">{e(label)}</button></th>'


def _num(value: Any, text: str | None = None, cls: str = "num") -> str:
    return (f'<td class="{cls}" data-v="{e(summarytext.sort_key(value))}">'
            f"{e(text if text is not None else summarytext.metric(value))}</td>")


def _run_link(s: Summary, run_id: str) -> str:
    fact = s.by_id().get(run_id)
    name = fact.name if fact else run_id[:8]
    target = f'href="#run-{e(run_id)}"' if fact and fact.detailed else ""
    return (f'<a class="runlink" {target}>{e(name)}</a>'
            f'<span class="id">{e(run_id[:8])}</span>')


# -- leaderboard ---------------------------------------------------------------------------------

def _leaderboard(s: Summary) -> str:
    if s.ranking is None or s.leaderboard is None:
        return _section("leaderboard", "Leaderboard", "",
                        '<p class="note">These runs logged no metric, so nothing is ranked.</p>')
    board, ranking = s.leaderboard, s.ranking
    groups = s.group_columns
    over = s.over.removeprefix("params.") if s.over else None
    note = (f"ranked by <code>{e(ranking.label)}</code>, {e(ranking.better)} · "
            + (f"mean ± std over <code>{e(over)}</code> · " if over else "")
            + "click a column to sort")
    head = (_th("#", True) + "".join(_th(c.removeprefix("params."), cls="param") for c in groups)
            + (_th("configuration") if not groups else "")
            + _th("mean", True) + _th("± std", True) + _th("runs", True) + _th("best", True)
            + _th("best run"))
    rows = []
    for i, row in enumerate(board.to_dict("records")):
        cells = [_num(i + 1, str(i + 1), "num rank")]
        cells += [f'<td class="param" data-v="{e(summarytext.sort_key(row[c]))}">'
                  f"{e(summarytext.param(row[c]))}</td>" for c in groups]
        if not groups:
            cells.append("<td>all runs</td>")
        cells += [_num(row["mean"]), _num(row["std"], "–" if row["count"] < 2 else None),
                  _num(row["count"], str(row["count"])), _num(row["best"]),
                  f"<td>{_run_link(s, row['best_run'])}</td>"]
        rows.append(f'<tr{" class=best" if i == 0 else ""}>{"".join(cells)}</tr>')
    table = (f'<div class="table-wrap"><table class="sortable" id="leaderboard-table" '
             f'data-cap="{LEADERBOARD_ROWS}">'
             f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")
    return _section("leaderboard", "Leaderboard", note, table)


# -- curves --------------------------------------------------------------------------------------

def _curves(s: Summary) -> str:
    if not s.charts:
        return _section("curves", "Curves", "",
                        '<p class="note">No metric curves to draw.</p>')
    n = len(s.curve_runs)
    note = (f"{n} run{'s' if n != 1 else ''}, best first · click a legend entry to pick a run, "
            "hover a line for its values · long series downsampled (extremes kept)")
    cards = "".join(
        f'<div class="chart-card"><div class="chart" id="chart-{i}" role="img" '
        f'aria-label="{e(chart.metric)} by step, {chart.n_runs} runs"></div></div>'
        for i, chart in enumerate(s.charts))
    return _section("curves", "Curves", note, f'<div class="charts">{cards}</div>')


# -- runs table ----------------------------------------------------------------------------------

def _metric_columns(s: Summary) -> list[tuple[str, str]]:
    """(label, frame column) of the metrics the runs table shows, the ranking first."""
    out: list[tuple[str, str]] = []
    if s.ranking is not None:
        out.append((s.ranking.label, "_score"))
    for key in s.metric_keys:
        if len(out) >= MAX_METRIC_COLUMNS:
            break
        if (s.ranking is None or key != s.ranking.key or s.ranking.agg != "last") \
                and f"metrics.{key}" in s.frame.columns:
            out.append((key, f"metrics.{key}"))
    return out


def _runs_table(s: Summary) -> str:
    frame = s.frame.head(len(s.runs))
    params = s.varying
    metrics = _metric_columns(s)
    best = frame.iloc[0] if s.best is not None else None
    tagged = any(fact.tags for fact in s.runs)
    head = (_th("#", True) + _th("run") + _th("status") + _th("started (UTC)")
            + _th("duration", True)
            + "".join(_th(c.removeprefix("params."), cls="param") for c in params)
            + "".join(_th(label, True) for label, _ in metrics) + (_th("tags") if tagged else ""))
    rows = []
    for i, (fact, row) in enumerate(zip(s.runs, frame.to_dict("records"), strict=True)):
        cells = [_num(fact.rank, str(fact.rank) if fact.rank else "–", "num rank"),
                 f'<td class="nowrap" data-v="{e(fact.name)}">{_run_link(s, fact.run_id)}</td>',
                 f'<td data-v="{e(fact.status)}">{badge(fact.status)}</td>',
                 f'<td data-v="{e(fact.start_time.isoformat() if fact.start_time else "")}" '
                 f'class="muted nowrap">{e(_started(fact.start_time))}</td>',
                 _num(fact.duration_s, summarytext.duration(fact.duration_s))]
        for column in params:
            value = row.get(column)
            differs = best is not None and i > 0 and _differs(value, best[column])
            cells.append(f'<td class="param{" diff" if differs else ""}" '
                         f'data-v="{e(summarytext.sort_key(value))}">'
                         f"{e(summarytext.param(value))}</td>")
        cells += [_num(row.get(column)) for _, column in metrics]
        if tagged:
            chips = "".join(f'<span class="chip">{e(summarytext.tag(k, v))}</span>'
                            for k, v in sorted(fact.tags.items()))
            cells.append(f"<td>{chips}</td>")
        rows.append(f'<tr{" class=best" if fact.rank == 1 else ""}>{"".join(cells)}</tr>')
    same = ""
    if s.constant:
        listed = "".join(f"<code>{e(k)}={e(summarytext.param(v))}</code>"
                         for k, v in sorted(s.constant.items()))
        same = f'<div class="same">Same in every run: {listed}</div>'
    note = ("tinted headers are the params that differ; a value unlike the best run's is "
            "highlighted" if params else "every run has the same params")
    table = (f'<div class="table-wrap"><table class="sortable" id="runs-table" '
             f'data-cap="{RUNS_ROWS}"><thead><tr>'
             f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>{same}")
    return _section("runs", "Runs", e(note), table)


def _started(moment: Any) -> str:
    return "–" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


def _differs(value: Any, reference: Any) -> bool:
    return summarytext.param(value) != summarytext.param(reference)


# -- details and the end ---------------------------------------------------------------------------

def _details(s: Summary) -> str:
    cards = "".join(summarycards.card(fact, s) for fact in s.runs if fact.detailed)
    return _section("details", "Run details",
                    "notes, tags, lineage and artifacts of each run; click to open", cards)


def _omitted(s: Summary) -> str:
    if not s.omitted:
        return ""
    items = "".join(f"<li>{e(text)}</li>" for text in s.omitted)
    return _section("omitted", "Left out", "to keep this file small",
                    f'<ul class="omitted">{items}</ul>')


def _footer(s: Summary) -> str:
    return (f"<footer>Made by trackbook {e(s.version)} on {e(summarytext.when(s.made_at))}. "
            "This file is self-contained: it opens offline and fetches nothing.</footer>\n")
