"""``%trackbook store|experiment|runs|status|export``: the notebook's own small CLI."""

from __future__ import annotations

import argparse
from typing import Any

from IPython.core.error import UsageError

from trackbook import ids, lineage, run, session, spool
from trackbook.errors import TrackbookError

HELP = """%trackbook store [PATH]         show the store, or use PATH from now on
%trackbook experiment [NAME]    show the experiment new runs go to, or set it
%trackbook runs [--where F] [--experiment E] [--limit N]   the runs as a table
%trackbook status               store, experiment, active runs, what waits in the spool
%trackbook export PATH [--where F] [--experiment E] [--title T]   write a summary (.html/.md)"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        # The error and this command's own usage line: the whole help would bury the error.
        raise UsageError(f"{self.prog}: {message}\nusage: {_usage(self.prog)}")

    def exit(self, status: int = 0, message: str | None = None) -> Any:
        raise UsageError(message or HELP)


def _usage(prog: str) -> str:
    return next((line.strip() for line in HELP.splitlines() if line.startswith(prog + " ")),
                HELP)


def dispatch(words: list[str], shell: Any) -> Any:
    if not words or words[0] in ("help", "-h", "--help"):
        print(HELP)
        return None
    command, rest = words[0], words[1:]
    handler = COMMANDS.get(command)
    if handler is None:
        raise UsageError(f"%trackbook: unknown command {command!r}; the commands are "
                         f"{', '.join(COMMANDS)} (%trackbook help shows what each does)")
    try:
        return handler(rest)
    except (TrackbookError, ValueError, FileNotFoundError) as exc:
        raise UsageError(f"%trackbook {command}: {exc}") from None


def _store(rest: list[str]) -> None:
    if len(rest) > 1:
        raise UsageError("%trackbook store takes one path")
    if rest:
        session.init(store=rest[0])
    store = session.current_store()
    state = "exists" if store.exists() else "created by the first run"
    print(f"store: {store.path} ({state})")


def _experiment(rest: list[str]) -> None:
    if len(rest) > 1:
        raise UsageError("%trackbook experiment takes one name (quote names with spaces)")
    if rest:
        session.init(experiment=rest[0])
    print(f"experiment: {session.default_experiment(lineage.notebook_path())}")


def _runs(rest: list[str]) -> Any:
    from trackbook import reads

    parser = _Parser(prog="%trackbook runs", add_help=False)
    parser.add_argument("--where")
    parser.add_argument("--experiment")
    parser.add_argument("--limit", type=int, default=50)
    args = parser.parse_args(rest)
    return reads.runs(where=args.where, experiment=args.experiment, limit=args.limit)


def _status(rest: list[str]) -> None:
    from trackbook import writer

    store = session.current_store()
    print(f"store:      {store.path} ({'exists' if store.exists() else 'not created yet'})")
    print(f"experiment: {session.default_experiment(lineage.notebook_path())}")
    active = run.active_runs()
    for r in active:
        print(f"active run: {ids.short(r.run_id)} {r.name} ({r.experiment}), "
              f"{r.card_state()['elapsed_s']:.0f} s")
    if not active:
        print("active run: none")
    pending = len(list(store.spool_dir.glob(f"*{spool.SUFFIX}"))) if store.spool_dir.exists() \
        else 0
    print(f"spool:      {pending} file(s) waiting to be ingested")
    for error in writer.errors_for(store):
        print(f"writer error: {error}")


def _export(rest: list[str]) -> str:
    parser = _Parser(prog="%trackbook export", add_help=False)
    parser.add_argument("path")
    parser.add_argument("--where")
    parser.add_argument("--experiment")
    parser.add_argument("--title")
    args = parser.parse_args(rest)
    try:
        from trackbook.export import export_summary
    except ImportError:
        raise UsageError("%trackbook export: the summary exporter is not installed") from None
    path = export_summary(args.path, experiment=args.experiment, where=args.where,
                          title=args.title)
    print(f"summary written: {path}")
    return str(path)


COMMANDS = {"store": _store, "experiment": _experiment, "runs": _runs, "status": _status,
            "export": _export}
