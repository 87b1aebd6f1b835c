"""What the exported summary shows, gathered from the store in a few short reads.

Plain data (dataclasses and DataFrames) that :mod:`trackbook.summaryhtml` and
:mod:`trackbook.summarymd` render: the runs in ranked order, the metric they are ranked by, the
leaderboard, the params that differ, and per run its facts (lineage, artifacts, thumbnails).
Charts come from :mod:`trackbook.summarycharts`. Nothing here formats text for a page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from trackbook import plotdata, reads, series, summaryruns
from trackbook._version import __version__
from trackbook.errors import TrackbookError
from trackbook.leaderboard import LOWER_IS_BETTER, guess_goal
from trackbook.scalars import missing, plain
from trackbook.store import Store
from trackbook.summaryruns import RunFacts

MAX_TABLE_RUNS = 500  # rows of the runs table; the leaderboard ranks every run
AGGS = ("last", "min", "max")
# Words that mark a metric computed on held-out data: those rank runs before training metrics.
HELD_OUT = {"val", "valid", "validation", "test", "eval", "dev", "holdout"}


class ExportError(TrackbookError, ValueError):
    """The summary cannot be written: nothing selected, a bad argument or an unusable path."""


@dataclass(frozen=True)
class Ranking:
    """The metric runs are ranked by: ``key`` summarised by ``agg``, ``goal`` min or max."""

    key: str
    agg: str
    goal: str

    @property
    def label(self) -> str:
        return f"{self.key}.{self.agg}"

    @property
    def better(self) -> str:
        return "lower is better" if self.goal == "min" else "higher is better"


@dataclass
class Summary:
    """Everything the page (or the Markdown) shows, in the order it shows it."""

    title: str
    made_at: datetime
    store: str
    experiments: list[str]
    experiment: str | list[str] | None
    where: str | None
    version: str
    frame: Any  # the tb.runs() rows, ranked order
    runs: list[RunFacts]
    metric_keys: list[str]  # every metric the runs logged, most-logged first
    ranking: Ranking | None = None
    leaderboard: Any = None  # tb.leaderboard frame, or None
    group_columns: list[str] = field(default_factory=list)
    over: str | None = None
    varying: list[str] = field(default_factory=list)  # params.<k> columns that differ
    constant: dict[str, Any] = field(default_factory=dict)  # params the same in every run
    charts: list[Any] = field(default_factory=list)  # summarycharts.Chart
    curve_runs: list[str] = field(default_factory=list)
    omitted: list[str] = field(default_factory=list)  # what was left out, in words

    @property
    def best(self) -> RunFacts | None:
        return self.runs[0] if self.runs and self.runs[0].rank == 1 else None

    def by_id(self) -> dict[str, RunFacts]:
        return {r.run_id: r for r in self.runs}


# -- the whole summary ---------------------------------------------------------------------------

def gather(*, experiment: str | list[str] | None = None, where: str | None = None,
           title: str | None = None, store: str | os.PathLike[str] | Store | None = None,
           runs: Any = None, metrics: str | Sequence[str] | None = None,
           rich: bool = True) -> Summary:
    """Read what the summary shows; ``rich=False`` skips charts and thumbnails (Markdown)."""
    the_store = reads.reader(store)
    frame = plotdata.select_runs(runs, where=where, experiment=experiment, limit=None,
                                 store=the_store)
    if frame.empty:
        raise ExportError(_nothing_selected(the_store, experiment, where, runs))
    run_ids = list(frame["run_id"])
    summaries = series.summaries(run_ids, store=the_store)
    keys = _metric_order(summaries)
    ranking = _ranking(metrics, keys)
    frame = _ranked(frame, summaries, ranking)
    experiments = sorted(set(frame["experiment"]))
    summary = Summary(
        title=title or (f"{experiments[0]}: summary" if len(experiments) == 1
                        else "trackbook summary"),
        made_at=datetime.now(timezone.utc), store=_shown_store(the_store.path),
        experiments=experiments, experiment=experiment, where=where, version=__version__,
        frame=frame, runs=[], metric_keys=keys, ranking=ranking,
    )
    summary.varying = plotdata.varying_params(frame)
    summary.constant = {c.removeprefix("params."): plain(frame[c].iloc[0])
                        for c in frame.columns if c.startswith("params.")
                        and c not in summary.varying and not missing(frame[c].iloc[0])}
    if ranking is not None:
        _add_leaderboard(summary, the_store)
    summary.runs = summaryruns.run_facts(frame.head(MAX_TABLE_RUNS), the_store,
                                         ranked=ranking is not None, omitted=summary.omitted,
                                         images=rich)
    if rich and keys:
        from trackbook import summarycharts

        wanted = _chart_keys(metrics, keys, ranking)
        summary.charts, summary.curve_runs, notes = summarycharts.build(
            frame, summaries, wanted, store=the_store)
        summary.omitted += notes
    if len(frame) > MAX_TABLE_RUNS:
        summary.omitted.append(f"The runs table lists the first {MAX_TABLE_RUNS} of "
                               f"{len(frame)} runs in ranked order.")
    return summary


def _nothing_selected(store: Store, experiment: Any, where: str | None, runs: Any) -> str:
    parts = []
    names = [experiment] if isinstance(experiment, str) else list(experiment or [])
    if names:
        label = "experiment" if len(names) == 1 else "experiments"
        parts.append(f"{label} {', '.join(repr(n) for n in names)}")
    if where:
        parts.append(f"filter {where!r}")
    if runs is not None:
        parts.append("the runs given")
    what = " and ".join(parts) or "this store"
    known = reads.experiments(store=store)
    listed = ", ".join(f"{n} ({k} runs)" for n, k in zip(known["name"], known["n_runs"],
                                                         strict=True)) or "none"
    return (f"no runs to summarise: nothing matches {what} in {store.path} "
            f"(experiments there: {listed})")


def _shown_store(path: str) -> str:
    """The store as the page names it; a connection string loses its password."""
    return re.sub(r"(password=)[^\s;&]*|(//[^/:@\s]+:)[^@/\s]*@", r"\1\2***@", path) \
        if path.startswith("ducklake:") else path


# -- which metric ranks the runs ------------------------------------------------------------------

def _metric_order(summaries: Any) -> list[str]:
    """Metric keys, logged by the most runs first, then held-out before training metrics."""
    if summaries.empty:
        return []
    counts = summaries.groupby("key")["run_id"].nunique()
    return sorted(counts.index, key=lambda k: (-int(counts[k]), -_preference(k), k))


def _preference(key: str) -> int:
    words = set(re.split(r"[^a-z0-9]+", key.lower()))
    return 2 * bool(words & HELD_OUT) + bool(words & LOWER_IS_BETTER)


def _split_metric(text: str) -> tuple[str, str | None]:
    """``val_loss.min`` -> (val_loss, min); ``val_loss`` -> (val_loss, None)."""
    key = str(text).strip().removeprefix("metrics.").removeprefix("metric.")
    head, dot, tail = key.rpartition(".")
    if dot and tail in AGGS:
        return head, tail
    return key, None


def _wanted(metrics: str | Sequence[str] | None) -> list[str]:
    if metrics is None:
        return []
    listed = [metrics] if isinstance(metrics, str) else list(metrics)
    if not listed or not all(isinstance(m, str) and m.strip() for m in listed):
        raise ExportError(f"metrics must be metric names (e.g. ['val_loss']), not {metrics!r}")
    return listed


def _ranking(metrics: Any, keys: list[str]) -> Ranking | None:
    """The first of ``metrics``, else the metric most runs logged (held-out losses first).

    Without an explicit ``.last``/``.min``/``.max`` runs rank by their best value (the lowest
    of a loss, the highest of an accuracy), not the last one.
    """
    wanted = _wanted(metrics)
    for text in wanted:
        key, _ = _split_metric(text)
        if key not in keys:
            raise ExportError(f"no metric {key!r} in these runs; their metrics are: "
                              f"{', '.join(keys) or 'none'}")
    if wanted:
        key, agg = _split_metric(wanted[0])
    elif keys:
        key, agg = keys[0], None
    else:
        return None
    goal = guess_goal(key)
    return Ranking(key, agg or goal, goal)


def _chart_keys(metrics: Any, keys: list[str], ranking: Ranking | None) -> list[str]:
    from trackbook.summarycharts import MAX_CHARTS

    wanted = [_split_metric(m)[0] for m in _wanted(metrics)]
    if wanted:
        return list(dict.fromkeys(wanted))
    first = [ranking.key] if ranking else []
    return list(dict.fromkeys([*first, *keys]))[:MAX_CHARTS]


def _ranked(frame: Any, summaries: Any, ranking: Ranking | None) -> Any:
    """Runs best first (by the ranking metric), runs without a value after them, newest first."""
    if ranking is None:
        return frame.reset_index(drop=True)
    import numpy as np
    import pandas as pd

    rows = summaries[summaries["key"] == ranking.key]
    scores = dict(zip(rows["run_id"], rows[ranking.agg], strict=True))
    score = pd.to_numeric(frame["run_id"].map(scores), errors="coerce").astype(float)
    finite = score.where(np.isfinite(score))  # NaN and inf rank after every real value
    ordered = frame.assign(_score=finite, _pos=range(len(frame)))
    ordered = ordered.sort_values(["_score", "_pos"], ascending=[ranking.goal == "min", True],
                                  na_position="last", kind="stable")
    return ordered.drop(columns="_pos").reset_index(drop=True)


def _add_leaderboard(summary: Summary, store: Store) -> None:
    """``tb.leaderboard`` over exactly these runs (mean ± std over seeds per configuration)."""
    from trackbook.leaderboard import leaderboard

    ranking = summary.ranking
    assert ranking is not None
    frame = summary.frame
    # Full ids are 16 hex characters (checked when read), safe inside a filter literal.
    only = "run_id IN (" + ", ".join(f"'{r}'" for r in frame["run_id"]) + ")"
    seed = plotdata.guess_seed_column(frame)
    board = leaderboard(metric=ranking.label, goal=ranking.goal, where=only, over=seed,
                        store=store)
    summary.leaderboard = board
    summary.over = seed
    summary.group_columns = [c for c in board.columns
                             if c not in ("mean", "std", "count", "best", "best_run")]
