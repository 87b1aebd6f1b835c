"""``tb.panel()`` and ``tb.compare()``: the runs table and the compare view, in one widget.

Traitlets hold small state (filter, sort, columns, page, selection, ``revision``); the browser
asks for data with named requests (:mod:`trackbook.panelquery`) over ``model.send`` and the
kernel replies with the same id, errors included. Nothing is held open between requests.

A watcher thread notices store changes by ``stat`` of the store file, its WAL and its spool
folder (no database open) and bumps ``revision``, which makes the browser refetch: runs logged
from another process show up within about a second. While a cell of this kernel runs, the
kernel reads no widget message, so the panel refetches when the cell ends (the run card under
the running cell is what shows it live).
"""

from __future__ import annotations

import os
import threading
import weakref
from pathlib import Path
from typing import Any

import traitlets

from trackbook import panelquery, reads, session
from trackbook.errors import TrackbookError
from trackbook.store import Store
from trackbook.widget import Bundle, WidgetBase

WATCH_INTERVAL_S = 1.0


class Panel(WidgetBase):  # type: ignore[misc,valid-type]
    """The runs table (filter, sort, columns, pages, selection) and the compare view.

    ``panel.selected`` holds the selected run ids and ``panel.runs()`` their DataFrame.
    """

    _esm = Bundle("panel.js")

    # The TypeScript twin is `interface Model` in js/panel.ts. "browser" means the user's
    # actions write it; Python writes the rest (and may set any of them to drive the view).
    mode = traitlets.Unicode("panel").tag(sync=True)  # panel | compare (Python)
    experiment = traitlets.Unicode("").tag(sync=True)  # "" = all experiments (both)
    where = traitlets.Unicode("").tag(sync=True)  # the filter box (both)
    order_by = traitlets.Unicode("").tag(sync=True)  # "metrics.loss.min ASC" (browser)
    columns = traitlets.List(traitlets.Unicode()).tag(sync=True)  # [] = defaults (browser)
    page = traitlets.Int(0).tag(sync=True)  # (browser)
    page_size = traitlets.Int(25).tag(sync=True)  # (both)
    selected = traitlets.List(traitlets.Unicode()).tag(sync=True)  # run ids (browser)
    fixed_runs = traitlets.List(traitlets.Unicode()).tag(sync=True)  # compare mode (Python)
    revision = traitlets.Int(0).tag(sync=True)  # bumped when the store changes (Python)
    store_path = traitlets.Unicode("").tag(sync=True)  # shown in the footer (Python)

    def __init__(self, store: Store, **kwargs: Any) -> None:
        super().__init__(store_path=store.path, **kwargs)
        self._store = store
        self._columns_cache: tuple[Any, Any] | None = None
        self.on_msg(self._on_frontend_msg)
        self._watcher = StoreWatcher(store, self)
        self._watcher.start()

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget view, and for front ends that cannot show it (an untrusted or reopened
        notebook, GitHub, nbconvert) a static snapshot of its first rows."""
        from trackbook import panelsnapshot

        fallback = panelsnapshot.snapshot(
            self._store, mode=self.mode, experiment=self.experiment, where=self.where,
            order_by=self.order_by, columns=list(self.columns), fixed_runs=list(self.fixed_runs))
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return fallback
        data, metadata = bundle
        data.update(fallback)
        return data, metadata

    def __repr__(self) -> str:
        what = "compare" if self.mode == "compare" else "panel"
        return (f"<trackbook {what}: {self._store.path}, "
                f"{len(self.selected)} selected>")

    # -- the request/reply protocol ------------------------------------------------------------

    def _on_frontend_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "request":
            return
        request_id = content.get("id")
        try:
            data = self._answer(str(content.get("name")), content.get("params") or {})
        except (TrackbookError, ValueError, KeyError, OSError) as exc:
            self.send({"type": "response", "id": request_id, "ok": False,
                       "error": panelquery.error_reply(exc)})
        except Exception as exc:  # a bug: still answer, so the browser does not wait forever
            self.send({"type": "response", "id": request_id, "ok": False,
                       "error": {"message": f"internal error: {exc!r}", "kind": "internal"}})
        else:
            self.send({"type": "response", "id": request_id, "ok": True, "data": data})

    def _answer(self, name: str, params: Any) -> Any:
        # The column chooser's keys change only when the store does; every refresh asks.
        if name != "columns":
            return panelquery.answer(name, params, self._store)
        key = (repr(params), self._watcher.signature())
        if self._columns_cache is None or self._columns_cache[0] != key:
            self._columns_cache = (key, panelquery.answer(name, params, self._store))
        return self._columns_cache[1]

    # -- what the user selected, back in Python -------------------------------------------------

    def runs(self) -> Any:
        """The selected runs as a ``tb.runs()`` DataFrame (in the order they were selected)."""
        from trackbook import plotdata

        if not self.selected:
            return reads.runs(where="run_id = ''", store=self._store)
        return plotdata.select_runs(list(self.selected), limit=None, store=self._store)

    def close(self) -> None:
        self._watcher.stop()
        super().close()


class StoreWatcher:
    """Bumps ``panel.revision`` when the store's files change; never opens the database."""

    def __init__(self, store: Store, panel: Panel, interval: float = WATCH_INTERVAL_S) -> None:
        self._paths = [Path(store.path), Path(store.path + ".wal"), store.spool_dir]
        self._panel = weakref.ref(panel)  # the thread must not keep a closed panel alive
        self._interval = interval
        self._stop = threading.Event()
        self._last = self.signature()
        self._thread = threading.Thread(target=self._loop, name="trackbook-panel-watch",
                                        daemon=True)

    def signature(self) -> tuple[Any, ...]:
        stamp: list[tuple[int, int] | None] = []
        for path in self._paths:
            try:
                info = path.stat()
            except OSError:
                stamp.append(None)
            else:
                stamp.append((info.st_mtime_ns, info.st_size))
        return tuple(stamp)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.wait(self._interval):
            panel = self._panel()
            if panel is None or panel.comm is None:
                return
            now = self.signature()
            if now != self._last:
                self._last = now
                panel.revision += 1  # a traitlet set from a thread: sent even while busy
            del panel


def _check_where(where: str | None) -> str:
    if where is None:
        return ""
    from trackbook import queries

    queries.compile_filter(where)  # a bad filter fails here, with its position
    return where


def panel(experiment: str | None = None, where: str | None = None, *,
          store: str | os.PathLike[str] | None = None, page_size: int = 25) -> Panel:
    """The runs table: filter, sort, pick columns, select runs to compare.

    Parameters
    ----------
    experiment
        Show one experiment (the panel can switch); default: all.
    where
        A starting filter, e.g. ``"metrics.val_loss.min < 0.3"``.

    Returns
    -------
    Panel
        A widget; ``panel.selected`` and ``panel.runs()`` give what is selected in it.
    """
    the_store = reads.reader(store) if store is not None else session.current_store()
    return Panel(the_store, experiment=experiment or "", where=_check_where(where),
                 page_size=page_size)


def compare(runs: Any, *, store: str | os.PathLike[str] | None = None) -> Panel:
    """The compare view of some runs: differing params, curves, seed bands, scatter, parallel.

    ``runs`` are ids, prefixes, names, ``Run`` objects or a ``tb.runs()`` DataFrame.
    """
    from trackbook import plotdata

    the_store = reads.reader(store) if store is not None else session.current_store()
    frame = plotdata.select_runs(runs, limit=panelquery.MAX_COMPARE, store=the_store)
    chosen = list(frame["run_id"])
    return Panel(the_store, mode="compare", fixed_runs=chosen, selected=chosen)
