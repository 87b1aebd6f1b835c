"""trackbook: an experiment tracker that lives inside Jupyter.

``import trackbook as tb``; ``with tb.start_run() as run: run.log(loss=0.3)``; ``tb.runs()``.
Importing this package loads neither pandas, altair nor anywidget: the widgets and plots load
on first use (module ``__getattr__``).
"""

from __future__ import annotations

from typing import Any

from trackbook import location as _location
from trackbook import manage as _manage
from trackbook import run as _run
from trackbook._version import __version__
from trackbook.errors import (
    FilterError,
    NoActiveRun,
    QueryError,
    ReadOnlyQuery,
    RunNotFound,
    StoreBusy,
    StoreError,
    StoreNotFound,
    TrackbookError,
)
from trackbook.leaderboard import leaderboard
from trackbook.manage import delete_runs, rename, restore_runs
from trackbook.reads import experiments, get_run, runs, sql
from trackbook.run import ActiveRun, active_run
from trackbook.session import init
from trackbook.values import allow_secret_keys

__all__ = [
    "ActiveRun", "FilterError", "NoActiveRun", "QueryError", "ReadOnlyQuery", "RunNotFound",
    "StoreBusy", "StoreError", "StoreNotFound", "TrackbookError", "__version__", "active_run",
    "allow_secret_keys", "delete_runs", "experiments", "export_bundle", "get_run",
    "import_bundle", "init", "leaderboard", "log",
    "log_artifact", "log_figure", "log_input", "log_params", "log_table", "log_text", "note",
    "rename", "restore_runs", "runs", "sql", "start_run", "tag",
]


def start_run(name: str | None = None, experiment: str | None = None, params: Any = None,
              tags: Any = None, note: str | None = None, **options: Any) -> Any:
    """Start a run: ``with tb.start_run("baseline", params={"lr": 1e-3}) as run: ...``.

    Without ``with`` it stays active across cells until ``run.end()``. ``resume=ID`` reopens
    a run; a run started while another is active becomes its child.
    """
    if _location.disabled():
        from trackbook.disabled import DisabledRun

        return DisabledRun(name)
    return _run.start_run(name, experiment, params, tags, note, **options)


def _current() -> Any:
    # The common case first and cheap (tb.log sits in training loops): an active run exists.
    # In disabled mode no run is ever active, so the environment is read only when none is.
    try:
        return _run._stack[-1]
    except IndexError:
        if _location.disabled():
            from trackbook.disabled import DisabledRun

            return DisabledRun(None)
        return _run.current()  # raises NoActiveRun with the explanation


def log(data: Any = None, /, step: Any = None, **metrics: Any) -> None:
    """Log metrics to the innermost active run (see ``ActiveRun.log``)."""
    _current().log(data, step=step, **metrics)


def log_params(params: Any = None, /, **more: Any) -> None:
    _current().log_params(params, **more)


def tag(*labels: Any, run: Any = None, **pairs: Any) -> None:
    """Tag the active run, or a finished one with ``run=ID``."""
    if _location.disabled():
        return
    if run is None:
        _run.current().tag(*labels, **pairs)
    else:
        _manage.tag_run(run, _manage.parse_tag_args(labels, pairs))


def note(text: str, *, run: Any = None) -> None:
    """Add a note to the active run, or to a finished one with ``run=ID``."""
    if _location.disabled():
        return
    if run is None:
        _run.current().note(text)
    else:
        _manage.note_run(run, text)


def log_artifact(path: Any, name: str | None = None) -> Any:
    return _current().log_artifact(path, name)


def log_figure(fig: Any, name: str | None = None) -> Any:
    return _current().log_figure(fig, name)


def log_table(table: Any, name: str) -> Any:
    return _current().log_table(table, name)


def log_text(text: str, name: str) -> Any:
    return _current().log_text(text, name)


def log_input(name: str, data: Any) -> Any:
    return _current().log_input(name, data)


_LAZY = {
    "plot": ("trackbook.plots", None),
    "panel": ("trackbook.panelwidget", "panel"),
    "compare": ("trackbook.panelwidget", "compare"),
    "diff": ("trackbook.rundiff", "diff"),
    "code_diff": ("trackbook.rundiff", "code_diff"),
    "export_summary": ("trackbook.export", "export_summary"),
    "export_bundle": ("trackbook.bundle", "export_bundle"),
    "import_bundle": ("trackbook.bundle", "import_bundle"),
}


def __getattr__(name: str) -> Any:
    """Heavy parts (widgets, Altair plots, export) load on first use."""
    if name not in _LAZY:
        raise AttributeError(f"module 'trackbook' has no attribute {name!r}")
    import importlib

    module_name, attr = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attr is None else getattr(module, attr)
    globals()[name] = value
    return value


from trackbook import altair_hook as _altair_hook  # noqa: E402 - after the API it may use

_altair_hook.install()


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext trackbook``: the magics (``%%track``, ``%trackbook``)."""
    from trackbook.magics import load_ipython_extension as load

    load(ipython)
