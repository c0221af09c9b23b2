from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from dockyard.oci.digest import Digest
from dockyard.store.content import LocalContentStore
from dockyard.store.metadata import ImageRecord, MetadataStore
from dockyard.store.snapshots import NativeSnapshotter


@dataclass
class World:
    md: MetadataStore
    content: LocalContentStore
    snapshots: NativeSnapshotter


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    md = MetadataStore(tmp_path / "metadata.db")
    yield World(md, LocalContentStore(tmp_path / "content"), NativeSnapshotter(tmp_path / "snapshots", md))
    md.close()


@dataclass
class FakeImage:
    record: ImageRecord
    manifest: Digest
    config: Digest
    layer: Digest
    snapshot: str


def add_image(w: World, name: str, payload: bytes = b"layer") -> FakeImage:
    """An image with one layer: blobs, a committed snapshot, a record, a tag and GC refs."""
    layer = w.content.write_blob(payload)
    config = w.content.write_blob(json.dumps({"name": name, "rootfs": {"diff_ids": [str(layer)]}}).encode())
    manifest_bytes = json.dumps({
        "schemaVersion": 2,
        "config": {"digest": str(config), "size": 1, "mediaType": "application/vnd.oci.image.config.v1+json"},
        "layers": [{"digest": str(layer), "size": len(payload), "mediaType": "application/vnd.oci.image.layer.v1.tar"}],
    }).encode()
    manifest = w.content.write_blob(manifest_bytes)
    chain = f"sha256:{layer.hex}"
    if w.md.find_snapshot(chain) is None:
        w.snapshots.prepare(f"extract-{name}")
        (w.snapshots.upper_path(f"extract-{name}") / "file").write_bytes(payload)
        w.snapshots.commit(chain, f"extract-{name}")
    rec = ImageRecord(id=f"sha256:{config.hex}", target_digest=str(manifest),
                      target_media_type="application/vnd.oci.image.manifest.v1+json",
                      target_size=len(manifest_bytes), manifest_digest=str(manifest), config_digest=str(config),
                      created_at=0.0, loaded_at=0.0, size=len(payload))
    w.md.put_image(rec)
    w.md.set_tag(f"docker.io/library/{name}:latest", rec.id)
    w.md.set_refs("image", rec.id, [("content", str(manifest)), ("content", str(config)),
                                     ("content", str(layer)), ("snapshot", chain)])
    return FakeImage(rec, manifest, config, layer, chain)
