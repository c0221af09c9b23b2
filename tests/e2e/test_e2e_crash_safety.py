"""Crash safety: kill -9 during and after loads and imports, and clients that vanish mid-upload.

After every interruption the store must be consistent (the daemon's own check reports nothing),
hold no half-loaded image and no unreferenced blob, and accept the same input again.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from busybox_image import busybox_archive, busybox_rootfs_tar

from conftest import DOCKER_CLI, DaemonHandle, start_daemon
from dockyard.client import DockyardClient

pytestmark = pytest.mark.e2e

PAD_MB = 150
LAYERS = 4


@pytest.fixture(scope="module")
def big_archive() -> Path:
    return busybox_archive(layers=LAYERS, pad_mb=PAD_MB, tags=("big:latest",))


@pytest.fixture(scope="module")
def big_rootfs() -> Path:
    return busybox_rootfs_tar(layers=LAYERS, pad_mb=PAD_MB)


@pytest.fixture
def restarted(daemon: DaemonHandle) -> Iterator[list[DaemonHandle]]:
    """Daemons a test restarts on the fixture's roots; all of them are stopped afterwards."""
    handles: list[DaemonHandle] = []
    try:
        yield handles
    finally:
        for handle in handles:
            handle.stop()


def store_check(handle: DaemonHandle) -> dict[str, Any]:
    with DockyardClient(handle.host, timeout=60) as client:
        result: dict[str, Any] = client.system_check(repair=False)
    return result


def image_refs(handle: DaemonHandle) -> list[str]:
    lines = handle.docker("images", "-a", "--format", "{{json .}}").stdout.strip().splitlines()
    return sorted(f"{row['Repository']}:{row['Tag']}" for row in map(json.loads, lines))


def ingest_bytes(handle: DaemonHandle) -> int:
    total = 0
    for path in (handle.data_root / "content" / "ingest").glob("*/data"):
        try:
            total += path.stat().st_size
        except FileNotFoundError:
            pass
    return total


def leftover_ingests(handle: DaemonHandle) -> list[str]:
    """Ingests that can never be resumed: a load or import streams its body once."""
    left = []
    for directory in (handle.data_root / "content" / "ingest").iterdir():
        ref_file = directory / "ref"
        ref = ref_file.read_text() if ref_file.exists() else f"(no ref) {directory.name}"
        if ref.startswith(("load-", "import-")) or directory.name.startswith(".") or "(no ref)" in ref:
            left.append(ref)
    return left


def assert_store_clean(handle: DaemonHandle) -> None:
    result = store_check(handle)
    assert result["Problems"] == [], result
    assert result["Repaired"] is False
    # Every blob on disk belongs to an image (the check's orphan rule, and asserted directly too).
    blobs = {p.name for p in (handle.data_root / "content" / "blobs" / "sha256").iterdir()}
    if not image_refs(handle):
        assert blobs == set()


def assert_no_stale_ingests(handle: DaemonHandle) -> None:
    """content/ingest holds only resumable partial downloads: never what a cut-off load/import wrote."""
    assert leftover_ingests(handle) == []
    assert ingest_bytes(handle) == 0


def interrupt(handle: DaemonHandle, argv: list[str], *, min_bytes: int = 8 << 20) -> subprocess.CompletedProcess[str]:
    """Start ``docker argv`` and SIGKILL the daemon once ``min_bytes`` reached the ingest area."""
    client = subprocess.Popen([DOCKER_CLI, *argv], env=handle.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while ingest_bytes(handle) < min_bytes:
            assert client.poll() is None, f"docker {argv[0]} ended before the kill: {client.communicate()}"
            assert time.monotonic() < deadline, "no ingest data appeared"
            time.sleep(0.005)
        handle.process.send_signal(signal.SIGKILL)
        handle.process.wait(timeout=10)
        out, err = client.communicate(timeout=30)
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    return subprocess.CompletedProcess(argv, client.returncode, out, err)


def restart(daemon: DaemonHandle, restarted: list[DaemonHandle]) -> DaemonHandle:
    handle = start_daemon(daemon.root)
    restarted.append(handle)
    return handle


def test_kill_during_load_leaves_no_trace_and_load_works_again(
        daemon: DaemonHandle, restarted: list[DaemonHandle], big_archive: Path) -> None:
    daemon.docker("load", "-i", str(busybox_archive(layers=2)))
    before = image_refs(daemon)
    assert before == ["busybox:latest"]
    result = interrupt(daemon, ["load", "-i", str(big_archive)])
    assert result.returncode != 0, "the load finished before the daemon was killed"
    assert ingest_bytes(daemon) > 0, "the kill should have left a partial ingest to reconcile"

    again = restart(daemon, restarted)
    assert image_refs(again) == before
    assert_store_clean(again)

    out = again.docker("load", "-i", str(big_archive), timeout=120).stdout
    assert "Loaded image: big:latest" in out
    assert image_refs(again) == ["big:latest", "busybox:latest"]
    assert_store_clean(again)
    assert_no_stale_ingests(again)


def test_kill_during_import_leaves_no_trace_and_import_works_again(
        daemon: DaemonHandle, restarted: list[DaemonHandle], big_rootfs: Path) -> None:
    result = interrupt(daemon, ["import", str(big_rootfs), "imported:big"])
    assert result.returncode != 0, "the import finished before the daemon was killed"
    assert ingest_bytes(daemon) > 0, "the kill should have left a partial ingest to reconcile"

    again = restart(daemon, restarted)
    assert image_refs(again) == []
    assert_store_clean(again)
    assert sorted((again.data_root / "content" / "blobs" / "sha256").iterdir()) == []

    image_id = again.docker("import", str(big_rootfs), "imported:big", timeout=120).stdout.strip()
    assert image_id.startswith("sha256:")
    assert image_refs(again) == ["imported:big"]
    assert_store_clean(again)
    assert_no_stale_ingests(again)


def test_kill_after_load_keeps_the_images(daemon: DaemonHandle, restarted: list[DaemonHandle],
                                          tmp_path: Path) -> None:
    daemon.docker("load", "-i", str(busybox_archive(layers=3)))
    daemon.docker("tag", "busybox:latest", "mirror/busybox:1")
    inspect_before = json.loads(daemon.docker("image", "inspect", "busybox:latest").stdout)[0]
    daemon.process.send_signal(signal.SIGKILL)
    daemon.process.wait(timeout=10)

    again = restart(daemon, restarted)
    assert image_refs(again) == ["busybox:latest", "mirror/busybox:1"]
    inspect_after = json.loads(again.docker("image", "inspect", "busybox:latest").stdout)[0]
    for key in ("Id", "RootFS", "Config", "Created", "Size"):
        assert inspect_after[key] == inspect_before[key]
    assert_store_clean(again)

    saved = tmp_path / "saved.tar"
    again.docker("save", "-o", str(saved), "busybox:latest")
    assert saved.stat().st_size > 1 << 20
    again.docker("rmi", "busybox:latest", "mirror/busybox:1")
    assert image_refs(again) == []
    assert_store_clean(again)
    out = again.docker("load", "-i", str(saved)).stdout
    assert "Loaded image: busybox:latest" in out
    assert json.loads(again.docker("image", "inspect", "busybox:latest").stdout)[0]["Id"] == inspect_before["Id"]
    assert_store_clean(again)
    assert_no_stale_ingests(again)


def _send_half(handle: DaemonHandle, path: str, body: Path, content_type: str) -> None:
    """An HTTP request announcing the whole body, sending half of it, then hanging up."""
    size = body.stat().st_size
    head = (f"POST {path} HTTP/1.1\r\nHost: docker\r\nUser-Agent: crash-test\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {size}\r\n\r\n").encode()
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s, open(body, "rb") as f:
        s.connect(str(handle.socket))
        s.sendall(head)
        left = size // 2
        while left:
            chunk = f.read(min(left, 1 << 20))
            s.sendall(chunk)
            left -= len(chunk)
        # Make sure the daemon is really working on it before the client vanishes.
        deadline = time.monotonic() + 30
        while ingest_bytes(handle) < 4 << 20 and time.monotonic() < deadline:
            time.sleep(0.01)
        s.shutdown(socket.SHUT_RDWR)


def _wait_idle(handle: DaemonHandle) -> None:
    """Until the daemon dropped the interrupted operation (no ingest is being written any more)."""
    deadline = time.monotonic() + 30
    previous = -1
    while time.monotonic() < deadline:
        current = ingest_bytes(handle)
        if current == 0 or current == previous:
            return
        previous = current
        time.sleep(0.3)


def _cut_off(handle: DaemonHandle, what: str, big_archive: Path, big_rootfs: Path) -> None:
    handle.docker("load", "-i", str(busybox_archive(layers=1)))
    if what == "load":
        _send_half(handle, "/v1.44/images/load?quiet=1", big_archive, "application/x-tar")
    else:
        _send_half(handle, "/v1.44/images/create?fromSrc=-&repo=imported&tag=big", big_rootfs,
                   "application/x-tar")
    _wait_idle(handle)
    # The daemon keeps serving, and nothing of the cut-off upload became an image.
    assert handle.process.poll() is None
    assert handle.docker("version", "--format", "{{.Server.Version}}").stdout.strip()
    assert image_refs(handle) == ["busybox:latest"]


@pytest.mark.parametrize("what", ["load", "import"])
def test_client_disconnect_mid_upload_then_restart(daemon: DaemonHandle, restarted: list[DaemonHandle],
                                                   what: str, big_archive: Path, big_rootfs: Path) -> None:
    _cut_off(daemon, what, big_archive, big_rootfs)
    # A restart reconciles what the failed upload left, and the same upload then goes through.
    daemon.stop()
    again = restart(daemon, restarted)
    assert image_refs(again) == ["busybox:latest"]
    assert_store_clean(again)
    if what == "load":
        assert "Loaded image: big:latest" in again.docker("load", "-i", str(big_archive)).stdout
        assert image_refs(again) == ["big:latest", "busybox:latest"]
    else:
        again.docker("import", str(big_rootfs), "imported:big")
        assert image_refs(again) == ["busybox:latest", "imported:big"]
    assert_store_clean(again)
    assert_no_stale_ingests(again)


@pytest.mark.parametrize("what", ["load", "import"])
def test_client_disconnect_mid_upload_then_prune(daemon: DaemonHandle, what: str, big_archive: Path,
                                                 big_rootfs: Path) -> None:
    _cut_off(daemon, what, big_archive, big_rootfs)
    daemon.docker("image", "prune", "-f")
    assert image_refs(daemon) == ["busybox:latest"]
    assert_store_clean(daemon)
    assert_no_stale_ingests(daemon)
