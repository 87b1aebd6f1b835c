"""What a live view of a running run needs, kept without slowing the training loop.

The writer thread hands each drained batch (an Arrow table) to :meth:`LiveMetrics.observe`,
which summarises it with vectorised code; the hot path pays nothing. A view then asks for a
snapshot, which also peeks at the few newest points not drained yet, so last values are fresh
even between writer flushes.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any

SPARK_POINTS = 120  # points kept per metric for a sparkline
TAIL_PEEK = 256  # newest undrained points looked at per snapshot


@dataclass
class KeyStats:
    last: float = math.nan
    step: int = 0
    minimum: float = math.inf
    maximum: float = -math.inf
    count: int = 0
    spark: list[tuple[int, float]] = field(default_factory=list)
    stride: int = 1  # keep one point in `stride` of what arrives
    _skipped: int = 0

    def add_spark(self, steps: list[int], values: list[float]) -> None:
        for s, v in zip(steps, values, strict=True):
            self._skipped += 1
            if self._skipped >= self.stride:
                self._skipped = 0
                self.spark.append((s, v))
        while len(self.spark) > SPARK_POINTS * 2:  # halve the resolution, keep the span
            self.spark = self.spark[::2]
            self.stride *= 2


class LiveMetrics:
    """Per-key last value, min, max, count and a sparkline of one run."""

    def __init__(self) -> None:
        # Held by the writer while it moves points from the run's buffer into these stats, so a
        # snapshot never counts a point twice or not at all.
        self.lock = threading.RLock()
        self.keys: dict[str, KeyStats] = {}

    def observe(self, table: Any) -> None:
        """Fold one drained batch (columns key, step, value) into the stats."""
        import numpy as np
        import pyarrow.compute as pc

        keys = table.column("key")
        with self.lock:
            for key in pc.unique(keys).to_pylist():
                mask = pc.equal(keys, key)
                steps = table.column("step").filter(mask).to_numpy()
                values = table.column("value").filter(mask).to_numpy()
                stats = self.keys.setdefault(key, KeyStats())
                finite = values[~np.isnan(values)]
                if finite.size:
                    stats.minimum = min(stats.minimum, float(finite.min()))
                    stats.maximum = max(stats.maximum, float(finite.max()))
                stats.count += int(values.size)
                stats.last, stats.step = float(values[-1]), int(steps[-1])
                take = _sample(values.size, SPARK_POINTS)
                stats.add_spark(steps[take].tolist(), values[take].tolist())

    def snapshot(self, pending: list[tuple[str, int, float, float]]) -> list[dict[str, Any]]:
        """Every key's stats, with last values updated from the newest ``pending`` points."""
        with self.lock:
            tail = pending[-TAIL_PEEK:]  # one slice: atomic against concurrent appends
            waiting = _count_by_key(pending) if len(pending) <= TAIL_PEEK else None
            fresh: dict[str, tuple[int, float]] = {}
            low: dict[str, float] = {}
            high: dict[str, float] = {}
            for key, step, value, _ in tail:
                fresh[key] = (step, value)
                if value == value:  # not NaN
                    low[key] = min(low.get(key, value), value)
                    high[key] = max(high.get(key, value), value)
            out = []
            for key in sorted(set(self.keys) | set(fresh)):
                stats = self.keys.get(key, KeyStats())
                step, last = fresh.get(key, (stats.step, stats.last))
                spark = list(stats.spark)
                if key in fresh and (not spark or spark[-1][0] != step):
                    spark.append((step, last))
                out.append({"key": key, "last": shown(last), "step": step,
                            "min": _num(min(stats.minimum, low.get(key, math.inf))),
                            "max": _num(max(stats.maximum, high.get(key, -math.inf))),
                            "count": stats.count + (waiting.get(key, 0) if waiting is not None
                                                    else 0),
                            "spark": [[s, _num(v)] for s, v in spark]})
            return out


def _count_by_key(points: list[tuple[str, int, float, float]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key, *_ in points:
        counts[key] = counts.get(key, 0) + 1
    return counts


def _sample(n: int, at_most: int) -> Any:
    """Indices of at most ``at_most`` evenly spread points of ``n``, the last one included."""
    import numpy as np

    if n <= at_most:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, at_most).round().astype(int))


def _num(value: float) -> float | None:
    """JSON has no NaN or infinity: those travel as None (a gap in a sparkline, or '–')."""
    return value if math.isfinite(value) else None


def shown(value: float) -> float | str:
    """A last value for JSON: NaN and infinities travel as the strings 'nan', 'inf', '-inf'."""
    return value if math.isfinite(value) else str(value)
