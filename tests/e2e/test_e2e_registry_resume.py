"""Pulls that break mid-blob keep what they downloaded; lying blobs are refused.

A CuttingProxy (registry_fixtures) sits between dockyardd and docker-registry: it closes the
connection after N bytes of one blob, several times in a row so the daemon's own retries run out
and the first pull fails; the next pull must continue with an HTTP Range request, so the blob's
bytes cross the wire about once in total.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from busybox_image import busybox_archive
from registry_fixtures import (
    CuttingProxy,
    Registry,
    registry_available,
    registry_manifest,
    skopeo,
    skopeo_available,
)

from conftest import DaemonHandle

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (registry_available() and skopeo_available()),
                       reason="needs docker-registry and skopeo"),
]

MB = 1 << 20


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(tmp_path / "reg") as reg:
        yield reg


@pytest.fixture
def proxy(registry: Registry) -> Iterator[CuttingProxy]:
    with CuttingProxy(registry) as p:
        yield p


def images_state(daemon: DaemonHandle) -> list[str]:
    out = daemon.docker("images", "-a", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}}").stdout
    return sorted(out.splitlines())


def push_big(registry: Registry, tmp_path: Path, pad_mb: int = 30, layers: int = 1) -> tuple[str, int]:
    """Push a busybox image padded with ``pad_mb`` MB; return its biggest layer's (digest, size)."""
    archive = busybox_archive(tmp_path, layers=layers, pad_mb=pad_mb, tags=("big:1",))
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{registry.host}/big:1")
    _, manifest = registry_manifest(registry, "big", "1")
    layer = max(manifest["layers"], key=lambda d: int(d["size"]))
    return str(layer["digest"]), int(layer["size"])


def test_interrupted_pull_resumes_with_range(daemon: DaemonHandle, registry: Registry, proxy: CuttingProxy,
                                             tmp_path: Path) -> None:
    digest, size = push_big(registry, tmp_path)
    assert size > 25 * MB
    cut_at = 2 * MB
    ref = f"{proxy.host}/big:1"
    # Cut every attempt of the first pull (the daemon retries transient errors a few times, each
    # attempt getting cut_at more bytes), so that it ends with an error.
    proxy.cut_blob(digest, after=cut_at, times=1000)
    before = images_state(daemon)
    first = daemon.docker("pull", ref, check=False, timeout=180)
    assert first.returncode == 1, first.stdout
    assert re.search(r"closed|reset|EOF", first.stderr), first.stderr
    assert images_state(daemon) == before  # nothing half-tagged
    attempts = proxy.blob_gets[digest]
    assert attempts >= 2, "the daemon should retry a reset blob download"
    assert attempts * cut_at < size
    served_first = proxy.bytes_served[digest]
    assert served_first == attempts * cut_at
    # Every retry continues where the stored bytes end.
    ranges = proxy.ranges[digest]
    assert ranges[0] in (None, "bytes=0-"), ranges
    assert ranges[1:] == [f"bytes={i * cut_at}-" for i in range(1, attempts)], ranges

    # The next pull, nothing cut any more: it completes and asks only for the rest.
    proxy.cut_blob(digest, after=0, times=0)
    second = daemon.docker("pull", ref, timeout=180)
    assert f"Status: Downloaded newer image for {ref}" in second.stdout, second.stdout
    later = proxy.ranges[digest][attempts:]
    assert later == [f"bytes={served_first}-"], proxy.ranges[digest]
    total = proxy.bytes_served[digest]
    assert total == size, f"{total} bytes served for a {size}-byte blob (ranges {proxy.ranges[digest]})"
    layers = daemon.docker("image", "inspect", "-f", "{{len .RootFS.Layers}}", ref).stdout.strip()
    assert layers == "1"


def test_daemon_retries_one_cut_transparently(daemon: DaemonHandle, registry: Registry, proxy: CuttingProxy,
                                              tmp_path: Path) -> None:
    digest, size = push_big(registry, tmp_path, pad_mb=8, layers=2)
    proxy.cut_blob(digest, after=3 * MB, times=1)
    ref = f"{proxy.host}/big:1"
    out = daemon.docker("pull", ref, timeout=180).stdout
    assert f"Status: Downloaded newer image for {ref}" in out
    assert proxy.cuts[digest] == 1 and proxy.blob_gets[digest] == 2
    assert proxy.ranges[digest][1] == f"bytes={3 * MB}-", proxy.ranges[digest]
    assert proxy.bytes_served[digest] == size


def test_lying_blob_is_refused_then_pull_recovers(daemon: DaemonHandle, registry: Registry,
                                                  proxy: CuttingProxy, tmp_path: Path) -> None:
    digest, _ = push_big(registry, tmp_path, pad_mb=2, layers=2)
    proxy.corrupt_blob(digest, times=50)
    ref = f"{proxy.host}/big:1"
    before = images_state(daemon)
    proc = daemon.docker("pull", ref, check=False, timeout=180)
    assert proc.returncode == 1
    assert re.search(r"digest|checksum|verif", proc.stderr, re.I), proc.stderr
    assert images_state(daemon) == before
    proxy.corrupt_blob(digest, times=0)
    out = daemon.docker("pull", ref, timeout=180).stdout
    assert f"Status: Downloaded newer image for {ref}" in out
