"""A small synchronous HTTP/1.1 client on h11, over a Unix socket or TCP.

It is what the CLI and the Python client use to talk to dockyardd: one connection, kept alive
between requests, with chunked request bodies for streams (image load, import, build context)
and incremental reads for progress and event streams. The registry client uses it too, over
TLS for "https://host[:port]" addresses.
"""

from __future__ import annotations

import json
import socket
import ssl
from collections.abc import Generator, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import h11

from dockyard.errors import DockyardError, InvalidArgument, Unavailable

_READ_SIZE = 65536
_CHUNK_SIZE = 65536

Body = bytes | Iterable[bytes] | BinaryIO | None


@dataclass(frozen=True)
class Address:
    """Where the server listens: a Unix socket path or a TCP host and port."""

    scheme: str  # "unix" or "tcp"
    path: str = ""
    host: str = ""
    port: int = 0
    tls: bool = False

    @property
    def host_header(self) -> str:
        # Docker's clients send a placeholder host over Unix sockets; servers ignore it.
        if self.scheme == "unix":
            return "localhost"
        host = f"[{self.host}]" if ":" in self.host else self.host
        # Like Go, leave out the default HTTPS port: signed storage URLs cover the Host header.
        return host if self.tls and self.port == 443 else f"{host}:{self.port}"

    def __str__(self) -> str:
        if self.scheme == "unix":
            return f"unix://{self.path}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'tcp'}://{host}:{self.port}"


def parse_address(address: str) -> Address:
    """Parse "unix:///path", "tcp://host:port", "http[s]://host[:port]" or a bare socket path."""
    if address.startswith("/"):
        return Address("unix", path=address)
    parts = urlsplit(address)
    if parts.scheme == "unix":
        path = parts.path or parts.netloc
        if not path:
            raise InvalidArgument(f"invalid unix socket address: {address}")
        return Address("unix", path=path)
    if parts.scheme in ("tcp", "http"):
        if not parts.hostname:
            raise InvalidArgument(f"invalid address: {address}")
        default_port = 2375 if parts.scheme == "tcp" else 80
        return Address("tcp", host=parts.hostname, port=parts.port or default_port)
    if parts.scheme == "https":
        if not parts.hostname:
            raise InvalidArgument(f"invalid address: {address}")
        return Address("tcp", host=parts.hostname, port=parts.port or 443, tls=True)
    raise InvalidArgument(f"unsupported protocol scheme in address: {address}")


class ConnectError(Unavailable):
    """Nothing accepts connections at the address (no socket, refused, unreachable)."""

    def __init__(self, message: str = "", *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason  # the OS's words, e.g. "Connection refused"


class ConnectionLost(Unavailable):
    """The connection broke or timed out while a response was being read."""


class Headers(Mapping[str, str]):
    """Response headers with case-insensitive lookup; repeated names are joined by ", "."""

    def __init__(self, items: Iterable[tuple[bytes | str, bytes | str]]) -> None:
        self._items: dict[str, tuple[str, str]] = {}
        for raw_name, raw_value in items:
            name = raw_name.decode("latin-1") if isinstance(raw_name, bytes) else raw_name
            value = raw_value.decode("latin-1") if isinstance(raw_value, bytes) else raw_value
            key = name.lower()
            if key in self._items:
                value = f"{self._items[key][1]}, {value}"
            self._items[key] = (name, value)

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self._items.values())!r})"


class Response:
    """One response; its body is read from the connection on demand."""

    def __init__(self, conn: HTTPConnection, status: int, reason: str, headers: Headers) -> None:
        self._conn = conn
        self.status = status
        self.reason = reason
        self.headers = headers
        self._done = False

    @property
    def complete(self) -> bool:
        return self._done

    def iter_bytes(self) -> Iterator[bytes]:
        """Yield body chunks as they arrive."""
        while not self._done:
            data = self._conn._next_data()
            if data is None:
                self._done = True
                self._conn._finish_response()
                return
            if data:
                yield data

    def read(self) -> bytes:
        """The whole (remaining) body."""
        return b"".join(self.iter_bytes())

    def iter_lines(self) -> Iterator[bytes]:
        """Yield the body line by line (without the line ending), as lines complete."""
        buffer = b""
        for chunk in self.iter_bytes():
            buffer += chunk
            while True:
                cut = buffer.find(b"\n")
                if cut < 0:
                    break
                line, buffer = buffer[:cut], buffer[cut + 1 :]
                yield line.rstrip(b"\r")
        if buffer:
            yield buffer.rstrip(b"\r")

    def iter_json(self) -> Iterator[Any]:
        """Yield the JSON values of a JSON-lines (or concatenated JSON) progress stream."""
        decoder = json.JSONDecoder()
        buffer = ""
        for chunk in self.iter_bytes():
            buffer += chunk.decode("utf-8", errors="replace")
            buffer = yield from _drain_json(decoder, buffer)
        rest = buffer.strip()
        if rest:
            try:
                yield json.loads(rest)
            except ValueError as exc:
                raise DockyardError(f"invalid JSON in stream: {rest[:80]!r}") from exc

    def close(self) -> None:
        """Stop reading; an unfinished body makes the connection unusable for reuse."""
        if not self._done:
            self._done = True
            self._conn._abandon()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _drain_json(decoder: json.JSONDecoder, buffer: str) -> Generator[Any, None, str]:
    """Yield every complete JSON value at the front of ``buffer``; return the unparsed rest."""
    pos = 0
    while True:
        while pos < len(buffer) and buffer[pos] in " \t\r\n":
            pos += 1
        if pos >= len(buffer):
            return ""
        try:
            value, end = decoder.raw_decode(buffer, pos)
        except ValueError:
            return buffer[pos:]
        yield value
        pos = end


class HTTPConnection:
    """A keep-alive HTTP/1.1 connection to one server; one request at a time."""

    def __init__(self, address: str, *, timeout: float | None = None,
                 ssl_context: ssl.SSLContext | None = None) -> None:
        self.address = parse_address(address)
        self.timeout = timeout
        if self.address.tls and ssl_context is None:
            ssl_context = ssl.create_default_context()
        self.ssl_context = ssl_context if self.address.tls else None
        self._sock: socket.socket | None = None
        self._h11: h11.Connection | None = None
        self._current: Response | None = None

    # -- public -------------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: Body = None,
    ) -> Response:
        """Send a request and return once the response head has arrived."""
        if self._current is not None and not self._current.complete:
            self._current.close()
        replayable = body is None or isinstance(body, bytes | bytearray)
        reused = self._sock is not None
        try:
            return self._exchange(method, path, headers or {}, body)
        except _StaleConnection:
            # The server closed an idle kept-alive connection: try once more on a fresh one.
            self.close()
            if not (reused and replayable):
                raise Unavailable(f"connection to {self.address} closed by the server") from None
            try:
                return self._exchange(method, path, headers or {}, body)
            except _StaleConnection:
                self.close()
                raise Unavailable(f"connection to {self.address} closed by the server") from None

    def hijack(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
    ) -> HijackedSocket:
        """Send a request with ``Connection: Upgrade`` / ``Upgrade: tcp`` and take over the socket.

        Only ``101 Switching Protocols`` is accepted, as Docker's Go client does: an error status
        raises UpgradeRefused carrying the response body; any other status means the server did not
        switch. The connection is handed over whole: this object reconnects for its next request.
        """
        if self._current is not None and not self._current.complete:
            self._current.close()
        head = dict(headers or {})
        head.setdefault("Connection", "Upgrade")
        head.setdefault("Upgrade", "tcp")
        try:
            response = self._exchange(method, path, head, body if body is not None else b"", upgrade=True)
        except _StaleConnection:
            self.close()
            try:
                response = self._exchange(method, path, head, body if body is not None else b"", upgrade=True)
            except _StaleConnection:
                self.close()
                raise Unavailable(f"connection to {self.address} closed by the server") from None
        if response.status != 101:
            payload = response.read()
            raise UpgradeRefused(response.status, response.reason, response.headers, payload)
        conn, sock = self._h11, self._sock
        assert conn is not None and sock is not None
        buffered, _closed = conn.trailing_data
        self._sock = None
        self._h11 = None
        self._current = None
        sock.settimeout(None)
        return HijackedSocket(sock, bytes(buffered), response.headers)

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._h11 = None
        self._current = None

    def __enter__(self) -> HTTPConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------------

    def _connect(self) -> None:
        addr = self.address
        try:
            if addr.scheme == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                try:
                    sock.connect(addr.path)
                except BaseException:
                    sock.close()
                    raise
            else:
                sock = socket.create_connection((addr.host, addr.port), timeout=self.timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self.ssl_context is not None:
                    try:
                        sock = self.ssl_context.wrap_socket(sock, server_hostname=addr.host)
                    except BaseException:
                        sock.close()
                        raise
        except ssl.SSLError as exc:
            reason = f"tls: {exc.reason or exc}" if exc.reason else f"tls: {exc}"
            if isinstance(exc, ssl.SSLCertVerificationError):
                reason = f"tls: failed to verify certificate: {exc.verify_message}"
            raise ConnectError(f"cannot connect to {addr}: {reason}", reason=reason) from exc
        except (FileNotFoundError, ConnectionRefusedError, ConnectionResetError) as exc:
            reason = exc.strerror or str(exc)
            raise ConnectError(f"cannot connect to {addr}: {reason}", reason=reason) from exc
        except TimeoutError as exc:
            raise ConnectError(f"timed out connecting to {addr}", reason="i/o timeout") from exc
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise ConnectError(f"cannot connect to {addr}: {reason}", reason=reason) from exc
        self._sock = sock
        self._h11 = h11.Connection(our_role=h11.CLIENT)

    def _exchange(
        self, method: str, path: str, headers: Mapping[str, str], body: Body, *, upgrade: bool = False
    ) -> Response:
        if self._sock is None:
            self._connect()
        conn = self._h11
        assert conn is not None
        names = {k.lower() for k in headers}
        head: list[tuple[str, str]] = []
        if "host" not in names:
            head.append(("Host", self.address.host_header))
        if "user-agent" not in names:
            head.append(("User-Agent", "dockyard-client"))
        head.extend(headers.items())
        chunks: Iterable[bytes] | None = None
        if body is None:
            if method.upper() in ("POST", "PUT", "PATCH") and "content-length" not in names:
                head.append(("Content-Length", "0"))
        elif isinstance(body, bytes | bytearray):
            if "content-length" not in names:
                head.append(("Content-Length", str(len(body))))
        else:
            # A stream of known length (a blob upload) keeps its Content-Length; others are chunked.
            if "transfer-encoding" not in names and "content-length" not in names:
                head.append(("Transfer-Encoding", "chunked"))
            chunks = _file_chunks(body) if hasattr(body, "read") else body  # type: ignore[arg-type]

        self._send(conn.send(h11.Request(method=method, target=path, headers=head)))
        try:
            if isinstance(body, bytes | bytearray):
                if body:
                    self._send(conn.send(h11.Data(data=bytes(body))))
            elif chunks is not None:
                for chunk in chunks:
                    if chunk:
                        self._send(conn.send(h11.Data(data=chunk)))
            self._send(conn.send(h11.EndOfMessage()))
        except _StaleConnection:
            raise
        except h11.LocalProtocolError as exc:
            # E.g. a stream shorter or longer than its Content-Length: the request is unusable.
            self.close()
            raise InvalidArgument(f"request body does not match its headers: {exc}") from exc
        except BaseException:
            # A body source that failed half-way leaves the request unfinished on the wire.
            self.close()
            raise

        while True:
            event = self._next_event(before_response=True)
            if isinstance(event, h11.InformationalResponse):
                if upgrade and event.status_code == 101:
                    break
                continue
            if isinstance(event, h11.Response):
                break
            raise DockyardError(f"unexpected HTTP event from {self.address}: {event!r}")
        response = Response(
            self,
            event.status_code,
            event.reason.decode("latin-1"),
            Headers(event.headers),
        )
        self._current = response
        return response

    def _send(self, data: bytes | None) -> None:
        if not data:
            return
        assert self._sock is not None
        try:
            self._sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise _StaleConnection() from exc
        except TimeoutError as exc:
            self.close()
            raise ConnectionLost(f"timed out writing to {self.address}") from exc
        except OSError as exc:
            self.close()
            raise ConnectionLost(f"error writing to {self.address}: {exc}") from exc

    def _next_event(self, *, before_response: bool = False) -> Any:
        conn = self._h11
        assert conn is not None and self._sock is not None
        while True:
            receiving_body = conn.their_state is h11.SEND_BODY
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                cut_short = receiving_body
                self.close()
                if cut_short:
                    # The peer hung up mid-body: a short read, worth retrying.
                    raise ConnectionLost(f"connection to {self.address} closed before the end of "
                                         f"the response body") from exc
                raise DockyardError(f"invalid HTTP response from {self.address}: {exc}") from exc
            if event is h11.NEED_DATA:
                try:
                    data = self._sock.recv(_READ_SIZE)
                except ConnectionResetError as exc:
                    if before_response:
                        raise _StaleConnection() from exc
                    self.close()
                    raise ConnectionLost(f"connection to {self.address} reset") from exc
                except TimeoutError as exc:
                    self.close()
                    raise ConnectionLost(f"timed out reading from {self.address}") from exc
                except OSError as exc:  # TLS errors and the like
                    self.close()
                    raise ConnectionLost(f"error reading from {self.address}: {exc}") from exc
                if not data and before_response and conn.their_state is h11.IDLE:
                    raise _StaleConnection()
                conn.receive_data(data)
                continue
            if isinstance(event, h11.ConnectionClosed) and before_response:
                raise _StaleConnection()
            return event

    def _next_data(self) -> bytes | None:
        """The next piece of the current body, or None at its end."""
        if self._h11 is None:
            return None
        event = self._next_event()
        if isinstance(event, h11.Data):
            return bytes(event.data)
        if isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
            return None
        raise DockyardError(f"unexpected HTTP event from {self.address}: {event!r}")

    def _finish_response(self) -> None:
        self._current = None
        conn = self._h11
        if conn is None:
            return
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            self.close()

    def _abandon(self) -> None:
        # Reading the rest of a long stream (events, logs -f) could block forever: drop it.
        self.close()


class UpgradeRefused(DockyardError):
    """A hijack request was answered with something other than ``101 Switching Protocols``."""

    def __init__(self, status: int, reason: str, headers: Headers, body: bytes) -> None:
        super().__init__(f"unable to upgrade to tcp, received {status}")
        self.status = status
        self.reason = reason
        self.headers = headers
        self.body = body


class HijackedSocket:
    """The raw bidirectional stream left after a 101: attach and exec start.

    Bytes the HTTP parser had already read past the response head come out of ``recv`` first.
    ``close_write`` half-closes (``shutdown(SHUT_WR)``): the server sees EOF on stdin and keeps
    sending output until the process is done.
    """

    def __init__(self, sock: socket.socket, buffered: bytes = b"", headers: Headers | None = None) -> None:
        self.sock = sock
        self._buffer = buffered
        self.headers = headers if headers is not None else Headers([])
        self._write_closed = False

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type", "")

    @property
    def multiplexed(self) -> bool:
        """True when the server said the stream carries 8-byte stdio frames (API 1.42+)."""
        return "multiplexed-stream" in self.content_type

    @property
    def pending(self) -> int:
        """How many bytes are buffered locally (a select() on the socket would not see them)."""
        return len(self._buffer)

    def fileno(self) -> int:
        return self.sock.fileno()

    def recv(self, size: int = _READ_SIZE) -> bytes:
        """Up to ``size`` bytes; b"" at EOF."""
        if self._buffer:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
            return data
        try:
            return self.sock.recv(size)
        except ConnectionResetError:
            return b""

    def __iter__(self) -> Iterator[bytes]:
        while True:
            data = self.recv()
            if not data:
                return
            yield data

    def sendall(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close_write(self) -> None:
        """Half-close: no more stdin. Harmless when already done or the peer is gone."""
        if self._write_closed:
            return
        self._write_closed = True
        self.shutdown(socket.SHUT_WR)

    def shutdown(self, how: int) -> None:
        try:
            self.sock.shutdown(how)
        except OSError:
            pass

    def settimeout(self, timeout: float | None) -> None:
        self.sock.settimeout(timeout)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> HijackedSocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StaleConnection(Exception):
    """The connection died before any response arrived."""


def _file_chunks(stream: BinaryIO) -> Iterator[bytes]:
    while True:
        chunk = stream.read(_CHUNK_SIZE)
        if not chunk:
            return
        yield chunk


__all__ = ["Address", "Body", "ConnectError", "ConnectionLost", "HTTPConnection", "Headers", "HijackedSocket",
           "Response", "UpgradeRefused", "parse_address"]
