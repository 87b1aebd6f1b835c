"""The process's one DuckDB instance, and store files attached to it for one burst of work.

Connecting to a DuckDB file costs ~11 ms of start-up, and closing the connection frees and
wipes DuckDB's memory, which the next burst page-faults back in (20-40 ms more). So the process
keeps one in-memory DuckDB alive, and each burst ``ATTACH``es the store file and ``DETACH``es
it at its end. The file lock is held exactly as long as a connection per burst held it:
``DETACH`` releases it at once and checkpoints the WAL into the file, as ``close()`` does.
Between bursts the process holds only the empty in-memory instance, which locks nobody out.

Every burst works on its own cursor (DuckDB connection objects are not thread-safe, and temp
tables and registered tables belong to a cursor, so they end with the burst). Bursts on one
store in several threads share its attachment: the first attaches, the last detaches. A
``DETACH`` while another burst is still in a transaction would not even release the lock: the
file stays open until that transaction ends, and the next ``ATTACH`` of it fails.

Instance-wide settings (time zone, threads, the temp directory) are set here once. A forked
child starts a fresh instance: the parent's, copied by ``fork``, belongs to the parent.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Iterator
from typing import Any

# Nothing is ever downloaded at run time. Up to READ_THREADS threads: DuckDB splits a scan by
# row group (~123k rows), so small reads stay on one thread whatever the setting, while the
# panel's sort or filter over a 100k-run store (2M param rows) runs in about half the time on
# two (tb.runs at 10k runs: the same either way). Changing the thread count makes DuckDB purge
# its allocator (the next queries page-fault their memory in again, ~4 us a page here), so it
# is set once; only big ingests and scans ask for every core (:func:`every_core`).
READ_THREADS = min(os.cpu_count() or 1, 4)
CONFIG: dict[str, Any] = {"autoinstall_known_extensions": False, "threads": READ_THREADS}
# DuckDB's message when another process holds the file (the text ATTACH and connect share).
LOCKED = "could not set lock on file"
# ... and when another DuckDB instance of this process has it open (a user's duckdb.connect).
OPEN_HERE = "unique file handle conflict"


def duckdb() -> Any:
    """duckdb, imported on first use: it costs ~0.1 s that ``import trackbook`` need not pay."""
    import duckdb as module

    return module


class _Attachment:
    __slots__ = ("alias", "bursts")

    def __init__(self, alias: str) -> None:
        self.alias = alias
        self.bursts = 0  # bursts using it now; 0 only after an interrupted release


class _Instance:
    """This process's DuckDB, made on first use, and what is attached to it right now."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()  # guards everything below and every ATTACH/DETACH/SET
        self.con: Any = None
        self.attached: dict[str, _Attachment] = {}  # by the file's real path
        self.aliases = itertools.count(1)
        self.wide = 0  # bursts inside every_core()
        self.temp_dir = ""

    def connection(self, store: str) -> Any:
        if self.con is None:
            con = duckdb().connect(":memory:", config=CONFIG)
            # Times come back in UTC whatever the machine's zone (icu is built in). SET GLOBAL:
            # a plain SET would hold for this connection only, not for the bursts' cursors.
            con.execute("LOAD icu; SET GLOBAL TimeZone = 'UTC'")
            self.con = con
        # A query too big for memory spills beside the store, as with a file connection (an
        # in-memory instance would use ./.tmp). Once spilled to, it can no longer change.
        if self.temp_dir != store + ".tmp":
            with contextlib.suppress(duckdb().NotImplementedException):
                self.con.execute(f"SET temp_directory = {_quote(store + '.tmp')}")
            self.temp_dir = store + ".tmp"
        return self.con


_instance = _Instance()
_abandoned: list[_Instance] = []  # a forked child's copy of its parent's: never closed or reused


def _current() -> _Instance:
    global _instance
    if _instance.pid != os.getpid():
        # Kept referenced, not closed: closing it here could checkpoint a store the parent had
        # attached at the fork, without its lock.
        _abandoned.append(_instance)
        _instance = _Instance()
    return _instance


os.register_at_fork(after_in_child=_current)  # also renews the lock another thread might hold


def acquire(path: str) -> Any:
    """A cursor of this process's instance with the store file ``path`` attached and in use.

    Raises what ``ATTACH`` raises (``duckdb.IOException`` naming the holder when another
    process has the file), leaving nothing attached. Give it back with :func:`release`.
    """
    inst = _current()
    key = os.path.realpath(path)
    with inst.lock:
        con = inst.connection(path)
        _detach_unused(inst)
        entry = inst.attached.get(key)
        if entry is None:
            entry = inst.attached[key] = _Attachment(f"trackbook_{next(inst.aliases)}")
            try:
                con.execute(f"ATTACH {_quote(path)} AS {entry.alias}")
            except BaseException:
                del inst.attached[key]
                raise
        entry.bursts += 1
        try:
            cursor = con.cursor()
            cursor.execute(f"USE {entry.alias}")  # unqualified core.x / main.x resolve there
        except BaseException:
            entry.bursts -= 1
            _detach_unused(inst)
            raise
    return cursor


def release(path: str, cursor: Any) -> None:
    """End a burst: close its cursor (rolling back what it left open, dropping its temp
    tables); the last burst on the store detaches it, which releases the file lock."""
    inst = _current()
    try:
        cursor.close()
    finally:
        with inst.lock:
            entry = inst.attached.get(os.path.realpath(path))
            if entry is not None:
                entry.bursts -= 1
                _detach_unused(inst)


def execute_on_instance(sql: str) -> None:
    """Run a statement on the instance itself (its in-memory database), not on a store."""
    inst = _current()
    with inst.lock:
        if inst.con is not None:
            inst.con.execute(sql)


def _detach_unused(inst: _Instance) -> None:
    """Detach every store no burst uses (normally just the one whose last burst ended)."""
    for key, entry in list(inst.attached.items()):
        if entry.bursts <= 0:
            # Forgotten first: if DETACH fails the alias may still be attached, and then an
            # error at the next ATTACH of the file is better than a lock held for ever.
            del inst.attached[key]
            inst.con.execute(f"DETACH DATABASE IF EXISTS {entry.alias}")


@contextlib.contextmanager
def every_core(cursor: Any) -> Iterator[None]:
    """Every core for the big ingest or scan inside, READ_THREADS again after.

    Threads are the instance's, shared by every burst of the process: the first burst to ask
    raises them, the last one to finish lowers them back.
    """
    cores = os.cpu_count() or 1
    if cores <= READ_THREADS:
        yield
        return
    inst = _current()
    with inst.lock:
        inst.wide += 1
        if inst.wide == 1:
            cursor.execute(f"SET threads = {cores}")
    try:
        yield
    finally:
        with inst.lock:
            inst.wide -= 1
            if inst.wide == 0:
                cursor.execute(f"SET threads = {READ_THREADS}")


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
