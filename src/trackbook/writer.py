"""The background writer: moves what runs logged from memory to the spool, about once a second.

One daemon thread per process and store. The training loop only appends to lists; this thread
takes what is there, writes it as Parquet into the spool, records heartbeats of the runs still
active, and now and then ingests the spool when the store happens to be free (it never waits
for the lock, so a busy store costs the training loop nothing).
"""

from __future__ import annotations

import atexit
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Protocol

from trackbook import spool
from trackbook.store import Store

FLUSH_INTERVAL_S = 1.0
HEARTBEAT_INTERVAL_S = 10.0
INGEST_INTERVAL_S = 10.0


class PointSource(Protocol):
    run_id: str
    _points: list[tuple[str, int, float, float]]


class Writer:
    """Buffers of one store: event rows, the active runs' points, and pending captures."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._events: list[tuple[str, dict[str, Any]]] = []
        self._runs: dict[str, PointSource] = {}
        self._flush_lock = threading.RLock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._pending: list[Future[Any]] = []
        self._executor: ThreadPoolExecutor | None = None
        self._last_beat = 0.0
        self._last_ingest = time.monotonic()
        self.errors: list[str] = []

    # -- what callers add ----------------------------------------------------------------------

    def add(self, table: str, row: dict[str, Any]) -> None:
        """Queue one event row; list.append is atomic, so no lock on this path."""
        self._events.append((table, row))
        self._ensure_thread()

    def attach(self, run: PointSource) -> None:
        self._runs[run.run_id] = run
        self._ensure_thread()

    def detach(self, run: PointSource) -> None:
        """Stop draining and heartbeating ``run`` after handing its points to the spool."""
        with self._flush_lock:
            self._drain_into_spool()
            self._runs.pop(run.run_id, None)

    def submit(self, fn: Callable[[], Any]) -> Future[Any]:
        """Run slow capture work (environment, git, hashing) off the caller's thread."""
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="trackbook-capture")
        future = self._executor.submit(fn)
        self._pending.append(future)
        return future

    # -- flushing -------------------------------------------------------------------------------

    def flush(self, *, wait_captures: float = 0.0) -> None:
        """Hand everything buffered to the spool now (reads call this to see their own data)."""
        if wait_captures:
            self._wait_captures(wait_captures)
        with self._flush_lock:
            self._drain_into_spool()

    def _wait_captures(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        for future in list(self._pending):
            try:
                future.result(max(0.0, deadline - time.monotonic()))
            except Exception:
                pass
        self._pending = [f for f in self._pending if not f.done()]

    def _drain_into_spool(self) -> None:
        tables = self._drain()
        if not tables:
            return
        try:
            spool.write(self.store.spool_dir, tables)
        except Exception:
            # Put the rows back so a later flush retries (disk full, folder removed...).
            self._requeue(tables)
            raise

    def _drain(self) -> dict[str, Any]:
        import pyarrow as pa

        n = len(self._events)
        events, self._events[:n] = self._events[:n], []
        rows: dict[str, list[dict[str, Any]]] = {}
        for table, row in events:
            rows.setdefault(table, []).append(row)
        tables = {table: spool.rows_to_arrow(table, r) for table, r in rows.items()}
        point_tables = []
        for run in list(self._runs.values()):
            buf = run._points
            n = len(buf)
            if n:
                # Slice then delete the same count: appends that race with this stay in place.
                table = spool.points_to_arrow(run.run_id, buf[:n])
                point_tables.append(table)
                live = getattr(run, "_live", None)
                if live is None:
                    del buf[:n]
                    continue
                with live.lock:  # a live view counts drained + waiting points: move them at once
                    live.observe(table)
                    del buf[:n]
        if point_tables:
            tables["points"] = pa.concat_tables(
                [t.cast(spool.arrow_schema("points")) for t in point_tables]
            )
        return tables

    def _requeue(self, tables: dict[str, Any]) -> None:
        for table, data in tables.items():
            if table == "points":
                continue  # points are re-queued per run below
            for row in data.to_pylist():
                self._events.append((table, _times_as_seconds(row)))
        points = tables.get("points")
        if points is not None:
            for row in points.to_pylist():
                run = self._runs.get(row["run_id"])
                if run is not None:
                    run._points.append(
                        (row["key"], row["step"], row["value"], row["wall_time"].timestamp())
                    )

    # -- the background thread ------------------------------------------------------------------

    def _ensure_thread(self) -> None:
        if self._thread is None or not self._thread.is_alive():
            with self._flush_lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(
                        target=self._loop, name="trackbook-writer", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        started = time.monotonic()
        # Pay for these imports here, during the first interval, not on the first run.end().
        import numpy  # noqa: F401
        import pyarrow.parquet  # noqa: F401

        self._wake.wait(max(0.0, FLUSH_INTERVAL_S - (time.monotonic() - started)))
        while True:
            self._wake.clear()
            try:
                self._tick()
            except Exception as exc:  # keep writing; the error is kept for `trackbook doctor`
                self.errors.append(f"{type(exc).__name__}: {exc}")
                del self.errors[:-20]
            self._wake.wait(FLUSH_INTERVAL_S)

    def _tick(self) -> None:
        now = time.monotonic()
        if self._runs and now - self._last_beat >= HEARTBEAT_INTERVAL_S:
            self._last_beat = now
            wall = time.time()
            for run_id in list(self._runs):
                self.add("heartbeats", {"run_id": run_id, "time": wall})
        self.flush()
        if now - self._last_ingest >= INGEST_INTERVAL_S:
            self._last_ingest = now
            self.store.try_ingest()


def _times_as_seconds(row: dict[str, Any]) -> dict[str, Any]:
    return {k: (v.timestamp() if hasattr(v, "timestamp") else v) for k, v in row.items()}


_writers: dict[str, Writer] = {}
_writers_lock = threading.Lock()


def for_store(store: Store) -> Writer:
    with _writers_lock:
        writer = _writers.get(store.path)
        if writer is None:
            writer = _writers[store.path] = Writer(store)
        return writer


def errors_for(store: Store) -> list[str]:
    """The latest errors of the background writer of ``store`` in this process."""
    writer = _writers.get(store.path)
    return list(writer.errors) if writer is not None else []


def flush_all(wait_captures: float = 0.0) -> None:
    for writer in list(_writers.values()):
        writer.flush(wait_captures=wait_captures)


def flush_for(store: Store, wait_captures: float = 5.0) -> None:
    """What a read calls first: everything this process logged to ``store`` reaches the spool."""
    writer = _writers.get(store.path)
    if writer is not None:
        writer.flush(wait_captures=wait_captures)


def _at_exit() -> None:
    """Scripts: hand what is left to the spool, then ingest once if the store is free."""
    for writer in list(_writers.values()):
        try:
            writer.flush(wait_captures=10.0)
            writer.store.try_ingest()
        except Exception:
            pass


def _after_fork_in_child() -> None:
    # The writer threads do not exist in a forked child: start afresh there.
    _writers.clear()


atexit.register(_at_exit)
os.register_at_fork(after_in_child=_after_fork_in_child)
