"""What the panel's browser side may ask for: named queries answered from DuckDB.

The browser never sends SQL. It names one of :data:`QUERIES` with parameters; each function
here checks them and answers with JSON-ready data: a page of the runs table (filtered, sorted
and paged in DuckDB, only that page pivoted), the keys a column chooser offers, a compare view
of a few runs, a chart spec. Every answer opens one short connection (or two), never more.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trackbook import fieldcache, filters, ids, queries, reads
from trackbook.errors import FilterError
from trackbook.filters import Field
from trackbook.schema import CORE, TAG_CURRENT, run_state_sql
from trackbook.store import Store

StoreArg = str | os.PathLike[str] | Store | None
MAX_PAGE_SIZE = 500
MAX_COMPARE = 200
DEFAULT_PARAM_COLUMNS = 6
DEFAULT_METRIC_COLUMNS = 4
AGGS = ("last", "min", "max")


class BadRequest(ValueError):
    """A request the panel cannot answer as asked (the browser shows the message)."""


# -- values on the wire -------------------------------------------------------------------------

def wire(value: Any) -> Any:
    """A value as JSON can carry it: NaN/inf as text, times as ISO text, numpy as Python."""
    if value is None or isinstance(value, bool | str):
        return value
    if hasattr(value, "item") and not isinstance(value, list | dict):
        value = value.item()  # numpy scalars
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if value != value:  # pandas NA / NaT
        return None
    return str(value)


# -- the runs table -----------------------------------------------------------------------------

def _fields(columns: Any) -> list[tuple[str, Field]]:
    """Column names as the filter language writes them (``params.lr``, ``metrics.loss.min``,
    ``metrics.`odd.min```), each with its parsed field."""
    if columns is None:
        return []
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise BadRequest("columns must be a list of column names")
    out = []
    for column in columns:
        target = filters.parse_field(column)
        if target.kind not in ("param", "metric", "tag"):
            raise BadRequest(f"{column!r} is not a params., metrics. or tags. column")
        out.append((column, target))
    return out


def page(store: StoreArg = None, *, where: str | None = None, experiment: str | None = None,
         order_by: str | None = None, page: int = 0, page_size: int = 25,
         columns: list[str] | None = None) -> dict[str, Any]:
    """One page of the runs table.

    Only the page is read in full: the matching runs are counted, and ordered to the page,
    with nothing but their ids and the fields the filter and order use (DuckDB then computes
    no other run attribute); the shown params, tags and metric summaries, and the runs'
    states, are read for the page's runs alone.

    Returns
    -------
    dict
        ``total`` (runs matching), ``page``, ``page_size``, ``columns`` (the value columns
        shown), ``rows``: ``run_id, name, status, start_time, duration_s, parent_run_id`` and
        ``values`` (column -> value).
    """
    page_size = int(page_size)
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise BadRequest(f"page_size must be between 1 and {MAX_PAGE_SIZE}")
    wanted = _fields(columns)
    ask = _Ask(where or None, experiment or None, order_by or None, page_size)
    the_store = reads.reader(store)
    with the_store.reading() as con, fieldcache.for_burst(con, the_store.path) as tables:
        current, total, run_ids = _page_ids(con, tables, ask, max(int(page), 0))
        rows, *found = _side_by_side(the_store.path, con, [
            functools.partial(_page_rows, run_ids=run_ids), *_value_jobs(run_ids, wanted)])
    fieldcache.build_later(the_store.path, tables.missing)  # for the next sort or page
    values = {k: v for part in found for k, v in part.items()}
    for row in rows:
        row["values"] = {column: values.get((row["run_id"], column)) for column, _ in wanted}
    return {"total": total, "page": current, "page_size": page_size,
            "columns": [c for c, _ in wanted], "rows": rows}


_pools: dict[int, Any] = {}


def _side_by_side(path: str, con: Any, jobs: list[Callable[[Any], Any]]) -> list[Any]:
    """Each job's result, the first run on ``con``, the others at the same time on cursors of
    the same burst: the page's state, params and summaries are scans of different tables,
    and most of them fill one DuckDB thread (100k runs' start rows are one row group)."""
    if len(jobs) < 2:
        return [job(con) for job in jobs]
    from concurrent.futures import wait

    from trackbook import duck

    sides: list[Any] = []
    later: list[Any] = []
    try:
        for _ in jobs[1:]:
            sides.append(duck.acquire(path))
        later = [_pool().submit(job, side) for job, side in zip(jobs[1:], sides, strict=True)]
        first = jobs[0](con)
        return [first, *(f.result() for f in later)]
    finally:
        wait(later)  # no cursor is closed under a query still running on it
        for side in sides:
            duck.release(path, side)


def _pool() -> Any:
    from concurrent.futures import ThreadPoolExecutor

    pid = os.getpid()  # a forked child has no threads: it makes its own pool
    if pid not in _pools:
        _pools[pid] = ThreadPoolExecutor(max_workers=3, thread_name_prefix="trackbook-page")
    return _pools[pid]


@dataclass(frozen=True)
class _Ask:
    where: str | None
    experiment: str | None
    order_by: str | None
    page_size: int


def _page_ids(con: Any, tables: fieldcache.Fields, ask: _Ask, page: int
              ) -> tuple[int, int, list[str]]:
    """(page, runs matching, the page's run ids): the last page when ``page`` is past it.

    The sort and filter fields come from tables kept while their logs are unchanged
    (:mod:`trackbook.fieldcache`); the matches are counted without ordering them, and the
    page is a top-N of them (numbering every match would sort them all). Not one query with
    ``count(*) OVER ()``: with two threads DuckDB 1.5.5 fails on it now and then with an
    internal error that invalidates the process's database
    (tests/test_panel_robustness.py).
    """
    count_sql, count_params = queries.select_runs(
        ask.where, ask.experiment, columns=["run_id"], tables=tables, ordered=False)

    def count(cursor: Any) -> int:
        return int(cursor.execute(f"SELECT count(*) FROM ({count_sql})",
                                  count_params).fetchone()[0])

    # Counted and ordered at once, on two cursors of the burst; a page past the end comes
    # back empty, and then the last page is read.
    total, run_ids = _side_by_side(tables.path, con, [count, _top(tables, ask, page)])
    last = max(0, (total - 1) // ask.page_size)
    if page > last:
        page, run_ids = last, (_top(tables, ask, last)(con) if total else [])
    return page, total, run_ids


def _top(tables: fieldcache.Fields, ask: _Ask, page: int) -> Callable[[Any], list[str]]:
    sql, params = queries.select_runs(
        ask.where, ask.experiment, ask.order_by, columns=["run_id"], tables=tables,
        numbered=False, limit=ask.page_size, offset=page * ask.page_size)
    return lambda cursor: [run_id for (run_id,) in cursor.execute(sql, params).fetchall()]


def _page_rows(con: Any, run_ids: list[str]) -> list[dict[str, Any]]:
    """The page's runs with their attributes, from the state of those runs only."""
    if not run_ids:
        return []
    state = {r["run_id"]: r for r in con.execute(
        f"""SELECT run_id, name, status, start_time, duration_s, parent_run_id
            FROM ({run_state_sql(queries.member("run_id", "$ids", len(run_ids)))})""",
        {"ids": run_ids}).to_arrow_table().to_pylist()}
    return [{"run_id": run_id, "name": state[run_id]["name"], "status": state[run_id]["status"],
             "start_time": wire(state[run_id]["start_time"]),
             "duration_s": wire(state[run_id]["duration_s"]),
             "parent_run_id": state[run_id]["parent_run_id"]} for run_id in run_ids]


def _value_jobs(run_ids: list[str], fields: list[tuple[str, Field]]
                ) -> list[Callable[[Any], dict[tuple[str, str], Any]]]:
    """Queries for (run, column) -> the shown value, for the page's runs and the shown columns
    only: one per kind of column, each a function of a cursor (they may run side by side).

    Straight from the logs, not from kept field tables: a file table's run ids are
    dictionary-encoded (each repeats once per key), so DuckDB tests the page's ids once per
    distinct run, where a kept table's unique ids are tested row by row (25 runs' values
    from 10 kept tables: ~50 ms; from the logs: ~18 ms)."""
    if not run_ids or not fields:
        return []
    by_kind: dict[str, dict[str, list[str]]] = {}
    for column, target in fields:
        by_kind.setdefault(target.kind, {}).setdefault(target.key, []).append(column)
    jobs: list[Callable[[Any], dict[tuple[str, str], Any]]] = []
    if "param" in by_kind:
        jobs.append(functools.partial(_param_values, run_ids, by_kind["param"]))
    if "tag" in by_kind:
        jobs.append(functools.partial(_tag_values, run_ids, by_kind["tag"]))
    if "metric" in by_kind:
        jobs.append(functools.partial(
            _metric_values, run_ids, [(c, t) for c, t in fields if t.kind == "metric"]))
    return jobs


def _in_page(run_ids: list[str], n_keys: int) -> str:
    # The run test first: it drops almost every row, and DuckDB applies them in order
    # (25 runs' params at 100k runs: 11 ms this way round, 44 ms the other).
    return (f"{queries.member('run_id', '$runs', len(run_ids))} AND "
            f"{queries.member('key', '$keys', n_keys)}")


def _param_values(run_ids: list[str], keys: dict[str, list[str]], con: Any
                  ) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for run_id, key, kind, number, text in con.execute(
            f"""SELECT run_id, key, {PARAM_CURRENT_SHORT} FROM {CORE}.params_log
                WHERE {_in_page(run_ids, len(keys))} GROUP BY run_id, key""",
            {"runs": run_ids, "keys": list(keys)}).fetchall():
        for column in keys[key]:
            out[run_id, column] = _param_value(kind, number, text)
    return out


def _tag_values(run_ids: list[str], keys: dict[str, list[str]], con: Any
                ) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for run_id, key, value, removed in con.execute(
            f"""SELECT run_id, key, {TAG_CURRENT} FROM {CORE}.tags_log
                WHERE {_in_page(run_ids, len(keys))} GROUP BY run_id, key""",
            {"runs": run_ids, "keys": list(keys)}).fetchall():
        for column in keys[key]:
            out[run_id, column] = None if removed else value
    return out


def _metric_values(run_ids: list[str], metrics: list[tuple[str, Field]], con: Any
                   ) -> dict[tuple[str, str], Any]:
    out: dict[tuple[str, str], Any] = {}
    for (run_id, key, agg), value in _summaries(con, run_ids, metrics).items():
        for column, target in metrics:
            if target.key == key and target.agg == agg:
                out[run_id, column] = wire(value)
    return out


# type, number and text of a param's latest row
PARAM_CURRENT_SHORT = ("max_by(type, time) AS type, max_by(num, time) AS num, "
                       "max_by(value, time) AS value")


def _param_value(kind: str | None, number: float | None, text: str | None) -> Any:
    """A param as the table shows it: numbers as numbers, everything else as its text."""
    if kind in (None, "none"):
        return None
    if kind == "int" and number is not None:
        return int(number)
    if kind == "bool":
        return text == "True"
    if kind == "float":
        return wire(number)
    return text


def _summaries(con: Any, run_ids: list[str], fields: list[tuple[str, Field]]
               ) -> dict[tuple[str, str, str], Any]:
    """(run, key, last|min|max) -> value for the page's metric columns."""
    keys = sorted({f.key for _, f in fields if f.kind == "metric"})
    if not keys or not run_ids:
        return {}
    rows = con.execute(
        "SELECT run_id, key, last, min, max FROM "
        + queries.summaries_of("$runs", len(run_ids), "$keys", len(keys)),
        {"runs": run_ids, "keys": keys}).fetchall()
    out: dict[tuple[str, str, str], Any] = {}
    for run_id, key, *values in rows:
        for agg, value in zip(AGGS, values, strict=True):
            out[run_id, key, agg] = value
    return out


# -- what the column chooser offers ---------------------------------------------------------------

def available_columns(store: StoreArg = None, *, experiment: str | None = None
                      ) -> dict[str, Any]:
    """Param, metric and tag keys of the (experiment's) visible runs, most common first, and
    the columns shown when the user has chosen none (params that vary, then metrics)."""
    # Cheap tables only (no run_state): this runs on every refresh of every panel.
    scope = f"run_id NOT IN (SELECT run_id FROM {CORE}.deleted_runs)"
    if experiment:
        scope += (f" AND run_id IN (SELECT run_id FROM {CORE}.run_starts "
                  "WHERE experiment = $experiment)")
    args = {"experiment": experiment} if experiment else {}
    with reads.reader(store).reading() as con:
        params = con.execute(
            f"""SELECT key, min(coalesce(value, '')) <> max(coalesce(value, '')) AS varies
                FROM {CORE}.params_log WHERE {scope} GROUP BY key ORDER BY count(*) DESC, key""",
            args).fetchall()
        metrics = con.execute(
            f"SELECT key FROM {CORE}.metric_partials WHERE {scope} "
            "GROUP BY key ORDER BY count(*) DESC, key", args).fetchall()
        tags = con.execute(
            f"SELECT key FROM {CORE}.tags_log WHERE {scope} "
            "GROUP BY key ORDER BY count(*) DESC, key", args).fetchall()
        experiments = [e for (e,) in con.execute(
            f"SELECT experiment FROM {CORE}.run_starts GROUP BY experiment "
            "ORDER BY min(start_time) DESC").fetchall()]
    varying = [k for k, varies in params if varies]
    default = ([filters.column_name("param", k) for k in varying[:DEFAULT_PARAM_COLUMNS]]
               + [filters.column_name("metric", k) for (k,) in metrics[:DEFAULT_METRIC_COLUMNS]])
    return {
        "params": [_column("param", k) for k, _ in params],
        "metrics": [{"key": k, "ids": {agg: filters.column_name("metric", k, agg)
                                       for agg in AGGS}} for (k,) in metrics],
        "tags": [_column("tag", k) for (k,) in tags],
        "varying": varying, "default": default, "experiments": experiments,
    }


def _column(kind: str, key: str) -> dict[str, str]:
    return {"key": key, "id": filters.column_name(kind, key)}


# -- compare ------------------------------------------------------------------------------------

def _run_ids(value: Any, *, at_least: int = 1) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRequest("runs must be a list of run ids")
    if len(value) < at_least:
        raise BadRequest(f"select at least {at_least} run(s)")
    if len(value) > MAX_COMPARE:
        raise BadRequest(f"compare at most {MAX_COMPARE} runs at once")
    for run_id in value:
        if len(run_id) != ids.RUN_ID_LENGTH:
            raise BadRequest(f"{run_id!r} is not a run id")
        ids.check_prefix(run_id)
    return list(dict.fromkeys(value))


def compare(store: StoreArg = None, *, runs: Any = None) -> dict[str, Any]:
    """Params (which differ), metric summaries and lineage facts of a few runs, side by side."""
    from trackbook import plotdata, series

    run_ids = _run_ids(runs)
    the_store = reads.reader(store)
    frame = plotdata.select_runs(run_ids, limit=None, store=the_store)
    summary = series.summaries(run_ids, store=the_store)
    order = list(frame["run_id"])
    params = []
    for column in [c for c in frame.columns if c.startswith("params.")]:
        values = [wire(v) for v in frame[column]]
        params.append({"key": column.removeprefix("params."), "values": values,
                       "differs": len({repr(v) for v in values}) > 1})
    metrics = []
    for key, group in summary.groupby("key", sort=True):
        by_run = group.set_index("run_id")
        metrics.append({"key": key, "count": int(group["count"].max()),
                        **{agg: [wire(by_run[agg].get(r)) for r in order] for agg in AGGS}})
    tags = []
    for column in [c for c in frame.columns if c.startswith("tags.")]:
        values = [wire(v) for v in frame[column]]
        tags.append({"key": column.removeprefix("tags."), "values": values,
                     "differs": len({repr(v) for v in values}) > 1})
    labels = plotdata.labels(frame)
    return {
        "runs": [{"run_id": r, "name": n, "status": s, "duration_s": wire(d), "label": labels[r]}
                 for r, n, s, d in zip(frame["run_id"], frame["name"], frame["status"],
                                       frame["duration_s"], strict=True)],
        "params": params, "metrics": metrics, "tags": tags,
        "seed": (plotdata.guess_seed_column(frame) or "").removeprefix("params.") or None,
        "code_diff": _code_diff(order, the_store) if len(order) == 2 else None,
    }


def _code_diff(run_ids: list[str], store: Store) -> str | None:
    from trackbook.rundiff import code_diff

    return code_diff(run_ids[0], run_ids[1], store=store) or None


# -- charts -------------------------------------------------------------------------------------

CHART_SIZE = {"width": (240, 1400), "height": (120, 800)}


def _size(params: dict[str, Any]) -> dict[str, Any]:
    size: dict[str, Any] = {}
    for name, (low, high) in CHART_SIZE.items():
        if params.get(name) is not None:
            size[name] = min(max(int(params[name]), low), high)
    return size


def chart(store: StoreArg = None, *, kind: str = "curves", runs: Any = None,
          metric: str | None = None, x: str | None = None, y: str | None = None,
          color: str | None = None, smooth: float = 0.0, log_y: bool = False,
          group_by: str | list[str] | None = None, params: list[str] | None = None,
          budget: int = 20_000, width: int | None = None, height: int | None = None,
          ) -> dict[str, Any]:
    """A Vega-Lite spec from ``tb.plot`` for the chosen runs.

    ``kind`` is ``curves`` (``metric``, ``x`` step/time/wall_time, ``smooth``, ``log_y``,
    ``group_by``), ``scatter`` (``x`` a param, ``y`` a metric, ``color``) or ``parallel``
    (``params``, ``metric``).
    """
    from trackbook import plots

    if kind not in ("curves", "scatter", "parallel"):
        raise BadRequest(f"unknown chart kind {kind!r}: curves, scatter or parallel")
    run_ids = _run_ids(runs)
    size = _size({"width": width, "height": height})
    if kind == "curves":
        spec = plots.curves(run_ids, metric or None, x=x or "step", smooth=float(smooth),
                            log_y=bool(log_y), group_by=group_by or None, budget=int(budget),
                            limit=None, store=store, **size)
    elif kind == "scatter":
        spec = plots.scatter(_required("x", x), _required("y", y), run_ids,
                             color=color or None, store=store, **size)
    else:
        spec = plots.parallel(params or None, _required("metric", metric), run_ids,
                              store=store, **size)
    # Built by tb.plot from checked inputs (and its builders are tested through to_dict);
    # validating 20k inline points again would cost a third of the request.
    return {"spec": spec.to_dict(validate=False)}


def _required(name: str, value: Any) -> Any:
    if not value:
        raise BadRequest(f"choose a {name}")
    return value


# -- the allow-list -------------------------------------------------------------------------------

QUERIES: dict[str, Callable[..., dict[str, Any]]] = {
    "page": page,
    "columns": available_columns,
    "compare": compare,
    "chart": chart,
}


def answer(name: str, params: Any, store: StoreArg = None) -> dict[str, Any]:
    """Run the named query; raise :class:`BadRequest` (or a trackbook error) when it fails."""
    handler = QUERIES.get(name)
    if handler is None:
        raise BadRequest(f"unknown request {name!r}")
    if not isinstance(params, dict):
        raise BadRequest("request parameters must be an object")
    try:
        inspect.signature(handler).bind(store, **params)
    except TypeError as exc:  # an unexpected or missing parameter name
        raise BadRequest(f"bad parameters for {name}: {exc}") from None
    return handler(store, **params)


def error_reply(exc: Exception) -> dict[str, Any]:
    """What the browser shows for a failed request; filter errors carry their position."""
    reply: dict[str, Any] = {"message": str(exc), "kind": type(exc).__name__}
    if isinstance(exc, FilterError):
        reply.update(message=exc.reason, position=exc.position, text=exc.text)
    return reply
