"""`HttpPool`: JSON over HTTP/1.1 keep-alive connections to one server, on the event loop.

Why not httpx: measured against PocketBase on this project's 2-core reference machine, a request
through httpx's async client costs 0.75-1.2 ms of Python CPU and one through the synchronous
SDK on a thread 0.4-0.7 ms, while this pool (asyncio streams, with `h11` — the HTTP/1.1 state
machine httpx itself uses — for the protocol) costs 0.1-0.15 ms. The sync sends a few
requests per task, so that difference is a visible share of what a task costs.

What it does, and no more: a bounded pool of keep-alive connections (a request waits for a free
one); `Content-Length` or chunked answers; a connection the server closed while it sat idle is
replaced and the request sent once more on a fresh one (only when nothing of the answer had
arrived); a timeout per request. Failures are `HttpTransportError`, answered requests are
`(status, body bytes)`: what a status means is the caller's business.
"""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import urlsplit

import h11

_READ_SIZE = 65536


class HttpTransportError(Exception):
    """The request got no complete answer: refused, reset, timed out, or malformed."""


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.state = h11.Connection(h11.CLIENT)
        self.used = False

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class HttpPool:
    """Keep-alive connections to the server of `base_url` (see the module docstring)."""

    def __init__(self, base_url: str, *, size: int, timeout: float) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http:// URLs are supported, not {base_url!r}")
        self._host = parts.hostname
        self._port = parts.port or 80
        self._host_header = parts.netloc
        self._timeout = timeout
        self._size = size
        self._idle: list[_Connection] = []
        self._closed = False
        self._slots: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    async def request(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> tuple[int, bytes]:
        """Send one request (`target`: path and query) and return its status and body."""
        slots = self._bind_loop()
        async with slots:
            try:
                async with asyncio.timeout(self._timeout):
                    return await self._exchange(method, target, headers, body)
            except TimeoutError:
                raise HttpTransportError(
                    f"no answer from {self._host_header} within {self._timeout:g} s"
                ) from None

    def close(self) -> None:
        """Close the idle connections (those in use close when their request ends)."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            connection.close()

    def _bind_loop(self) -> asyncio.Semaphore:
        # Connections belong to the loop that opened them: a store used from a new loop (a
        # second `asyncio.run`) starts over with new ones.
        loop = asyncio.get_running_loop()
        if self._slots is None or self._loop is not loop:
            self._idle = []
            self._slots = asyncio.Semaphore(self._size)
            self._loop = loop
        return self._slots

    async def _exchange(
        self, method: str, target: str, headers: list[tuple[str, str]], body: bytes | None
    ) -> tuple[int, bytes]:
        while self._idle:
            connection = self._idle.pop()
            try:
                return await self._on(connection, method, target, headers, body)
            except _StaleConnection:
                continue  # the server closed it while it was idle: nothing was answered
        return await self._on(await self._connect(), method, target, headers, body)

    async def _connect(self) -> _Connection:
        try:
            reader, writer = await asyncio.open_connection(self._host, self._port)
        except OSError as exc:
            raise HttpTransportError(f"cannot connect to {self._host_header}: {exc}") from None
        return _Connection(reader, writer)

    async def _on(
        self,
        connection: _Connection,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes | None,
    ) -> tuple[int, bytes]:
        reused, connection.used = connection.used, True
        state = connection.state
        all_headers = [("Host", self._host_header), *headers]
        if body is not None:
            all_headers.append(("Content-Length", str(len(body))))
        try:
            out = state.send(h11.Request(method=method, target=target, headers=all_headers))
            if body:
                out += state.send(h11.Data(data=body))
            out += state.send(h11.EndOfMessage())
            connection.writer.write(out)
            status, answer = await _read_answer(connection, reused)
        except _StaleConnection:
            connection.close()
            raise
        except (OSError, h11.ProtocolError) as exc:
            connection.close()
            if reused and isinstance(exc, ConnectionResetError):
                raise _StaleConnection from None
            raise HttpTransportError(f"{type(exc).__name__}: {exc}") from None
        except BaseException:  # cancelled or timed out mid-request: the connection is unusable
            connection.close()
            raise
        if not self._closed and state.our_state is h11.DONE and state.their_state is h11.DONE:
            state.start_next_cycle()
            self._idle.append(connection)
        else:
            connection.close()
        return status, answer


async def _read_answer(connection: _Connection, reused: bool) -> tuple[int, bytes]:
    """The status and body of the answer to the request just written."""
    state = connection.state
    status, chunks = 0, []
    while True:
        event = state.next_event()
        if event is h11.NEED_DATA:
            data = await connection.reader.read(_READ_SIZE)
            if not data and reused and status == 0:
                raise _StaleConnection
            state.receive_data(data)
        elif isinstance(event, h11.Response):
            status = event.status_code
        elif isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return status, b"".join(chunks)
        elif isinstance(event, h11.ConnectionClosed):
            raise HttpTransportError("the server closed the connection mid-answer")


class _StaleConnection(Exception):
    """A kept-alive connection the server had closed: retry on a fresh one."""
