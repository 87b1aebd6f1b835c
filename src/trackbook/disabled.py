"""``TRACKBOOK_MODE=disabled``: every write call is a no-op, so code runs unchanged."""

from __future__ import annotations

from typing import Any


class DisabledRun:
    """Stands in for an active run and records nothing."""

    run_id = "0" * 16
    experiment = "disabled"
    parent_run_id = None
    status = "running"

    def __init__(self, name: str | None) -> None:
        self.name = name or "disabled"
        self.params: dict[str, Any] = {}
        self.tags: dict[str, str] = {}

    def __getattr__(self, name: str) -> Any:
        if name.startswith(("log", "tag", "untag", "note")):
            return lambda *args, **kwargs: None
        raise AttributeError(name)

    def end(self, status: str = "finished", error: str | None = None) -> None:
        self.status = status

    def __enter__(self) -> DisabledRun:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.end()
