"""Git state of a run: commit, branch, remote, and the dirty diff capped at 1 MB.

Never takes git's index lock (plumbing commands, ``GIT_OPTIONAL_LOCKS=0``), never a shell, a
timeout on every call; notebooks are diffed as cell sources only, binaries by name only.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

DIFF_LIMIT = 1_000_000  # bytes of UTF-8 in the stored diff, truncation marker included
DIFF_MARKER = "# trackbook: diff truncated at {limit} bytes; the rest is not stored\n"
UNTRACKED_LIMIT = 200
GIT_TIMEOUT = 5.0
NOTEBOOK = ".ipynb"


def safely(function: Callable[[], Any], default: Any = None) -> Any:
    """Call ``function``; a machine that cannot answer gives ``default``, never an exception."""
    try:
        return function()
    except Exception:
        return default


def capture_git(path: str | os.PathLike[str] | None = None) -> dict[str, Any] | None:
    """The git state of the work tree holding ``path`` (default: the current folder).

    Only read-only commands run, with ``GIT_OPTIONAL_LOCKS=0``, so capture never takes the index
    lock that the user's own git commands need.

    Returns
    -------
    dict or None
        None when ``path`` is not in a git work tree or git cannot run. Otherwise ``root``,
        ``commit`` (None before the first commit), ``branch`` (None when detached), ``remote``
        (origin's URL without credentials), ``dirty`` (tracked files differ from HEAD),
        ``diff`` (working tree against HEAD; binaries by name only, notebooks as cell sources;
        at most :data:`DIFF_LIMIT` bytes), ``diff_truncated`` and ``untracked`` (at most
        :data:`UNTRACKED_LIMIT` paths).
    """
    start = safely(Path.cwd) if path is None else Path(path)
    if start is not None and start.is_file():
        start = start.parent
    if start is None or not start.is_dir():
        return None
    root = os.fsdecode(_git(start, "rev-parse", "--show-toplevel") or b"").strip()
    if not root:
        return None
    status = _git(root, "status", "--porcelain=v2", "--branch", "-z", "--no-renames")
    if status is None:
        return None
    state = _parse_status(status)
    diff, truncated = _diff(root, state["commit"], state["notebooks"])
    return {
        "root": root,
        "commit": state["commit"],
        "branch": state["branch"],
        "remote": _remote(root),
        "dirty": state["commit"] is None or bool(state["changed"]),
        "diff": diff,
        "diff_truncated": truncated,
        "untracked": state["untracked"][:UNTRACKED_LIMIT],
    }


def _git(root: str | Path, *args: str, limit: int | None = None) -> bytes | None:
    """Git's stdout (at most ``limit + 1`` bytes, read as a stream), or None when it failed."""
    import threading
    from subprocess import DEVNULL, PIPE, Popen

    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"}
    env.pop("GIT_LITERAL_PATHSPECS", None)  # the diff excludes notebooks with :(exclude) magic
    command = ["git", "-C", str(root), *args]
    try:
        # A session of its own, so that stopping git also stops what it started (a hook, a
        # helper) instead of leaving it to hold the pipe open.
        process = Popen(
            command, stdin=DEVNULL, stdout=PIPE, stderr=DEVNULL, env=env, start_new_session=True
        )
    except (OSError, ValueError):
        return None
    stdout = process.stdout
    assert stdout is not None
    timer = threading.Timer(GIT_TIMEOUT, _stop, [process])
    timer.start()
    try:
        output: bytes | None = stdout.read(-1 if limit is None else limit + 1)
    except OSError:
        output = None
    finally:
        timer.cancel()
        if process.poll() is None:  # we stopped reading past the limit: a huge diff stays unread
            _stop(process)
        code = process.wait()
        stdout.close()
    cut_short = limit is not None and output is not None and len(output) > limit
    return output if code == 0 or cut_short else None


def _stop(process: Any) -> None:
    try:
        if hasattr(os, "killpg"):
            os.killpg(process.pid, 9)  # SIGKILL to git's whole session
        else:
            process.kill()
    except OSError:
        pass


def _parse_status(raw: bytes) -> dict[str, Any]:
    """Commit, branch, changed tracked paths and untracked paths from ``status --porcelain=v2``."""
    state: dict[str, Any] = {"commit": None, "branch": None, "changed": [], "untracked": []}
    for entry in raw.decode("utf-8", "replace").split("\0"):
        if entry.startswith("# branch.oid "):
            oid = entry.split(" ", 2)[2]
            state["commit"] = None if oid == "(initial)" else oid
        elif entry.startswith("# branch.head "):
            head = entry.split(" ", 2)[2]
            state["branch"] = None if head == "(detached)" else head
        elif entry[:2] in ("1 ", "u "):
            fields = 8 if entry[0] == "1" else 10  # the path is whatever follows these fields
            state["changed"].append(entry.split(" ", fields)[-1])
        elif entry.startswith("? "):
            state["untracked"].append(entry[2:])
    state["notebooks"] = [p for p in state["changed"] if p.lower().endswith(NOTEBOOK)]
    return state


def _remote(root: str) -> str | None:
    raw = _git(root, "config", "--get-regexp", r"^remote\..*\.url$")
    lines = [line.partition(" ") for line in (raw or b"").decode("utf-8", "replace").splitlines()]
    urls = {key: url for key, _, url in lines}
    url = urls.get("remote.origin.url") or next(iter(urls.values()), None)  # origin, else any
    return _strip_credentials(url) if url else None


def _strip_credentials(url: str) -> str:
    """Drop ``user:password@`` from a URL; an https user alone is often a token, so it goes too."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url  # scp-like `git@host:path` has a user name but no place for a password
    netloc, slash, tail = rest.partition("/")
    userinfo, at, host = netloc.rpartition("@")
    if not at:
        return url
    user = userinfo.partition(":")[0]
    keep = f"{user}@" if "ssh" in scheme.lower() and user else ""
    return f"{scheme}://{keep}{host}{slash}{tail}"


def _diff(root: str, commit: str | None, notebooks: list[str]) -> tuple[str, bool]:
    """Working tree against HEAD (or the empty tree before the first commit), capped."""
    # The empty tree's id in this repository's hash function; git knows it without storing it.
    base = commit or os.fsdecode(_git(root, "hash-object", "-t", "tree", "--stdin") or b"").strip()
    if not base:
        return "", False
    # Plumbing, because porcelain `git diff` rewrites the index even with GIT_OPTIONAL_LOCKS=0.
    options = ["-p", "--no-color", "--no-ext-diff", "--no-textconv", "--no-renames"]
    raw = _git(root, "diff-index", *options, base, "--", ".", ":(exclude)*.ipynb", limit=DIFF_LIMIT)
    text = (raw or b"").decode("utf-8", "replace")
    for notebook in notebooks:
        if len(text) > DIFF_LIMIT:
            break  # over the cap in characters, so over it in bytes too
        text += _notebook_diff(root, commit, notebook)
    return _cap(text, DIFF_LIMIT)


def _cap(text: str, limit: int) -> tuple[str, bool]:
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= limit:
        return text, False
    marker = DIFF_MARKER.format(limit=limit)
    kept = encoded[: limit - len(marker.encode())]
    kept = kept[: kept.rfind(b"\n") + 1]  # at a line end, so no line or character is cut in half
    return kept.decode("utf-8", "replace") + marker, True


def _notebook_diff(root: str, commit: str | None, path: str) -> str:
    """A unified diff of the notebook's cell sources; outputs and execution counts are ignored."""
    import difflib

    before = _cell_sources(_git(root, "show", f"HEAD:{path}") if commit else None)
    after = _cell_sources(safely((Path(root) / path).read_bytes))  # None: deleted
    if before == after:
        return ""
    lines = difflib.unified_diff(before, after, f"a/{path}", f"b/{path}")
    body = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return f"diff --git a/{path} b/{path} (cell sources)\n{body}"


def _cell_sources(raw: bytes | None) -> list[str]:
    """Cell sources, each under a ``# %% [type]`` header, as lines for difflib."""
    import json

    if not raw:
        return []
    try:
        notebook = json.loads(raw)
        cells = notebook.get("cells")
        if cells is None:  # nbformat 3 kept cells in worksheets
            cells = [c for sheet in notebook.get("worksheets", []) for c in sheet.get("cells", [])]
    except (ValueError, AttributeError, TypeError):
        return raw.decode("utf-8", "replace").splitlines(keepends=True)  # not JSON: diff as text
    lines: list[str] = []
    for cell in (c for c in cells if isinstance(c, dict)):
        source = cell.get("source", cell.get("input", ""))
        text = "".join(source) if isinstance(source, list) else str(source)
        lines.append(f"# %% [{cell.get('cell_type', 'code')}]\n")
        lines.extend(line + "\n" for line in text.splitlines())
    return lines
