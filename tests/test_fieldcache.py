"""Field tables kept between panel requests: reused while the store is unchanged, rebuilt after
any write that could change a value, never serving a stale one. Each check compares the panel's
answer with tb.runs, which groups the logs afresh every time."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

import trackbook as tb
from trackbook import duck, fieldcache, maintenance, manage, panelquery


def _runs(n: int, *, start: int = 0, experiment: str = "e") -> list[str]:
    ids = []
    for i in range(start, start + n):
        with tb.start_run(f"r{i}", experiment=experiment,
                          params={"lr": 10.0 ** -(i % 4), "i": i}) as run:
            run.log(loss=1.0 / (i + 1), step=0)
        ids.append(run.run_id)
    return ids


def _panel_ids(**ask: Any) -> list[str]:
    """The panel's answer, once the tables it asked the builder for are there."""
    ids = [r["run_id"] for r in panelquery.page(page_size=500, **ask)["rows"]]
    assert fieldcache.settle()
    return ids


def _fresh_ids(where: str | None = None, order_by: str | None = None) -> list[str]:
    return list(tb.runs(where=where, order_by=order_by)["run_id"])


def _kept() -> dict[tuple[str, str], str]:
    return {(kind, key): e.table for (_, kind, key), e in fieldcache._current().entries.items()}


def _memory_tables() -> set[str]:
    con = duck._current().con
    return {f"{fieldcache.CATALOG}.{name}" for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = 'memory'").fetchall()}


pytestmark = pytest.mark.usefixtures("no_kept_fields")


def test_a_kept_table_is_reused_until_a_run_is_logged() -> None:
    _runs(6)
    ask = {"where": "params.lr < 0.5", "order_by": "metrics.loss.min DESC"}
    first = _panel_ids(**ask)  # grouped from the logs; the tables are built after it
    assert first == _fresh_ids(ask["where"], ask["order_by"]) and len(first) == 4
    tables = _kept()
    assert set(tables) == {("param", "lr"), ("metric", "loss")}
    assert _panel_ids(**ask) == first  # now from the kept tables
    assert _kept() == tables  # nothing rebuilt
    new = _runs(2, start=6)
    after = _panel_ids(**ask)
    assert after == _fresh_ids(ask["where"], ask["order_by"])
    assert set(new) & set(after) and _kept() != tables
    assert not set(tables.values()) & _memory_tables()  # the stale tables were dropped


def test_a_param_logged_again_and_a_renamed_run_read_current() -> None:
    ids = _runs(4)
    assert _panel_ids(where="params.i >= 2") == _fresh_ids("params.i >= 2")
    with tb.start_run("late", experiment="e", params={"i": 0}) as run:
        run.log_params(i=99)  # the latest row of the key wins
    manage.rename(ids[0], "renamed")
    assert _panel_ids(where="params.i >= 2") == _fresh_ids("params.i >= 2")
    assert run.run_id in _panel_ids(where="params.i = 99")


def test_folding_a_finished_runs_partials_is_noticed() -> None:
    _runs(3)
    order = "metrics.loss.max DESC"
    with tb.start_run("long", experiment="e") as run:
        for step in range(3):
            run.log(loss=10.0 + step, step=step)
            # Each read ingests what the run logged so far: one partial summary per read.
            assert _panel_ids(order_by=order) == _fresh_ids(order_by=order)
    # The run ended: its partials are folded into one row (fewer rows, same values).
    assert _panel_ids(order_by=order)[0] == run.run_id
    assert _panel_ids(order_by=order) == _fresh_ids(order_by=order)
    assert _panel_ids(where="metrics.loss.max > 11.5") == [run.run_id]


def test_a_fold_that_leaves_the_partial_count_unchanged_is_noticed() -> None:
    """One ingest folds a finished run's two partials into one (-1 row) and appends a live
    run's new partial (+1): metric_partials keeps its count, run_status does not."""
    order = "metrics.loss.max DESC"
    with tb.start_run("live", experiment="e") as live:
        live.log(loss=1.0, step=0)
        with tb.start_run("ending", experiment="e") as ending:
            ending.log(loss=5.0, step=0)
            assert _panel_ids(order_by=order)[0] == ending.run_id
            ending.log(loss=6.0, step=1)
            assert _panel_ids(order_by=order) == [ending.run_id, live.run_id]
            live.log(loss=100.0, step=1)  # not read yet
        assert _panel_ids(order_by=order) == [live.run_id, ending.run_id]


def test_purging_runs_while_as_many_rows_arrive_is_noticed() -> None:
    """A purge deletes rows; if new runs add exactly as many, every log's count is unchanged:
    the purge's store_info row still tells the cache."""
    ids = _runs(4)
    where = "params.lr <= 1"
    assert len(_panel_ids(where=where)) == 4
    manage.delete_runs(ids=[ids[0]])
    maintenance.gc(purge_deleted=True)
    replacement = _runs(1, start=0)  # same params and points as the purged run
    assert _panel_ids(where=where) == _fresh_ids(where)
    assert replacement[0] in _panel_ids(where=where)


def test_deleted_and_restored_runs_leave_and_come_back() -> None:
    ids = _runs(3)
    assert len(_panel_ids(where="params.i >= 0")) == 3
    manage.delete_runs(ids=[ids[1]])
    assert ids[1] not in _panel_ids(where="params.i >= 0")
    manage.restore_runs(ids=[ids[1]])
    assert _panel_ids(where="params.i >= 0") == _fresh_ids("params.i >= 0")


def test_a_store_file_replaced_by_another_is_read_afresh(store_path: Path,
                                                           tmp_path: Path) -> None:
    _runs(3)
    assert len(_panel_ids(where="params.i >= 0")) == 3
    other = tmp_path / "other" / "trackbook.duckdb"
    tb.init(store=other)
    _runs(5, start=10)
    tb.runs()  # everything ingested into the other file
    tb.init(store=store_path)
    shutil.copy(other, store_path.with_suffix(".new"))
    store_path.with_suffix(".new").replace(store_path)  # same path, another file
    assert _panel_ids(where="params.i >= 0") == _fresh_ids("params.i >= 0")
    assert len(_panel_ids(where="params.i >= 10")) == 5


def test_a_store_copied_over_in_place_with_as_many_rows_is_read_afresh(
        store_path: Path, tmp_path: Path) -> None:
    """``cp backup.duckdb trackbook.duckdb`` keeps the inode, and a store with as many rows
    in every log matches the counts: the file's time and size still tell."""
    other = tmp_path / "other" / "trackbook.duckdb"
    tb.init(store=other)
    new = []
    for i in range(3):
        with tb.start_run("n", experiment="e", params={"lr": 100.0 + i}) as run:
            pass
        new.append(run.run_id)
    tb.runs()
    tb.init(store=store_path)
    for i in range(3):
        with tb.start_run("o", experiment="e", params={"lr": float(i)}):
            pass
    assert _panel_ids(where="params.lr >= 100") == []  # its table is built after this
    inode = store_path.stat().st_ino
    shutil.copyfile(other, store_path)  # same path, same inode, another store
    assert store_path.stat().st_ino == inode
    assert sorted(_panel_ids(where="params.lr >= 100")) == sorted(new)


def test_kept_tables_are_bounded_and_the_oldest_dropped(monkeypatch: pytest.MonkeyPatch
                                                       ) -> None:
    monkeypatch.setattr(fieldcache, "MAX_FIELDS", 2)
    with tb.start_run("wide", experiment="e", params={f"p{k}": k for k in range(5)}):
        pass
    for k in range(5):
        assert _panel_ids(order_by=f"params.p{k}") == _fresh_ids(order_by=f"params.p{k}")
    assert set(_kept()) == {("param", "p3"), ("param", "p4")}
    assert _memory_tables() == set(_kept().values())


def test_a_metric_table_gains_the_columns_later_requests_ask_for(store_path: Path) -> None:
    _runs(4)
    assert _panel_ids(order_by="metrics.loss.min") == _fresh_ids(order_by="metrics.loss.min")
    first = _kept()[("metric", "loss")]
    assert _panel_ids(where="metrics.loss.max > 0.3") == _fresh_ids("metrics.loss.max > 0.3")
    entry = fieldcache._current().entries[(os.path.realpath(store_path), "metric", "loss")]
    assert {"min", "max"} <= entry.columns and entry.table != first
    assert _panel_ids(order_by="metrics.loss.min") == _fresh_ids(order_by="metrics.loss.min")
    assert _kept()[("metric", "loss")] == entry.table  # it still holds min: reused


def test_a_table_in_use_by_a_burst_is_not_dropped_under_it() -> None:
    _runs(2)
    from trackbook.store import Store

    store = Store()
    with store.reading() as con, fieldcache.for_burst(con, store.path) as fields:
        assert fields.table("param", "lr", {"num"}) is None and fields.missing
        table = fields.build("param", "lr", {"num"})
        fieldcache.forget()  # another thread wants its memory back meanwhile
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,)
    assert table not in _memory_tables()  # dropped once the burst ended
