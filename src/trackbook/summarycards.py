"""One run's detail card in the HTML summary: metrics, params, notes, lineage, artifacts.

A ``<details>`` element (the best run open, the rest one click away; printing opens them all).
Every user-written string is escaped here; badges and sparklines come from
:mod:`trackbook.cardview`, so a run looks as it does in the notebook.
"""

from __future__ import annotations

from html import escape
from typing import Any

from trackbook import summarytext
from trackbook.cardview import badge, sparkline
from trackbook.summarydata import Summary
from trackbook.summaryruns import RunFacts

MAX_PACKAGES = 12  # differing packages listed per run
ERROR_LINES = 12


def e(value: Any) -> str:
    return escape(str(value), quote=True)


def card(fact: RunFacts, s: Summary) -> str:
    """The card of one run."""
    left = _metrics(fact) + _params(fact, s) + _notes(fact)
    right = _about(fact, s) + _lineage(fact, s) + _artifacts(fact)
    return (f'<details class="run" id="run-{e(fact.run_id)}"{" open" if fact.rank == 1 else ""}>'
            f"{_summary_line(fact, s)}"
            f'<div class="run-body"><div>{left}</div><div>{right}</div></div></details>\n')


def _summary_line(fact: RunFacts, s: Summary) -> str:
    rank = f'<span class="rank-badge">#{fact.rank}</span>' if fact.rank else ""
    chips = "".join(f'<span class="chip">{e(summarytext.tag(k, v))}</span>'
                    for k, v in sorted(fact.tags.items())[:4])
    score = (f'<span class="score"><span class="muted">{e(s.ranking.label)}</span> '
             f"{e(summarytext.metric(fact.score))}</span>"
             if s.ranking is not None and fact.score is not None else "")
    return (f"<summary>{rank}<h3>{e(fact.name)}</h3><span class=\"id\">{e(fact.short_id)}</span>"
            f"{badge(fact.status)}{chips}<span class=\"grow\"></span>"
            f'<span class="muted">{e(summarytext.duration(fact.duration_s))}</span>{score}'
            "</summary>")


def _block(title: str, content: str) -> str:
    return f'<div class="block"><h4>{e(title)}</h4>{content}</div>' if content else ""


def _metrics(fact: RunFacts) -> str:
    if not fact.metrics:
        return _block("Metrics", '<p class="note">none logged</p>')
    head = ('<thead><tr><th>metric</th><th class="num">last</th><th class="num">min</th>'
            '<th class="num">max</th><th class="num">steps</th><th></th></tr></thead>')
    rows = "".join(
        f"<tr><td>{e(m['key'])}</td><td class=\"num\">{e(summarytext.metric(m['last']))}</td>"
        f"<td class=\"num\">{e(summarytext.metric(m['min']))}</td>"
        f"<td class=\"num\">{e(summarytext.metric(m['max']))}</td>"
        f"<td class=\"num muted\">{int(m['count']):,}</td>"
        f"<td class=\"spark\">{sparkline(m['spark'], width=100, height=22)}</td></tr>"
        for m in fact.metrics)
    return _block("Metrics", f'<table class="metrics">{head}<tbody>{rows}</tbody></table>')


def _params(fact: RunFacts, s: Summary) -> str:
    if not fact.params:
        return ""
    best = s.best
    varying = {c.removeprefix("params.") for c in s.varying}
    items = []
    for key, value in sorted(fact.params.items()):
        differs = (best is not None and best is not fact and key in varying
                   and summarytext.param(best.params.get(key)) != summarytext.param(value))
        items.append(f"<dt>{e(key)}</dt><dd{' class=diff' if differs else ''}>"
                     f"{e(summarytext.param(value))}</dd>")
    return _block("Params", f'<dl class="kv">{"".join(items)}</dl>')


def _notes(fact: RunFacts) -> str:
    out = ""
    if fact.notes:
        out += _block("Notes", f'<p class="notes">{e(chr(10).join(fact.notes))}</p>')
    if fact.error:
        lines = str(fact.error).rstrip().splitlines()[-ERROR_LINES:]
        out += _block("Error", f'<pre class="error-text">{e(chr(10).join(lines))}</pre>')
    return out


def _about(fact: RunFacts, s: Summary) -> str:
    rows = [("experiment", e(fact.experiment)),
            ("started", e(summarytext.when(fact.start_time))),
            ("duration", e(summarytext.duration(fact.duration_s))),
            ("run id", f"<code>{e(fact.run_id)}</code>")]
    if fact.parent_run_id:
        parent = s.by_id().get(fact.parent_run_id)
        name = e(parent.name) if parent else f"<code>{e(fact.parent_run_id[:8])}</code>"
        rows.append(("parent", f'<a href="#run-{e(fact.parent_run_id)}">{name}</a>'
                     if parent and parent.detailed else name))
    if fact.host:
        rows.append(("host", e(fact.host)))
    if fact.tags:
        rows.append(("tags", "".join(f'<span class="chip">{e(summarytext.tag(k, v))}</span>'
                                     for k, v in sorted(fact.tags.items()))))
    return _block("Run", _kv(rows))


def _kv(rows: list[tuple[str, str]]) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in rows) + "</dl>"


def _lineage(fact: RunFacts, s: Summary) -> str:
    rows = []
    git = fact.git
    if git and git.get("commit"):
        state = ('<span class="dirty">dirty (uncommitted changes)</span>' if git.get("dirty")
                 else '<span class="clean">clean</span>')
        branch = f" on {e(git['branch'])}" if git.get("branch") else ""
        rows.append(("git", f"<code>{e(str(git['commit'])[:10])}</code>{branch} · {state}"))
    else:
        rows.append(("git", '<span class="muted">not a git checkout, or not recorded</span>'))
    if fact.python:
        rows.append(("python", e(fact.python)))
    rows.append(("packages", _packages(fact, s)))
    return _block("Lineage", _kv(rows) + _source(fact, s))


def _packages(fact: RunFacts, s: Summary) -> str:
    if not fact.packages:
        return '<span class="muted">not recorded</span>'
    reference = s.runs[0] if s.runs else None
    if reference is fact or reference is None:
        return (f'{len(fact.packages)} installed <span class="muted">(the reference the other '
                "runs are compared with)</span>")
    if not fact.package_diff:
        return f'<span class="muted">same versions as {e(reference.name)}</span>'
    shown = fact.package_diff[:MAX_PACKAGES]
    rows = "".join(f"<tr><td>{e(name)}</td><td class=\"mono\">{e(mine or '–')}</td>"
                   f"<td class=\"mono muted\">{e(theirs or '–')}</td></tr>"
                   for name, mine, theirs in shown)
    more = len(fact.package_diff) - len(shown)
    tail = f'<tr><td colspan="3" class="muted">+{more} more</td></tr>' if more > 0 else ""
    return (f'<table class="packages"><thead><tr><th>differs from {e(reference.name)}</th>'
            f"<th>this run</th><th>{e(reference.name)}</th></tr></thead><tbody>{rows}{tail}"
            "</tbody></table>")


def _source(fact: RunFacts, s: Summary) -> str:
    if fact.source_same_as:
        other = s.by_id().get(fact.source_same_as)
        name = e(other.name) if other else e(fact.source_same_as[:8])
        return (f'<p class="note">Cell source: the same as '
                f'<a href="#run-{e(fact.source_same_as)}">{name}</a>.</p>')
    if not fact.source:
        return ""
    cut = '\n<span class="muted">… (cut here)</span>' if fact.source_truncated else ""
    lines = f"{fact.source_lines} line{'s' if fact.source_lines != 1 else ''}"
    return (f'<details class="source"><summary>Cell source · {lines}</summary>'
            f"<pre><code>{e(fact.source)}</code>{cut}</pre></details>")


def _artifacts(fact: RunFacts) -> str:
    if not fact.artifacts:
        return ""
    items, thumbs = [], []
    for art in fact.artifacts:
        why = f' <span class="muted">· not embedded: {e(art.skipped)}</span>' if art.skipped \
            else ""
        items.append(f"<li>{e(art.name)} <span class=\"muted\">{e(art.kind)} · "
                     f"{e(summarytext.size(art.size))}</span>{why}</li>")
        if art.image:
            thumbs.append(f'<figure class="thumb"><img src="{e(art.image)}" alt="{e(art.name)}"'
                          f'><figcaption>{e(art.name)}</figcaption></figure>')
    gallery = f'<div class="thumbs">{"".join(thumbs)}</div>' if thumbs else ""
    return _block("Artifacts", f'<ul class="artifacts">{"".join(items)}</ul>{gallery}')
