"""docker-py (the Python SDK) against dockyardd and a local docker-registry: login, pull, push."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from busybox_image import busybox_archive
from registry_fixtures import Registry, registry_available, registry_manifest, skopeo, skopeo_available

from conftest import DaemonHandle

docker = pytest.importorskip("docker")

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not (registry_available() and skopeo_available()),
                       reason="needs docker-registry and skopeo"),
]

USER, PASSWORD = "user", "pass"


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(tmp_path / "reg") as reg:
        yield reg


@pytest.fixture
def auth_registry(tmp_path: Path) -> Iterator[Registry]:
    with Registry(tmp_path / "authreg", auth=(USER, PASSWORD)) as reg:
        yield reg


@pytest.fixture
def client(daemon: DaemonHandle) -> Iterator[Any]:
    c = docker.DockerClient(base_url=daemon.host, version="1.44", timeout=120)
    try:
        yield c
    finally:
        c.close()


def seed(registry: Registry, tmp_path: Path, repo: str = "test/bb:1") -> str:
    """Push a 2-layer busybox with skopeo; return the manifest digest."""
    archive = busybox_archive(tmp_path, layers=2, tags=("bb:1",))
    skopeo("copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{registry.host}/{repo}")
    name, _, tag = repo.partition(":")
    return registry_manifest(registry, name, tag)[0]


def test_pull_and_inspect_distribution(client: Any, registry: Registry, tmp_path: Path) -> None:
    digest = seed(registry, tmp_path)
    image = client.images.pull(f"{registry.host}/test/bb", tag="1")
    assert f"{registry.host}/test/bb:1" in image.tags
    assert f"{registry.host}/test/bb@{digest}" in image.attrs["RepoDigests"]
    dist = client.api.inspect_distribution(f"{registry.host}/test/bb:1")
    assert dist["Descriptor"]["digest"] == digest
    assert dist["Descriptor"]["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert {"architecture": "amd64", "os": "linux"}.items() <= dist["Platforms"][0].items()
    rd = client.images.get_registry_data(f"{registry.host}/test/bb:1")
    assert rd.id == digest and rd.has_platform("linux/amd64")


def test_low_level_pull_stream(client: Any, registry: Registry, tmp_path: Path) -> None:
    digest = seed(registry, tmp_path)
    events = list(client.api.pull(f"{registry.host}/test/bb", tag="1", stream=True, decode=True))
    assert not [e for e in events if "error" in e or "errorDetail" in e], events
    statuses = [e.get("status", "") for e in events]
    assert f"Digest: {digest}" in statuses
    assert f"Status: Downloaded newer image for {registry.host}/test/bb:1" in statuses
    layer_events = [e for e in events if e.get("id") and e.get("status") == "Pull complete"]
    assert len(layer_events) == 2


def test_pull_errors_raise(client: Any, registry: Registry) -> None:
    with pytest.raises(docker.errors.APIError) as exc:
        client.images.pull(f"{registry.host}/nothing/here", tag="1")
    assert "manifest unknown" in str(exc.value) or "not found" in str(exc.value)
    assert client.images.list() == []


def test_push_stream_has_no_errors(client: Any, daemon: DaemonHandle, registry: Registry,
                                   tmp_path: Path) -> None:
    archive = busybox_archive(tmp_path, layers=3, tags=("bb:1",))
    with open(archive, "rb") as f:
        (image,) = client.images.load(f.read())
    assert image.tag(f"{registry.host}/test/bb", tag="1")
    events = [json.loads(line) if isinstance(line, (bytes, str)) else line
              for line in client.images.push(f"{registry.host}/test/bb", tag="1", stream=True, decode=True)]
    assert not [e for e in events if "error" in e or "errorDetail" in e], events
    aux = [e["aux"] for e in events if "aux" in e]
    assert aux and aux[-1]["Tag"] == "1" and aux[-1]["Digest"].startswith("sha256:")
    assert aux[-1]["Digest"] == registry_manifest(registry, "test/bb", "1")[0]
    assert sum(1 for e in events if e.get("status") == "Pushed") == 3
    # Non-streaming form returns the whole JSON-lines text.
    text = client.images.push(f"{registry.host}/test/bb", tag="1")
    assert "Layer already exists" in text and '"error"' not in text


def test_login_then_push_and_pull(client: Any, auth_registry: Registry, tmp_path: Path) -> None:
    with pytest.raises(docker.errors.APIError) as exc:
        client.login(USER, "wrong", registry=auth_registry.host, reauth=True)
    assert "unauthorized" in str(exc.value)
    result = client.login(USER, PASSWORD, registry=auth_registry.host, reauth=True)
    assert result["Status"] == "Login Succeeded"
    archive = busybox_archive(tmp_path, layers=2, tags=("bb:1",))
    with open(archive, "rb") as f:
        (image,) = client.images.load(f.read())
    image.tag(f"{auth_registry.host}/test/bb", tag="1")
    events = list(client.images.push(f"{auth_registry.host}/test/bb", tag="1", stream=True, decode=True))
    assert not [e for e in events if "error" in e], events
    client.images.remove(f"{auth_registry.host}/test/bb:1")
    pulled = client.images.pull(f"{auth_registry.host}/test/bb", tag="1")
    assert pulled.id == image.id
