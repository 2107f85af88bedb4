"""The command line's contract: --version, --help on every command, one-line user errors."""

from __future__ import annotations

import subprocess
import sys

import pytest

from xfas import __version__
from xfas.cli import app, main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "xfas", *args], capture_output=True, text=True,
                          timeout=300)


def test_version() -> None:
    done = run("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"xfas {__version__}"


def command_names() -> list[str]:
    import typer.main
    group = typer.main.get_command(app)
    return sorted(group.commands)


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help(name: str, capsys) -> None:
    assert main([name, "--help"]) == 0
    out = capsys.readouterr().out
    assert "Usage" in out and len(out.splitlines()) > 3


def test_unknown_command_exits_non_zero() -> None:
    done = run("no-such-command")
    assert done.returncode != 0
