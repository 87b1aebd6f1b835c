"""How the summary writes values, shared by the HTML page and the Markdown.

Plain text only (no escaping: each renderer escapes for its own format). Durations and status
colours come from :mod:`trackbook.cardview`, so a run reads the same in a notebook card and in
a summary.
"""

from __future__ import annotations

import json
import math
from datetime import datetime
from typing import Any

from trackbook.cardview import duration

__all__ = ["duration", "metric", "param", "size", "sort_key", "tag", "when"]


def metric(value: Any) -> str:
    """4 significant digits (enough to tell runs apart in a leaderboard); '–' when missing."""
    if value is None:
        return "–"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(number):
        return "–"
    if math.isinf(number):
        return "∞" if number > 0 else "-∞"
    if number.is_integer() and 1e4 <= abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:.4g}"


def param(value: Any) -> str:
    """A param as typed: ``0.0003``, ``1e-05``, ``True``, ``adam``, ``[64, 32]``."""
    if value is None:
        return "None"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.6g}"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def sort_key(value: Any) -> str:
    """What a sortable cell sorts by: the raw number when it is one, else the shown text."""
    if isinstance(value, bool) or value is None:
        return "" if value is None else str(int(value))
    if isinstance(value, (int, float)):
        number = float(value)
        if math.isnan(number):
            return ""
        if math.isinf(number):  # as JavaScript's Number() reads it
            return "Infinity" if number > 0 else "-Infinity"
        return repr(number)
    return param(value)


def when(moment: datetime | None) -> str:
    """``2026-03-01 14:03 UTC``."""
    return "–" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def size(n_bytes: int | None) -> str:
    if n_bytes is None:
        return "–"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes} B"


def tag(key: str, value: str) -> str:
    """A label alone (``baseline``), a pair as ``owner=ana``."""
    return key if value == "" else f"{key}={value}"
