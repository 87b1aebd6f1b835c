"""Metric series for charts, downsampled in DuckDB with the extremes kept.

A chart needs a few thousand points, a store may hold millions. Each series (one run's one
metric) longer than its share of the point budget is cut into buckets of steps, and each bucket
keeps its first, last, lowest and highest point (the M4 rule): drawn as a line at the chart's
resolution it looks like the full series, every spike included, and the same store always gives
the same points (no random sampling). Non-finite values are left out of charts (they cannot be
drawn) but stay in the store.

Everything here returns plain DataFrames; :mod:`trackbook.plots` turns them into charts.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from typing import Any

from trackbook import ids, queries, reads
from trackbook.schema import CORE
from trackbook.store import Store, every_core

DEFAULT_POINTS_PER_SERIES = 1000
MIN_POINTS_PER_SERIES = 16
DEFAULT_BAND_BUCKETS = 200

StoreArg = str | os.PathLike[str] | Store | None

# How long each chosen series is: cheap, from the per-batch summaries, not from the points.
def _sizes_sql(n_runs: int, n_keys: int) -> str:
    source = queries.summaries_of("$runs", n_runs, "$keys", n_keys)
    return f"SELECT run_id, key, count, last_step FROM {source} ORDER BY run_id, key"
# One branch per series, each filtering on one (run, key): DuckDB then skips every row group
# whose zone map excludes the run, which one IN-list over all runs cannot do (measured: 2-4x).
_POINTS_OF = "FROM core.points WHERE run_id = ${r} AND key = ${k} AND isfinite(value)"
_WHOLE = "SELECT ${r} AS run_id, ${k} AS key, step, value, wall_time " + _POINTS_OF
_PT = "{'step': step, 'value': value, 'wall_time': wall_time}"
# M4: per bucket of steps the first, last, lowest and highest point.
_M4 = (
    "SELECT ${r} AS run_id, ${k} AS key, unnest(pts, recursive := true) FROM ("
    f"SELECT list_value(arg_min({_PT}, step), arg_max({_PT}, step), arg_min({_PT}, value), "
    f"arg_max({_PT}, value)) AS pts " + _POINTS_OF + " GROUP BY step // ${w})"
)
_MEANS = ("SELECT ${r} AS run_id, ${k} AS key, step // ${w} AS bucket, avg(step) AS step, "
          "avg(epoch(wall_time)) AS t, avg(value) AS value " + _POINTS_OF + " GROUP BY bucket")


def _union(groups: list[tuple[str, list[tuple[str, str, int]]]]) -> tuple[str, dict[str, Any]]:
    """Each template once per (run, key, bucket width) of its group, parameters bound, joined
    by UNION ALL; the SQL is empty when there is no series."""
    parts: list[str] = []
    params: dict[str, Any] = {}
    for template, series in groups:
        for run_id, key, width in series:
            i = len(parts)
            parts.append("(" + template.replace("{r}", f"r{i}").replace("{k}", f"k{i}")
                         .replace("{w}", f"w{i}") + ")")
            params.update({f"r{i}": run_id, f"k{i}": key})
            if "{w}" in template:
                params[f"w{i}"] = width
    return " UNION ALL ".join(parts), params


def _width(last_step: int, buckets: int) -> int:
    """Steps per bucket so that steps 0..last_step make about ``buckets`` buckets."""
    return max(1, -(-(int(last_step) + 1) // max(buckets, 1)))


def _checked_ids(run_ids: Sequence[str]) -> list[str]:
    """Full run ids, checked: they reach SQL bound, but a wrong one should say so."""
    out = []
    for run_id in run_ids:
        text = str(run_id)
        if len(text) != ids.RUN_ID_LENGTH:
            raise ValueError(f"{run_id!r} is not a full run id (16 hex characters)")
        out.append(ids.check_prefix(text))
    return list(dict.fromkeys(out))


def points_per_series(budget: int, n_series: int) -> int:
    """A chart's point budget split across its series (never fewer than a handful each)."""
    return max(MIN_POINTS_PER_SERIES, budget // max(n_series, 1))


def curves(run_ids: Sequence[str], keys: Sequence[str], *,
           per_series: int = DEFAULT_POINTS_PER_SERIES, budget: int | None = None,
           store: StoreArg = None) -> Any:
    """Downsampled points of metrics ``keys`` for runs ``run_ids``.

    Parameters
    ----------
    per_series
        At most about this many points per (run, key); series this short come whole.
    budget
        If given, a total for all series, split evenly (it overrides ``per_series``).

    Returns
    -------
    pandas.DataFrame
        ``run_id, key, step, value, wall_time, time_s`` (seconds since the run started), in
        step order per series. Non-finite values are left out.
    """
    runs, keys = _checked_ids(run_ids), [str(k) for k in keys]
    if budget is not None:
        per_series = points_per_series(budget, len(runs) * len(keys))
    per_series = max(int(per_series), MIN_POINTS_PER_SERIES)
    with reads.reader(store).reading() as con:
        sizes = con.execute(_sizes_sql(len(runs), len(keys)),
                            {"runs": runs, "keys": keys}).fetchall()
        whole = [(r, k, 0) for r, k, n, _ in sizes if n <= per_series]
        cut = [(r, k, _width(last, per_series // 4)) for r, k, n, last in sizes
               if n > per_series]
        union, params = _union([(_WHOLE, whole), (_M4, cut)])
        if not union:
            return _empty(["run_id", "key", "step", "value", "wall_time", "time_s"])
        with _threads_for(con, sum(n for _, _, n, _ in sizes)):
            table = con.execute(
                f"""SELECT DISTINCT u.run_id, u.key, u.step, u.value, u.wall_time,
                           epoch(u.wall_time) - epoch(s.start_time) AS time_s
                    FROM ({union}) u JOIN {CORE}.run_starts s USING (run_id)
                    ORDER BY u.run_id, u.key, u.step, u.wall_time""", params).to_arrow_table()
    return table.to_pandas()


BIG_SCAN_POINTS = 1_000_000


def _threads_for(con: Any, points: int) -> contextlib.AbstractContextManager[None]:
    """Every core for a scan of millions of points, the store's few read threads again after
    it (duck.READ_THREADS: raising them for small queries gains nothing)."""
    return every_core(con) if points > BIG_SCAN_POINTS else contextlib.nullcontext()


def _empty(columns: list[str]) -> Any:
    import pandas as pd

    return pd.DataFrame({c: [] for c in columns})


def bucket_means(run_ids: Sequence[str], keys: Sequence[str], *,
                 buckets: int = DEFAULT_BAND_BUCKETS, store: StoreArg = None) -> Any:
    """Each run's mean of each metric in step buckets shared across runs (for seed bands).

    Returns
    -------
    pandas.DataFrame
        ``run_id, key, bucket, step, time_s, value``; ``step`` is the bucket's mean step.
    """
    if buckets < 1:
        raise ValueError(f"buckets must be at least 1, got {buckets!r}")
    runs, keys = _checked_ids(run_ids), [str(k) for k in keys]
    with reads.reader(store).reading() as con:
        sizes = con.execute(_sizes_sql(len(runs), len(keys)),
                            {"runs": runs, "keys": keys}).fetchall()
        longest: dict[str, int] = {}
        for _, key, _, last in sizes:  # one bucket width per key, shared by its runs
            longest[key] = max(longest.get(key, 0), int(last))
        union, params = _union([(_MEANS, [(r, k, _width(longest[k], buckets))
                                          for r, k, _, _ in sizes])])
        if not union:
            return _empty(["run_id", "key", "bucket", "step", "time_s", "value"])
        with _threads_for(con, sum(n for _, _, n, _ in sizes)):
            table = con.execute(
                f"""SELECT u.run_id, u.key, u.bucket, u.step,
                           u.t - epoch(s.start_time) AS time_s, u.value
                    FROM ({union}) u JOIN {CORE}.run_starts s USING (run_id)
                    ORDER BY u.key, u.bucket, u.run_id""", params).to_arrow_table()
    return table.to_pandas()


def summaries(run_ids: Sequence[str], keys: Sequence[str] | None = None, *,
              store: StoreArg = None) -> Any:
    """``metric_summary`` rows (run_id, key, last, last_step, min, ..., count) of some runs."""
    args: dict[str, Any] = {"runs": _checked_ids(run_ids)}
    if keys is not None:
        args["keys"] = [str(k) for k in keys]
    source = queries.summaries_of("$runs", len(args["runs"]),
                                  "$keys" if keys is not None else None, len(keys or []))
    sql = ("SELECT run_id, key, last, last_step, min, min_step, max, max_step, count "
           f"FROM {source} ORDER BY run_id, key")
    return reads.reader(store).arrow(sql, args).to_pandas()


def metric_keys(run_ids: Sequence[str] | None = None, *, store: StoreArg = None) -> list[str]:
    """Metric keys logged by these runs (all visible runs when None), sorted."""
    if run_ids is None:
        rows = reads.reader(store).rows("SELECT DISTINCT key FROM main.metric_summary")
    else:
        rows = reads.reader(store).rows(
            f"SELECT DISTINCT key FROM {CORE}.metric_partials "
            "WHERE run_id IN (SELECT unnest($runs::VARCHAR[]))", {"runs": _checked_ids(run_ids)})
    return sorted(str(key) for (key,) in rows)
