"""One progress-bar style for every long loop, easy to switch off (tests, the service)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator, TypeVar

from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                           TimeElapsedColumn, TimeRemainingColumn)


Item = TypeVar("Item")


@contextmanager
def progress_bar(enabled: bool = True, transient: bool = False) -> Iterator[Progress]:
    """A rich Progress; disabled, it still accepts add_task/update but draws nothing.
    ``transient`` bars vanish when done (inner loops of a larger step)."""
    bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TimeRemainingColumn(), disable=not enabled,
                   transient=transient)
    with bar:
        yield bar


def tracked(items: Iterable[Item], description: str, enabled: bool = True) -> Iterator[Item]:
    """``items`` one by one under a progress bar of the common style."""
    with progress_bar(enabled) as bar:
        yield from bar.track(items, description=description)
