"""trackbook's Jupyter widgets: the only module that imports anywidget (layer 5).

Each widget is an ``anywidget.AnyWidget`` whose front end is an ES module bundled by esbuild from
``js/`` into ``static/`` (vega included: nothing is fetched from a CDN at run time). Traitlets carry
small state; the browser asks for data with requests over ``model.send``.

A missing bundle must not break ``import trackbook`` (a source checkout before ``npm run build``),
only the showing of a widget. anywidget reads a ``Path`` ``_esm`` when the class is *defined* and
raises ``FileNotFoundError`` there, so the classes here declare ``_esm = _Bundle("name.js")``: a
descriptor that anywidget leaves alone at class definition and that resolves the file when a widget
is created, with an error that says how to build it.

``altair_renderer`` is the Altair renderer trackbook enables (see ``altair_hook``): it shows a chart
as a ``ChartWidget``, so Altair output renders offline in JupyterLab, VS Code and Colab, which all
load anywidget modules but not Altair's CDN scripts or (JupyterLab) Vega-Lite 6 mimetypes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anywidget
import traitlets

STATIC_DIR = Path(__file__).parent / "static"

# anywidget's file watcher per bundle path, shared by all widgets of a class; kept for the life of
# the process like anywidget's own class-level FileContents.
_loaded: dict[Path, object] = {}


class BundleMissingError(FileNotFoundError):
    """The built front end (``static/*.js``) is not there; building ``js/`` makes it."""


class _Bundle:
    """Class attribute standing for ``STATIC_DIR / name``, read when a widget is created."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, instance: object, owner: type) -> object:
        # On the class (anywidget's __init_subclass__ probes it) stay inert, so a missing file
        # cannot fail the class definition.
        if instance is None:
            return self
        return _load_bundle(STATIC_DIR / self.name)


def _load_bundle(path: Path) -> object:
    if path in _loaded:
        return _loaded[path]
    if not path.is_file():
        msg = (
            f"the trackbook JS bundle is missing ({path}): run `npm --prefix js run build` "
            "in a trackbook checkout, or reinstall trackbook"
        )
        raise BundleMissingError(msg)
    _loaded[path] = _file_contents(path)
    return _loaded[path]


def _file_contents(path: Path) -> object:
    # anywidget's own reader for Path-valued _esm: it keeps live reload (ANYWIDGET_HMR=1) for
    # editable installs. It is private API, hence the plain-text fallback.
    try:
        from anywidget._util import try_file_contents
    except ImportError:  # pragma: no cover - depends on the anywidget version
        return path.read_text(encoding="utf-8")
    return try_file_contents(path) or path.read_text(encoding="utf-8")


class ChartWidget(anywidget.AnyWidget):
    """A Vega-Lite (or Vega) chart drawn in the notebook with the bundled vega-embed.

    The chart follows the notebook's light or dark theme unless the spec or ``embed_options``
    bring their own config or theme.
    """

    _esm = _Bundle("chart.js")

    # The TypeScript twin is `interface Model` in js/chart.ts.
    # Written by Python (the caller or altair_renderer); the browser only reads it.
    spec = traitlets.Dict().tag(sync=True)
    # Written by Python: vega-embed options such as Altair's `embed_options` (renderer, actions).
    embed_options = traitlets.Dict().tag(sync=True)

    def __init__(self, spec: dict[str, Any] | None = None, **kwargs: Any) -> None:
        super().__init__(spec=spec or {}, **kwargs)

    def __repr__(self) -> str:
        return f"<trackbook chart: {_describe(self.spec)}>"


def _describe(spec: dict[str, Any]) -> str:
    mark = spec.get("mark")
    kind = mark.get("type") if isinstance(mark, dict) else mark
    for key in ("layer", "hconcat", "vconcat", "concat", "facet", "repeat"):
        if key in spec:
            kind = kind or key
    title = spec.get("title")
    text = title.get("text") if isinstance(title, dict) else title
    return " ".join(str(part) for part in (kind or "chart", repr(text) if text else "") if part)


# For widget classes in other modules (card, panel): they subclass this and name their bundle
# with Bundle, so this module stays the only one importing anywidget.
WidgetBase = anywidget.AnyWidget
Bundle = _Bundle

MimeBundle = dict[str, Any] | tuple[dict[str, Any], dict[str, Any]]


def altair_renderer(spec: dict[str, Any], **metadata: Any) -> MimeBundle:
    """Render an Altair chart's Vega-Lite spec as a trackbook chart widget (an Altair renderer).

    Parameters
    ----------
    spec
        The Vega-Lite spec Altair passes to its active renderer.
    **metadata
        Renderer options; ``embed_options`` (set by ``alt.renderers.set_embed_options``) is
        passed on to vega-embed, the rest is ignored.

    Returns
    -------
    dict or (dict, dict)
        A mimebundle with the widget view and a ``text/plain`` fallback for front ends that do not
        run widgets (a terminal, nbconvert, GitHub); in Colab also the display metadata that
        points Colab at its custom widget manager (Altair accepts both forms).
    """
    widget = ChartWidget(spec=spec, embed_options=metadata.get("embed_options") or {})
    # What a notebook reopened without trust, GitHub or nbconvert shows in its place.
    text = f"{widget!r}\n(an interactive chart, drawn by Jupyter widgets: run the cell to see it)"
    bundle = widget._repr_mimebundle_()
    if bundle is None:  # only when a subclass drops its view; keep the text at least
        return {"text/plain": text}
    data, display_metadata = bundle
    data["text/plain"] = text
    data.update(_static_preview(spec, widget))
    return (data, display_metadata) if display_metadata else data


def _static_preview(spec: dict[str, Any], widget: ChartWidget) -> dict[str, str]:
    """A drawing of a ``tb.plot`` curves chart for outputs without widgets (see
    :mod:`trackbook.chartpreview`); nothing for other charts."""
    from trackbook import chartpreview

    svg = chartpreview.svg_of(spec)
    if svg is None:
        return {}
    # As HTML only: JupyterLab renders SVG outputs of untrusted notebooks not at all, and the
    # same drawing twice would double what the notebook file keeps.
    return {"text/html": chartpreview.html_of(svg, repr(widget))}
