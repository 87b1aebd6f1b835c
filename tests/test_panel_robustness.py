"""The panel in the situations that once broke it: a filter DuckDB rejects only when it runs,
many page requests in one process, a process ending while a field table is built."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

import trackbook as tb
from conftest import PYTHON, python_env

pytestmark = pytest.mark.usefixtures("no_kept_fields")


def test_a_panel_whose_filter_fails_in_duckdb_still_displays() -> None:
    """tb.panel() checks a filter by parsing it; a regex DuckDB rejects fails only when run.
    The live panel shows that as an error reply; the snapshot in the mimebundle lets the
    duckdb error out of _repr_mimebundle_, so the panel is not displayed at all."""
    with tb.start_run("a", experiment="e", params={"opt": "adam"}):
        pass
    panel = tb.panel(where="params.opt rlike '['")  # accepted: it parses
    data, _ = panel._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/plain"].startswith("trackbook panel")


PAGES_OF_ONE_EXPERIMENT = """
import trackbook as tb
from trackbook import panelquery
for i in range(6):
    with tb.start_run(f"r{i}", experiment="e" if i < 4 else "f", params={"i": i},
                      tags={"t": "x"} if i % 2 else None):
        pass
for n in range(800):
    panelquery.page(experiment="e", where="tags.t = 'x'", page_size=25)
print("ok")
"""


def test_the_top_n_page_of_a_filtered_experiment_does_not_kill_duckdb(tmp_path: Path) -> None:
    """A page as one query with ``count(*) OVER ()`` before ORDER BY ... LIMIT hit a DuckDB
    1.5.5 internal error with two threads ("Attempted to access index 0 within vector of size
    0", WindowLocalSourceState) every few hundred calls, which invalidates the process's one
    DuckDB instance: every later call failed until the kernel restarted. The page now counts
    in a query of its own. (In a child: the fatal error would poison this test process.)"""
    done = subprocess.run([PYTHON, "-c", PAGES_OF_ONE_EXPERIMENT], capture_output=True,
                          text=True, timeout=300,
                          env=python_env(TRACKBOOK_STORE=str(tmp_path / "s.duckdb")))
    assert done.returncode == 0 and "ok" in done.stdout, done.stderr[-600:]


EXIT_WHILE_BUILDING = """
import time
import trackbook as tb
from trackbook import fieldcache, panelquery
with tb.start_run("a", experiment="e", params={"lr": 1.0}):
    pass
# A build as long as a big store's (a 3M-row params_log here: ~0.7 s); the slow join only
# widens the window, the script below then ends as any script or kernel does.
plain = fieldcache.current_of_key
fieldcache.current_of_key = lambda kind, key, cols: (
    f"(SELECT * FROM {plain(kind, key, cols)} CROSS JOIN "
    "(SELECT count(*) AS c FROM range(3000000000)) WHERE c > 0)")
panelquery.page(order_by="params.lr")
time.sleep(0.2)
"""


def test_a_process_that_ends_while_a_field_table_is_built_exits_cleanly(tmp_path: Path
                                                                        ) -> None:
    """The builder is a daemon thread running a DuckDB query; the interpreter ending under it
    aborted the process ("terminate called without an active exception", exit code 134; a
    3M-row params_log store, page(order_by='params.lr') then exit: 4 of 4 tries). At exit the
    build is now interrupted and waited for."""
    done = subprocess.run([PYTHON, "-c", EXIT_WHILE_BUILDING], capture_output=True, text=True,
                          timeout=120,
                          env=python_env(TRACKBOOK_STORE=str(tmp_path / "s.duckdb")))
    assert done.returncode == 0, (done.returncode, done.stderr[-300:])
