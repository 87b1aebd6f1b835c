"""Grouped long rows (run position, key, value) to one column per key, with numpy.

DuckDB groups by (run, key) quickly, but a pivot written as one FILTER aggregate per key costs
keys x rows; scattering the grouped rows into a (key, run) grid here costs rows. Keys come
back as text and are numbered here by Arrow's dictionary encoding, which is cheaper than a
join on a key table in SQL (DuckDB then builds its hash table on the wrong side).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any


class Keys:
    """The distinct keys of grouped rows (an Arrow table with columns ``i``, ``key``, ...).

    ``names`` are sorted; ``codes[r]`` is the position in ``names`` of row ``r``'s key.
    """

    def __init__(self, long: Any) -> None:
        import numpy as np
        import pyarrow.compute as pc

        encoded = pc.dictionary_encode(long.column("key")).combine_chunks()
        names = encoded.dictionary.to_pylist()
        order = sorted(range(len(names)), key=names.__getitem__)
        rank = np.empty(len(names), dtype=np.int64)
        rank[order] = np.arange(len(names))
        self.names: list[str] = [names[j] for j in order]
        self.codes = rank[encoded.indices.to_numpy(zero_copy_only=False)]

    def reduce_or(self, bits: Any) -> Any:
        """Per key, the bitwise OR of small non-negative integers over its rows."""
        import numpy as np

        values = _numpy(bits, 0).astype(np.int64)
        out = np.zeros(len(self.names), dtype=np.int64)
        for j in range(int(values.max(initial=0)).bit_length()):
            has = np.bincount(self.codes, weights=(values >> j) & 1, minlength=len(self.names))
            out |= (has > 0).astype(np.int64) << j
        return out

    def columns(self, prefix: str, n: int, long: Any, kinds: Mapping[str, str],
                skip: Collection[str] = ()) -> dict[str, Any]:
        """``{prefix + key: array of length n}`` from the ``i``, ``gone``, ``value`` columns.

        ``kinds`` maps each key to float, int, bool or object; int and bool fall back to
        float and object when some run lacks the key, as pandas does for missing values.
        Rows whose ``gone`` is true (a param set to None, a tag removed) count as missing.
        """
        import numpy as np

        if not self.names:
            return {}
        keep = ~_numpy(long.column("gone"), False).astype(bool)
        codes = self.codes[keep]
        positions = _numpy(long.column("i"), 0).astype(np.int64)[keep]
        text = any(kinds[k] == "object" for k in self.names if k not in skip)
        raw = _numpy(long.column("value"), None if text else np.nan)[keep]
        grid = np.full((len(self.names), n), None if text else np.nan,
                       dtype=object if text else np.float64)
        grid[codes, positions] = raw
        counts = np.bincount(codes, minlength=len(self.names))
        out = {}
        for k, name in enumerate(self.names):
            if name not in skip:
                out[prefix + name] = _typed(grid[k], kinds[name], counts[k] == n)
        return out


def _numpy(column: Any, null: Any) -> Any:
    """An Arrow column as a numpy array, nulls replaced by ``null``."""
    if column.null_count:
        import pyarrow as pa

        column = column.fill_null(pa.scalar(null, column.type)) if null is not None else column
    return column.to_numpy()


def _typed(values: Any, kind: str, full: bool) -> Any:
    import numpy as np

    if kind == "float" or (kind == "int" and not full):
        return values
    if kind == "int":
        return values.astype(np.int64)
    if kind == "bool" and full:
        return values != 0
    if kind == "bool":
        column = np.full(len(values), None, dtype=object)
        present = ~np.isnan(values)
        column[present] = [bool(v) for v in values[present]]
        return column
    return values
