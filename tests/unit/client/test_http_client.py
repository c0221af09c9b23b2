"""The sync HTTP client against a tiny scripted server on a Unix socket."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument, Unavailable
from dockyard.http.client import HTTPConnection, parse_address

Handler = Callable[[socket.socket, bytes], bool]


def _read_request(conn: socket.socket, buf: bytearray) -> bytes | None:
    """Read one request (head + body, chunked or sized) from conn; None on EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    end = buf.index(b"\r\n\r\n") + 4
    head = bytes(buf[:end])
    del buf[:end]
    lower = head.lower()
    if b"transfer-encoding: chunked" in lower:
        while not buf.endswith(b"0\r\n\r\n") or b"0\r\n\r\n" not in buf:
            data = conn.recv(65536)
            if not data:
                break
            buf += data
        body = bytes(buf)
        del buf[:]
        return head + body
    length = 0
    for line in lower.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    while len(buf) < length:
        buf += conn.recv(65536)
    body = bytes(buf[:length])
    del buf[:length]
    return head + body


class Server:
    def __init__(self, path: Path, handler: Handler) -> None:
        self.path = path
        self.handler = handler
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                buf = bytearray()
                while True:
                    req = _read_request(conn, buf)
                    if req is None:
                        break
                    self.requests.append(req)
                    if not self.handler(conn, req):
                        break

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Handler], tuple[Server, str]]]:
    servers: list[Server] = []

    def start(handler: Handler) -> tuple[Server, str]:
        server = Server(tmp_path / "s.sock", handler)
        servers.append(server)
        return server, f"unix://{tmp_path / 's.sock'}"

    yield start
    for s in servers:
        s.close()


def ok(body: bytes) -> Handler:
    def handler(conn: socket.socket, req: bytes) -> bool:
        conn.sendall(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        return True

    return handler


def test_parse_address_forms() -> None:
    assert parse_address("unix:///run/dockyard/dockyard.sock").path == "/run/dockyard/dockyard.sock"
    tcp = parse_address("tcp://127.0.0.1:2376")
    assert (tcp.scheme, tcp.host, tcp.port) == ("tcp", "127.0.0.1", 2376)
    assert parse_address("http://localhost").port == 80
    assert parse_address("/tmp/x.sock").scheme == "unix"
    with pytest.raises(InvalidArgument):
        parse_address("ftp://x")


def test_simple_get_and_case_insensitive_headers(serve: Callable[[Handler], tuple[Server, str]]) -> None:
    server, addr = serve(ok(b"OK"))
    with HTTPConnection(addr) as conn:
        resp = conn.request("GET", "/_ping")
        assert resp.status == 200
        assert resp.headers["content-type"] == "text/plain"
        assert resp.headers["CONTENT-TYPE"] == "text/plain"
        assert "Content-Length" in resp.headers
        assert resp.read() == b"OK"
    assert server.requests[0].startswith(b"GET /_ping HTTP/1.1\r\n")


def test_keep_alive_reuses_one_connection(serve: Callable[[Handler], tuple[Server, str]]) -> None:
    server, addr = serve(ok(b"hello"))
    with HTTPConnection(addr) as conn:
        for _ in range(3):
            assert conn.request("GET", "/x").read() == b"hello"
    assert server.connections == 1
    assert len(server.requests) == 3


def test_chunked_response_streams_json_lines(serve: Callable[[Handler], tuple[Server, str]]) -> None:
    def handler(conn: socket.socket, req: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        for piece in (b'{"status":"a"}\r\n{"sta', b'tus":"b"}\r\n', b'{"stream":"c"}'):
            conn.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        conn.sendall(b"0\r\n\r\n")
        return True

    server, addr = serve(handler)
    with HTTPConnection(addr) as conn:
        resp = conn.request("POST", "/images/load")
        assert list(resp.iter_json()) == [{"status": "a"}, {"status": "b"}, {"stream": "c"}]
        # The connection is reusable after a fully read chunked body.
        resp2 = conn.request("GET", "/y")
        assert list(resp2.iter_lines()) == [b'{"status":"a"}', b'{"status":"b"}', b'{"stream":"c"}']
    assert server.connections == 1


def test_iterable_and_file_bodies_are_sent_chunked(serve: Callable[[Handler], tuple[Server, str]]) -> None:
    server, addr = serve(ok(b""))
    with HTTPConnection(addr) as conn:
        conn.request("POST", "/a", body=iter([b"abc", b"def"])).read()
        conn.request("POST", "/b", body=io.BytesIO(b"xyz")).read()
        conn.request("POST", "/c", body=b"raw", headers={"Content-Type": "application/x-tar"}).read()
    first, second, third = server.requests
    assert b"transfer-encoding: chunked" in first.lower()
    assert first.endswith(b"3\r\nabc\r\n3\r\ndef\r\n0\r\n\r\n")
    assert second.endswith(b"3\r\nxyz\r\n0\r\n\r\n")
    assert b"Content-Length: 3" in third and third.endswith(b"raw")
    assert b"Content-Type: application/x-tar" in third


def test_reconnects_when_server_closed_idle_connection(
    serve: Callable[[Handler], tuple[Server, str]],
) -> None:
    def handler(conn: socket.socket, req: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return False  # close after each response without saying so

    server, addr = serve(handler)
    with HTTPConnection(addr) as conn:
        assert conn.request("GET", "/1").read() == b"ok"
        assert conn.request("GET", "/2").read() == b"ok"
    assert server.connections == 2


def test_head_response_has_no_body(serve: Callable[[Handler], tuple[Server, str]]) -> None:
    def handler(conn: socket.socket, req: bytes) -> bool:
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nApi-Version: 1.44\r\n\r\n")
        return True

    _, addr = serve(handler)
    with HTTPConnection(addr) as conn:
        resp = conn.request("HEAD", "/_ping")
        assert resp.headers["api-version"] == "1.44"
        assert resp.read() == b""


def test_closing_unfinished_stream_then_new_request(serve: Callable[[Handler], tuple[Server, str]]) -> None:
    def handler(conn: socket.socket, req: bytes) -> bool:
        if b"/events" in req:
            conn.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
            return False
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        return True

    _, addr = serve(handler)
    with HTTPConnection(addr) as conn:
        resp = conn.request("GET", "/events")
        assert next(resp.iter_bytes()) == b"hello"
        assert conn.request("GET", "/x").read() == b"ok"


def test_missing_socket_is_unavailable(tmp_path: Path) -> None:
    with pytest.raises(Unavailable), HTTPConnection(f"unix://{tmp_path}/none.sock") as conn:
        conn.request("GET", "/_ping")


def test_refused_socket_is_unavailable(tmp_path: Path) -> None:
    path = tmp_path / "dead.sock"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(path))
    s.close()  # bound but never listening: connect is refused
    with pytest.raises(Unavailable), HTTPConnection(f"unix://{path}") as conn:
        conn.request("GET", "/_ping")
