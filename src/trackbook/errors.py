"""Exception types a user can meet. Each message says what was wrong and what to do."""

from __future__ import annotations


class TrackbookError(Exception):
    """Base class of every error trackbook raises on purpose."""


class NoActiveRun(TrackbookError):
    """A module-level call (``tb.log``...) found no active run."""


class StoreError(TrackbookError):
    """The store cannot be used: missing, not a DuckDB file, from a newer version, busy."""


class StoreNotFound(StoreError):
    """A read found no store at the path it looked at."""


class StoreBusy(StoreError):
    """Another process held the store for longer than the wait allowed."""


class RunNotFound(TrackbookError, LookupError):
    """No run matches an id or prefix, or a prefix matches several."""


class FilterError(TrackbookError, ValueError):
    """A filter (``where=``) could not be parsed; the message shows the position."""

    def __init__(self, message: str, text: str = "", position: int | None = None) -> None:
        self.reason = message
        self.text = text
        self.position = position
        if position is not None and text:
            caret = " " * (position + 2) + "^"
            message = f"{message} at position {position}\n  {text}\n{caret}"
        super().__init__(message)


class ReadOnlyQuery(TrackbookError, ValueError):
    """``tb.sql`` was given a statement that is not a read."""


class QueryError(TrackbookError, ValueError):
    """``tb.sql`` got SQL DuckDB could not run; the message is DuckDB's, with the view names."""
