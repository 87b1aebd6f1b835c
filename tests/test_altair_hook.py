"""trackbook's Altair renderer is enabled when altair is imported, whatever the import order.

Each case runs in a fresh interpreter: what is being tested is what happens at import time.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib import metadata
from pathlib import Path

import pytest

import trackbook

SRC = Path(trackbook.__file__).resolve().parents[1]


def run_python(code: str, *, env: dict[str, str] | None = None, path: Path | None = None) -> str:
    """Run ``code`` in a new interpreter that imports this trackbook; return its stdout."""
    environ = {k: v for k, v in os.environ.items() if k not in {"TRACKBOOK_ALTAIR", "PYTHONPATH"}}
    environ["PYTHONPATH"] = os.pathsep.join(str(p) for p in (path, SRC) if p is not None)
    environ.update(env or {})
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


ACTIVE = "print(altair.renderers.active)"


@pytest.mark.parametrize(
    "imports",
    ["import trackbook, altair", "import altair, trackbook"],
    ids=["tb-first", "alt-first"],
)
def test_import_trackbook_enables_the_renderer_in_either_order(imports: str) -> None:
    assert run_python(f"{imports}\n{ACTIVE}") == "trackbook"


@pytest.mark.parametrize("imports", ["import trackbook, altair", "import altair, trackbook"])
def test_trackbook_altair_0_keeps_altairs_default(imports: str) -> None:
    assert run_python(f"{imports}\n{ACTIVE}", env={"TRACKBOOK_ALTAIR": "0"}) == "default"


def test_a_renderer_the_user_chose_is_kept() -> None:
    code = f"import altair\naltair.renderers.enable('svg')\nimport trackbook\n{ACTIVE}"
    assert run_python(code) == "svg"


def test_import_trackbook_loads_no_heavy_module() -> None:
    out = run_python(
        """
        import sys, trackbook
        heavy = ("altair", "pandas", "anywidget", "ipywidgets")
        print(sorted(m for m in heavy if m in sys.modules))
        """
    )
    assert out == "[]"


def test_the_hook_wraps_altairs_import_and_then_leaves() -> None:
    out = run_python(
        """
        import sys
        from trackbook import altair_hook
        altair_hook.install()
        altair_hook.install()  # idempotent
        hooks = [f for f in sys.meta_path if type(f).__name__ == "_AltairFinder"]
        import altair
        left = [f for f in sys.meta_path if type(f).__name__ == "_AltairFinder"]
        print(len(hooks), len(left), type(altair.__loader__).__name__,
              type(altair.__spec__.loader).__name__, altair.renderers.active)
        """
    )
    assert out == "1 0 SourceFileLoader SourceFileLoader trackbook"


def test_charts_render_as_trackbook_widgets() -> None:
    out = run_python(
        """
        import sys
        from trackbook import altair_hook
        altair_hook.install()
        import altair as alt, pandas as pd
        chart = alt.Chart(pd.DataFrame({"x": [1, 2]})).mark_point().encode(x="x")
        print(sorted(chart._repr_mimebundle_()))
        """
    )
    assert out == "['application/vnd.jupyter.widget-view+json', 'text/plain']"


def write_fake_altair(folder: Path, body: str) -> Path:
    (folder / "altair").mkdir()
    (folder / "altair" / "__init__.py").write_text(textwrap.dedent(body))
    return folder


def test_a_failing_altair_import_is_left_untouched(tmp_path: Path) -> None:
    fake = write_fake_altair(tmp_path, "raise ImportError('broken altair')")
    out = run_python(
        """
        import sys
        from trackbook import altair_hook
        altair_hook.install()
        try:
            import altair
        except ImportError as exc:
            print(exc)
        # still waiting: a later, successful import is still seen
        print(sum(type(f).__name__ == "_AltairFinder" for f in sys.meta_path))
        """,
        path=fake,
    )
    assert out.splitlines() == ["broken altair", "1"]


def test_a_failing_hook_only_warns(tmp_path: Path) -> None:
    fake = write_fake_altair(
        tmp_path,
        """
        class Renderers:
            active = "default"
            def register(self, name, value):
                raise RuntimeError("no registering today")
        renderers = Renderers()
        loaded = True
        """,
    )
    out = run_python(
        """
        import warnings
        warnings.simplefilter("always")
        from trackbook import altair_hook
        altair_hook.install()
        with warnings.catch_warnings(record=True) as caught:
            import altair
        print(altair.loaded, [str(w.message)[:40] for w in caught])
        """,
        path=fake,
    )
    assert out == "True ['trackbook could not enable its offline A']"


def test_altair_finds_the_renderer_through_its_entry_point() -> None:
    try:
        metadata.distribution("trackbook")
    except metadata.PackageNotFoundError:
        pytest.skip("trackbook is not installed (pip install -e .): no entry points to find")
    out = run_python(
        """
        import sys, altair
        altair.renderers.enable("trackbook")  # trackbook itself not imported beforehand
        print(altair.renderers.active)
        """,
        env={"TRACKBOOK_ALTAIR": "0"},
    )
    assert out == "trackbook"
