"""``tb.leaderboard``: mean, std and count of a metric per configuration, best first."""

from __future__ import annotations

import re
from typing import Any

from trackbook import filters, reads

LOWER_IS_BETTER = {"loss", "error", "err", "mse", "mae", "rmse", "perplexity", "ppl", "nll",
                   "wer", "cer", "mape", "smape", "regret", "latency", "time", "seconds",
                   "duration", "cost"}


def guess_goal(metric: str) -> str:
    """``min`` for losses and errors (``val_loss``, ``test/mse``), ``max`` otherwise."""
    words = set(re.split(r"[^a-z0-9]+", metric.lower()))
    return "min" if words & LOWER_IS_BETTER else "max"


def _metric_field(metric: str) -> tuple[str, str]:
    text = metric if metric.startswith(("metric.", "metrics.")) else f"metrics.{metric}"
    target = filters.parse_field(text) if "`" in text or '"' in text else None
    if target is None:
        head, dot, tail = metric.removeprefix("metrics.").removeprefix("metric.").rpartition(".")
        if dot and tail in filters.METRIC_FIELDS:
            return head, tail
        return metric.removeprefix("metrics.").removeprefix("metric."), "last"
    return target.key, target.agg


def leaderboard(
    experiment: str | None = None,
    metric: str | None = None,
    goal: str | None = None,
    group_by: str | list[str] | None = None,
    over: str | list[str] | None = "params.seed",
    where: str | None = None,
    *,
    store: Any = None,
) -> Any:
    """Rank configurations by a metric, averaged over ``over`` (seeds by default).

    Parameters
    ----------
    metric
        ``val_loss`` (its last value) or ``val_loss.min`` / ``val_loss.max``.
    goal
        ``"min"`` or ``"max"``; guessed from the name when not given, and the guess printed.
    group_by
        Columns that make a configuration (``params.lr``); default: every param that varies,
        except ``over``.

    Returns
    -------
    pandas.DataFrame
        The group columns, then ``mean``, ``std``, ``count``, ``best`` and ``best_run``.
    """
    the_store = reads.reader(store)
    key, agg = _resolve_metric(the_store, metric, experiment)
    if goal is None:
        goal = guess_goal(key)
        print(f"leaderboard: ranking {key}.{agg} by {goal} (guessed from the name; "
              "pass goal='min' or goal='max' to choose)")
    if goal not in ("min", "max"):
        raise ValueError(f"goal must be 'min' or 'max', not {goal!r}")
    frame = reads.runs(where=where, experiment=experiment, store=the_store)
    values = reads.sql(f"SELECT run_id, {agg} AS value FROM metric_summary WHERE key = ?",
                       [key], store=the_store)
    frame = frame.merge(values, on="run_id").dropna(subset=["value"])
    return _rank(frame, goal, _group_columns(frame, group_by, over), key, agg)


def _resolve_metric(store: Any, metric: str | None, experiment: str | None) -> tuple[str, str]:
    if metric:
        return _metric_field(metric)
    known = reads.sql(
        "SELECT DISTINCT key FROM metric_summary m JOIN runs r USING (run_id) "
        "WHERE ? IS NULL OR r.experiment = ? ORDER BY key", [experiment, experiment], store=store
    )["key"].tolist()
    if len(known) == 1:
        return known[0], "last"
    raise ValueError(f"say which metric to rank by: one of {', '.join(known) or '(none logged)'}")


def _as_list(value: str | list[str] | None) -> list[str]:
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _group_columns(frame: Any, group_by: Any, over: Any) -> list[str]:
    skip = set(_as_list(over))
    if group_by is not None:
        columns = _as_list(group_by)
        missing = [c for c in columns if c not in frame.columns]
        if missing:
            raise ValueError(f"no column {missing[0]!r} to group by; params are: "
                             + ", ".join(c for c in frame.columns if c.startswith("params.")))
        return columns
    return [c for c in frame.columns
            if c.startswith("params.") and c not in skip
            and frame[c].astype(str).nunique(dropna=False) > 1]


def _rank(frame: Any, goal: str, columns: list[str], key: str, agg: str) -> Any:
    import pandas as pd

    if frame.empty:
        out = pd.DataFrame(columns=[*columns, "mean", "std", "count", "best", "best_run"])
    else:
        ascending = goal == "min"
        ordered = frame.sort_values("value", ascending=ascending)
        grouped = ordered.groupby(columns, dropna=False, sort=False) if columns else \
            ordered.assign(_all=0).groupby("_all", sort=False)
        out = grouped.agg(mean=("value", "mean"), std=("value", "std"),
                          count=("value", "count"), best=("value", "first"),
                          best_run=("run_id", "first"))
        out = out.reset_index().drop(columns="_all", errors="ignore")
        out = out.sort_values(["mean", "best"], ascending=ascending, kind="stable")
        out = out.reset_index(drop=True)
    out.attrs.update(metric=f"{key}.{agg}", goal=goal)
    return out
