"""The ``trackbook`` command. Each command parses, calls one library function, prints."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trackbook._version import __version__
from trackbook.errors import TrackbookError


class Group(click.Group):
    """Errors a user can cause print one line on stderr and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except (TrackbookError, FileNotFoundError, ValueError) as exc:
            click.echo(f"trackbook: {exc}", err=True)
            sys.exit(1)


@click.group(cls=Group)
@click.version_option(__version__, prog_name="trackbook")
def main() -> None:
    """trackbook: an experiment tracker that lives inside Jupyter."""


@main.command()
@click.argument("folder", required=False, type=click.Path(path_type=Path))
def demo(folder: Path | None) -> None:
    """Run the quickstart notebook (small real trainings) against a fresh store.

    \b
    Example:
      trackbook demo            # writes ./trackbook-demo/ (or -2, -3... if taken)
    """
    from trackbook.demo import run_demo

    run_demo(folder.absolute() if folder else None, echo=click.echo)


if __name__ == "__main__":
    main()
