"""tb.runs(): the wide frame built from the append-only logs (types, missing values, order)."""

from __future__ import annotations

import math

import pandas as pd

import trackbook as tb


def _run(name: str, params: dict | None = None, tags: object = None, **metrics: float) -> str:
    with tb.start_run(name, params=params, tags=tags) as run:
        if metrics:
            run.log(**metrics)
    return run.run_id


def by_name(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.set_index("name")


def test_column_kinds_follow_every_row_of_a_key() -> None:
    _run("a", {"n": 1, "flag": True, "mixed": 3, "gap": 2, "maybe": False, "f": 0.5})
    _run("b", {"n": 2, "flag": False, "mixed": "x", "maybe": None, "f": 1})
    frame = by_name(tb.runs())
    assert frame["params.n"].dtype.kind == "i" and frame.loc["b", "params.n"] == 2
    assert frame["params.flag"].dtype == bool and not frame.loc["b", "params.flag"]
    assert frame.loc["a", "params.mixed"] == "3" and frame.loc["b", "params.mixed"] == "x"
    # An int some run lacks becomes float with NaN; a bool, objects with None.
    assert frame["params.gap"].dtype.kind == "f" and math.isnan(frame.loc["b", "params.gap"])
    assert frame.loc["a", "params.maybe"] is False and pd.isna(frame.loc["b", "params.maybe"])
    assert frame["params.f"].dtype.kind == "f"  # int and float mixed: float


def test_latest_row_wins_and_history_decides_the_kind() -> None:
    with tb.start_run("changed") as run:
        run.log_params(lr=0.1, kind="text", later_none=5)
        run.log_params(lr=0.2, kind=7, later_none=None)
    frame = tb.runs()
    assert frame.loc[0, "params.lr"] == 0.2
    assert frame.loc[0, "params.kind"] == "7"  # was text once: the column holds text
    assert pd.isna(frame.loc[0, "params.later_none"])


def test_tags_removed_or_relabelled() -> None:
    with tb.start_run("t", tags=["gone", "owner=ana"]) as run:
        run.untag("gone")
        run.tag(owner="bob")
    frame = tb.runs()
    assert "tags.gone" not in frame.columns  # removed from every listed run: no column
    assert frame.loc[0, "tags.owner"] == "bob"


def test_rows_keep_their_own_values_in_any_order() -> None:
    ids = {}
    for i in range(12):
        ids[f"r{i}"] = _run(f"r{i}", {"i": i, "label": f"L{i}"}, [f"t{i % 3}"],
                            loss=(i * 7) % 12 / 10)
    for kwargs in ({}, {"order_by": "metrics.loss"}, {"order_by": "params.i DESC", "limit": 5},
                   {"where": "params.i >= 4 and metrics.loss < 0.9", "order_by": "name"}):
        frame = tb.runs(**kwargs)
        assert len(frame) > 0
        for _, row in frame.iterrows():
            i = int(row["name"][1:])
            assert row["run_id"] == ids[row["name"]] and row["params.i"] == i
            assert row["params.label"] == f"L{i}"
            assert row["metrics.loss"] == (i * 7) % 12 / 10
            assert row[f"tags.t{i % 3}"] == ""
    ordered = tb.runs(order_by="metrics.loss")["metrics.loss"].tolist()
    assert ordered == sorted(ordered)


def test_keys_sort_as_python_sorts_them() -> None:
    _run("k", {"b": 1, "B": 2, "a.z": 3, "a/x": 4, "_u": 5}, loss=1.0, **{"Val": 2.0})
    assert [c for c in tb.runs().columns if c.startswith("params.")] == [
        "params.B", "params._u", "params.a.z", "params.a/x", "params.b"]
    assert [c for c in tb.runs().columns if c.startswith("metrics.")] == [
        "metrics.Val", "metrics.loss"]


def test_a_filter_on_several_summaries_of_one_metric() -> None:
    with tb.start_run("m") as run:
        for step, value in enumerate([0.9, 0.1, float("nan"), 0.5]):
            run.log(loss=value, step=step)
    _run("other", loss=0.05)
    assert tb.runs(where="metrics.loss.min < 0.2 and metrics.loss.max > 0.8 "
                         "and metrics.loss = 0.5")["name"].tolist() == ["m"]
    assert tb.runs(order_by="metrics.loss.max DESC")["name"].tolist() == ["m", "other"]
