"""static/vega-embed.js, inlined into a plain HTML file, draws charts with no network.

This is how the HTML summary uses it: one self-contained file opened from disk, no Jupyter, so
the chart's colours come from the page's own text colour.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from .labdriver import PageEvents, screenshot

if TYPE_CHECKING:
    from playwright.sync_api import Page

SCRIPT = Path(__file__).resolve().parents[2] / "src" / "trackbook" / "static" / "vega-embed.js"

SPEC = {
    "$schema": "https://vega.github.io/schema/vega-lite/v6.json",
    "title": "val_loss",
    "data": {"values": [{"step": s, "loss": 1 / (1 + s)} for s in range(20)]},
    "mark": "line",
    "encoding": {
        "x": {"field": "step", "type": "quantitative"},
        "y": {"field": "loss", "type": "quantitative"},
    },
}

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><style>body {{ {style} font-family: sans-serif; }}</style>
<script>{script}</script></head>
<body><div id="chart"></div>
<script type="application/json" id="spec">{spec}</script>
<script>
  const spec = JSON.parse(document.getElementById("spec").textContent);
  trackbookVega.render("#chart", spec).then(() => document.body.dataset.done = "yes");
</script></body></html>
"""

LABEL_LUMINANCE = """() => {
    const label = document.querySelector('#chart svg.marks .role-axis-label text');
    const m = getComputedStyle(label).fill.match(/[\\d.]+/g).map(Number);
    return (0.2126 * m[0] + 0.7152 * m[1] + 0.0722 * m[2]) / 255;
}"""


@pytest.mark.parametrize(
    ("name", "style", "dark"),
    [
        ("light", "color: #222; background: #fff;", False),
        ("dark", "color: #eee; background: #111;", True),
    ],
    ids=["light", "dark"],
)
def test_vega_embed_script_draws_a_standalone_page(
    page: Page, page_events: PageEvents, tmp_path: Path, name: str, style: str, dark: bool
) -> None:
    html = tmp_path / f"summary-{name}.html"
    html.write_text(
        PAGE.format(style=style, script=SCRIPT.read_text(encoding="utf-8"), spec=json.dumps(SPEC)),
        encoding="utf-8",
    )
    page.goto(html.as_uri())
    page.wait_for_selector("body[data-done='yes'] #chart svg.marks", timeout=15_000)

    assert page.evaluate("typeof trackbookVega.embed") == "function"
    assert (page.evaluate(LABEL_LUMINANCE) > 0.5) is dark  # follows the page's text colour
    screenshot(page, f"vega_embed_script_{name}", selector="#chart")
    assert page_events.external_requests == []
    assert page_events.console_errors == []
