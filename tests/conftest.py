"""Every test gets its own store in tmp_path (via TRACKBOOK_STORE) and a clean session."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from trackbook import run as run_module
from trackbook import session

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def store_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "trackbook.duckdb"
    monkeypatch.setenv("TRACKBOOK_STORE", str(path))
    monkeypatch.delenv("TRACKBOOK_MODE", raising=False)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    session._settings.update(store=None, experiment=None)
    yield path
    while (active := run_module.active_run()) is not None:
        active.end("finished")
    session._settings.update(store=None, experiment=None)


def require_binary(path: str, what: str) -> str:
    """A missing tool skips a test locally, but fails it in CI, where a skip would hide it."""
    found = shutil.which(path) or (path if Path(path).exists() else None)
    if found:
        return found
    message = f"{what} is not installed ({path}); .ci/run installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def python_env(**extra: str) -> dict[str, str]:
    """Environment for a child Python that imports this checkout's trackbook."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


PYTHON = sys.executable


@pytest.fixture
def no_kept_fields() -> Iterator[None]:
    """No field table kept from another test (trackbook.fieldcache), none left for the next."""
    from trackbook import fieldcache

    fieldcache.forget()
    yield
    fieldcache.forget()
