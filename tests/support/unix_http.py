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
