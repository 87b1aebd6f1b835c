"""One in-memory DuckDB per process, the store attached per burst: what must hold for that."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import threading
import time
from pathlib import Path

import duckdb
import pytest

import trackbook as tb
from conftest import PYTHON, python_env
from trackbook import duck
from trackbook.errors import StoreBusy
from trackbook.store import Store, every_core

OPEN_RW = """
import duckdb, sys, time
start = time.monotonic()
con = duckdb.connect(sys.argv[1])
con.execute("INSERT INTO core.notes_log VALUES ('0123456789abcdef', 'from outside', now())")
con.close()
print(f"{time.monotonic() - start:.3f}")
"""


def _store_with_a_run() -> Store:
    with tb.start_run("one"):
        pass
    tb.runs()
    return Store()


def test_the_file_is_free_between_bursts(store_path: Path) -> None:
    store = _store_with_a_run()
    assert duck._current().con is not None  # the instance lives on...
    assert not duck._current().attached  # ...with nothing attached
    assert not Path(f"{store_path}.wal").exists()  # DETACH folded the WAL, as close() did
    out = subprocess.run([PYTHON, "-c", OPEN_RW, str(store_path)], capture_output=True,
                         text=True, env=python_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert float(out.stdout) < 2  # at once: no waiting for a lock
    assert store.rows("SELECT note FROM core.notes_log")[-1][0] == "from outside"


def test_temp_tables_and_open_transactions_end_with_the_burst(store_path: Path) -> None:
    store = _store_with_a_run()
    with store.connect() as con:
        con.execute("CREATE TEMP TABLE scratch AS SELECT 1 AS x")
        assert con.execute("SELECT x FROM scratch").fetchone() == (1,)
    with store.connect() as con, pytest.raises(duckdb.CatalogException):
        con.execute("SELECT * FROM scratch")

    def fail_mid_transaction() -> None:
        with store.connect() as con:
            con.execute("BEGIN")
            con.execute("INSERT INTO core.notes_log VALUES ('0123456789abcdef', 'half', now())")
            raise RuntimeError("the burst fails mid-transaction")

    with pytest.raises(RuntimeError):
        fail_mid_transaction()
    assert store.rows("SELECT count(*) FROM core.notes_log WHERE note = 'half'") == [(0,)]
    assert not duck._current().attached


def test_two_stores_at_once_each_see_their_own(tmp_path: Path) -> None:
    a, b = Store(tmp_path / "a.duckdb"), Store(tmp_path / "b.duckdb")
    for store, name in ((a, "in a"), (b, "in b")):
        with store.connect(create=True) as con:
            con.execute("INSERT INTO core.notes_log VALUES ('0123456789abcdef', ?, now())",
                        [name])
    with a.connect() as con_a, b.connect() as con_b:
        assert con_a.execute("SELECT note FROM core.notes_log").fetchall() == [("in a",)]
        assert con_b.execute("SELECT count(*) FROM main.runs").fetchall() == [(0,)]
        assert con_b.execute("SELECT note FROM core.notes_log").fetchall() == [("in b",)]
    assert not duck._current().attached


def test_threads_share_the_attachment_and_the_last_one_detaches(store_path: Path) -> None:
    store = _store_with_a_run()
    errors: list[BaseException] = []
    inside = threading.Barrier(4)

    def reader() -> None:
        try:
            with store.reading() as con:
                inside.wait(10)  # all four bursts share one attachment now
                [entry] = duck._current().attached.values()
                assert entry.bursts >= 4
                for _ in range(20):
                    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] >= 1
            for _ in range(20):
                assert len(tb.runs()) >= 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)]
    for thread in threads:
        thread.start()
    with tb.start_run("meanwhile") as run:  # the writer's thread ingests meanwhile
        for i in range(2000):
            run.log(loss=float(i))
    for thread in threads:
        thread.join(60)
    assert not errors
    assert not duck._current().attached
    out = subprocess.run([PYTHON, "-c", OPEN_RW, str(store_path)], capture_output=True,
                         text=True, env=python_env(), timeout=60)
    assert out.returncode == 0, out.stderr
    assert tb.get_run(run.run_id).metric_summary["count"].tolist() == [2000]


def test_every_core_is_undone(store_path: Path) -> None:
    store = _store_with_a_run()
    threads = "SELECT current_setting('threads')"
    with store.connect() as con:
        with every_core(con):
            assert con.execute(threads).fetchone() == (os.cpu_count(),)
        assert con.execute(threads).fetchone() == (duck.READ_THREADS,)
    with store.connect() as con:
        assert con.execute(threads).fetchone() == (duck.READ_THREADS,)


def test_times_are_utc_whatever_the_machine_zone(store_path: Path) -> None:
    _store_with_a_run()
    code = ("from trackbook.store import Store\n"
            "with Store().connect() as con:\n"
            "    print(con.execute(\"SELECT current_setting('TimeZone')\").fetchone()[0])\n")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, timeout=60,
                         env=python_env(TZ="America/New_York", TRACKBOOK_STORE=str(store_path)))
    assert out.stdout.strip() == "UTC", out.stderr


def _child_reads(path: str, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put((len(tb.runs(store=path)), duck._current().pid == os.getpid()))


def test_a_forked_child_gets_its_own_instance(store_path: Path) -> None:
    _store_with_a_run()
    parent = duck._current()
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
    child = multiprocessing.get_context("fork").Process(
        target=_child_reads, args=(str(store_path), queue))
    child.start()
    assert queue.get(timeout=60) == (1, True)
    child.join(60)
    assert child.exitcode == 0
    assert duck._current() is parent and len(tb.runs()) == 1


KILLED_INSIDE = """
import sys, time
from trackbook.store import Store
with Store(sys.argv[1]).connect(create=True) as con:
    con.execute("INSERT INTO core.notes_log VALUES ('0123456789abcdef', 'committed', now())")
    print("inside", flush=True)
    time.sleep(60)
"""


def test_sigkill_while_attached_leaves_a_store_the_next_open_replays(store_path: Path) -> None:
    proc = subprocess.Popen([PYTHON, "-c", KILLED_INSIDE, str(store_path)],
                            stdout=subprocess.PIPE, text=True, env=python_env())
    assert proc.stdout is not None and proc.stdout.readline().strip() == "inside"
    assert Path(f"{store_path}.wal").exists()  # committed, not yet checkpointed
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    start = time.monotonic()
    assert Store(store_path).rows("SELECT note FROM core.notes_log") == [("committed",)]
    assert time.monotonic() - start < 5  # the lock went with the process: no waiting


def test_another_connection_of_this_process_is_named(store_path: Path) -> None:
    _store_with_a_run()
    con = duckdb.connect(str(store_path))
    try:
        started = time.monotonic()
        with pytest.raises(StoreBusy, match="another DuckDB connection of this process"):
            tb.runs()
        assert time.monotonic() - started < 1  # said at once: waiting would not help
    finally:
        con.close()
    assert len(tb.runs()) == 1
