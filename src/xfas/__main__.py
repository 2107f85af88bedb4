"""``python -m xfas`` runs the CLI."""

import sys

from xfas.cli import main

sys.exit(main())
