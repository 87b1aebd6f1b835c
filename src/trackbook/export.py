"""``tb.export_summary``: the runs as one file a teammate can open anywhere.

HTML (the default) is one self-contained page: leaderboard, interactive curves, the params that
differ, per-run lineage and thumbnails, nothing fetched (see :mod:`trackbook.summaryhtml`).
Markdown (``format="md"`` or a ``.md`` path) is the short form for a pull request or a wiki
(:mod:`trackbook.summarymd`). The data comes from :mod:`trackbook.summarydata`; this module
checks the arguments, picks the format and writes the file atomically.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from trackbook import summarydata
from trackbook.store import Store
from trackbook.summarydata import ExportError

__all__ = ["ExportError", "export_summary"]

FORMATS = {"html": "html", "htm": "html", "md": "md", "markdown": "md"}
MARKDOWN_SUFFIXES = (".md", ".markdown")


def export_summary(
    path: str | os.PathLike[str],
    experiment: str | list[str] | None = None,
    where: str | None = None,
    title: str | None = None,
    format: str | None = None,
    *,
    store: str | os.PathLike[str] | Store | None = None,
    runs: Any = None,
    metrics: str | Sequence[str] | None = None,
) -> Path:
    """Write a summary of runs to ``path``: a self-contained HTML page, or Markdown.

    Parameters
    ----------
    path
        The file to write (replaced if it exists). Its folder must exist.
    experiment
        An experiment name (or a list); None means every experiment.
    where
        A filter, as ``tb.runs(where=...)``: ``"params.lr < 1e-3 and status = 'finished'"``.
    title
        The page's title; default: ``"<experiment>: summary"`` for one experiment, else
        ``"trackbook summary"``.
    format
        ``"html"`` or ``"md"``; default: from the suffix (``.md``/``.markdown`` -> Markdown,
        anything else -> HTML).
    store
        The store to read; default: the current one (``tb.init``, ``$TRACKBOOK_STORE``).
    runs
        Instead of (or narrowed by) ``experiment``/``where``: run ids, prefixes, names,
        ``Run`` objects or a ``tb.runs()`` DataFrame.
    metrics
        Metric names; the first ranks the runs (``val_loss`` ranks by its best value,
        ``val_loss.last`` by the last), and each gets a chart. Default: the metric most runs
        logged (held-out losses first) ranks, and up to 6 metrics get charts.

    Returns
    -------
    pathlib.Path
        The absolute path written.

    Raises
    ------
    ExportError
        No run matches, a metric is unknown, or the path cannot be written (nothing is left
        behind: the file is written to a temporary name and renamed into place).
    trackbook.FilterError
        ``where`` does not parse (the message shows where).
    trackbook.StoreNotFound
        There is no store at the path looked at.
    """
    target = _target(path)
    kind = _format(format, target)
    summary = summarydata.gather(experiment=experiment, where=where, title=title, store=store,
                                 runs=runs, metrics=metrics, rich=kind == "html")
    if kind == "html":
        from trackbook import summaryhtml

        text = summaryhtml.render(summary)
    else:
        from trackbook import summarymd

        text = summarymd.render(summary)
    write_atomic(target, text)
    return target


def _format(format: str | None, target: Path) -> str:
    if format is None:
        return "md" if target.suffix.lower() in MARKDOWN_SUFFIXES else "html"
    kind = FORMATS.get(str(format).strip().lower().lstrip("."))
    if kind is None:
        raise ExportError(f"format must be 'html' or 'md', not {format!r}")
    return kind


def _target(path: Any) -> Path:
    """The absolute path to write, checked before any work is done."""
    if not isinstance(path, (str, os.PathLike)) or not os.fspath(path).strip():
        raise ExportError(f"give the summary a file path, e.g. 'summary.html', not {path!r}")
    target = Path(os.fspath(path)).expanduser().absolute()
    if target.is_dir():
        raise ExportError(f"{target} is a folder; give a file name, e.g. "
                          f"{target / 'summary.html'}")
    folder = target.parent
    if not folder.exists():
        raise ExportError(f"cannot write {target}: the folder {folder} does not exist")
    if not folder.is_dir():
        raise ExportError(f"cannot write {target}: {folder} is not a folder")
    if not os.access(folder, os.W_OK):
        raise ExportError(f"cannot write {target}: the folder {folder} is not writable")
    return target


def write_atomic(target: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``target``, then rename it into place: a
    reader (or a crash) never sees half a summary, and a failure leaves the old file intact."""
    data = text.encode("utf-8")
    try:
        mode = stat.S_IMODE(target.stat().st_mode) if target.exists() else 0o644
        fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from None
    tmp = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        tmp.chmod(mode)  # mkstemp makes 0600; a shared summary should stay readable
        tmp.replace(target)
    except OSError as exc:
        raise ExportError(f"cannot write {target}: {exc.strerror or exc}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
