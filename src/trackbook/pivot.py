"""Long rows (run position, key, value) to one column per key, with numpy.

DuckDB groups by (run, key) quickly, but a pivot written as one FILTER aggregate per key costs
keys x rows; scattering the grouped rows into arrays here costs rows.
"""

from __future__ import annotations

from typing import Any


def bounds(codes: Any, n_groups: int) -> Any:
    """Where each group starts in sorted integer codes 0..n_groups-1 (and the end)."""
    import numpy as np

    return np.searchsorted(codes, np.arange(n_groups + 1))


def scatter(n: int, positions: Any, values: Any, *, kind: str) -> Any:
    """An array of length ``n`` with ``values`` at ``positions``, missing elsewhere.

    ``kind`` is float, int, bool or object; int and bool fall back to float and object when
    some run lacks the key, as pandas does for missing values.
    """
    import numpy as np

    full = len(positions) == n
    if hasattr(values, "mask"):  # numpy masked arrays from DuckDB: NULLs become missing
        values = values.filled(np.nan) if kind in ("float", "int") else values.filled(None)
    if kind == "float" or (kind == "int" and not full):
        column = np.full(n, np.nan)
        column[positions] = values
        return column
    if kind == "int":
        column = np.zeros(n, dtype=np.int64)
        column[positions] = values
        return column
    if kind == "bool" and full:
        column = np.zeros(n, dtype=bool)
        column[positions] = np.asarray(values, dtype=float) != 0
        return column
    if kind == "bool":
        values = [bool(v) for v in values]
    column = np.full(n, None, dtype=object)
    column[positions] = values
    return column
