"""Values and tables for a terminal: numbers for reading, local short times, fitted widths.

Pure functions of plain Python values (no pandas here): the CLI turns a DataFrame into columns
of cells first. A table wider than the terminal keeps its leftmost columns and says how many
were left out, rather than wrapping into something unreadable.
"""

from __future__ import annotations

import math
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

DEFAULT_WIDTH = 100
MAX_CELL = 28  # a text cell wider than this is cut with an ellipsis
GAP = "  "
ELLIPSIS = "…"


def terminal_width() -> int:
    """The terminal's width (``COLUMNS`` wins), or 100 when there is no terminal."""
    return shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns


def number(value: float | int) -> str:
    """A number as a person reads it: 3-4 significant digits, exponents for tiny or huge.

    >>> number(0.000123), number(0.23134), number(1234.5), number(3), number(2.5e7)
    ('1.23e-4', '0.2313', '1234', '3', '2.5e7')
    """
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value) if abs(value) < 10**9 else _exp(float(value))
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "0"
    if abs(value) < 1e-3 or abs(value) >= 1e6:
        return _exp(value)
    if float(value).is_integer() and abs(value) < 1e6:
        return str(int(value))
    text = f"{value:.4g}"
    return text if "e" not in text else f"{value:.0f}"


def _exp(value: float) -> str:
    mantissa, exponent = f"{value:.2e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def moment(value: datetime | None, now: datetime | None = None) -> str:
    """A time in the local zone, short: ``14:03:12`` today, ``11-22 14:03`` this year, else
    ``2025-11-22``."""
    if value is None:
        return ""
    local = value.astimezone() if value.tzinfo else value.replace(tzinfo=timezone.utc).astimezone()
    now = (now or datetime.now(timezone.utc)).astimezone()
    if local.date() == now.date():
        return local.strftime("%H:%M:%S")
    if local.year == now.year:
        return local.strftime("%m-%d %H:%M")
    return local.strftime("%Y-%m-%d")


def duration(seconds: float | None) -> str:
    """``4.2s``, ``3m12s``, ``1h04m``, ``2d03h``."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return ""
    if seconds < 60:
        return f"{seconds:.1f}s" if seconds < 10 else f"{seconds:.0f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours}h{minutes:02d}m"
    days, hours = divmod(hours, 24)
    return f"{days}d{hours:02d}h"


def size(n_bytes: int | None) -> str:
    """``532 B``, ``12.3 kB``, ``4.1 MB`` (powers of 1000, as disks are sold)."""
    if n_bytes is None:
        return ""
    value = float(n_bytes)
    for unit in ("B", "kB", "MB", "GB"):
        if abs(value) < 1000 or unit == "GB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")


def cell(value: Any) -> str:
    """Any value as table text; missing values are empty."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return moment(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return number(value)
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        return cell(value.item())
    text = str(value).replace("\n", " ")
    return text


def cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + ELLIPSIS


@dataclass
class Column:
    title: str
    cells: list[str]
    numeric: bool = False


@dataclass
class Table:
    """What :func:`render` made: the lines, and what did not fit."""

    lines: list[str]
    hidden: list[str]

    def text(self) -> str:
        return "\n".join(self.lines)


def column(title: str, values: Sequence[Any], *, kind: str | None = None) -> Column:
    """A column of cells; ``kind`` ``time``/``duration``/``id`` picks the formatting."""
    if kind == "duration":
        cells = [duration(v) for v in values]
    elif kind == "id":
        cells = ["" if v is None else str(v)[:8] for v in values]
    else:
        cells = [cell(v) for v in values]
    numbers = [v for v in values if v is not None]
    numeric = kind == "duration" or (bool(numbers) and all(
        (isinstance(v, (int, float)) and not isinstance(v, bool)) or hasattr(v, "dtype")
        for v in numbers))
    return Column(title, cells, numeric)


@dataclass
class Lazy:
    """A column formatted only if it is shown (a wide table formats what fits, not all)."""

    title: str
    make: Callable[[], Column]


def _size(c: Column) -> int:
    size = max([len(c.title), *(len(x) for x in c.cells)])
    return size if c.numeric else min(size, max(MAX_CELL, len(c.title)))


def render(columns: Sequence[Column | Lazy], width: int | None = None, *, keep: int = 1
           ) -> Table:
    """Columns side by side, numbers right-aligned, cut to ``width``.

    The first ``keep`` columns are always shown; from the first later column that does not
    fit on, columns are left out, and their titles are returned in ``hidden``.
    """
    width = width or terminal_width()
    shown: list[Column] = []
    sizes: list[int] = []
    used = 0
    for i, item in enumerate(columns):
        column_ = item.make() if isinstance(item, Lazy) else item
        size = _size(column_)
        need = size + (len(GAP) if shown else 0)
        if i >= keep and used + need > width:
            break
        shown.append(column_)
        sizes.append(size)
        used += need
    hidden = [c.title for c in columns[len(shown):]]
    n_rows = max((len(c.cells) for c in shown), default=0)

    def line(texts: list[str]) -> str:
        parts = []
        for c, size, text in zip(shown, sizes, texts, strict=True):
            text = cut(text, size)
            parts.append(text.rjust(size) if c.numeric else text.ljust(size))
        return GAP.join(parts).rstrip()

    lines = [line([c.title for c in shown]), GAP.join("-" * size for size in sizes)]
    lines += [line([c.cells[r] for c in shown]) for r in range(n_rows)]
    return Table(lines, hidden)


def hidden_note(hidden: Sequence[str], what: str = "columns", limit: int = 6) -> str:
    """``3 more columns not shown: a, b, c``."""
    if not hidden:
        return ""
    names = ", ".join(hidden[:limit]) + (", ..." if len(hidden) > limit else "")
    return f"{len(hidden)} more {what} not shown: {names}"
