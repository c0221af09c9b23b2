"""An exec's process starts only once the client has read the 101: docker-py reads the headers
through a buffer and would lose output that arrived with them."""

from __future__ import annotations

import socket
import threading
import time

from dockyard.api.routes.containers import _wait_until_read


def test_waits_until_the_peer_has_read_everything() -> None:
    ours, client = socket.socketpair()
    with ours, client:
        ours.sendall(b"HTTP/1.1 101 UPGRADED\r\n\r\n")
        reader = threading.Timer(0.2, lambda: client.recv(4096))
        reader.start()
        started = time.monotonic()
        _wait_until_read(ours.fileno(), 2.0)
        waited = time.monotonic() - started
        reader.join()
    assert 0.15 < waited < 1.5


def test_gives_up_at_the_limit_and_on_non_sockets() -> None:
    ours, client = socket.socketpair()
    with ours, client:
        ours.sendall(b"never read")
        started = time.monotonic()
        _wait_until_read(ours.fileno(), 0.1)
        assert time.monotonic() - started < 0.5
    _wait_until_read(-1, 1.0)  # no socket: nothing to wait for
