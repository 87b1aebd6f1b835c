"""The store file: creation, refusal of what it cannot use, the spool, locking."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

import trackbook as tb
from conftest import PYTHON, python_env
from trackbook import schema, spool
from trackbook.errors import StoreBusy, StoreError, StoreNotFound
from trackbook.store import Store


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_reads_do_not_create_a_store(store_path: Path) -> None:
    with pytest.raises(StoreNotFound, match=str(store_path)):
        tb.runs()
    assert not store_path.exists()


def test_missing_store_names_the_nearest_one(tmp_path: Path) -> None:
    (tmp_path / "trackbook.duckdb").write_bytes(b"")  # only its name matters for the hint
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    with pytest.raises(StoreNotFound, match=r"nearest store is .*trackbook\.duckdb"):
        Store(nested / "x.duckdb").rows("SELECT 1")


def test_first_write_creates_and_migrates(store_path: Path) -> None:
    with tb.start_run():
        pass
    assert len(tb.runs()) == 1  # the spooled run makes the read create the store
    assert store_path.is_file()
    con = duckdb.connect(str(store_path), read_only=True)
    try:
        version = con.execute("SELECT max(version) FROM core.migrations").fetchone()[0]
        views = {r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main'").fetchall()}
    finally:
        con.close()
    assert version == schema.SCHEMA_VERSION
    assert set(schema.PUBLIC_VIEWS) <= views


def test_directory_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "store.duckdb"
    folder.mkdir()
    with tb.start_run(store=folder):  # the run itself only spools
        pass
    with pytest.raises(StoreError, match="is a directory"):
        tb.runs(store=folder)


def test_non_duckdb_file_is_refused_and_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "notes.duckdb"
    path.write_text("these are my notes, not a database\n" * 10)
    before = digest(path)
    with pytest.raises(StoreError, match="not a DuckDB database"):
        tb.runs(store=path)
    with pytest.raises(StoreError, match="not a DuckDB database"):
        Store(path).write_tables({})
    assert digest(path) == before


def test_other_duckdb_database_is_refused_and_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "other.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE sales AS SELECT 1 AS x")
    con.close()
    before = digest(path)
    with pytest.raises(StoreError, match="not a trackbook store"):
        Store(path).write_tables({})
    assert digest(path) == before


def test_store_from_newer_trackbook_is_refused_and_unchanged(store_path: Path) -> None:
    with tb.start_run():
        pass
    tb.runs()
    con = duckdb.connect(str(store_path))
    con.execute("INSERT INTO core.migrations VALUES (99, 'm099_future', now(), '9.0.0')")
    con.close()
    before = digest(store_path)
    with pytest.raises(StoreError, match=r"newer trackbook \(9.0.0, schema version 99\)"):
        tb.runs()
    assert digest(store_path) == before
    assert not Path(str(store_path) + ".wal").exists()


def _spool_points(folder: Path, run_id: str, values: list[float]) -> Path:
    table = spool.points_to_arrow(run_id, [("loss", i, v, time.time())
                                           for i, v in enumerate(values)])
    [path] = spool.write(folder, {"points": table})
    return path


def test_spool_is_ingested_exactly_once(store_path: Path) -> None:
    store = Store(store_path)
    _spool_points(store.spool_dir, "a" * 16, [1.0, 2.0, 3.0])
    assert store.rows("SELECT count(*) FROM core.points")[0][0] == 3
    assert store.rows("SELECT count(*) FROM core.points")[0][0] == 3
    assert not any(store.spool_dir.glob("*.parquet*"))


def _claimed_by_dead_process(path: Path) -> Path:
    host = spool._safe(socket.gethostname())
    target = path.with_name(f"{path.name}{spool.CLAIMED}{host}-999999-1")
    path.rename(target)
    return target


def test_file_claimed_by_a_dead_process_is_ingested_once(store_path: Path) -> None:
    store = Store(store_path)
    store.write_tables({})  # create the store
    # Crash after commit: the rows and the file's name are in, the file is still there.
    committed = _spool_points(store.spool_dir, "b" * 16, [1.0])
    con = duckdb.connect(str(store_path))
    con.execute("INSERT INTO core.spool_ingested VALUES (?, now(), 1)", [committed.name])
    con.execute("INSERT INTO core.points SELECT * FROM read_parquet(?)", [str(committed)])
    con.close()
    _claimed_by_dead_process(committed)
    # Crash before commit: nothing recorded, so the file's rows go in now.
    _claimed_by_dead_process(_spool_points(store.spool_dir, "c" * 16, [5.0, 6.0]))
    counts = dict(store.rows("SELECT run_id, count(*) FROM core.points GROUP BY run_id"))
    assert counts == {"b" * 16: 1, "c" * 16: 2}
    assert not list(store.spool_dir.iterdir())


def test_file_claimed_by_a_live_process_is_left_alone(store_path: Path) -> None:
    store = Store(store_path)
    path = _spool_points(store.spool_dir, "d" * 16, [1.0])
    mine = path.with_name(path.name + spool._claim_mark())
    path.rename(mine)
    assert store.rows("SELECT count(*) FROM core.points")[0][0] == 0
    assert mine.exists()


def test_names_of_files_ingested_long_ago_are_forgotten_unless_still_claimed(
        store_path: Path) -> None:
    """A name is needed while its file may lie claimed in the spool; older ones go (about one
    a second while a run logs). A claimed file, even one claimed by a live process, keeps it."""
    store = Store(store_path)
    store.write_tables({})
    live = _spool_points(store.spool_dir, "e" * 16, [1.0])
    held = live.with_name(live.name + spool._claim_mark())  # a live claimer, whatever its age
    live.rename(held)
    con = duckdb.connect(str(store_path))
    con.execute("""INSERT INTO core.spool_ingested VALUES
                   ('old-1.parquet', now() - INTERVAL 10 DAY, 1),
                   ('old-2.parquet', now() - INTERVAL 9 DAY, 1),
                   (?, now() - INTERVAL 10 DAY, 1),
                   ('recent.parquet', now() - INTERVAL 2 DAY, 1)""", [live.name])
    con.close()
    _spool_points(store.spool_dir, "f" * 16, [2.0])  # the next ingest
    names = {n for (n,) in store.rows("SELECT file FROM core.spool_ingested")}
    assert {"old-1.parquet", "old-2.parquet"}.isdisjoint(names)
    assert {live.name, "recent.parquet"} <= names and len(names) == 3
    assert held.exists()


def test_unreadable_spool_file_is_set_aside(store_path: Path) -> None:
    store = Store(store_path)
    _spool_points(store.spool_dir, "e" * 16, [1.0, 2.0])
    bad = store.spool_dir / f"{time.time_ns():020d}-x-1-0.points.parquet"
    bad.write_bytes(b"PAR1 not really parquet")
    with pytest.warns(UserWarning, match="unreadable spool file"):
        assert store.rows("SELECT count(*) FROM core.points")[0][0] == 2
    assert (store.spool_dir / spool.QUARANTINE / bad.name).exists()
    assert store.rows("SELECT count(*) FROM core.points")[0][0] == 2


def test_spool_files_are_written_atomically(tmp_path: Path) -> None:
    table = spool.points_to_arrow("f" * 16, [("loss", 0, 1.0, 0.0)])
    [path] = spool.write(tmp_path, {"points": table})
    assert pq.read_table(path).num_rows == 1
    assert not list(tmp_path.glob(f"{spool.TMP_PREFIX}*"))


HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


def test_waits_while_another_process_holds_the_file(store_path: Path) -> None:
    with tb.start_run():
        pass
    tb.runs()
    holder = subprocess.Popen([PYTHON, "-c", HOLD, str(store_path), "1.0"],
                              stdout=subprocess.PIPE, text=True, env=python_env())
    assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
    started = time.monotonic()
    assert len(tb.runs()) == 1
    waited = time.monotonic() - started
    holder.wait(10)
    assert 0.3 < waited < 10


def test_busy_store_error_says_who_holds_it(store_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    with tb.start_run():
        pass
    tb.runs()
    holder = subprocess.Popen([PYTHON, "-c", HOLD, str(store_path), "5"],
                              stdout=subprocess.PIPE, text=True, env=python_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        monkeypatch.setattr("trackbook.store.LOCK_TIMEOUT_S", 0.3)
        with pytest.raises(StoreBusy, match="locked by another process"):
            tb.runs()
    finally:
        holder.kill()
        holder.wait()


def test_writes_never_wait_for_the_lock(store_path: Path) -> None:
    with tb.start_run():
        pass
    tb.runs()
    holder = subprocess.Popen([PYTHON, "-c", HOLD, str(store_path), "3"],
                              stdout=subprocess.PIPE, text=True, env=python_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        started = time.monotonic()
        with tb.start_run("while locked") as run:
            for i in range(1000):
                run.log(loss=float(i))
        assert time.monotonic() - started < 1.0
    finally:
        holder.wait(10)
    assert tb.get_run(run.run_id).metric_summary["count"].tolist() == [1000]



def test_corrupt_file_is_refused_at_once_and_unchanged(store_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with tb.start_run():
        pass
    tb.runs()
    data = bytearray(store_path.read_bytes())
    data[12] ^= 0xFF  # the storage version, under the header's checksum
    store_path.write_bytes(bytes(data))
    before = digest(store_path)
    monkeypatch.setattr("trackbook.store.LOCK_TIMEOUT_S", 5)
    started = time.monotonic()
    with pytest.raises(StoreError, match="cannot open"):  # DuckDB says "...in block at...":
        tb.runs()
    assert time.monotonic() - started < 2  # not mistaken for a lock and waited for
    assert digest(store_path) == before


def test_a_reused_blob_counts_as_new_so_gc_spares_it(tmp_path: Path) -> None:
    """gc keeps files younger than an hour (a run's row names its file a second or so after
    writing it); an old orphan a run stores again must look new, or gc could take it first."""
    import os

    from trackbook.artifacts import BlobStore

    blobs = BlobStore(tmp_path / "blobs")
    old = time.time() - 2 * 3600
    sha, _ = blobs.put_bytes(b"weights")
    os.utime(blobs.path_of(sha), (old, old))
    assert blobs.put_bytes(b"weights")[0] == sha
    assert blobs.path_of(sha).stat().st_mtime > time.time() - 60
    source = tmp_path / "model.bin"
    source.write_bytes(b"weights")
    os.utime(blobs.path_of(sha), (old, old))
    assert blobs.put_file(source)[0] == sha
    assert blobs.path_of(sha).stat().st_mtime > time.time() - 60
