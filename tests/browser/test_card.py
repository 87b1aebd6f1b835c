"""The live run card of a %%track cell in real JupyterLab: it moves while the cell runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import nbformat
from tests.browser import labdriver

if TYPE_CHECKING:
    from playwright.sync_api import Page

SETUP = "%load_ext trackbook\nimport math, time\nimport trackbook as tb"

TRAINING = """\
%%track live-demo -t demo
lr = 0.01
layers = [64, 32]
for step in range(100):
    tb.log(loss=2.3 * math.exp(-step / 30) + 0.05 * math.sin(step / 3),
           val_acc=1 - math.exp(-step / 25))
    time.sleep(0.1)
print("done")
"""

SWEEP = """\
%%track --sweep "lr=[0.1, 0.01] seed=range(2)"
lr = 0.1
seed = 0
for step in range(20):
    tb.log(loss=math.exp(-lr * step * 10) + 0.01 * seed)
{"final": math.exp(-lr * 200)}
"""

LIVE = ".tb-live-card"
# The training cell still runs while its prompt shows [*]. (The kernel status in the status bar
# is no guide: comm traffic makes it flicker to idle while the cell runs.)
RUNNING = "document.querySelector('.jp-Cell:nth-child(2) .jp-InputPrompt').innerText.includes('*')"


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(c) for c in (SETUP, TRAINING, SWEEP)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, path)


def card_text(page: Page) -> str:
    return page.locator(LIVE).first.inner_text()


def test_live_card_updates_while_the_cell_runs(lab: labdriver.Lab, page: Page,
                                               page_events: labdriver.PageEvents) -> None:
    write_notebook(lab.root / "card.ipynb")
    labdriver.open_notebook(page, lab, "card.ipynb")
    # Not awaited: evaluate() would wait for the command's promise, i.e. for every cell.
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
    page.wait_for_selector(f"{LIVE} .tb-card", timeout=60_000)
    page.wait_for_function(f"document.querySelector('{LIVE}').innerText.includes('loss')",
                           timeout=30_000)
    first = card_text(page)
    time.sleep(2.5)
    assert page.evaluate(RUNNING), "the training cell should still be running"
    second = card_text(page)
    labdriver.screenshot(page, "card_live", ".jp-Cell:nth-child(2)")
    assert first != second  # the card moved while the kernel was busy
    assert "running" in second and "live-demo" in second and "lr" in second

    page.wait_for_function(  # the rest finishes: every prompt has its number
        "Array.from(document.querySelectorAll('.jp-CodeCell .jp-InputPrompt'))"
        ".every((p) => /\\[\\d+\\]/.test(p.innerText))", timeout=120_000)
    assert labdriver.cell_errors(page) == []
    # The widget gave way to static HTML, which a reopened notebook still shows.
    assert page.locator(LIVE).count() == 0
    final = page.locator(".jp-Cell:nth-child(2) .tb-card").first.inner_text()
    assert "finished" in final and "val_acc" in final and "@ 99" in final
    sweep = page.locator(".jp-Cell:nth-child(3) .tb-card").first.inner_text()
    assert "4/4 done" in sweep and "lr=0.01 seed=1" in sweep
    labdriver.screenshot(page, "card_final")
    labdriver.set_theme(page, "JupyterLab Dark")
    page.wait_for_timeout(1500)  # the theme's splash fades out
    labdriver.screenshot(page, "card_final_dark")
    labdriver.set_theme(page, "JupyterLab Light")
    assert page_events.console_errors == []
    assert page_events.external_requests == []
