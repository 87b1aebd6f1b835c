"""%%track and %trackbook in a real IPython shell, read back from a real store."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from IPython import get_ipython
from IPython.testing.globalipapp import start_ipython

import trackbook as tb
from trackbook import cells, sweeps


@pytest.fixture(scope="module")
def shell() -> Any:
    start_ipython()  # once per process: other test modules may have started it already
    ip = get_ipython()
    ip.run_cell("%load_ext trackbook")
    return ip


@pytest.fixture
def ip(shell: Any) -> Any:
    for name in ("lr", "seed", "layers", "cfg", "x", "model", "_private", "result"):
        shell.user_ns.pop(name, None)
    return shell


def run(ip: Any, cell: str) -> Any:
    return ip.run_cell(cell, store_history=True)


def latest() -> tb.Run:
    return tb.get_run(tb.runs(order_by="start_time DESC", limit=1)["run_id"][0])


def test_cell_becomes_a_run_with_literal_params(ip: Any, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    result = run(ip, """%%track first
lr = -1e-3
layers = [64, 32]
cfg = {'opt': 'adam', 'beta': 0.9}
model: str = 'cnn'
_private = 3
x = abs(lr) * 2
lr = 3e-4
print("hello from the cell")
""")
    assert result.success
    assert ip.user_ns["x"] == 2e-3 and ip.user_ns["lr"] == 3e-4  # the namespace as usual
    snap = latest()
    assert snap.name == "first" and snap.status == "finished"
    assert snap.params == {"lr": 3e-4, "layers": [64, 32], "cfg.opt": "adam", "cfg.beta": 0.9,
                           "model": "cnn"}  # literals only, last wins, no _private, no x
    assert "hello from the cell" in capsys.readouterr().out
    assert snap.artifacts["output.txt"].path.read_text() == "hello from the cell\n"
    assert snap.source.startswith("lr = -1e-3")
    assert snap.lineage["code"]["execution_count"] is not None
    assert any("%%track first" in c for c in snap.lineage["history"])


def test_overrides_rewrite_the_recorded_code(ip: Any) -> None:
    run(ip, "%%track -p lr=0.1 -p tag=\"a b\" -p epochs=5\nlr = 1e-3\nprint(lr)\n")
    snap = latest()
    assert ip.user_ns["lr"] == 0.1
    assert snap.params == {"lr": 0.1, "tag": "a b", "epochs": 5}
    assert snap.source == "lr = 0.1\nprint(lr)\n"  # the record is what ran
    assert ip.user_ns["epochs"] == 5  # not assigned by the cell: set before it ran


def test_last_expression_is_the_result_and_a_dict_of_numbers_becomes_metrics(ip: Any) -> None:
    result = run(ip, "%%track\nimport trackbook as tb\ntb.log(loss=0.5)\n{'acc': 0.9, 'f1': 1}\n")
    assert result.result == {"acc": 0.9, "f1": 1}
    assert latest().metrics == {"acc": 0.9, "f1": 1.0, "loss": 0.5}
    assert run(ip, "%%track\n3 + 4\n").result == 7
    assert run(ip, "%%track\n3 + 4;\n").result is None  # a trailing ; hides it, as usual


def test_exception_fails_the_cell_and_the_run(ip: Any) -> None:
    result = run(ip, "%%track boom\nx = 1\nraise ValueError('diverged at epoch 8')\n")
    assert not result.success
    assert isinstance(result.error_in_exec, ValueError)
    snap = latest()
    assert snap.status == "failed" and "diverged at epoch 8" in snap.error
    assert ip.user_ns["x"] == 1


def test_interrupt_marks_interrupted(ip: Any) -> None:
    result = run(ip, "%%track\nraise KeyboardInterrupt\n")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert latest().status == "interrupted"


def test_options_experiment_tags_note(ip: Any) -> None:
    run(ip, "%%track tagged -e vision -t baseline,owner=ana -t stage=dev --note 'first try'\n"
            "x = 1\n")
    snap = latest()
    assert snap.experiment == "vision"
    assert snap.tags == {"baseline": "", "owner": "ana", "stage": "dev"}
    assert snap.note == "first try"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%%track --bogus", "unrecognized arguments"),
        ("%%track -p lr", "NAME=VALUE"),
        ("%%track -p 1x=2", "NAME=VALUE"),
        ("%%track --sweep 'lr=[1,'", "unbalanced"),
        ("%%track --sweep 'lr='", "name=values"),
        ("%%track --sweep 'lr=[]'", "no values"),
        ("%%track --sweep 'lr=f(1)'", "literal"),
        ("%%track --sweep 'seed=range(3)' -p seed=1", "both swept and set"),
        ("%%track -e ''", "experiment name"),
        ("%%track 'unclosed", "No closing quotation"),
        ("%%track --resume abc", "%%track: "),  # no such store yet, or a too-short prefix
        ("%%track -e", "expected one argument"),
        ("%%track one two", "unrecognized arguments: two"),
    ],
)
def test_argument_errors_are_usage_messages_and_the_cell_does_not_run(
        ip: Any, line: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    before = len(tb.runs()) if Path(tb.init().path).exists() else 0
    result = run(ip, f"{line}\nx = 'ran'\n")
    assert not result.success
    assert message in str(result.error_in_exec)
    assert "\n" not in str(result.error_in_exec)  # one line
    assert "Traceback" not in capsys.readouterr().out
    assert "x" not in ip.user_ns
    after = len(tb.runs()) if Path(tb.init().path).exists() else 0
    assert after == before


def test_help_is_shown_once_and_the_cell_does_not_run(
        ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = run(ip, "%%track --help\nx = 'ran'\n")
    assert result.success and "x" not in ip.user_ns
    assert capsys.readouterr().out.count("usage: %%track") == 1
    # IPython refuses a cell magic with an empty cell, and then points to the line magic.
    assert run(ip, "%track").success
    assert "--sweep SWEEP" in capsys.readouterr().out
    assert "line magic %track" in str(run(ip, "%%track --help").error_in_exec)


def test_execution_count_is_the_cells_number(ip: Any) -> None:
    run(ip, "%%track counted\nx = 1\n1/0\n")
    number = ip.execution_count - 1  # the cell that just ran, in IPython 8 and 9 alike
    assert latest().lineage["code"]["execution_count"] == number


def test_ipython_syntax_in_the_cell(ip: Any) -> None:
    result = run(ip, "%%track -p lr=0.5\nlr = 0.1\n%time y = lr * 2\nx = y\n")
    assert result.success
    assert ip.user_ns["x"] == 1.0
    assert latest().params == {"lr": 0.5}


def test_sweep_runs_each_combination_as_a_child(ip: Any) -> None:
    result = run(ip, '%%track grid --sweep "lr=[0.1, 0.2]; seed=range(2)"\n'
                     "lr = 9.0\nseed = 9\nimport trackbook as tb\ntb.log(score=lr + seed)\n")
    assert result.success
    frame = tb.runs(order_by="start_time")
    parent = frame[frame["name"] == "grid"].iloc[0]
    children = frame[frame["parent_run_id"] == parent["run_id"]]
    assert parent["status"] == "finished"
    assert parent["params.sweep"] == "lr=[0.1, 0.2]; seed=range(2)"
    assert children["name"].tolist() == ["lr=0.1 seed=0", "lr=0.1 seed=1", "lr=0.2 seed=0",
                                         "lr=0.2 seed=1"]
    assert children["metrics.score"].tolist() == [0.1, 1.1, 0.2, 1.2]
    assert set(children["status"]) == {"finished"}
    child = tb.get_run(children["run_id"].iloc[3])
    assert child.source.startswith("lr = 0.2\nseed = 1\n")


def test_failed_child_does_not_stop_the_sweep_but_fails_it(ip: Any) -> None:
    result = run(ip, '%%track --sweep "seed=range(3)"\nseed = 0\n'
                     "if seed == 1:\n    raise ValueError('bad seed')\n")
    assert not result.success
    assert "1 of 3 sweep runs failed: seed=1" in str(result.error_in_exec)
    frame = tb.runs(order_by="start_time")
    assert frame["status"].tolist() == ["failed", "finished", "failed", "finished"]


def test_fail_fast_skips_the_rest(ip: Any) -> None:
    run(ip, '%%track --fail-fast --sweep "seed=range(4)"\nseed = 0\n'
            "if seed == 1:\n    raise ValueError('bad seed')\n")
    frame = tb.runs(order_by="start_time")
    statuses = dict(zip(frame["name"], frame["status"], strict=True))
    assert statuses["seed=0"] == "finished" and statuses["seed=1"] == "failed"
    assert statuses["seed=2"] == statuses["seed=3"] == "skipped"


def test_interrupted_sweep_marks_what_did_not_run(ip: Any) -> None:
    result = run(ip, '%%track --sweep "seed=range(4)"\nseed = 0\n'
                     "if seed == 2:\n    raise KeyboardInterrupt\n")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    frame = tb.runs(order_by="start_time")
    statuses = dict(zip(frame["name"], frame["status"], strict=True))
    assert statuses["seed=0"] == statuses["seed=1"] == "finished"
    assert statuses["seed=2"] == "interrupted" and statuses["seed=3"] == "skipped"
    assert statuses['sweep seed=range(4)'] == "interrupted"


def test_already_tried_is_said_and_skip_if_done_skips(ip: Any,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    cell = "%%track\nlr = 0.01\nimport trackbook as tb\ntb.log(loss=0.25)\nresult = 'ran'\n"
    run(ip, cell)
    first = latest()
    capsys.readouterr()
    run(ip, cell)
    assert f"already tried: this cell ran with the same params as run {first.run_id[:8]}" \
        in capsys.readouterr().out
    assert len(tb.runs()) == 2
    ip.user_ns.pop("result")
    run(ip, cell.replace("%%track", "%%track --skip-if-done"))
    out = capsys.readouterr().out
    assert "skipped: this cell already ran" in out and "loss=0.25" in out
    assert "result" not in ip.user_ns and len(tb.runs()) == 2
    run(ip, cell.replace("%%track", "%%track --skip-if-done -p lr=0.02"))  # new params: runs
    assert ip.user_ns["result"] == "ran" and len(tb.runs()) == 3


def test_resume_continues_a_run(ip: Any) -> None:
    run(ip, "%%track long\nimport trackbook as tb\ntb.log(loss=1.0)\n")
    first = latest()
    run(ip, f"%%track --resume {first.run_id[:8]}\nimport trackbook as tb\ntb.log(loss=0.5)\n")
    snap = tb.get_run(first.run_id)
    assert len(tb.runs()) == 1
    assert snap.history("loss")["step"].tolist() == [0, 1]


def test_quiet_shows_no_card(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    run(ip, "%%track --quiet\nx = 1\n")
    assert "RunCard" not in capsys.readouterr().out
    run(ip, "%%track\nx = 1\n")
    assert "RunCard" in capsys.readouterr().out  # the terminal shell prints the widget's repr


def test_line_magic(ip: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(ip, "%trackbook experiment cnn_lr_sweep")
    run(ip, "%%track\nx = 1\n")
    assert latest().experiment == "cnn_lr_sweep"
    run(ip, "%trackbook status")
    out = capsys.readouterr().out
    assert "experiment: cnn_lr_sweep" in out and "active run: none" in out
    frame = run(ip, "%trackbook runs --where \"experiment = 'cnn_lr_sweep'\"").result
    assert len(frame) == 1
    bad = run(ip, "%trackbook runs --where 'metrics.x <'")
    assert "expected a value" in str(bad.error_in_exec)
    other = tmp_path / "other.duckdb"
    run(ip, f"%trackbook store {other}")
    assert tb.init().path == str(other)
    assert "created by the first run" in capsys.readouterr().out
    unknown = str(run(ip, "%trackbook frobnicate").error_in_exec)
    assert "unknown command 'frobnicate'" in unknown and "runs, status, export" in unknown
    assert "\n" not in unknown  # one line, not the whole help
    wrong = str(run(ip, "%trackbook runs --limit many").error_in_exec).splitlines()
    assert wrong == ["%trackbook runs: argument --limit: invalid int value: 'many'",
                     "usage: %trackbook runs [--where F] [--experiment E] [--limit N]   the runs"
                     " as a table"]


def test_live_stats_follow_a_hot_loop(ip: Any) -> None:
    """The card's data path (writer drains -> live stats -> card state) on a 1M-point loop."""
    tb.start_run().end()  # the writer thread is up, as in any kernel after its first run
    with tb.start_run() as active:
        live = active.watch()
        states: list[dict[str, Any]] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.wait(0.25):
                states.append(active.card_state())

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        try:
            for i in range(1_000_000):
                active.log(loss=1.0 / (i + 1))
            deadline = time.monotonic() + 15  # the writer drains while the card still polls
            while (active.card_state()["metrics"][0]["count"] < 1_000_000
                   and time.monotonic() < deadline):
                time.sleep(0.1)
            # Still running, and the card already shows every point: it followed the loop.
            assert active.card_state()["metrics"][0]["count"] == 1_000_000
        finally:
            stop.set()
            poller.join()
    final = active.card_state()["metrics"][0]
    assert final["count"] == 1_000_000 and final["last"] == pytest.approx(1e-6)
    assert len(final["spark"]) <= 2 * 120 + 1
    assert live.keys["loss"].minimum == pytest.approx(1e-6)
    counts = [s["metrics"][0]["count"] for s in states if s["metrics"]]
    assert counts == sorted(counts)  # counts only grow (drained + waiting, no overlap)


def test_cells_helpers() -> None:
    assert cells.params("a = 1\nb: float = -2.5\nc = f(3)\na = 'x'\n") == {"a": "x", "b": -2.5}
    assert cells.params("not python at all ((") == {}
    source, inject = cells.override("lr  =  1e-3  # comment\nlr = 2\n", {"lr": 0.5, "z": 1})
    assert source == "lr  =  0.5  # comment\nlr = 0.5\n" and inject == {"z": 1}
    assert cells.override("name = 'é'; x = 1\n", {"x": 2})[0] == "name = 'é'; x = 2\n"
    assert cells.numeric_dict({"a": 1, "b": 2.5}) == {"a": 1.0, "b": 2.5}
    assert cells.numeric_dict({"a": "x"}) is None and cells.numeric_dict({}) is None


def test_sweep_spec_parsing() -> None:
    assert sweeps.parse("lr=[1e-4, 1e-3] seed=range(3)") == {"lr": [1e-4, 1e-3],
                                                             "seed": [0, 1, 2]}
    assert sweeps.parse("opt=['adam', 'sgd'];  depth = (2, 4)") == {"opt": ["adam", "sgd"],
                                                                   "depth": [2, 4]}
    assert sweeps.parse("flag=True") == {"flag": [True]}
    assert len(sweeps.combinations(sweeps.parse("a=range(3) b=range(4)"))) == 12
    for bad in ("lr", "lr=[1,2] lr=[3]", "1x=[1]", "a=range(1.5)", "a=range(100000)"
                " b=range(100)"):
        with pytest.raises(sweeps.SweepSpecError):
            sweeps.parse(bad)


def test_load_ext_is_light() -> None:
    import subprocess

    code = ("import sys; from IPython.testing.globalipapp import start_ipython; "
            "ip = start_ipython(); ip.run_cell('%load_ext trackbook'); "
            "print(sorted(m for m in ('pandas', 'altair', 'anywidget', 'duckdb') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"


def test_a_sweep_run_renders_its_children(ip: Any) -> None:
    run(ip, '%%track grid --sweep "seed=range(3)"\nseed = 0\nimport trackbook as tb\n'
            "tb.log(score=seed * 2)\n")
    frame = tb.runs()
    parent = tb.get_run(frame[frame["name"] == "grid"]["run_id"].iloc[0])
    html = parent._repr_html_()
    assert "3/3 done" in html and "seed=2" in html and "score" in html
