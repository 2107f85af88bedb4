"""The ``xfas`` command line: thin commands over the packages (one module per command group)."""

from xfas.cli.app import app, main

# Each module below registers its commands on ``app`` when imported.
from xfas.cli import models_cmd  # noqa: E402,F401
from xfas.cli import train_cmd  # noqa: E402,F401
from xfas.cli import predict_cmd  # noqa: E402,F401
from xfas.cli import explain_cmd  # noqa: E402,F401
from xfas.cli import benchmark_cmd  # noqa: E402,F401
from xfas.cli import serve_cmd  # noqa: E402,F401
from xfas.cli import synth_cmd  # noqa: E402,F401
from xfas.cli import sped_cmd  # noqa: E402,F401
from xfas.cli import demo_cmd  # noqa: E402,F401
from xfas.cli import reliance_cmd  # noqa: E402,F401

__all__ = ["app", "main"]
