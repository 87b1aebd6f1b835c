"""Where the store lives: the file, and the folders that sit beside it."""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_NAME = "trackbook.duckdb"
ENV_STORE = "TRACKBOOK_STORE"
DUCKLAKE_PREFIX = "ducklake:"


def default_store() -> str:
    """``$TRACKBOOK_STORE``, else ``./trackbook.duckdb``, made absolute now."""
    return resolve(os.environ.get(ENV_STORE) or DEFAULT_NAME)


def resolve(store: str | os.PathLike[str]) -> str:
    text = os.fspath(store)
    if text.startswith(DUCKLAKE_PREFIX):
        return text
    return str(Path(text).expanduser().absolute())


def artifacts_dir(store: str) -> Path:
    return Path(store + ".artifacts")


def spool_dir(store: str) -> Path:
    return Path(store + ".spool")


def nearest_store(start: Path) -> Path | None:
    """The closest ``trackbook.duckdb`` in ``start`` or a parent folder, for error messages."""
    for folder in [start, *start.parents]:
        candidate = folder / DEFAULT_NAME
        if candidate.is_file():
            return candidate
    return None


def disabled() -> bool:
    """``TRACKBOOK_MODE=disabled`` makes every call a no-op."""
    return os.environ.get("TRACKBOOK_MODE", "").lower() == "disabled"
