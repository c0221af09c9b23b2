"""HTTP/1.1 server on asyncio streams and h11: keep-alive, chunked bodies both ways, streaming.

The server knows nothing about Docker: it turns bytes into ``Request`` objects, hands them to a
handler and writes back whatever ``Response`` the handler returns. Responses with a byte-string
body get a Content-Length; responses with an async iterator body are sent chunked and flushed
chunk by chunk (progress streams, events, logs), with the headers sent before the first chunk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, unquote, urlsplit

import h11

logger = logging.getLogger(__name__)

READ_SIZE = 1 << 20
MAX_HEADER_SIZE = 64 * 1024


class Headers:
    """Case-insensitive, multi-valued header view."""

    __slots__ = ("_items",)

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self._items = [(k.lower(), v) for k, v in items]

    def get(self, name: str, default: str | None = None) -> str | None:
        name = name.lower()
        for k, v in self._items:
            if k == name:
                return v
        return default

    def get_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self._items if k == name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def items(self) -> list[tuple[str, str]]:
        return list(self._items)


@dataclass(slots=True)
class Request:
    """One HTTP request; the body is read on demand from the connection."""

    method: str
    target: str
    path: str
    query: dict[str, list[str]]
    headers: Headers
    _body: Callable[[], AsyncIterator[bytes]] = field(repr=False)
    path_params: dict[str, str] = field(default_factory=dict)

    def query_value(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def body_chunks(self) -> AsyncIterator[bytes]:
        return self._body()

    async def read_body(self, limit: int = 64 * 1024 * 1024) -> bytes:
        parts = []
        total = 0
        async for chunk in self._body():
            total += len(chunk)
            if total > limit:
                raise ValueError("request body too large")
            parts.append(chunk)
        return b"".join(parts)


Body = bytes | AsyncIterator[bytes]


UpgradeHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter, bytes], Awaitable[None]]


@dataclass(slots=True)
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Body = b""
    reason: str = ""
    # Docker's hijack: after the headers the connection carries raw bytes both ways. The handler
    # gets the reader (which sees the client's half-close as EOF), the writer and any bytes the
    # client sent right behind its request.
    upgrade: UpgradeHandler | None = None


Handler = Callable[[Request], Awaitable[Response]]
HeaderHook = Callable[[Request], Mapping[str, str]]


def _reason(response: Response) -> bytes:
    if response.reason:
        return response.reason.encode()
    try:
        return HTTPStatus(response.status).phrase.encode()
    except ValueError:
        return b""


class _Connection:
    """Drives one client connection through as many requests as it sends."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, handler: Handler) -> None:
        self.reader = reader
        self.writer = writer
        self.handler = handler
        self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEADER_SIZE)
        self.busy = False
        self.hijacked = False

    async def _next_event(self) -> h11.Event | type[h11.PAUSED] | type[h11.NEED_DATA]:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = await self.reader.read(READ_SIZE)
                self.conn.receive_data(data)
                if not data and self.conn.their_state is not h11.DONE:
                    # Peer closed (or half-closed) mid-message: h11 reports it on the next call.
                    event = self.conn.next_event()
                    if event is h11.NEED_DATA:
                        raise h11.RemoteProtocolError("peer closed connection", error_status_hint=400)
                    return event
                continue
            return event

    async def _send(self, event: h11.Event) -> None:
        data = self.conn.send(event)
        if data:
            self.writer.write(data)
            await self.writer.drain()

    async def serve(self) -> None:
        try:
            while True:
                try:
                    event = await self._next_event()
                except h11.RemoteProtocolError as exc:
                    await self._send_error(exc.error_status_hint, str(exc))
                    return
                if isinstance(event, h11.ConnectionClosed) or event is h11.PAUSED:
                    return
                if not isinstance(event, h11.Request):
                    return
                self.busy = True
                try:
                    await self._handle(event)
                finally:
                    self.busy = False
                if self.hijacked:
                    return
                if self.conn.our_state is h11.MUST_CLOSE or self.conn.their_state is h11.MUST_CLOSE:
                    return
                # Drain whatever the handler did not read so the next request parses cleanly.
                while self.conn.their_state is h11.SEND_BODY:
                    ev = await self._next_event()
                    if isinstance(ev, h11.ConnectionClosed):
                        return
                if self.conn.our_state is not h11.DONE or self.conn.their_state is not h11.DONE:
                    return
                self.conn.start_next_cycle()
        except (ConnectionError, asyncio.IncompleteReadError, h11.LocalProtocolError, h11.RemoteProtocolError):
            return
        finally:
            with contextlib.suppress(Exception):
                self.writer.close()
                await self.writer.wait_closed()

    async def _send_error(self, status: int, message: str) -> None:
        if self.conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
            return
        body = (message + "\n").encode()
        with contextlib.suppress(Exception):
            await self._send(h11.Response(status_code=status, headers=[
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))), ("Connection", "close")]))
            await self._send(h11.Data(data=body))
            await self._send(h11.EndOfMessage())

    async def _handle(self, event: h11.Request) -> None:
        target = event.target.decode("latin-1")
        split = urlsplit(target)
        request = Request(
            method=event.method.decode("ascii"),
            target=target,
            path=unquote(split.path),
            query=parse_qs(split.query, keep_blank_values=True),
            headers=Headers((k.decode("latin-1"), v.decode("latin-1")) for k, v in event.headers),
            _body=self._body_iter,
        )
        response = await self.handler(request)
        if response.upgrade is not None:
            await self._hijack(event, response)
            return
        headers = list(response.headers)
        is_head = request.method == "HEAD"
        if isinstance(response.body, bytes):
            if not any(k.lower() == "content-length" for k, _ in headers):
                headers.append(("Content-Length", str(len(response.body))))
            await self._send(h11.Response(status_code=response.status, headers=headers,
                                          reason=_reason(response)))
            if response.body and not is_head:
                await self._send(h11.Data(data=response.body))
            await self._send(h11.EndOfMessage())
            return
        stream = response.body
        try:
            await self._send(h11.Response(status_code=response.status, headers=headers, reason=_reason(response)))
            async for chunk in stream:
                if chunk:
                    await self._send(h11.Data(data=chunk))
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                with contextlib.suppress(Exception):
                    await aclose()
        await self._send(h11.EndOfMessage())

    async def _hijack(self, event: h11.Request, response: Response) -> None:
        """Answer 101 when the client asked to upgrade (the docker CLI accepts nothing else),
        otherwise 200 without framing; then hand the raw connection to the handler."""
        assert response.upgrade is not None
        asked = any(k.lower() == b"upgrade" for k, _ in event.headers)
        if asked:
            data = self.conn.send(h11.InformationalResponse(
                status_code=101, reason=b"UPGRADED",
                headers=[*response.headers, ("Connection", "Upgrade"), ("Upgrade", "tcp")]))
            trailing, _ = self.conn.trailing_data
        else:
            head = [b"HTTP/1.1 200 OK"] + [f"{k}: {v}".encode("latin-1") for k, v in response.headers]
            data = b"\r\n".join(head) + b"\r\n\r\n"
            trailing, _ = self.conn.trailing_data  # bytes behind a body-less request
        self.writer.write(data or b"")
        await self.writer.drain()
        self.hijacked = True
        await response.upgrade(self.reader, self.writer, bytes(trailing))

    async def _body_iter(self) -> AsyncIterator[bytes]:
        while self.conn.their_state is h11.SEND_BODY:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            elif isinstance(event, h11.ConnectionClosed):
                raise ConnectionResetError("client closed the connection during the request body")


class HTTPServer:
    """Serves one handler on any number of Unix or TCP listeners."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self._servers: list[asyncio.base_events.Server] = []
        self._connections: dict[asyncio.Task[None], _Connection] = {}

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        conn = _Connection(reader, writer, self.handler)
        self._connections[task] = conn
        try:
            await conn.serve()
        finally:
            self._connections.pop(task, None)

    async def listen_unix(self, path: str, *, mode: int = 0o660, group: int | None = None) -> None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        # Create the socket with a restrictive umask so it is never world-writable, not even briefly.
        old = os.umask(0o177)
        try:
            server = await asyncio.start_unix_server(self._on_client, path=path, limit=READ_SIZE)
        finally:
            os.umask(old)
        if group is not None:
            os.chown(path, 0, group)
        os.chmod(path, mode)
        self._servers.append(server)

    async def listen_tcp(self, host: str, port: int) -> None:
        server = await asyncio.start_server(self._on_client, host=host, port=port, limit=READ_SIZE,
                                            family=socket.AF_UNSPEC)
        self._servers.append(server)

    async def close(self, grace: float = 5.0) -> None:
        """Stop accepting, give in-flight requests ``grace`` seconds, then cancel them."""
        for server in self._servers:
            server.close()
        # Idle keep-alive connections have nothing to finish: close them at once.
        for task, conn in list(self._connections.items()):
            if not conn.busy:
                task.cancel()
        if self._connections:
            _, pending = await asyncio.wait(set(self._connections), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)


__all__ = ["Body", "HTTPServer", "Handler", "Headers", "Request", "Response", "UpgradeHandler"]
