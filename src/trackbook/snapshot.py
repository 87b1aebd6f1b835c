"""``tb.get_run``: a snapshot of one run, read in one short connection."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from trackbook import cardview, ids, lineage, live, values
from trackbook.artifacts import BlobStore
from trackbook.errors import RunNotFound
from trackbook.schema import CORE
from trackbook.store import Store


@dataclass(frozen=True)
class Artifact:
    name: str
    kind: str
    size: int
    sha256: str
    path: Path
    created: datetime | None = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class Run:
    """What a run is now: attributes, params, tags, notes, metric summaries, lineage."""

    run_id: str
    name: str
    experiment: str
    status: str
    start_time: datetime
    end_time: datetime | None
    duration_s: float | None
    parent_run_id: str | None
    params: dict[str, Any]
    tags: dict[str, str]
    notes: list[str]
    metric_summary: Any  # pandas.DataFrame
    artifacts: dict[str, Artifact]
    inputs: list[dict[str, Any]]
    lineage: dict[str, Any]
    error: str | None = None
    deleted: bool = False
    host: str | None = None
    user: str | None = None
    _store: Store | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (f"<Run {ids.short(self.run_id)} {self.name!r} experiment={self.experiment!r} "
                f"status={self.status}>")

    @property
    def note(self) -> str:
        """All notes, oldest first."""
        return "\n".join(self.notes)

    @property
    def metrics(self) -> dict[str, float]:
        """Key -> last value."""
        frame = self.metric_summary
        return dict(zip(frame["key"], frame["last"], strict=True))

    @property
    def source(self) -> str | None:
        """The cell or script source the run executed, or None."""
        return (self.lineage.get("code") or {}).get("source")

    def _repr_html_(self) -> str:
        children = self._children()
        if not children:
            return cardview.run_card(self.card_state())
        state = self.card_state()
        keys: list[str] = []
        for child in children:
            keys += [k for k in child["metrics"] if k not in keys]
        state.update(spec=self.params.get("sweep", ""), children=children,
                     metric_keys=keys[:4])
        return cardview.sweep_card(state)

    def _children(self) -> list[dict[str, Any]]:
        """Child runs (a sweep's combinations) as the sweep card shows them."""
        if self._store is None:
            return []
        rows = self._store.rows(
            f"""SELECT r.run_id, r.name, r.status, r.duration_s, m.key, m.last
                FROM {CORE}.run_state r LEFT JOIN main.metric_summary m USING (run_id)
                WHERE r.parent_run_id = ? AND NOT r.deleted
                ORDER BY epoch(r.start_time), r.run_id, m.key""", [self.run_id])
        children: dict[str, dict[str, Any]] = {}
        for run_id, name, status, seconds, key, last in rows:
            child = children.setdefault(run_id, {"name": name, "status": status,
                                                 "elapsed_s": seconds, "metrics": {}})
            if key is not None:
                child["metrics"][key] = last
        return list(children.values())

    def card_state(self) -> dict[str, Any]:
        """What a run card shows (see ``trackbook.cardview``), sparklines included."""
        sparks = self._sparklines()
        metrics = [
            {"key": row["key"], "last": live.shown(row["last"]), "step": int(row["last_step"]),
             "min": _finite(row["min"]), "count": int(row["count"]),
             "spark": sparks.get(row["key"], [])}
            for row in self.metric_summary.to_dict("records")
        ]
        return {"run_id": self.run_id, "name": self.name, "experiment": self.experiment,
                "status": self.status, "elapsed_s": self.duration_s,
                "params": self.params, "metrics": metrics, "error": self.error}

    def _sparklines(self, points: int = live.SPARK_POINTS) -> dict[str, list[list[Any]]]:
        if self._store is None or self.metric_summary.empty:
            return {}
        rows = self._store.rows(
            f"""SELECT key, min(step), avg(value) FILTER (WHERE NOT isnan(value)) FROM (
                    SELECT key, step, value,
                           ntile(?) OVER (PARTITION BY key ORDER BY step) AS bucket
                    FROM {CORE}.points WHERE run_id = ?)
                GROUP BY key, bucket ORDER BY key, 2""", [points, self.run_id])
        sparks: dict[str, list[list[Any]]] = {}
        for key, step, value in rows:
            sparks.setdefault(key, []).append([step, _finite(value)])
        return sparks

    def last_steps(self) -> dict[str, int]:
        frame = self.metric_summary
        return dict(zip(frame["key"], frame["last_step"], strict=True))

    def history(self, key: str) -> Any:
        """Every point of metric ``key``: a DataFrame (step, value, wall_time) in step order."""
        assert self._store is not None
        if key not in set(self.metric_summary["key"]):
            known = ", ".join(sorted(self.metric_summary["key"])) or "none"
            raise KeyError(f"run {ids.short(self.run_id)} has no metric {key!r} (it has: {known})")
        return self._store.arrow(
            f"SELECT step, value, wall_time FROM {CORE}.points WHERE run_id = ? AND key = ? "
            "ORDER BY step, wall_time", [self.run_id, key]
        ).to_pandas()


def load_run(con: Any, store: Store, run_id: str) -> Run:
    state = con.execute(
        f"SELECT name, experiment, status, start_time, end_time, duration_s, parent_run_id, "
        f"error, deleted, host, user_name FROM {CORE}.run_state WHERE run_id = ?", [run_id]
    ).to_arrow_table().to_pylist()
    if not state:
        raise RunNotFound(f"no run {run_id}")
    row = state[0]
    params = {
        key: values.load_param(value, kind)
        for key, value, kind in con.execute(
            "SELECT key, value, type FROM main.params WHERE run_id = ? ORDER BY key", [run_id]
        ).fetchall()
    }
    return Run(
        run_id=run_id, name=row["name"], experiment=row["experiment"], status=row["status"],
        start_time=row["start_time"].astimezone(timezone.utc), end_time=_utc(row["end_time"]),
        duration_s=row["duration_s"], parent_run_id=row["parent_run_id"], params=params,
        tags=dict(con.execute("SELECT key, value FROM main.tags WHERE run_id = ? ORDER BY key",
                              [run_id]).fetchall()),
        notes=[n for (n,) in con.execute(
            f"SELECT note FROM {CORE}.notes_log WHERE run_id = ? ORDER BY time", [run_id]
        ).fetchall()],
        metric_summary=con.execute(
            "SELECT key, last, last_step, min, min_step, max, max_step, count "
            "FROM main.metric_summary WHERE run_id = ? ORDER BY key", [run_id]
        ).to_arrow_table().to_pandas(),
        artifacts=_artifacts(con, store, run_id),
        inputs=_inputs(con, run_id),
        lineage=_lineage(con, run_id, params),
        error=row["error"], deleted=row["deleted"], host=row["host"], user=row["user_name"],
        _store=store,
    )


def _finite(value: Any) -> float | None:
    return float(value) if value is not None and math.isfinite(value) else None


def _utc(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(timezone.utc)


def _artifacts(con: Any, store: Store, run_id: str) -> dict[str, Artifact]:
    rows = con.execute(
        f"""SELECT name, a.kind, a.size, a.sha256, a.created, a.meta FROM (
                SELECT name, arg_max({{'kind': kind, 'size': size, 'sha256': sha256,
                       'created': created, 'meta': meta, 'removed': removed}}, created) AS a
                FROM {CORE}.artifacts_log WHERE run_id = ? GROUP BY name)
            WHERE NOT coalesce(a.removed, false) ORDER BY name""", [run_id]
    ).to_arrow_table().to_pylist()
    blobs = BlobStore(store.artifacts_dir)
    return {
        r["name"]: Artifact(r["name"], r["kind"], r["size"], r["sha256"],
                            blobs.path_of(r["sha256"]), _utc(r["created"]),
                            json.loads(r["meta"]) if r["meta"] else {})
        for r in rows
    }


def _inputs(con: Any, run_id: str) -> list[dict[str, Any]]:
    rows = con.execute(
        "SELECT name, kind, sha256, size, n_rows, n_columns, schema, path FROM main.inputs "
        "WHERE run_id = ? ORDER BY name", [run_id]
    ).to_arrow_table().to_pylist()
    for r in rows:
        r["schema"] = json.loads(r["schema"]) if r["schema"] else None
    return rows


def _blob(con: Any, digest: str | None) -> str | None:
    if not digest:
        return None
    row = con.execute(f"SELECT content FROM {CORE}.blobs WHERE hash = ? LIMIT 1",
                      [digest]).fetchone()
    return row[0] if row else None


def _lineage(con: Any, run_id: str, params: dict[str, Any]) -> dict[str, Any]:
    """The run's lineage with every stored-by-hash part resolved to its content."""
    row = con.execute(
        f"SELECT arg_max(lineage, time) FROM {CORE}.lineage_log WHERE run_id = ?", [run_id]
    ).fetchone()
    doc: dict[str, Any] = json.loads(row[0]) if row and row[0] else {}
    env = _blob(con, doc.get("environment"))
    result: dict[str, Any] = {
        "environment": json.loads(env) if env else None,
        "environment_hash": doc.get("environment"),
        "entry_point": doc.get("entry_point"),
        "inputs": _inputs(con, run_id),
        "seeds": lineage.seeds(params),
    }
    if "code" in doc:
        code = dict(doc["code"])
        code["source"] = _blob(con, code.get("hash"))
        result["code"] = code
    else:
        result["code"] = None
    git = doc.get("git")
    if git:
        git = dict(git)
        git["diff_hash"] = git.get("diff")
        git["diff"] = _blob(con, git.get("diff"))
    result["git"] = git
    history = doc.get("history")
    if history:
        text = _blob(con, history.get("hash"))
        result["history"] = json.loads(text) if text else None
    else:
        result["history"] = None
    for key, value in doc.items():
        result.setdefault(key, value)
    return result
