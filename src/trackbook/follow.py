"""``trackbook tail``: follow a run's metrics as they arrive, until it ends.

It polls about once a second with a short connection each time (a connection held open would
lock the writing kernel out of the store), and each poll ingests the spool, so points show up
about a second after they were logged. Points are new when their wall time is at or after the
newest one already shown; the few at exactly that time are told apart by (key, step).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trackbook import ids, reads, textable
from trackbook.errors import RunNotFound
from trackbook.schema import CORE
from trackbook.store import Store

APPEAR_WAIT_S = 5.0  # a full run id not stored yet: wait this long for its first spool file


@dataclass(frozen=True)
class Step:
    """Points of one step that arrived together."""

    step: int
    time: datetime
    values: dict[str, float]

    def line(self) -> str:
        metrics = "  ".join(f"{k} {textable.number(v)}" for k, v in self.values.items())
        return f"{textable.moment(self.time)}  step {self.step:<6d} {metrics}"


@dataclass(frozen=True)
class Ended:
    """The run is no longer running: how it ended."""

    run_id: str
    name: str
    status: str
    duration_s: float | None
    error: str | None

    def line(self) -> str:
        text = f"run {ids.short(self.run_id)} {self.name!r} {self.status}"
        if self.duration_s is not None:
            text += f" after {textable.duration(self.duration_s)}"
        if self.error:
            text += f": {self.error.strip().splitlines()[-1]}"
        return text


def follow(
    run_ref: str,
    *,
    last: int = 10,
    interval: float = 1.0,
    store: str | os.PathLike[str] | Store | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[Step | Ended]:
    """Yield the run's last ``last`` steps, then new steps as they arrive, then one ``Ended``.

    Parameters
    ----------
    run_ref
        Run id, 6+ character prefix, or exact name.
    last
        How many of the steps already stored to show first (0: only new ones).
    interval
        Seconds between polls.
    """
    the_store = reads.reader(store)
    run_id = _resolve(the_store, run_ref, sleep)
    with the_store.reading() as con:
        state = _state(con, run_id)
        shown, newest = _latest(con, run_id, last)
    cursor = _Cursor()
    cursor.advance(newest)
    yield from _steps(shown)
    while state["status"] == "running":
        sleep(interval)
        with the_store.reading() as con:
            state = _state(con, run_id)
            points = cursor.new(_points_since(con, run_id, cursor.time))
        if state["status"] != "running":
            # A run's last points and its status reach the spool in separate files: a poll
            # may see the status first. One more poll, shortly after, collects the rest.
            sleep(min(interval, 0.5))
            with the_store.reading() as con:
                points += cursor.new(_points_since(con, run_id, cursor.time),
                                     skip=_keys(points))
        cursor.advance(points)
        yield from _steps(points)
    yield Ended(run_id, state["name"], state["status"], state["duration_s"], state["error"])


class _Cursor:
    def __init__(self) -> None:
        self.time: datetime | None = None
        self.seen: set[tuple[str, int]] = set()  # points at exactly self.time

    def new(self, points: list[dict[str, Any]], skip: set[tuple[Any, ...]] | None = None
            ) -> list[dict[str, Any]]:
        skip = skip or set()
        return [p for p in points
                if not (p["wall_time"] == self.time and (p["key"], p["step"]) in self.seen)
                and (p["key"], p["step"], p["wall_time"]) not in skip]

    def advance(self, points: list[dict[str, Any]]) -> None:
        for p in points:
            if self.time is None or p["wall_time"] > self.time:
                self.time, self.seen = p["wall_time"], set()
            if p["wall_time"] == self.time:
                self.seen.add((p["key"], p["step"]))


def _keys(points: list[dict[str, Any]]) -> set[tuple[Any, ...]]:
    return {(p["key"], p["step"], p["wall_time"]) for p in points}


def _resolve(store: Store, run_ref: str, sleep: Callable[[float], None]) -> str:
    deadline = time.monotonic() + APPEAR_WAIT_S
    while True:
        try:
            with store.reading() as con:
                return reads.resolve(con, run_ref)
        except RunNotFound:
            # A run started a moment ago is in its process's spool within a second or so.
            complete = len(str(run_ref).strip()) == ids.RUN_ID_LENGTH
            if not complete or time.monotonic() > deadline:
                raise
        sleep(0.25)


def _state(con: Any, run_id: str) -> dict[str, Any]:
    rows = con.execute(
        f"SELECT name, status, duration_s, error FROM {CORE}.run_state WHERE run_id = ?",
        [run_id]).to_arrow_table().to_pylist()
    return rows[0]


def _points_since(con: Any, run_id: str, since: datetime | None) -> list[dict[str, Any]]:
    sql = f"SELECT key, step, value, wall_time FROM {CORE}.points WHERE run_id = ?"
    params: list[Any] = [run_id]
    if since is not None:
        sql += " AND wall_time >= ?"
        params.append(since)
    rows: list[dict[str, Any]] = con.execute(
        sql + " ORDER BY wall_time, step, key", params).to_arrow_table().to_pylist()
    return rows


def _steps(points: list[dict[str, Any]]) -> list[Step]:
    """Points grouped by step, in arrival order (a step logged again later: a new group)."""
    steps: list[Step] = []
    open_steps: dict[int, Step] = {}
    for p in points:
        step = open_steps.get(p["step"])
        if step is None or p["key"] in step.values:
            step = open_steps[p["step"]] = Step(p["step"], p["wall_time"], {})
            steps.append(step)
        step.values[p["key"]] = p["value"]
    return steps


def _latest(con: Any, run_id: str, last: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(the points of the run's ``last`` latest steps, the points at its newest wall time)."""
    shown = con.execute(
        f"""SELECT key, step, value, wall_time FROM {CORE}.points
            WHERE run_id = $run AND step IN (
                SELECT step FROM {CORE}.points WHERE run_id = $run
                GROUP BY step ORDER BY max(wall_time) DESC LIMIT $last)
            ORDER BY wall_time, step, key""", {"run": run_id, "last": last}
    ).to_arrow_table().to_pylist() if last > 0 else []
    newest = con.execute(
        f"""SELECT key, step, wall_time FROM {CORE}.points WHERE run_id = $run
            AND wall_time = (SELECT max(wall_time) FROM {CORE}.points WHERE run_id = $run)""",
        {"run": run_id}).to_arrow_table().to_pylist()
    return shown, newest
