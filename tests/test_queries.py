"""The filter language against a real store: what each filter selects."""

from __future__ import annotations

import time

import pytest

import trackbook as tb
from trackbook.errors import FilterError


@pytest.fixture
def runs_store() -> dict[str, str]:
    """Five runs with typed params, metrics, tags, a dataset and every end status."""
    made = {}
    specs = [
        ("a", {"lr": 1e-3, "model": "cnn", "dropout": 0.1, "flag": True, "seed": 0},
         ["baseline", "owner=ana"], [0.9, 0.5, 0.2], "finished"),
        ("b", {"lr": 1e-4, "model": "mlp", "dropout": None, "flag": False, "seed": 1},
         ["owner=bob"], [0.8, 0.6, 0.7], "failed"),
        ("c", {"lr": 3e-2, "model": "cnn", "flag": True, "seed": 2, "optimizer": {"lr": 5}},
         [], [1.0, float("nan"), 0.4], "interrupted"),
        ("d", {"lr": "0.001", "model": "rnn", "seed": 3}, ["version=2"], [], "finished"),
        ("lr=0.5", {"lr": 0.5, "seed": 4}, [], [0.3], "finished"),
    ]
    for name, params, tags, losses, status in specs:
        run = tb.start_run(name, experiment="exp" if name != "d" else "other",
                           params=params, tags=tags)
        for loss in losses:
            run.log(val_loss=loss)
        if name == "a":
            run.log_input("train", [{"x": 1}, {"x": 2}])
        run.end(status)
        made[name] = run.run_id
        time.sleep(0.002)
    return made


def names(where: str | None = None, **kwargs: object) -> list[str]:
    return sorted(tb.runs(where=where, **kwargs)["name"])


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("params.lr > 1e-4", ["a", "c", "lr=0.5"]),  # 'd' has lr as a string: not a number
        ("params.lr = '0.001'", ["a", "d"]),  # a quoted number matches numeric and text
        ("params.lr = 0.001", ["a"]),
        ("params.lr < 'abc'", ["d"]),  # a text literal never matches a numeric param
        ("params.model = 'cnn'", ["a", "c"]),
        ("params.model IN ('cnn', 'rnn')", ["a", "c", "d"]),
        ("params.model NOT IN ('cnn')", ["b", "d", "lr=0.5"]),
        ("params.model > 5", []),  # a number against a string param: false, not an error
        ("params.dropout IS NULL", ["b", "c", "d", "lr=0.5"]),  # absent or None
        ("params.dropout IS NOT NULL", ["a"]),
        ("params.flag = true", ["a", "c"]),
        ("params.flag = 'True'", ["a", "c"]),
        ("params.flag = 'false'", ["b"]),
        ("params.optimizer.lr = 5", ["c"]),
        ("params.model LIKE 'c%'", ["a", "c"]),
        ("params.model ILIKE 'C%'", ["a", "c"]),
        ("params.model RLIKE '^(m|r)'", ["b", "d"]),
        ("metrics.val_loss < 0.5", ["a", "c", "lr=0.5"]),  # last value
        ("metrics.val_loss.min < 0.5", ["a", "c", "lr=0.5"]),
        ("metrics.val_loss.max > 0.85", ["a", "c"]),  # NaN ignored by max
        ("metrics.val_loss.min >= 0.6", ["b"]),
        ("metrics.val_loss IS NULL", ["d"]),
        ("metrics.val_loss < '0.5'", ["a", "c", "lr=0.5"]),
        ("tags.owner = 'ana'", ["a"]),
        ("tags.baseline IS NOT NULL", ["a"]),
        ("tags.baseline = ''", ["a"]),
        ("tags.version = 2", ["d"]),
        ("status = 'finished'", ["a", "d", "lr=0.5"]),
        ("status = 'FAILED'", ["b"]),
        ("attributes.status != 'finished'", ["b", "c"]),
        ("name LIKE 'lr=%'", ["lr=0.5"]),
        ("run_name = 'a' or attr.run_name = 'b'", ["a", "b"]),
        ("experiment = 'other'", ["d"]),
        ("not params.lr > 1e-3", ["a", "b", "d"]),  # NOT is the complement, lr-less included
        ("(params.model = 'cnn' or params.model = 'mlp') and params.seed >= 1", ["b", "c"]),
        ("datasets.name = 'train'", ["a"]),
        ("dataset.name = 'test'", []),
        ("parent_run_id IS NULL", ["a", "b", "c", "d", "lr=0.5"]),
        ("duration_s >= 0", ["a", "b", "c", "d", "lr=0.5"]),
        ("start_time > 0", ["a", "b", "c", "d", "lr=0.5"]),  # epoch milliseconds
        ("start_time > '2000-01-01'", ["a", "b", "c", "d", "lr=0.5"]),
        ("start_time < '2000-01-01T00:00:00Z'", []),
    ],
)
def test_filter_selects(runs_store: dict[str, str], where: str, expected: list[str]) -> None:
    assert names(where) == expected


def test_run_id_prefix_and_like(runs_store: dict[str, str]) -> None:
    run_id = runs_store["b"]
    assert names(f"run_id = '{run_id}'") == ["b"]
    assert names(f"run_id LIKE '{run_id[:6]}%'") == ["b"]


def test_dataset_digest(runs_store: dict[str, str]) -> None:
    digest = tb.get_run(runs_store["a"]).inputs[0]["sha256"]
    assert names(f"datasets.digest = '{digest}'") == ["a"]


def test_experiment_argument(runs_store: dict[str, str]) -> None:
    assert names(experiment="other") == ["d"]
    assert names(experiment=["other", "exp"]) == ["a", "b", "c", "d", "lr=0.5"]
    assert names(experiment="missing") == []


def test_order_by_and_limit(runs_store: dict[str, str]) -> None:
    frame = tb.runs(order_by="metrics.val_loss.min", experiment="exp")
    assert list(frame["name"]) == ["a", "lr=0.5", "c", "b"]
    frame = tb.runs(order_by=["params.model DESC", "name"], limit=3)
    assert list(frame["name"]) == ["d", "b", "a"]
    assert list(tb.runs(limit=2)["name"]) == ["lr=0.5", "d"]  # newest first by default


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("metrics.val_loss < 'low'", "metrics compare with numbers"),
        ("status = 'done'", "unknown status"),
        ("start_time > 'yesterday'", "is not a time"),
        ("duration_s > 'long'", "number of seconds"),
        ("metrics.val_loss LIKE 'x'", "are numbers"),
    ],
)
def test_semantic_errors(runs_store: dict[str, str], where: str, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        tb.runs(where=where)


def test_values_never_reach_sql_text(runs_store: dict[str, str]) -> None:
    hostile = "x'; DROP TABLE core.points; --"
    assert names(f"tags.owner = \"{hostile}\"") == []
    assert names(f"params.`{hostile}` = 1") == []
    assert len(tb.runs()) == 5
    assert tb.get_run(runs_store["a"]).metrics["val_loss"] == 0.2
