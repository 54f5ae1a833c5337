"""The listening socket: a cap on open connections and a deadline for request headers.

aiohttp bounds neither on its own: its keep-alive timer closes a connection that sent
no complete request, but defaults to an hour, and nothing limits how many connections
are open. Each connection's protocol is wrapped here, so a connection past
``max_connections`` is answered 503 and closed at once, and one whose first request's
headers are not in within ``header_timeout`` is answered 408 and closed (a client
dribbling a header byte at a time holds a descriptor no longer than that). Later
requests on a kept-alive connection are bounded by ``keepalive_timeout``.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import ssl
from collections.abc import Callable
from typing import cast

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger

from bot.config.settings import ServerConfig

log = logging.getLogger("bot.intake")

HEAD_END = b"\r\n\r\n"
BUSY = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Length: 0\r\n"
TOO_SLOW = b"HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\n"
CLOSE = b"Connection: close\r\n\r\n"
SHUTDOWN_SECONDS = 5.0
"""How long requests under way may finish once a stop is asked for."""


class ConnectionGuard:
    """What all connections of one listener share: how many are open, and the limits."""

    def __init__(self, server: ServerConfig) -> None:
        self.limit = server.max_connections
        self.header_timeout = server.header_timeout
        self.open = 0

    def protocol(self, inner: asyncio.Protocol) -> asyncio.Protocol:
        return _Guarded(inner, self)


class _Guarded(asyncio.Protocol):
    """aiohttp's protocol for one connection, behind the guard's two checks."""

    def __init__(self, inner: asyncio.Protocol, guard: ConnectionGuard) -> None:
        self._inner = inner
        self._guard = guard
        self._counted = False
        self._deadline: asyncio.TimerHandle | None = None
        self._tail = b""
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._transport = transport
        if self._guard.open >= self._guard.limit:
            transport.write(BUSY + CLOSE)
            transport.close()
            return
        self._guard.open += 1
        self._counted = True
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(self._guard.header_timeout, self._too_slow)
        self._inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._counted:
            return
        if self._deadline is not None:
            if HEAD_END in self._tail + data:
                self._deadline.cancel()
                self._deadline = None
            else:
                self._tail = (self._tail + data)[-3:]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._counted else None

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._counted:
            return
        self._guard.open -= 1
        if self._deadline is not None:
            self._deadline.cancel()
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if self._counted:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._counted:
            self._inner.resume_writing()

    def _too_slow(self) -> None:
        self._deadline = None
        log.warning("headers too slow", extra={"outcome": "too_slow"})
        if self._transport is not None and not self._transport.is_closing():
            self._transport.write(TOO_SLOW + CLOSE)
            self._transport.close()


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through a ``ConnectionGuard``."""

    def __init__(
        self,
        runner: web.BaseRunner,
        server: ServerConfig,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host = server.host
        self._port = server.port
        self._guard = ConnectionGuard(server)

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    async def start(self) -> None:
        await super().start()
        handler = self._runner.server
        assert handler is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: self._guard.protocol(handler()),
            self._host,
            self._port,
            ssl=self._ssl_context,
        )


async def serve(
    app: web.Application,
    server: ServerConfig,
    ssl_context: ssl.SSLContext | None,
    listening: Callable[[], None],
    access_log: logging.Logger | None,
    access_log_class: type[AbstractAccessLogger],
) -> None:
    """``web.run_app`` with a ``GuardedSite``: run until SIGTERM or SIGINT, then clean up
    while every other task still runs (the pipeline drains its deliveries)."""
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    runner = web.AppRunner(
        app,
        keepalive_timeout=server.keepalive_timeout,
        shutdown_timeout=SHUTDOWN_SECONDS,
        access_log=access_log,
        access_log_class=access_log_class,
    )
    await runner.setup()
    try:
        await GuardedSite(runner, server, ssl_context).start()
        listening()
        await stopping.wait()
    finally:
        await runner.cleanup()
