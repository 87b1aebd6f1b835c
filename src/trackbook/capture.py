"""Lineage of a run, captured off the caller's thread and stored once by hash.

The environment is captured once per process and again only when site-packages changes; the
environment document, git diffs, cell sources and kernel histories are blobs keyed by their
sha256, so a thousand runs of one notebook store each of them once.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path
from typing import Any

from trackbook import lineage

_env_lock = threading.Lock()
_env_cache: dict[str, Any] = {}  # signature, hash, document
_spooled_blobs: set[tuple[str, str]] = set()  # (store, hash) already handed to the spool


def _environment() -> tuple[str, str]:
    """(hash, JSON text) of this process's environment, recaptured when packages change."""
    signature = lineage.environment_signature()
    with _env_lock:
        if _env_cache.get("signature") != signature:
            text = json.dumps(lineage.capture_environment(), sort_keys=True, default=str)
            _env_cache.update(signature=signature, hash=lineage.content_hash(text), text=text)
        return _env_cache["hash"], _env_cache["text"]


def _blob(add: Any, scope: str, kind: str, text: str) -> str:
    digest = lineage.content_hash(text)
    if (scope, digest) not in _spooled_blobs:
        add("blobs", {"hash": digest, "kind": kind, "content": text, "created": time.time()})
        _spooled_blobs.add((scope, digest))
    return digest


def run_lineage(
    add: Any,
    scope: str,
    run_id: str,
    *,
    code: str | None,
    history: list[str],
    notebook: str | None,
    entry: dict[str, Any],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Capture everything slow and queue the blobs plus one ``lineage_log`` row for ``run_id``.

    ``add(table, row)`` queues a row for the spool (the writer's ``add``); ``scope`` names the
    store, so a blob is queued once per store.
    """
    env_hash, env_text = _environment()
    _blob(add, scope, "environment", env_text)
    doc: dict[str, Any] = {"environment": env_hash, "entry_point": entry}
    if code is not None:
        doc["code"] = {"hash": _blob(add, scope, "code", code), "notebook": notebook}
    if history:
        doc["history"] = {"hash": _blob(add, scope, "history", json.dumps(history)),
                          "cells": len(history)}
    git_dir = Path(notebook).parent if notebook else None  # None: the current folder
    git = lineage.capture_git(git_dir)
    if git:
        diff = git.pop("diff", "") or ""
        git["diff"] = _blob(add, scope, "diff", diff) if diff else None
        doc["git"] = git
    for key, value in (extra or {}).items():
        if isinstance(value, dict) and isinstance(doc.get(key), dict):
            doc[key].update(value)
        else:
            doc[key] = value
    add("lineage_log", {"run_id": run_id, "lineage": json.dumps(doc, default=str),
                        "time": time.time()})
    return doc


def script_source(entry: dict[str, Any], cap: int = 1_000_000) -> str | None:
    """A script's own source, as the code of runs it starts (capped)."""
    path = entry.get("path")
    if entry.get("kind") != "script" or not path or not str(path).endswith(".py"):
        return None
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(cap)
    except OSError:
        return None
