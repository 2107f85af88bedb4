"""The ``xfas`` command line: thin commands over the packages (one module per command group).
Starting it imports no torch: each command imports what it needs when it runs."""

from xfas.cli.app import app, main

# Each module below registers its commands on ``app`` when imported, in the order of --help.
from xfas.cli import models_cmd  # noqa: E402,F401
from xfas.cli import train_cmd  # noqa: E402,F401
from xfas.cli import eval_cmd  # noqa: E402,F401
from xfas.cli import backbones_cmd  # noqa: E402,F401
from xfas.cli import check_cmd  # noqa: E402,F401
from xfas.cli import export_cmd  # noqa: E402,F401
from xfas.cli import predict_cmd  # noqa: E402,F401
from xfas.cli import explain_cmd  # noqa: E402,F401
from xfas.cli import concepts_cmd  # noqa: E402,F401
from xfas.cli import synth_cmd  # noqa: E402,F401
from xfas.cli import benchmark_cmd  # noqa: E402,F401
from xfas.cli import annotations_cmd  # noqa: E402,F401
from xfas.cli import serve_cmd  # noqa: E402,F401
from xfas.cli import demo_cmd  # noqa: E402,F401

__all__ = ["app", "main"]
