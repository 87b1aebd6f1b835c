"""``tb.diff``: what differs between two runs, section by section.

Params, metrics (last values), tags, code, environment (python, platform, packages, git) and
inputs. The answer to "what changed?" between a good run and a bad one, as a DataFrame, plus
:func:`code_diff` for the cell or script source as a unified diff.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterator
from typing import Any

from trackbook import ids, reads
from trackbook.store import Store

SECTIONS = ("params", "metrics", "tags", "code", "environment", "inputs")
_MISSING = object()


def _snapshot(run: Any, store: str | os.PathLike[str] | Store | None) -> Any:
    if hasattr(run, "lineage") and hasattr(run, "metric_summary"):
        return run  # already a Run snapshot
    run_id = run.run_id if hasattr(run, "run_id") else run
    return reads.get_run(str(run_id), store=store)


def _same(a: Any, b: Any) -> bool:
    """Equal as a user means it: 1 == 1.0, but True is not 1, and NaN equals NaN."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def _pairs(a: dict[str, Any], b: dict[str, Any]) -> Iterator[tuple[str, Any, Any]]:
    for key in sorted(set(a) | set(b)):
        yield key, a.get(key, _MISSING), b.get(key, _MISSING)


def _environment(run: Any) -> dict[str, Any]:
    env = run.lineage.get("environment") or {}
    out = {k: env.get(k) for k in ("python", "implementation", "platform", "hostname")
           if env.get(k) is not None}
    for name, version in sorted((env.get("packages") or {}).items()):
        out[f"packages.{name}"] = version
    git = run.lineage.get("git") or {}
    for key in ("commit", "branch", "dirty"):
        if git.get(key) is not None:
            out[f"git.{key}"] = git[key]
    if git.get("diff_hash"):
        out["git.diff"] = git["diff_hash"][:12]
    return out


def _code(run: Any) -> dict[str, Any]:
    code = run.lineage.get("code") or {}
    out = {"hash": code.get("hash"), "source": code.get("source")}
    if code.get("notebook"):
        out["notebook"] = code["notebook"]
    return {k: v for k, v in out.items() if v is not None}


def _inputs(run: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in run.inputs:
        out[f"{item['name']}.sha256"] = item.get("sha256")
        for field in ("n_rows", "n_columns", "size"):
            if item.get(field) is not None:
                out[f"{item['name']}.{field}"] = item[field]
    return out


def sections(run: Any) -> dict[str, dict[str, Any]]:
    """A run's comparable facts, per section (see :data:`SECTIONS`)."""
    return {"params": dict(run.params), "metrics": dict(run.metrics), "tags": dict(run.tags),
            "code": _code(run), "environment": _environment(run), "inputs": _inputs(run)}


def diff(a: Any, b: Any, *, all: bool = False,
         store: str | os.PathLike[str] | Store | None = None) -> Any:
    """What differs between runs ``a`` and ``b`` (ids, prefixes, names or ``Run`` objects).

    Parameters
    ----------
    all
        Also list what is equal (then every param, metric, tag... appears).

    Returns
    -------
    pandas.DataFrame
        ``section, key, a, b``; a value one run lacks is ``None``. ``frame.attrs`` holds the
        two run ids. For the source as a unified diff, see :func:`code_diff`.
    """
    import pandas as pd

    run_a, run_b = _snapshot(a, store), _snapshot(b, store)
    facts_a, facts_b = sections(run_a), sections(run_b)
    rows = []
    for section in SECTIONS:
        for key, x, y in _pairs(facts_a[section], facts_b[section]):
            if all or not _same(x, y):
                rows.append({"section": section, "key": key,
                             "a": None if x is _MISSING else x,
                             "b": None if y is _MISSING else y})
    frame = pd.DataFrame(rows, columns=["section", "key", "a", "b"])
    frame.attrs.update(a=run_a.run_id, b=run_b.run_id)
    return frame


def code_diff(a: Any, b: Any, *, context: int = 3,
              store: str | os.PathLike[str] | Store | None = None) -> str:
    """The source of run ``a`` against run ``b`` as a unified diff ('' when they are equal)."""
    run_a, run_b = _snapshot(a, store), _snapshot(b, store)
    source_a, source_b = run_a.source or "", run_b.source or ""
    lines = difflib.unified_diff(
        source_a.splitlines(keepends=True), source_b.splitlines(keepends=True),
        fromfile=f"{ids.short(run_a.run_id)} {run_a.name}",
        tofile=f"{ids.short(run_b.run_id)} {run_b.name}", n=context)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)
