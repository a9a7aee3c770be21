"""A live LGSP-style API server for integration tests: uvicorn in a thread on a free loopback port.

Shared by the REST connector tests and the registry-driven ingestion tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from kho.ingest.connections import Connection, parse_uri
from kho.sources import lgsp_api

CONN_ID = "kho_src_dossiers"


# -- a live server ---------------------------------------------------------------------------

@dataclass
class Traffic:
    """What the server answered, by path, and an optional callback before each request."""

    calls: list[tuple[str, int]] = field(default_factory=list)
    before: Callable[[str, int], None] | None = None

    def count(self, status: int, path: str | None = None) -> int:
        return sum(1 for p, s in self.calls if s == status and (path is None or p == path))

    def data_requests(self) -> int:
        return sum(1 for p, _ in self.calls if p.startswith(lgsp_api.API_PREFIX))


class _Recording:
    """ASGI wrapper recording each response status (and running ``before`` first)."""

    def __init__(self, app: Any, traffic: Traffic) -> None:
        self.app, self.traffic = app, traffic

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if self.traffic.before is not None:
            self.traffic.before(path, sum(1 for p, _ in self.traffic.calls if p.startswith(lgsp_api.API_PREFIX)))

        async def record(message: dict) -> None:
            if message["type"] == "http.response.start":
                self.traffic.calls.append((path, message["status"]))
            await send(message)

        await self.app(scope, receive, record)


@dataclass
class LiveServer:
    app: Any
    port: int
    traffic: Traffic
    clock_offset: list[float]

    @property
    def state(self) -> Any:
        return self.app.state.lgsp

    def connection(self, login: str = "kho-dev", password: str = "kho-dev-secret", query: str = "") -> Connection:
        return parse_uri(CONN_ID, f"http://{login}:{password}@127.0.0.1:{self.port}{query}")


@contextmanager
def serve(data: Path, **app_kwargs: Any) -> Iterator[LiveServer]:
    offset = [0.0]  # the server's clock can be moved forward (token expiry) without sleeping
    app = lgsp_api.create_app(data, clock=lambda: time.monotonic() + offset[0], **app_kwargs)
    traffic = Traffic()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(_Recording(app, traffic), log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the LGSP test server did not start")
        time.sleep(0.01)
    try:
        yield LiveServer(app, sock.getsockname()[1], traffic, offset)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
