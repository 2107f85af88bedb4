"""The one exception type that reaches users: its message names the input at fault."""


class XfasError(Exception):
    """A user-facing error (bad input, missing file, wrong model). The CLI prints its message
    on one line and exits non-zero; the service turns it into a 4xx JSON reply."""


class AssetMissingError(XfasError, FileNotFoundError):
    """A file that xfas needs (weights, detector) is not where it was looked for."""
