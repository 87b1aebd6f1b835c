"""An Altair chart in JupyterLab renders through trackbook's bundled vega: no network at all.

Altair's own default renderer fetches vega from jsdelivr and JupyterLab has no Vega-Lite 6
renderer, so without trackbook this notebook shows an error offline (environment notes §4).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import nbformat

from .labdriver import Lab, PageEvents, open_notebook, run_all, screenshot, set_theme

if TYPE_CHECKING:
    from playwright.sync_api import Page

SETUP = """\
import trackbook
import altair as alt, pandas as pd
"""

CHART = """\
import math
runs = {"lr=1e-3": 1e-3, "lr=3e-4": 3e-4, "lr=1e-4": 1e-4}
df = pd.DataFrame(
    [{"run": name, "step": s, "val_loss": 2.3 * math.exp(-lr * 42 * s) + 0.1 + 0.02 * math.sin(s)}
     for name, lr in runs.items() for s in range(60)]
)
chart = alt.Chart(df, title="val_loss by step").mark_line().encode(
    x="step:Q", y=alt.Y("val_loss:Q", title="val_loss"), color="run:N"
)
chart
"""

CANVAS_CHART = """\
print("renderer:", alt.renderers.active)
chart.properties(width=220, height=140, title="same, on a canvas").display(renderer="canvas")
"""

CANVAS = ".tb-chart canvas.marks"
SVG = ".tb-chart svg.marks"

# Luminance of the SVG chart's axis labels as the browser computes them (0 black .. 1 white).
AXIS_LABEL_LUMINANCE = """() => {
    const label = document.querySelector('.tb-chart svg.marks .role-axis-label text');
    const m = getComputedStyle(label).fill.match(/[\\d.]+/g).map(Number);
    return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255;
}"""

PAINTED_PIXELS = """(canvas) => {
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) n++;
    return n;
}"""


def write_notebook(path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Altair, offline"),
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(CHART),
        nbformat.v4.new_code_cell(CANVAS_CHART),
    ]
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, path)


def test_altair_chart_renders_offline_and_follows_the_theme(
    lab: Lab, page: Page, page_events: PageEvents
) -> None:
    write_notebook(lab.root / "altair_offline.ipynb")
    open_notebook(page, lab, "altair_offline.ipynb")

    assert run_all(page) == []
    page.wait_for_selector(CANVAS, timeout=30_000)
    page.wait_for_selector(SVG, timeout=30_000)
    assert page.locator(".jp-OutputArea-output:has-text('renderer: trackbook')").count() == 1
    assert page.locator(CANVAS).evaluate(PAINTED_PIXELS) > 1000
    assert page.locator(f"{SVG} .role-axis-label text").count() > 4  # vega-embed's default
    assert page.evaluate(AXIS_LABEL_LUMINANCE) < 0.5  # dark text on Lab's light theme
    page.locator(SVG).first.scroll_into_view_if_needed()
    screenshot(page, "altair_offline_light")

    set_theme(page, "JupyterLab Dark")
    # The chart redraws itself with the new theme's colours, no kernel round trip.
    page.wait_for_function(f"({AXIS_LABEL_LUMINANCE})() > 0.5", timeout=10_000)
    page.locator(".tb-chart").first.hover()  # shows the themed actions button
    screenshot(page, "altair_offline_dark")
    screenshot(page, "altair_offline_dark_canvas", selector=".tb-chart:has(canvas)")
    set_theme(page, "JupyterLab Light")

    assert page_events.external_requests == []
    assert page_events.console_errors == []
