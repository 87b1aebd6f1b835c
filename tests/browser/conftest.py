"""Fixtures for tests that drive a real JupyterLab in headless Chromium (marker ``browser``).

One server and one browser page per session (each costs seconds); ``page_events`` starts every
test with empty logs. Every test in this folder is marked ``browser``. Without Chromium or
Playwright the tests skip, except under ``CI``, where a skip would hide a broken promise.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest

from . import labdriver

if TYPE_CHECKING:
    from playwright.sync_api import Page


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(item.path).parents:
            item.add_marker(pytest.mark.browser)


def _unavailable(message: str) -> NoReturn:
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so this is an error, not a skip)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def _browser_available() -> None:
    # Checked before the server starts, so a machine without Chromium skips in no time.
    if not Path(labdriver.CHROMIUM).exists():
        _unavailable(f"Chromium is not installed ({labdriver.CHROMIUM}): apt-get install chromium")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("playwright is not installed: pip install -e '.[dev]'")


@pytest.fixture(scope="session")
def lab(
    _browser_available: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[labdriver.Lab]:
    """A JupyterLab serving a temp folder that holds copies of the repository's notebooks."""
    labdriver.ensure_fresh_bundle()
    root = tmp_path_factory.mktemp("lab-root")
    labdriver.copy_notebooks(root)
    with labdriver.running_lab(root, tmp_path_factory.mktemp("lab-state")) as server:
        yield server


@pytest.fixture(scope="session")
def _browser_page(_browser_available: None) -> Iterator[tuple[Page, labdriver.PageEvents]]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = labdriver.launch_chromium(playwright)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        events = labdriver.PageEvents()
        events.attach(page)
        yield page, events
        browser.close()


@pytest.fixture(scope="session")
def page(_browser_page: tuple[Page, labdriver.PageEvents]) -> Page:
    """A Chromium page (Debian's /usr/bin/chromium), shared by the session's browser tests."""
    return _browser_page[0]


_CALL_FAILED = pytest.StashKey[bool]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


@pytest.fixture(autouse=True)
def _screenshot_on_failure(request: pytest.FixtureRequest) -> Iterator[None]:
    """A failing browser test leaves FAILED-<test>.png and a .log (console, server) beside it."""
    yield
    if (
        not request.node.stash.get(_CALL_FAILED, False)
        or "_browser_page" not in request.fixturenames
    ):
        return
    page, events = request.getfixturevalue("_browser_page")
    name = f"FAILED-{request.node.name}"
    labdriver.screenshot(page, name)
    log = events.console_errors + events.external_requests + events.console_log
    if "lab" in request.fixturenames:
        log += ["--- jupyterlab log ---", request.getfixturevalue("lab").log_tail()]
    (labdriver.SCREENSHOTS / f"{name}.log").write_text("\n".join(log))


@pytest.fixture
def page_events(_browser_page: tuple[Page, labdriver.PageEvents]) -> labdriver.PageEvents:
    """Console errors and non-loopback requests of ``page``, recorded from this test's start."""
    events = _browser_page[1]
    events.clear()
    return events
