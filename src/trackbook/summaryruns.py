"""Per-run facts of the exported summary: what each run's card (or Markdown entry) says.

One connection and one query per kind of fact (params, tags, notes, metric summaries,
sparklines, artifacts, lineage) read every run at once, from the public views (and, for
lineage, the same tables ``tb.get_run`` reads). Packages are compared with the best run's, and
a cell source shared by several runs is shown once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from trackbook import ids, summaryimages, values
from trackbook.artifacts import BlobStore
from trackbook.scalars import missing, plain
from trackbook.schema import CORE
from trackbook.store import Store

MAX_DETAIL_RUNS = 100  # runs that get a detail card (the best first)
MAX_SOURCE_CHARS = 20_000  # of one cell's source shown
SPARK_POINTS = 48  # per metric sparkline in a run card


@dataclass
class RunFacts:
    """One run as the summary describes it."""

    run_id: str
    name: str
    experiment: str
    status: str
    start_time: datetime | None
    duration_s: float | None
    parent_run_id: str | None
    rank: int | None = None  # 1 = best by the ranking metric; None when it has no value
    score: float | None = None
    params: dict[str, Any] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)  # metric_summary rows + spark
    error: str | None = None
    host: str | None = None
    git: dict[str, Any] | None = None
    python: str | None = None
    packages: dict[str, str] = field(default_factory=dict)
    package_diff: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    source: str | None = None
    source_lines: int = 0
    source_truncated: bool = False
    source_same_as: str | None = None  # a run shown earlier with the same cell source
    artifacts: list[summaryimages.Shown] = field(default_factory=list)
    detailed: bool = False

    @property
    def short_id(self) -> str:
        return ids.short(self.run_id)



def run_facts(frame: Any, store: Store, *, ranked: bool, omitted: list[str], images: bool
              ) -> list[RunFacts]:
    """Facts of every row of ``frame`` (ranked order); the first :data:`MAX_DETAIL_RUNS`
    get their details, sparklines, lineage comparison and (with ``images``) thumbnails."""
    facts = [_from_row(row, i, ranked) for i, row in enumerate(frame.to_dict("records"))]
    detailed = facts[:MAX_DETAIL_RUNS]
    if detailed:
        with store.reading() as con:  # one connection, a few queries for all the runs
            _read_details(con, store, detailed)
    _compare_lineage(detailed)
    if images:
        summaryimages.attach(detailed, omitted)
    if len(facts) > MAX_DETAIL_RUNS:
        omitted.append(f"Run details are shown for the first {MAX_DETAIL_RUNS} of "
                       f"{len(facts)} runs in ranked order.")
    return facts


def _from_row(row: dict[str, Any], position: int, ranked: bool) -> RunFacts:
    raw = row.get("_score")
    score = None if not ranked or raw is None or missing(raw) else float(raw)
    return RunFacts(
        run_id=row["run_id"], name=str(row["name"]), experiment=str(row["experiment"]),
        status=str(row["status"]), start_time=_time(row.get("start_time")),
        duration_s=None if missing(row.get("duration_s")) else float(row["duration_s"]),
        parent_run_id=None if missing(row.get("parent_run_id")) else row["parent_run_id"],
        rank=position + 1 if score is not None else None, score=score,
        params={k.removeprefix("params."): plain(v) for k, v in row.items()
                if k.startswith("params.") and not missing(v)},
        tags={k.removeprefix("tags."): str(v) for k, v in row.items()
              if k.startswith("tags.") and not missing(v)},
    )


_IN = "WHERE run_id IN (SELECT unnest($runs::VARCHAR[]))"


def _read_details(con: Any, store: Store, facts: list[RunFacts]) -> None:
    """What ``tb.get_run`` gives, for many runs in one query per kind (a query per run and
    kind costs ~25 ms a run, seconds for a hundred)."""
    by_id = {f.run_id: f for f in facts}
    args = {"runs": list(by_id)}

    def rows(sql: str) -> list[dict[str, Any]]:
        return list(con.execute(sql, args).to_arrow_table().to_pylist())

    for fact in facts:
        fact.detailed, fact.params, fact.tags = True, {}, {}
    for r in rows(f"SELECT run_id, key, value, type FROM main.params {_IN} ORDER BY key"):
        by_id[r["run_id"]].params[r["key"]] = values.load_param(r["value"], r["type"])
    for r in rows(f"SELECT run_id, key, value FROM main.tags {_IN} ORDER BY key"):
        by_id[r["run_id"]].tags[r["key"]] = r["value"]
    for r in rows(f"SELECT run_id, note FROM main.notes {_IN} ORDER BY time"):
        by_id[r["run_id"]].notes.append(r["note"])
    for r in rows(f"SELECT run_id, error, host FROM main.runs {_IN}"):
        by_id[r["run_id"]].error, by_id[r["run_id"]].host = r["error"], r["host"]
    sparks = _sparklines(con, list(by_id))
    for r in rows("SELECT run_id, key, last, last_step, min, min_step, max, max_step, count "
                  f"FROM main.metric_summary {_IN} ORDER BY key"):
        r["spark"] = sparks.get((r["run_id"], r["key"]), [])
        by_id[r["run_id"]].metrics.append(r)
    blobs = BlobStore(store.artifacts_dir)
    for r in rows(f"SELECT run_id, name, kind, size, sha256 FROM main.artifacts {_IN} "
                  "ORDER BY name"):
        by_id[r["run_id"]].artifacts.append(summaryimages.Shown(
            r["name"], r["kind"], r["size"], blobs.path_of(r["sha256"])))
    _read_lineage(con, args, by_id)


def _read_lineage(con: Any, args: dict[str, Any], by_id: dict[str, RunFacts]) -> None:
    """Git state, python, packages and cell source; environments and sources are stored by
    hash and read (and parsed) once however many runs share them."""
    docs = {run_id: json.loads(doc) for run_id, doc in con.execute(
        f"SELECT run_id, arg_max(lineage, time) FROM {CORE}.lineage_log {_IN} GROUP BY run_id",
        args).fetchall() if doc}
    hashes = {h for d in docs.values()
              for h in (d.get("environment"), (d.get("code") or {}).get("hash")) if h}
    content = dict(con.execute(
        f"SELECT hash, any_value(content) FROM {CORE}.blobs "
        "WHERE hash IN (SELECT unnest($h::VARCHAR[])) GROUP BY hash", {"h": sorted(hashes)}
    ).fetchall()) if hashes else {}
    environments: dict[str, dict[str, Any]] = {}
    for run_id, doc in docs.items():
        fact = by_id[run_id]
        git = doc.get("git") or None
        if git:
            fact.git = {k: git.get(k) for k in ("commit", "branch", "dirty", "remote")}
        env_hash = doc.get("environment")
        if env_hash and env_hash in content and env_hash not in environments:
            environments[env_hash] = json.loads(content[env_hash])
        env = environments.get(env_hash or "", {})
        fact.python = env.get("python")
        fact.packages = env.get("packages") or {}
        source = content.get((doc.get("code") or {}).get("hash") or "")
        if source:
            fact.source_lines = source.count("\n") + 1
            fact.source_truncated = len(source) > MAX_SOURCE_CHARS
            fact.source = source[:MAX_SOURCE_CHARS]


# Per run and metric about SPARK_POINTS bucket means (as the notebook card draws them), for
# every run at once: one scan, where a query per series (series.curves) costs ~10x more here.
_SPARKS = """
    WITH widths AS (
        SELECT run_id, key, greatest(1, ceil((last_step + 1) / $n))::BIGINT AS w
        FROM main.metric_summary WHERE run_id IN (SELECT unnest($runs::VARCHAR[])))
    SELECT m.run_id, m.key, min(m.step) AS step, avg(m.value) AS value
    FROM main.metrics m JOIN widths USING (run_id, key)
    WHERE isfinite(m.value)
    GROUP BY m.run_id, m.key, m.step // widths.w
    ORDER BY 1, 2, 3
"""


def _sparklines(con: Any, run_ids: list[str]) -> dict[tuple[str, str], list[list[Any]]]:
    """Per (run, metric) a few dozen (step, value) points, averaged in DuckDB."""
    table = con.execute(_SPARKS, {"n": SPARK_POINTS, "runs": run_ids}).to_arrow_table()
    out: dict[tuple[str, str], list[list[Any]]] = {}
    columns = [table.column(c).to_pylist() for c in ("run_id", "key", "step", "value")]
    for run_id, key, step, value in zip(*columns, strict=True):
        out.setdefault((run_id, key), []).append([int(step), float(value)])
    return out


def _compare_lineage(facts: list[RunFacts]) -> None:
    """Packages whose version differs from the best (first) run's; cell sources shown once."""
    if not facts:
        return
    reference = facts[0].packages
    seen: dict[str, str] = {}
    for fact in facts:
        if fact is not facts[0] and reference and fact.packages:
            names = sorted(set(reference) | set(fact.packages))
            fact.package_diff = [(n, fact.packages.get(n), reference.get(n)) for n in names
                                 if fact.packages.get(n) != reference.get(n)]
        if fact.source:
            first = seen.setdefault(fact.source, fact.run_id)
            if first != fact.run_id:
                fact.source_same_as = first


# -- small helpers ---------------------------------------------------------------------------------



def _time(value: Any) -> datetime | None:
    if missing(value):
        return None
    moment = value.to_pydatetime() if hasattr(value, "to_pydatetime") else value
    return moment.astimezone(timezone.utc) if isinstance(moment, datetime) else None
