"""The ``trackbook`` command. Each command parses, calls one library function, prints.

Start-up is kept short (``trackbook --help`` imports click and nothing heavy): every command
imports what it needs when it runs. Errors a user can cause print one line (a filter error
adds the filter with a caret under the position) on stderr and exit 1; usage errors exit 2.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trackbook import cli_admin
from trackbook._version import __version__
from trackbook.cliutil import STORE_HELP, Group, format_option, note, print_frame, with_store

TABLE_LIMIT = 50  # runs a table shows unless --limit says otherwise
EXIT_RUN_NOT_FINISHED = 3  # `tail`: the run ended failed, interrupted or crashed


@click.group(cls=Group)
@click.version_option(__version__, prog_name="trackbook")
@click.option("--store", metavar="PATH", help=STORE_HELP)
def main(store: str | None) -> None:
    """trackbook: an experiment tracker that lives inside Jupyter.

    \b
    Example:
      trackbook runs --where "metrics.val_loss < 0.3" --order-by metrics.val_loss
      trackbook show 3f2a1b   (a run id prefix of 6+ characters, or a run name)
    """
    import warnings

    from trackbook.cliutil import show_warning

    warnings.showwarning = show_warning  # one line, not a source excerpt


# -- reading --------------------------------------------------------------------------------------

@main.command()
@click.option("-e", "--experiment", multiple=True, help="Only this experiment (repeatable).")
@click.option("-w", "--where", metavar="FILTER", help="A filter, e.g. \"params.lr < 1e-3\".")
@click.option("-o", "--order-by", multiple=True, metavar="FIELD",
              help="A column or filter field with optional ASC/DESC (repeatable). "
                   "Default: newest first.")
@click.option("-n", "--limit", type=click.IntRange(min=0),
              help=f"At most N runs; 0 for all. Default: {TABLE_LIMIT} in a table, else all.")
@click.option("-c", "--columns", metavar="LIST",
              help="Comma-separated columns or globs, e.g. \"name,params.*,metrics.val_loss\".")
@format_option("table", "json", "csv")
@with_store
def runs(experiment: tuple[str, ...], where: str | None, order_by: tuple[str, ...],
         limit: int | None, columns: str | None, fmt: str, store: str | None) -> None:
    """List runs: one row each, newest first.

    \b
    Example:
      trackbook runs --where "metrics.val_loss < 0.3 and status = 'finished'"
      trackbook runs -e cnn_sweep -o "metrics.val_loss.min" -n 10 -c "name,params.*"
      trackbook runs --format csv > runs.csv
    """
    from trackbook import frames, reads

    capped = fmt == "table" and limit is None
    wanted = TABLE_LIMIT + 1 if capped else (limit or None)
    frame = reads.runs(where, list(experiment) or None, list(order_by) or None, wanted,
                       store=store)
    more = capped and len(frame) > TABLE_LIMIT
    frame = frame.head(TABLE_LIMIT) if more else frame
    frame = frames.pick_columns(frame, columns) if columns else frame[
        frames.runs_order(list(frame.columns)) if fmt == "table" else list(frame.columns)]
    if fmt == "table" and frame.empty:
        note("no runs match" if where or experiment else "no runs yet")
        return
    print_frame(frame, fmt, runs=True, hint=" (pick with --columns, or --format csv)")
    if more:
        note(f"showing the first {TABLE_LIMIT} runs; more match (--limit N, or 0 for all)")


@main.command(short_help="Show one run: params, metrics, lineage.")
@click.argument("run")
@format_option("text", "json")
@with_store
def show(run: str, fmt: str, store: str | None) -> None:
    """Show one run: params, metrics, tags, notes, artifacts, lineage.

    RUN is a run id, a prefix of 6+ characters, or an exact run name.

    \b
    Example:
      trackbook show 3f2a1b
      trackbook show baseline --format json | jq .params
    """
    import json

    from trackbook import reads, runtext

    snapshot = reads.get_run(run, store=store)
    if fmt == "json":
        click.echo(json.dumps(runtext.run_dict(snapshot), indent=2, ensure_ascii=False))
    else:
        click.echo(runtext.run_text(snapshot))


@main.command(short_help="Follow a live run's metrics until it ends.")
@click.argument("run")
@click.option("-n", "--last", type=click.IntRange(min=0), default=10, show_default=True,
              help="Steps already logged to show first.")
@click.option("--interval", type=click.FloatRange(min=0.05), default=1.0, show_default=True,
              help="Seconds between polls.")
@with_store
def tail(run: str, last: int, interval: float, store: str | None) -> None:
    """Follow a run's metrics as they are logged, until it ends.

    Prints one line per step, then how the run ended. Exits 0 when the run finished,
    3 when it failed, was interrupted or crashed; Ctrl-C stops following.

    \b
    Example:
      trackbook tail 3f2a1b
      trackbook tail baseline -n 0 && echo "it finished"
    """
    from trackbook.follow import Ended, follow

    try:
        for event in follow(run, last=last, interval=interval, store=store):
            click.echo(event.line())
            if isinstance(event, Ended) and event.status not in ("finished", "skipped"):
                sys.exit(EXIT_RUN_NOT_FINISHED)
    except KeyboardInterrupt:
        note("stopped following (the run goes on)")
        sys.exit(130)


@main.command()
@click.argument("run")
@click.option("--to", "to", type=click.Path(path_type=Path), metavar="DIR",
              help="Folder to write into (created if missing). Default: ./<run id prefix>.")
@click.option("-a", "--artifact", multiple=True, metavar="NAME",
              help="Only this artifact (repeatable). Default: all.")
@click.option("--overwrite", is_flag=True, help="Replace files that exist with other content.")
@with_store
def download(run: str, to: Path | None, artifact: tuple[str, ...], overwrite: bool,
             store: str | None) -> None:
    """Copy a run's artifacts into a folder.

    \b
    Example:
      trackbook download 3f2a1b --to ./model
      trackbook download baseline --artifact model.pt --to .
    """
    from trackbook import textable
    from trackbook.downloads import download as fetch

    done = fetch(run, to, list(artifact) or None, overwrite=overwrite, store=store)
    for path in done.written:
        click.echo(str(path))
    same = f"; {len(done.unchanged)} already there, unchanged" if done.unchanged else ""
    note(f"{len(done.written)} file(s), {textable.size(done.size)}, written to "
          f"{done.folder}{same}")


@main.command(short_help="Run a read-only SQL query over the views.")
@click.argument("query")
@format_option("table", "json", "csv")
@with_store
def sql(query: str, fmt: str, store: str | None) -> None:
    """Run a read-only SQL query over the views (runs, params, metrics, metric_summary,
    tags, notes, artifacts, inputs, experiments). QUERY - reads it from stdin.

    \b
    Example:
      trackbook sql "SELECT key, avg(last) FROM metric_summary GROUP BY key"
      trackbook sql "SELECT * FROM params WHERE key = 'lr'" --format csv
    """
    from trackbook import reads

    text = sys.stdin.read() if query == "-" else query
    print_frame(reads.sql(text, store=store), fmt, hint=" (select fewer, or --format csv)")


@main.command(short_help="List experiments.")
@format_option("table", "json", "csv")
@with_store
def experiments(fmt: str, store: str | None) -> None:
    """List experiments with when they started and how many runs they have.

    \b
    Example:
      trackbook experiments
    """
    from trackbook import reads

    frame = reads.experiments(store=store)
    if fmt == "table" and frame.empty:
        note("no experiments yet")
        return
    print_frame(frame, fmt)


for _command in cli_admin.COMMANDS:
    main.add_command(_command)


if __name__ == "__main__":
    main(prog_name="trackbook")
