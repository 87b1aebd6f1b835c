"""Who this process is, and whether another process is still alive, for crash detection."""

from __future__ import annotations

import functools
import os
import socket
from pathlib import Path


@functools.cache
def hostname() -> str:
    return socket.gethostname()


def _start_ticks(pid: int) -> int | None:
    """The process start time in clock ticks since boot (Linux), which tells a reused pid apart."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after its last ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])


@functools.cache
def _identity(pid: int) -> tuple[str, int, int]:
    return hostname(), pid, _start_ticks(pid) or 0


def identity() -> tuple[str, int, int]:
    """(host, pid, start ticks) of this process; recomputed after a fork."""
    return _identity(os.getpid())


def is_alive(pid: int, start_ticks: int | None) -> bool:
    """Whether the process ``pid`` on this host is the same one that recorded ``start_ticks``."""
    if pid <= 0:
        return False
    current = _start_ticks(pid)
    if current is not None:
        return not start_ticks or current == start_ticks
    if Path("/proc/self/stat").exists():
        return False  # /proc works here and has no such pid
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
