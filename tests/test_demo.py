"""trackbook demo: what it prints once the notebook has run."""

from __future__ import annotations

from pathlib import Path

import pytest

import trackbook as tb
from trackbook import demo


def test_report_shows_the_leaderboard_and_commands_that_work(
        store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(store_path.parent)
    ids = []
    for alpha in (0.01, 0.001):
        for seed in range(2):
            with tb.start_run(params={"alpha": alpha, "seed": seed}) as run:
                run.log(val_loss=alpha * 10 + seed / 100)
            ids.append(run.run_id)
    lines: list[str] = []
    demo.report(store_path.parent, store_path, lines.append)
    text = "\n".join(lines)
    assert f"store: {store_path}  (4 runs)" in text
    board = text.split("leaderboard")[1].split("open it")[0]
    assert board.index("0.001") < board.index("0.01 ")  # best first
    assert ids[2][:8] in board and ids[2] not in board  # ids shown with 8 characters
    lines = text.splitlines()
    command = lines[lines.index("open it in JupyterLab:") + 1].split()
    assert command[1:2] == ["lab"] and command[-1] == "quickstart.ipynb"  # relative to cwd
    assert Path(command[0]).name == "jupyter"
    assert text.rstrip().endswith(f"runs --store {store_path.name}")
