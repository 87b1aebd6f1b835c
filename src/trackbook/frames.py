"""DataFrames out of the CLI: a table for reading, JSON and CSV for programs.

JSON is strict (RFC 8259): times are ISO 8601 in UTC, and the numbers JSON cannot hold are the
strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"`` (protobuf's JSON mapping does the same).
In a frame from ``tb.runs`` a missing value and NaN are the same thing, so both become null.
CSV keeps full precision (``repr`` of floats) and writes missing values as empty cells.
"""

from __future__ import annotations

import csv
import fnmatch
import functools
import io
import json
import math
from collections.abc import Sequence
from datetime import datetime, timezone
from difflib import get_close_matches
from pathlib import PurePath
from typing import Any

from trackbook import textable

# How the runs table shows its attribute columns; the rest follow in this order of groups.
RUN_COLUMNS = {"run_id": "id", "name": None, "experiment": None, "status": None,
               "start_time": None, "duration_s": "duration"}
TABLE_GROUPS = ("metrics.", "params.", "tags.")


def jsonable(value: Any, *, nan_as_null: bool = False) -> Any:
    """``value`` as something ``json.dumps`` writes as strict JSON."""
    if value is None or isinstance(value, (str, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v, nan_as_null=nan_as_null) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [jsonable(v, nan_as_null=nan_as_null) for v in value]
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        if math.isnan(value):
            return None if nan_as_null else "NaN"
        return "Infinity" if value > 0 else "-Infinity"
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp (NaT is caught below)
        return jsonable(value.to_pydatetime(), nan_as_null=nan_as_null) if value == value \
            else None
    if hasattr(value, "item"):  # numpy scalars
        return jsonable(value.item(), nan_as_null=nan_as_null)
    if _is_missing(value):
        return None
    return str(value)


def _utc(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(
        tzinfo=timezone.utc)


def _is_missing(value: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def records(frame: Any) -> list[dict[str, Any]]:
    """The frame's rows as plain dicts (missing values None)."""
    columns = list(frame.columns)
    rows = []
    for values in frame.itertuples(index=False, name=None):
        rows.append({c: _plain(v) for c, v in zip(columns, values, strict=True)})
    return rows


def _plain(value: Any) -> Any:
    if hasattr(value, "to_pydatetime"):
        return None if value != value else value.to_pydatetime()
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if value is not None and not isinstance(value, (str, bool, int, float, datetime)) \
            and _is_missing(value):
        return None
    return value


def to_json(frame: Any) -> str:
    """A JSON array of objects, one per row."""
    rows = [jsonable(r, nan_as_null=True) for r in records(frame)]
    return json.dumps(rows, indent=2, ensure_ascii=False)


def to_csv(frame: Any) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(list(frame.columns))
    for row in records(frame):
        writer.writerow([_csv_cell(v) for v in row.values()])
    return out.getvalue()


def _csv_cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, datetime):
        return _utc(value).isoformat()
    if isinstance(value, float):
        return repr(value)
    return str(value)


def pick_columns(frame: Any, spec: str | None) -> Any:
    """The columns a ``--columns`` list names, in its order: names or globs (``params.*``).

    An unknown name is an error listing the close matches, so a typo never silently prints
    an empty column.
    """
    if not spec:
        return frame
    available = [str(c) for c in frame.columns]
    chosen: list[str] = []
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        if any(ch in item for ch in "*?["):
            chosen += [c for c in fnmatch.filter(available, item) if c not in chosen]
        elif item in available:
            chosen += [item] if item not in chosen else []
        else:
            close = get_close_matches(item, available, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else (
                f"; columns are: {', '.join(available[:12])}"
                + (", ..." if len(available) > 12 else ""))
            raise ValueError(f"no column {item!r} in the result{hint}")
    return frame[chosen]


def runs_order(columns: Sequence[str]) -> list[str]:
    """The runs table's columns: the attributes people scan, then metrics, params, tags.

    Metrics come before params here (``tb.runs`` puts params first) because a terminal
    cuts columns from the right, and the numbers a run produced are what one looks for.
    """
    names = [c for c in RUN_COLUMNS if c in columns]
    for prefix in TABLE_GROUPS:
        names += [c for c in columns if c.startswith(prefix)]
    return names


def table(frame: Any, *, width: int | None = None, runs: bool = False,
          nan_blank: bool = True) -> textable.Table:
    """The frame as terminal lines; ``runs`` shows ids short and durations as ``3m12s``.

    NaN shows as an empty cell (unless ``nan_blank`` is false): in a DataFrame it is how a
    missing value looks (a run without that metric, a SQL NULL). A label tag (value ``''``)
    shows as a check mark. The first column (the first two for runs: id and name) always
    stays; columns that do not fit are dropped from the right and listed in ``hidden``.
    """
    rows = records(frame)

    def make(name: str) -> textable.Column:
        values = [_blank_nan(r[name]) if nan_blank else r[name] for r in rows]
        if name.startswith("tags."):
            values = [LABEL if v == "" else v for v in values]
        return textable.column(name, values, kind=RUN_COLUMNS.get(name) if runs else None)

    columns = [textable.Lazy(str(name), functools.partial(make, str(name)))
               for name in frame.columns]
    return textable.render(columns, width, keep=2 if runs else 1)


LABEL = "✓"


def _blank_nan(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value
