"""Changing finished runs: delete, restore, rename, tag, note. Each change is an appended row."""

from __future__ import annotations

import os
import time
from typing import Any

from trackbook import queries, reads, run, spool, values
from trackbook.store import Store

StoreArg = str | os.PathLike[str] | Store | None


def _append(store: Store, table: str, rows: list[dict[str, Any]]) -> None:
    if rows:
        store.write_tables({table: spool.rows_to_arrow(table, rows)})


def _select_ids(con: Any, where: str | None, ids: Any, *, deleted: bool) -> list[str]:
    if where is None and ids is None:
        raise ValueError("say which runs: where='...' or ids=[...]")
    chosen: list[str] = []
    if ids is not None:
        chosen += [reads.resolve(con, i) for i in ([ids] if isinstance(ids, str) else ids)]
    if where is not None:
        sql, params = queries.select_runs(where, include_deleted=True)
        matched = con.execute(f"SELECT run_id, deleted FROM ({sql})", params).fetchall()
        chosen += [run_id for run_id, is_deleted in matched if is_deleted == deleted]
    return list(dict.fromkeys(chosen))


def _with_descendants(con: Any, run_ids: list[str]) -> list[str]:
    """A sweep's children go (and come back) with it."""
    if not run_ids:
        return []
    rows = con.execute(
        f"""WITH RECURSIVE tree(run_id) AS (
                SELECT unnest(?::VARCHAR[])
                UNION SELECT r.run_id FROM {queries.RUNS} r JOIN tree t
                      ON r.parent_run_id = t.run_id)
            SELECT run_id FROM tree""", [run_ids]
    ).fetchall()
    return list(dict.fromkeys([*run_ids, *(r for (r,) in rows)]))


def _set_deleted(where: str | None, ids: Any, deleted: bool, store: StoreArg) -> list[str]:
    the_store = reads.reader(store)
    with the_store.reading() as con:
        chosen = _with_descendants(con, _select_ids(con, where, ids, deleted=not deleted))
    now = time.time()
    _append(the_store, "run_deletions",
            [{"run_id": r, "deleted": deleted, "time": now} for r in chosen])
    return chosen


def delete_runs(where: str | None = None, ids: Any = None, *, store: StoreArg = None) -> list[str]:
    """Hide runs (and their children) from every view; ``restore_runs`` brings them back.

    Returns the ids deleted. Their data stays in the store until ``trackbook gc``.
    """
    return _set_deleted(where, ids, True, store)


def restore_runs(where: str | None = None, ids: Any = None, *, store: StoreArg = None
                 ) -> list[str]:
    """Bring deleted runs (and their children) back. Returns the ids restored."""
    return _set_deleted(where, ids, False, store)


def _resolve_one(store: Store, run_ref: Any) -> str:
    if isinstance(run_ref, run.ActiveRun) or hasattr(run_ref, "run_id"):
        return str(run_ref.run_id)
    with store.reading() as con:
        return reads.resolve(con, run_ref)


def rename(run_ref: Any, name: str, *, store: StoreArg = None) -> str:
    """Give a run a new name (the old one stays in its history)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError("a run name must be non-empty text")
    the_store = reads.reader(store)
    run_id = _resolve_one(the_store, run_ref)
    _append(the_store, "run_names", [{"run_id": run_id, "name": name.strip(),
                                      "time": time.time()}])
    active = run.active_run()
    if active is not None and active.run_id == run_id:
        active.name = name.strip()
    return run_id


def tag_run(run_ref: Any, tags: dict[str, str], *, store: StoreArg = None,
            removed: bool = False) -> str:
    the_store = reads.reader(store)
    run_id = _resolve_one(the_store, run_ref)
    now = time.time()
    _append(the_store, "tags_log", [{"run_id": run_id, "key": k, "value": v,
                                     "removed": removed, "time": now} for k, v in tags.items()])
    return run_id


def note_run(run_ref: Any, text: str, *, store: StoreArg = None) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a note must be non-empty text")
    the_store = reads.reader(store)
    run_id = _resolve_one(the_store, run_ref)
    _append(the_store, "notes_log", [{"run_id": run_id, "note": text, "time": time.time()}])
    return run_id


def parse_tag_args(labels: tuple[Any, ...], pairs: dict[str, Any]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for label in labels:
        tags.update(values.parse_tags(label))
    tags.update(values.parse_tags(None, **pairs))
    return tags
