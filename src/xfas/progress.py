"""One progress-bar style for every long loop, easy to switch off (tests, the service)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[Progress]:
    """A rich Progress; disabled, it still accepts add_task/update but draws nothing."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled,
                   transient=False)
    with bar:
        yield bar
