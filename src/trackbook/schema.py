"""The store's tables, views and migrations: plain DuckDB SQL, no connection.

Internal tables live in the ``core`` schema and are append-only: current values (a run's status,
name, tags, params) are the latest row per key, derived in the views. The public views in ``main``
are what ``tb.sql`` and users see; add columns to them, never rename. Nothing here relies on
primary keys or sequences, which DuckLake does not have: every id is made by trackbook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

CORE = "core"

# Column types, named once so the spool's Parquet files and the tables agree.
SQL_TYPES = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "int32": "INTEGER",
    "float": "DOUBLE",
    "bool": "BOOLEAN",
    "time": "TIMESTAMPTZ",
}

# Version 1 of every internal table. Frozen: a later column goes into ADDED_COLUMNS with the
# migration that adds it, so a new store and an upgraded one end up with the same shape.
TABLES_V1: dict[str, list[tuple[str, str]]] = {
    "migrations": [("version", "int32"), ("name", "str"), ("applied", "time"),
                   ("trackbook_version", "str")],
    "store_info": [("key", "str"), ("value", "str"), ("time", "time")],
    "run_starts": [("run_id", "str"), ("experiment", "str"), ("name", "str"),
                   ("parent_run_id", "str"), ("start_time", "time"), ("host", "str"),
                   ("user_name", "str"), ("source", "str")],
    "run_status": [("run_id", "str"), ("status", "str"), ("time", "time"), ("host", "str"),
                   ("pid", "int"), ("proc_start", "int"), ("error", "str")],
    "heartbeats": [("run_id", "str"), ("time", "time")],
    "run_names": [("run_id", "str"), ("name", "str"), ("time", "time")],
    "run_deletions": [("run_id", "str"), ("deleted", "bool"), ("time", "time")],
    "params_log": [("run_id", "str"), ("key", "str"), ("value", "str"), ("num", "float"),
                   ("type", "str"), ("time", "time")],
    "tags_log": [("run_id", "str"), ("key", "str"), ("value", "str"), ("removed", "bool"),
                 ("time", "time")],
    "notes_log": [("run_id", "str"), ("note", "str"), ("time", "time")],
    "points": [("run_id", "str"), ("key", "str"), ("step", "int"), ("value", "float"),
               ("wall_time", "time")],
    "metric_partials": [("run_id", "str"), ("key", "str"), ("last", "float"),
                        ("last_step", "int"), ("last_time", "time"), ("min", "float"),
                        ("min_step", "int"), ("max", "float"), ("max_step", "int"),
                        ("count", "int")],
    "artifacts_log": [("run_id", "str"), ("name", "str"), ("kind", "str"), ("size", "int"),
                      ("sha256", "str"), ("created", "time"), ("meta", "str"),
                      ("removed", "bool")],
    "inputs_log": [("run_id", "str"), ("name", "str"), ("kind", "str"), ("sha256", "str"),
                   ("size", "int"), ("n_rows", "int"), ("n_columns", "int"), ("schema", "str"),
                   ("path", "str"), ("time", "time")],
    "blobs": [("hash", "str"), ("kind", "str"), ("content", "str"), ("created", "time")],
    "lineage_log": [("run_id", "str"), ("lineage", "str"), ("time", "time")],
    "spool_ingested": [("file", "str"), ("time", "time"), ("n_rows", "int")],
}

# (migration version, table, column, type) for columns added after version 1.
ADDED_COLUMNS: list[tuple[int, str, str, str]] = []


def current_tables() -> dict[str, list[tuple[str, str]]]:
    tables = {name: list(columns) for name, columns in TABLES_V1.items()}
    for _version, table, column, kind in ADDED_COLUMNS:
        tables[table].append((column, kind))
    return tables


TABLES = current_tables()

# Tables the spool may carry: everything a run writes. The rest is the store's own bookkeeping.
SPOOLED = (
    "run_starts", "run_status", "heartbeats", "run_names", "run_deletions", "params_log",
    "tags_log", "notes_log", "points", "artifacts_log", "inputs_log", "blobs", "lineage_log",
)
# Tables whose rows are content-addressed: a row whose hash is stored already is skipped.
DEDUPLICATED = {"blobs": "hash"}

STALE_AFTER_S = 60  # a running run whose last sign of life is older than this reads `crashed`
STATUSES = ("running", "finished", "failed", "interrupted", "crashed", "skipped")

def run_state_sql(scope: str = "") -> str:
    """Each run's current state (the ``core.run_state`` view), optionally for some runs only.

    ``scope`` is a condition on ``run_id`` (``run_id IN (...)``) applied inside every
    aggregation, before the grouping: for the 25 runs of a page in a 100k-run store that is
    a few milliseconds, where filtering the view's result groups every run first.
    """
    where = f"WHERE {scope}" if scope else ""
    return f"""
WITH st AS (
    SELECT run_id, arg_max({{'status': status, 'error': error}}, time) AS s,
           max(time) AS status_time
    FROM {CORE}.run_status {where} GROUP BY run_id),
hb AS (SELECT run_id, max(time) AS last_beat FROM {CORE}.heartbeats {where} GROUP BY run_id),
nm AS (SELECT run_id, arg_max(name, time) AS name FROM {CORE}.run_names {where}
       GROUP BY run_id),
dl AS (SELECT run_id, arg_max(deleted, time) AS deleted FROM {CORE}.run_deletions {where}
       GROUP BY run_id),
base AS (
    SELECT r.run_id, coalesce(nm.name, r.name) AS name, r.experiment, r.start_time,
           r.parent_run_id, r.host, r.user_name, r.source,
           coalesce(st.s.status, 'running') AS latest_status, st.s.error AS error,
           st.status_time,
           greatest(r.start_time, st.status_time, hb.last_beat) AS last_seen,
           coalesce(dl.deleted, false) AS deleted
    FROM (SELECT * FROM {CORE}.run_starts {where}) r  -- one row per run: ids are unique
    LEFT JOIN st USING (run_id) LEFT JOIN hb USING (run_id)
    LEFT JOIN nm USING (run_id) LEFT JOIN dl USING (run_id))
SELECT run_id, name, experiment,
       CASE WHEN latest_status = 'running'
                 AND last_seen < now() - INTERVAL {STALE_AFTER_S} SECOND
            THEN 'crashed' ELSE latest_status END AS status,
       start_time,
       CASE WHEN latest_status = 'running' THEN
                CASE WHEN last_seen < now() - INTERVAL {STALE_AFTER_S} SECOND
                     THEN last_seen END
            ELSE status_time END AS end_time,
       epoch(CASE WHEN latest_status <> 'running' THEN status_time
                  WHEN last_seen < now() - INTERVAL {STALE_AFTER_S} SECOND THEN last_seen
                  ELSE now() END) - epoch(start_time) AS duration_s,
       parent_run_id, host, user_name, source, error, deleted
FROM base
"""


RUN_STATE = f"CREATE OR REPLACE VIEW {CORE}.run_state AS {run_state_sql()}"

# A batch of points summarised per (run, key), appended in the same transaction as the points.
POINT_SUMMARY = """
    arg_max(value, {'s': step, 't': wall_time}) AS last,
    max(step) AS last_step,
    arg_max(wall_time, {'s': step, 't': wall_time}) AS last_time,
    min(value) FILTER (WHERE NOT isnan(value)) AS min,
    arg_min(step, {'v': value, 's': step}) FILTER (WHERE NOT isnan(value)) AS min_step,
    max(value) FILTER (WHERE NOT isnan(value)) AS max,
    arg_max(step, {'v': value, 's': -step}) FILTER (WHERE NOT isnan(value)) AS max_step,
    count(*) AS count
"""

# The order of "which value is last": highest step, then latest wall time, as one HUGEINT
# (exact: microseconds since 1970 stay below 10**16), which sorts faster than a struct.
LAST_ORDER = "(last_step::HUGEINT * 10000000000000000 + epoch_us(last_time))"

# Partial summaries of one (run, key) combined: the value at the highest step (ties: latest
# wall time), min and max ignoring NaN with the step where each was reached first, the count.
# One expression per column, so a filter on `metrics.k.min` computes only that one.
SUMMARY_EXPRS = {
    "last": f"arg_max(last, {LAST_ORDER})",
    "last_step": "max(last_step)",
    "min": "min(min)",
    "min_step": "arg_min(min_step, {'v': min, 's': min_step}) FILTER (WHERE min IS NOT NULL)",
    "max": "max(max)",
    "max_step": "arg_max(max_step, {'v': max, 's': -max_step}) FILTER (WHERE max IS NOT NULL)",
    "count": "sum(count)::BIGINT",
    "last_time": f"arg_max(last_time, {LAST_ORDER})",
}
SUMMARY_COLUMNS = ",\n".join(f"    {expr} AS {name}" for name, expr in SUMMARY_EXPRS.items())

# The current value of a param per group (latest row wins). max_by skips NULL arguments, so
# the number and text are taken only when the latest row's type says they are set.
PARAM_EXPRS = {
    "type": "max_by(type, time)",
    "num": "CASE WHEN max_by(type, time) IN ('int', 'float', 'bool') THEN max_by(num, time) END",
    "value": "CASE WHEN max_by(type, time) <> 'none' THEN max_by(value, time) END",
}
PARAM_CURRENT = ",\n".join(f"    {expr} AS {name}" for name, expr in PARAM_EXPRS.items())
TAG_CURRENT = """
    max_by(value, time) AS value, coalesce(max_by(removed, time), false) AS removed
"""

DELETED_RUNS = f"""
CREATE OR REPLACE VIEW {CORE}.deleted_runs AS
SELECT run_id FROM (SELECT run_id, arg_max(deleted, time) AS deleted
                    FROM {CORE}.run_deletions GROUP BY run_id)
WHERE deleted
"""
# Deleted runs are hidden from every public view; their rows stay until restored.
_VISIBLE = f"run_id NOT IN (SELECT run_id FROM {CORE}.deleted_runs)"

VIEWS = {
    "runs": f"""
        SELECT run_id, name, experiment, status, start_time, end_time, duration_s,
               parent_run_id, host, user_name, error
        FROM {CORE}.run_state WHERE NOT deleted""",
    "params": f"""
        SELECT run_id, key, value, num, type FROM (
            SELECT run_id, key, {PARAM_CURRENT} FROM {CORE}.params_log WHERE {_VISIBLE}
            GROUP BY run_id, key)""",
    "metrics": f"""
        SELECT run_id, key, step, value, wall_time FROM {CORE}.points WHERE {_VISIBLE}""",
    "metric_summary": f"""
        SELECT run_id, key, {SUMMARY_COLUMNS}
        FROM {CORE}.metric_partials WHERE {_VISIBLE} GROUP BY run_id, key""",
    "tags": f"""
        SELECT run_id, key, value FROM (
            SELECT run_id, key, {TAG_CURRENT} FROM {CORE}.tags_log WHERE {_VISIBLE}
            GROUP BY run_id, key)
        WHERE NOT removed""",
    "notes": f"""
        SELECT run_id, note, time FROM {CORE}.notes_log WHERE {_VISIBLE}""",
    "artifacts": f"""
        SELECT run_id, name, a.kind, a.size, a.sha256, a.created FROM (
            SELECT run_id, name, arg_max({{'kind': kind, 'size': size, 'sha256': sha256,
                                          'created': created, 'removed': removed}}, created) AS a
            FROM {CORE}.artifacts_log WHERE {_VISIBLE} GROUP BY run_id, name)
        WHERE NOT coalesce(a.removed, false)""",
    "inputs": f"""
        SELECT run_id, name, i.kind, i.sha256, i.size, i.n_rows, i.n_columns, i.schema,
               i.path, i.time AS created FROM (
            SELECT run_id, name, arg_max({{'kind': kind, 'sha256': sha256, 'size': size,
                   'n_rows': n_rows, 'n_columns': n_columns, 'schema': schema, 'path': path,
                   'time': time}}, time) AS i
            FROM {CORE}.inputs_log WHERE {_VISIBLE} GROUP BY run_id, name)""",
    "experiments": """
        SELECT experiment AS name, min(start_time) AS created, count(*) AS n_runs
        FROM runs GROUP BY experiment""",
}
PUBLIC_VIEWS = tuple(VIEWS)


class Connection(Protocol):
    def execute(self, query: str, parameters: Any = ...) -> Any: ...


def create_table_sql(table: str, columns: list[tuple[str, str]]) -> str:
    cols = ", ".join(f'"{name}" {SQL_TYPES[kind]}' for name, kind in columns)
    return f"CREATE TABLE IF NOT EXISTS {CORE}.{table} ({cols})"


def create_views(con: Connection) -> None:
    """(Re)create every view from this version's definitions; run after any migration.

    Views belong to a schema version: a change to a view ships with a migration (even an
    empty one), so every store of one version has the same views.
    """
    con.execute(RUN_STATE)
    con.execute(DELETED_RUNS)
    for name, body in VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW main.{name} AS {body}")


def m001_initial(con: Connection) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {CORE}")
    for table, columns in TABLES_V1.items():
        con.execute(create_table_sql(table, columns))


# Ordered; each is applied once and recorded in core.migrations. Append, never reorder.
MIGRATIONS: list[Callable[[Connection], None]] = [m001_initial]
SCHEMA_VERSION = len(MIGRATIONS)
