"""Where benchmark units run: in this process (``workers=1``, what tests use), in a local
process pool (``workers=N``), or on a Dask cluster (``dask="local"`` starts one on loopback,
``dask="tcp://HOST:PORT"`` joins one), for data that outgrow one machine.

Every backend runs the same function on the same units and hands each result back to the
parent as soon as it is ready (in any order; the store is keyed, so order does not matter).
Only a bounded number of units is in flight, so memory stays flat on long runs. Pool and
Dask workers keep torch at one thread each, so N workers use N cores.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from contextlib import AbstractContextManager
from typing import Any, Callable, Iterable, Iterator, TypeVar

from xfas.errors import XfasError

Job = TypeVar("Job")
LOCAL = "local"
IN_FLIGHT_PER_WORKER = 2


class Executor(AbstractContextManager):
    """Runs ``function(spec, job)`` for many jobs; ``imap`` yields (job, result) pairs.

    Args:
        workers: 1 = in this process; N > 1 = a pool of N processes (spawned, so torch's
            threads in this process cannot deadlock them).
        dask: None, "local" (a LocalCluster of 2 single-threaded worker processes on
            127.0.0.1) or the address of a running scheduler ("tcp://HOST:PORT").

    Example:
        >>> with Executor(workers=4) as executor:
        ...     for unit, result in executor.imap(compute_unit, spec, units):
        ...         store(result)
    """

    def __init__(self, workers: int = 1, dask: str | None = None) -> None:
        if not isinstance(workers, int) or workers < 1:
            raise XfasError(f"--workers {workers!r}: expected a positive integer")
        if dask is not None and workers != 1:
            raise XfasError("--workers and --dask: choose one (Dask sets its own workers)")
        if dask is not None and dask != LOCAL and not dask.startswith(("tcp://", "tls://")):
            raise XfasError(f"--dask {dask!r}: expected 'local' or a scheduler address "
                            "tcp://HOST:PORT")
        self.workers, self.dask = workers, dask
        self._pool: Any = None
        self._client: Any = None
        self._cluster: Any = None

    @property
    def parallel(self) -> bool:
        """Whether jobs run in other processes (with one torch thread each)."""
        return self.workers > 1 or self.dask is not None

    def describe(self) -> str:
        if self.dask is not None:
            return f"dask ({self.dask})"
        return "in process" if self.workers == 1 else f"{self.workers} local processes"

    # --- lifecycle ---------------------------------------------------------------------
    def __enter__(self) -> "Executor":
        if self.dask is not None:
            self._start_dask()
        elif self.workers > 1:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            self._pool = ProcessPoolExecutor(max_workers=self.workers,
                                             mp_context=multiprocessing.get_context("spawn"))
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
        if self._client is not None:
            self._client.close()
            self._client = None
        if self._cluster is not None:
            self._cluster.close()
            self._cluster = None

    def _start_dask(self) -> None:
        import logging

        from distributed import Client, LocalCluster

        if self.dask == LOCAL:
            self._cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                         host="127.0.0.1", dashboard_address=None,
                                         silence_logs=logging.ERROR)
            self._client = Client(self._cluster)
        else:
            try:
                self._client = Client(self.dask, timeout="30s")
            except (OSError, TimeoutError) as error:
                raise XfasError(f"--dask {self.dask}: cannot reach the scheduler "
                                f"({error})") from None

    # --- running -----------------------------------------------------------------------
    def imap(self, function: Callable[[Any, Job], Any], spec: Any,
             jobs: Iterable[Job]) -> Iterator[tuple[Job, Any]]:
        """(job, function(spec, job)) for every job, as results arrive."""
        if self.parallel and dataclasses.is_dataclass(spec) and hasattr(spec, "single_thread"):
            spec = dataclasses.replace(spec, single_thread=True)
        if self._client is not None:
            yield from self._imap_dask(function, spec, jobs)
        elif self._pool is not None:
            yield from self._imap_pool(function, spec, jobs)
        else:
            for job in jobs:
                yield job, function(spec, job)

    def _imap_pool(self, function, spec, jobs) -> Iterator[tuple[Any, Any]]:
        from concurrent.futures import FIRST_COMPLETED, wait

        pending = deque(jobs)
        running: dict[Any, Any] = {}
        limit = IN_FLIGHT_PER_WORKER * self.workers
        try:
            while pending or running:
                while pending and len(running) < limit:
                    job = pending.popleft()
                    running[self._pool.submit(function, spec, job)] = job
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield running.pop(future), future.result()
        finally:
            for future in running:
                future.cancel()

    def _imap_dask(self, function, spec, jobs) -> Iterator[tuple[Any, Any]]:
        from distributed import as_completed

        pending = deque(jobs)
        workers = max(1, len(self._client.scheduler_info().get("workers", {})))
        limit = IN_FLIGHT_PER_WORKER * workers
        spec_future = self._client.scatter(spec, broadcast=True)
        owners: dict[Any, Any] = {}

        def submit() -> Any:
            job = pending.popleft()
            future = self._client.submit(function, spec_future, job, pure=False)
            owners[future] = job
            return future

        queue = as_completed([submit() for _ in range(min(limit, len(pending)))])
        try:
            for future in queue:
                job = owners.pop(future)
                result = future.result()
                future.release()
                if pending:
                    queue.add(submit())
                yield job, result
        finally:
            for future in owners:
                future.cancel()
