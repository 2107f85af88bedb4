"""Running the app under uvicorn: in the foreground (``xfas serve``) or in a background
thread on a loopback port (tests, the browser test, scripts)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import uvicorn
from fastapi import FastAPI

from xfas.errors import XfasError
from xfas.serve.config import ServiceConfig

MAX_HEADER_BYTES = 16 * 1024  # one request's headers; larger ones are refused by uvicorn


def uvicorn_config(app: FastAPI, config: ServiceConfig, log_level: str = "info",
                   *, access_log: bool = True) -> uvicorn.Config:
    """uvicorn settings with the service's limits: at most ``limit_concurrency`` connections
    (503 above), bounded headers, idle connections closed after 5 s. The access log shows
    the request line only, never headers (API keys are never logged)."""
    return uvicorn.Config(app, host=config.host, port=config.port, log_level=log_level,
                          access_log=access_log, limit_concurrency=config.limit_concurrency,
                          h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                          timeout_keep_alive=5, server_header=False, proxy_headers=False,
                          lifespan="on")


def serve(app: FastAPI, config: ServiceConfig, log_level: str = "info") -> None:
    """Serve until interrupted (Ctrl-C)."""
    uvicorn.Server(uvicorn_config(app, config, log_level)).run()


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return probe.getsockname()[1]


@contextmanager
def background_server(app: FastAPI, config: ServiceConfig, timeout_s: float = 30.0
                      ) -> Iterator[str]:
    """Run the app in a thread on ``config.host:config.port``; yields its base URL and stops
    it on exit."""
    server = uvicorn.Server(uvicorn_config(app, config, log_level="warning",
                                           access_log=False))
    thread = threading.Thread(target=server.run, name="xfas-uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise XfasError(f"the service did not start on {config.host}:{config.port}")
        time.sleep(0.02)
    try:
        yield f"http://{config.host}:{config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout_s)
