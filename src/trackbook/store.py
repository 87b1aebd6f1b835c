"""The store: with :mod:`trackbook.duck`, the only code that imports duckdb and opens stores
(:mod:`trackbook.ingest` moves the spool in, on the connection it is given).

No burst of work keeps the store file open after it: any open connection, even idle, locks
every other process out of a DuckDB file. Each burst attaches the file to the process's one
in-memory DuckDB (:mod:`trackbook.duck`) and detaches it at its end. Every burst first checks
that the file is a trackbook store this version can use (leaving anything else byte-for-byte
unchanged), migrates it, ingests the spool, and notices runs whose process died on this host.
"""

from __future__ import annotations

import contextlib
import os
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from trackbook import crashes, duck, ingest, location, spool
from trackbook._version import __version__
from trackbook.errors import StoreBusy, StoreError, StoreNotFound
from trackbook.schema import (
    CORE,
    DEDUPLICATED,
    MIGRATIONS,
    POINT_SUMMARY,
    PUBLIC_VIEWS,
    SCHEMA_VERSION,
    TABLES,
    create_views,
)

LOCK_TIMEOUT_S = float(os.environ.get("TRACKBOOK_LOCK_TIMEOUT", "30"))
_duckdb = duck.duckdb
every_core = duck.every_core  # for big scans (series.py)


class Store:
    """One trackbook store: ``X.duckdb`` with ``X.duckdb.artifacts/`` and ``X.duckdb.spool/``."""

    def __init__(self, location_: str | os.PathLike[str] | None = None) -> None:
        self.path = location.resolve(location_) if location_ else location.default_store()
        if self.path.startswith(location.DUCKLAKE_PREFIX):
            raise StoreError(
                f"{self.path}: team stores (DuckLake) are not supported by this version yet"
            )
        self.spool_dir = location.spool_dir(self.path)
        self.artifacts_dir = location.artifacts_dir(self.path)

    def __repr__(self) -> str:
        return f"Store({self.path!r})"

    def exists(self) -> bool:
        return Path(self.path).is_file()

    # -- opening -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def connect(self, *, create: bool = False, timeout: float | None = None) -> Iterator[Any]:
        """A burst's connection to a migrated store with the spool ingested; the store file is
        released on exit (temp tables and registered tables end with the burst too).

        ``create`` makes the store when it is missing (writes do; reads don't, unless this or
        another process spooled something for it).
        """
        self._check_file(create=create or spool.pending(self.spool_dir))
        con = self._open(timeout)
        try:
            self._migrate(con)
            self._ingest(con)
            yield con
        finally:
            duck.release(self.path, con)

    def _check_file(self, *, create: bool) -> None:
        path = Path(self.path)
        if path.is_dir():
            raise StoreError(f"{path} is a directory, not a trackbook store (a .duckdb file)")
        if path.is_file():
            with open(path, "rb") as f:
                header = f.read(12)
            if header[8:12] != b"DUCK":
                raise StoreError(
                    f"{path} is not a DuckDB database, so not a trackbook store; it was left "
                    "unchanged. Point trackbook at another file (tb.init(store=...), "
                    "--store or TRACKBOOK_STORE)."
                )
            return
        if not create:
            nearest = location.nearest_store(path.parent)
            hint = f"; the nearest store is {nearest}" if nearest else ""
            raise StoreNotFound(
                f"no trackbook store at {path}{hint}. Log a run to create one, or choose a "
                "store with tb.init(store=...), --store or TRACKBOOK_STORE."
            )
        path.parent.mkdir(parents=True, exist_ok=True)

    def _open(self, timeout: float | None) -> Any:
        """Attach the file, waiting with jittered backoff while another process holds it."""
        duckdb = _duckdb()
        deadline = time.monotonic() + (LOCK_TIMEOUT_S if timeout is None else timeout)
        delay = 0.005
        while True:
            try:
                return duck.acquire(self.path)
            except duckdb.IOException as exc:
                if duck.LOCKED not in str(exc).lower():
                    raise StoreError(f"cannot open {self.path}: {exc}") from None
                if time.monotonic() + delay > deadline:
                    raise StoreBusy(_busy_message(self.path, exc)) from None
            except duckdb.Error as exc:
                if duck.OPEN_HERE in str(exc).lower():  # waiting would not help
                    raise StoreBusy(
                        f"{self.path} is open in another DuckDB connection of this process "
                        "(duckdb.connect); close that connection to use the store.") from None
                raise StoreError(
                    f"cannot open {self.path}: {exc}. If it was written by a newer DuckDB, "
                    f"upgrade trackbook; this one uses duckdb {duckdb.__version__}."
                ) from None
            time.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, 0.2)

    def _migrate(self, con: Any) -> None:
        version = _schema_version(con, self.path)
        if version > SCHEMA_VERSION:
            written_by = con.execute(
                f"SELECT arg_max(trackbook_version, version) FROM {CORE}.migrations"
            ).fetchone()[0]
            raise StoreError(
                f"{self.path} was written by a newer trackbook ({written_by}, schema version "
                f"{version}); this is trackbook {__version__} (schema version {SCHEMA_VERSION}). "
                "Upgrade trackbook: pip install -U trackbook. The store was left unchanged."
            )
        if version == SCHEMA_VERSION:
            return
        con.execute("BEGIN")
        try:
            for number, migration in enumerate(MIGRATIONS[version:], start=version + 1):
                migration(con)
                con.execute(
                    f"INSERT INTO {CORE}.migrations VALUES (?, ?, now(), ?)",
                    [number, migration.__name__, __version__],
                )
            create_views(con)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    # -- the spool ---------------------------------------------------------------------------

    def _ingest(self, con: Any) -> int:
        """Move every spooled file in, exactly once. Returns the number of files ingested."""
        return ingest.spool_into(con, self.path, self.spool_dir)

    def try_ingest(self) -> bool:
        """Ingest the spool if the store is free right now; never waits for the lock."""
        if not spool.pending(self.spool_dir):
            return True
        try:
            with self.connect(create=True, timeout=0):
                return True
        except StoreBusy:
            return False

    # -- reading and writing -----------------------------------------------------------------

    @contextlib.contextmanager
    def reading(self) -> Iterator[Any]:
        """A connection for a burst of reads; runs of dead local processes read `crashed`."""
        with self.connect() as con:
            crashes.mark_dead_processes(con, self.path)
            yield con

    def arrow(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> Any:
        with self.reading() as con:
            return con.execute(sql, params or []).to_arrow_table()

    def rows(self, sql: str, params: Sequence[Any] | Mapping[str, Any] | None = None) -> list:
        with self.reading() as con:
            return con.execute(sql, params or []).fetchall()

    def query_readonly(self, sql: str, params: Any = None) -> Any:
        """Run one user-written read statement (tb.sql); anything else raises, changing nothing."""
        from trackbook.errors import QueryError, ReadOnlyQuery

        duckdb = _duckdb()
        with self.reading() as con:
            try:
                statements = con.extract_statements(sql)
            except duckdb.Error as exc:
                raise QueryError(f"invalid SQL: {exc}") from None
            if len(statements) != 1:
                raise ReadOnlyQuery(f"tb.sql runs one statement, got {len(statements)}")
            kind = statements[0].type
            if kind != duckdb.StatementType.SELECT:
                raise ReadOnlyQuery(
                    f"tb.sql only reads: {kind.name} statements are refused (nothing was run)"
                )
            try:
                return con.execute(sql, params or []).to_arrow_table()
            except duckdb.Error as exc:
                raise QueryError(f"{exc}\nViews: {', '.join(PUBLIC_VIEWS)}") from None

    def write_tables(self, tables: Mapping[str, Any], *, skip_existing: bool = False
                     ) -> dict[str, int]:
        """Append Arrow tables to internal tables in one transaction (bulk paths: import).

        With ``skip_existing``, rows already stored are skipped (points too, and content-
        addressed rows by their hash), so writing the same tables twice adds nothing. Returns
        the number of rows inserted per table.
        """
        with self.connect(create=True) as con:
            con.execute("BEGIN")
            try:
                added = {table: _append(con, table, data, skip_existing=skip_existing)
                         for table, data in tables.items()}
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return added


def _busy_message(path: str, exc: Exception) -> str:
    holder = str(exc).split("Conflicting lock is held in", 1)[-1].split(". See also")[0].strip()
    return (
        f"{path} stayed locked by another process ({holder}) for {LOCK_TIMEOUT_S:g} s. trackbook "
        "never holds it for long; a program that keeps a duckdb connection open to it does. "
        "Close that connection, or raise TRACKBOOK_LOCK_TIMEOUT."
    )


def _schema_version(con: Any, path: str) -> int:
    # Every open asks this: one small query when the store is a trackbook store (the usual
    # case); the catalog is listed only when there is no migrations table.
    try:
        return int(con.execute(f"SELECT max(version) FROM {CORE}.migrations").fetchone()[0] or 0)
    except _duckdb().CatalogException:
        pass
    tables = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = "
        "current_database()"
    ).fetchall()
    if tables:
        raise StoreError(
            f"{path}: this DuckDB database holds other tables and is not a trackbook store; it "
            "was left unchanged"
        )
    return 0


def _append(con: Any, table: str, data: Any, *, skip_existing: bool) -> int:
    con.register("_incoming", data)
    try:
        given = set(data.column_names)  # a column left out is NULL, as INSERT BY NAME did
        columns = ", ".join(f'"{name}"' for name, _ in TABLES[table] if name in given)
        source = f"SELECT {columns} FROM _incoming"
        if skip_existing and table in DEDUPLICATED:
            key = DEDUPLICATED[table]
            source = (f"SELECT DISTINCT ON ({key}) {columns} FROM _incoming "
                      f"WHERE {key} NOT IN (SELECT {key} FROM {CORE}.{table})")
        elif skip_existing:
            # Rows already stored (an import done twice) are skipped, compared on every column;
            # EXCEPT ALL keeps points that repeat within the incoming rows. Only the incoming
            # runs' rows are compared, not the whole table.
            scope = ("WHERE run_id IN (SELECT DISTINCT run_id FROM _incoming)"
                     if "run_id" in given else "")
            source = (f"{source} EXCEPT {'ALL ' if table == 'points' else ''}"
                      f"SELECT {columns} FROM {CORE}.{table} {scope}")
        if table != "points":
            return int(con.execute(f"INSERT INTO {CORE}.{table} ({columns}) {source}"
                                   ).fetchone()[0])
        # Points get their partial summaries in the same transaction, from the rows inserted.
        con.execute(f"CREATE OR REPLACE TEMP TABLE _batch AS {source}")
        con.execute(f"INSERT INTO {CORE}.points ({columns}) SELECT {columns} FROM _batch")
        con.execute(
            f"INSERT INTO {CORE}.metric_partials SELECT run_id, key, {POINT_SUMMARY} "
            "FROM _batch GROUP BY run_id, key"
        )
        n = int(con.execute("SELECT count(*) FROM _batch").fetchone()[0])
        con.execute("DROP TABLE _batch")
        return n
    finally:
        con.unregister("_incoming")
