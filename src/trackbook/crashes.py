"""Runs whose process died on this host read `crashed` at once, not 60 s later.

Every read of the store calls :func:`mark_dead_processes` on its connection (this module
opens none). A run's heartbeats go stale after 60 s whatever its host; this is the faster
path for processes of this host, whose death /proc shows.
"""

from __future__ import annotations

from typing import Any

from trackbook import proc
from trackbook.schema import CORE

# Processes of this host seen gone, as (pid, start ticks): a pid with its start time never
# comes back, so each is looked up in /proc once. Per store, what the last full check saw.
_known_dead: set[tuple[int, int]] = set()
_dead_checked: dict[str, tuple[int, frozenset[tuple[int, int]]]] = {}


def mark_dead_processes(con: Any, path: str) -> None:
    """Runs left `running` by a process of this host that is gone read `crashed` at once.

    Every read does this, so the usual case is one cheap query: the processes of this host
    that ever recorded a `running` status, and the number of status rows. Only when one of
    those processes is gone, and status rows or gone processes changed since the last check
    of this store, are the latest statuses of the runs read and `crashed` rows appended.
    """
    host, me, _ = proc.identity()
    n_rows, candidates = con.execute(
        f"""SELECT (SELECT count(*) FROM {CORE}.run_status),
                   list(DISTINCT [pid, coalesce(proc_start, 0)])
            FROM {CORE}.run_status WHERE status = 'running' AND host = ? AND pid <> ?""",
        [host, me],
    ).fetchone()
    dead = frozenset(p for p in map(tuple, candidates or []) if _is_gone(*p))
    if not dead or _dead_checked.get(path) == (n_rows, dead):
        return
    rows = con.execute(
        f"""SELECT run_id, s.pid, s.proc_start FROM (
                SELECT run_id, arg_max({{'status': status, 'host': host, 'pid': pid,
                                        'proc_start': proc_start}}, time) AS s
                FROM {CORE}.run_status GROUP BY run_id)
            WHERE s.status = 'running' AND s.host = ? AND s.pid <> ?""",
        [host, me],
    ).fetchall()
    crashed = [run_id for run_id, pid, start in rows if (pid, start or 0) in dead]
    if crashed:
        con.execute(
            f"""INSERT INTO {CORE}.run_status (run_id, status, time, host, pid, error)
                SELECT unnest(?::VARCHAR[]), 'crashed', now(), ?, NULL,
                       'the process running it ended without ending the run'""",
            [crashed, host],
        )
    _dead_checked[path] = (n_rows + len(crashed), dead)


def _is_gone(pid: int, start: int) -> bool:
    if (pid, start) in _known_dead:
        return True
    if proc.is_alive(pid, start or None):
        return False
    if start:  # without a start time a pid may be reused: ask again next time
        _known_dead.add((pid, start))
    return True
