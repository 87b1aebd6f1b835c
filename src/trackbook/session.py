"""Process-wide settings: which store and experiment calls use when none is given."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from trackbook import location
from trackbook.store import Store

_lock = threading.Lock()
_settings: dict[str, str | None] = {"store": None, "experiment": None}
_stores: dict[str, Store] = {}


def init(
    store: str | os.PathLike[str] | None = None,
    experiment: str | None = None,
    data_path: str | os.PathLike[str] | None = None,
) -> Store:
    """Choose the store (a path; made absolute now) and the default experiment.

    Parameters
    ----------
    store
        Path of the ``.duckdb`` file. Default: ``$TRACKBOOK_STORE``, else ``./trackbook.duckdb``.
    experiment
        Experiment for runs that name none. Default: the notebook's file name, else ``default``.
    data_path
        For team stores (DuckLake): where the shared Parquet data lives.

    Returns
    -------
    Store
        The store now in use; nothing is opened or created until something is written.
    """
    if data_path is not None and not str(store or "").startswith(location.DUCKLAKE_PREFIX):
        raise ValueError("data_path is for team stores (store='ducklake:...') only")
    with _lock:
        if store is not None:
            _settings["store"] = location.resolve(store)
        if experiment is not None:
            _settings["experiment"] = check_experiment(experiment)
    return current_store()


def check_experiment(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"experiment name must be a non-empty string, got {name!r}")
    return name.strip()


def store_for(path: str | os.PathLike[str] | None) -> Store:
    resolved = location.resolve(path) if path is not None else None
    resolved = resolved or _settings["store"] or location.default_store()
    with _lock:
        store = _stores.get(resolved)
        if store is None:
            store = _stores[resolved] = Store(resolved)
        return store


def current_store() -> Store:
    return store_for(None)


def current_experiment() -> str | None:
    """The experiment set with ``tb.init`` or ``%trackbook experiment``, else None."""
    return _settings["experiment"]


def default_experiment(notebook: str | None) -> str:
    if _settings["experiment"]:
        return _settings["experiment"]
    if notebook:
        return Path(notebook).stem
    return "default"
