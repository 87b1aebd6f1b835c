"""The run API as a user calls it, read back from a real store."""

from __future__ import annotations

import math
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

import trackbook as tb
from conftest import PYTHON, python_env
from trackbook.errors import NoActiveRun, RunNotFound
from trackbook.run import RunEnded


def test_steps_count_per_key_and_follow_explicit_steps() -> None:
    with tb.start_run() as run:
        run.log(loss=1.0, acc=0.1)
        run.log(loss=0.9)
        run.log(acc=0.2, step=10)
        run.log(acc=0.3)
        run.log({"val/loss": 0.5, "val/acc": 0.7})
    snap = tb.get_run(run.run_id)
    assert snap.history("loss")["step"].tolist() == [0, 1]
    assert snap.history("acc")["step"].tolist() == [0, 10, 11]
    assert snap.metrics == {"acc": 0.3, "loss": 0.9, "val/acc": 0.7, "val/loss": 0.5}


def test_nan_and_inf_are_stored_and_summaries_ignore_nan() -> None:
    with tb.start_run() as run:
        for value in [1.0, float("nan"), float("inf"), -2.0, float("-inf"), float("nan")]:
            run.log(x=value)
    snap = tb.get_run(run.run_id)
    history = snap.history("x")["value"].tolist()
    assert math.isnan(history[1]) and history[2] == math.inf and history[4] == -math.inf
    row = snap.metric_summary.iloc[0]
    assert math.isnan(row["last"]) and row["last_step"] == 5
    assert row["min"] == -math.inf and row["min_step"] == 4
    assert row["max"] == math.inf and row["max_step"] == 2 and row["count"] == 6


def test_last_value_at_highest_step_latest_wall_time_wins_ties() -> None:
    with tb.start_run() as run:
        run.log(x=5.0, step=3)
        run.log(x=1.0, step=1)
        time.sleep(0.01)
        run.log(x=7.0, step=3)
    assert tb.get_run(run.run_id).metrics["x"] == 7.0


def test_bad_metric_value_names_the_key_and_the_run_goes_on() -> None:
    with tb.start_run() as run:
        with pytest.raises(TypeError, match="'acc'"):
            run.log(loss=0.5, acc="high")
        with pytest.raises(TypeError, match="step must be an integer"):
            run.log(loss=0.5, step=1.5)
        with pytest.raises(TypeError, match="non-empty strings"):
            run.log({1: 0.5})
        run.log(loss=0.25)
    snap = tb.get_run(run.run_id)
    assert snap.status == "finished"
    assert snap.history("loss")["value"].tolist() == [0.25]


def test_exception_marks_failed_with_traceback_and_propagates() -> None:
    def train() -> tb.ActiveRun:
        with tb.start_run("boom") as run:
            run.log(loss=1.0)
            1 / 0  # noqa: B018
        return run

    with pytest.raises(ZeroDivisionError):
        train()
    run = tb.get_run(tb.runs()["run_id"][0])
    snap = tb.get_run(run.run_id)
    assert snap.status == "failed"
    assert "ZeroDivisionError" in snap.error and "Traceback" in snap.error
    assert snap.metrics == {"loss": 1.0}


def test_keyboard_interrupt_marks_interrupted() -> None:
    with pytest.raises(KeyboardInterrupt), tb.start_run() as run:
        raise KeyboardInterrupt
    assert tb.get_run(run.run_id).status == "interrupted"


def test_nested_runs_are_children_and_module_calls_use_the_innermost() -> None:
    with tb.start_run("parent") as parent:
        tb.log(outer=1.0)
        with tb.start_run("child") as child:
            assert tb.active_run() is child
            tb.log(inner=2.0)
            tb.log_params(depth=2)
        assert tb.active_run() is parent
    assert tb.active_run() is None
    assert tb.get_run(child.run_id).parent_run_id == parent.run_id
    assert tb.get_run(child.run_id).params == {"depth": 2}
    assert tb.get_run(parent.run_id).metrics == {"outer": 1.0}


def test_module_calls_without_a_run_raise() -> None:
    for call in (lambda: tb.log(x=1.0), lambda: tb.log_params(a=1), lambda: tb.tag("x"),
                 lambda: tb.note("n")):
        with pytest.raises(NoActiveRun, match="start_run"):
            call()


def test_module_log_from_another_thread_reaches_the_active_run() -> None:
    run = tb.start_run()
    worker = threading.Thread(target=lambda: [tb.log(t=float(i)) for i in range(100)])
    worker.start()
    worker.join()
    run.end()
    assert tb.get_run(run.run_id).metric_summary["count"].tolist() == [100]


def test_run_without_with_stays_active_until_end() -> None:
    run = tb.start_run("manual")
    run.log(x=1.0)
    assert tb.active_run() is run
    live = tb.get_run(run.run_id)
    assert live.status == "running" and live.metrics == {"x": 1.0}  # visible before the end
    frame = tb.runs()
    assert frame.loc[0, "status"] == "running" and frame.loc[0, "duration_s"] >= 0
    run.end()
    assert tb.active_run() is None
    with pytest.raises(RunEnded):
        run.log(x=2.0)
    assert tb.get_run(run.run_id).status == "finished"


def test_resume_continues_steps_and_status() -> None:
    with tb.start_run("long") as run:
        run.log(loss=1.0)
        run.log(loss=0.8)
    with tb.start_run(resume=run.run_id[:8]) as again:
        assert again.run_id == run.run_id and again.name == "long"
        again.log(loss=0.5)
    snap = tb.get_run(run.run_id)
    assert snap.history("loss")["step"].tolist() == [0, 1, 2]
    assert snap.status == "finished" and snap.end_time > snap.start_time


def test_params_tags_notes() -> None:
    with tb.start_run(params={"lr": 1e-3, "opt": {"name": "adam"}}, tags=["baseline"],
                      note="first try") as run:
        run.log_params({"layers": [64, 32]}, seed=7)
        run.tag("smoke", owner="ana")
        run.tag({"team": "vision"}, ["stage=dev"])
        run.untag("smoke")
        run.note("1e-3 diverged after epoch 8")
    snap = tb.get_run(run.run_id)
    assert snap.params == {"lr": 1e-3, "opt.name": "adam", "layers": [64, 32], "seed": 7}
    assert snap.tags == {"baseline": "", "owner": "ana", "team": "vision", "stage": "dev"}
    assert snap.note == "first try\n1e-3 diverged after epoch 8"


def test_tag_and_note_a_finished_run_by_id() -> None:
    with tb.start_run() as run:
        pass
    tb.tag("reviewed", owner="bob", run=run.run_id[:7])
    tb.note("looks fine", run=run.run_id)
    snap = tb.get_run(run.run_id)
    assert snap.tags == {"reviewed": "", "owner": "bob"} and snap.note == "looks fine"


def test_later_param_value_wins() -> None:
    with tb.start_run(params={"lr": 1}) as run:
        run.log_params(lr=2)
    assert tb.get_run(run.run_id).params["lr"] == 2


def test_artifacts_are_content_addressed_and_deduplicated(tmp_path: Path,
                                                          store_path: Path) -> None:
    model = tmp_path / "model.bin"
    model.write_bytes(b"weights" * 1000)
    folder = tmp_path / "ckpt"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.txt").write_text("a")
    (folder / "sub" / "b.txt").write_text("b")
    with tb.start_run() as run:
        first = run.log_artifact(model)
        second = run.log_artifact(model, name="copy.bin")
        run.log_artifact(folder)
        run.log_text("# report", "report.md")
        run.log_table(pd.DataFrame({"pred": [0, 1], "n": [3, 4]}), "confusion")
    assert first["sha256"] == second["sha256"]
    blobs = [p for p in (Path(str(store_path) + ".artifacts")).rglob("*") if p.is_file()]
    assert not [p for p in blobs if p.name.startswith(".tmp")]
    snap = tb.get_run(run.run_id)
    assert set(snap.artifacts) == {"model.bin", "copy.bin", "ckpt", "report.md",
                                   "confusion.parquet"}
    assert snap.artifacts["model.bin"].path.read_bytes() == model.read_bytes()
    assert snap.artifacts["ckpt"].kind == "folder"
    assert snap.artifacts["confusion.parquet"].meta["rows"] == 2
    assert pd.read_parquet(snap.artifacts["confusion.parquet"].path)["n"].tolist() == [3, 4]


def test_bad_artifacts_are_refused_clearly(tmp_path: Path) -> None:
    with tb.start_run() as run:
        with pytest.raises(FileNotFoundError, match="does not exist"):
            run.log_artifact(tmp_path / "missing.pt")
        with pytest.raises(ValueError, match="relative file name"):
            run.log_text("x", "../escape.txt")
        with pytest.raises(TypeError, match="log_figure"):
            run.log_figure(object())


def test_log_figure_matplotlib_and_altair() -> None:
    import altair as alt
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_line().encode(x="x")
    with tb.start_run() as run:
        run.log_figure(fig, "curve")
        run.log_figure(chart, "chart")
    arts = tb.get_run(run.run_id).artifacts
    assert arts["curve.png"].path.read_bytes()[:4] == b"\x89PNG"
    assert arts["chart.vl.json"].meta["media_type"] == "application/vnd.vegalite+json"


def test_log_input_path_and_dataframe(tmp_path: Path) -> None:
    data = tmp_path / "train.parquet"
    frame = pd.DataFrame({"x": range(10), "y": list("abcdefghij")})
    frame.to_parquet(data)
    with tb.start_run() as run:
        run.log_input("train", data)
        run.log_input("test", frame)
        with pytest.raises(FileNotFoundError):
            run.log_input("gone", tmp_path / "nope.csv")
    inputs = {i["name"]: i for i in tb.get_run(run.run_id).inputs}
    assert inputs["train"]["kind"] == "file" and inputs["train"]["n_rows"] == 10
    assert inputs["test"]["n_columns"] == 2 and inputs["test"]["schema"]["y"]
    assert len(inputs["train"]["sha256"]) == 64


def test_runs_columns_order_and_types() -> None:
    with tb.start_run("one", experiment="e", params={"b": 1, "a": "x", "flag": True},
                      tags={"t": "v"}) as run:
        run.log(z=1.0, y=2.0)
    frame = tb.runs()
    assert list(frame.columns) == [
        "run_id", "name", "experiment", "status", "start_time", "end_time", "duration_s",
        "parent_run_id", "params.a", "params.b", "params.flag", "metrics.y", "metrics.z",
        "tags.t"]
    assert str(frame["start_time"].dt.tz) == "UTC"
    assert frame.loc[0, "params.b"] == 1 and frame["params.b"].dtype.kind == "i"
    assert frame.loc[0, "params.flag"] is True or frame.loc[0, "params.flag"] == True  # noqa: E712
    assert frame.loc[0, "metrics.y"] == 2.0


def test_empty_store_lists_no_runs() -> None:
    tb.start_run().end()
    assert list(tb.runs(where="name = 'nothing'").columns)[:8] == [
        "run_id", "name", "experiment", "status", "start_time", "end_time", "duration_s",
        "parent_run_id"]


def test_prefix_resolution() -> None:
    with tb.start_run("unique-name") as run:
        pass
    assert tb.get_run(run.run_id[:6]).run_id == run.run_id
    assert tb.get_run(run.run_id.upper()).run_id == run.run_id
    assert tb.get_run("unique-name").run_id == run.run_id
    with pytest.raises(RunNotFound, match="too short"):
        tb.get_run(run.run_id[:4])
    with pytest.raises(RunNotFound, match="no run id starts with"):
        tb.get_run("ffffffffffff0000" if not run.run_id.startswith("ffff") else "0000000000")


def test_ambiguous_prefix_lists_the_candidates(monkeypatch: pytest.MonkeyPatch) -> None:
    made = iter(["abcdef0000000001", "abcdef0000000002"])
    monkeypatch.setattr("trackbook.ids.new_run_id", lambda: next(made))
    for name in ("first", "second"):
        tb.start_run(name).end()
    with pytest.raises(RunNotFound, match="matches several runs") as info:
        tb.get_run("abcdef")
    assert "abcdef00  first" in str(info.value) and "abcdef00  second" in str(info.value)


def test_default_experiment_and_name(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    with tb.start_run() as plain:
        pass
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "cnn_lr_sweep.ipynb"))
    with tb.start_run() as in_notebook:
        pass
    assert tb.get_run(plain.run_id).experiment == "default"
    assert tb.get_run(in_notebook.run_id).experiment == "cnn_lr_sweep"
    assert len(plain.name.split("-")) == 3


def test_lineage_of_a_script_run(tmp_path: Path, store_path: Path) -> None:
    script = tmp_path / "train.py"
    script.write_text(
        "import trackbook as tb\n"
        "with tb.start_run('scripted', params={'seed': 3}) as run:\n"
        "    run.log(loss=0.5)\n"
        "print(run.run_id)\n"
    )
    out = subprocess.run([PYTHON, str(script)], capture_output=True, text=True, check=True,
                         env=python_env(TRACKBOOK_STORE=str(store_path)), cwd=tmp_path)
    snap = tb.get_run(out.stdout.strip())
    assert snap.source == script.read_text()
    assert snap.lineage["entry_point"]["kind"] == "script"
    assert snap.lineage["environment"]["python"]
    assert "duckdb" in snap.lineage["environment"]["packages"]
    assert snap.lineage["seeds"] == {"seed": 3}
    assert snap.status == "finished"


def test_script_exits_with_an_unended_run(tmp_path: Path, store_path: Path) -> None:
    code = ("import trackbook as tb\nrun = tb.start_run('left open')\nrun.log(x=1.0)\n"
            "print(run.run_id, flush=True)\n")
    out = subprocess.run([PYTHON, "-c", code], capture_output=True, text=True, check=True,
                         env=python_env(TRACKBOOK_STORE=str(store_path)))
    assert tb.get_run(out.stdout.strip()).status == "finished"
    crash = code + "raise SystemExit('bad config')\n"
    out = subprocess.run([PYTHON, "-c", crash.replace("SystemExit", "ValueError")],
                         capture_output=True, text=True,
                         env=python_env(TRACKBOOK_STORE=str(store_path)))
    failed = tb.get_run(out.stdout.strip())
    assert failed.status == "failed" and "ValueError: bad config" in failed.error
    assert failed.metrics == {"x": 1.0}


def test_disabled_mode_records_nothing(monkeypatch: pytest.MonkeyPatch, store_path: Path
                                       ) -> None:
    monkeypatch.setenv("TRACKBOOK_MODE", "disabled")
    with tb.start_run("ghost", params={"a": 1}) as run:
        run.log(x=1.0)
        tb.log(y=2.0)
        tb.tag("t")
    tb.log(z=1.0)
    assert not store_path.exists()
    assert not Path(str(store_path) + ".spool").exists()


def test_rename_delete_restore() -> None:
    with tb.start_run("sweep") as parent:
        with tb.start_run("child"):
            pass
    with tb.start_run("keep"):
        pass
    tb.rename(parent.run_id, "lr sweep")
    assert tb.get_run(parent.run_id).name == "lr sweep"
    deleted = tb.delete_runs(where="name = 'lr sweep'")
    assert len(deleted) == 2  # the child goes with its parent
    assert tb.runs()["name"].tolist() == ["keep"]
    assert tb.sql("SELECT count(*) AS n FROM params")["n"][0] == 0
    assert tb.restore_runs(ids=[parent.run_id[:8]]) == deleted
    assert sorted(tb.runs()["name"]) == ["child", "keep", "lr sweep"]
    with pytest.raises(ValueError, match="say which runs"):
        tb.delete_runs()


def test_sql_reads_views_and_refuses_writes() -> None:
    with tb.start_run("q") as run:
        run.log(loss=0.1)
    frame = tb.sql("SELECT r.name, m.last FROM runs r JOIN metric_summary m USING (run_id) "
                   "WHERE m.key = $key", {"key": "loss"})
    assert frame.to_dict("records") == [{"name": "q", "last": 0.1}]
    for statement in ("DELETE FROM core.points", "DROP VIEW runs", "COPY runs TO 'x.csv'",
                      "ATTACH 'x.duckdb'", "SELECT 1; DELETE FROM core.points",
                      "CREATE TABLE t AS SELECT 1", "INSTALL httpfs"):
        with pytest.raises((tb.ReadOnlyQuery, tb.QueryError)):
            tb.sql(statement)
    assert tb.get_run(run.run_id).metrics == {"loss": 0.1}
    with pytest.raises(tb.QueryError, match="Views: runs"):
        tb.sql("SELECT * FROM nothing_here")


def test_runs_render_as_cards() -> None:
    with tb.start_run("<b>shown as text</b>", params={"lr": 1e-4}) as run:
        for i in range(300):
            run.log(loss=1 / (i + 1))
        live_html = run._repr_html_()
    html = tb.get_run(run.run_id)._repr_html_()
    for page in (live_html, html):
        assert "&lt;b&gt;shown as text&lt;/b&gt;" in page and "<b>shown" not in page
        assert "lr" in page and "1.00e-04" in page
    assert "<polyline" in html and "finished" in html and "@ 299" in html
    assert "<script" not in html
