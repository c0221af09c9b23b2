"""The content store is an OCI image layout that skopeo and umoci read as-is (and vice versa)."""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from dockyard.oci.digest import Digest
from dockyard.store.content import LocalContentStore

REF = "example.com/test/small:1"


def small_image(store: LocalContentStore) -> Digest:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        data = b"hello from a layer\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        info.mode = 0o644
        tar.addfile(info, io.BytesIO(data))
    diff_id = Digest.from_bytes(raw.getvalue())
    layer_bytes = gzip.compress(raw.getvalue(), mtime=0)
    with store.writer("layer-ref", expected=Digest.from_bytes(layer_bytes), total=len(layer_bytes)) as w:
        w.write(layer_bytes[:10])
    with store.writer("layer-ref") as w:  # resumed
        w.write(layer_bytes[w.offset:])
        layer = w.commit()
    config = json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2024-01-01T00:00:00Z",
        "config": {"Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [str(diff_id)]},
        "history": [{"created": "2024-01-01T00:00:00Z", "created_by": "test"}],
    }).encode()
    config_digest = store.write_blob(config)
    manifest = json.dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": str(config_digest),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": str(layer),
                    "size": len(layer_bytes)}],
    }).encode()
    manifest_digest = store.write_blob(manifest)
    store.set_index([{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": str(manifest_digest),
        "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": REF},
    }])
    # a partial ingest beside the blobs must not disturb the tools
    with store.writer("partial") as w:
        w.write(b"incomplete")
    return manifest_digest


def run(*args: str) -> str:
    return subprocess.run(args, check=True, capture_output=True, text=True, timeout=60).stdout


@pytest.mark.skipif(shutil.which("umoci") is None, reason="umoci is not installed")
def test_umoci_lists_our_layout(tmp_path: Path) -> None:
    store = LocalContentStore(tmp_path / "content")
    small_image(store)
    assert run("umoci", "ls", "--layout", str(store.root)).split() == [REF]
    stat = json.loads(run("umoci", "stat", "--image", f"{store.root}:{REF}", "--json"))
    assert stat["history"][0]["created_by"] == "test"


@pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo is not installed")
def test_skopeo_inspects_and_copies_our_layout(tmp_path: Path) -> None:
    store = LocalContentStore(tmp_path / "content")
    manifest = small_image(store)
    info = json.loads(run("skopeo", "inspect", f"oci:{store.root}:{REF}"))
    assert info["Digest"] == str(manifest)
    assert info["Architecture"] == "amd64"
    # skopeo verifies every blob while copying; then read its layout back with our store
    run("skopeo", "copy", f"oci:{store.root}:{REF}", f"oci:{tmp_path / 'copy'}:again")
    other = LocalContentStore(tmp_path / "copy")
    (desc,) = other.get_index()
    assert desc["annotations"]["org.opencontainers.image.ref.name"] == "again"
    copied = Digest.parse(desc["digest"])
    assert other.exists(copied)
    assert set(other.digests()) <= set(store.digests()) | {copied}
    assert len(list(other.digests())) == 3
