"""The spool: Parquet files written beside the store without ever taking its lock.

A run's process writes what it logged here about once a second; whoever next holds the
database (a read, a CLI command, an ingest from a writer's background thread) moves the files
in. A file is claimed by renaming it, so two processes never ingest the same file, and its name
is recorded in the same transaction as its rows, so a crash between commit and delete cannot
ingest it twice.
"""

from __future__ import annotations

import itertools
import os
import re
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from trackbook import proc
from trackbook.schema import SPOOLED, TABLES

SUFFIX = ".parquet"
CLAIMED = ".claimed-"
TMP_PREFIX = ".tmp-"
# A claimed file left by a process on another host (shared folder) is taken back after this.
FOREIGN_CLAIM_TIMEOUT_S = 600
_seq = itertools.count()


def _arrow_type(kind: str) -> Any:
    import pyarrow as pa

    return {
        "str": pa.string(),
        "int": pa.int64(),
        "int32": pa.int32(),
        "float": pa.float64(),
        "bool": pa.bool_(),
        "time": pa.timestamp("us", tz="UTC"),
    }[kind]


def arrow_schema(table: str) -> Any:
    import pyarrow as pa

    return pa.schema([(name, _arrow_type(kind)) for name, kind in TABLES[table]])


def to_micros(seconds: float) -> int:
    return round(seconds * 1_000_000)


def rows_to_arrow(table: str, rows: Sequence[Mapping[str, Any]]) -> Any:
    """Event rows (dicts; times as epoch seconds) as an Arrow table with the table's schema."""
    import pyarrow as pa

    schema = arrow_schema(table)
    columns = {}
    for field in schema:
        values = [row.get(field.name) for row in rows]
        if pa.types.is_timestamp(field.type):
            values = [None if v is None else to_micros(v) for v in values]
            columns[field.name] = pa.array(values, pa.int64()).cast(field.type)
        else:
            columns[field.name] = pa.array(values, field.type)
    return pa.table(columns, schema=schema)


def points_to_arrow(run_id: str, points: Sequence[tuple[str, int, float, float]]) -> Any:
    """Metric points ``(key, step, value, wall_time)`` of one run as an Arrow table."""
    import numpy as np
    import pyarrow as pa

    keys, steps, values, times = zip(*points, strict=True) if points else ((), (), (), ())
    micros = (np.asarray(times, dtype=np.float64) * 1e6).round().astype(np.int64)
    return pa.table(
        {
            "run_id": pa.array([run_id] * len(keys), pa.string()).dictionary_encode(),
            "key": pa.array(keys, pa.string()),
            "step": pa.array(steps, pa.int64()),
            "value": pa.array(values, pa.float64()),
            "wall_time": pa.array(micros, pa.int64()).cast(pa.timestamp("us", tz="UTC")),
        }
    )


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_]", "_", text)


def write(folder: Path, tables: Mapping[str, Any]) -> list[Path]:
    """Write each Arrow table as its own Parquet file, atomically (temp file + rename)."""
    import pyarrow.parquet as pq

    folder.mkdir(parents=True, exist_ok=True)
    host, pid, _ = proc.identity()
    written = []
    for table, data in tables.items():
        if table not in SPOOLED:
            raise ValueError(f"{table!r} cannot be spooled")
        if data.num_rows == 0:
            continue
        name = f"{time.time_ns():020d}-{_safe(host)}-{pid}-{next(_seq)}.{table}{SUFFIX}"
        tmp = folder / f"{TMP_PREFIX}{name}"
        pq.write_table(data.cast(arrow_schema(table)), tmp, compression="zstd")
        tmp.replace(folder / name)
        written.append(folder / name)
    return written


def table_of(path: Path) -> str:
    """The table a spool file belongs to, from its name ``<...>.<table>.parquet[.claimed-...]``."""
    name = path.name.split(CLAIMED)[0]
    return name[: -len(SUFFIX)].rsplit(".", 1)[1]


def original_name(path: Path) -> str:
    return path.name.split(CLAIMED)[0]


def _claim_mark() -> str:
    host, pid, start = proc.identity()
    return f"{CLAIMED}{_safe(host)}-{pid}-{start}"


def _claim_is_stale(path: Path) -> bool:
    # The mark is "<host>-<pid>-<start ticks>"; _safe() left no '-' inside the host part.
    parts = path.name.split(CLAIMED, 1)[1].split("-")
    if len(parts) != 3:
        return True
    host, pid, start = parts
    if host == _safe(proc.hostname()):
        return not proc.is_alive(int(pid), int(start) or None)
    try:
        age = time.time() - path.stat().st_mtime
    except OSError:
        return False
    return age > FOREIGN_CLAIM_TIMEOUT_S


def _ingestible(name: str) -> bool:
    return not name.startswith(TMP_PREFIX) and (name.endswith(SUFFIX) or CLAIMED in name)


def pending(folder: Path) -> bool:
    """Whether anything waits to be ingested (cheap: one directory listing)."""
    try:
        with os.scandir(folder) as entries:
            return any(_ingestible(e.name) for e in entries)
    except FileNotFoundError:
        return False


def claim(folder: Path) -> tuple[list[Path], list[Path]]:
    """Claim every ingestible file: (fresh files, files re-claimed from a dead claimer).

    Re-claimed files may have been committed before their claimer died: the caller checks
    their names against the ingested-files table.
    """
    fresh: list[Path] = []
    reclaimed: list[Path] = []
    mark = _claim_mark()
    try:
        names = sorted(entry.name for entry in os.scandir(folder))
    except FileNotFoundError:
        return fresh, reclaimed
    for name in names:
        if not _ingestible(name):
            continue
        path = folder / name
        is_claimed = CLAIMED in name
        if is_claimed and not _claim_is_stale(path):
            continue
        target = folder / (original_name(path) + mark)
        try:
            path.rename(target)
        except FileNotFoundError:
            continue  # another process claimed it first
        (reclaimed if is_claimed else fresh).append(target)
    return fresh, reclaimed


def claimed_names(folder: Path) -> list[str]:
    """The original names of every claimed file in the spool (by any claimer, live or not)."""
    try:
        return sorted({original_name(Path(e.path)) for e in os.scandir(folder)
                       if CLAIMED in e.name})
    except FileNotFoundError:
        return []


def release(paths: Sequence[Path]) -> None:
    """Give claimed files back (the ingest failed), so the next holder takes them."""
    for path in paths:
        try:
            path.rename(path.parent / original_name(path))
        except FileNotFoundError:
            pass


QUARANTINE = "unreadable"


def quarantine(paths: Sequence[Path]) -> None:
    """Move files that cannot be read aside (kept for inspection, never ingested)."""
    for path in paths:
        folder = path.parent / QUARANTINE
        folder.mkdir(exist_ok=True)
        target = folder / original_name(path)
        path.replace(target)
        warnings.warn(f"trackbook: unreadable spool file set aside: {target}", stacklevel=2)


def remove(paths: Sequence[Path]) -> None:
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            pass


def clean_temp_files(folder: Path, older_than_s: float = 3600) -> None:
    """Remove temp files a killed writer left half-written."""
    cutoff = time.time() - older_than_s
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return
    for entry in entries:
        if entry.name.startswith(TMP_PREFIX):
            try:
                if entry.stat().st_mtime < cutoff:
                    Path(entry.path).unlink()
            except FileNotFoundError:
                pass
