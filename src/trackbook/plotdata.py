"""The data behind ``tb.plot``: which runs, which columns, tidy frames ready to chart.

Everything here is pandas and SQL (through :mod:`trackbook.series` and :mod:`trackbook.reads`);
:mod:`trackbook.plots` only turns the frames into Altair charts, so the same frames serve the
panel, the compare view and the exported summary.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from typing import Any

from trackbook import filters, ids, queries, reads, series
from trackbook.scalars import missing
from trackbook.schema import CORE
from trackbook.store import Store

StoreArg = str | os.PathLike[str] | Store | None
MAX_RUNS = 50
MAX_METRICS = 12  # curves of every metric: at most this many panels
SUMMARY_AGGS = ("last", "min", "max")


# -- which runs -----------------------------------------------------------------------------------

def _as_refs(runs: Any) -> list[str] | None:
    """Run references from what a user may pass: ids, names, Run objects, a runs DataFrame."""
    if runs is None:
        return None
    if hasattr(runs, "columns") and "run_id" in getattr(runs, "columns", ()):
        return [str(r) for r in runs["run_id"]]
    if isinstance(runs, str) or hasattr(runs, "run_id"):
        runs = [runs]
    return [str(r.run_id) if hasattr(r, "run_id") else str(r) for r in runs]


def select_runs(runs: Any = None, *, where: str | None = None, experiment: Any = None,
                limit: int | None = MAX_RUNS, store: StoreArg = None) -> Any:
    """The runs a chart shows, as a ``tb.runs()`` frame (newest first unless ``runs`` is given).

    ``runs`` may be ids, 6+ character prefixes, exact names, ``Run`` objects or a DataFrame
    with a ``run_id`` column; ``where`` and ``experiment`` then narrow them further.
    """
    the_store = reads.reader(store)
    refs = _as_refs(runs)
    if refs is not None:
        if not refs:
            raise ValueError("no runs to plot: the list of runs is empty")
        with the_store.reading() as con:
            chosen = _resolve_all(con, refs)
        # Full ids are 16 hex characters (checked by resolve), safe inside a filter literal.
        by_id = "run_id IN (" + ", ".join(f"'{r}'" for r in chosen) + ")"
        where = f"({where}) and {by_id}" if where and where.strip() else by_id
    frame = reads.runs(where=where, experiment=experiment, store=the_store)
    if refs is not None:  # the order the caller gave
        frame = frame.set_index("run_id").loc[[r for r in chosen if r in set(frame["run_id"])]]
        frame = frame.reset_index()
    if limit is not None and len(frame) > limit:
        frame = frame.head(limit)
    return frame


def _resolve_all(con: Any, refs: list[str]) -> list[str]:
    """Run ids for refs, in order: full ids checked in one query (a chart of 100 runs would
    otherwise ask 100 times), prefixes and names one by one."""
    full = [r.lower() for r in refs if len(r) == ids.RUN_ID_LENGTH and _is_hex(r)]
    known = {run_id for (run_id,) in con.execute(
        f"SELECT run_id FROM {CORE}.run_starts WHERE "
        + queries.member("run_id", "$ids", len(full)), {"ids": full}).fetchall()} if full else set()
    chosen = [r.lower() if r.lower() in known else reads.resolve(con, r) for r in refs]
    return list(dict.fromkeys(chosen))


def _is_hex(text: str) -> bool:
    return all(c in "0123456789abcdefABCDEF" for c in text)


def labels(frame: Any) -> dict[str, str]:
    """A legend label per run: its name, with the short id when names repeat."""
    names = list(frame["name"])
    repeated = {n for n in names if names.count(n) > 1}
    return {run_id: (f"{name} ({ids.short(run_id)})" if name in repeated else str(name))
            for run_id, name in zip(frame["run_id"], names, strict=True)}


# -- which columns --------------------------------------------------------------------------------

def metric_spec(metric: str) -> tuple[str, str]:
    """``val_loss`` -> (val_loss, last); ``val_loss.min`` / ``metrics.val_loss.max`` too."""
    text = str(metric).strip()
    if not text:
        raise ValueError("a metric name is empty")
    quoted = "`" in text or '"' in text
    if quoted:
        target = filters.parse_field(text if text.startswith("metric") else f"metrics.{text}")
        return target.key, target.agg
    text = text.removeprefix("metrics.").removeprefix("metric.")
    head, dot, tail = text.rpartition(".")
    if dot and tail in SUMMARY_AGGS:
        return head, tail
    return text, "last"


def column_of(frame: Any, name: str) -> str:
    """The ``tb.runs()`` column a user means by ``name`` (``lr``, ``params.lr``, ``duration``)."""
    text = str(name).strip()
    candidates = [text, f"params.{text}", f"metrics.{text}", f"tags.{text}"]
    if text in filters.ATTRIBUTES:
        candidates.insert(0, filters.ATTRIBUTES[text])
    for candidate in candidates:
        if candidate in frame.columns:
            return candidate
    params = ", ".join(c.removeprefix("params.") for c in frame.columns
                       if c.startswith("params.")) or "none"
    raise ValueError(f"no column {text!r} in these runs; their params are: {params}")


def with_metric(frame: Any, metric: str, store: StoreArg = None) -> tuple[Any, str]:
    """``frame`` plus a column holding ``metric`` (``val_loss``, ``val_loss.min``...)."""
    key, agg = metric_spec(metric)
    column = f"metrics.{key}" if agg == "last" else f"metrics.{key}.{agg}"
    if column in frame.columns:
        return frame, column
    summary = series.summaries(list(frame["run_id"]), [key], store=store) if len(frame) else None
    if summary is None or summary.empty:
        known = ", ".join(series.metric_keys(list(frame["run_id"]), store=store)) or "none"
        raise ValueError(f"no metric {key!r} in these runs; their metrics are: {known}")
    values = dict(zip(summary["run_id"], summary[agg], strict=True))
    return frame.assign(**{column: frame["run_id"].map(values)}), column


def varying_params(frame: Any, exclude: Sequence[str] = ()) -> list[str]:
    """Param columns whose value differs between the runs (missing counts as a value)."""
    return [c for c in frame.columns
            if c.startswith("params.") and c not in exclude
            and frame[c].astype(str).nunique(dropna=False) > 1]


# -- frames ready to chart ------------------------------------------------------------------------

def smoothed(values: Any, weight: float) -> Any:
    """TensorBoard's debiased exponential moving average (``weight`` in [0, 1))."""
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing must be in [0, 1), got {weight!r}")
    if weight == 0 or len(values) == 0:
        return values
    return values.ewm(alpha=1 - weight, adjust=True).mean()


def curve_points(frame: Any, keys: Sequence[str], *, per_series: int,
                 smooth: float = 0.0, store: StoreArg = None) -> Any:
    """Tidy points (run_id, run, metric, step, time_s, wall_time, value[, smooth])."""
    points = series.curves(list(frame["run_id"]), keys, per_series=per_series, store=store)
    # Panels in the order the keys were asked for, runs in the frame's order.
    rank = {key: i for i, key in enumerate(keys)}
    run_rank = {run_id: i for i, run_id in enumerate(frame["run_id"])}
    points = points.assign(_k=points["key"].map(rank), _r=points["run_id"].map(run_rank))
    points = points.sort_values(["_k", "_r", "step"], kind="stable").drop(columns=["_k", "_r"])
    points = points.reset_index(drop=True)
    names = labels(frame)
    points["run"] = points["run_id"].map(names)
    points = points.rename(columns={"key": "metric"})
    if smooth:
        points["smooth"] = points.groupby(["run_id", "metric"], sort=False)["value"].transform(
            lambda s: smoothed(s, smooth))
    return points


def band_points(frame: Any, keys: Sequence[str], group_by: Sequence[str], *, buckets: int,
                store: StoreArg = None) -> Any:
    """Mean and std over the runs of each group (runs alike in ``group_by``), per metric and
    step bucket: ``group, metric, bucket, step, time_s, mean, std, lo, hi, n``."""
    means = series.bucket_means(list(frame["run_id"]), keys, buckets=buckets, store=store)
    group = group_labels(frame, group_by)
    means["group"] = means["run_id"].map(group)
    grouped = means.groupby(["group", "key", "bucket"], sort=True)
    out = grouped.agg(step=("step", "mean"), time_s=("time_s", "mean"),
                      mean=("value", "mean"), std=("value", "std"), n=("run_id", "nunique"))
    out = out.reset_index().rename(columns={"key": "metric"})
    out["std"] = out["std"].fillna(0.0)  # a group of one run has no spread
    out["lo"], out["hi"] = out["mean"] - out["std"], out["mean"] + out["std"]
    return out


def group_labels(frame: Any, group_by: Sequence[str]) -> dict[str, str]:
    """Per run, the label of its group: ``lr=0.001 depth=3`` (``all runs`` with no columns)."""
    if not group_by:
        return dict.fromkeys(frame["run_id"], "all runs")
    parts = [[f"{_axis_title(c)}={shown(v)}" for v in frame[c]] for c in group_by]
    return {run_id: " ".join(words)
            for run_id, *words in zip(frame["run_id"], *parts, strict=True)}


SEED_NAMES = ("seed", "random_state")


def guess_seed_column(frame: Any) -> str | None:
    """The param that seeds the runs (``seed``, ``*_seed``, ``random_state``), if one varies."""
    for column in varying_params(frame):
        last = column.removeprefix("params.").rsplit(".", 1)[-1].lower()
        if last in SEED_NAMES or last.endswith("_seed"):
            return column
    return None


def shown(value: Any) -> str:
    """A param value as a label: ``0.0001``, ``1e-05``, ``3``, ``adam``."""
    if missing(value):
        return "–"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def is_numeric(column: Any) -> bool:
    import pandas as pd

    return bool(pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column))


def is_few_integers(column: Any, at_most: int = 8) -> bool:
    """Seeds, layer counts, epochs: a handful of whole numbers reads best as categories."""
    if not is_numeric(column):
        return False
    known = column.dropna()
    return bool(len(known) and (known == known.round()).all() and known.nunique() <= at_most)


def wants_log(column: Any) -> bool:
    """A positive numeric column spanning two or more decades reads best on a log axis."""
    if not is_numeric(column):
        return False
    finite = column[column.notna()]
    if len(finite) < 2 or (finite <= 0).any():
        return False
    return bool(finite.max() / finite.min() >= 100)


def parallel_axes(frame: Any, dims: Sequence[str], metric: str) -> Any:
    """Long rows (run, axis, position 0..1, shown text, numeric) for parallel coordinates.

    Numbers are scaled to [0, 1] (on a log scale when they span decades); text and booleans are
    spread evenly in sorted order. The metric is the last axis.
    """
    import numpy as np
    import pandas as pd

    names = labels(frame)
    rows = []
    for order, column in enumerate([*dims, metric]):
        values = frame[column]
        positions, texts = _axis_positions(values, np)
        numeric = is_numeric(values) and not is_few_integers(values)
        for run_id, position, text, raw in zip(frame["run_id"], positions, texts,
                                               frame[metric], strict=True):
            rows.append({"run_id": run_id, "run": names[run_id], "axis": _axis_title(column),
                         "order": order, "position": position, "value": text,
                         "numeric": numeric, "metric": None if missing(raw) else float(raw)})
    return pd.DataFrame(rows)


def _axis_title(column: str) -> str:
    return column.removeprefix("params.").removeprefix("metrics.")


def _axis_positions(values: Any, np: Any) -> tuple[list[float | None], list[str]]:
    texts = [shown(v) for v in values]
    if is_numeric(values):
        numbers = values.astype(float).to_numpy()
        scaled = np.log10(numbers) if wants_log(values) else numbers
        lo, hi = np.nanmin(scaled), np.nanmax(scaled)
        span = hi - lo if hi > lo else 1.0
        positions = [None if math.isnan(v) else float((v - lo) / span) if hi > lo else 0.5
                     for v in scaled]
        return positions, texts
    levels = sorted({s for s, v in zip(texts, values, strict=True) if not missing(v)})
    rank = {level: i for i, level in enumerate(levels)}
    denominator = max(len(levels) - 1, 1)
    positions = [None if missing(v) else (rank[s] / denominator if len(levels) > 1 else 0.5)
                 for s, v in zip(texts, values, strict=True)]
    return positions, texts


# -- what tb.plot's arguments name --------------------------------------------------------------

def curve_keys(metric: Any, frame: Any, store: StoreArg) -> list[str]:
    """The metric keys a curves chart draws: those asked for (checked), else every logged one."""
    logged = series.metric_keys(list(frame["run_id"]), store=store)
    if metric is None:
        if not logged:
            raise ValueError("these runs logged no metrics")
        return logged[:MAX_METRICS]
    wanted = [metric] if isinstance(metric, str) else list(metric)
    keys = [metric_spec(m)[0] for m in wanted]
    absent = [k for k in keys if k not in logged]
    if absent:
        raise ValueError(f"no metric {absent[0]!r} in these runs; their metrics are: "
                         f"{', '.join(logged) or 'none'}")
    return list(dict.fromkeys(keys))


def group_columns(frame: Any, group_by: Any) -> list[str]:
    """Columns that make a group: those named, or (``True``) every varying param but the seed."""
    if group_by is True:
        seed = guess_seed_column(frame)
        return varying_params(frame, exclude=[seed] if seed else [])
    names = [group_by] if isinstance(group_by, str) else list(group_by)
    return [column_of(frame, name) for name in names]


def decades(values: Any) -> list[float]:
    """Ticks at the powers of ten a positive column spans (1e-4, 1e-3, ...): a log axis's
    default ticks at 2, 3, 4... per decade crowd a small chart."""
    low, high = float(values.min()), float(values.max())
    first, last = math.floor(math.log10(low)), math.ceil(math.log10(high))
    return [10.0**e for e in range(first, last + 1)]


def metric_or_column(frame: Any, name: str, store: StoreArg) -> tuple[Any, str]:
    """``frame`` with the column ``name`` means: a metric summary if one is called so."""
    if name in frame.columns:
        return frame, name
    try:
        return with_metric(frame, name, store)
    except ValueError:
        try:
            return frame, column_of(frame, name)
        except ValueError:
            pass
        raise


def axis_labels(axes: Any) -> Any:
    """Labels along each axis: both ends of a numeric one, every level of a short list."""
    import pandas as pd

    known = axes.dropna(subset=["position"]).drop_duplicates(["axis", "position"])
    rows = []
    for axis, group in known.groupby("axis", sort=False):
        if group["numeric"].iloc[0] or len(group) > 8:
            group = group.loc[[group["position"].idxmin(), group["position"].idxmax()]]
        rows += [{"axis": axis, "position": p, "value": v}
                 for p, v in zip(group["position"], group["value"], strict=True)]
    return pd.DataFrame(rows, columns=["axis", "position", "value"]).drop_duplicates()
