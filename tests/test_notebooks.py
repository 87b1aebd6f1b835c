"""The example notebooks, executed headless by nbclient in a real kernel."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import trackbook as tb
from conftest import REPO

pytestmark = pytest.mark.slow


def execute(name: str, folder: Path, store: Path) -> nbformat.NotebookNode:
    notebook = folder / name
    shutil.copyfile(REPO / "notebooks" / name, notebook)
    nb = nbformat.read(notebook, as_version=4)
    env = {"TRACKBOOK_STORE": str(store), "PYTHONPATH": str(REPO / "src"),
           "JPY_SESSION_NAME": str(notebook)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        NotebookClient(nb, timeout=300, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
    finally:
        for key, value in old.items():
            os.environ.pop(key) if value is None else os.environ.__setitem__(key, value)
    return nb


def outputs(nb: nbformat.NotebookNode, index: int) -> list[dict]:
    return list(nb.cells[index].get("outputs", []))


def test_sweep_notebook(tmp_path: Path, store_path: Path) -> None:
    nb = execute("sweep.ipynb", tmp_path, store_path)
    frame = tb.runs(experiment="digits_sweep", order_by="start_time")
    assert len(frame) == 7 and set(frame["status"]) == {"finished"}
    children = frame[frame["parent_run_id"].notna()]
    assert sorted(children["name"]) == sorted(
        f"alpha={a:g} seed={s}" for a in (1e-4, 1e-3, 1e-2) for s in (0, 1))
    assert children["metrics.final_val_acc"].min() > 0.8
    child = tb.get_run(children["run_id"].iloc[-1])
    assert "alpha = 0.01\nseed = 1\n" in child.source
    assert child.lineage["code"]["notebook"].endswith("sweep.ipynb")
    # The live card was replaced by the static card, which a reopened notebook still shows.
    sweep_outputs = outputs(nb, 2)
    html = [o["data"]["text/html"] for o in sweep_outputs if "text/html" in o.get("data", {})]
    assert html and "tb-card" in html[-1] and "6/6 done" in html[-1]
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {})
                   for o in sweep_outputs)
    [board] = [o for o in outputs(nb, 4) if o["output_type"] == "execute_result"]
    assert "params.alpha" in board["data"]["text/plain"]
    assert "mean" in board["data"]["text/plain"]
    [table] = [o for o in outputs(nb, 5) if o["output_type"] == "execute_result"]
    assert "alpha=0.01 seed=1" in table["data"]["text/plain"]


def test_the_demo_runs_the_quickstart_and_says_where_everything_is(tmp_path: Path) -> None:
    """`trackbook demo` as the README runs it: a real process, a real kernel, a fresh store."""
    import subprocess

    from conftest import PYTHON, python_env

    folder = tmp_path / "demo"
    result = subprocess.run([PYTHON, "-m", "trackbook.cli", "demo", str(folder)],
                            env=python_env(), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"store: {folder / 'trackbook.duckdb'}  (9 runs)" in out
    assert "leaderboard (val_loss.min, mean over seeds)" in out
    command = next(line for line in out.splitlines() if " lab " in line).split()
    assert Path(command[0]).name == "jupyter" and command[-1] == str(folder / "quickstart.ipynb")
    assert Path(command[0]).exists()  # the venv's own jupyter: the command works as printed
    assert str(folder / "summary.html") in out
    assert (folder / "summary.html").stat().st_size > 100_000
    assert (folder / "summary.md").read_text().startswith("# quickstart")
    nb = nbformat.read(folder / "quickstart.ipynb", as_version=4)
    errors = [o for cell in nb.cells for o in cell.get("outputs", [])
              if o.get("output_type") == "error"]
    assert errors == []
    shown = [o["data"] for cell in nb.cells for o in cell.get("outputs", []) if "data" in o]
    assert any("application/vnd.jupyter.widget-view+json" in d for d in shown)  # the panel
    panel = next(d for d in shown if "trackbook panel" in d.get("text/plain", ""))
    assert "<table>" in panel["text/html"] and "alpha=0.01 seed=0" in panel["text/html"]
    assert "widgets" not in nb.metadata  # opened untrusted, the snapshot shows; no 1.8 MB state
    assert (folder / "quickstart.ipynb").stat().st_size < 300_000
