"""Where a run came from: environment, git state, notebook, entry point, kernel history, seeds.

Every function is plain and synchronous and never raises for a problem of the machine (no git, no
GPU, no repository, no /proc): it returns None or an empty value. run.py calls them off the user's
thread and stores results by hash. Slow standard modules are imported where used, so that
``import trackbook`` stays fast; IPython is read through ``sys.modules``, never imported.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from trackbook.gitstate import NOTEBOOK, capture_git
from trackbook.gitstate import safely as _safe
from trackbook.values import REDACTED, flatten, looks_secret

__all__ = ["capture_git"]  # re-exported: lineage is where callers look for it

# Environment variables that change results; only these are recorded, never the whole environment.
ENV_VARS = tuple(
    "CUDA_VISIBLE_DEVICES PYTHONHASHSEED OMP_NUM_THREADS MKL_NUM_THREADS "
    "CUBLAS_WORKSPACE_CONFIG TF_DETERMINISTIC_OPS".split()
)
GPU_TIMEOUT = 5.0  # nvidia-smi can hang for seconds on a wedged driver


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
