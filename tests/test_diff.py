"""tb.diff between real runs."""

from __future__ import annotations

import math

import pytest

import trackbook as tb
from trackbook.rundiff import code_diff


def _two_runs() -> tuple[str, str]:
    with tb.start_run("a", params={"lr": 1e-3, "layers": [64, 32], "opt": "adam", "same": 1},
                      tags={"owner": "ana"}, code="lr = 1e-3\ntrain(lr)\n") as a:
        a.log(loss=0.5)
        a.log(loss=0.3, acc=0.9)
    with tb.start_run("b", params={"lr": 1e-2, "layers": [64, 32], "same": 1.0, "dropout": 0.1},
                      tags={"owner": "bo", "baseline": ""}, code="lr = 1e-2\ntrain(lr)\n") as b:
        b.log(loss=float("nan"), acc=0.9)
    return a.run_id, b.run_id


def test_diff_lists_what_differs_per_section() -> None:
    a, b = _two_runs()
    frame = tb.diff(a, b[:8])
    assert frame.attrs == {"a": a, "b": b}
    rows = {(s, k): (x, y) for s, k, x, y in frame.itertuples(index=False)}
    assert rows[("params", "lr")] == (1e-3, 1e-2)
    assert rows[("params", "opt")] == ("adam", None)
    assert rows[("params", "dropout")] == (None, 0.1)
    assert ("params", "layers") not in rows and ("params", "same") not in rows  # 1 == 1.0
    assert rows[("metrics", "loss")][0] == 0.3 and math.isnan(rows[("metrics", "loss")][1])
    assert ("metrics", "acc") not in rows
    assert rows[("tags", "owner")] == ("ana", "bo")
    assert rows[("tags", "baseline")] == (None, "")
    assert rows[("code", "source")] == ("lr = 1e-3\ntrain(lr)\n", "lr = 1e-2\ntrain(lr)\n")
    assert not any(section == "environment" for section, _ in rows)  # same process


def test_diff_all_lists_equal_facts_too() -> None:
    a, b = _two_runs()
    frame = tb.diff(a, b, all=True)
    keys = set(zip(frame["section"], frame["key"], strict=True))
    assert {("params", "same"), ("metrics", "acc"), ("environment", "python")} <= keys
    assert any(key.startswith("packages.") for section, key in keys if section == "environment")


def test_code_diff_is_a_unified_diff() -> None:
    a, b = _two_runs()
    text = code_diff(a, b)
    assert text.splitlines()[2:] == ["@@ -1,2 +1,2 @@", "-lr = 1e-3", "+lr = 1e-2", " train(lr)"]
    assert code_diff(a, a) == ""


def test_diff_of_unknown_run() -> None:
    a, _ = _two_runs()
    with pytest.raises(tb.RunNotFound):
        tb.diff(a, "abcdef")
