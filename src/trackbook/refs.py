"""What runs refer to by hash: lineage blobs (in the database) and artifact files (beside it).

A bundle carries exactly these for its runs, and ``trackbook gc`` keeps exactly these. Both
must agree, so both ask here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from trackbook.artifacts import BlobStore


def lineage_hashes(documents: Iterable[str | None]) -> set[str]:
    """Hashes of the ``core.blobs`` rows that lineage documents (JSON text) point to."""
    found: set[str] = set()
    for text in documents:
        if not text:
            continue
        try:
            doc = json.loads(text)
        except ValueError:
            continue
        if not isinstance(doc, dict):
            continue
        candidates = [doc.get("environment")]
        for part, key in (("code", "hash"), ("history", "hash"), ("git", "diff")):
            value = doc.get(part)
            if isinstance(value, dict):
                candidates.append(value.get(key))
        found.update(c for c in candidates if isinstance(c, str) and c)
    return found


def artifact_files(rows: Iterable[tuple[str, str]], blobs: BlobStore,
                   extra: dict[str, bytes] | None = None) -> tuple[set[str], set[str]]:
    """(blob hashes, missing hashes) that artifact rows ``(sha256, kind)`` need.

    A folder artifact is a manifest blob listing its files' blobs: both count. ``extra``
    holds manifest contents found elsewhere (a bundle being imported).
    """
    needed: set[str] = set()
    missing: set[str] = set()
    for sha, kind in rows:
        if not sha:
            continue
        needed.add(sha)
        if kind != "folder":
            continue
        content: Any = (extra or {}).get(sha)
        if content is None:
            path = blobs.path_of(sha)
            if not path.is_file():
                missing.add(sha)
                continue
            content = path.read_bytes()
        try:
            entries = json.loads(content)
        except ValueError:
            missing.add(sha)
            continue
        needed.update(e["sha256"] for e in entries if isinstance(e, dict) and "sha256" in e)
    return needed, missing
