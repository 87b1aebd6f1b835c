"""Several real processes on one store: concurrent writers, a polling reader, SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import trackbook as tb
from conftest import PYTHON, python_env
from trackbook import spool
from trackbook.store import Store

pytestmark = pytest.mark.slow

WRITER = """
import sys, time
import trackbook as tb
n = int(sys.argv[1])
with tb.start_run(sys.argv[2], params={"worker": sys.argv[2]}) as run:
    for i in range(n):
        run.log(loss=1.0 / (i + 1), step=i)
        if i % 2000 == 0:
            time.sleep(0.5)  # spread the work so writers and the reader interleave
print(run.run_id)
"""


def test_three_writers_and_a_polling_reader(store_path: Path) -> None:
    env = python_env(TRACKBOOK_STORE=str(store_path))
    writers = [subprocess.Popen([PYTHON, "-c", WRITER, "20000", f"w{i}"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for i in range(3)]
    polls = 0
    seen_runs = 0
    while any(w.poll() is None for w in writers):
        try:
            seen_runs = max(seen_runs, len(tb.runs()))
            polls += 1
        except tb.StoreNotFound:
            pass  # no writer has spooled anything yet
        time.sleep(0.05)
    for w in writers:
        _, err = w.communicate()
        assert w.returncode == 0, err
    frame = tb.sql("SELECT run_id, count(*) AS n, count(DISTINCT step) AS steps "
                   "FROM metrics GROUP BY run_id")
    assert sorted(frame["n"]) == [20000] * 3 and sorted(frame["steps"]) == [20000] * 3
    assert set(tb.runs()["status"]) == {"finished"}
    assert polls >= 3  # it read while they wrote (few polls on a loaded machine: each ingests)
    summary = tb.sql("SELECT min, count FROM metric_summary")
    assert summary["count"].tolist() == [20000] * 3 and summary["min"].tolist() == [
        1 / 20000] * 3


KILLED = """
import sys, time
import trackbook as tb
run = tb.start_run("doomed")
print(run.run_id, flush=True)
i = 0
while True:
    run.log(x=float(i), step=i)
    if i % 50 == 0:
        print(i, time.time(), flush=True)
    i += 1
    time.sleep(0.001)
"""


def test_sigkill_keeps_what_was_logged_a_second_before(store_path: Path) -> None:
    proc = subprocess.Popen([PYTHON, "-c", KILLED], stdout=subprocess.PIPE, text=True,
                            env=python_env(TRACKBOOK_STORE=str(store_path)))
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    progress: list[tuple[int, float]] = []
    started = time.time()
    while time.time() - started < 3.5:
        step, moment = proc.stdout.readline().split()
        progress.append((int(step), float(moment)))
    os.kill(proc.pid, signal.SIGKILL)
    killed_at = time.time()
    proc.wait()
    logged_long_before = max(step for step, moment in progress if moment < killed_at - 1.2)
    snap = tb.get_run(run_id)
    steps = snap.history("x")["step"].tolist()
    assert steps == list(range(len(steps)))  # no holes
    assert steps[-1] >= logged_long_before
    assert snap.status == "crashed"  # its process is gone from this host: at once
    assert "without ending the run" in snap.error


def test_stale_heartbeat_reads_crashed_and_a_new_one_running_again(store_path: Path) -> None:
    store = Store(store_path)
    run_id = "0123456789abcdef"
    old = (datetime.now(timezone.utc) - timedelta(minutes=5)).timestamp()
    store.write_tables({
        "run_starts": spool.rows_to_arrow("run_starts", [{
            "run_id": run_id, "experiment": "e", "name": "remote", "start_time": old,
            "host": "another-host"}]),
        "run_status": spool.rows_to_arrow("run_status", [{
            "run_id": run_id, "status": "running", "time": old, "host": "another-host",
            "pid": 1}]),
        "heartbeats": spool.rows_to_arrow("heartbeats", [{"run_id": run_id,
                                                          "time": old + 30}]),
    })
    snap = tb.get_run(run_id)
    assert snap.status == "crashed"
    assert snap.end_time.timestamp() == pytest.approx(old + 30)
    assert tb.runs(where="status = 'crashed'")["run_id"].tolist() == [run_id]
    store.write_tables({"heartbeats": spool.rows_to_arrow("heartbeats", [
        {"run_id": run_id, "time": time.time()}])})
    assert tb.get_run(run_id).status == "running"
    assert tb.get_run(run_id).end_time is None
