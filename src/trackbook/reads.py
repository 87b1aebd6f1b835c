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
    sql, params = queries.select_runs(where, experiment, order_by, limit, columns=BASE_COLUMNS,
                                      numbered=False)
    with reader(store).reading() as con:
        frame = _wide(con, con.execute(sql, params).to_arrow_table())
    # A tag removed from every selected run leaves an all-empty column: drop it.
    empty = [c for c in frame.columns if c.startswith("tags.") and frame[c].isna().all()]
    return frame.drop(columns=empty) if empty else frame  # drop() copies even when empty


def wide_runs(con: Any, select_sql: str, params: dict[str, Any]) -> Any:
    """The runs ``select_sql`` picks as a DataFrame, one wide row each, in its order.

    ``select_sql`` selects ``run_state`` columns plus ``_ord`` (see
    :func:`trackbook.queries.select_runs`); rows come out by ``_ord``.
    """
    selected = con.execute(f"SELECT {', '.join(BASE_COLUMNS)} FROM ({select_sql}) "
                           "ORDER BY _ord", params).to_arrow_table()
    return _wide(con, selected)


def _wide(con: Any, selected: Any) -> Any:
    """The runs of ``selected`` (an Arrow table of BASE_COLUMNS, in order), made wide.

    Current params, metric last values and tags come from the append-only logs grouped by
    (run position, key) in DuckDB, one query per log, and go into columns with
    :mod:`trackbook.pivot`. Values travel as numbers; text only for the keys whose column
    holds text, in a second query: converting strings is what costs most here.
    """
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    n = selected.num_rows
    # The runs and their positions, read back by the pivot queries: an Arrow table scanned in
    # place, which is cheaper than a temp table plus a window numbering the rows.
    con.register("_sel", pa.table({"run_id": selected.column("run_id"),
                                   "_i": np.arange(n, dtype=np.int64)}))
    # Rows are placed by position, so their order does not matter: DuckDB then skips the
    # bookkeeping that keeps it (a fifth of the time of a big pivot).
    con.execute("SET preserve_insertion_order = false")
    try:
        columns = {**_param_columns(con, n), **_metric_columns(con, n), **_tag_columns(con, n)}
    finally:
        con.execute("RESET preserve_insertion_order")
        con.unregister("_sel")
    frame = selected.to_pandas()
    if not columns:
        return frame
    return pd.concat([frame, pd.DataFrame(columns, index=frame.index)], axis=1)


# Bits of a param's types, OR-ed over every row of a key: which kind its column gets.
_TYPE_BITS = """bit_or(CASE WHEN type IS NULL OR type = 'none' THEN 0 WHEN type = 'int' THEN 1
                        WHEN type = 'float' THEN 2 WHEN type = 'bool' THEN 4 ELSE 8 END)"""
_INT, _FLOAT, _BOOL, _OTHER = 1, 2, 4, 8
# Rows of a log for the selected runs, grouped per (run position, key): latest row wins.
_GROUPED = f"""SELECT s._i AS i, g.key, {{columns}} FROM {CORE}.{{table}} g
               JOIN _sel s USING (run_id) {{where}} GROUP BY ALL"""


def _grouped(con: Any, table: str, columns: str, where: str = "", params: Any = None) -> Any:
    sql = _GROUPED.format(table=table, columns=columns, where=where)
    return con.execute(sql, params or {}).to_arrow_table()


def _tag_columns(con: Any, n: int) -> dict[str, Any]:
    long = _grouped(con, "tags_log", "max_by(removed, time) AS gone, max_by(value, time) AS value")
    if not long.num_rows:
        return {}
    keys = pivot.Keys(long)
    return keys.columns("tags.", n, long, dict.fromkeys(keys.names, "object"))


def _param_columns(con: Any, n: int) -> dict[str, Any]:
    """``params.<k>``: numbers (int, float, bool) where every row of the key agrees, else text."""
    long = _grouped(con, "params_log", f"""{_TYPE_BITS} AS types,
        max_by(type = 'none', time) AS gone, max_by(num, time) AS value""")
    keys = pivot.Keys(long)
    bits = keys.reduce_or(long.column("types"))
    kinds = {name: _param_kind(int(b)) for name, b in zip(keys.names, bits, strict=True)}
    out = keys.columns("params.", n, long, kinds, skip={k for k, v in kinds.items()
                                                      if v == "object"})
    text_keys = sorted(k for k, v in kinds.items() if v == "object")
    if text_keys:
        text = _grouped(con, "params_log", "max_by(type = 'none', time) AS gone, "
                        "max_by(value, time) AS value",
                        "WHERE g.key IN (SELECT unnest($keys::VARCHAR[]))", {"keys": text_keys})
        out.update(pivot.Keys(text).columns("params.", n, text, kinds))
    return {name: out[name] for name in sorted(out)}


def _metric_columns(con: Any, n: int) -> dict[str, Any]:
    long = _grouped(con, "metric_partials",
                    f"false AS gone, arg_max(last, {LAST_ORDER}) AS value")
    keys = pivot.Keys(long)
    return keys.columns("metrics.", n, long, dict.fromkeys(keys.names, "float"))


def _param_kind(bits: int) -> str:
    """How a key's column is typed: numbers stay numbers, text or mixed keys are objects."""
    if not bits or bits & _OTHER:
        return "object"
    if bits == _INT:
        return "int"
    return "bool" if bits == _BOOL else "float"


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
