"""``%load_ext trackbook``: the ``%%track`` cell magic and the ``%trackbook`` line magic.

The only module that registers with IPython. Argument errors raise IPython's ``UsageError``
(a one-line message, no traceback) before the cell runs.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from trackbook import ids, session, sweeps, tried, values
from trackbook import run as runs_api
from trackbook.cardview import number, run_card
from trackbook.cellrun import PreparedCell, cell_number, final_card, prepare, run_cell
from trackbook.cells import parse_value
from trackbook.errors import TrackbookError

_indexes: dict[str, tried.TriedIndex] = {}


class _HelpShown(Exception):  # not an error: --help was asked for, and printed
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # argparse would print the usage and exit the kernel
        raise UsageError(f"{self.prog}: {message} (%track lists the options)")

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        if status == 0:  # --help, already printed: the cell does not run, and does not fail
            raise _HelpShown
        raise UsageError(message or self.format_usage())


def track_parser() -> _Parser:
    parser = _Parser(prog="%%track", add_help=True,
                     description="Run this cell as a trackbook run.")
    parser.add_argument("name", nargs="?", help="run name (default: two words from the id)")
    parser.add_argument("-e", "--experiment", help="experiment (default: the notebook's name)")
    parser.add_argument("-t", "--tags", action="append", default=[],
                        help="tags: label or key=value, comma-separated")
    parser.add_argument("-p", "--param", action="append", default=[], metavar="K=V",
                        help="set K to V before the cell runs (replaces its assignment)")
    parser.add_argument("--note", help="a note on the run")
    parser.add_argument("--sweep",
                        help='run once per combination: "lr=[1e-4,1e-3] seed=range(3)"')
    parser.add_argument("--fail-fast", action="store_true",
                        help="stop a sweep at the first failure")
    parser.add_argument("--skip-if-done", action="store_true",
                        help="do not run when this cell already finished with the same params")
    parser.add_argument("--resume", metavar="RUN", help="continue an earlier run (id prefix)")
    parser.add_argument("--quiet", action="store_true", help="show no run card")
    return parser


def parse_overrides(items: list[str]) -> dict[str, Any]:
    overrides = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip().isidentifier():
            raise UsageError(f"%%track: -p takes NAME=VALUE, e.g. -p lr=1e-3 (got {item!r})")
        overrides[name.strip()] = parse_value(text)
    return overrides


def parse_tag_options(items: list[str]) -> dict[str, str]:
    tags: dict[str, str] = {}
    for item in items:
        tags.update(values.parse_tags([t for t in item.split(",") if t.strip()]))
    return tags


def _index() -> tried.TriedIndex:
    store = session.current_store()
    index = _indexes.get(store.path)
    if index is None:
        index = _indexes[store.path] = tried.TriedIndex(store)
    index.refresh()
    return index


@magics_class
class TrackMagics(Magics):
    @cell_magic("track")  # type: ignore[arg-type]
    def track(self, line: str, cell: str) -> Any:
        """Run the cell as a trackbook run. ``%%track --help`` lists the options."""
        __tracebackhide__ = True
        try:
            args = track_parser().parse_args(_split(line, "%%track"))
        except _HelpShown:
            return None
        overrides = parse_overrides(args.param)
        tags = parse_tag_options(args.tags)
        if args.experiment is not None and not args.experiment.strip():
            raise UsageError("%%track: -e needs an experiment name")
        if args.sweep:
            if args.resume:
                raise UsageError("%%track: --resume and --sweep do not go together")
            grid = _sweep_grid(args.sweep, overrides)
            from trackbook.sweeping import run_sweep

            return run_sweep(self.shell, cell, args, grid, overrides, tags, _index())
        return self._track_one(cell, args, overrides, tags)

    def _track_one(self, cell: str, args: argparse.Namespace, overrides: dict[str, Any],
                   tags: dict[str, str]) -> Any:
        __tracebackhide__ = True
        prepared = prepare(self.shell, cell, overrides)
        index = _index()
        if not args.resume and _already_done(index, prepared, args.skip_if_done):
            return None
        run = _start(self.shell, prepared, args, tags)
        return _run_with_card(self.shell, run, prepared, index, quiet=args.quiet)

    @line_magic("track")  # type: ignore[arg-type]
    def track_help(self, line: str) -> None:
        """``%track``: the options of the cell magic ``%%track``.

        IPython refuses a cell magic whose cell is empty, so ``%%track --help`` alone in a cell
        points here (``Did you mean the line magic %track?``).
        """
        track_parser().print_help()
        if line.strip() not in ("", "-h", "--help"):
            print("\n%track only shows this help: put %%track and its options on the first line "
                  "of the cell to run as a run.")

    @line_magic("trackbook")  # type: ignore[arg-type]
    def trackbook(self, line: str) -> Any:
        """``%trackbook store|experiment|runs|status|export ...``: see ``%trackbook help``."""
        from trackbook.linemagic import dispatch

        return dispatch(_split(line, "%trackbook"), self.shell)


def _split(line: str, prog: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise UsageError(f"{prog}: {exc} in {line!r}") from None


def _sweep_grid(spec: str, overrides: dict[str, Any]) -> dict[str, list[Any]]:
    try:
        grid = sweeps.parse(spec)
    except sweeps.SweepSpecError as exc:
        raise UsageError(f"%%track --sweep: {exc}") from None
    clash = set(grid) & set(overrides)
    if clash:
        raise UsageError(f"%%track: {', '.join(sorted(clash))} is both swept and set with -p")
    return grid


def _already_done(index: tried.TriedIndex, prepared: PreparedCell, skip: bool) -> bool:
    """Say so when this cell already finished with these params; True when it should not run."""
    done = index.lookup(prepared.cell_hash, prepared.cell_params, wait=5.0 if skip else 0.0)
    if done is None:
        return False
    shown = ", ".join(f"{k}={number(v)}" for k, v in done.metrics.items())
    verb = "skipped: this cell already ran" if skip else "already tried: this cell ran"
    print(f"trackbook: {verb} with the same params as run {ids.short(done.run_id)} "
          f"({done.name}){': ' + shown if shown else ''}")
    return skip


def _start(shell: Any, prepared: PreparedCell, args: argparse.Namespace,
           tags: dict[str, str]) -> runs_api.ActiveRun:
    lineage = {"code": {"cell_hash": prepared.cell_hash, "cell_params": prepared.cell_params,
                        "execution_count": cell_number(shell),
                        "overrides": {k: repr(v) for k, v in prepared.overrides.items()}}}
    try:
        if args.resume:
            run = runs_api.start_run(resume=args.resume)
            run.log_params(prepared.params)
        else:
            run = runs_api.start_run(args.name, args.experiment, params=prepared.params,
                                     tags=tags or None, note=args.note, code=prepared.source,
                                     lineage=lineage)
    except (ValueError, LookupError, TrackbookError) as exc:
        raise UsageError(f"%%track: {exc}") from None
    if args.resume and tags:
        run.tag(tags)
    if args.resume and args.note:
        run.note(args.note)
    return run


def _run_with_card(shell: Any, run: runs_api.ActiveRun, prepared: PreparedCell,
                   index: tried.TriedIndex, *, quiet: bool) -> Any:
    __tracebackhide__ = True
    shown = None if quiet else _show_card(run)
    try:
        result = run_cell(shell, run, prepared)
    finally:
        _close_card(shown, run)
        if run.status == "finished":
            index.add(prepared.cell_hash, prepared.cell_params,
                      tried.Done(run.run_id, run.name, _key_metrics(run)))
    return result


def _show_card(run: runs_api.ActiveRun) -> Any:
    from IPython.display import display

    from trackbook.card import Feeder, RunCard

    run.watch()
    card = RunCard()
    feeder = Feeder(card, lambda: (run_card(run.card_state()), run.status)).start()
    handle = display(card, display_id=True)
    return card, feeder, handle


def _close_card(shown: Any, run: runs_api.ActiveRun) -> None:
    if shown is None:
        return
    card, feeder, handle = shown
    feeder.stop()
    handle.update(final_card(run))
    card.close()


def _key_metrics(run: runs_api.ActiveRun) -> dict[str, float]:
    state = run.card_state()["metrics"][: tried.KEY_METRICS]
    return {m["key"]: m["last"] for m in state}


def load_ipython_extension(ipython: Any) -> None:
    ipython.register_magics(TrackMagics)
