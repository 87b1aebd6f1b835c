"""Single values from DataFrames and DuckDB, as plain Python: is it missing, what is it."""

from __future__ import annotations

from typing import Any


def missing(value: Any) -> bool:
    """None, NaN, NaT or pandas NA: a value a table shows as empty."""
    if value is None:
        return True
    try:
        return bool(value != value)  # only the missing markers differ from themselves
    except (TypeError, ValueError):
        return False


def plain(value: Any) -> Any:
    """numpy scalars as Python values (for formatting and JSON); anything else unchanged."""
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        return value.item()
    return value
