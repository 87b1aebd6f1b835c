"""The summary as Markdown, for a pull request or a wiki page (GitHub-flavoured tables).

No charts: the leaderboard, the params that differ and a few facts per run. Every
user-written string goes through :func:`md`, which backslash-escapes what Markdown would read
as markup (``|`` would split a table cell, ``<`` start an HTML tag, ``[`` a link...) and turns
newlines into ``<br>``, so a run name or a note cannot break the table or inject HTML.
"""

from __future__ import annotations

import re
from typing import Any

from trackbook import summarytext
from trackbook.leaderboard import guess_goal
from trackbook.summarydata import Summary
from trackbook.summaryruns import RunFacts

MAX_COLUMNS = 6  # metric columns of the runs table
_MARKUP = re.compile(r"([\\`*_\[\]<>|~])")
_NEWLINES = re.compile(r"\r\n|\r|\n")


def md(value: Any) -> str:
    """Text safe in Markdown running text and table cells."""
    text = str(value).replace("&", "&amp;")
    text = _MARKUP.sub(r"\\\1", text)
    return _NEWLINES.sub("<br>", text)


def render(s: Summary) -> str:
    """The whole document."""
    parts = [f"# {md(s.title)}\n", _meta(s), _leaderboard(s), _runs_table(s), _runs(s)]
    if s.omitted:
        parts.append("## Left out\n\n" + "".join(f"- {md(t)}\n" for t in s.omitted))
    parts.append(f"---\nMade by trackbook {md(s.version)} on {md(summarytext.when(s.made_at))}."
                 " The HTML summary (`format=\"html\"`) adds charts, lineage and thumbnails.\n")
    return "\n".join(parts)


def _table(head: list[str], align: list[str], rows: list[list[str]]) -> str:
    rule = ["---:" if a == "r" else "---" for a in align]
    lines = [head, rule, *rows]
    return "".join("| " + " | ".join(cells) + " |\n" for cells in lines)


def _meta(s: Summary) -> str:
    bits = [f"{len(s.frame)} run{'s' if len(s.frame) != 1 else ''}"]
    label = "experiment" if len(s.experiments) == 1 else "experiments"
    bits.append(f"{label} " + ", ".join(f"**{md(x)}**" for x in s.experiments))
    if s.where:
        bits.append(f"filter {md(s.where)}")
    bits.append(f"store {md(s.store)}")
    bits.append(f"made {md(summarytext.when(s.made_at))}")
    return " · ".join(bits) + "\n"


def _run_name(s: Summary, run_id: str) -> str:
    fact = s.by_id().get(run_id)
    return f"{md(fact.name if fact else '')} (`{run_id[:8]}`)"


def _leaderboard(s: Summary) -> str:
    if s.ranking is None or s.leaderboard is None:
        return "## Leaderboard\n\nThese runs logged no metric, so nothing is ranked.\n"
    over = s.over.removeprefix("params.") if s.over else None
    intro = (f"Ranked by {md(s.ranking.label)} ({s.ranking.better})"
             + (f", mean ± std over {md(over)}" if over else "") + ", best first.\n\n")
    groups = s.group_columns
    head = ["#", *[md(c.removeprefix("params.")) for c in groups]]
    head += ([] if groups else ["configuration"]) + ["mean", "± std", "runs", "best", "best run"]
    align = ["r", *["l"] * max(len(groups), 1), "r", "r", "r", "r", "l"]
    rows = []
    for i, row in enumerate(s.leaderboard.to_dict("records")):
        cells = [str(i + 1), *[md(summarytext.param(row[c])) for c in groups]]
        if not groups:
            cells.append("all runs")
        cells += [summarytext.metric(row["mean"]),
                  "–" if row["count"] < 2 else summarytext.metric(row["std"]),
                  str(row["count"]), summarytext.metric(row["best"]),
                  _run_name(s, row["best_run"])]
        rows.append(cells)
    return "## Leaderboard\n\n" + intro + _table(head, align, rows)


def _runs_table(s: Summary) -> str:
    params = s.varying
    metrics = []
    if s.ranking is not None:
        metrics.append((s.ranking.label, "_score"))
    metrics += [(k, f"metrics.{k}") for k in s.metric_keys
                if f"metrics.{k}" in s.frame.columns][:MAX_COLUMNS - len(metrics)]
    head = ["#", "run", "status", "duration", *[md(c.removeprefix("params.")) for c in params],
            *[md(label) for label, _ in metrics]]
    align = ["r", "l", "l", "r", *["l"] * len(params), *["r"] * len(metrics)]
    rows = []
    for fact, row in zip(s.runs, s.frame.head(len(s.runs)).to_dict("records"), strict=True):
        rows.append([str(fact.rank) if fact.rank else "–", _run_name(s, fact.run_id),
                     md(fact.status), summarytext.duration(fact.duration_s),
                     *[md(summarytext.param(row.get(c))) for c in params],
                     *[summarytext.metric(row.get(c)) for _, c in metrics]])
    title = "## Params that differ\n\n" if params else "## Runs\n\n"
    same = ""
    if s.constant:
        same = "\nSame in every run: " + ", ".join(
            f"{md(k)}={md(summarytext.param(v))}" for k, v in sorted(s.constant.items())) + "\n"
    return title + _table(head, align, rows) + same


def _runs(s: Summary) -> str:
    out = ["## Runs\n" if s.varying else "## Run facts\n"]
    for fact in s.runs:
        if fact.detailed:
            out.append(_facts(fact, s))
    return "\n".join(out)


def _best(metric: dict[str, Any]) -> str:
    """`` (min 0.11)`` for a loss whose best is not its last value (``max`` for a score)."""
    goal = guess_goal(str(metric["key"]))
    best = metric[goal]
    if best is None or best == metric["last"]:
        return ""
    return f" ({goal} {summarytext.metric(best)})"


def _facts(fact: RunFacts, s: Summary) -> str:
    rank = f"{fact.rank}. " if fact.rank else ""
    lines = [f"**{rank}{md(fact.name)}** (`{fact.short_id}`): {md(fact.status)}, "
             f"{summarytext.duration(fact.duration_s)}, "
             f"started {summarytext.when(fact.start_time)}"]
    if fact.metrics:
        shown = [f"{md(m['key'])} {summarytext.metric(m['last'])}" + _best(m)
                 for m in fact.metrics[:8]]
        lines.append("- metrics: " + " · ".join(shown))
    if fact.tags:
        lines.append("- tags: " + ", ".join(md(summarytext.tag(k, v))
                                             for k, v in sorted(fact.tags.items())))
    if fact.git and fact.git.get("commit"):
        state = "dirty" if fact.git.get("dirty") else "clean"
        branch = f" on {md(fact.git['branch'])}" if fact.git.get("branch") else ""
        lines.append(f"- git: `{str(fact.git['commit'])[:10]}`{branch}, {state}")
    if fact.package_diff:
        listed = ", ".join(f"{md(n)} {md(a or '–')} (vs {md(b or '–')})"
                           for n, a, b in fact.package_diff[:6])
        more = len(fact.package_diff) - 6
        lines.append(f"- packages unlike the best run's: {listed}"
                     + (f", +{more} more" if more > 0 else ""))
    if fact.notes:
        lines.append("- notes: " + md("\n".join(fact.notes)))
    if fact.artifacts:
        lines.append("- artifacts: " + ", ".join(
            f"{md(a.name)} ({summarytext.size(a.size)})" for a in fact.artifacts[:10])
            + (f", +{len(fact.artifacts) - 10} more" if len(fact.artifacts) > 10 else ""))
    if fact.error:
        last = str(fact.error).strip().splitlines()[-1:] or [""]
        lines.append(f"- error: {md(last[0])}")
    return "\n".join(lines) + "\n"
