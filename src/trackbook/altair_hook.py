"""Make Altair charts render offline: enable trackbook's renderer when altair is imported.

Altair's default renderer loads vega from a CDN, and JupyterLab has no Vega-Lite 6 renderer, so
offline an Altair chart shows an error or a line of text. trackbook's renderer
(``trackbook.widget.altair_renderer``) draws the chart in a widget with vega bundled in.

``install()`` (called by ``import trackbook``) enables it once altair is imported, and only if the
active renderer is still Altair's ``"default"``: a renderer the user chose is kept.
``TRACKBOOK_ALTAIR=0`` opts out. With trackbook installed, ``alt.renderers.enable("trackbook")``
also works without importing trackbook, through Altair's renderer entry point.

This module imports neither altair nor the widget module: ``import trackbook`` stays light, and
when altair is not imported yet, a ``sys.meta_path`` finder waits for it. The finder answers only
for the name ``altair``, wraps altair's own loader so a callback runs right after altair's
``__init__`` has finished, then removes itself. Anything going wrong in the callback becomes a
warning; altair's import itself is never changed or broken.
"""

from __future__ import annotations

import importlib.abc
import os
import sys
import threading
import warnings
from collections.abc import Callable, Sequence
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any

RENDERER = "trackbook"
OPT_OUT_VARIABLE = "TRACKBOOK_ALTAIR"
_FALSE = {"0", "false", "no", "off"}


def install() -> None:
    """Enable trackbook's Altair renderer now, or as soon as altair is imported.

    Does nothing when ``TRACKBOOK_ALTAIR`` is ``0`` (or false/no/off). Safe to call repeatedly.
    """
    if os.environ.get(OPT_OUT_VARIABLE, "").strip().lower() in _FALSE:
        return
    altair = sys.modules.get("altair")
    if altair is None:
        _AltairFinder.insert(_enable_quietly)
    elif hasattr(altair, "renderers"):
        # A module still executing its __init__ has no `renderers` yet; leave it alone then.
        _enable_quietly(altair)


def render(spec: dict[str, Any], **metadata: Any) -> Any:
    """Altair renderer: draw the chart as a trackbook chart widget.

    Imports the widget module (and anywidget) only when a chart is shown.
    """
    from trackbook.widget import altair_renderer

    return altair_renderer(spec, **metadata)


def enable(altair: ModuleType) -> bool:
    """Register trackbook's renderer and enable it if Altair's default is still active.

    Returns whether trackbook's renderer is active afterwards.
    """
    renderers = altair.renderers
    # Registering directly means the entry point (and its scan of installed packages) is not
    # needed, e.g. in a source checkout that was never installed.
    renderers.register(RENDERER, render)
    if renderers.active == "default":
        renderers.enable(RENDERER)
    return bool(renderers.active == RENDERER)


def _enable_quietly(altair: ModuleType) -> None:
    try:
        enable(altair)
    except Exception as exc:  # the user's import of altair must go on whatever happens here
        warnings.warn(
            f"trackbook could not enable its offline Altair renderer ({exc!r}); charts use "
            f"Altair's renderer. Set {OPT_OUT_VARIABLE}=0 to silence this.",
            RuntimeWarning,
            stacklevel=2,
        )


class _AltairFinder(importlib.abc.MetaPathFinder):
    """Finds nothing itself: wraps the loader other finders return for ``altair``."""

    _lock = threading.Lock()

    def __init__(self, callback: Callable[[ModuleType], None]) -> None:
        self.callback = callback

    @classmethod
    def insert(cls, callback: Callable[[ModuleType], None]) -> None:
        with cls._lock:
            if not any(isinstance(finder, cls) for finder in sys.meta_path):
                sys.meta_path.insert(0, cls(callback))

    def remove(self) -> None:
        with self._lock:
            if self in sys.meta_path:
                sys.meta_path.remove(self)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        if fullname != "altair":  # the whole cost for every other import
            return None
        spec = self._find_elsewhere(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec  # not installed, or a loader we do not understand: stay out of the way
        spec.loader = _NotifyingLoader(spec.loader, self)
        return spec

    def _find_elsewhere(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None
    ) -> ModuleSpec | None:
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or find_spec is None:
                continue
            spec: ModuleSpec | None = find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


class _NotifyingLoader(importlib.abc.Loader):
    """altair's own loader, plus the callback once altair's module has executed."""

    def __init__(self, loader: Any, finder: _AltairFinder) -> None:
        self.loader = loader
        self.finder = finder

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        module: ModuleType | None = self.loader.create_module(spec)
        return module

    def exec_module(self, module: ModuleType) -> None:
        # Put altair's real loader back before its code runs, so whatever altair reads through
        # __loader__/__spec__ (resources, source for tracebacks) is exactly as without us.
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)  # an ImportError propagates; the hook stays for a retry
        self.finder.remove()
        self.finder.callback(module)

    def __getattr__(self, name: str) -> Any:
        # Anything else a caller asks the loader for (get_code, is_package, ...) is altair's.
        return getattr(self.loader, name)
