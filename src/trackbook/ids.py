"""Run ids: 16 lowercase hex characters from 64 random bits, made here, never by the database."""

from __future__ import annotations

import re
import secrets

RUN_ID_LENGTH = 16
MIN_PREFIX = 6
SHORT = 8
_HEX = re.compile(r"[0-9a-f]+")


def new_run_id() -> str:
    return secrets.token_hex(8)


def short(run_id: str) -> str:
    """What displays show: the first 8 characters."""
    return run_id[:SHORT]


def check_prefix(text: str) -> str:
    """Normalise an id or prefix a user typed; raise ValueError when it cannot be one."""
    prefix = str(text).strip().lower()
    if not _HEX.fullmatch(prefix or "-") or len(prefix) > RUN_ID_LENGTH:
        raise ValueError(f"{text!r} is not a run id: ids are 16 hex characters (0-9, a-f)")
    if len(prefix) < MIN_PREFIX:
        raise ValueError(
            f"run id prefix {text!r} is too short: give at least {MIN_PREFIX} characters"
        )
    return prefix
