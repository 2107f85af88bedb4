"""The exception types that reach users: each message names the input at fault."""

from __future__ import annotations

from pathlib import Path


class XfasError(Exception):
    """A user-facing error (bad input, missing file, wrong model). The CLI prints its message
    on one line and exits with ``exit_code``; the service turns it into a 4xx JSON reply."""

    exit_code = 2


class AssetMissingError(XfasError, FileNotFoundError):
    """A file that xfas needs (weights, detector) is not where it was looked for."""


class Interrupted(XfasError):
    """A long run stopped by Ctrl-C after saving its work; the message says how to resume."""

    exit_code = 130


class ItemError(XfasError):
    """A failure to read one item of a dataset (an image, a frame, a mask): datasets count it
    under ``reason`` and move on; the benchmark records it as a problem of the run."""

    def __init__(self, reason: str, file: str | Path, detail: str) -> None:
        super().__init__(f"{file}: {detail}")
        self.reason, self.file, self.detail = reason, str(file), detail
