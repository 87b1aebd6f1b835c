"""What the ``trackbook`` commands share: error handling, ``--store``, output formats."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Any

import click

from trackbook.errors import TrackbookError

STORE_HELP = "The store (a .duckdb file). Default: $TRACKBOOK_STORE, else ./trackbook.duckdb."


class Group(click.Group):
    """Errors a user can cause print one line on stderr and exit 1, never a traceback."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except click.exceptions.Exit:
            raise
        except click.UsageError as exc:
            where = exc.ctx.command_path if exc.ctx else "trackbook"
            click.echo(f"{where}: {exc.format_message()} (see: {where} --help)", err=True)
            sys.exit(2)
        except click.ClickException as exc:
            click.echo(f"trackbook: {exc.format_message()}", err=True)
            sys.exit(exc.exit_code)
        except BrokenPipeError:
            # `trackbook runs | head`: the reader left. Point stdout at nothing so the exit
            # flush does not complain, and stop quietly.
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("trackbook: interrupted", err=True)
            sys.exit(130)
        except (TrackbookError, ValueError, OSError) as exc:
            click.echo(f"trackbook: {_message(exc)}", err=True)
            sys.exit(1)


def _message(exc: BaseException) -> str:
    return str(exc) or type(exc).__name__


def show_warning(message: Any, category: Any, filename: str, lineno: int, file: Any = None,
                  line: str | None = None) -> None:
    click.echo(f"warning: {message}", err=True)


def with_store(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--store`` on the command too: ``trackbook runs --store x.duckdb`` reads naturally."""

    @click.option("--store", "store", metavar="PATH", help=STORE_HELP)
    @functools.wraps(command)
    def wrapper(*args: Any, store: str | None = None, **kwargs: Any) -> Any:
        root = click.get_current_context().find_root().params.get("store")
        return command(*args, store=store or root, **kwargs)

    return wrapper


def format_option(*choices: str) -> Callable[..., Any]:
    return click.option("--format", "fmt", type=click.Choice(choices), default=choices[0],
                        show_default=True, help="Output format.")


def note(text: str) -> None:
    """Notes about the output (what was left out) go to stderr, so stdout stays data."""
    if text:
        click.echo(text, err=True)


def print_frame(frame: Any, fmt: str, *, runs: bool = False, hint: str = "") -> None:
    from trackbook import frames, textable

    if fmt == "json":
        click.echo(frames.to_json(frame))
    elif fmt == "csv":
        click.echo(frames.to_csv(frame), nl=False)
    else:
        table = frames.table(frame, runs=runs)
        click.echo(table.text())
        if table.hidden:
            note(textable.hidden_note(table.hidden) + hint)
