"""Where a run came from: environment, git state, notebook, entry point, kernel history, seeds.

Every function is plain and synchronous and never raises for a problem of the machine (no git, no
GPU, no repository, no /proc): it returns None or an empty value. run.py calls them off the user's
thread and stores results by hash. Slow standard modules are imported where used, so that
``import trackbook`` stays fast; IPython is read through ``sys.modules``, never imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from trackbook.values import REDACTED, flatten, looks_secret

# Environment variables that change results; only these are recorded, never the whole environment.
ENV_VARS = tuple(
    "CUDA_VISIBLE_DEVICES PYTHONHASHSEED OMP_NUM_THREADS MKL_NUM_THREADS "
    "CUBLAS_WORKSPACE_CONFIG TF_DETERMINISTIC_OPS".split()
)
DIFF_LIMIT = 1_000_000  # bytes of UTF-8 in the stored diff, truncation marker included
DIFF_MARKER = "# trackbook: diff truncated at {limit} bytes; the rest is not stored\n"
UNTRACKED_LIMIT = 200
GIT_TIMEOUT = 5.0
GPU_TIMEOUT = 5.0  # nvidia-smi can hang for seconds on a wedged driver
NOTEBOOK = ".ipynb"


def _safe(function: Callable[[], Any], default: Any = None) -> Any:
    """Call ``function``; a machine that cannot answer gives ``default``, never an exception."""
    try:
        return function()
    except Exception:
        return default


def capture_environment(extra_env_vars: Iterable[str] = ()) -> dict[str, Any]:
    """Describe the interpreter, machine and installed packages (about 15 ms; 100 ms cold).

    Parameters
    ----------
    extra_env_vars
        Environment variables to record besides :data:`ENV_VARS`.

    Returns
    -------
    dict
        JSON-serialisable: ``python``, ``implementation``, ``executable``, ``platform``,
        ``system``, ``machine``, ``hostname``, ``user``, ``cpu`` (``model``, ``count``),
        ``memory_bytes``, ``gpus`` (``name``, ``memory_mb``, ``driver``), ``packages``
        (normalised name -> version) and ``env`` (those set; secret-looking ones redacted).
    """
    import getpass
    import platform

    names = [n for n in dict.fromkeys([*ENV_VARS, *extra_env_vars]) if n in os.environ]
    return {
        "python": _safe(platform.python_version),
        "implementation": _safe(platform.python_implementation),
        "executable": sys.executable or None,
        "platform": _safe(platform.platform),
        "system": _safe(platform.system),
        "machine": _safe(platform.machine),
        "hostname": _safe(platform.node),
        "user": _safe(getpass.getuser),
        "cpu": {"model": _safe(_cpu_model), "count": os.cpu_count()},
        "memory_bytes": _safe(_memory_bytes),
        "gpus": _safe(_gpus, []),
        "packages": _safe(_packages, {}),
        "env": {n: REDACTED if looks_secret(n) else os.environ[n] for n in names},
    }


def _cpu_model() -> str | None:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as lines:
            for line in lines:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    return value.strip() or None
    except OSError:
        pass
    import platform  # processor() may run `uname -p`, so only when /proc did not answer

    return platform.processor() or None


def _memory_bytes() -> int | None:
    try:
        with open("/proc/meminfo", encoding="utf-8") as lines:
            for line in lines:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024  # the kernel writes kB
    except (OSError, ValueError, IndexError):
        pass
    return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))


def _gpus() -> list[dict[str, Any]]:
    import shutil
    import subprocess

    if shutil.which("nvidia-smi") is None:
        return []
    command = ["nvidia-smi", "--query-gpu=name,memory.total,driver_version"]
    command.append("--format=csv,noheader,nounits")
    done = subprocess.run(command, capture_output=True, text=True, timeout=GPU_TIMEOUT, check=True)
    rows = [[part.strip() for part in line.split(",")] for line in done.stdout.splitlines()]
    return [
        {"name": name, "memory_mb": int(memory) if memory.isdigit() else None, "driver": driver}
        for name, memory, driver in (row for row in rows if len(row) == 3)
    ]


def _packages() -> dict[str, str]:
    import re
    from importlib import metadata

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        try:
            text = dist.read_text("METADATA") or dist.read_text("PKG-INFO") or ""
        except (OSError, ValueError):
            continue
        # Reading two headers ourselves is ~15x faster than dist.metadata's email parser.
        headers: dict[str, str] = {}
        for line in text.splitlines():
            if not line.strip() or len(headers) == 2:
                break  # headers end at the first blank line; the long description follows
            key, _, value = line.partition(":")
            if key in ("Name", "Version"):
                headers.setdefault(key, value.strip())
        if headers.get("Name"):
            name = re.sub(r"[-_.]+", "-", headers["Name"]).lower()
            found.setdefault(name, headers.get("Version", ""))  # the first on sys.path wins
    return dict(sorted(found.items()))


def environment_signature() -> tuple[tuple[str, int | None], ...]:
    """A cheap fingerprint (a few ``stat`` calls) that changes when packages are installed.

    Installing, upgrading or removing a distribution adds or removes entries in a
    ``site-packages`` folder, which changes the folder's mtime.

    Returns
    -------
    tuple
        ``(path, mtime_ns)`` for ``sys.prefix`` and each ``site-packages`` or
        ``dist-packages`` folder on ``sys.path``; ``mtime_ns`` is None when it cannot be read.
    """
    folders = [sys.prefix]
    folders += [p for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages")]
    return tuple((folder, _mtime(folder)) for folder in dict.fromkeys(folders))


def _mtime(folder: str) -> int | None:
    try:
        return Path(folder).stat().st_mtime_ns
    except OSError:
        return None


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
    start = _safe(Path.cwd) if path is None else Path(path)
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
    after = _cell_sources(_safe((Path(root) / path).read_bytes))  # None: deleted
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


def _shell() -> Any:
    """The running IPython shell, if IPython is loaded and one is running."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    return _safe(get_ipython) if callable(get_ipython) else None


def notebook_path() -> str | None:
    """The notebook file the kernel runs, when the front end says so.

    VS Code puts ``__vsc_ipynb_file__`` in the user namespace; JupyterLab and Notebook 7 set
    ``JPY_SESSION_NAME`` (ipykernel copies it to ``__session__``) to the path relative to the
    server's root; Colab tells nothing.

    Returns
    -------
    str or None
        An absolute path when the file is found below the current folder or a parent of it (the
        kernel starts in the notebook's folder, below the server root), else the path as given;
        None when unknown or not an ``.ipynb``.
    """
    user_ns = getattr(_shell(), "user_ns", None) or {}
    names = (user_ns.get("__vsc_ipynb_file__"), os.environ.get("JPY_SESSION_NAME"))
    path = next((n for n in (*names, user_ns.get("__session__")) if _is_notebook(n)), None)
    cwd = _safe(Path.cwd)
    if path is None or cwd is None:
        return path
    found = (folder / path for folder in [cwd, *cwd.parents])
    return next((str(p) for p in found if _safe(p.is_file)), path)


def _is_notebook(name: Any) -> bool:
    return isinstance(name, str) and name.lower().endswith(NOTEBOOK)


def entry_point() -> dict[str, Any]:
    """How the code was started.

    Returns
    -------
    dict
        ``kind`` ("notebook", "ipython", "script" or "interactive"), ``path`` (the notebook or the
        script's absolute path, else None), ``argv`` (a script's ``sys.argv`` with secret-looking
        values redacted; ``[]`` otherwise) and ``cwd``.
    """
    cwd = _safe(lambda: str(Path.cwd()))
    shell = _shell()
    if shell is not None:
        notebook = notebook_path()
        # Kernels (ipykernel, Colab) have a `kernel`; the terminal shell does not.
        kind = "notebook" if notebook or getattr(shell, "kernel", None) else "ipython"
        return {"kind": kind, "path": notebook, "argv": [], "cwd": cwd}
    argv = [str(arg) for arg in getattr(sys, "argv", None) or []]
    script = argv[0] if argv else ""
    if script not in ("", "-c", "-m", "-") and _safe(Path(script).is_file):
        path = str(Path(script).absolute())
        return {"kind": "script", "path": path, "argv": _redact_argv(argv), "cwd": cwd}
    return {"kind": "interactive", "path": None, "argv": [], "cwd": cwd}


def _redact_argv(argv: list[str]) -> list[str]:
    """Hide the values of ``--token=X``, ``--token X`` and ``api_key=X``."""
    redacted: list[str] = []
    hide_next = False
    for arg in argv:
        key, sep, _ = arg.partition("=")
        if hide_next and not arg.startswith("-"):
            redacted.append(REDACTED)
        elif sep and looks_secret(key.replace("-", "_")):  # --api-key reads as api_key
            redacted.append(f"{key}={REDACTED}")
        else:
            redacted.append(arg)
        hide_next = arg.startswith("-") and not sep and looks_secret(arg.replace("-", "_"))
    return redacted


def kernel_history(limit_chars: int = 2_000_000, upto: int | None = None) -> list[str]:
    """The cells the running IPython shell executed, oldest first, as typed.

    Parameters
    ----------
    limit_chars
        Cap on the total size: the oldest cells are dropped first, and a marker saying how many
        becomes the first element. The newest cell is always kept.
    upto
        Keep cells up to this execution count only (for a capture made after later cells ran).

    Returns
    -------
    list of str
        Empty outside IPython.
    """
    shell = _shell()
    history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    if not isinstance(history, list):
        history = (getattr(shell, "user_ns", None) or {}).get("In")
    if not isinstance(history, list):
        return []
    cells = [str(cell) for cell in history[1 : None if upto is None else upto + 1]]  # [0] is ""
    total, keep = 0, 0
    for cell in reversed(cells):
        total += len(cell)
        if total > limit_chars and keep:
            break
        keep += 1
    dropped = len(cells) - keep
    marker = [f"# trackbook: {dropped} earlier cells dropped (over {limit_chars} chars)"]
    return (marker if dropped else []) + cells[dropped:]


def content_hash(text: str | bytes) -> str:
    """The sha256 hex digest of ``text`` (UTF-8 when a str), by which lineage is stored once."""
    import hashlib

    data = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else bytes(text)
    return hashlib.sha256(data).hexdigest()


def seeds(params: Mapping[str, Any]) -> dict[str, Any]:
    """The params that seed random generators, plus ``PYTHONHASHSEED`` when set.

    Parameters
    ----------
    params
        A run's params, nested or with dotted keys.

    Returns
    -------
    dict
        Params whose last dotted part is ``seed`` or ``random_state`` or ends with ``_seed``
        (any case), and ``env.PYTHONHASHSEED``.
    """
    found = {}
    for key, value in flatten(params).items():
        last = key.rsplit(".", 1)[-1].lower()
        if last in ("seed", "random_state") or last.endswith("_seed"):
            found[key] = value
    if "PYTHONHASHSEED" in os.environ:
        found["env.PYTHONHASHSEED"] = os.environ["PYTHONHASHSEED"]
    return found
