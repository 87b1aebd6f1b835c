"""Each run's current value of one field, kept between bursts while its log is unchanged.

Sorting or filtering the runs table on a field (``params.lr``, ``metrics.loss.min``,
``tags.model``) needs every run's current value of it: the latest row of that key per run,
grouped out of the append-only log (2M param rows at 100k runs x 20 params: ~30 ms a field).
A person sorts, filters, pages and refines on the same few fields, so the grouped values are
kept as a table in this process's in-memory DuckDB (:mod:`trackbook.duck`), one per field, and
reused while the log they came from is unchanged.

Unchanged is decided exactly, by row counts: the logs are append-only, so every write adds
rows, and only two operations delete any. Folding a finished run's metric partials
(:func:`trackbook.ingest._compact_partials`) happens only in an ingest that appends to
``run_status``, so a metric field's signature counts both tables. Purging deleted runs
(``trackbook gc``) appends a row to ``store_info`` in its transaction, which every signature
counts. A store file replaced by another has another inode, or, copied over it in place,
another modification time.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trackbook import duck
from trackbook.queries import current_of_key
from trackbook.schema import CORE, PARAM_EXPRS, SUMMARY_EXPRS

# The tables whose rows make a field of each kind (beside store_info and migrations, which
# every signature counts: a purge or migration may rewrite any of them).
SOURCES = {
    "param": ("params_log",),
    "metric": ("metric_partials", "run_status"),
    "tag": ("tags_log",),
}
ALWAYS = ("store_info", "migrations")
COUNTED = tuple(dict.fromkeys(t for tables in SOURCES.values() for t in (*tables, *ALWAYS)))
MAX_FIELDS = 16  # ~6 MB each at 100k runs (measured); the least recently used go first
CATALOG = "memory.main"  # the process's in-memory database (duck.py)


@dataclass
class _Entry:
    table: str  # CATALOG.tbf_N
    signature: tuple[Any, ...]
    columns: frozenset[str]  # the columns it holds (those asked so far)
    users: int = 0  # bursts that were handed it and have not ended


class _Cache:
    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()  # guards the dicts below, never held while building
        self.entries: OrderedDict[tuple[str, str, str], _Entry] = OrderedDict()
        self.retired: list[_Entry] = []  # replaced, dropped once no burst uses them
        self.names = 0


_cache = _Cache()


def _current() -> _Cache:
    global _cache
    if _cache.pid != os.getpid():  # a forked child has a fresh DuckDB instance (duck.py)
        _cache = _Cache()
    return _cache


class Fields:
    """The field tables one burst may use: ``table(kind, key, columns)`` names a kept table of
    ``run_id`` and the field's columns, or returns None (the caller groups the log itself) and
    notes the field in ``missing``, for :func:`build_later`.

    Use it as a context manager inside the burst (:func:`for_burst`): a table it handed out
    is not dropped before it ends. The store's row counts are read once, when first needed.
    """

    def __init__(self, con: Any, path: str) -> None:
        self.con = con
        self.path = path
        stat = Path(path).stat()
        self.store = (os.path.realpath(path), stat.st_dev, stat.st_ino)
        # A file copied over the store in place keeps its inode: its time and size tell.
        # (Reads never write the file, so they keep both; the next burst after a write sees
        # new ones once, as it sees new counts.)
        self.file = (stat.st_mtime_ns, stat.st_size)
        self._counts: dict[str, int] | None = None
        self._used: list[_Entry] = []
        self.missing: dict[tuple[str, str], set[str]] = {}

    def __enter__(self) -> Fields:
        return self

    def __exit__(self, *exc: object) -> None:
        cache = _current()
        with cache.lock:
            for entry in self._used:
                entry.users -= 1
            self._used.clear()
            unused = _take_unused(cache)
        for entry in unused:  # each on its own: one failing must not leak the rest
            with contextlib.suppress(Exception):
                self.con.execute(f"DROP TABLE IF EXISTS {entry.table}")

    def signature(self, kind: str) -> tuple[Any, ...]:
        if self._counts is None:
            row = self.con.execute(
                "SELECT " + ", ".join(f"(SELECT count(*) FROM {CORE}.{t})" for t in COUNTED)
            ).fetchone()
            self._counts = dict(zip(COUNTED, row, strict=True))
        return (*self.store, *self.file,
                *(self._counts[t] for t in (*SOURCES[kind], *ALWAYS)))

    def kept(self, kind: str, key: str, columns: set[str]) -> str | None:
        """The field's table if it is kept, current and holds ``columns``; None otherwise."""
        cache = _current()
        wanted = _columns(kind, columns)
        signature = self.signature(kind)
        with cache.lock:
            entry = cache.entries.get((self.store[0], kind, key))
            if entry is None or entry.signature != signature or not wanted <= entry.columns:
                return None
            return self._hand_out(cache, (self.store[0], kind, key), entry)

    def table(self, kind: str, key: str, columns: set[str]) -> str | None:
        """The kept table, or None: then the field is noted in ``missing``. A request does
        not build it (grouping the log within the query is cheaper than building a table and
        joining it: 48-55 against 67-69 ms for two fields at 100k runs); the background
        builder does, for the next request."""
        found = self.kept(kind, key, columns)
        if found is None:
            self.missing.setdefault((kind, key), set()).update(columns)
        return found

    def build(self, kind: str, key: str, columns: set[str]) -> str:
        """Build the field's table now (a current one is replaced, keeping its columns)."""
        cache = _current()
        entry_key = (self.store[0], kind, key)
        signature = self.signature(kind)
        wanted = _columns(kind, columns)
        with cache.lock:
            old = cache.entries.get(entry_key)
            if old is not None and old.signature == signature:
                wanted |= old.columns  # keep what it had: the next request may want it
            cache.names += 1
            table = f"{CATALOG}.tbf_{cache.names}"
        # Built outside the lock: another burst's kept fields stay usable meanwhile.
        self.con.execute(f"CREATE TABLE {table} AS {current_of_key(kind, '$key', wanted)}",
                         {"key": key})
        entry = _Entry(table, signature, frozenset(wanted))
        with cache.lock:
            replaced = cache.entries.get(entry_key)
            cache.entries[entry_key] = entry
            if replaced is not None:
                cache.retired.append(replaced)
            while len(cache.entries) > MAX_FIELDS:
                cache.retired.append(cache.entries.popitem(last=False)[1])
            return self._hand_out(cache, entry_key, entry)

    def _hand_out(self, cache: _Cache, entry_key: tuple[str, str, str], entry: _Entry) -> str:
        cache.entries.move_to_end(entry_key)
        entry.users += 1
        self._used.append(entry)
        return entry.table


def for_burst(con: Any, path: str) -> Fields:
    return Fields(con, path)


def forget() -> None:
    """Drop every kept field table no burst is using (tests; a process that wants its
    memory back)."""
    cache = _current()
    with cache.lock:
        cache.retired.extend(cache.entries.values())
        cache.entries.clear()
        unused = _take_unused(cache)
    for entry in unused:
        duck.execute_on_instance(f"DROP TABLE IF EXISTS {entry.table}")


def _take_unused(cache: _Cache) -> list[_Entry]:
    """The retired tables no burst uses any more, taken off the list (to be dropped); under
    ``cache.lock``."""
    unused = [e for e in cache.retired if e.users <= 0]
    cache.retired = [e for e in cache.retired if e.users > 0]
    return unused


def _columns(kind: str, columns: set[str]) -> set[str]:
    """What a field's table must hold to serve ``columns``: a param always has its type (the
    filters test it), a tag its value, a metric the summary columns asked for."""
    if kind == "param":
        return {"type"} | (columns & set(PARAM_EXPRS))
    if kind == "tag":
        return {"value"}
    return (columns & set(SUMMARY_EXPRS)) or {"last"}


# -- building for the next request --------------------------------------------------------------

class _Builder:
    """One daemon thread building the field tables requests missed, each in a short burst of
    its own, while the person reads the answer (the next sort or page uses them)."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.waiting: dict[tuple[str, str, str], set[str]] = {}
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.busy = False
        self.stopping = False
        self.cursor: Any = None  # the build's cursor, interrupted at exit

    def add(self, path: str, fields: dict[tuple[str, str], set[str]]) -> None:
        with self.lock:
            for (kind, key), columns in fields.items():
                self.waiting.setdefault((path, kind, key), set()).update(columns)
            if self.thread is None:
                self.thread = threading.Thread(target=self._run, name="trackbook-fields",
                                               daemon=True)
                self.thread.start()
        self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            with self.lock:
                if self.stopping:
                    return
                if not self.waiting:
                    self.wake.clear()
                    continue
                (path, kind, key), columns = self.waiting.popitem()
                self.busy = True
            try:
                _build_one(path, kind, key, columns, self)
            finally:
                with self.lock:
                    self.busy = False
                    self.cursor = None

    def idle(self) -> bool:
        with self.lock:
            return not self.waiting and not self.busy

    def stop(self, timeout: float = 2.0) -> None:
        """At exit: build nothing more, and let a build under way end before DuckDB does
        (a daemon thread inside a query while the interpreter tears DuckDB down can crash)."""
        with self.lock:
            self.stopping = True
            self.waiting.clear()
            thread, cursor = self.thread, self.cursor
        if cursor is not None:
            cursor.interrupt()  # a big store's build takes seconds: stop it now
        self.wake.set()
        if thread is not None:
            thread.join(timeout)


def _build_one(path: str, kind: str, key: str, columns: set[str], builder: _Builder) -> None:
    from trackbook.store import Store

    try:
        with Store(path).connect() as con, for_burst(con, path) as fields:
            with builder.lock:
                if builder.stopping:
                    return
                builder.cursor = con
            if fields.kept(kind, key, columns) is None:
                fields.build(kind, key, columns)
    except Exception:  # built ahead of need: a request that needs it will say what failed
        return


_builder = _Builder()
atexit.register(lambda: _builder.stop())


def build_later(path: str, fields: dict[tuple[str, str], set[str]]) -> None:
    """Build these fields' tables in the background (a burst each), for the next request."""
    global _builder
    if _builder.pid != os.getpid():  # a forked child has no threads: its own builder
        _builder = _Builder()
    if fields:
        _builder.add(path, fields)


def settle(timeout: float = 30.0) -> bool:
    """Wait until the tables asked for so far are built (tests, benchmarks)."""
    import time

    deadline = time.monotonic() + timeout
    while not _builder.idle():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)
    return True
