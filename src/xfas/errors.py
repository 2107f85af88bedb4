"""The one exception type that reaches users: its message names the input at fault."""


class XfasError(Exception):
    """A user-facing error (bad input, missing file, wrong model). The CLI prints its message
    on one line and exits with ``exit_code``; the service turns it into a 4xx JSON reply."""

    exit_code = 2


class AssetMissingError(XfasError, FileNotFoundError):
    """A file that xfas needs (weights, detector) is not where it was looked for."""


class Interrupted(XfasError):
    """A long run stopped by Ctrl-C after saving its work; the message says how to resume."""

    exit_code = 130
