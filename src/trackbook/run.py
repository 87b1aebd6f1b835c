"""Active runs: the write side of the API.

``run.log`` only appends tuples to a list; the writer thread moves them to the spool. Starting
and ending a run queue event rows (start, params, status) and open no connection; ending also
hands everything left to the spool before returning, so a read right after sees it all.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from trackbook import capture, cardview, ids, names, proc, session, values, writer
from trackbook import lineage as origins
from trackbook.errors import NoActiveRun, TrackbookError
from trackbook.live import LiveMetrics
from trackbook.runfiles import FileMethods
from trackbook.schema import STATUSES
from trackbook.store import Store

_stack: list[ActiveRun] = []
_stack_lock = threading.Lock()


class RunEnded(TrackbookError):
    """A write to a run that has ended."""


class ActiveRun(FileMethods):
    """A run being written. Use as a context manager, or call :meth:`end` yourself."""

    def __init__(self, store: Store, run_id: str, name: str, experiment: str,
                 parent_run_id: str | None) -> None:
        self.store = store
        self.run_id = run_id
        self.name = name
        self.experiment = experiment
        self.parent_run_id = parent_run_id
        self.status = "running"
        self.start_time = time.time()
        self.params: dict[str, Any] = {}
        self.tags: dict[str, str] = {}
        self._points: list[tuple[str, int, float, float]] = []
        self._next_step: dict[str, int] = {}
        self._writer = writer.for_store(store)
        self._ended = False
        self._live: LiveMetrics | None = None  # set by watch(): a live view wants stats
        self.error: str | None = None
        self.end_time: float | None = None

    def __repr__(self) -> str:
        return (f"<ActiveRun {ids.short(self.run_id)} {self.name!r} "
                f"experiment={self.experiment!r} status={self.status}>")

    def _repr_html_(self) -> str:
        return cardview.run_card(self.card_state())

    def watch(self) -> LiveMetrics:
        """Keep live per-metric stats (for a run card); costs the hot path nothing."""
        if self._live is None:
            self._live = LiveMetrics()
        return self._live

    def card_state(self) -> dict[str, Any]:
        """What a run card shows: status, times, params and per-metric stats."""
        end = self.end_time or time.time()
        metrics = self._live.snapshot(self._points) if self._live is not None else []
        return {"run_id": self.run_id, "name": self.name, "experiment": self.experiment,
                "status": self.status, "elapsed_s": end - self.start_time,
                "params": dict(self.params), "metrics": metrics, "error": self.error}

    # -- metrics: the hot path -----------------------------------------------------------------

    def log(self, data: Mapping[str, Any] | None = None, /, step: Any = None,
            **metrics: Any) -> None:
        """Log metric values; ``step`` defaults to one more than the key's last step.

        ``run.log(loss=0.3, step=3)`` or ``run.log({"val/loss": 0.3})`` for keys that are not
        identifiers. Only appends to memory.
        """
        if data is not None:
            metrics = _merge_metrics(data, metrics)
        if self._ended:
            raise RunEnded(f"run {ids.short(self.run_id)} has ended; start or resume a run")
        for value in metrics.values():
            if type(value) is not float:
                metrics = {k: values.as_metric(k, v) for k, v in metrics.items()}
                break
        now = time.time()
        points = self._points
        next_step = self._next_step
        if step is None:
            for key, value in metrics.items():
                s = next_step.get(key, 0)
                next_step[key] = s + 1
                points.append((key, s, value, now))
        else:
            if type(step) is not int:
                step = values.as_step(step)
            for key, value in metrics.items():
                next_step[key] = step + 1
                points.append((key, step, value, now))

    # -- params, tags, notes -------------------------------------------------------------------

    def log_params(self, params: Mapping[str, Any] | None = None, /, **more: Any) -> None:
        """Log params; nested dicts flatten to dotted keys, values keep their type."""
        flat = values.redact(values.flatten({**(params or {}), **more}))
        now = time.time()
        for key, value in flat.items():
            text, num, kind = values.store_param(value)
            self._add("params_log", {"run_id": self.run_id, "key": key, "value": text,
                                     "num": num, "type": kind, "time": now})
            self.params[key] = value

    def tag(self, *labels: Any, **pairs: Any) -> None:
        """Tag with labels (``"baseline"``), ``"key=value"`` strings, dicts or keywords."""
        tags: dict[str, str] = {}
        for label in labels:
            tags.update(values.parse_tags(label))
        tags.update(values.parse_tags(None, **pairs))
        _write_tags(self._add, self.run_id, tags)
        self.tags.update(tags)

    def untag(self, *keys: str) -> None:
        _write_tags(self._add, self.run_id, dict.fromkeys(keys, ""), removed=True)
        for key in keys:
            self.tags.pop(key, None)

    def note(self, text: str) -> None:
        """Add a note; notes accumulate, oldest first."""
        _write_note(self._add, self.run_id, text)

    # -- life cycle ----------------------------------------------------------------------------

    def end(self, status: str = "finished", error: str | None = None) -> None:
        """End the run; what it logged is in the spool when this returns."""
        if self._ended:
            return
        if status not in STATUSES or status == "running":
            raise ValueError(f"status must be one of {', '.join(STATUSES[1:])}, not {status!r}")
        self._ended = True
        self.status, self.error, self.end_time = status, error, time.time()
        self._add("run_status", _status_row(self.run_id, status, error))
        self._writer.detach(self)
        _pop(self)

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        status, error = outcome(exc)
        self.end(status, error)

    def _add(self, table: str, row: dict[str, Any]) -> None:
        if self._ended and table != "run_status":
            raise RunEnded(f"run {ids.short(self.run_id)} has ended; resume it to add more")
        self._writer.add(table, row)


def outcome(exc: BaseException | None) -> tuple[str, str | None]:
    """The status an exception (or none) ends a run with, and the traceback to keep."""
    if exc is None:
        return "finished", None
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted", "KeyboardInterrupt"
    if isinstance(exc, SystemExit) and exc.code in (0, None):
        return "finished", None
    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return "failed", text[-20_000:]


# -- starting ------------------------------------------------------------------------------------

def start_run(
    name: str | None = None,
    experiment: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Any = None,
    note: str | None = None,
    *,
    resume: str | None = None,
    parent: str | ActiveRun | None = None,
    store: str | Path | None = None,
    code: str | None = None,
    lineage: dict[str, Any] | None = None,
    status: str = "running",
) -> ActiveRun:
    """Start a run (or reopen one with ``resume=ID``); it becomes the innermost active run.

    A run started while another is active becomes its child. ``code`` is the source to keep
    as the run's code (``%%track`` passes the cell); by default the current notebook cell or
    the script's file. ``lineage`` adds fields to the run's lineage (a dict merges into the
    entry of the same name, e.g. ``{"code": {"execution_count": 7}}``).
    """
    _install_exit_hooks()
    the_store = session.store_for(store)
    if resume is not None:
        return _resume(the_store, resume)
    notebook = origins.notebook_path()
    experiment = session.check_experiment(experiment) if experiment is not None else \
        session.default_experiment(notebook)
    run_id = ids.new_run_id()
    parent_id = _parent_id(parent)
    run = ActiveRun(the_store, run_id, _check_name(name) or names.default_name(run_id),
                    experiment, parent_id)
    host, _, _ = proc.identity()
    run._add("run_starts", {"run_id": run_id, "experiment": experiment, "name": run.name,
                            "parent_run_id": parent_id, "start_time": run.start_time,
                            "host": host, "user_name": _user(),
                            "source": "notebook" if notebook else _source_kind()})
    if status != "running":  # a sweep child that never started: recorded, never active
        run._add("run_status", _status_row(run_id, status, None))
        run._ended, run.status = True, status
        return run
    run._add("run_status", _status_row(run_id, "running", None))
    if params:
        run.log_params(params)
    if tags:
        run.tag(tags)
    if note:
        run.note(note)
    run._writer.attach(run)
    _start_capture(run, code, notebook, lineage)
    _push(run)
    return run


def _start_capture(run: ActiveRun, code: str | None, notebook: str | None,
                   extra: dict[str, Any] | None) -> None:
    history = origins.kernel_history()  # a list copy: cheap, and must be taken now
    if code is None and history:
        code = history[-1]
    add, scope = run._writer.add, run.store.path

    def work() -> None:
        entry = origins.entry_point()
        source = code if code is not None else capture.script_source(entry)
        capture.run_lineage(add, scope, run.run_id, code=source, history=history,
                            notebook=notebook, entry=entry, extra=extra)

    run._writer.submit(work)


def _resume(store: Store, id_or_prefix: str) -> ActiveRun:
    from trackbook import reads

    snap = reads.get_run(id_or_prefix, store=store)
    run = ActiveRun(store, snap.run_id, snap.name, snap.experiment, snap.parent_run_id)
    run.start_time = snap.start_time.timestamp()
    run._next_step = {key: int(step) + 1 for key, step in snap.last_steps().items()}
    run.params = dict(snap.params)
    run.tags = dict(snap.tags)
    run._add("run_status", _status_row(run.run_id, "running", None))
    run._writer.attach(run)
    _push(run)
    return run


def _status_row(run_id: str, status: str, error: str | None) -> dict[str, Any]:
    host, pid, start = proc.identity()
    return {"run_id": run_id, "status": status, "time": time.time(), "host": host,
            "pid": pid, "proc_start": start, "error": error}


def _write_tags(add: Any, run_id: str, tags: Mapping[str, str], removed: bool = False) -> None:
    now = time.time()
    for key, value in tags.items():
        add("tags_log", {"run_id": run_id, "key": key, "value": value, "removed": removed,
                         "time": now})


def _write_note(add: Any, run_id: str, text: str) -> None:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a note must be non-empty text")
    add("notes_log", {"run_id": run_id, "note": text, "time": time.time()})


def _parent_id(parent: str | ActiveRun | None) -> str | None:
    if isinstance(parent, ActiveRun):
        return parent.run_id
    if parent is not None:
        return ids.check_prefix(parent)
    current = active_run()
    return current.run_id if current is not None else None


def _check_name(name: str | None) -> str | None:
    if name is None:
        return None
    if not isinstance(name, str):
        raise TypeError(f"run name must be a string, got {type(name).__name__}")
    return name.strip() or None


def _merge_metrics(data: Any, more: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, Mapping):
        raise TypeError(
            f"log() takes a dict of metrics or keywords, got {type(data).__name__}; "
            "e.g. run.log(loss=0.3) or run.log({'val/loss': 0.3})"
        )
    merged = dict(data)
    for key in merged:
        if not isinstance(key, str) or not key:
            raise TypeError(f"metric keys must be non-empty strings, got {key!r}")
    merged.update(more)
    return merged


def _user() -> str | None:
    import getpass

    try:
        return getpass.getuser()
    except Exception:
        return None


def _source_kind() -> str:
    if "IPython" in sys.modules and getattr(sys.modules["IPython"], "get_ipython", None):
        shell = sys.modules["IPython"].get_ipython()
        if shell is not None:
            return "ipython"
    return "script" if sys.argv and sys.argv[0] else "interactive"


# -- the stack of active runs ----------------------------------------------------------------------

def _push(run: ActiveRun) -> None:
    with _stack_lock:
        _stack.append(run)


def _pop(run: ActiveRun) -> None:
    with _stack_lock:
        if run in _stack:
            _stack.remove(run)


def active_run() -> ActiveRun | None:
    """The innermost active run, or None."""
    try:
        return _stack[-1]  # one indexing: atomic, so no lock on this frequent path
    except IndexError:
        return None


def active_runs() -> list[ActiveRun]:
    """Every active run, outermost first."""
    with _stack_lock:
        return list(_stack)


def current() -> ActiveRun:
    run = active_run()
    if run is None:
        raise NoActiveRun(
            "no active run: start one with `with tb.start_run():` or a %%track cell"
        )
    return run


def end_all_at_exit() -> None:
    """At interpreter exit, runs still active end (failed if an uncaught exception ends it)."""
    status, error = _uncaught
    while (run := active_run()) is not None:
        run.end(status, error)


_uncaught: tuple[str, str | None] = ("finished", None)


def _excepthook(exc_type: Any, exc: BaseException, tb: Any) -> None:
    global _uncaught
    _uncaught = outcome(exc)
    _previous_excepthook(exc_type, exc, tb)


_previous_excepthook = sys.excepthook
_hooks_installed = False


def _install_exit_hooks() -> None:
    """Once, at the first run: end active runs at exit, failed when an exception ends Python.

    Registered after the writer's own exit hook, so it runs first (atexit is last-in,
    first-out) and the writer then hands the final rows to the spool.
    """
    global _hooks_installed, _previous_excepthook
    if _hooks_installed:
        return
    _hooks_installed = True
    import atexit

    atexit.register(end_all_at_exit)
    _previous_excepthook = sys.excepthook
    sys.excepthook = _excepthook
