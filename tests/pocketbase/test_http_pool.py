"""The keep-alive pool the PocketBase client sends JSON through: reuse, answers in both framings,
servers that close idle connections, silence and refusal, on real sockets."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from durable_tasks.dev import free_port
from durable_tasks.pocketbase._http import HttpPool, HttpTransportError
from durable_tasks.testing import PocketBaseServer

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    return await reader.readexactly(length) if length else b""


class _Server:
    """A scripted HTTP server on a real loopback socket, counting the connections it accepted."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.url = ""

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await self.handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[_Server]]]:
    servers: list[asyncio.Server] = []

    async def start(handler: Handler) -> _Server:
        scripted = _Server(handler)
        server = await asyncio.start_server(scripted._accept, "127.0.0.1", 0)
        servers.append(server)
        scripted.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        return scripted

    yield start
    for server in servers:
        server.close()


async def test_concurrent_requests_to_pocketbase_share_the_pool(
    pocketbase_server: PocketBaseServer,
) -> None:
    pool = HttpPool(pocketbase_server.url, size=3, timeout=5)
    try:
        answers = await asyncio.gather(
            *(pool.request("GET", "/api/health", [], None) for _ in range(30))
        )
        assert {status for status, _ in answers} == {200}
        assert all(json.loads(body)["code"] == 200 for _, body in answers)
        assert 1 <= len(pool._idle) <= 3  # every connection went back, no more than the size
        status, body = await pool.request("GET", "/api/collections/tasks/records", [], None)
        assert status in (401, 403) or (status == 200 and "items" in json.loads(body))
    finally:
        pool.close()


async def test_chunked_and_sized_answers_and_a_post_body(
    serve: Callable[[Handler], Awaitable[_Server]],
) -> None:
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for n in range(3):
            body = await _read_request(reader)
            if n % 2:
                writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
            else:
                writer.write(
                    b"HTTP/1.1 201 Created\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
                )
            await writer.drain()

    server = await serve(echo)
    pool = HttpPool(server.url, size=1, timeout=5)
    try:
        for n in range(3):
            payload = json.dumps({"n": n, "text": "é" * 5000}).encode()
            status, body = await pool.request("POST", "/echo", [], payload)
            assert (status, json.loads(body)) == (200 if n % 2 else 201, json.loads(payload))
        assert server.connections == 1  # kept alive
    finally:
        pool.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced(
    serve: Callable[[Handler], Awaitable[_Server]],
) -> None:
    async def one_answer_then_close(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        await writer.drain()  # and close, without saying so: an idle timeout

    server = await serve(one_answer_then_close)
    pool = HttpPool(server.url, size=1, timeout=5)
    try:
        for _ in range(3):
            assert await pool.request("GET", "/", [], None) == (200, b"ok")
        assert server.connections == 3
    finally:
        pool.close()


async def test_silence_times_out_and_refusal_fails_naming_the_server(
    serve: Callable[[Handler], Awaitable[_Server]],
) -> None:
    async def never_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        await reader.read()  # until the client gives up

    server = await serve(never_answer)
    pool = HttpPool(server.url, size=1, timeout=0.3)
    with pytest.raises(HttpTransportError, match="within 0.3 s"):
        await pool.request("GET", "/", [], None)
    assert pool._idle == []  # the timed-out connection is not reused

    closed = HttpPool(f"http://127.0.0.1:{free_port()}", size=1, timeout=2)
    with pytest.raises(HttpTransportError, match="cannot connect to 127.0.0.1"):
        await closed.request("GET", "/", [], None)


def test_only_plain_http_urls() -> None:
    """https goes through the SDK instead (see PocketBaseClient)."""
    with pytest.raises(ValueError, match="only http:// URLs"):
        HttpPool("https://example.com", size=1, timeout=1)
