"""notebooks/compare.ipynb in real JupyterLab: the panel lists, filters, sorts and compares runs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.browser import labdriver

if TYPE_CHECKING:
    from playwright.sync_api import Page

PANEL = ".jp-Cell:nth-child(5) .tbp"  # the cell that shows tb.panel(...)
ROWS = f"{PANEL} table.tbp-table tbody tr"
FILTER = f"{PANEL} input.tbp-filter"
FOOTER = f"{PANEL} .tbp-footer"


def _footer(page: Page) -> str:
    return page.locator(FOOTER).inner_text()


def _wait_footer(page: Page, text: str) -> None:
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel)?.innerText.includes(text)",
        arg=[FOOTER, text], timeout=20_000)


def _drawn(page: Page, scope: str) -> None:
    """Wait until vega drew into the chart element under ``scope`` (canvas or svg)."""
    page.wait_for_selector(f"{scope} .tbp-chart canvas, {scope} .tbp-chart svg",
                           timeout=30_000)


def test_panel_filters_sorts_and_compares(lab: labdriver.Lab, page: Page,
                                          page_events: labdriver.PageEvents) -> None:
    labdriver.open_notebook(page, lab, "compare.ipynb")
    assert labdriver.run_all(page, timeout=180) == []

    # 12 children and the sweep run, newest first, 25 a page
    page.wait_for_selector(ROWS, timeout=30_000)
    _wait_footer(page, "13 runs")
    assert page.locator(ROWS).count() == 13
    headers = page.locator(f"{PANEL} thead th").all_inner_texts()
    assert any("alpha" in h for h in headers) and any("val_loss" in h for h in headers)
    labdriver.screenshot(page, "panel_table", PANEL)

    # a filter narrows it, in the kernel
    page.fill(FILTER, "params.alpha < 1e-3 and params.penalty = 'l2'")
    page.press(FILTER, "Enter")
    _wait_footer(page, "2 runs")
    assert page.locator(ROWS).count() == 2

    # a bad filter says what and where, and keeps the last good table
    page.fill(FILTER, "params.alpha >> 1")
    page.press(FILTER, "Enter")
    error = page.locator(f"{PANEL} .tbp-filter-error")
    error.wait_for(state="visible", timeout=20_000)
    assert "position" in error.inner_text() or "^" in error.inner_text()
    assert page.locator(ROWS).count() == 2

    # sort by a metric column: click its header
    page.fill(FILTER, "parent_run_id IS NOT NULL")
    page.press(FILTER, "Enter")
    _wait_footer(page, "12 runs")
    page.locator(f"{PANEL} thead th", has_text="val_loss").first.click()
    page.wait_for_selector(f"{PANEL} thead th .tbp-arrow", timeout=20_000)
    column = page.locator(f"{PANEL} thead th").all_inner_texts().index(
        next(h for h in page.locator(f"{PANEL} thead th").all_inner_texts() if "val_loss" in h))
    page.wait_for_timeout(500)
    cells = page.locator(f"{ROWS} td:nth-child({column + 1})").all_inner_texts()
    numbers = [float(c) for c in cells]
    assert numbers == sorted(numbers)

    # select two runs: the compare view draws below the table
    page.locator(f"{ROWS} input[type=checkbox]").nth(0).click()
    page.locator(f"{ROWS} input[type=checkbox]").nth(1).click()
    _wait_footer(page, "2 selected")
    _drawn(page, f"{PANEL} .tbp-compare")
    labdriver.screenshot(page, "panel_compare_curves", PANEL)
    page.locator(f"{PANEL} .tbp-tab[data-tab=params]").click()
    page.wait_for_selector(f"{PANEL} table.tbp-side tr.tbp-diff", timeout=20_000)
    labdriver.screenshot(page, "panel_compare_params", PANEL)
    page.locator(f"{PANEL} .tbp-tab[data-tab=code]").click()
    page.wait_for_selector(f"{PANEL} pre.tbp-code .tbp-add", timeout=20_000)
    page.locator(f"{PANEL} .tbp-tab[data-tab=scatter]").click()
    _drawn(page, f"{PANEL} .tbp-compare")

    # the selection is back in Python: rerun the last cell
    page.evaluate("""() => {
        const panel = window.jupyterapp.shell.currentWidget;
        panel.content.activeCellIndex = panel.content.widgets.length - 1;
        window.jupyterapp.commands.execute('notebook:run-cell');
    }""")
    stdout = ".jp-RenderedText[data-mime-type='application/vnd.jupyter.stdout']"
    page.wait_for_selector(f"{stdout}:has-text('selected: 2 runs')", timeout=30_000)

    # tb.compare and tb.plot drew too (cells 9 and 7)
    _drawn(page, ".jp-Cell:nth-child(9)")
    page.wait_for_selector(".jp-Cell:nth-child(7) .tb-chart canvas, .jp-Cell:nth-child(7) svg",
                           timeout=30_000)
    labdriver.screenshot(page, "compare_widget", ".jp-Cell:nth-child(9)")
    labdriver.set_theme(page, "JupyterLab Dark")
    page.wait_for_timeout(1500)
    labdriver.screenshot(page, "panel_dark", PANEL)
    labdriver.set_theme(page, "JupyterLab Light")
    assert labdriver.cell_errors(page) == []
    assert page_events.console_errors == []
    assert page_events.external_requests == []
