"""Runs of a process of this host that is gone read `crashed` at once."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from conftest import PYTHON
from trackbook import spool
from trackbook.store import Store


def _running(store: Store, run_id: str, pid: int, proc_start: int | None) -> None:
    """A run started (or resumed) by process ``pid`` of this host."""
    now = time.time()
    store.write_tables({
        "run_starts": spool.rows_to_arrow("run_starts", [{
            "run_id": run_id, "experiment": "e", "name": run_id[:4], "start_time": now,
            "host": socket.gethostname()}]),
        "run_status": spool.rows_to_arrow("run_status", [{
            "run_id": run_id, "status": "running", "time": now, "host": socket.gethostname(),
            "pid": pid, "proc_start": proc_start}]),
    })


def _statuses(store: Store) -> dict[str, str]:
    return dict(store.rows("SELECT run_id, status FROM core.run_state"))


def test_runs_of_a_gone_process_read_crashed_at_once(store_path: Path) -> None:
    from trackbook import proc

    store = Store(store_path)
    gone = subprocess.run([PYTHON, "-c", "import os; print(os.getpid())"], text=True,
                          capture_output=True, check=True)
    dead_pid = int(gone.stdout)
    live = subprocess.Popen([PYTHON, "-c", "import time; time.sleep(60)"])
    try:
        live_start = proc._start_ticks(live.pid)
        _running(store, "a" * 16, dead_pid, 12345)
        _running(store, "b" * 16, live.pid, live_start)
        _running(store, "c" * 16, dead_pid, None)  # no start time known: the pid decides
        assert _statuses(store) == {"a" * 16: "crashed", "b" * 16: "running",
                                    "c" * 16: "crashed"}
        # A run of the same gone process that arrives later (a late spool file) is seen too.
        _running(store, "d" * 16, dead_pid, 12345)
        assert _statuses(store)["d" * 16] == "crashed"
        # A crashed run resumed by a live process reads running, and stays so.
        _running(store, "a" * 16, live.pid, live_start)
        assert _statuses(store)["a" * 16] == "running"
        assert _statuses(store)["a" * 16] == "running"
    finally:
        live.kill()
        live.wait()
    # Once that process is gone too, its runs read crashed at the next read.
    assert set(_statuses(store).values()) == {"crashed"}
    errors = store.rows("SELECT count(*) FROM core.run_status WHERE status = 'crashed'")
    assert errors[0][0] == 5  # one crashed row per run each time it crashed, no more
