"""The spool into the store, each file exactly once (files claimed by rename, their names
recorded in the same transaction as their rows)."""

from __future__ import annotations

import contextlib
import threading
from pathlib import Path
from typing import Any

from trackbook import spool
from trackbook.duck import duckdb, every_core
from trackbook.errors import StoreError
from trackbook.schema import CORE, DEDUPLICATED, POINT_SUMMARY, SUMMARY_COLUMNS

BIG_INGEST_BYTES = 16 * 1024 * 1024
_ingest_locks: dict[str, threading.Lock] = {}
_ingest_locks_guard = threading.Lock()


def _ingest_lock(path: str) -> threading.Lock:
    with _ingest_locks_guard:
        return _ingest_locks.setdefault(path, threading.Lock())


def spool_into(con: Any, path: str, spool_dir: Path) -> int:
    """Move every file of ``spool_dir`` into the store ``path`` that ``con`` works on.

    Returns the number of files ingested.
    """
    if not spool.pending(spool_dir):
        return 0
    with _ingest_lock(path):
        fresh, reclaimed = spool.claim(spool_dir)
        if not fresh and not reclaimed:
            return 0
        done = _already_ingested(con, reclaimed)
        spool.remove(done)
        files = fresh + [p for p in reclaimed if p not in done]
        # A long run's points: reading Parquet and summarising gain from threads.
        big = _total_size(files) > BIG_INGEST_BYTES
        with every_core(con) if big else contextlib.nullcontext():
            try:
                _ingest_files(con, files)
            except duckdb().Error as exc:
                # One unreadable file must not block every later ingest: set it aside.
                bad = _unreadable(con, files)
                if not bad:
                    spool.release(files)
                    raise StoreError(
                        f"could not ingest the spool of {path}: {exc}") from None
                spool.quarantine(bad)
                files = [p for p in files if p not in bad]
                _ingest_files(con, files)
            except BaseException:
                spool.release(files)
                raise
        spool.remove(files)
        _forget_old_names(con, spool_dir)
        return len(files)


KEEP_NAMES_DAYS = 7


def _forget_old_names(con: Any, spool_dir: Path) -> None:
    """Drop the names of files ingested over a week ago (about one a second while a run logs:
    the table would grow without bound).

    A name is needed only while its file may still lie in the spool, claimed by an ingest
    that committed and then died: the next ingest re-claims it and must see it was done. So
    the names of claimed files still in the spool are kept whatever their age (file names are
    never reused). Deletes once a day or so, a day's names at a time.
    """
    cutoff = f"now() - INTERVAL {KEEP_NAMES_DAYS} DAY"
    oldest = con.execute(f"SELECT min(time) < {cutoff} - INTERVAL 1 DAY "
                         f"FROM {CORE}.spool_ingested").fetchone()[0]
    if not oldest:
        return
    waiting = spool.claimed_names(spool_dir)
    con.execute(f"DELETE FROM {CORE}.spool_ingested WHERE time < {cutoff} "
                "AND NOT list_contains(?::VARCHAR[], file)", [waiting])


def _total_size(files: list[Path]) -> int:
    total = 0
    for path in files:
        with contextlib.suppress(OSError):
            total += path.stat().st_size
    return total


def _unreadable(con: Any, files: list[Path]) -> list[Path]:
    bad = []
    for path in files:
        try:
            con.execute("SELECT count(*) FROM read_parquet(?)", [str(path)]).fetchone()
        except duckdb().Error:
            bad.append(path)
    return bad


def _already_ingested(con: Any, reclaimed: list[Path]) -> list[Path]:
    if not reclaimed:
        return []
    names = [spool.original_name(p) for p in reclaimed]
    found = {
        row[0]
        for row in con.execute(
            f"SELECT file FROM {CORE}.spool_ingested WHERE file IN (SELECT unnest(?::VARCHAR[]))",
            [names],
        ).fetchall()
    }
    return [p for p in reclaimed if spool.original_name(p) in found]


def _ingest_files(con: Any, files: list[Path]) -> None:
    by_table: dict[str, list[str]] = {}
    for path in files:
        by_table.setdefault(spool.table_of(path), []).append(str(path))
    con.execute("BEGIN")
    try:
        n_rows = 0
        for table, paths in by_table.items():
            n_rows += _ingest_table(con, table, paths)
        ended = by_table.get("run_status")
        if ended:
            _compact_partials(con, ended)
        con.execute(
            f"INSERT INTO {CORE}.spool_ingested SELECT unnest(?::VARCHAR[]), now(), ?",
            [[spool.original_name(p) for p in files], n_rows],
        )
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


def _ingest_table(con: Any, table: str, paths: list[str]) -> int:
    source = "read_parquet(?::VARCHAR[])"
    if table == "points":
        con.execute(f"CREATE OR REPLACE TEMP TABLE _batch AS SELECT * FROM {source}", [paths])
        con.execute(f"INSERT INTO {CORE}.points BY NAME SELECT * FROM _batch")
        con.execute(
            f"INSERT INTO {CORE}.metric_partials SELECT run_id, key, {POINT_SUMMARY} "
            "FROM _batch GROUP BY run_id, key"
        )
        n = con.execute("SELECT count(*) FROM _batch").fetchone()[0]
        con.execute("DROP TABLE _batch")
        return int(n)
    if table in DEDUPLICATED:
        key = DEDUPLICATED[table]
        con.execute(
            f"INSERT INTO {CORE}.{table} BY NAME SELECT * FROM "
            f"(SELECT DISTINCT ON ({key}) * FROM {source}) "
            f"WHERE {key} NOT IN (SELECT {key} FROM {CORE}.{table})",
            [paths],
        )
    else:
        con.execute(f"INSERT INTO {CORE}.{table} BY NAME SELECT * FROM {source}", [paths])
    return 0


def _compact_partials(con: Any, status_files: list[str]) -> None:
    """Fold the partial summaries of runs that just ended into one row per key.

    A long run appends one partial per ingest; once it has ended nothing else writes them, so
    replacing them by their combination keeps summaries cheap to read and changes no value.
    It runs only in a transaction that appends ``run_status`` rows: readers that keep values
    derived from the partials (fieldcache.py) count both tables to notice it.
    """
    con.execute(
        """CREATE OR REPLACE TEMP TABLE _ended AS
            SELECT DISTINCT run_id FROM read_parquet(?::VARCHAR[]) WHERE status <> 'running'""",
        [status_files],
    )
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE _folded AS
            SELECT run_id, key, {SUMMARY_COLUMNS} FROM {CORE}.metric_partials
            WHERE run_id IN (SELECT run_id FROM _ended)
            GROUP BY run_id, key HAVING count(*) > 1"""
    )
    con.execute(
        f"""DELETE FROM {CORE}.metric_partials p USING _folded f
            WHERE p.run_id = f.run_id AND p.key = f.key"""
    )
    con.execute(f"INSERT INTO {CORE}.metric_partials BY NAME SELECT * FROM _folded")
    con.execute("DROP TABLE _folded")
    con.execute("DROP TABLE _ended")
