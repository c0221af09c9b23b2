"""A real dockyardd per test module, on a private socket and data root, and clients pointed at it."""

from __future__ import annotations

import hashlib
import os
import signal
import socket as so
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DOCKER_CLI = "/usr/local/bin/docker"


@dataclass
class DaemonHandle:
    root: Path
    data_root: Path
    exec_root: Path
    socket: Path
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env["DOCKER_HOST"] = self.host
        env["DOCKYARD_HOST"] = self.host
        env["DOCKER_CONFIG"] = str(self.root / "docker-config")
        env.pop("DOCKER_CONTEXT", None)
        return env

    def docker(self, *args: str, input: bytes | None = None, check: bool = True,
               timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run the real docker CLI v28 against this daemon."""
        proc = subprocess.run([DOCKER_CLI, *args], env=self.env(), input=input.decode() if input else None,
                              capture_output=True, text=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}")
        return proc

    def dockyard(self, *args: str, input: bytes | None = None, check: bool = True,
                 timeout: float = 120) -> subprocess.CompletedProcess[bytes]:
        """Run our own CLI against this daemon."""
        proc = subprocess.run([sys.executable, "-m", "dockyard.cli.main", "-H", self.host, *args],
                              env=self.env(), input=input, capture_output=True, timeout=timeout)
        if check and proc.returncode != 0:
            raise AssertionError(f"dockyard {' '.join(args)} failed ({proc.returncode}):\n"
                                 f"{proc.stderr.decode(errors='replace')}")
        return proc

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _private_network(root: Path) -> list[str]:
    """Each test daemon gets its own bridge name and subnet (stable per root, for restarts)."""
    digest = hashlib.sha256(str(root).encode()).digest()
    bridge = f"dyt{digest[:3].hex()}"
    return ["--bridge-name", bridge, "--bip", f"10.{200 + digest[3] % 50}.{digest[4]}.1/24"]


def start_daemon(root: Path, *extra: str) -> DaemonHandle:
    data_root = root / "data"
    exec_root = root / "run"
    socket = exec_root / "dockyard.sock"
    log = root / "dockyardd.log"
    root.mkdir(parents=True, exist_ok=True)
    if not (root / "daemon.json").exists():
        (root / "daemon.json").write_text("{}")
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "dockyard.daemon", "--data-root", str(data_root), "--exec-root",
             str(exec_root), "-H", f"unix://{socket}", "--config-file", str(root / "daemon.json"),
             *_private_network(root), *extra],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    handle = DaemonHandle(root, data_root, exec_root, socket, process, log)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dockyardd exited with {process.returncode}:\n{log.read_text()}")
        if socket.exists():
            with so.socket(so.AF_UNIX, so.SOCK_STREAM) as s:
                try:
                    s.connect(str(socket))
                    return handle
                except OSError:
                    pass
        time.sleep(0.05)
    handle.stop(signal.SIGKILL)
    raise RuntimeError(f"dockyardd did not start:\n{log.read_text()}")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonHandle]:
    """A fresh daemon for one test (its tmp_path is leak-checked after the test)."""
    handle = start_daemon(tmp_path / "d")
    try:
        yield handle
    finally:
        handle.stop()


def remove_all_containers(daemon: DaemonHandle, timeout: float = 120) -> None:
    """Force-remove every container of a daemon that is still up."""
    if daemon.process.poll() is None:
        ids = daemon.docker("ps", "-aq", check=False, timeout=timeout).stdout.split()
        if ids:
            daemon.docker("rm", "-f", *ids, check=False, timeout=timeout)


@pytest.fixture
def d(daemon: DaemonHandle) -> Iterator[DaemonHandle]:
    """The test daemon with busybox loaded; every container is force-removed at the end."""
    from busybox_image import busybox_archive

    daemon.docker("load", "-i", str(busybox_archive()), timeout=120)
    try:
        yield daemon
    finally:
        remove_all_containers(daemon)
    # With no container left, a stopping daemon removes its bridges and its nftables table: the
    # default bridge's, and those of its user networks.
    custom = daemon.docker("network", "ls", "-q", "--no-trunc", "--filter", "type=custom", check=False).stdout.split()
    daemon.stop()
    bridge = _private_network(daemon.root)[1]
    left = [name for name in (bridge, *(f"dy-{n[:12]}" for n in custom)) if os.path.exists(f"/sys/class/net/{name}")]
    table = subprocess.run(["nft", "list", "table", "inet", f"dockyard_{bridge}"], capture_output=True)
    if table.returncode == 0:
        subprocess.run(["nft", "delete", "table", "inet", f"dockyard_{bridge}"], check=False)
    assert table.returncode != 0, f"dockyardd left its nftables table dockyard_{bridge}"
    assert not left, f"dockyardd left its bridges {left}"
