"""Micro-batching: concurrent requests wait a few milliseconds in an asyncio queue and are
run as one batch in a worker thread, so the model sees one batch instead of many single
images, and only one model call runs at a time (memory stays bounded)."""

from __future__ import annotations

import asyncio
from concurrent.futures import Executor
from typing import Any, Callable, Sequence

# run(items) -> one result per item; a result that is an exception is raised for that item.
BatchFn = Callable[[list[Any]], Sequence[Any]]


class Batcher:
    """Groups items submitted within ``window_s`` (at most ``max_batch``) into one call of
    ``run`` in ``executor``.

    The queue and its consumer task belong to the event loop that first submits; a new loop
    (a restarted server, a test client) gets its own.
    """

    def __init__(self, run: BatchFn, executor: Executor, max_batch: int = 16,
                 *, window_s: float = 0.005) -> None:
        self.run, self.executor = run, executor
        self.max_batch, self.window_s = max_batch, window_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self.batches = 0  # batches run so far (for tests and /v1/health)

    async def submit(self, item: Any) -> Any:
        """The result of ``item`` once its batch has run."""
        loop = asyncio.get_running_loop()
        if self._loop is not loop or self._task is None or self._task.done():
            self._loop, self._queue = loop, asyncio.Queue()
            self._task = loop.create_task(self._serve(self._queue))
        future = loop.create_future()
        self._queue.put_nowait((item, future))
        return await future

    @property
    def waiting(self) -> int:
        """Items queued and not yet taken into a batch."""
        return self._queue.qsize() if self._queue is not None else 0

    def close(self) -> None:
        """Stop the consumer task (pending items are cancelled with it)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()

    async def _serve(self, queue: asyncio.Queue) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch = [await queue.get()]
            if queue.qsize() < self.max_batch - 1 and self.window_s > 0:
                await asyncio.sleep(self.window_s)
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            batch = [(item, future) for item, future in batch if not future.done()]
            if not batch:
                continue
            try:
                results = await loop.run_in_executor(self.executor, self.run,
                                                     [item for item, _ in batch])
            except Exception as error:  # a bug in run: every caller of the batch sees it
                results = [error] * len(batch)
            self.batches += 1
            for (_, future), result in zip(batch, results):
                if future.done():
                    continue
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)
