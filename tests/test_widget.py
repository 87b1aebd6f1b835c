"""The chart widget and the Altair renderer, without a browser (tests/browser/ has those)."""

from __future__ import annotations

import re
from pathlib import Path

import altair as alt
import pandas as pd
import pytest

from trackbook import widget

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


def line_chart() -> alt.Chart:
    df = pd.DataFrame({"step": [0, 1, 2], "loss": [1.0, 0.6, 0.4]})
    return alt.Chart(df, title="loss").mark_line().encode(x="step", y="loss")


def test_chart_widget_syncs_spec_and_options() -> None:
    spec = line_chart().to_dict()
    chart = widget.ChartWidget(spec, embed_options={"renderer": "svg"})
    state = chart.get_state()
    assert state["spec"] == spec
    assert state["embed_options"] == {"renderer": "svg"}
    assert {"spec", "embed_options"} <= set(chart.keys)
    # The bundle itself travels as _esm: an ES module whose default export is the widget.
    assert re.search(r"export\s*\{[^}]*as default\s*\}", state["_esm"])


def test_chart_widget_repr_names_the_chart() -> None:
    chart = widget.ChartWidget(line_chart().to_dict())
    assert repr(chart) == "<trackbook chart: line 'loss'>"
    assert repr(widget.ChartWidget()) == "<trackbook chart: chart>"


def test_altair_renderer_returns_a_widget_view_with_a_text_fallback() -> None:
    bundle = widget.altair_renderer(line_chart().to_dict())
    assert isinstance(bundle, dict)
    assert set(bundle) == {WIDGET_VIEW, "text/plain"}
    assert bundle[WIDGET_VIEW]["model_id"]
    assert bundle["text/plain"].startswith("<trackbook chart: line 'loss'>")
    assert "run the cell to see it" in bundle["text/plain"]


def test_altair_renderer_passes_altair_embed_options_on(monkeypatch: pytest.MonkeyPatch) -> None:
    created: list[widget.ChartWidget] = []

    class Recorded(widget.ChartWidget):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__(*args, **kwargs)
            created.append(self)

    monkeypatch.setattr(widget, "ChartWidget", Recorded)
    widget.altair_renderer({"mark": "point"}, embed_options={"actions": False})
    assert created[0].embed_options == {"actions": False}
    assert created[0].spec == {"mark": "point"}


def test_altair_renders_through_the_registered_renderer() -> None:
    alt.renderers.register("trackbook-test", widget.altair_renderer)
    with alt.renderers.enable("trackbook-test"):
        bundle = line_chart()._repr_mimebundle_()
    alt.renderers.register("trackbook-test", None)
    assert WIDGET_VIEW in bundle


def test_missing_bundle_fails_when_a_widget_is_created_not_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(widget, "STATIC_DIR", tmp_path)  # the real bundle stays where it is

    class Unbuilt(widget.ChartWidget):  # defining a class must not touch the file
        _esm = widget._Bundle("not-built.js")

    with pytest.raises(widget.BundleMissingError, match=r"npm --prefix js run build"):
        Unbuilt()
    with pytest.raises(FileNotFoundError, match="reinstall trackbook"):
        widget.altair_renderer({})


def test_bundles_fetch_nothing_from_a_cdn() -> None:
    static = Path(widget.__file__).parent / "static"
    for name in ("chart.js", "vega-embed.js"):
        text = (static / name).read_text(encoding="utf-8")
        for cdn in ("cdn.jsdelivr.net", "unpkg.com", "esm.sh", "cdnjs", "skypack"):
            assert cdn not in text, f"{name} mentions {cdn}"
        assert not re.search(r"\bimport\s*\(", text), f"{name} loads code at run time"
        # The summary inlines vega-embed.js into a <script>: it must not end that element early.
        assert "</script" not in text.lower()


def test_vega_embed_script_defines_its_global() -> None:
    text = (Path(widget.__file__).parent / "static" / "vega-embed.js").read_text(encoding="utf-8")
    assert text.removeprefix('"use strict";').startswith("var trackbookVega=")
