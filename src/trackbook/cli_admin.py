"""``trackbook`` commands that write or look after a store: export, import, rm, restore,
rename, gc, doctor, path, demo. :mod:`trackbook.cli` adds them to the group."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trackbook.cliutil import note, with_store


@click.group("export", short_help="Write a summary or a bundle of runs.")
def export() -> None:
    """Write runs out: a summary to read (HTML/Markdown) or a bundle to import elsewhere.

    \b
    Example:
      trackbook export summary summary.html --where "tags.candidate = 'yes'"
      trackbook export bundle -e cnn_sweep -o cnn.tbz
    """


@export.command("summary", short_help="Write an HTML or Markdown summary.")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-e", "--experiment", multiple=True, help="Only this experiment (repeatable).")
@click.option("-w", "--where", metavar="FILTER", help="A filter, e.g. \"status = 'finished'\".")
@click.option("--title", help="The page title.")
@click.option("--format", "fmt", type=click.Choice(["html", "md"]),
              help="Default: from PATH's suffix (.md: Markdown), else html.")
@with_store
def export_summary(path: Path, experiment: tuple[str, ...], where: str | None,
                   title: str | None, fmt: str | None, store: str | None) -> None:
    """Write a self-contained summary (one HTML file that opens offline, or Markdown).

    \b
    Example:
      trackbook export summary report.html -e cnn_sweep --title "CNN sweep"
      trackbook export summary report.md --where "metrics.val_loss < 0.3"
    """
    try:
        from trackbook.export import export_summary as write
    except ModuleNotFoundError as exc:
        if exc.name != "trackbook.export":
            raise
        raise click.ClickException(
            "summaries are not available in this installation yet (no trackbook.export)"
        ) from None
    written = write(path, list(experiment) or None, where, title, fmt, store=store)
    click.echo(str(written))


@export.command("bundle", short_help="Write runs to a .tbz bundle.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("runs.tbz"), show_default=True, help="The bundle file to write.")
@click.option("-e", "--experiment", multiple=True, help="Only this experiment (repeatable).")
@click.option("-w", "--where", metavar="FILTER", help="A filter; default: every run.")
@with_store
def export_bundle(output: Path, experiment: tuple[str, ...], where: str | None,
                  store: str | None) -> None:
    """Write runs (their metrics, lineage and artifacts) to a .tbz bundle.

    A sweep's children come with it. Import it elsewhere with `trackbook import`.

    \b
    Example:
      trackbook export bundle --where "tags.release = 'v2'" -o v2.tbz
    """
    from trackbook import textable
    from trackbook.bundle import export_bundle as write

    written = write(output, where, list(experiment) or None, store=store)
    click.echo(str(written))
    note(f"bundle: {textable.size(written.stat().st_size)}")


@click.command("import")
@click.argument("bundle", type=click.Path(dir_okay=False, path_type=Path))
@with_store
def import_(bundle: Path, store: str | None) -> None:
    """Merge a .tbz bundle into the store. Runs keep their ids; importing twice adds nothing.

    \b
    Example:
      trackbook import runs.tbz
      trackbook import runs.tbz --store team/trackbook.duckdb
    """
    from trackbook.bundle import import_bundle

    click.echo(str(import_bundle(bundle, store=store)))


def _run_ids(runs: tuple[str, ...], where: str | None, what: str) -> tuple[list[str] | None,
                                                                          str | None]:
    if not runs and not where:
        raise click.UsageError(f"say which runs to {what}: give RUN... or --where FILTER")
    return (list(runs) or None), where


def _report(verb: str, ids: list[str], undo: str) -> None:
    from trackbook import ids as run_ids

    if not ids:
        note(f"nothing {verb}: no runs match")
        return
    shown = " ".join(run_ids.short(i) for i in ids)
    click.echo(f"{verb} {len(ids)} run{'s' if len(ids) != 1 else ''}: {shown}")
    note(f"undo with: trackbook {undo} {shown}")


@click.command("rm", short_help="Delete runs (restore brings them back).")
@click.argument("runs", nargs=-1)
@click.option("-w", "--where", metavar="FILTER", help="Delete the runs this filter matches.")
@with_store
def rm(runs: tuple[str, ...], where: str | None, store: str | None) -> None:
    """Delete runs (and their children): hidden everywhere until restored.

    Their data stays in the store until `trackbook gc --purge-deleted`.

    \b
    Example:
      trackbook rm 3f2a1b 9c0d2e
      trackbook rm --where "status = 'failed' and experiment = 'scratch'"
    """
    from trackbook.manage import delete_runs

    ids, where = _run_ids(runs, where, "delete")
    _report("deleted", delete_runs(where, ids, store=store), "restore")


@click.command("restore")
@click.argument("runs", nargs=-1)
@click.option("-w", "--where", metavar="FILTER", help="Restore the deleted runs it matches.")
@with_store
def restore(runs: tuple[str, ...], where: str | None, store: str | None) -> None:
    """Bring deleted runs (and their children) back.

    \b
    Example:
      trackbook restore 3f2a1b
      trackbook restore --where "experiment = 'scratch'"
    """
    from trackbook.manage import restore_runs

    ids, where = _run_ids(runs, where, "restore")
    _report("restored", restore_runs(where, ids, store=store), "rm")


@click.command("rename")
@click.argument("run")
@click.argument("name")
@with_store
def rename(run: str, name: str, store: str | None) -> None:
    """Give a run a new name.

    \b
    Example:
      trackbook rename 3f2a1b "baseline, lr=1e-3"
    """
    from trackbook import ids
    from trackbook.manage import rename as set_name

    run_id = set_name(run, name, store=store)
    click.echo(f"renamed {ids.short(run_id)} to {name.strip()!r}")


@click.command("gc", short_help="Free space that no run needs.")
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--purge-deleted", is_flag=True,
              help="Also remove deleted runs for good (needs --yes).")
@click.option("--yes", is_flag=True, help="Confirm --purge-deleted.")
@with_store
def gc(dry_run: bool, purge_deleted: bool, yes: bool, store: str | None) -> None:
    """Free space: artifact files no run refers to, and stale temp files.

    Files written in the last hour stay (a run may be about to refer to them). Deleted runs
    keep their files until --purge-deleted --yes removes the runs themselves.

    \b
    Example:
      trackbook gc --dry-run
      trackbook gc --purge-deleted --yes
    """
    from trackbook import maintenance, textable

    if purge_deleted and not yes and not dry_run:
        plan = maintenance.gc(purge_deleted=True, dry_run=True, store=store)
        if plan.purged_runs:
            raise click.ClickException(
                f"--purge-deleted removes {len(plan.purged_runs)} deleted run(s) for good "
                "(no restore afterwards); run again with --yes, or see them first with "
                "--dry-run")
    report = maintenance.gc(purge_deleted=purge_deleted, dry_run=dry_run, store=store)
    verb = "would remove" if dry_run else "removed"
    lines = [f"{verb} {report.blobs} unreferenced artifact file(s), "
             f"{textable.size(report.blob_bytes)}",
             f"{verb} {report.temp_files} stale temp file(s), {textable.size(report.temp_bytes)}"]
    if purge_deleted:
        lines.append(f"{verb} {len(report.purged_runs)} deleted run(s) for good "
                     f"({report.purged_rows} rows)")
    if report.kept_recent:
        lines.append(f"kept {report.kept_recent} unreferenced file(s) written in the last hour")
    if not dry_run:
        lines.append(f"store file: {textable.size(report.file_before)} -> "
                     f"{textable.size(report.file_after)}; freed {textable.size(report.freed)}")
    click.echo("\n".join(lines))


@click.command("path", short_help="Print the path of the store in use.")
@with_store
def path(store: str | None) -> None:
    """Print the path of the store in use (whether or not it exists yet).

    \b
    Example:
      trackbook path
      du -sh "$(trackbook path)"*
    """
    from trackbook import session

    click.echo(session.store_for(store).path)


@click.command("doctor", short_help="Check the store and its runs.")
@with_store
def doctor(store: str | None) -> None:
    """Check the store: location, versions, sizes, runs, stale and crashed runs, the spool.

    Exits 1 when it finds something to act on.

    \b
    Example:
      trackbook doctor
    """
    from trackbook import doctext, maintenance

    checkup = maintenance.doctor(store=store)
    click.echo(doctext.render(checkup))
    if checkup.problems:
        sys.exit(1)


@click.command("demo", short_help="Run the quickstart notebook.")
@click.argument("folder", required=False, type=click.Path(path_type=Path))
def demo(folder: Path | None) -> None:
    """Run the quickstart notebook (small real trainings) against a fresh store.

    \b
    Example:
      trackbook demo            # writes ./trackbook-demo/ (or -2, -3... if taken)
    """
    from trackbook.demo import run_demo

    run_demo(folder.absolute() if folder else None, echo=click.echo)


COMMANDS = [export, import_, rm, restore, rename, gc, path, doctor, demo]
