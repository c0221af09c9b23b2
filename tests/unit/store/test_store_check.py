from __future__ import annotations

import shutil

from store_fixtures import World, add_image

from dockyard.store.check import (
    CORRUPT_BLOB,
    DANGLING_REPO_DIGEST,
    DANGLING_TAG,
    MISSING_CONTENT,
    MISSING_SNAPSHOT,
    ORPHAN_BLOB,
    ORPHAN_SNAPSHOT_DIR,
    SNAPSHOT_DIR_MISSING,
    Problem,
    check,
    repair,
)


def kinds(problems: list[Problem]) -> set[tuple[str, str]]:
    return {(p.kind, p.subject) for p in problems}


def test_clean_store_has_no_problems(world: World) -> None:
    add_image(world, "busybox")
    assert check(world.md, world.content, world.snapshots, verify_content=True) == []


def test_check_finds_and_repair_fixes_everything(world: World) -> None:
    good = add_image(world, "good", b"good-layer")
    lost_blob = add_image(world, "lostblob", b"lost-layer")
    lost_snap = add_image(world, "lostsnap", b"snap-layer")
    corrupt = add_image(world, "corrupt", b"corrupt-layer")

    world.content.delete(lost_blob.config)
    shutil.rmtree(world.snapshots.snapshot_dir(world.snapshots.stat(lost_snap.snapshot).id))
    world.content.path(corrupt.layer).write_bytes(b"flipped bits")
    orphan = world.content.write_blob(b"nobody wants me")
    world.md.set_tag("docker.io/library/ghost:latest", "sha256:" + "0" * 64)
    world.md.add_repo_digest("docker.io/library/ghost@sha256:" + "1" * 64, "sha256:" + "0" * 64)
    (world.snapshots.root / "4242" / "fs").mkdir(parents=True)
    world.md.set_refs("container", "c1", [("snapshot", "no-such-snapshot")])

    found = kinds(check(world.md, world.content, world.snapshots, verify_content=True))
    assert (MISSING_CONTENT, str(lost_blob.config)) in found
    assert (SNAPSHOT_DIR_MISSING, lost_snap.snapshot) in found
    assert (CORRUPT_BLOB, str(corrupt.layer)) in found
    assert (ORPHAN_BLOB, str(orphan)) in found
    assert (DANGLING_TAG, "docker.io/library/ghost:latest") in found
    assert (DANGLING_REPO_DIGEST, "docker.io/library/ghost@sha256:" + "1" * 64) in found
    assert (ORPHAN_SNAPSHOT_DIR, str(world.snapshots.root / "4242")) in found
    assert (MISSING_SNAPSHOT, "no-such-snapshot") in found
    # hashing is optional
    assert (CORRUPT_BLOB, str(corrupt.layer)) not in kinds(check(world.md, world.content, world.snapshots))

    fixed = repair(world.md, world.content, world.snapshots)
    assert kinds(fixed) == found
    assert check(world.md, world.content, world.snapshots, verify_content=True) == []

    # the healthy image survived; the broken ones are gone with their tags
    assert world.md.get_image(good.record.id) == good.record
    assert world.md.all_tags() == {"docker.io/library/good:latest": good.record.id}
    for broken in (lost_blob, lost_snap, corrupt):
        assert world.md.find_image(broken.record.id) is None
    assert not world.content.exists(orphan)
    assert not (world.snapshots.root / "4242").exists()
    assert world.md.refs_of("container", "c1") == []
    assert world.content.read_bytes(good.layer) == b"good-layer"
    assert (world.snapshots.snapshot_dir(world.snapshots.stat(good.snapshot).id) / "fs" / "file").read_bytes() == b"good-layer"
