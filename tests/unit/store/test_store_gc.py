from __future__ import annotations

import json
import os
import time

from store_fixtures import World, add_image

from dockyard.oci.digest import Digest
from dockyard.store.gc import INGEST_MAX_AGE, collect
from dockyard.store.leases import LeaseManager


def test_gc_keeps_referenced_and_removes_rest(world: World) -> None:
    img = add_image(world, "busybox")
    orphan = world.content.write_blob(b"orphan")
    world.snapshots.prepare("stray-tmp")
    world.snapshots.commit("stray", "stray-tmp")
    world.snapshots.prepare("stray-child", "stray")
    result = collect(world.md, world.content, world.snapshots)
    assert result.removed_blobs == [str(orphan)]
    assert result.removed_snapshots == ["stray-child", "stray"]  # children first
    assert result.reclaimed >= len(b"orphan")
    for d in (img.manifest, img.config, img.layer):
        assert world.content.exists(d)
    assert world.md.find_snapshot(img.snapshot) is not None


def test_gc_follows_parents_of_referenced_snapshots(world: World) -> None:
    sn = world.snapshots
    sn.prepare("a-tmp")
    sn.commit("a", "a-tmp")
    sn.prepare("b-tmp", "a")
    sn.commit("b", "b-tmp")
    sn.prepare("ctr", "b")
    world.md.set_refs("container", "c1", [("snapshot", "ctr")])
    assert collect(world.md, world.content, sn).removed_snapshots == []
    world.md.delete_refs("container", "c1")
    assert collect(world.md, world.content, sn).removed_snapshots == ["ctr", "b", "a"]
    assert [p for p in os.listdir(sn.root) if p.isdigit()] == []


def test_gc_walks_manifest_children(world: World) -> None:
    layer = world.content.write_blob(b"l")
    config = world.content.write_blob(b"{}")
    manifest = world.content.write_blob(json.dumps({
        "config": {"digest": str(config)}, "layers": [{"digest": str(layer)}]}).encode())
    index = world.content.write_blob(json.dumps({"manifests": [{"digest": str(manifest)}]}).encode())
    world.content.set_index([{"digest": str(index), "size": 1, "mediaType": "x"}])
    assert collect(world.md, world.content, world.snapshots).removed_blobs == []
    world.content.set_index([])
    assert sorted(collect(world.md, world.content, world.snapshots).removed_blobs) == sorted(
        str(d) for d in (layer, config, manifest, index))


def test_leases_protect_until_released(world: World) -> None:
    leases = LeaseManager(world.md)
    with leases.temporary() as lease:
        d = world.content.write_blob(b"downloading")
        lease.add("content", str(d))
        world.snapshots.prepare("extract")
        lease.add("snapshot", "extract")
        result = collect(world.md, world.content, world.snapshots)
        assert result.removed_blobs == [] and result.removed_snapshots == []
    assert world.md.list_leases() == []
    result = collect(world.md, world.content, world.snapshots)
    assert result.removed_blobs == [str(d)] and result.removed_snapshots == ["extract"]


def test_expired_leases_are_dropped_first(world: World) -> None:
    leases = LeaseManager(world.md)
    lease = leases.create(expire_after=10)
    d = world.content.write_blob(b"x")
    lease.add("content", str(d))
    assert collect(world.md, world.content, world.snapshots, now=time.time()).removed_blobs == []
    result = collect(world.md, world.content, world.snapshots, now=time.time() + 11)
    assert result.expired_leases == [lease.id] and result.removed_blobs == [str(d)]


def test_old_ingests_dropped_unless_leased(world: World) -> None:
    for ref in ("old", "leased", "fresh"):
        w = world.content.writer(ref)
        w.write(b"partial")
        w.close()
    lease = LeaseManager(world.md).create(expire_after=None)
    lease.add("ingest", "leased")
    later = time.time() + INGEST_MAX_AGE + 10
    for ref in ("old", "leased"):
        # age them: gc looks at the ingest's update time
        status_dir = world.content.ingest_root
        for name in os.listdir(status_dir):
            if (status_dir / name / "ref").read_text() == ref:
                os.utime(status_dir / name / "data", (0, 0))
                (status_dir / name / "updatedat").write_text("0")
    result = collect(world.md, world.content, world.snapshots, now=later - INGEST_MAX_AGE + 5)
    assert result.removed_ingests == ["old"]
    assert sorted(i.ref for i in world.content.ingests()) == ["fresh", "leased"]


def test_gc_keeps_image_record_digests_without_refs(world: World) -> None:
    img = add_image(world, "alpine")
    world.md.delete_refs("image", img.record.id)
    result = collect(world.md, world.content, world.snapshots)
    # manifest and config are named by the record; the layer is reached through the manifest
    assert result.removed_blobs == []
    assert result.removed_snapshots == [img.snapshot]
    assert Digest.parse(img.record.config_digest) == img.config
