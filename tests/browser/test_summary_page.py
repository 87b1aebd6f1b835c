"""The exported summary opened from disk (``file://``) in headless Chromium, offline.

Every request the page makes is recorded and anything but the file itself is aborted (and
fails the test); the charts must draw, nothing may log an error, a run named like a script
must show as text without running, and the tables must sort by a click. Screenshots, light
and dark, go to tests/browser/screenshots/summary_*.png.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

import trackbook as tb

from .labdriver import SCREENSHOTS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

EVIL = "</script><script>alert(1)</script>"
# Best values chosen so that text order and number order differ (10 < 9 as text).
BEST = {"lr=0.1": 0.5, "lr=0.03": 9.0, "lr=0.01": 10.0, "lr=0.003": 100.0, EVIL: 2.5}


@pytest.fixture
def summary(tmp_path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for i, (name, best) in enumerate(BEST.items()):
        lr = [0.1, 0.03, 0.01, 0.003, 0.05][i]
        with tb.start_run(name, experiment="summary_page", params={"lr": lr, "depth": 2 + i % 2},
                          tags={"owner": "ana"} if i else ["baseline"],
                          code=f"lr = {lr}\ntrain(lr)\n") as run:
            for step in range(300):
                run.log(val_loss=best + 3 * math.exp(-step * lr),
                        val_acc=0.5 + 0.4 * (1 - 1 / (1 + step * lr)), step=step)
            run.note("<b>not bold</b> & fine" if i == 1 else f"note {i}")
            if i == 0:
                fig, ax = plt.subplots(figsize=(4, 3))
                ax.plot([0, 1, 2], [2, 0, 1])
                run.log_figure(fig, "confusion")
                plt.close(fig)
    return Path(tb.export_summary(tmp_path / "summary.html", experiment="summary_page"))


@pytest.fixture
def browser(page: Page) -> Browser:
    browser = page.context.browser
    assert browser is not None
    return browser


class Watch:
    """A fresh browser context that records every request, dialog and console error."""

    def __init__(self, browser: Browser, scheme: str) -> None:
        self.context = browser.new_context(viewport={"width": 1366, "height": 900},
                                           color_scheme=scheme)  # type: ignore[arg-type]
        self.requests: list[str] = []
        self.blocked: list[str] = []
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", self._dialog)
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error"
                     else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def _route(self, route: Any, request: Any) -> None:
        if request.url.startswith("file://"):
            route.continue_()
        else:
            self.blocked.append(request.url)
            route.abort("blockedbyclient")

    def _dialog(self, dialog: Any) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def outside(self) -> list[str]:
        return self.blocked + [u for u in self.requests
                               if not u.startswith(("file://", "data:", "blob:", "about:"))]


@pytest.fixture(params=["light", "dark"])
def watched(request: pytest.FixtureRequest, browser: Browser) -> Iterator[Watch]:
    watch = Watch(browser, request.param)
    yield watch
    watch.context.close()


def _open(watch: Watch, summary: Path) -> Page:
    page = watch.page
    page.goto(summary.as_uri())
    page.wait_for_function("document.body.dataset.charts", timeout=30_000)
    return page


def _names(page: Page, table: str) -> list[str]:
    """The run named in each row of a table, top to bottom."""
    return list(page.eval_on_selector_all(
        f"#{table} tbody tr", "rows => rows.map(r => r.querySelector('.runlink').textContent)"))


def _sort(page: Page, table: str, column: str) -> Any:
    """Click the header of ``column``; return that header cell."""
    button = page.locator(f"#{table} thead th button",
                          has_text=re.compile(f"^{re.escape(column)}$"))
    button.click()
    return button.locator("..")


def test_summary_opens_offline_draws_and_sorts(watched: Watch, summary: Path,
                                              request: pytest.FixtureRequest) -> None:
    page = _open(watched, summary)
    scheme = request.node.callspec.params["watched"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"summary_{scheme}.png"), full_page=True)
    page.screenshot(path=str(SCREENSHOTS / f"summary_{scheme}_top.png"))
    assert page.evaluate("document.body.dataset.charts") == "done"
    charts = page.eval_on_selector_all(
        ".chart", "els => els.map(el => !!el.querySelector('svg, canvas'))")
    assert charts == [True, True]  # val_loss and val_acc, each drawn
    # The run named like a script is text on the page, and it never ran.
    assert EVIL in (page.text_content("body") or "")
    assert page.eval_on_selector_all("script", "els => els.length") == 3
    assert "<b>not bold</b> & fine" in (page.text_content("#details") or "")
    assert page.eval_on_selector_all("#details b", "els => els.length") == 0

    # The leaderboard ranks by val_loss.min: best first; sorting "best" (a number) flips it.
    by_rank = _names(page, "leaderboard-table")
    assert by_rank[0] == "lr=0.1"
    header = _sort(page, "leaderboard-table", "best")  # ascending: the order it had
    assert _names(page, "leaderboard-table") == by_rank
    _sort(page, "leaderboard-table", "best")
    descending = _names(page, "leaderboard-table")
    assert descending == list(reversed(by_rank))
    assert header.get_attribute("aria-sort") == "descending"
    # Numbers sort as numbers: 100 > 10 > 9 > 2.5 > 0.5 (as text, 9 would come first).
    assert descending == ["lr=0.003", "lr=0.01", "lr=0.03", EVIL, "lr=0.1"]
    # The runs table sorts too, by text (status, names) or numbers.
    ranked = _names(page, "runs-table")
    _sort(page, "runs-table", "val_loss.min")
    _sort(page, "runs-table", "val_loss.min")
    assert _names(page, "runs-table") == list(reversed(ranked))
    _sort(page, "runs-table", "run")
    assert _names(page, "runs-table")[0] == EVIL  # "<" sorts before letters

    # Hovering a line shows a tooltip; clicking a legend entry picks that run.
    box = page.locator("#chart-0 svg").first.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] * 0.35, box["y"] + box["height"] * 0.35)
    page.wait_for_selector("#vg-tooltip-element.visible", timeout=5_000)
    legend = page.locator("#chart-0 .role-legend-label text").first
    legend.click()
    page.wait_for_timeout(200)
    faded = page.eval_on_selector_all(
        "#chart-0 .mark-line path", "ps => ps.filter(p => +p.getAttribute('opacity') < 0.5).length")
    assert faded >= 1  # the other runs faded

    page.locator("#chart-0").screenshot(path=str(SCREENSHOTS / f"summary_{scheme}_picked.png"))
    assert watched.outside() == []
    assert watched.dialogs == []
    assert watched.errors == []


def test_summary_prints_every_run(browser: Browser, summary: Path) -> None:
    """Printing opens every run's card (and lays the page out for paper)."""
    watch = Watch(browser, "light")
    try:
        page = _open(watch, summary)
        assert page.eval_on_selector_all("details.run[open]", "els => els.length") == 1
        page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
        assert page.eval_on_selector_all("details.run[open]", "els => els.length") == 5
        page.evaluate("window.dispatchEvent(new Event('afterprint'))")
        assert page.eval_on_selector_all("details.run[open]", "els => els.length") == 1
        page.emulate_media(media="print")
        pdf = summary.with_suffix(".pdf")
        page.pdf(path=str(pdf))  # Chromium's own print (it fires the same events)
        assert pdf.stat().st_size > 10_000
        assert watch.outside() == [] and watch.errors == []
    finally:
        watch.context.close()
