"""A plain http.client connection over a Unix socket, for tests that talk to dockyardd raw."""

from __future__ import annotations

import http.client
import json
import socket
from dataclasses import dataclass
from pathlib import Path


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path: Path | str, timeout: float = 60) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = str(path)

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(self.unix_path)
        self.sock = sock


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    raw: bytes

    def json(self) -> object:
        return json.loads(self.raw)


def request(socket_path: Path | str, method: str, path: str, body: object = None) -> Response:
    """One request to the engine at ``socket_path`` (``path`` without the /v1.44 prefix), JSON body."""
    conn = UnixHTTPConnection(socket_path)
    try:
        data = None if body is None else json.dumps(body).encode()
        conn.request(method, "/v1.44" + path, body=data,
                     headers={"Content-Type": "application/json"} if data is not None else {})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()
