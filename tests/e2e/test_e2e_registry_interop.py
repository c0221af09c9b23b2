"""Interoperability with an independent client (skopeo), both ways, and platform selection.

What dockyard pushes, skopeo reads; what skopeo pushes (single images, OCI indexes with two
platforms, an index for another platform only), dockyard pulls, picking the right platform.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from busybox_image import busybox_archive
from registry_fixtures import (
    Registry,
    multi_platform_layout,
    registry_available,
    registry_manifest,
    single_platform_layout,
    skopeo,
    skopeo_available,
    skopeo_inspect,
    skopeo_raw_manifest,
)

from conftest import DaemonHandle

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (registry_available() and skopeo_available()),
                       reason="needs docker-registry and skopeo"),
]


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(tmp_path / "reg") as reg:
        yield reg


def images_state(daemon: DaemonHandle) -> list[str]:
    out = daemon.docker("images", "-a", "--digests", "--no-trunc",
                        "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Digest}}").stdout
    return sorted(out.splitlines())


def inspect(daemon: DaemonHandle, ref: str) -> dict[str, object]:
    return dict(json.loads(daemon.docker("image", "inspect", ref).stdout)[0])


def push_multi(registry: Registry, tmp_path: Path, repo: str = "multi:1") -> dict[str, str]:
    oci = busybox_archive(tmp_path, fmt="oci-archive", gzip=True, layers=2, tags=("bb:1",))
    digests = multi_platform_layout(oci, tmp_path / "layout", "multi")
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'layout'}:multi",
           f"docker://{registry.host}/{repo}")
    return digests


def test_skopeo_reads_what_dockyard_pushed(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    ref = f"{registry.host}/test/bb:1"
    daemon.docker("load", "-i", str(busybox_archive(tmp_path, layers=3, tags=(ref,))))
    out = daemon.docker("push", ref).stdout
    digest = re.search(r"^1: digest: (sha256:[0-9a-f]{64}) size: (\d+)$", out, re.M)
    assert digest, out
    raw = skopeo_raw_manifest(ref)
    assert len(raw) == int(digest.group(2))
    manifest = json.loads(raw)
    assert manifest["mediaType"] in ("application/vnd.docker.distribution.manifest.v2+json",
                                     "application/vnd.oci.image.manifest.v1+json")
    assert len(manifest["layers"]) == 3
    info = skopeo_inspect(ref)
    assert info["Digest"] == digest.group(1)
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    # skopeo copies it out as an OCI layout, verifying every blob's digest on the way.
    layout = tmp_path / "out"
    skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"oci:{layout}:x")
    config = json.loads(skopeo("inspect", "--config", "--raw", f"oci:{layout}:x").stdout)
    assert config["rootfs"]["diff_ids"] == json.loads(
        daemon.docker("image", "inspect", "-f", "{{json .RootFS.Layers}}", ref).stdout)
    # And back in through docker load of what skopeo wrote: same image ID.
    skopeo("copy", "--src-tls-verify=false", f"docker://{ref}", f"docker-archive:{tmp_path / 'rt.tar'}:rt:1")
    daemon.docker("load", "-i", str(tmp_path / "rt.tar"))
    assert inspect(daemon, "rt:1")["Id"] == inspect(daemon, ref)["Id"]


def test_dockyard_pulls_what_skopeo_pushed(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    archive = busybox_archive(tmp_path, layers=3, tags=("bb:1",))
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{registry.host}/sk/bb:1")
    digest, _ = registry_manifest(registry, "sk/bb", "1")
    out = daemon.docker("pull", f"{registry.host}/sk/bb:1").stdout
    assert f"Digest: {digest}" in out
    assert f"Status: Downloaded newer image for {registry.host}/sk/bb:1" in out
    daemon.docker("load", "-i", str(archive))
    assert inspect(daemon, "bb:1")["Id"] == inspect(daemon, f"{registry.host}/sk/bb:1")["Id"]
    assert f"{registry.host}/sk/bb@{digest}" in inspect(daemon, f"{registry.host}/sk/bb:1")["RepoDigests"]  # type: ignore[operator]


def test_pull_oci_gzip_image_from_skopeo(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    oci = busybox_archive(tmp_path, fmt="oci-archive", gzip=True, layers=3, tags=("bb:1",))
    skopeo("copy", "--dest-tls-verify=false", f"oci-archive:{oci}", f"docker://{registry.host}/oci/bb:1")
    digest, manifest = registry_manifest(registry, "oci/bb", "1")
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    out = daemon.docker("pull", f"{registry.host}/oci/bb:1").stdout
    assert f"Digest: {digest}" in out
    assert inspect(daemon, f"{registry.host}/oci/bb:1")["Id"] == manifest["config"]["digest"]


def test_multi_platform_index_default_amd64(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    digests = push_multi(registry, tmp_path)
    ref = f"{registry.host}/multi:1"
    out = daemon.docker("pull", ref).stdout
    # The digest printed and recorded is the index's, like Docker.
    assert f"Digest: {digests['index']}" in out, out
    info = inspect(daemon, ref)
    assert info["Architecture"] == "amd64" and info["Os"] == "linux"
    assert f"{registry.host}/multi@{digests['index']}" in info["RepoDigests"]  # type: ignore[operator]


def test_multi_platform_index_explicit_arm64(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    push_multi(registry, tmp_path)
    ref = f"{registry.host}/multi:1"
    daemon.docker("pull", "--platform", "linux/arm64", ref)
    info = inspect(daemon, ref)
    assert info["Architecture"] == "arm64" and info.get("Variant") == "v8"
    # Then amd64 replaces the tag.
    daemon.docker("pull", "--platform", "linux/amd64", ref)
    assert inspect(daemon, ref)["Architecture"] == "amd64"


def test_only_other_platform_is_an_error(daemon: DaemonHandle, registry: Registry, tmp_path: Path) -> None:
    oci = busybox_archive(tmp_path, fmt="oci-archive", gzip=True, tags=("bb:1",))
    single_platform_layout(oci, tmp_path / "arm", tag="arm")
    skopeo("copy", "--all", "--dest-tls-verify=false", f"oci:{tmp_path / 'arm'}:arm",
           f"docker://{registry.host}/armonly:1")
    before = images_state(daemon)
    proc = daemon.docker("pull", f"{registry.host}/armonly:1", check=False)
    assert proc.returncode == 1
    assert "no matching manifest for linux/amd64 in the manifest list entries" in proc.stderr, proc.stderr
    assert images_state(daemon) == before
    daemon.docker("pull", "--platform", "linux/arm64", f"{registry.host}/armonly:1")
    assert inspect(daemon, f"{registry.host}/armonly:1")["Architecture"] == "arm64"
