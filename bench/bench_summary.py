"""Summary export: file size and time for 10 and 100 runs x 5 metrics x 1,000 points.

    python bench/bench_summary.py            # 10 and 100 runs, each with a matplotlib figure
    python bench/bench_summary.py 10 300     # any run counts

Each size gets a fresh store in a temp folder. The export is timed after a first read (the
spool ingested) and with altair already imported, so the figure is the export's own work; the
one-time import of altair is printed apart. Results also go to ``bench/out/summary.json``.
"""

from __future__ import annotations

import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

METRICS, POINTS = 5, 1_000


def fill(n_runs: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import trackbook as tb

    for i in range(n_runs):
        lr = 10 ** (-4 + 2 * (i % 10) / 9)
        with tb.start_run(f"run-{i:03d}", experiment="bench",
                          params={"lr": lr, "seed": i // 10, "depth": i % 4},
                          tags={"owner": "ana"}, code="x = 1\n" * 30) as run:
            for step in range(POINTS):
                decay = math.exp(-step * lr * 5)
                run.log(loss=decay + (step % 7) * 1e-3, val_loss=decay * 1.1 + i * 1e-4,
                        acc=1 - decay / 2, val_acc=1 - decay / 1.8, grad=(step * i) % 13 / 13,
                        step=step)
            fig, ax = plt.subplots()
            ax.plot(range(10), [(i * k) % 7 for k in range(10)])
            run.log_figure(fig, "curve")
            plt.close(fig)
            run.note(f"note {i}")


def measure(n_runs: int) -> dict[str, float]:
    import trackbook as tb

    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "trackbook.duckdb"
        os.environ["TRACKBOOK_STORE"] = str(store)
        tb.init(store=store)
        fill(n_runs)
        tb.runs()  # ingest the spool: not part of the export
        out: dict[str, float] = {"runs": n_runs}
        for fmt in ("html", "md"):
            start = time.perf_counter()
            path = tb.export_summary(Path(folder) / f"summary.{fmt}")
            out[f"{fmt}_seconds"] = round(time.perf_counter() - start, 2)
            out[f"{fmt}_bytes"] = path.stat().st_size
    return out


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [10, 100]
    start = time.perf_counter()
    import altair  # noqa: F401 - a one-time cost of the first HTML export in a process

    print(f"import altair: {time.perf_counter() - start:.2f} s (once per process)")
    results = []
    for n in sizes:
        r = measure(n)
        results.append(r)
        print(f"{n:>4} runs x {METRICS} metrics x {POINTS:,} points: "
              f"HTML {r['html_bytes'] / 1e6:.2f} MB in {r['html_seconds']:.2f} s, "
              f"Markdown {r['md_bytes'] / 1e3:.1f} KB in {r['md_seconds']:.2f} s")
    (HERE / "out").mkdir(exist_ok=True)
    (HERE / "out" / "summary.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
