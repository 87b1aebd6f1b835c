"""What a run keeps besides numbers: files, figures, tables, text and the data sets it used.

A mixin of :class:`trackbook.run.ActiveRun`: each method stores content-addressed bytes beside
the store (synchronously: the file may change right after the call) and queues one row.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from trackbook import encode
from trackbook.artifacts import BlobStore


class FileMethods:
    """Artifact and input logging; the host class provides ``run_id``, ``store`` and ``_add``."""

    run_id: str
    store: Any

    def _add(self, table: str, row: dict[str, Any]) -> None:  # pragma: no cover - see ActiveRun
        raise NotImplementedError

    # -- artifacts and inputs ------------------------------------------------------------------

    def log_artifact(self, path: str | Path, name: str | None = None) -> dict[str, Any]:
        """Attach a file or folder (copied in, content-addressed, deduplicated)."""
        source = Path(path)
        blobs = self._blobs()
        if source.is_dir():
            sha, size, manifest = blobs.put_folder(source)
            return self._artifact(name or source.name, "folder", sha, size,
                                  {"source": str(source.absolute()), "files": len(manifest)})
        if not source.is_file():
            raise FileNotFoundError(f"log_artifact: {source} does not exist")
        sha, size = blobs.put_file(source)
        return self._artifact(name or source.name, "file", sha, size,
                              {"source": str(source.absolute())})

    def log_figure(self, fig: Any, name: str | None = None) -> dict[str, Any]:
        """Save a matplotlib, Altair, plotly or PIL figure as an artifact."""
        content, suffix, media_type = encode.figure(fig)
        return self._artifact_bytes(_with_suffix(name or "figure", suffix), "figure", content,
                                    {"media_type": media_type})

    def log_table(self, table: Any, name: str) -> dict[str, Any]:
        """Save a DataFrame (or Arrow table, list of dicts) as a Parquet artifact."""
        content, meta = encode.table(table)
        return self._artifact_bytes(_with_suffix(name, ".parquet"), "table", content, meta)

    def log_text(self, text: str, name: str) -> dict[str, Any]:
        """Save text (a report, a config) as an artifact named ``name``."""
        if not isinstance(text, str):
            raise TypeError(f"log_text: expected str, got {type(text).__name__}")
        return self._artifact_bytes(name, "text", text.encode("utf-8"),
                                    {"media_type": "text/plain; charset=utf-8"})

    def log_input(self, name: str, data: Any) -> dict[str, Any]:
        """Record a data set the run used: a path, DataFrame, array or Arrow table."""
        if not isinstance(name, str) or not name:
            raise ValueError("log_input: give the data set a name, e.g. log_input('train', df)")
        info = encode.dataset(data)
        row = {"run_id": self.run_id, "name": name, "time": time.time(), **info}
        row["schema"] = _json(info.get("schema"))
        self._add("inputs_log", row)
        return {"name": name, **info}

    def _artifact_bytes(self, name: str, kind: str, content: bytes,
                        meta: dict[str, Any]) -> dict[str, Any]:
        sha, size = self._blobs().put_bytes(content)
        return self._artifact(name, kind, sha, size, meta)

    def _artifact(self, name: str, kind: str, sha: str, size: int,
                  meta: dict[str, Any]) -> dict[str, Any]:
        _check_artifact_name(name)
        self._add("artifacts_log", {"run_id": self.run_id, "name": name, "kind": kind,
                                    "size": size, "sha256": sha, "created": time.time(),
                                    "meta": _json(meta), "removed": False})
        return {"name": name, "kind": kind, "size": size, "sha256": sha,
                "path": str(self._blobs().path_of(sha))}

    def _blobs(self) -> BlobStore:
        return BlobStore(self.store.artifacts_dir)


def _check_artifact_name(name: str) -> None:
    """Names become paths on download: relative, no `..`, no empty parts."""
    parts = name.split("/") if isinstance(name, str) else []
    if not parts or any(p in ("", ".", "..") for p in parts) or "\0" in name or "\\" in name:
        raise ValueError(
            f"artifact name {name!r} is not a usable relative file name (no leading '/', "
            "no '..', no empty parts)"
        )


def _with_suffix(name: str, suffix: str) -> str:
    return name if name.endswith(suffix) else name + suffix


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str)
