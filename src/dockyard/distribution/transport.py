"""Keep-alive HTTP connections to registries and storage hosts: one per origin per thread."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Mapping
from urllib.parse import urlsplit

from dockyard.http.client import Body, HTTPConnection, Response


def split_url(url: str) -> tuple[str, str]:
    """``"https://h:1/v2/x?q"`` → (origin ``"https://h:1"``, target ``"/v2/x?q"``)."""
    parts = urlsplit(url)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return f"{parts.scheme}://{parts.netloc}", target


class Transport:
    """Sends requests to absolute URLs; safe to use from several threads at once."""

    def __init__(self, *, timeout: float | None = None) -> None:
        self.timeout = timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[HTTPConnection] = []
        self._default_context: ssl.SSLContext | None = None

    def request(self, method: str, url: str, *, headers: Mapping[str, str], body: Body = None,
                ssl_context: ssl.SSLContext | None = None) -> Response:
        origin, target = split_url(url)
        conn = self._connection(origin, ssl_context)
        return conn.request(method, target, headers=headers, body=body)

    def close(self) -> None:
        with self._lock:
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()

    def _connection(self, origin: str, ssl_context: ssl.SSLContext | None) -> HTTPConnection:
        pool: dict[str, HTTPConnection] | None = getattr(self._local, "pool", None)
        if pool is None:
            pool = self._local.pool = {}
        conn = pool.get(origin)
        if conn is None:
            if origin.startswith("https://") and ssl_context is None:
                ssl_context = self._system_context()
            conn = HTTPConnection(origin, timeout=self.timeout, ssl_context=ssl_context)
            pool[origin] = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def _system_context(self) -> ssl.SSLContext:
        with self._lock:
            if self._default_context is None:
                self._default_context = ssl.create_default_context()
            return self._default_context


__all__ = ["Transport", "split_url"]
