"""Which (cell, params) combinations already ran to the end: "you tried this before".

Starting a ``%%track`` cell opens no connection on the caller's thread, so the answer comes
from memory: an index loaded from the store on a background thread (at the first cell, then
again at most every 30 s) plus every run this kernel finished since.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from trackbook import values
from trackbook.schema import CORE
from trackbook.store import Store

REFRESH_S = 30.0
KEY_METRICS = 3


@dataclass(frozen=True)
class Done:
    run_id: str
    name: str
    metrics: dict[str, float]


def params_hash(params: dict[str, Any]) -> str:
    """The cell's literal params as stored (redacted, text and type), hashed."""
    stored = values.redact(params)
    items = sorted((k, *values.store_param(v)[::2]) for k, v in stored.items())
    return hashlib.sha256(json.dumps(items).encode()).hexdigest()


class TriedIndex:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._entries: dict[tuple[str, str], Done] = {}
        self._loaded = threading.Event()
        self._lock = threading.Lock()
        self._loading: threading.Thread | None = None
        self._last_load = 0.0

    def refresh(self, *, force: bool = False) -> None:
        """Reload from the store on a background thread (throttled)."""
        with self._lock:
            busy = self._loading is not None and self._loading.is_alive()
            if busy or (not force and time.monotonic() - self._last_load < REFRESH_S):
                return
            self._last_load = time.monotonic()
            self._loading = threading.Thread(target=self._load, name="trackbook-tried",
                                             daemon=True)
            self._loading.start()

    def lookup(self, cell_hash: str, cell_params: str, wait: float = 0.0) -> Done | None:
        """The latest finished run of this cell source with these literal params, if any."""
        if wait:
            self._loaded.wait(wait)
        with self._lock:
            return self._entries.get((cell_hash, cell_params))

    def add(self, cell_hash: str, cell_params: str, done: Done) -> None:
        with self._lock:
            self._entries[(cell_hash, cell_params)] = done

    def _load(self) -> None:
        try:
            entries = _read(self.store)
        except Exception:  # no store yet, or busy: the index stays as it is
            entries = {}
        with self._lock:
            for key, done in entries.items():
                self._entries.setdefault(key, done)  # this kernel's own runs are newer
        self._loaded.set()


def _read(store: Store) -> dict[tuple[str, str], Done]:
    if not store.exists():
        return {}
    with store.reading() as con:
        runs = con.execute(
            f"""SELECT r.run_id, r.name, l.h, l.p FROM {CORE}.run_state r JOIN (
                    SELECT run_id,
                           json_extract_string(arg_max(lineage, time), '$.code.cell_hash') AS h,
                           json_extract_string(arg_max(lineage, time), '$.code.cell_params') AS p
                    FROM {CORE}.lineage_log GROUP BY run_id) l USING (run_id)
                WHERE l.h IS NOT NULL AND r.status = 'finished' AND NOT r.deleted
                ORDER BY r.start_time"""
        ).fetchall()
        metrics = con.execute(
            "SELECT run_id, key, last FROM main.metric_summary "
            "WHERE run_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY key",
            [[r[0] for r in runs]]).fetchall()
    shown: dict[str, dict[str, float]] = {r[0]: {} for r in runs}
    for run_id, key, last in metrics:
        if len(shown[run_id]) < KEY_METRICS:
            shown[run_id][key] = last
    # Later runs overwrite earlier ones: the index answers with the latest.
    return {(h, p): Done(run_id, name, shown[run_id]) for run_id, name, h, p in runs}
