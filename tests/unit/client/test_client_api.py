"""DockyardClient against a scripted Engine API server on a Unix socket."""

from __future__ import annotations

import contextlib
import io
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from dockyard.client import DockyardClient, StreamError
from dockyard.client.autostart import ensure_daemon
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound, Unavailable

Reply = tuple[int, bytes, bool]  # status, body, chunked


class Api:
    """Answers requests from a routing function; records (method, path, query, body)."""

    def __init__(self, path: Path, route: Callable[[str, str, dict[str, list[str]], bytes], Reply]) -> None:
        self.route = route
        self.seen: list[tuple[str, str, dict[str, list[str]], bytes]] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(path))
        self.sock.listen(4)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        import h11

        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            # A client that hangs up early (an error test, a stream read half-way) is normal here.
            with conn, contextlib.suppress(OSError, h11.ProtocolError):
                h = h11.Connection(h11.SERVER)
                while True:
                    req = None
                    body = b""
                    while True:
                        ev = h.next_event()
                        if ev is h11.NEED_DATA:
                            data = conn.recv(65536)
                            h.receive_data(data)
                            if not data and h.their_state is h11.IDLE:
                                break
                            continue
                        if isinstance(ev, h11.Request):
                            req = ev
                        elif isinstance(ev, h11.Data):
                            body += ev.data
                        elif isinstance(ev, h11.EndOfMessage | h11.ConnectionClosed):
                            break
                    if req is None:
                        break
                    url = urlsplit(req.target.decode())
                    query = parse_qs(url.query, keep_blank_values=True)
                    self.seen.append((req.method.decode(), url.path, query, body))
                    status, payload, chunked = self.route(req.method.decode(), url.path, query, body)
                    headers = [("Content-Type", "application/json")]
                    headers.append(
                        ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(len(payload)))
                    )
                    conn.sendall(h.send(h11.Response(status_code=status, headers=headers)))
                    if payload:
                        conn.sendall(h.send(h11.Data(data=payload)))
                    conn.sendall(h.send(h11.EndOfMessage()))
                    h.start_next_cycle()

    def close(self) -> None:
        self.sock.close()


Route = Callable[[str, str, dict[str, list[str]], bytes], Reply]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Callable[[Route], tuple[Api, DockyardClient]]]:
    made: list[tuple[Api, DockyardClient]] = []

    def start(route: Route) -> tuple[Api, DockyardClient]:
        server = Api(tmp_path / "api.sock", route)
        client = DockyardClient(f"unix://{tmp_path / 'api.sock'}")
        made.append((server, client))
        return server, client

    yield start
    for server, client in made:
        client.close()
        server.close()


def js(value: object, status: int = 200) -> Reply:
    return status, json.dumps(value).encode(), False


def test_images_sends_versioned_path_and_map_filters(
    api: Callable[[Route], tuple[Api, DockyardClient]],
) -> None:
    server, client = api(lambda m, p, q, b: js([{"Id": "sha256:ab"}]))
    assert client.images(all=True, filters={"dangling": ["false"]}) == [{"Id": "sha256:ab"}]
    method, path, query, _ = server.seen[0]
    assert (method, path) == ("GET", "/v1.44/images/json")
    assert query["all"] == ["1"]
    assert json.loads(query["filters"][0]) == {"dangling": {"false": True}}


def test_error_statuses_map_to_dockyard_errors(api: Callable[[Route], tuple[Api, DockyardClient]]) -> None:
    def route(m: str, p: str, q: dict[str, list[str]], b: bytes) -> Reply:
        if p.endswith("/nope/json"):
            return js({"message": "No such image: nope:latest"}, 404)
        if m == "DELETE":
            return js({"message": "conflict: unable to remove repository reference"}, 409)
        return js({"message": "bad parameter"}, 400)

    _, client = api(route)
    with pytest.raises(NotFound) as nf:
        client.inspect_image("nope")
    assert str(nf.value) == "No such image: nope:latest"
    with pytest.raises(Conflict, match="unable to remove"):
        client.remove_image("busybox")
    with pytest.raises(InvalidArgument, match="bad parameter"):
        client.prune_images()


def test_tag_and_remove_query(api: Callable[[Route], tuple[Api, DockyardClient]]) -> None:
    def route(m: str, p: str, q: dict[str, list[str]], b: bytes) -> Reply:
        if m == "DELETE":
            return js([{"Untagged": "bb:v2"}, {"Deleted": "sha256:1"}])
        return 201, b"", False

    server, client = api(route)
    client.tag("busybox", "docker.io/library/bb", "v2")
    assert client.remove_image("bb:v2", force=True) == [{"Untagged": "bb:v2"}, {"Deleted": "sha256:1"}]
    assert server.seen[0][:3] == (
        "POST",
        "/v1.44/images/busybox/tag",
        {"repo": ["docker.io/library/bb"], "tag": ["v2"]},
    )
    assert server.seen[1][:3] == ("DELETE", "/v1.44/images/bb:v2", {"force": ["1"]})


def test_load_streams_body_and_messages(api: Callable[[Route], tuple[Api, DockyardClient]]) -> None:
    stream = b'{"stream":"Loaded image: busybox:latest\\n"}\r\n'
    server, client = api(lambda m, p, q, b: (200, stream, True))
    messages = list(client.load(io.BytesIO(b"TARDATA")))
    assert messages == [{"stream": "Loaded image: busybox:latest\n"}]
    assert server.seen[0][1] == "/v1.44/images/load"
    assert server.seen[0][3] == b"TARDATA"


def test_stream_error_raises_after_yielding_messages(
    api: Callable[[Route], tuple[Api, DockyardClient]],
) -> None:
    stream = b'{"status":"working"}\r\n{"errorDetail":{"message":"bad tar"},"error":"bad tar"}\r\n'
    _, client = api(lambda m, p, q, b: (200, stream, True))
    got: list[dict[str, object]] = []
    with pytest.raises(StreamError, match="bad tar"):
        for message in client.load(io.BytesIO(b"x")):
            got.append(message)
    assert got[0] == {"status": "working"}
    assert got[1]["error"] == "bad tar"


def test_import_query(api: Callable[[Route], tuple[Api, DockyardClient]]) -> None:
    server, client = api(lambda m, p, q, b: (200, b'{"status":"sha256:abc"}\r\n', True))
    out = list(
        client.import_image(
            io.BytesIO(b"T"), repo="me/img", tag="1", changes=['CMD ["sh"]', "ENV A=B"], message="hi"
        )
    )
    assert out == [{"status": "sha256:abc"}]
    method, path, query, body = server.seen[0]
    assert (method, path, body) == ("POST", "/v1.44/images/create", b"T")
    assert query["fromSrc"] == ["-"]
    assert query["changes"] == ['CMD ["sh"]', "ENV A=B"]
    assert query["repo"] == ["me/img"] and query["message"] == ["hi"]
    with pytest.raises(DockyardError):
        client.import_image()


def test_save_yields_raw_bytes(api: Callable[[Route], tuple[Api, DockyardClient]]) -> None:
    server, client = api(lambda m, p, q, b: (200, b"tarbytes", True))
    assert b"".join(client.save(["a", "b:1"])) == b"tarbytes"
    assert server.seen[0][2] == {"names": ["a", "b:1"]}


def test_system_check_and_ping(api: Callable[[Route], tuple[Api, DockyardClient]]) -> None:
    def route(m: str, p: str, q: dict[str, list[str]], b: bytes) -> Reply:
        if p == "/_ping":
            return 200, b"OK", False
        return js({"Problems": [], "Repaired": False})

    server, client = api(route)
    assert client.ping()
    assert client.system_check(repair=True) == {"Problems": [], "Repaired": False}
    assert server.seen[1][:3] == ("POST", "/v1.44/dockyard/system/check", {"repair": ["1"]})


def test_host_defaults_to_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKYARD_HOST", "tcp://127.0.0.1:1")
    assert DockyardClient().host == "tcp://127.0.0.1:1"
    monkeypatch.delenv("DOCKYARD_HOST")
    assert DockyardClient().host == "unix:///run/dockyard/dockyard.sock"


def test_ensure_daemon_does_not_start_for_custom_host(tmp_path: Path) -> None:
    client = DockyardClient(f"unix://{tmp_path}/none.sock")
    with pytest.raises(Unavailable):
        ensure_daemon(client, wait=0.1)
