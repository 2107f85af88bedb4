"""The typer app every command registers on, and the entry point that turns user errors into
one-line messages and a non-zero exit status."""

from __future__ import annotations

import sys

import typer

from xfas import __version__
from xfas.errors import XfasError

app = typer.Typer(
    name="xfas",
    help="Explainable face anti-spoofing: models, explainers, SPED concepts, X-FAS benchmark.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
USER_ERROR = 2


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
    """Run the CLI; a user error prints ``error: <message>`` on one line and exits 2."""
    try:
        app(args=argv, standalone_mode=False)
    except XfasError as error:
        typer.echo(f"error: {error}", err=True)
        return USER_ERROR
    except KeyboardInterrupt as stop:
        typer.echo(f"interrupted: {stop}" if str(stop) else "interrupted", err=True)
        return 130
    except typer.Exit as done:
        return done.exit_code
    except Exception as error:  # click's usage errors arrive here in non-standalone mode
        from click.exceptions import ClickException, Abort
        if isinstance(error, ClickException):
            error.show()
            return error.exit_code
        if isinstance(error, Abort):
            typer.echo("aborted", err=True)
            return 130
        raise
    return 0


if __name__ == "__main__":
    sys.exit(main())
