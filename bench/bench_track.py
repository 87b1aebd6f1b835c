"""Overhead of %%track on a trivial cell, in a real IPython shell; MLflow side by side.

    python bench/bench_track.py

Median of 50 of: a plain cell, the same cell under ``%%track --quiet`` and under ``%%track``
(with the live card, displayed as text in this terminal shell), and an empty
``with mlflow.start_run(): pass`` (sqlite store) for comparison. Also the logging loop of a
``%%track`` cell with 1M points against the same loop with a bare list append.
"""

from __future__ import annotations

import logging
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))


def median_ms(fn, n: int = 50) -> float:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    workdir = tempfile.mkdtemp(prefix="tb-bench-track-")
    os.environ["TRACKBOOK_STORE"] = str(Path(workdir) / "trackbook.duckdb")
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{workdir}/mlflow.db")
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_cell("%load_ext trackbook")
    cell = "x = 1\n"
    devnull = open(os.devnull, "w")  # the card's text repr goes nowhere
    real_stdout = sys.stdout
    sys.stdout = devnull
    try:
        for _ in range(5):  # warm up: imports, the writer thread, the store
            ip.run_cell("%%track\n" + cell)
        plain = median_ms(lambda: ip.run_cell(cell))
        quiet = median_ms(lambda: ip.run_cell("%%track --quiet\n" + cell))
        carded = median_ms(lambda: ip.run_cell("%%track\n" + cell))
        loop = ("%%track --quiet\nimport trackbook as tb\n"
                "for i in range(1_000_000):\n    tb.log(loss=0.5, step=i)\n")
        bare = "xs = []\nfor i in range(1_000_000):\n    xs.append(('loss', i, 0.5))\n"
        loop_ms = median_ms(lambda: ip.run_cell(loop), 5)
        bare_ms = median_ms(lambda: ip.run_cell(bare), 5)
    finally:
        sys.stdout = real_stdout
    import mlflow

    mlflow.start_run().__exit__(None, None, None)  # warm up
    mlflow_ms = median_ms(lambda: mlflow.start_run().__exit__(None, None, None))
    print("trackbook %%track overhead on a trivial cell (median of 50)")
    print(f"  plain cell                 {plain:7.2f} ms")
    print(f"  %%track --quiet            {quiet:7.2f} ms  overhead {quiet - plain:6.2f} ms "
          "(target < 20 ms)")
    print(f"  %%track (live card)        {carded:7.2f} ms  overhead {carded - plain:6.2f} ms")
    print(f"  mlflow start_run + end     {mlflow_ms:7.2f} ms  "
          f"= {mlflow_ms / max(quiet - plain, 1e-9):.1f}x the %%track overhead")
    print(f"1M tb.log calls in a %%track cell: {loop_ms:.0f} ms; the same loop appending "
          f"tuples to a list: {bare_ms:.0f} ms ({loop_ms / bare_ms:.1f}x)")


if __name__ == "__main__":
    main()
