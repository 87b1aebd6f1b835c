"""The panel widget, with the test standing in for the browser: it sends the requests the front
end sends (through the widget's real message dispatcher) and reads the replies."""

from __future__ import annotations

import math
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

import trackbook as tb
from conftest import PYTHON, python_env
from trackbook import panelquery
from trackbook.panelwidget import Panel


@pytest.fixture
def runs() -> list[str]:
    ids = []
    for i, (lr, opt) in enumerate([(1e-4, "adam"), (1e-3, "adam"), (1e-2, "sgd"), (1e-3, "sgd")]):
        with tb.start_run(f"run {i}", experiment="cnn" if i < 3 else "mlp",
                          params={"lr": lr, "opt": opt, "epochs": 10},
                          tags={"owner": "ana"} if i % 2 else None,
                          code=f"lr = {lr}\nopt = {opt!r}\ntrain()\n") as run:
            for step in range(50):
                run.log(loss=math.exp(-step * lr * 100) + i / 10, acc=step / 50)
        ids.append(run.run_id)
    return ids


class Browser:
    """Sends requests the way js/rpc.ts does and collects the panel's replies."""

    def __init__(self, panel: Panel, monkeypatch: pytest.MonkeyPatch) -> None:
        self.panel = panel
        self.replies: list[dict[str, Any]] = []
        monkeypatch.setattr(panel, "send", self.replies.append)
        self.next_id = 0

    def ask(self, name: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        message = {"type": "request", "id": self.next_id, "name": name, "params": params}
        self.panel._msg_callbacks(self.panel, message, [])  # what ipywidgets does on a message
        reply = self.replies[-1]
        assert reply["type"] == "response" and reply["id"] == self.next_id
        return reply

    def data(self, name: str, **params: Any) -> Any:
        reply = self.ask(name, **params)
        assert reply["ok"], reply.get("error")
        return reply["data"]


@pytest.fixture
def browser(runs: list[str], monkeypatch: pytest.MonkeyPatch) -> Browser:
    return Browser(tb.panel(), monkeypatch)


def test_first_page_lists_runs_newest_first_with_default_columns(browser: Browser,
                                                                 runs: list[str]) -> None:
    columns = browser.data("columns")
    assert columns["default"] == ["params.lr", "params.opt", "metrics.acc", "metrics.loss"]
    assert [m["ids"]["min"] for m in columns["metrics"]] == ["metrics.acc.min", "metrics.loss.min"]
    assert columns["experiments"][0] == "mlp" and set(columns["experiments"]) == {"cnn", "mlp"}
    page = browser.data("page", columns=columns["default"])
    assert page["total"] == 4 and page["page"] == 0
    assert [r["run_id"] for r in page["rows"]] == runs[::-1]
    first = page["rows"][-1]
    assert first["values"]["params.lr"] == 1e-4 and first["values"]["params.opt"] == "adam"
    assert first["status"] == "finished" and first["start_time"].endswith("+00:00")


def test_sort_filter_page_and_summary_columns(browser: Browser, runs: list[str]) -> None:
    page = browser.data("page", order_by="metrics.loss.min ASC", page_size=2, page=1,
                        columns=["metrics.loss.min", "metrics.loss.max", "tags.owner"])
    assert page["total"] == 4 and page["page"] == 1 and len(page["rows"]) == 2
    values = [r["values"]["metrics.loss.min"] for r in page["rows"]]
    assert values == sorted(values)
    everything = browser.data("page", order_by="metrics.loss.min ASC",
                              columns=["metrics.loss.min"])
    assert [r["run_id"] for r in everything["rows"]][2:] == [r["run_id"] for r in page["rows"]]
    assert {r["values"]["tags.owner"] for r in page["rows"]} <= {"ana", None}
    narrowed = browser.data("page", where="params.lr >= 1e-3 and params.opt = 'sgd'")
    assert {r["run_id"] for r in narrowed["rows"]} == {runs[2], runs[3]}
    one = browser.data("page", experiment="mlp")
    assert [r["run_id"] for r in one["rows"]] == [runs[3]]
    past_the_end = browser.data("page", page=99, page_size=3)
    assert past_the_end["page"] == 1 and len(past_the_end["rows"]) == 1  # clamped to the last


def test_bad_requests_get_error_replies_with_positions(browser: Browser) -> None:
    reply = browser.ask("page", where="params.lr >> 3")
    assert not reply["ok"]
    assert reply["error"]["kind"] == "FilterError" and reply["error"]["position"] == 11
    assert reply["error"]["text"] == "params.lr >> 3"
    assert "unknown request" in browser.ask("drop_table")["error"]["message"]
    assert "unexpected keyword" in browser.ask("page", sql="SELECT 1")["error"]["message"]
    assert "page_size" in browser.ask("page", page_size=10_000)["error"]["message"]
    assert "not a params." in browser.ask("page", columns=["status"])["error"]["message"]
    assert "not a run id" in browser.ask("compare", runs=["abc"])["error"]["message"]
    assert "unknown chart kind 'pie'" in browser.ask("chart", kind="pie", runs=[])["error"][
        "message"]
    assert "at least 1" in browser.ask("chart", kind="curves", runs=[])["error"]["message"]


def test_compare_marks_what_differs_and_diffs_code(browser: Browser, runs: list[str]) -> None:
    data = browser.data("compare", runs=[runs[1], runs[3]])
    assert [r["run_id"] for r in data["runs"]] == [runs[1], runs[3]]
    params = {p["key"]: p for p in data["params"]}
    assert params["opt"]["differs"] and params["opt"]["values"] == ["adam", "sgd"]
    assert not params["lr"]["differs"] and not params["epochs"]["differs"]
    loss = next(m for m in data["metrics"] if m["key"] == "loss")
    assert loss["min"][0] < loss["min"][1]
    assert "-opt = 'adam'" in data["code_diff"] and "+opt = 'sgd'" in data["code_diff"]
    assert browser.data("compare", runs=runs)["code_diff"] is None  # only for two runs


def test_charts_come_back_as_vega_lite_specs(browser: Browser, runs: list[str]) -> None:
    curves = browser.data("chart", kind="curves", runs=runs[:2], metric="loss", smooth=0.5,
                          width=700)["spec"]
    assert curves["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert curves["width"] == 700
    bands = browser.data("chart", kind="curves", runs=runs, metric="loss",
                         group_by=["opt"])["spec"]
    rows = [r for values in bands["datasets"].values() for r in values]
    assert {r["group"] for r in rows} == {"opt=adam", "opt=sgd"}
    scatter = browser.data("chart", kind="scatter", runs=runs, x="lr", y="loss.min")["spec"]
    assert scatter["encoding"]["x"]["scale"]["type"] == "log"
    parallel = browser.data("chart", kind="parallel", runs=runs, metric="loss.min")["spec"]
    assert "layer" in parallel
    reply = browser.ask("chart", kind="curves", runs=runs[:1], metric="nope")
    assert "their metrics are: acc, loss" in reply["error"]["message"]


def test_selection_comes_back_to_python(browser: Browser, runs: list[str]) -> None:
    panel = browser.panel
    assert panel.runs().empty
    panel.selected = [runs[2], runs[0]]  # what the browser writes when rows are clicked
    frame = panel.runs()
    assert list(frame["run_id"]) == [runs[2], runs[0]]
    assert frame["params.lr"].tolist() == [1e-2, 1e-4]


def test_compare_widget_and_bad_arguments(runs: list[str]) -> None:
    view = tb.compare([runs[0][:8], "run 2"])
    assert view.mode == "compare" and view.fixed_runs == [runs[0], runs[2]]
    assert view.selected == [runs[0], runs[2]]
    with pytest.raises(tb.FilterError, match="position"):
        tb.panel(where="params.lr >> 1")
    panel = tb.panel(experiment="cnn", where="params.lr > 1e-4")
    assert (panel.experiment, panel.where) == ("cnn", "params.lr > 1e-4")
    assert "panel" in repr(panel)


def test_the_panel_notices_runs_logged_by_another_process(runs: list[str], store_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    panel = tb.panel()
    browser = Browser(panel, monkeypatch)
    assert "dropout" not in {p["key"] for p in browser.data("columns")["params"]}
    before = panel.revision
    script = ("import trackbook as tb\n"
              "with tb.start_run('from elsewhere', params={'dropout': 0.1}) as run:\n"
              "    run.log(loss=1.0)\n")
    subprocess.run([PYTHON, "-c", script], env=python_env(), check=True, timeout=60)
    deadline = time.monotonic() + 10
    while panel.revision == before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert panel.revision > before
    page = browser.data("page")
    assert page["total"] == 5 and page["rows"][0]["name"] == "from elsewhere"
    assert "dropout" in {p["key"] for p in browser.data("columns")["params"]}  # not cached
    panel.close()


def test_wire_values_survive_json() -> None:
    assert panelquery.wire(float("nan")) == "nan"
    assert panelquery.wire(float("-inf")) == "-inf"
    assert panelquery.wire(True) is True
    import numpy as np

    assert panelquery.wire(np.int64(3)) == 3 and type(panelquery.wire(np.float32(0.5))) is float


def test_pages_hide_deleted_runs_and_see_renames_and_status(browser: Browser,
                                                           runs: list[str]) -> None:
    tb.delete_runs(ids=[runs[0]])
    tb.rename(runs[1], "zz renamed")
    with tb.start_run("still going"):  # running, ended by the autouse fixture
        page = browser.data("page")
        assert page["total"] == 4 and runs[0] not in {r["run_id"] for r in page["rows"]}
        running = browser.data("page", where="status = 'running'")
        assert [r["name"] for r in running["rows"]] == ["still going"]
    by_name = browser.data("page", order_by="name DESC")
    assert by_name["rows"][0]["name"] == "zz renamed"
    assert browser.data("page", where="params.lr < 1e-3")["total"] == 0  # runs[0] is deleted


# -- the snapshot front ends without widgets show ------------------------------------------------

def test_the_mimebundle_carries_a_snapshot_for_front_ends_without_widgets(runs: list[str]
                                                                          ) -> None:
    with tb.start_run("<script>alert(1)</script>", experiment="cnn", params={"lr": 0.5}):
        pass
    data, _ = tb.panel("cnn")._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in data
    text, html = data["text/plain"], data["text/html"]
    assert text.startswith("trackbook panel · experiment cnn · 4 runs")
    assert "run 0" in text and "run the cell for the live panel" in text
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.count("<tr>") == 1 + 4 and "params.lr" in html and "finished" in html


def test_the_snapshot_says_what_a_filter_left_and_what_compare_shows(runs: list[str]) -> None:
    from trackbook import panelsnapshot

    none = panelsnapshot.snapshot(None, where="params.lr > 1")
    assert "filter params.lr > 1 · 0 runs" in none["text/plain"]
    assert "no runs match" in none["text/plain"] and "<table>" not in none["text/html"]
    data, _ = tb.compare(runs[:2])._repr_mimebundle_()
    assert data["text/plain"].startswith("trackbook compare · the params that differ · 2 runs")
    assert "params.lr" in data["text/plain"] and "params.epochs" not in data["text/plain"]


def test_a_store_that_cannot_be_read_gives_a_line_not_a_traceback(tmp_path: Path) -> None:
    from trackbook import panelsnapshot

    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(b"not a database at all")
    out = panelsnapshot.snapshot(broken)
    assert out["text/plain"].startswith("trackbook panel:") and "not a DuckDB" in out["text/plain"]


def test_the_snapshot_writes_numbers_as_the_live_panel_does() -> None:
    from trackbook.panelsnapshot import number

    # js/format.ts formatValue, case for case
    assert [number(v) for v in [1e-4, 2.5e-5, 0.1608, 1234.5678, 12345, 2.5e7, 3.0, None,
                                True, float("nan"), "adam"]] == [
        "1e-4", "2.5e-5", "0.161", "1230", "12,345", "25,000,000", "3", "–", "true", "nan",
        "adam"]
