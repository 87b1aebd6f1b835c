"""Turning the objects a run logs (figures, tables, data sets) into bytes and descriptions.

Duck-typed on purpose: matplotlib, Altair, plotly, PIL and pandas are recognised by their
methods, so none of them is imported here.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path
from typing import Any

FOLDER_HASH_CAP = 256 * 1024 * 1024  # above this, a folder input is hashed from a manifest


def figure(fig: Any) -> tuple[bytes, str, str]:
    """(content, file suffix, media type) for a matplotlib, Altair, plotly or PIL figure."""
    if hasattr(fig, "savefig"):  # matplotlib Figure
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
        return buf.getvalue(), ".png", "image/png"
    if hasattr(fig, "figure") and hasattr(fig.figure, "savefig"):  # matplotlib Axes
        return figure(fig.figure)
    if hasattr(fig, "to_dict") and hasattr(fig, "mark_point"):  # Altair chart
        spec = json.dumps(fig.to_dict(), default=str).encode()
        return spec, ".vl.json", "application/vnd.vegalite+json"
    if hasattr(fig, "to_plotly_json") and hasattr(fig, "to_json"):
        return fig.to_json().encode(), ".plotly.json", "application/vnd.plotly.v1+json"
    if hasattr(fig, "save") and hasattr(fig, "mode") and hasattr(fig, "size"):  # PIL image
        buf = io.BytesIO()
        fig.save(buf, format="PNG")
        return buf.getvalue(), ".png", "image/png"
    png = getattr(fig, "_repr_png_", None)
    if png is not None and (data := png()):
        return data, ".png", "image/png"
    raise TypeError(
        f"log_figure: cannot save a {type(fig).__name__}; pass a matplotlib Figure or Axes, "
        "an Altair chart, a plotly figure or a PIL image"
    )


def _to_arrow(table: Any) -> Any:
    import pyarrow as pa

    if isinstance(table, pa.Table):
        return table
    if hasattr(table, "to_arrow"):  # polars, duckdb relations
        return table.to_arrow()
    if hasattr(table, "columns") and hasattr(table, "dtypes"):  # pandas
        return pa.Table.from_pandas(table, preserve_index=_keeps_index(table))
    if isinstance(table, list):
        return pa.Table.from_pylist(table)
    if isinstance(table, dict):
        return pa.table(table)
    raise TypeError(
        f"expected a DataFrame, an Arrow table, a list of dicts or a dict of columns, "
        f"got {type(table).__name__}"
    )


def _keeps_index(df: Any) -> bool:
    index = df.index
    return not (type(index).__name__ == "RangeIndex" and index.name is None)


def table(data: Any) -> tuple[bytes, dict[str, Any]]:
    """Parquet bytes of a table, with its shape and column types."""
    import pyarrow.parquet as pq

    arrow = _to_arrow(data)
    buf = io.BytesIO()
    pq.write_table(arrow, buf, compression="zstd")
    meta = {"rows": arrow.num_rows, "columns": arrow.num_columns,
            "schema": {f.name: str(f.type) for f in arrow.schema}}
    return buf.getvalue(), meta


def dataset(data: Any) -> dict[str, Any]:
    """Describe a data set a run used: kind, sha256, size, rows/columns and schema where known."""
    if isinstance(data, (str, os.PathLike)):
        path = Path(data)
        if path.is_dir():
            return _folder(path)
        if path.is_file():
            return _file(path)
        raise FileNotFoundError(f"log_input: {path} does not exist")
    if hasattr(data, "columns") and hasattr(data, "dtypes") and hasattr(data, "memory_usage"):
        return _dataframe(data)
    if hasattr(data, "shape") and hasattr(data, "tobytes"):  # numpy array
        shape = tuple(data.shape)
        return {"kind": "array", "sha256": hashlib.sha256(data.tobytes()).hexdigest(),
                "size": int(data.nbytes), "n_rows": shape[0] if shape else 1,
                "n_columns": shape[1] if len(shape) > 1 else None,
                "schema": {"dtype": str(data.dtype), "shape": list(shape)}}
    arrow = _to_arrow(data)
    return _arrow(arrow)


def _file(path: Path) -> dict[str, Any]:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    info: dict[str, Any] = {"kind": "file", "sha256": digest.hexdigest(),
                            "size": path.stat().st_size, "path": str(path.absolute())}
    if path.suffix.lower() == ".parquet":
        info.update(_parquet_shape(path))
    return info


def _parquet_shape(path: Path) -> dict[str, Any]:
    try:
        import pyarrow.parquet as pq

        meta = pq.read_metadata(path)
        schema = pq.read_schema(path)
    except Exception:
        return {}
    return {"n_rows": meta.num_rows, "n_columns": meta.num_columns,
            "schema": {f.name: str(f.type) for f in schema}}


def _folder(path: Path) -> dict[str, Any]:
    files = sorted(p for p in path.rglob("*") if p.is_file())
    total = sum(p.stat().st_size for p in files)
    digest = hashlib.sha256()
    by_content = total <= FOLDER_HASH_CAP
    for p in files:
        stat = p.stat()
        digest.update(p.relative_to(path).as_posix().encode() + b"\0")
        if by_content:
            digest.update(_file(p)["sha256"].encode())
        else:
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return {"kind": "folder", "sha256": digest.hexdigest(), "size": total,
            "path": str(path.absolute()), "n_rows": len(files), "n_columns": None,
            "schema": {"hashed_by": "content" if by_content else "manifest (path, size, mtime)"}}


def _dataframe(df: Any) -> dict[str, Any]:
    import pandas as pd

    hashed = pd.util.hash_pandas_object(df, index=True).to_numpy()
    digest = hashlib.sha256(hashed.tobytes())
    digest.update(json.dumps([str(c) for c in df.columns]).encode())
    return {"kind": "dataframe", "sha256": digest.hexdigest(),
            "size": int(df.memory_usage(deep=False).sum()), "n_rows": len(df),
            "n_columns": len(df.columns),
            "schema": {str(c): str(t) for c, t in df.dtypes.items()}}


def _arrow(arrow: Any) -> dict[str, Any]:
    digest = hashlib.sha256()
    for batch in arrow.to_batches():
        for column in batch.columns:
            for buffer in column.buffers():
                if buffer is not None:
                    digest.update(buffer)
    return {"kind": "table", "sha256": digest.hexdigest(), "size": arrow.nbytes,
            "n_rows": arrow.num_rows, "n_columns": arrow.num_columns,
            "schema": {f.name: str(f.type) for f in arrow.schema}}
