"""Core benchmark: trackbook and MLflow side by side, in one process, on this machine.

    python bench/bench_core.py            # the full run (~3 min)
    python bench/bench_core.py --quick    # smaller sizes, for a smoke test (~30 s)

Machines here are shared and noisy: compare the ratios, not the absolute figures. Needs
``pip install -e '.[bench]'`` (mlflow). Results also go to ``bench/out/core.json``.
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


def median_time(fn: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


# -- 1. the hot path -------------------------------------------------------------------------------

def bench_log(n: int) -> dict[str, float]:
    import trackbook as tb

    baseline: list[tuple[str, int, float, float]] = []
    append = baseline.append
    now = time.time
    start = time.perf_counter()
    for i in range(n):
        append(("loss", i, 0.5, now()))
    t_append = (time.perf_counter() - start) / n

    run = tb.start_run("bench-log")
    start = time.perf_counter()
    for i in range(n):
        run.log(loss=0.5, step=i)
    t_log_step = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for _ in range(n):
        run.log(acc=0.5)
    t_log_auto = (time.perf_counter() - start) / n
    start = time.perf_counter()
    for i in range(n // 4):
        run.log(a=0.1, b=0.2, c=0.3, d=0.4, step=i)
    t_log_four = (time.perf_counter() - start) / n  # per point: 4 points a call
    run.end()
    return {"append_us": t_append * 1e6, "log_step_us": t_log_step * 1e6,
            "log_auto_step_us": t_log_auto * 1e6, "log_4keys_per_point_us": t_log_four * 1e6,
            "ratio_log_step": t_log_step / t_append, "ratio_log_auto": t_log_auto / t_append,
            "ratio_log_4keys": t_log_four / t_append}


def bench_mlflow_log(n_calls: int, n_batch_points: int) -> dict[str, float]:
    import mlflow
    from mlflow.entities import Metric

    client = mlflow.MlflowClient()
    with mlflow.start_run() as active:
        start = time.perf_counter()
        for i in range(n_calls):
            mlflow.log_metric("loss", 0.5, step=i)
        t_call = (time.perf_counter() - start) / n_calls
        run_id = active.info.run_id
        stamp = int(time.time() * 1000)
        start = time.perf_counter()
        for offset in range(0, n_batch_points, 1000):
            metrics = [Metric("batched", 0.5, stamp, offset + j)
                       for j in range(min(1000, n_batch_points - offset))]
            client.log_batch(run_id, metrics=metrics)
        t_batch = (time.perf_counter() - start) / n_batch_points
    return {"mlflow_log_metric_us": t_call * 1e6, "mlflow_log_batch_per_point_us": t_batch * 1e6}


# -- 2. time until 1M points are durable -------------------------------------------------------

def bench_durable(n: int) -> dict[str, float]:
    import trackbook as tb

    start = time.perf_counter()
    with tb.start_run("bench-durable") as run:
        for i in range(n):
            run.log(loss=0.5, step=i)
    durable = time.perf_counter() - start  # end() returns once every point is in the spool
    tb.runs(where=f"run_id = '{run.run_id}'")
    ingested = time.perf_counter() - start
    return {"points": n, "durable_s": durable, "durable_and_ingested_s": ingested}


# -- 3. runs() and a filter over many runs ---------------------------------------------------------

def synthetic_store(path: str, n_runs: int, n_params: int = 20, n_metrics: int = 10,
                    points: int = 10) -> None:
    """Bulk-write n_runs finished runs (typed params, metric points + summaries)."""
    import numpy as np
    import pyarrow as pa

    from trackbook import spool
    from trackbook.store import Store

    rng = np.random.default_rng(0)
    ids = [f"{random.getrandbits(64):016x}" for _ in range(n_runs)]
    base = time.time() - n_runs
    starts = [{"run_id": r, "experiment": "bench", "name": f"run-{i}", "start_time": base + i,
               "host": "bench"} for i, r in enumerate(ids)]
    status = [{"run_id": r, "status": "finished", "time": base + i + 0.5, "host": "bench",
               "pid": 0} for i, r in enumerate(ids)]
    params = [{"run_id": r, "key": f"p{k}", "value": repr(v), "num": v, "type": "float",
               "time": base} for r in ids for k, v in
              enumerate(rng.random(n_params).tolist())]
    keys = np.tile(np.repeat([f"m{k}" for k in range(n_metrics)], points), n_runs)
    runs_col = np.repeat(ids, n_metrics * points)
    steps = np.tile(np.arange(points), n_runs * n_metrics)
    values = rng.random(len(keys))
    micros = np.full(len(keys), int(base * 1e6), dtype=np.int64)
    point_table = pa.table({
        "run_id": pa.array(runs_col), "key": pa.array(keys), "step": pa.array(steps),
        "value": pa.array(values),
        "wall_time": pa.array(micros).cast(pa.timestamp("us", tz="UTC"))})
    Store(path).write_tables({
        "run_starts": spool.rows_to_arrow("run_starts", starts),
        "run_status": spool.rows_to_arrow("run_status", status),
        "params_log": spool.rows_to_arrow("params_log", params),
        "points": point_table,
    })


def bench_runs(n_runs: int) -> dict[str, float]:
    import trackbook as tb

    folder = tempfile.mkdtemp()
    path = str(Path(folder) / "bench.duckdb")
    synthetic_store(path, n_runs)
    where = "params.p3 > 0.5 and metrics.m2 < 0.3"
    frame = tb.runs(store=path)
    assert len(frame) == n_runs and frame.shape[1] == 8 + 20 + 10
    t_all = median_time(lambda: tb.runs(store=path))
    t_filter = median_time(lambda: tb.runs(where=where, store=path))
    t_top = median_time(lambda: tb.runs(order_by="metrics.m2", limit=20, store=path))
    return {"runs": n_runs, "runs_all_ms": t_all * 1e3, "runs_filter_ms": t_filter * 1e3,
            "runs_top20_by_metric_ms": t_top * 1e3, "matched": len(tb.runs(where=where,
                                                                            store=path))}


def bench_mlflow_search(n_runs: int) -> dict[str, float]:
    import mlflow
    from mlflow.entities import Metric, Param

    rng = random.Random(0)
    client = mlflow.MlflowClient()
    experiment = client.create_experiment(f"bench-{time.time_ns()}")
    start = time.perf_counter()
    stamp = int(time.time() * 1000)
    for _ in range(n_runs):
        run = client.create_run(experiment)
        client.log_batch(
            run.info.run_id,
            params=[Param(f"p{k}", str(rng.random())) for k in range(20)],
            metrics=[Metric(f"m{k}", rng.random(), stamp, 0) for k in range(10)],
        )
        client.set_terminated(run.info.run_id)
    t_fill = time.perf_counter() - start
    # MLflow params are strings: `params.p3 > 0.5` is not allowed, so it filters on a metric only.
    t_all = median_time(lambda: mlflow.search_runs([experiment], max_results=50000), 3)
    t_filter = median_time(
        lambda: mlflow.search_runs([experiment], "metrics.m2 < 0.3", max_results=50000), 3)
    return {"runs": n_runs, "mlflow_fill_s": t_fill, "mlflow_search_all_ms": t_all * 1e3,
            "mlflow_search_filter_ms": t_filter * 1e3}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test)")
    args = parser.parse_args()
    quick = args.quick
    workdir = tempfile.mkdtemp(prefix="tb-bench-")
    os.environ["TRACKBOOK_STORE"] = str(Path(workdir) / "trackbook.duckdb")
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{workdir}/mlflow.db")
    os.environ["GIT_PYTHON_REFRESH"] = "quiet"
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    logging.getLogger("alembic").setLevel(logging.ERROR)

    results: dict[str, Any] = {"machine": f"{os.cpu_count()} cores", "quick": quick}
    results["log"] = bench_log(200_000 if quick else 1_000_000)
    results["mlflow_log"] = bench_mlflow_log(100 if quick else 300, 20_000 if quick else 100_000)
    results["durable"] = bench_durable(200_000 if quick else 1_000_000)
    results["runs_10k"] = bench_runs(1_000 if quick else 10_000)
    results["runs_1k"] = bench_runs(1_000)
    results["mlflow_search_1k"] = bench_mlflow_search(100 if quick else 1_000)
    report(results)
    out = HERE / "out"
    out.mkdir(exist_ok=True)
    (out / "core.json").write_text(json.dumps(results, indent=2))


def report(r: dict[str, Any]) -> None:
    log, ml, dur = r["log"], r["mlflow_log"], r["durable"]
    big, small, mls = r["runs_10k"], r["runs_1k"], r["mlflow_search_1k"]
    batch_1m = ml["mlflow_log_batch_per_point_us"] * 1e6 / 1e6
    lines = [
        "trackbook core benchmark (ratios matter; absolute times are noisy here)",
        "",
        "1. logging one point (hot path)",
        f"   list.append of the tuple           {log['append_us']:8.3f} us",
        f"   run.log(loss=x, step=i)            {log['log_step_us']:8.3f} us  "
        f"= {log['ratio_log_step']:.1f}x append (target < 5x)",
        f"   run.log(acc=x)  (auto step)        {log['log_auto_step_us']:8.3f} us  "
        f"= {log['ratio_log_auto']:.1f}x append",
        f"   run.log(a,b,c,d, step=i) per point {log['log_4keys_per_point_us']:8.3f} us  "
        f"= {log['ratio_log_4keys']:.1f}x append",
        f"   mlflow.log_metric (sqlite)         {ml['mlflow_log_metric_us']:8.0f} us  "
        f"= {ml['mlflow_log_metric_us'] / log['log_step_us']:.0f}x run.log",
        f"   mlflow log_batch, per point        {ml['mlflow_log_batch_per_point_us']:8.1f} us  "
        f"= {ml['mlflow_log_batch_per_point_us'] / log['log_step_us']:.0f}x run.log",
        "",
        f"2. {dur['points']:,} points until durable (in the spool, survives SIGKILL)",
        f"   trackbook                          {dur['durable_s']:8.2f} s "
        f"(and ingested into the .duckdb: {dur['durable_and_ingested_s']:.2f} s)",
        f"   mlflow log_batch (projected)       {batch_1m * dur['points'] / 1e6:8.1f} s "
        f"= {batch_1m * dur['points'] / 1e6 / dur['durable_s']:.0f}x trackbook",
        "",
        "3. tb.runs() over runs x 20 params x 10 metrics",
        f"   {big['runs']:,} runs: all {big['runs_all_ms']:.0f} ms (target < 150), filter "
        f"{big['runs_filter_ms']:.0f} ms (target < 50), top-20 by metric "
        f"{big['runs_top20_by_metric_ms']:.0f} ms",
        f"   {small['runs']:,} runs: all {small['runs_all_ms']:.0f} ms, filter "
        f"{small['runs_filter_ms']:.0f} ms",
        f"   mlflow {mls['runs']:,} runs: search_runs all {mls['mlflow_search_all_ms']:.0f} ms "
        f"= {mls['mlflow_search_all_ms'] / small['runs_all_ms']:.1f}x trackbook; filter "
        f"{mls['mlflow_search_filter_ms']:.0f} ms "
        f"= {mls['mlflow_search_filter_ms'] / small['runs_filter_ms']:.1f}x trackbook "
        f"(filling it took {mls['mlflow_fill_s']:.0f} s)",
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
