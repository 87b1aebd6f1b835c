"""The read side of the API: ``tb.runs``, ``tb.sql``, run ids from prefixes.

Every read first hands what this process logged to the spool, so a read sees everything the
process logged before the call; the store ingests the spool when it opens.
"""

from __future__ import annotations

import os
from typing import Any

from trackbook import ids, pivot, queries, session, writer
from trackbook.errors import RunNotFound
from trackbook.schema import CORE, LAST_ORDER
from trackbook.store import Store

BASE_COLUMNS = ["run_id", "name", "experiment", "status", "start_time", "end_time",
                "duration_s", "parent_run_id"]


def reader(store: str | os.PathLike[str] | Store | None = None) -> Store:
    """The store to read, after this process's own buffers reached its spool."""
    the_store = store if isinstance(store, Store) else session.store_for(store)
    writer.flush_for(the_store)
    return the_store


def runs(
    where: str | None = None,
    experiment: str | list[str] | None = None,
    order_by: str | list[str] | None = None,
    limit: int | None = None,
    *,
    store: str | os.PathLike[str] | Store | None = None,
) -> Any:
    """One row per run: attributes, then ``params.<k>``, ``metrics.<k>`` (last), ``tags.<k>``.

    Parameters
    ----------
    where
        A filter, e.g. ``"params.lr < 1e-3 and metrics.val_loss.min < 0.3"``.
    experiment
        An experiment name (or a list); None means all experiments.
    order_by
        A column or filter field with optional ``ASC``/``DESC``, or a list; newest first by
        default.
    limit
        At most this many runs.

    Returns
    -------
    pandas.DataFrame
    """
    sql, params = queries.select_runs(where, experiment, order_by, limit)
    with reader(store).reading() as con:
        frame = wide_runs(con, sql, params)
    # A tag removed from every selected run leaves an all-empty column: drop it.
    empty = [c for c in frame.columns if c.startswith("tags.") and frame[c].isna().all()]
    return frame.drop(columns=empty)


def wide_runs(con: Any, select_sql: str, params: dict[str, Any]) -> Any:
    """The runs ``select_sql`` picks as a DataFrame, one wide row each, in its order.

    Current params, metric last values and tags come from the append-only logs grouped by
    (run position, key number) in DuckDB, and go into columns with :mod:`trackbook.pivot`.
    Keys travel as numbers and text only where a column holds text: converting strings is
    what costs most here.
    """
    import pandas as pd

    # These queries are many and small: one thread runs them faster than two that synchronise.
    con.execute("SET threads = 1")
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE _sel AS {select_sql}", params)
        frame = con.execute(f"SELECT {', '.join(BASE_COLUMNS)} FROM _sel ORDER BY _ord"
                            ).to_arrow_table().to_pandas()
        columns: dict[str, Any] = {}
        for prefix, table in _LONG:
            columns.update(_pivot_table(con, prefix, table, len(frame)))
    finally:
        con.execute("RESET threads")
    if not columns:
        return frame
    return pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)


# Per (run, key) of each log: whether the key is gone (None / untagged) and its current value;
# a number, or text for keys whose column holds text.
_CURRENT = {
    ("params", "num"): "max_by(type = 'none', time) AS gone, max_by(num, time) AS value",
    ("params", "text"): "max_by(type = 'none', time) AS gone, max_by(value, time) AS value",
    ("metrics", "num"): f"false AS gone, arg_max(last, {LAST_ORDER}) AS value",
    ("tags", "text"): "max_by(removed, time) AS gone, max_by(value, time) AS value",
}
_LONG = (("params", "params_log"), ("metrics", "metric_partials"), ("tags", "tags_log"))


def _pivot_table(con: Any, prefix: str, table: str, n: int) -> dict[str, Any]:
    """One column per key of one log, for the runs in ``_sel``."""
    keys = con.execute(
        f"SELECT key, list(DISTINCT {'type' if prefix == 'params' else 'NULL'}) "
        f"FROM {CORE}.{table} WHERE run_id IN (SELECT run_id FROM _sel) GROUP BY key"
    ).fetchall()
    kinds = {key: _column_kind(prefix, types) for key, types in keys}
    out: dict[str, Any] = {}
    for part in ("num", "text"):
        names = sorted(k for k, kind in kinds.items() if (kind == "object") == (part == "text"))
        if names:
            out.update(_pivot_keys(con, prefix, table, part, names, kinds, n))
    return {name: out[name] for name in sorted(out)}


def _pivot_keys(con: Any, prefix: str, table: str, part: str, names: list[str],
                kinds: dict[str, str], n: int) -> dict[str, Any]:
    long = con.execute(
        f"""SELECT s._ord - 1 AS i, k.idx, {_CURRENT[prefix, part]}
            FROM {CORE}.{table} JOIN _sel s USING (run_id)
            JOIN (SELECT unnest($keys) AS key, unnest(range(len($keys))) AS idx) k USING (key)
            GROUP BY ALL""",
        {"keys": names},
    ).fetchnumpy()
    order = long["idx"].argsort()
    codes, positions = long["idx"][order], long["i"][order]
    kept = ~long["gone"][order].astype(bool)
    values = long["value"][order]
    bounds = pivot.bounds(codes, len(names))
    out = {}
    for k, name in enumerate(names):
        rows = slice(bounds[k], bounds[k + 1])
        keep = kept[rows]
        out[f"{prefix}.{name}"] = pivot.scatter(n, positions[rows][keep], values[rows][keep],
                                               kind=kinds[name])
    return out


def _column_kind(prefix: str, types: list[str | None]) -> str:
    """How a key's column is typed: numbers stay numbers, text or mixed keys are objects."""
    if prefix == "metrics":
        return "float"
    kinds = {t for t in types if t not in (None, "none")}
    if prefix == "tags" or not kinds or not kinds <= {"int", "float", "bool"}:
        return "object"
    if kinds == {"int"}:
        return "int"
    return "bool" if kinds == {"bool"} else "float"


def sql(query: str, params: Any = None, *, store: str | os.PathLike[str] | Store | None = None
        ) -> Any:
    """Run a read-only SQL statement over the public views; returns a DataFrame.

    Views: ``runs``, ``params``, ``metrics``, ``metric_summary``, ``tags``, ``notes``,
    ``artifacts``, ``inputs``, ``experiments``. Anything but a read raises and changes nothing.
    """
    if not isinstance(query, str) or not query.strip():
        raise ValueError("tb.sql needs a query, e.g. tb.sql('SELECT * FROM runs')")
    return reader(store).query_readonly(query, params).to_pandas()


def resolve(con: Any, text: str) -> str:
    """The run id that an id, a 6+ character prefix or an exact run name designates."""
    text = str(text).strip()
    try:
        prefix = ids.check_prefix(text)
    except ValueError as exc:
        rows = con.execute(
            f"SELECT run_id, name, experiment FROM {queries.RUNS} WHERE name = ? "
            "ORDER BY start_time DESC LIMIT 11", [text]
        ).fetchall()
        if not rows:
            if text and set(text.lower()) <= set("0123456789abcdef"):
                raise RunNotFound(str(exc)) from None  # a prefix that is too short
            raise RunNotFound(f"no run is named {text!r} (and it is not a run id: ids are 16 "
                              f"hex characters, a prefix of {ids.MIN_PREFIX} is enough)"
                              ) from None
    else:
        rows = con.execute(
            f"SELECT run_id, name, experiment FROM {queries.RUNS} "
            "WHERE starts_with(run_id, ?) ORDER BY start_time DESC LIMIT 11", [prefix]
        ).fetchall()
        if not rows:
            raise RunNotFound(f"no run id starts with {prefix!r}")
    if len(rows) > 1:
        listed = "\n".join(f"  {ids.short(r[0])}  {r[1]}  ({r[2]})" for r in rows[:10])
        more = "\n  ..." if len(rows) > 10 else ""
        raise RunNotFound(f"{text!r} matches several runs; give more characters:\n{listed}{more}")
    return str(rows[0][0])


def experiments(*, store: str | os.PathLike[str] | Store | None = None) -> Any:
    """One row per experiment: name, created, n_runs."""
    return reader(store).arrow("SELECT * FROM main.experiments ORDER BY created").to_pandas()


def get_run(id_or_prefix: str, *, store: str | os.PathLike[str] | Store | None = None) -> Any:
    from trackbook.snapshot import load_run

    the_store = reader(store)
    with the_store.reading() as con:
        return load_run(con, the_store, resolve(con, id_or_prefix))
