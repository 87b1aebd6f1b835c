"""Looking after a store: ``trackbook gc`` (free space) and ``trackbook doctor`` (what state).

gc is the only code that deletes rows (the hot path only appends). It removes:
- artifact files no run refers to (a deleted run still refers to its own until it is purged),
  except those written in the last hour: a process may have stored a file whose row is still
  in its memory or spool;
- temp files older than an hour in the artifacts and spool folders (left by killed writers);
- with ``purge_deleted``, every row of deleted runs, and the lineage blobs only they used.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trackbook import location, reads, refs, spool
from trackbook._version import __version__
from trackbook.artifacts import BlobStore
from trackbook.bundlecheck import RUN_TABLES
from trackbook.errors import StoreNotFound
from trackbook.schema import CORE, SCHEMA_VERSION, STATUSES
from trackbook.store import Store

RECENT_S = 3600.0  # blobs and temp files younger than this are never removed
_BLOB = re.compile(r"[0-9a-f]{64}")
StoreArg = str | os.PathLike[str] | Store | None


@dataclass
class GcReport:
    """What ``gc`` removed (or, with ``dry_run``, would remove)."""

    dry_run: bool
    blobs: int = 0
    blob_bytes: int = 0
    temp_files: int = 0
    temp_bytes: int = 0
    purged_runs: list[str] = field(default_factory=list)
    purged_rows: int = 0
    kept_recent: int = 0  # unreferenced files kept because they are younger than an hour
    file_before: int = 0
    file_after: int = 0

    @property
    def freed(self) -> int:
        return self.blob_bytes + self.temp_bytes + max(self.file_before - self.file_after, 0)


def gc(*, purge_deleted: bool = False, dry_run: bool = False, store: StoreArg = None
       ) -> GcReport:
    """Remove what no run needs; see the module docstring for exactly what.

    Parameters
    ----------
    purge_deleted
        Also remove deleted runs for good (their rows, then the files only they used).
    dry_run
        Report what would go; change nothing.
    """
    the_store = reads.reader(store)
    report = GcReport(dry_run, file_before=_size(Path(the_store.path)))
    blobs = BlobStore(the_store.artifacts_dir)
    with the_store.reading() as con:
        if purge_deleted:
            report.purged_runs, report.purged_rows = _purge(con, dry_run)
        # In a dry run the runs to purge are still there: count their files as freed.
        referenced = _referenced(con, the_store, blobs, set(report.purged_runs) if dry_run
                                 else set())
    cutoff = time.time() - RECENT_S
    candidates = []
    for path, stat in _blob_files(blobs.folder):
        if path.name in referenced:
            continue
        if stat.st_mtime > cutoff:
            report.kept_recent += 1
        else:
            candidates.append((path, stat))
    if candidates and not dry_run:
        # Another process may have ingested rows naming one of these files since: ask again.
        with the_store.reading() as con:
            referenced = _referenced(con, the_store, blobs, set())
        candidates = [(p, st) for p, st in candidates if p.name not in referenced]
    for path, stat in candidates:
        report.blobs += 1
        report.blob_bytes += stat.st_size
        if not dry_run:
            path.unlink(missing_ok=True)
            _remove_if_empty(path.parent)
    for folder in (blobs.folder, the_store.spool_dir):
        for path, stat in _temp_files(folder, cutoff):
            report.temp_files += 1
            report.temp_bytes += stat.st_size
            if not dry_run:
                path.unlink(missing_ok=True)
    report.file_after = _size(Path(the_store.path))
    return report


def _referenced(con: Any, store: Store, blobs: BlobStore, leaving: set[str]) -> set[str]:
    """Artifact files that runs (other than ``leaving``) or the waiting spool refer to."""
    rows = con.execute(
        f"SELECT DISTINCT sha256, kind FROM {CORE}.artifacts_log "
        "WHERE run_id NOT IN (SELECT unnest(?::VARCHAR[]))", [sorted(leaving)]).fetchall()
    needed, _ = refs.artifact_files(rows, blobs)
    return needed | _spooled_references(store.spool_dir, blobs)


def _purge(con: Any, dry_run: bool) -> tuple[list[str], int]:
    """Delete every row of deleted runs (one transaction); returns (run ids, rows)."""
    run_ids = sorted(r for (r,) in con.execute(
        f"SELECT run_id FROM {CORE}.deleted_runs").fetchall())
    if not run_ids:
        return [], 0
    tables = [*RUN_TABLES, "metric_partials"]
    where = "WHERE run_id IN (SELECT unnest(?::VARCHAR[]))"
    n_rows = sum(con.execute(f"SELECT count(*) FROM {CORE}.{t} {where}", [run_ids]
                             ).fetchone()[0] for t in tables)
    # Lineage blobs that only the purged runs point to go too.
    docs = con.execute(f"SELECT run_id IN (SELECT unnest(?::VARCHAR[])), lineage "
                       f"FROM {CORE}.lineage_log", [run_ids]).fetchall()
    theirs = refs.lineage_hashes(d for purged, d in docs if purged)
    others = refs.lineage_hashes(d for purged, d in docs if not purged)
    orphans = sorted(theirs - others)
    n_rows += con.execute(f"SELECT count(*) FROM {CORE}.blobs WHERE hash IN "
                          "(SELECT unnest(?::VARCHAR[]))", [orphans]).fetchone()[0]
    if dry_run:
        return run_ids, int(n_rows)
    con.execute("BEGIN")
    try:
        for table in tables:
            con.execute(f"DELETE FROM {CORE}.{table} {where}", [run_ids])
        con.execute(f"DELETE FROM {CORE}.blobs WHERE hash IN (SELECT unnest(?::VARCHAR[]))",
                    [orphans])
        # The logs are append-only but for this: readers that keep values derived from them
        # (fieldcache.py) notice the deletion by this row.
        con.execute(f"INSERT INTO {CORE}.store_info VALUES ('purged_runs', ?, now())",
                    [str(len(run_ids))])
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("CHECKPOINT")  # lets DuckDB reuse (and at the end, truncate) the freed blocks
    return run_ids, int(n_rows)


def _spooled_references(folder: Path, blobs: BlobStore) -> set[str]:
    """Artifact files named by spool files not ingested yet (written since gc opened the
    store): those rows are on their way and their files must stay."""
    import pyarrow.parquet as pq

    found: set[tuple[str, str]] = set()
    try:
        entries = [e for e in os.scandir(folder) if ".artifacts_log." in e.name
                   and not e.name.startswith(spool.TMP_PREFIX)]
    except FileNotFoundError:
        return set()
    for entry in entries:
        try:
            data = pq.read_table(entry.path, columns=["sha256", "kind"]).to_pylist()
        except (OSError, ValueError):
            continue  # claimed and ingested meanwhile; the store has the rows now
        found |= {(r["sha256"], r["kind"]) for r in data}
    needed, _ = refs.artifact_files(found, blobs)
    return needed


def _blob_files(folder: Path) -> Iterator[tuple[Path, os.stat_result]]:
    try:
        shards = [e for e in os.scandir(folder) if e.is_dir() and len(e.name) == 2]
    except FileNotFoundError:
        return
    for shard in shards:
        for entry in os.scandir(shard.path):
            if _BLOB.fullmatch(entry.name) and entry.is_file():
                yield Path(entry.path), entry.stat()


def _temp_files(folder: Path, cutoff: float) -> Iterator[tuple[Path, os.stat_result]]:
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(spool.TMP_PREFIX) and entry.is_file():
            stat = entry.stat()
            if stat.st_mtime < cutoff:
                yield Path(entry.path), stat


def _remove_if_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def folder_size(folder: Path) -> tuple[int, int]:
    """(files, bytes) under ``folder``."""
    n = total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += (Path(root) / name).stat().st_size
                n += 1
            except FileNotFoundError:
                pass
    return n, total


# -- doctor ---------------------------------------------------------------------------------------

@dataclass
class Checkup:
    """What ``trackbook doctor`` found. ``problems`` are things to act on."""

    store: str
    exists: bool
    nearest: str | None = None
    trackbook_version: str = __version__
    duckdb_version: str | None = None
    schema_version: int | None = None
    file_bytes: int = 0
    wal_bytes: int = 0
    artifacts: tuple[int, int] = (0, 0)
    spool: tuple[int, int] = (0, 0)
    spool_waiting: int = 0
    spool_claimed: int = 0
    quarantined: list[str] = field(default_factory=list)
    runs: dict[str, int] = field(default_factory=dict)  # status -> count
    deleted_runs: int = 0
    experiments: int = 0
    crashed: list[dict[str, Any]] = field(default_factory=list)
    quiet: list[dict[str, Any]] = field(default_factory=list)  # running, no sign of life >20 s
    missing_blobs: int = 0
    unreferenced: tuple[int, int] = (0, 0)
    problems: list[str] = field(default_factory=list)


def doctor(*, store: StoreArg = None) -> Checkup:
    """Inspect the store: location, versions, sizes, runs by status, stale and crashed runs,
    the spool (files waiting, claimed by dead processes, quarantined), missing artifacts."""
    the_store = reads.reader(store)
    path = Path(the_store.path)
    up = Checkup(str(path), path.is_file())
    up.spool = folder_size(the_store.spool_dir)
    up.artifacts = folder_size(the_store.artifacts_dir)
    waiting = _spool_entries(the_store.spool_dir)
    up.spool_waiting = sum(1 for n in waiting if spool.CLAIMED not in n)
    up.spool_claimed = sum(1 for n in waiting if spool.CLAIMED in n)
    quarantine = the_store.spool_dir / spool.QUARANTINE
    up.quarantined = sorted(p.name for p in quarantine.glob("*")) if quarantine.is_dir() else []
    if up.quarantined:
        up.problems.append(f"{len(up.quarantined)} unreadable spool file(s) set aside in "
                           f"{quarantine}: their points were not ingested")
    try:
        with the_store.reading() as con:
            _read_state(con, up, BlobStore(the_store.artifacts_dir))
    except StoreNotFound:
        nearest = location.nearest_store(path.parent)
        up.nearest = str(nearest) if nearest else None
        up.problems.append(f"no store at {path}" + (f"; the nearest is {nearest}"
                                                    if nearest else ""))
        return up
    up.exists = True
    up.file_bytes = _size(path)
    up.wal_bytes = _size(Path(f"{path}.wal"))
    if up.missing_blobs:
        up.problems.append(f"{up.missing_blobs} artifact file(s) that runs refer to are "
                           f"missing from {the_store.artifacts_dir}")
    dry = gc(dry_run=True, store=the_store)
    up.unreferenced = (dry.blobs, dry.blob_bytes)
    return up


def _spool_entries(folder: Path) -> list[str]:
    try:
        return [e.name for e in os.scandir(folder) if e.is_file()
                and not e.name.startswith(spool.TMP_PREFIX)]
    except FileNotFoundError:
        return []


def _read_state(con: Any, up: Checkup, blobs: BlobStore) -> None:
    up.duckdb_version = con.execute("SELECT version()").fetchone()[0]
    up.schema_version = int(con.execute(
        f"SELECT max(version) FROM {CORE}.migrations").fetchone()[0])
    counts = dict(con.execute(
        f"SELECT status, count(*) FROM {CORE}.run_state WHERE NOT deleted GROUP BY status"
    ).fetchall())
    up.runs = {s: int(counts[s]) for s in STATUSES if s in counts}
    up.deleted_runs = int(con.execute(
        f"SELECT count(*) FROM {CORE}.run_state WHERE deleted").fetchone()[0])
    up.experiments = int(con.execute("SELECT count(*) FROM main.experiments").fetchone()[0])
    up.crashed = con.execute(
        f"""SELECT run_id, name, experiment, end_time FROM {CORE}.run_state
            WHERE status = 'crashed' AND NOT deleted ORDER BY start_time DESC LIMIT 10"""
    ).to_arrow_table().to_pylist()
    up.quiet = con.execute(
        f"""SELECT run_id, name, epoch(now()) - epoch(greatest(start_time, beat)) AS silent_s
            FROM {CORE}.run_state LEFT JOIN (
                SELECT run_id, max(time) AS beat FROM {CORE}.heartbeats GROUP BY run_id
            ) USING (run_id)
            WHERE status = 'running' AND NOT deleted
              AND epoch(now()) - epoch(greatest(start_time, beat)) > 20
            ORDER BY silent_s DESC LIMIT 10"""
    ).to_arrow_table().to_pylist()
    rows = con.execute(f"SELECT DISTINCT sha256, kind FROM {CORE}.artifacts_log").fetchall()
    needed, missing = refs.artifact_files(rows, blobs)
    up.missing_blobs = len(missing | {s for s in needed if not blobs.has(s)})
    if SCHEMA_VERSION != up.schema_version:
        up.problems.append(f"schema version {up.schema_version}, this trackbook expects "
                           f"{SCHEMA_VERSION}")

