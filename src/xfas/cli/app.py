"""The typer app every command registers on, and the entry point that turns user errors into
one-line messages and a non-zero exit status."""

from __future__ import annotations

import inspect
import sys
import warnings
from copy import copy
from typing import Any, Callable

import typer
from typer.exceptions import Abort
from typer.models import OptionInfo
# typer vendors click and has no public alias for these
from typer._click.core import ParameterSource
from typer._click.exceptions import ClickException, MissingParameter

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


def run_by_default(group: typer.Typer, command: Callable[..., Any]) -> None:
    """Make ``command`` (one of ``group``'s commands) run when the group is called without a
    command name, so ``xfas GROUP --opt ...`` keeps working as it did before ``command`` joined
    the group. The group takes ``command``'s options; the required ones are checked only when
    no command name follows, and giving one before a command name is an error."""
    signature = inspect.signature(command, eval_str=True)
    parameters = [inspect.Parameter("ctx", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                    annotation=typer.Context)]
    required = []
    for parameter in signature.parameters.values():
        default = parameter.default
        if default is parameter.empty:  # `x: SomeOption` (Annotated) without a default
            required.append(parameter.name)
            parameter = parameter.replace(default=None)
        elif isinstance(default, OptionInfo) and default.default is ...:  # `typer.Option(...)`
            required.append(parameter.name)
            optional = copy(default)
            optional.default = None
            parameter = parameter.replace(default=optional)
        parameters.append(parameter)

    def callback(ctx: typer.Context, **options: Any) -> None:
        by_name = {param.name: param for param in ctx.command.params}
        if ctx.invoked_subcommand is not None:
            given = [by_name[name].opts[0] for name in options
                     if ctx.get_parameter_source(name) is ParameterSource.COMMANDLINE]
            if given:
                command_name = ctx.invoked_subcommand
                raise XfasError(f"{', '.join(given)} before {command_name!r}: write the options "
                                f"of {command_name!r} after its name ({ctx.command_path} "
                                f"{command_name} --help lists them)")
            return
        for name in required:
            if options[name] is None:
                raise MissingParameter(ctx=ctx, param=by_name[name])
        command(**options)

    callback.__signature__ = signature.replace(parameters=parameters)  # read by typer
    callback.__annotations__ = {p.name: p.annotation for p in parameters}
    callback.__doc__ = command.__doc__
    group.callback(invoke_without_command=True)(callback)


def _one_line_warning(message: Warning | str, *_where: Any) -> str:
    """A warning as ``warning: <message>``, without the category, file and source line
    (``warnings.formatwarning``'s other arguments) that a user cannot act on."""
    return f"warning: {message}\n"


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; a user error prints ``error: <message>`` on one line and exits 2 (130 for
    an interrupted run); warnings print as ``warning: <message>``."""
    formatted = warnings.formatwarning
    warnings.formatwarning = _one_line_warning
    try:
        return _run(argv)
    finally:
        warnings.formatwarning = formatted


def _run(argv: list[str] | None) -> int:
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
