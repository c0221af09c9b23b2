"""The asyncio + h11 server: keep-alive, chunked bodies both ways, streaming, errors, shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from dockyard.http.server import HTTPServer, Request, Response


async def handler(req: Request) -> Response:
    if req.path == "/echo":
        body = await req.read_body()
        info = {"method": req.method, "len": len(body), "q": req.query, "te": req.headers.get("transfer-encoding")}
        return Response(200, [("Content-Type", "application/json")], json.dumps(info).encode())
    if req.path == "/stream":
        async def chunks() -> AsyncIterator[bytes]:
            for i in range(3):
                yield f"part{i}\n".encode()
                await asyncio.sleep(0.01)
        return Response(200, [], chunks())
    if req.path == "/slow":
        await asyncio.sleep(0.3)
        return Response(200, [], b"done")
    if req.path == "/ignore-body":
        return Response(204, [], b"")
    return Response(404, [], b"nope")


async def _raw_exchange(path: str, payload: bytes, read_until_close: bool = True) -> bytes:
    reader, writer = await asyncio.open_unix_connection(path)
    writer.write(payload)
    await writer.drain()
    data = await reader.read() if read_until_close else await reader.read(65536)
    writer.close()
    return data


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture
def sock_path(tmp_path: Path) -> str:
    return str(tmp_path / "s.sock")


def test_keep_alive_serves_several_requests_on_one_connection(sock_path: str) -> None:
    async def main() -> bytes:
        server = HTTPServer(handler)
        await server.listen_unix(sock_path)
        req = (b"POST /echo?a=1 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
               b"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = await _raw_exchange(sock_path, req)
        await server.close()
        return data

    data = run(main())
    assert isinstance(data, bytes)
    assert data.count(b"HTTP/1.1 ") == 2
    assert b'"len": 3' in data and b'"a": ["1"]' in data
    assert b"HTTP/1.1 404" in data


def test_chunked_request_body_is_reassembled(sock_path: str) -> None:
    async def main() -> bytes:
        server = HTTPServer(handler)
        await server.listen_unix(sock_path)
        req = (b"PUT /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
               b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n")
        data = await _raw_exchange(sock_path, req)
        await server.close()
        return data

    data = run(main())
    assert b'"len": 11' in data and b'"te": "chunked"' in data  # type: ignore[operator]


def test_streaming_response_is_chunked(sock_path: str) -> None:
    async def main() -> bytes:
        server = HTTPServer(handler)
        await server.listen_unix(sock_path)
        data = await _raw_exchange(sock_path, b"GET /stream HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await server.close()
        return data

    data = run(main())
    assert isinstance(data, bytes)
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert body == b"6\r\npart0\n\r\n6\r\npart1\n\r\n6\r\npart2\n\r\n0\r\n\r\n"


def test_unread_request_body_is_drained_before_the_next_request(sock_path: str) -> None:
    async def main() -> bytes:
        server = HTTPServer(handler)
        await server.listen_unix(sock_path)
        req = (b"POST /ignore-body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
               b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi")
        data = await _raw_exchange(sock_path, req)
        await server.close()
        return data

    data = run(main())
    assert b"HTTP/1.1 204" in data and b'"len": 2' in data  # type: ignore[operator]


def test_malformed_request_gets_400(sock_path: str) -> None:
    async def main() -> bytes:
        server = HTTPServer(handler)
        await server.listen_unix(sock_path)
        data = await _raw_exchange(sock_path, b"THIS IS NOT HTTP\r\n\r\n")
        await server.close()
        return data

    data = run(main())
    assert data.startswith(b"HTTP/1.1 400")  # type: ignore[union-attr]


def test_socket_is_not_world_accessible(sock_path: str) -> None:
    async def main() -> int:
        server = HTTPServer(handler)
        await server.listen_unix(sock_path)
        mode = Path(sock_path).stat().st_mode & 0o777
        await server.close()
        return mode

    assert run(main()) == 0o660


def test_graceful_close_lets_in_flight_requests_finish(sock_path: str) -> None:
    async def main() -> tuple[bytes, bool]:
        server = HTTPServer(handler)
        await server.listen_unix(sock_path)
        idle_reader, idle_writer = await asyncio.open_unix_connection(sock_path)  # an idle keep-alive client
        slow = asyncio.ensure_future(_raw_exchange(
            sock_path, b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        await asyncio.sleep(0.1)
        await server.close(grace=5)
        data = await slow
        idle_closed = await idle_reader.read() == b""
        idle_writer.close()
        with contextlib.suppress(Exception):
            await idle_writer.wait_closed()
        return data, idle_closed

    data, idle_closed = run(main())  # type: ignore[misc]
    assert data.endswith(b"done")
    assert idle_closed
    with socket.socket(socket.AF_UNIX) as s, pytest.raises(OSError):
        s.connect(sock_path)


async def hijack_handler(req: Request) -> Response:
    async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, initial: bytes) -> None:
        data = initial + await reader.read()  # read until the client's half-close
        writer.write(data.upper() + b"|after-eof")
        await writer.drain()
        writer.close()

    return Response(200, [("Content-Type", "application/vnd.docker.raw-stream")], upgrade=pump)


@pytest.mark.parametrize("upgrade", [True, False])
def test_hijack_keeps_writing_after_the_client_half_closes(sock_path: str, upgrade: bool) -> None:
    async def main() -> bytes:
        server = HTTPServer(hijack_handler)
        await server.listen_unix(sock_path)
        reader, writer = await asyncio.open_unix_connection(sock_path)
        head = b"POST /attach HTTP/1.1\r\nHost: x\r\n"
        if upgrade:
            head += b"Connection: Upgrade\r\nUpgrade: tcp\r\n"
        writer.write(head + b"\r\nstdin-bytes")
        await writer.drain()
        writer.write_eof()  # what the docker CLI does when it has no more stdin
        data = await reader.read()
        writer.close()
        await server.close()
        return data

    data = run(main())
    assert isinstance(data, bytes)
    head, _, body = data.partition(b"\r\n\r\n")
    if upgrade:
        assert head.startswith(b"HTTP/1.1 101 UPGRADED")
        assert b"upgrade: tcp" in head.lower()
    else:
        assert head.startswith(b"HTTP/1.1 200")
    assert body == b"STDIN-BYTES|after-eof"
