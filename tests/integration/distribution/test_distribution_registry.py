"""RegistryClient against the real docker-registry: push, pull back, mount, tags, auth."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Callable

import pytest
from distribution_registry_proc import RunningRegistry

from dockyard.distribution import Credentials, RegistryClient, RegistryHosts
from dockyard.errors import NotFound, Unauthorized
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest

Start = Callable[..., RunningRegistry]


class Sink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.received = 0

    @property
    def offset(self) -> int:
        return len(self.data)

    def write(self, data: bytes) -> int:
        self.data += data
        self.received += len(data)
        return len(data)

    def truncate(self, size: int) -> None:
        del self.data[size:]


def _image() -> tuple[Descriptor, bytes, Descriptor, bytes, bytes]:
    """(config desc, config, layer desc, layer, manifest) of a one-file image."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        payload = bytes(range(256)) * 2048
        info = tarfile.TarInfo("hello.bin")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    layer = gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)
    config = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {
        "type": "layers", "diff_ids": [str(Digest.from_bytes(raw.getvalue()))]}}).encode()
    config_desc = Descriptor(mediatypes.DOCKER_CONFIG, Digest.from_bytes(config), len(config))
    layer_desc = Descriptor(mediatypes.DOCKER_LAYER_GZIP, Digest.from_bytes(layer), len(layer))
    manifest = json.dumps({"schemaVersion": 2, "mediaType": mediatypes.DOCKER_MANIFEST,
                           "config": config_desc.to_json_obj(), "layers": [layer_desc.to_json_obj()]}).encode()
    return config_desc, config, layer_desc, layer, manifest


def _client(reg: RunningRegistry, repo: str, creds: Credentials | None = None) -> RegistryClient:
    return RegistryClient(reg.name, repo, credentials=creds, hosts=RegistryHosts(certs_dirs=()), timeout=20,
                          backoff=0.01)


@pytest.mark.parametrize("chunk_size", [None, 50_000])
def test_push_and_pull_back(start_registry: Start, chunk_size: int | None) -> None:
    reg = start_registry()
    config_desc, config, layer_desc, layer, manifest = _image()
    with _client(reg, "test/img") as c:
        c.ping()
        assert c.blob_exists(layer_desc.digest) is None
        c.upload_blob(layer_desc, lambda: io.BytesIO(layer), chunk_size=chunk_size)
        c.upload_blob(config_desc, lambda: io.BytesIO(config), chunk_size=chunk_size)
        assert c.blob_exists(layer_desc.digest) == len(layer)
        digest = c.put_manifest("v1", mediatypes.DOCKER_MANIFEST, manifest)
        assert digest == Digest.from_bytes(manifest)

    with _client(reg, "test/img") as c:
        desc = c.resolve("v1")
        assert desc == Descriptor(mediatypes.DOCKER_MANIFEST, digest, len(manifest))
        assert c.resolve(str(digest)) == desc
        assert c.get_manifest("v1") == (mediatypes.DOCKER_MANIFEST, manifest, digest)
        assert c.get_manifest(str(digest))[1] == manifest
        sink = Sink()
        c.fetch_blob(layer_desc, sink)
        assert bytes(sink.data) == layer
        # Resume from a partial download: only the rest comes over the wire.
        partial = Sink()
        partial.write(layer[:1000])
        c.fetch_blob(layer_desc, partial)
        assert bytes(partial.data) == layer and partial.received == len(layer)
        assert c.list_tags() == ["v1"]


def test_tags_mount_and_errors(start_registry: Start) -> None:
    reg = start_registry()
    config_desc, config, layer_desc, layer, manifest = _image()
    with _client(reg, "src/app") as c:
        c.upload_blob(layer_desc, lambda: io.BytesIO(layer))
        c.upload_blob(config_desc, lambda: io.BytesIO(config))
        for tag in ("a", "b", "c"):
            c.put_manifest(tag, mediatypes.DOCKER_MANIFEST, manifest)
        assert sorted(c.list_tags()) == ["a", "b", "c"]
        with pytest.raises(NotFound) as info:
            c.resolve("nope")
        assert str(info.value) == "manifest unknown: manifest unknown"
    with _client(reg, "dst/app") as c:
        assert c.mount_blob(layer_desc.digest, "src/app") is True
        assert c.blob_exists(layer_desc.digest) == len(layer)
        # A blob the source does not have: the registry opens an upload instead, which we cancel.
        assert c.mount_blob(Digest.from_bytes(b"absent"), "src/app") is False
    with _client(reg, "no/such") as c:
        with pytest.raises(NotFound) as info:
            c.resolve("latest")
        assert str(info.value) == "manifest unknown: manifest unknown"  # distribution 2.8's answer
        with pytest.raises(NotFound) as info:
            c.list_tags()
        assert str(info.value) == "name unknown: repository name not known to registry"


def test_htpasswd_auth(start_registry: Start) -> None:
    reg = start_registry(users={"alice": "wonderland"})
    config_desc, config, layer_desc, layer, manifest = _image()
    good = Credentials("alice", "wonderland")
    with _client(reg, "priv/app", good) as c:
        c.ping()
        c.upload_blob(layer_desc, lambda: io.BytesIO(layer), chunk_size=100_000)
        c.upload_blob(config_desc, lambda: io.BytesIO(config))
        c.put_manifest("v1", mediatypes.DOCKER_MANIFEST, manifest)
        assert c.resolve("v1").digest == Digest.from_bytes(manifest)
        sink = Sink()
        c.fetch_blob(layer_desc, sink)
        assert bytes(sink.data) == layer
    with _client(reg, "priv/app", Credentials("alice", "wrong")) as c, pytest.raises(Unauthorized) as info:
        c.ping()
    assert str(info.value) == "unauthorized: authentication required"
    with _client(reg, "priv/app") as c, pytest.raises(Unauthorized):
        c.resolve("v1")
