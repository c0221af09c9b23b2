"""The docker CLI's own share of a command: the same CLI against a stub engine that answers at once.

``docker exec <c> true`` makes five API calls (``HEAD /_ping``, the container's JSON, exec
create, exec start with its upgrade, exec inspect). Against this stub, which answers each from
memory, what remains is the CLI's start-up and its HTTP round trips: the least any engine can
take for ``docker exec`` on this machine. Used by container_run.py to put exec times in context.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_EXEC_ID = "f" * 64
_CONTAINER = {"Id": "c" * 64, "State": {"Running": True, "Status": "running"}, "Config": {"Tty": False}}
_EXEC = {"ID": _EXEC_ID, "Running": False, "ExitCode": 0, "Pid": 1}


def _reply(conn: socket.socket, status: str, body: bytes = b"", *, head: bool = False) -> None:
    conn.sendall(f"HTTP/1.1 {status}\r\nApi-Version: 1.44\r\nContent-Type: application/json\r\n"
                 f"Content-Length: {len(body)}\r\n\r\n".encode() + (b"" if head else body))


def _serve(conn: socket.socket) -> None:
    buf = b""
    with conn:
        while True:
            while b"\r\n\r\n" not in buf:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                buf += chunk
            head, _, rest = buf.partition(b"\r\n\r\n")
            lines = head.decode().split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            length = next((int(v) for k, _, v in (line.partition(":") for line in lines[1:])
                           if k.lower() == "content-length"), 0)
            while len(rest) < length:
                rest += conn.recv(65536)
            buf = rest[length:]
            if target.endswith("/_ping"):
                _reply(conn, "200 OK", b"OK", head=method == "HEAD")
            elif method == "POST" and target.endswith("/exec"):
                _reply(conn, "201 Created", json.dumps({"Id": _EXEC_ID}).encode())
            elif target.endswith("/start"):
                conn.sendall(b"HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\n"
                             b"Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
                conn.shutdown(socket.SHUT_WR)  # no output, and the process is done
                return
            elif "/exec/" in target:
                _reply(conn, "200 OK", json.dumps(_EXEC).encode())
            else:
                _reply(conn, "200 OK", json.dumps(_CONTAINER).encode())


@contextmanager
def stub_engine(directory: Path) -> Iterator[str]:
    """A DOCKER_HOST answering the calls of ``docker exec`` instantly."""
    path = directory / "stub.sock"
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(16)

    def accept_loop() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=_serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    try:
        yield f"unix://{path}"
    finally:
        listener.close()
        os.unlink(path)


def exec_floor(directory: Path, rounds: int) -> list[float]:
    """Wall times (s) of ``docker exec c true`` against the stub."""
    with stub_engine(directory) as host:
        samples = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            subprocess.run(["docker", "-H", host, "exec", "c", "true"], check=True, capture_output=True)
            samples.append(time.perf_counter() - t0)
        return samples


if __name__ == "__main__":
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        times = exec_floor(Path(tmp), 20)
    print(f"docker exec against an instant engine: median {statistics.median(times) * 1000:.1f} ms")
