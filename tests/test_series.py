"""Downsampled series for charts, on a real store."""

from __future__ import annotations

import math

import pytest

import trackbook as tb
from trackbook import series


def _run(name: str, n: int, *, spike_at: int | None = None, offset: float = 0.0,
         non_finite: bool = True) -> str:
    with tb.start_run(name) as run:
        for i in range(n):
            value = math.sin(i / 50) + offset + (5.0 if i == spike_at else 0.0)
            run.log(loss=value, acc=i / n)
        if non_finite:
            run.log(loss=float("nan"))
            run.log(loss=float("inf"))
    return run.run_id


def test_long_series_keep_their_extremes_ends_and_order() -> None:
    run_id = _run("long", 10_000, spike_at=7_321)
    points = series.curves([run_id], ["loss"], per_series=200)
    full = tb.get_run(run_id).history("loss")
    finite = full[full["value"].map(math.isfinite)]
    assert 100 <= len(points) <= 200
    assert points["value"].max() == finite["value"].max()  # the spike survives
    assert points["value"].min() == finite["value"].min()
    assert points.loc[points["value"].idxmax(), "step"] == 7_321
    assert points["step"].iloc[0] == 0 and points["step"].iloc[-1] == finite["step"].max()
    assert points["step"].is_monotonic_increasing
    assert points["value"].map(math.isfinite).all()  # NaN and inf are not drawn
    assert (points["time_s"] >= 0).all()


def test_short_series_come_whole() -> None:
    run_id = _run("short", 300)
    points = series.curves([run_id], ["acc", "loss"], per_series=1000)
    assert list(points.groupby("key").size()) == [300, 300]
    history = tb.get_run(run_id).history("acc")
    assert points[points["key"] == "acc"]["value"].tolist() == history["value"].tolist()


def test_a_budget_is_split_across_series() -> None:
    ids = [_run(f"r{i}", 4_000, offset=i) for i in range(4)]
    points = series.curves(ids, ["loss", "acc"], budget=800)  # 8 series -> 100 points each
    sizes = points.groupby(["run_id", "key"]).size()
    assert len(sizes) == 8
    assert sizes.max() <= 100
    assert series.points_per_series(800, 8) == 100
    assert series.points_per_series(10, 1000) == series.MIN_POINTS_PER_SERIES


def test_bucket_means_share_buckets_across_runs() -> None:
    a = _run("a", 1_000, offset=0.0, non_finite=False)
    b = _run("b", 1_000, offset=1.0, non_finite=False)
    means = series.bucket_means([a, b], ["loss"], buckets=10)
    assert set(means["bucket"]) == set(range(10))
    by_bucket = means.pivot(index="bucket", columns="run_id", values="value")
    assert (by_bucket[b] - by_bucket[a]).round(9).eq(1.0).all()  # same steps in each bucket
    first = means[(means["run_id"] == a) & (means["bucket"] == 0)]["step"].item()
    assert first == pytest.approx(49.5)


def test_summaries_and_keys() -> None:
    run_id = _run("s", 50, spike_at=10, non_finite=False)
    summary = series.summaries([run_id], ["loss"])
    assert summary["max"].item() == pytest.approx(math.sin(10 / 50) + 5)
    assert summary["max_step"].item() == 10
    assert series.metric_keys([run_id]) == ["acc", "loss"]
    assert series.metric_keys() == ["acc", "loss"]


def test_unknown_runs_and_keys_give_empty_frames_and_bad_ids_an_error() -> None:
    run_id = _run("x", 10)
    assert series.curves([run_id], ["nope"]).empty
    assert series.bucket_means([run_id], ["nope"]).empty
    with pytest.raises(ValueError, match="not a full run id"):
        series.curves([run_id[:8]], ["loss"])
    with pytest.raises(ValueError, match="not a run id"):
        series.curves(["x" * 16], ["loss"])
