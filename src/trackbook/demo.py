"""``trackbook demo``: run the quickstart notebook headless against a fresh store."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

NOTEBOOKS = ("quickstart.ipynb",)


def notebooks_dir() -> Path:
    """The shipped notebooks: inside the wheel, or the repository's ``notebooks/``."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "notebooks", here.parents[1] / "notebooks"):
        if (candidate / NOTEBOOKS[0]).is_file():
            return candidate
    raise FileNotFoundError("the demo notebooks are missing from this installation")


def fresh_folder(base: Path) -> Path:
    """``base``, or ``base-2``, ``base-3``... whichever does not exist yet."""
    folder, n = base, 1
    while folder.exists():
        n += 1
        folder = base.with_name(f"{base.name}-{n}")
    return folder


def execute(notebook: Path, store: Path, timeout: int = 600) -> None:
    """Run a notebook in place with a kernel of this Python, writing runs to ``store``."""
    import nbformat
    from nbclient import NotebookClient

    env_path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    nb = nbformat.read(notebook, as_version=4)
    # No widget state: the notebook is opened untrusted (nothing signed it), where JupyterLab
    # shows each widget's static fallback (the panel's snapshot), so the state (each widget's
    # front-end bundle: ~1.8 MB) would only make the file big.
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3",
                            store_widget_state=False,
                            resources={"metadata": {"path": str(notebook.parent)}})
    old = {k: os.environ.get(k) for k in ("TRACKBOOK_STORE", "PATH", "JPY_SESSION_NAME")}
    os.environ.update(TRACKBOOK_STORE=str(store), PATH=env_path,
                      JPY_SESSION_NAME=str(notebook))
    try:
        # The kernel's own start-up chatter (a TCP warning) is noise here; cell errors still
        # raise CellExecutionError with the traceback.
        client.execute(stderr=subprocess.DEVNULL)
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    nbformat.write(nb, notebook)


def run_demo(folder: Path | None = None, echo: Any = print) -> Path:
    """Copy the notebooks into a fresh folder, execute them, print where everything is."""
    target = fresh_folder(folder or Path("trackbook-demo").absolute())
    target.mkdir(parents=True)
    store = target / "trackbook.duckdb"
    echo(f"trackbook demo in {target}")
    for name in NOTEBOOKS:
        notebook = target / name
        shutil.copyfile(notebooks_dir() / name, notebook)
        started = time.monotonic()
        echo(f"  running {name} (small scikit-learn trainings) ...")
        execute(notebook, store)
        echo(f"  done in {time.monotonic() - started:.1f} s")
    report(target, store, echo)
    return target


def write_summary(target: Path, store: Path) -> Path:
    """``summary.html`` beside the notebook: what a teammate would be sent."""
    import trackbook as tb

    return Path(tb.export_summary(target / "summary.html", store=store,
                                  title="trackbook demo: quickstart"))


def report(target: Path, store: Path, echo: Any) -> None:
    import pandas as pd

    import trackbook as tb

    here = Path.cwd()
    runs = tb.runs(store=store)
    echo(f"\nstore: {store}  ({len(runs)} runs)")
    if len(runs):
        board = tb.leaderboard(metric="val_loss.min", goal="min", group_by="params.alpha",
                               store=store)
        # Displays show 8 characters of an id and 4 significant digits.
        board["best_run"] = board["best_run"].str[:8]
        with pd.option_context("display.width", 120, "display.max_columns", 10,
                               "display.float_format", "{:.4g}".format):
            echo("\nleaderboard (val_loss.min, mean over seeds):")
            echo(board.to_string(index=False))
        summary = write_summary(target, store)
        echo(f"\nsummary (one self-contained file, opens offline; mail it): "
             f"{_shown(summary, here)}")
    echo("\nopen it in JupyterLab:")
    echo(f"  {_command('jupyter', here)} lab{' --allow-root' if _is_root() else ''} "
         f"{_shown(target / NOTEBOOKS[0], here)}")
    if not _installed("jupyter-lab"):
        echo(f"  (JupyterLab is not installed here: {_command('pip', here)} install jupyterlab)")
    echo("list its runs from a terminal:")
    echo(f"  {_command('trackbook', here)} runs --store {_shown(store, here)}")


def _bin() -> Path:
    """The folder of this Python's scripts (``.venv/bin``), where jupyter and trackbook are."""
    return Path(sys.executable).parent


def _installed(name: str) -> bool:
    return shutil.which(name, path=str(_bin())) is not None


def _command(name: str, here: Path) -> str:
    """How to call a script of this environment from ``here``: by name if the shell finds
    this very one, else by its path."""
    if shutil.which(name) == str(_bin() / name):
        return name
    return str(_shown(_bin() / name, here))


def _shown(path: Path, here: Path) -> Path:
    """``path`` relative to ``here`` when it is inside it (shorter to read and to type)."""
    try:
        return path.relative_to(here)
    except ValueError:
        return path


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
