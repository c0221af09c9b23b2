"""Snapshotter behaviour that needs no mounts: records, directories, usage, cleanup."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import AlreadyExists, Conflict, FailedPrecondition, NotFound
from dockyard.store.metadata import MetadataStore
from dockyard.store.mount import Mount
from dockyard.store.snapshots import NativeSnapshotter, OverlaySnapshotter, Snapshotter, Usage


@pytest.fixture
def md(tmp_path: Path) -> Iterator[MetadataStore]:
    store = MetadataStore(tmp_path / "metadata.db")
    yield store
    store.close()


@pytest.fixture(params=["overlay", "native"])
def snapshotter(request: pytest.FixtureRequest, tmp_path: Path, md: MetadataStore) -> Snapshotter:
    cls = OverlaySnapshotter if request.param == "overlay" else NativeSnapshotter
    return cls(tmp_path / "snapshots", md)


def test_prepare_commit_stat_walk(snapshotter: Snapshotter) -> None:
    mounts = snapshotter.prepare("extract-1", labels={"containerd.io/gc.root": "x"})
    assert len(mounts) == 1 and mounts[0].type == "bind" and "rw" in mounts[0].options
    upper = snapshotter.upper_path("extract-1")
    (upper / "hello").write_text("hi")
    snapshotter.commit("layer1", "extract-1")
    info = snapshotter.stat("layer1")
    assert info.kind == "committed" and info.parent == "" and info.labels == {"containerd.io/gc.root": "x"}
    with pytest.raises(NotFound):
        snapshotter.stat("extract-1")
    with pytest.raises(FailedPrecondition):
        snapshotter.upper_path("layer1")
    with pytest.raises(FailedPrecondition):
        snapshotter.mounts("layer1")
    assert [i.key for i in snapshotter.walk()] == ["layer1"]
    usage = snapshotter.usage("layer1")
    assert usage.size == 2 and usage.inodes == 1


def test_chain_and_remove_conflict(snapshotter: Snapshotter) -> None:
    snapshotter.prepare("a-tmp")
    snapshotter.commit("a", "a-tmp")
    snapshotter.prepare("b-tmp", "a")
    snapshotter.commit("b", "b-tmp")
    snapshotter.prepare("ctr", "b")
    assert snapshotter.stat("ctr").parent == "b"
    with pytest.raises(AlreadyExists):
        snapshotter.prepare("ctr", "b")
    with pytest.raises(Conflict):
        snapshotter.remove("a")
    with pytest.raises(FailedPrecondition):
        snapshotter.prepare("bad", "ctr")  # parent must be committed
    snapshotter.remove("ctr")
    snapshotter.remove("b")
    snapshotter.remove("a")
    assert list(snapshotter.walk()) == []
    assert [p for p in os.listdir(snapshotter.root) if p.isdigit()] == []


def test_cleanup_removes_dirs_without_records(snapshotter: Snapshotter) -> None:
    snapshotter.prepare("keep")
    stray = snapshotter.root / "999"
    (stray / "fs").mkdir(parents=True)
    (snapshotter.root / "notours").mkdir()
    removed = snapshotter.cleanup()
    assert removed == [stray]
    assert not stray.exists() and (snapshotter.root / "notours").exists()
    assert snapshotter.upper_path("keep").is_dir()


def test_overlay_mount_specs(tmp_path: Path, md: MetadataStore) -> None:
    sn = OverlaySnapshotter(tmp_path / "s", md)
    assert sn.whiteout_mode == "overlay"
    sn.prepare("1")
    sn.commit("l1", "1")
    sn.prepare("2", "l1")
    sn.commit("l2", "2")
    (m,) = sn.prepare("ctr", "l2")
    l1, l2 = (str(sn.snapshot_dir(sn.stat(k).id) / "fs") for k in ("l1", "l2"))
    assert m == Mount("overlay", "overlay", (
        f"lowerdir={l2}:{l1}",
        f"upperdir={sn.upper_path('ctr')}",
        f"workdir={sn.snapshot_dir(sn.stat('ctr').id) / 'work'}",
    ))
    assert sn.mounts("ctr") == [m]
    (v1,) = sn.view("v1", "l1")
    assert v1 == Mount("bind", l1, ("ro", "rbind"))
    (v2,) = sn.view("v2", "l2")
    assert v2 == Mount("overlay", "overlay", (f"lowerdir={l2}:{l1}",))


def test_native_copies_parent_with_hardlinks(tmp_path: Path, md: MetadataStore) -> None:
    sn = NativeSnapshotter(tmp_path / "s", md)
    assert sn.whiteout_mode == "delete"
    sn.prepare("1")
    up = sn.upper_path("1")
    (up / "dir").mkdir()
    (up / "dir" / "a").write_text("data")
    os.link(up / "dir" / "a", up / "b")
    os.symlink("dir/a", up / "link")
    os.mkfifo(up / "fifo")
    os.chmod(up / "dir" / "a", 0o640)
    os.utime(up / "dir", (1000, 1000))
    sn.commit("l1", "1")
    sn.prepare("2", "l1")
    up2 = sn.upper_path("2")
    assert (up2 / "dir" / "a").read_text() == "data"
    assert os.stat(up2 / "dir" / "a").st_ino == os.stat(up2 / "b").st_ino
    assert os.stat(up2 / "dir" / "a").st_ino != os.stat(up / "dir" / "a").st_ino
    assert os.readlink(up2 / "link") == "dir/a"
    assert (os.stat(up2 / "dir" / "a").st_mode & 0o777) == 0o640
    assert os.stat(up2 / "dir").st_mtime == 1000
    assert os.path.exists(up2 / "fifo")
    # deleting in the child does not touch the parent
    (up2 / "b").unlink()
    assert (up / "b").exists()
    # dir, a (= b, counted once), link, fifo; bytes: "data" + the link target "dir/a"
    assert sn.usage("l1") == Usage(size=9, inodes=4)
    (v,) = sn.view("v", "l1")
    assert v.type == "bind" and "ro" in v.options
