"""Client pull/push/login/distribution requests, and the X-Registry-Auth value from config.json."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import h11
import pytest

from dockyard.client import DockyardClient, StreamError
from dockyard.client.registry_auth import Credentials, CredentialStore, hostname, server_address
from dockyard.errors import Unauthorized

Reply = tuple[int, bytes]


class Seen:
    def __init__(self, method: str, path: str, query: dict[str, list[str]], headers: dict[str, str],
                 body: bytes) -> None:
        self.method, self.path, self.query, self.headers, self.body = method, path, query, headers, body


class Api:
    """One-connection-at-a-time Engine API stub that records headers as well as the request."""

    def __init__(self, sock_path: Path, route: Callable[[Seen], Reply]) -> None:
        self.route = route
        self.seen: list[Seen] = []
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(str(sock_path))
        self.sock.listen(4)
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        h = h11.Connection(h11.SERVER)
        while True:
            req: h11.Request | None = None
            body = b""
            while True:
                ev = h.next_event()
                if ev is h11.NEED_DATA:
                    data = conn.recv(65536)
                    h.receive_data(data)
                    if not data:
                        return
                    continue
                if isinstance(ev, h11.Request):
                    req = ev
                elif isinstance(ev, h11.Data):
                    body += ev.data
                elif isinstance(ev, h11.EndOfMessage | h11.ConnectionClosed):
                    break
            if req is None:
                return
            url = urlsplit(req.target.decode())
            seen = Seen(req.method.decode(), url.path, parse_qs(url.query, keep_blank_values=True),
                        {k.decode().lower(): v.decode() for k, v in req.headers}, body)
            self.seen.append(seen)
            status, payload = self.route(seen)
            headers = [("Content-Type", "application/json"), ("Transfer-Encoding", "chunked")]
            conn.sendall(h.send(h11.Response(status_code=status, headers=headers)))
            if payload:
                conn.sendall(h.send(h11.Data(data=payload)))
            conn.sendall(h.send(h11.EndOfMessage()))
            h.start_next_cycle()


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Callable[[Callable[[Seen], Reply]], tuple[Api, DockyardClient]]]:
    made: list[tuple[Api, DockyardClient]] = []

    def start(route: Callable[[Seen], Reply]) -> tuple[Api, DockyardClient]:
        server = Api(tmp_path / "api.sock", route)
        client = DockyardClient(f"unix://{tmp_path / 'api.sock'}")
        made.append((server, client))
        return server, client

    yield start
    for server, client in made:
        client.close()
        server.sock.close()


def stream(*messages: dict[str, Any]) -> Reply:
    return 200, b"".join(json.dumps(m).encode() + b"\r\n" for m in messages)


def test_pull_query_and_auth_header(api: Any) -> None:
    server, client = api(lambda s: stream({"status": "Pulling from library/busybox", "id": "latest"}))
    assert list(client.pull("docker.io/library/busybox", "1.36")) == [
        {"status": "Pulling from library/busybox", "id": "latest"}
    ]
    seen = server.seen[0]
    assert (seen.method, seen.path) == ("POST", "/v1.44/images/create")
    assert seen.query == {"fromImage": ["docker.io/library/busybox"], "tag": ["1.36"]}
    assert seen.headers["x-registry-auth"] == "e30="

    list(client.pull("127.0.0.1:5000/a/b", "sha256:" + "c" * 64, platform="linux/ARM64", auth="eyJ9"))
    seen = server.seen[1]
    assert seen.query == {"fromImage": ["127.0.0.1:5000/a/b"], "tag": ["sha256:" + "c" * 64],
                          "platform": ["linux/arm64"]}
    assert seen.headers["x-registry-auth"] == "eyJ9"

    list(client.pull("docker.io/library/busybox", all_tags=True))
    assert server.seen[2].query == {"fromImage": ["docker.io/library/busybox"]}
    list(client.pull("docker.io/library/busybox"))
    assert server.seen[3].query["tag"] == ["latest"]


def test_pull_error_in_stream_raises_after_the_messages(api: Any) -> None:
    _, client = api(lambda s: stream({"status": "Pulling fs layer", "id": "a", "progressDetail": {}},
                                     {"errorDetail": {"message": "unexpected EOF"}, "error": "unexpected EOF"}))
    got: list[dict[str, Any]] = []
    with pytest.raises(StreamError, match="unexpected EOF"):
        for message in client.pull("docker.io/library/busybox", "latest"):
            got.append(message)
    assert got[0]["status"] == "Pulling fs layer"


def test_push_path_tag_and_header(api: Any) -> None:
    aux = {"progressDetail": {}, "aux": {"Tag": "1", "Digest": "sha256:" + "b" * 64, "Size": 527}}
    server, client = api(lambda s: stream({"status": "Preparing", "id": "c", "progressDetail": {}}, aux))
    assert list(client.push("docker.io/u/app", "1", auth="abc="))[-1] == aux
    seen = server.seen[0]
    assert (seen.method, seen.path, seen.query) == ("POST", "/v1.44/images/docker.io/u/app/push", {"tag": ["1"]})
    assert seen.headers["x-registry-auth"] == "abc="
    list(client.push("127.0.0.1:5000/u/app", None))
    assert server.seen[1].path == "/v1.44/images/127.0.0.1:5000/u/app/push"
    assert server.seen[1].query == {}
    assert server.seen[1].headers["x-registry-auth"] == "e30="


def test_login_body_and_unauthorized(api: Any) -> None:
    def route(s: Seen) -> Reply:
        creds = json.loads(s.body)
        if creds["password"] == "good":
            return 200, json.dumps({"IdentityToken": "", "Status": "Login Succeeded"}).encode()
        return 401, json.dumps({"message": 'Get "http://r/v2/": unauthorized: bad'}).encode()

    server, client = api(route)
    assert client.login("u", "good", "127.0.0.1:5000") == {"IdentityToken": "", "Status": "Login Succeeded"}
    seen = server.seen[0]
    assert (seen.method, seen.path) == ("POST", "/v1.44/auth")
    assert seen.headers["content-type"] == "application/json"
    assert json.loads(seen.body) == {"username": "u", "password": "good", "serveraddress": "127.0.0.1:5000"}
    with pytest.raises(Unauthorized) as caught:
        client.login("u", "bad", "r")
    assert str(caught.value) == 'Get "http://r/v2/": unauthorized: bad'


def test_distribution_inspect(api: Any) -> None:
    body = {"Descriptor": {"mediaType": "application/vnd.oci.image.index.v1+json", "size": 1},
            "Platforms": [{"architecture": "amd64", "os": "linux"}]}
    server, client = api(lambda s: (200, json.dumps(body).encode()))
    assert client.distribution_inspect("docker.io/library/busybox:latest", auth="xyz=") == body
    assert server.seen[0].path == "/v1.44/distribution/docker.io/library/busybox:latest/json"
    assert server.seen[0].headers["x-registry-auth"] == "xyz="


def test_credential_store_header(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    store = CredentialStore(str(config))
    assert store.auth_header("127.0.0.1:5000") == "e30="
    assert store.store("127.0.0.1:5000", Credentials("u", "pw")) is True
    assert store.store("docker.io", Credentials("hub", "s")) is True
    decoded = json.loads(base64.urlsafe_b64decode(store.auth_header("127.0.0.1:5000")))
    assert decoded == {"username": "u", "password": "pw", "serveraddress": "127.0.0.1:5000"}
    decoded = json.loads(base64.urlsafe_b64decode(store.auth_header("docker.io")))
    assert decoded["serveraddress"] == "https://index.docker.io/v1/"
    assert store.erase("127.0.0.1:5000") is True
    assert store.auth_header("127.0.0.1:5000") == "e30="
    config.write_text("{not json")
    assert store.auth_header("docker.io") == "e30="


def test_addresses() -> None:
    assert server_address("docker.io") == "https://index.docker.io/v1/"
    assert server_address("127.0.0.1:5000") == "127.0.0.1:5000"
    assert hostname("https://reg.example:5000/v2/") == "reg.example:5000"
    assert hostname("reg.example") == "reg.example"
