"""Panel and chart benchmark: trackbook and MLflow side by side, in one process.

    python bench/bench_panel.py            # 100k runs, 100 runs x 100k steps (~4 min)
    python bench/bench_panel.py --quick    # smaller sizes (~40 s)

Every panel figure goes through the widget's real message handler, as the browser's request
would (the kernel side of a round trip: parse, query DuckDB, shape the reply). MLflow's figures
are what its UI asks its server for at the same sizes: ``search_runs`` for a first page of 25
and ``get_metric_history`` for curves. Machines here are shared and noisy: compare ratios.
Needs ``pip install -e '.[bench]'``. Results also go to ``bench/out/panel.json``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

from bench_core import median_time, synthetic_store  # noqa: E402 - after the path setup


def median_ms(fn: Any, repeat: int = 7) -> float:
    return median_time(fn, repeat) * 1e3


class FakeBrowser:
    """Sends requests through the panel's own message dispatcher and keeps the replies."""

    def __init__(self, panel: Any) -> None:
        self.panel = panel
        self.replies: list[dict[str, Any]] = []
        panel.send = self.replies.append
        self.n = 0

    def ask(self, name: str, **params: Any) -> Any:
        self.n += 1
        self.panel._msg_callbacks(self.panel, {"type": "request", "id": self.n, "name": name,
                                               "params": params}, [])
        reply = self.replies[-1]
        assert reply["ok"], reply
        return reply["data"]


def bench_panel(n_runs: int) -> dict[str, Any]:
    import trackbook as tb
    from trackbook import fieldcache

    path = str(Path(tempfile.mkdtemp()) / "panel.duckdb")
    start = time.perf_counter()
    synthetic_store(path, n_runs)
    fill_s = time.perf_counter() - start
    panel = tb.panel(store=path)
    browser = FakeBrowser(panel)
    columns = browser.ask("columns")["default"]

    def first_page() -> None:  # as a new panel does: nothing kept
        panel._columns_cache = None
        fieldcache.forget()
        browser.ask("columns")
        browser.ask("page", columns=columns)

    def cold(**ask: Any) -> float:
        """The first request on its fields since the store changed: their values are grouped
        out of the logs (the tables built for the next request after it are not timed)."""
        times = []
        for _ in range(7):
            fieldcache.settle()
            fieldcache.forget()
            start = time.perf_counter()
            browser.ask("page", **ask)
            times.append(time.perf_counter() - start)
        fieldcache.settle()
        return statistics.median(times) * 1e3

    def warm(**ask: Any) -> float:
        browser.ask("page", **ask)
        fieldcache.settle()  # the fields' tables, built after the first request
        return median_ms(lambda: browser.ask("page", **ask))

    thresholds = iter(range(10**9))

    def refined() -> None:  # the same fields, other values: what typing into the box does
        n = next(thresholds) % 5
        browser.ask("page", where=f"params.p3 > 0.{5 + n} and metrics.m2 < 0.{3 + n}",
                    columns=columns)

    sort = {"order_by": "metrics.m2.min DESC", "columns": [*columns, "metrics.m2.min"]}
    where = "params.p3 > 0.5 and metrics.m2 < 0.3"
    filtered = {"where": where, "columns": columns}
    out = {
        "runs": n_runs, "fill_s": fill_s,
        "first_page_ms": median_ms(first_page),
        "sort_cold_ms": cold(**sort),
        "filter_cold_ms": cold(**filtered),
        "sort_ms": warm(**sort),
        "filter_ms": warm(**filtered),
        "refined_filter_ms": median_ms(refined),
        "filter_sort_page3_ms": warm(where=where, page=3, **sort),
        "matched": browser.ask("page", **filtered)["total"],
    }
    panel.close()
    return out


def long_runs_store(path: str, n_runs: int, steps: int) -> list[str]:
    """n_runs finished runs with one metric of ``steps`` points (a random walk)."""
    import numpy as np
    import pyarrow as pa

    from trackbook import spool
    from trackbook.store import Store

    rng = np.random.default_rng(1)
    ids = [f"{random.getrandbits(64):016x}" for _ in range(n_runs)]
    base = time.time() - 3600
    store = Store(path)
    store.write_tables({
        "run_starts": spool.rows_to_arrow("run_starts", [
            {"run_id": r, "experiment": "long", "name": f"run-{i}", "start_time": base,
             "host": "bench"} for i, r in enumerate(ids)]),
        "run_status": spool.rows_to_arrow("run_status", [
            {"run_id": r, "status": "finished", "time": base + 60, "host": "bench", "pid": 0}
            for r in ids]),
    })
    for run_id in ids:
        micros = (base * 1e6 + np.arange(steps) * 1000).astype(np.int64)
        store.write_tables({"points": pa.table({
            "run_id": pa.array([run_id] * steps), "key": pa.array(["loss"] * steps),
            "step": pa.array(np.arange(steps)),
            "value": pa.array(np.cumsum(rng.normal(size=steps))),
            "wall_time": pa.array(micros).cast(pa.timestamp("us", tz="UTC"))})})
    return ids


def bench_curves(n_runs: int, steps: int) -> dict[str, Any]:
    import trackbook as tb
    from trackbook import series

    path = str(Path(tempfile.mkdtemp()) / "curves.duckdb")
    ids = long_runs_store(path, n_runs, steps)
    panel = tb.panel(store=path)
    browser = FakeBrowser(panel)
    chart = {"kind": "curves", "runs": ids, "metric": "loss", "width": 900}
    points = len(next(iter(browser.ask("chart", **chart)["spec"]["datasets"].values())))
    out = {
        "runs": n_runs, "steps": steps, "points_stored": n_runs * steps,
        "downsample_ms": median_ms(lambda: series.curves(ids, ["loss"], budget=20_000,
                                                         store=path), 5),
        "chart_request_ms": median_ms(lambda: browser.ask("chart", **chart), 5),
        "points_sent": points,
    }
    panel.close()
    return out


def bench_mlflow(n_runs: int, n_curves: int, steps: int) -> dict[str, Any]:
    import mlflow
    from mlflow.entities import Metric, Param

    client = mlflow.MlflowClient()
    experiment = client.create_experiment(f"bench-panel-{time.time_ns()}")
    rng = random.Random(0)
    stamp = int(time.time() * 1000)
    start = time.perf_counter()
    run_ids = []
    for _ in range(n_runs):
        run = client.create_run(experiment)
        client.log_batch(run.info.run_id,
                         params=[Param(f"p{k}", str(rng.random())) for k in range(20)],
                         metrics=[Metric(f"m{k}", rng.random(), stamp, 0) for k in range(10)])
        client.set_terminated(run.info.run_id)
        run_ids.append(run.info.run_id)
    fill_s = time.perf_counter() - start
    for run_id in run_ids[:n_curves]:
        for offset in range(0, steps, 1000):
            client.log_batch(run_id, metrics=[Metric("loss", rng.random(), stamp, offset + j)
                                              for j in range(1000)])

    def first_page() -> None:
        client.search_runs([experiment], max_results=25, order_by=["attributes.start_time DESC"])

    def sort() -> None:
        client.search_runs([experiment], max_results=25, order_by=["metrics.m2 DESC"])

    def filtered() -> None:  # params are strings in MLflow: a numeric param filter is impossible
        client.search_runs([experiment], "metrics.m2 < 0.3", max_results=25)

    def curves() -> None:
        for run_id in run_ids[:n_curves]:
            client.get_metric_history(run_id, "loss")

    return {"runs": n_runs, "fill_s": fill_s, "first_page_ms": median_ms(first_page, 5),
            "sort_ms": median_ms(sort, 5), "filter_ms": median_ms(filtered, 5),
            "curves_runs": n_curves, "curves_steps": steps, "curves_ms": median_ms(curves, 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    quick = parser.parse_args().quick
    workdir = tempfile.mkdtemp(prefix="tb-bench-panel-")
    os.environ["TRACKBOOK_STORE"] = str(Path(workdir) / "trackbook.duckdb")
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{workdir}/mlflow.db")
    os.environ["GIT_PYTHON_REFRESH"] = "quiet"
    for name in ("mlflow", "alembic"):
        logging.getLogger(name).setLevel(logging.ERROR)

    same = 500 if quick else 2_000  # the size both tools are measured at
    r: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "quick": quick}
    r["panel_big"] = bench_panel(10_000 if quick else 100_000)
    r["panel_same"] = bench_panel(same)
    r["curves_big"] = bench_curves(20, 20_000) if quick else bench_curves(100, 100_000)
    r["curves_same"] = bench_curves(10, 10_000)
    r["mlflow"] = bench_mlflow(same, 10, 10_000)
    report(r)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "panel.json").write_text(json.dumps(r, indent=2))


def report(r: dict[str, Any]) -> None:
    big, same, ml = r["panel_big"], r["panel_same"], r["mlflow"]
    cb, cs = r["curves_big"], r["curves_same"]
    lines = [
        "trackbook panel benchmark (kernel side of each request; ratios matter)",
        "",
        f"1. runs table, {big['runs']:,} runs x 20 params x 10 metrics",
        f"   first page (columns + page)   {big['first_page_ms']:7.0f} ms  (target < 300)",
        "   sort or filter round trip (target < 100 ms):  first on its fields / again",
        f"   sort by metrics.m2.min         {big['sort_cold_ms']:7.0f} ms / "
        f"{big['sort_ms']:4.0f} ms",
        f"   filter ({big['matched']:,} match)         {big['filter_cold_ms']:7.0f} ms / "
        f"{big['filter_ms']:4.0f} ms",
        f"   the filter refined (same fields, other values)  {big['refined_filter_ms']:5.0f} ms",
        f"   filter + sort, page 4          {big['filter_sort_page3_ms']:7.0f} ms",
        "",
        f"2. same table at {same['runs']:,} runs, side by side with MLflow (sqlite)",
        f"   first page   trackbook {same['first_page_ms']:6.0f} ms   mlflow "
        f"{ml['first_page_ms']:6.0f} ms   = {ml['first_page_ms'] / same['first_page_ms']:.1f}x",
        f"   sort         trackbook {same['sort_cold_ms']:6.0f} ms   mlflow {ml['sort_ms']:6.0f}"
        f" ms   = {ml['sort_ms'] / same['sort_cold_ms']:.1f}x  (trackbook: first on the field)",
        f"   filter       trackbook {same['filter_cold_ms']:6.0f} ms   mlflow "
        f"{ml['filter_ms']:6.0f} ms   = {ml['filter_ms'] / same['filter_cold_ms']:.1f}x  "
        "(mlflow: metric only; its params are strings)",
        "",
        f"3. curves, {cb['runs']} runs x {cb['steps']:,} steps ({cb['points_stored']:,} points)",
        f"   downsampled in DuckDB          {cb['downsample_ms']:7.0f} ms",
        f"   chart request (spec ready)     {cb['chart_request_ms']:7.0f} ms  (target < 1000), "
        f"{cb['points_sent']:,} points sent",
        f"   {cs['runs']} runs x {cs['steps']:,}: trackbook chart {cs['chart_request_ms']:.0f} ms, "
        f"mlflow get_metric_history {ml['curves_ms']:.0f} ms "
        f"= {ml['curves_ms'] / cs['chart_request_ms']:.1f}x (mlflow sends every point)",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
