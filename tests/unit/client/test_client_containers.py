"""Container and exec endpoints against a scripted server: query strings, bodies, the hijack
(101, bytes arriving with the response head, half-close) and the stdio demultiplexer."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dockyard.client import DockyardClient, StreamError
from dockyard.client.stdcopy import STDERR, STDOUT, Demuxer, demux, frame
from dockyard.errors import DockyardError, NotFound


class Request:
    def __init__(self, method: str, target: str, headers: dict[str, str], body: bytes) -> None:
        self.method = method
        url = urlsplit(target)
        self.path = url.path
        self.query = {k: v[0] for k, v in parse_qs(url.query, keep_blank_values=True).items()}
        self.headers = headers
        self.body = body


Handler = Callable[[Request, socket.socket], None]


def _read_request(conn: socket.socket, buf: bytearray) -> Request | None:
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        headers[k.strip().lower()] = v.strip()
    length = int(headers.get("content-length", "0"))
    body = bytearray(rest)
    while len(body) < length:
        body += conn.recv(65536)
    buf[:] = body[length:]
    return Request(method, target, headers, bytes(body[:length]))


def respond(conn: socket.socket, status: int, body: bytes = b"", *, reason: str = "OK",
            content_type: str = "application/json") -> None:
    conn.sendall(
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
        .encode() + body
    )


class Server:
    """One handler call per request; handlers may take over the socket (hijack)."""

    def __init__(self, path: Path, handler: Handler) -> None:
        self.handler = handler
        self.seen: list[Request] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(8)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = bytearray()
        with conn, contextlib.suppress(OSError):
            while True:
                req = _read_request(conn, buf)
                if req is None:
                    return
                self.seen.append(req)
                self.handler(req, conn)
                if req.headers.get("upgrade"):
                    return


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[[Handler], tuple[Server, DockyardClient]]]:
    made: list[tuple[Server, DockyardClient]] = []

    def start(handler: Handler) -> tuple[Server, DockyardClient]:
        server = Server(tmp_path / "api.sock", handler)
        client = DockyardClient(f"unix://{tmp_path / 'api.sock'}", timeout=10)
        made.append((server, client))
        return server, client

    yield start
    for server, client in made:
        client.close()
        server.sock.close()


def test_create_sends_docker_body_and_name(serve: Callable[[Handler], tuple[Server, DockyardClient]]) -> None:
    server, client = serve(lambda r, c: respond(c, 201, b'{"Id":"abc","Warnings":[]}', reason="Created"))
    body = {"Image": "busybox", "Cmd": ["true"], "HostConfig": {"AutoRemove": True}}
    assert client.create_container(body, name="web") == {"Id": "abc", "Warnings": []}
    req = server.seen[0]
    assert (req.method, req.path, req.query) == ("POST", "/v1.44/containers/create", {"name": "web"})
    assert req.headers["content-type"] == "application/json"
    assert json.loads(req.body) == body


def test_lifecycle_queries(serve: Callable[[Handler], tuple[Server, DockyardClient]]) -> None:
    server, client = serve(lambda r, c: respond(c, 204, reason="No Content"))
    client.start("web")
    client.stop("web")
    client.stop("web", t=5, signal="SIGINT")
    client.restart("web", t=0)
    client.kill("web")
    client.kill("web", signal="HUP")
    client.remove("web", v=True, force=True)
    client.pause("web")
    client.unpause("web")
    client.rename("web", "db")
    client.resize("web", 24, 80)
    got = [(r.method, r.path.removeprefix("/v1.44"), r.query) for r in server.seen]
    assert got == [
        ("POST", "/containers/web/start", {}),
        ("POST", "/containers/web/stop", {}),
        ("POST", "/containers/web/stop", {"signal": "SIGINT", "t": "5"}),
        ("POST", "/containers/web/restart", {"t": "0"}),
        ("POST", "/containers/web/kill", {}),
        ("POST", "/containers/web/kill", {"signal": "HUP"}),
        ("DELETE", "/containers/web", {"force": "1", "v": "1"}),
        ("POST", "/containers/web/pause", {}),
        ("POST", "/containers/web/unpause", {}),
        ("POST", "/containers/web/rename", {"name": "db"}),
        ("POST", "/containers/web/resize", {"h": "24", "w": "80"}),
    ]


def test_not_modified_start_is_fine_and_404_raises(
    serve: Callable[[Handler], tuple[Server, DockyardClient]],
) -> None:
    def handler(r: Request, c: socket.socket) -> None:
        if "nope" in r.path:
            respond(c, 404, b'{"message":"No such container: nope"}')
        else:
            respond(c, 304, reason="Not Modified")

    _, client = serve(handler)
    client.start("web")
    with pytest.raises(NotFound, match="No such container: nope"):
        client.stop("nope")


def test_list_and_logs_queries(serve: Callable[[Handler], tuple[Server, DockyardClient]]) -> None:
    def handler(r: Request, c: socket.socket) -> None:
        if r.path.endswith("/logs"):
            respond(c, 200, frame(STDOUT, b"out\n") + frame(STDERR, b"err\n"),
                    content_type="application/vnd.docker.multiplexed-stream")
        else:
            respond(c, 200, b'[{"Id":"abc"}]')

    server, client = serve(handler)
    assert client.containers(all=True, limit=3, size=True, filters={"status": ["exited"]}) == [{"Id": "abc"}]
    chunks = client.logs("web", follow=True, since="1700000000.000000000", tail="5", timestamps=True)
    assert list(demux(chunks)) == [(STDOUT, b"out\n"), (STDERR, b"err\n")]
    q = server.seen[0].query
    assert q["all"] == "1" and q["limit"] == "3" and q["size"] == "1"
    assert json.loads(q["filters"]) == {"status": {"exited": True}}
    assert server.seen[1].query == {
        "follow": "1", "since": "1700000000.000000000", "stderr": "1", "stdout": "1", "tail": "5",
        "timestamps": "1",
    }
    assert client.containers() == [{"Id": "abc"}]
    assert server.seen[2].query == {}


def test_wait_is_registered_before_its_body(serve: Callable[[Handler], tuple[Server, DockyardClient]]) -> None:
    release = threading.Event()

    def handler(r: Request, c: socket.socket) -> None:
        if r.path.endswith("/wait"):
            # Headers at once, the body when the container exits (chunked, as dockerd does).
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n")
            release.wait(5)
            body = b'{"Error":null,"StatusCode":3}\n'
            c.sendall(b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body))
        else:
            respond(c, 204, reason="No Content")

    server, client = serve(handler)
    waiter = client.wait("web", condition="next-exit")
    assert server.seen[0].query == {"condition": "next-exit"}
    client.start("web")  # the wait keeps its own connection
    release.set()
    assert waiter.result() == {"Error": None, "StatusCode": 3}


def test_attach_hijack_with_half_close(serve: Callable[[Handler], tuple[Server, DockyardClient]]) -> None:
    got_eof = threading.Event()
    received = bytearray()

    def handler(r: Request, c: socket.socket) -> None:
        assert r.headers["connection"] == "Upgrade" and r.headers["upgrade"] == "tcp"
        # The 101 and the first frame in one write: the client must not lose the bytes it read ahead.
        c.sendall(
            b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
            b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n" + frame(STDOUT, b"ready\n")
        )
        while True:
            data = c.recv(65536)
            if not data:
                break
            received.extend(data)
        got_eof.set()
        # Read-EOF only closes the container's stdin: output keeps flowing afterwards.
        c.sendall(frame(STDOUT, bytes(received)) + frame(STDERR, b"bye\n"))
        c.shutdown(socket.SHUT_WR)

    server, client = serve(handler)
    sock = client.attach("web", stdin=True, stdout=True, stderr=True, stream=True, detach_keys="ctrl-x")
    assert sock.multiplexed
    assert server.seen[0].query == {"detachKeys": "ctrl-x", "stderr": "1", "stdin": "1", "stdout": "1",
                                    "stream": "1"}
    sock.sendall(b"hello\n")
    sock.close_write()
    assert got_eof.wait(5)
    frames = list(demux(iter(sock)))
    sock.close()
    assert frames == [(STDOUT, b"ready\n"), (STDOUT, b"hello\n"), (STDERR, b"bye\n")]


def test_hijack_accepts_only_101(serve: Callable[[Handler], tuple[Server, DockyardClient]]) -> None:
    def handler(r: Request, c: socket.socket) -> None:
        if "nope" in r.path:
            respond(c, 404, b'{"message":"No such container: nope"}')
        else:
            respond(c, 200, b"")

    _, client = serve(handler)
    with pytest.raises(NotFound, match="No such container: nope"):
        client.attach("nope")
    with pytest.raises(DockyardError, match="unable to upgrade to tcp, received 200"):
        client.attach("web")


def test_exec_create_start_inspect(serve: Callable[[Handler], tuple[Server, DockyardClient]]) -> None:
    def handler(r: Request, c: socket.socket) -> None:
        if r.path.endswith("/exec"):
            respond(c, 201, b'{"Id":"e1"}', reason="Created")
        elif r.path.endswith("/start") and r.headers.get("upgrade"):
            c.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n"
                      b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
            c.sendall(b"tty output\r\n")
            c.shutdown(socket.SHUT_WR)
            c.recv(10)
        elif r.path.endswith("/start"):
            respond(c, 200, b"")
        else:
            respond(c, 200, b'{"ID":"e1","Running":false,"ExitCode":7}')

    server, client = serve(handler)
    created = client.exec_create("web", ["sh"], tty=True, attach_stdin=True, env=["A=B"], workdir="/tmp",
                                 console_size=(24, 80))
    assert created == {"Id": "e1"}
    body = json.loads(server.seen[0].body)
    assert list(body) == ["User", "Privileged", "Tty", "ConsoleSize", "AttachStdin", "AttachStderr",
                          "AttachStdout", "Detach", "DetachKeys", "Env", "WorkingDir", "Cmd"]
    assert body["Cmd"] == ["sh"] and body["Env"] == ["A=B"] and body["ConsoleSize"] == [24, 80]
    sock = client.exec_start("e1", tty=True)
    assert sock is not None and not sock.multiplexed
    assert json.loads(server.seen[1].body) == {"Detach": False, "Tty": True}
    assert b"".join(sock) == b"tty output\r\n"
    sock.close()
    assert client.exec_start("e1", detach=True) is None
    assert server.seen[2].headers.get("upgrade") is None
    assert client.exec_inspect("e1")["ExitCode"] == 7


def test_demuxer_across_chunk_boundaries_and_errors() -> None:
    data = frame(STDOUT, b"a" * 10) + frame(0, b"in") + frame(STDERR, b"e")
    decoder = Demuxer()
    frames = []
    for i in range(len(data)):
        frames += decoder.feed(data[i : i + 1])
    assert frames == [(STDOUT, b"a" * 10), (STDOUT, b"in"), (STDERR, b"e")]
    assert decoder.leftover == 0
    with pytest.raises(StreamError, match="boom"):
        list(demux([frame(3, b"boom")]))
