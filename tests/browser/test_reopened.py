"""A notebook executed elsewhere (nbclient, as the demo does) and opened in JupyterLab without
running it: no kernel ever drew its widgets, it is not trusted, so JupyterLab shows each output's
fallback. The panel's must be a readable snapshot of the runs, the curves a drawing, not an
object repr."""

from __future__ import annotations

from typing import TYPE_CHECKING

import nbformat
from tests.browser import labdriver

from trackbook import demo

if TYPE_CHECKING:
    from playwright.sync_api import Page

CELLS = [
    "import trackbook as tb\n"
    "for i, lr in enumerate([0.1, 0.01, 0.001]):\n"
    "    with tb.start_run(f'<b>lr={lr}</b>', experiment='reopen', params={'lr': lr}) as run:\n"
    "        for step in range(20):\n"
    "            run.log(loss=1 / (1 + step * lr * 10))\n",
    "tb.panel('reopen')",
    "tb.plot.curves(metric='loss', experiment='reopen')",
]
PANEL = ".jp-Cell:nth-child(2) .jp-OutputArea-output"
CHART = ".jp-Cell:nth-child(3) .jp-OutputArea-output"


def test_a_reopened_notebook_shows_the_panel_snapshot(lab: labdriver.Lab, page: Page,
                                                        page_events: labdriver.PageEvents
                                                        ) -> None:
    notebook = lab.root / "reopened.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    nbformat.write(nb, notebook)
    demo.execute(notebook, lab.root / "reopened.duckdb")

    labdriver.open_notebook(page, lab, "reopened.ipynb")
    page.wait_for_selector(f"{PANEL} table", timeout=30_000)
    text = page.locator(PANEL).inner_text()
    assert "trackbook panel · experiment reopen · 3 runs" in text
    assert "run the cell for the live panel" in text
    rows = page.locator(f"{PANEL} table tbody tr")
    assert rows.count() == 3
    # user-written names are text, never markup
    assert rows.first.locator("td").first.inner_text() == "<b>lr=0.001</b>"
    assert page.locator(f"{PANEL} table b").count() == 0
    assert "finished" in rows.first.inner_text()
    headers = page.locator(f"{PANEL} thead th").all_inner_texts()
    assert headers[:3] == ["name", "status", "params.lr"] and "metrics.loss" in headers
    # the curves: a static drawing (an <img> of SVG; the sanitiser drops inline <svg>)
    image = page.locator(f"{CHART} img")
    image.wait_for(timeout=20_000)
    assert image.get_attribute("src").startswith("data:image/svg+xml;base64,")
    assert page.evaluate(f"document.querySelector('{CHART} img').naturalWidth") > 300
    assert "run the cell for the interactive chart" in page.locator(CHART).inner_text()
    labdriver.screenshot(page, "reopened_panel_snapshot", PANEL)
    labdriver.screenshot(page, "reopened_chart_preview", CHART)
    assert page_events.console_errors == []
    assert page_events.external_requests == []
