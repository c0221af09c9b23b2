"""A real ``docker-registry`` (Debian's distribution 2.8) on 127.0.0.1, started per test."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from distribution_registry_proc import RunningRegistry, free_port, htpasswd_line

REGISTRY_BIN = "/usr/bin/docker-registry"


@pytest.fixture
def start_registry(tmp_path: Path) -> Iterator[Callable[..., RunningRegistry]]:
    if not Path(REGISTRY_BIN).exists():
        pytest.skip("docker-registry is not installed (apt-get install docker-registry)")
    procs: list[subprocess.Popen[bytes]] = []

    def start(users: dict[str, str] | None = None) -> RunningRegistry:
        root = tmp_path / f"registry{len(procs)}"
        root.mkdir()
        port = free_port()
        auth = ""
        if users is not None:
            (root / "htpasswd").write_text("".join(htpasswd_line(u, p) + "\n" for u, p in users.items()))
            auth = f"auth:\n  htpasswd:\n    realm: basic-realm\n    path: {root / 'htpasswd'}\n"
        config = root / "config.yml"
        config.write_text(
            "version: 0.1\n"
            "log:\n  level: error\n  accesslog:\n    disabled: true\n"
            f"storage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n  delete:\n    enabled: true\n"
            f"http:\n  addr: 127.0.0.1:{port}\n" + auth)
        log = open(root / "registry.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([REGISTRY_BIN, "serve", str(config)], stdout=log, stderr=subprocess.STDOUT)
        log.close()
        procs.append(proc)
        deadline = time.monotonic() + 15
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("docker-registry did not start: "
                                       + (root / "registry.log").read_text(errors="replace")) from None
                time.sleep(0.05)
        return RunningRegistry(f"127.0.0.1:{port}", root)

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
