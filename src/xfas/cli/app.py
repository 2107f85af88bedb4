"""The typer app every command registers on, and the entry point that turns user errors into
one-line messages and a non-zero exit status."""

from __future__ import annotations

import sys

import typer
from typer.exceptions import Abort
from typer._click.exceptions import ClickException  # typer vendors click; no public alias

from xfas import __version__
from xfas.errors import XfasError

app = typer.Typer(
    name="xfas",
    help="Explainable face anti-spoofing: models, explainers, SPED concepts, X-FAS benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
INTERRUPTED = 130


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"xfas {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Explainable face anti-spoofing."""


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a user error prints ``error: <message>`` on one line and exits 2 (130 for
    an interrupted run)."""
    try:
        status = app(args=argv, standalone_mode=False)
    except XfasError as error:
        typer.echo(f"error: {error}", err=True)
        return error.exit_code
    except ClickException as error:  # usage errors arrive here in non-standalone mode
        error.show()
        return error.exit_code
    except Abort:
        typer.echo("aborted", err=True)
        return INTERRUPTED
    if status == INTERRUPTED:  # typer turns a bare Ctrl-C into this exit status
        typer.echo("interrupted", err=True)
    return status if isinstance(status, int) else 0


if __name__ == "__main__":
    sys.exit(main())
