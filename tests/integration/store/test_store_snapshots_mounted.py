"""Snapshotter conformance through real mounts (overlayfs and bind), run against both snapshotters."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from dockyard.errors import Conflict
from dockyard.store.metadata import MetadataStore
from dockyard.store.mount import Mount, mount_all, unmount
from dockyard.store.snapshots import NativeSnapshotter, OverlaySnapshotter, Snapshotter
from dockyard.sys import mount as sysmount

pytestmark = pytest.mark.root


@pytest.fixture
def md(tmp_path: Path) -> Iterator[MetadataStore]:
    store = MetadataStore(tmp_path / "metadata.db")
    yield store
    store.close()


@pytest.fixture(params=["overlay", "native"])
def snapshotter(request: pytest.FixtureRequest, tmp_path: Path, md: MetadataStore) -> Snapshotter:
    cls = OverlaySnapshotter if request.param == "overlay" else NativeSnapshotter
    return cls(tmp_path / "snapshots", md)


class Mounted:
    """Mount a snapshot on a fresh directory for the duration of a with-block."""

    def __init__(self, mounts: list[Mount], target: Path) -> None:
        self.mounts, self.target = mounts, target

    def __enter__(self) -> Path:
        self.target.mkdir(parents=True, exist_ok=True)
        mount_all(self.mounts, str(self.target))
        return self.target

    def __exit__(self, *exc: object) -> None:
        unmount(str(self.target))


def delete_path(sn: Snapshotter, upper: Path, name: str) -> None:
    """Record a deletion in a layer the way the archive package would for this snapshotter."""
    if sn.whiteout_mode == "overlay":
        os.mknod(upper / name, 0o600 | 0o020000, os.makedev(0, 0))
    else:
        target = upper / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink()


def test_overlay_supported(tmp_path: Path) -> None:
    assert OverlaySnapshotter.supported(tmp_path / "probe")
    assert [p for p in os.listdir(tmp_path / "probe")] == []


def test_chain_of_three_with_whiteouts(snapshotter: Snapshotter, tmp_path: Path) -> None:
    sn = snapshotter
    with Mounted(sn.prepare("e1"), tmp_path / "m1") as m:
        (m / "a").write_text("a1")
        (m / "b").write_text("b1")
        (m / "dir").mkdir()
        (m / "dir" / "x").write_text("x")
    sn.commit("l1", "e1")

    # layer 2 applied straight into the upper dir, with a deletion of "b"
    sn.prepare("e2", "l1")
    up = sn.upper_path("e2")
    (up / "a").write_text("a2")
    delete_path(sn, up, "b")
    sn.commit("l2", "e2")

    with Mounted(sn.prepare("e3", "l2"), tmp_path / "m3") as m:
        assert (m / "a").read_text() == "a2"
        assert not (m / "b").exists()
        (m / "c").write_text("c3")
        os.unlink(m / "dir" / "x")
    sn.commit("l3", "e3")

    with Mounted(sn.view("v", "l3"), tmp_path / "view") as v:
        assert sorted(os.listdir(v)) == ["a", "c", "dir"]
        assert os.listdir(v / "dir") == []
        assert (v / "c").read_text() == "c3"
        with pytest.raises(OSError):
            (v / "new").write_text("nope")

    with Mounted(sn.prepare("ctr", "l3"), tmp_path / "ctr") as c:
        (c / "rw").write_text("container")
        assert (c / "a").read_text() == "a2"
    # overlay counts only the container's own layer; a native snapshot is a full copy (a2 + c3 + rw)
    assert sn.usage("ctr").size == (len("container") if sn.whiteout_mode == "overlay" else 13)
    # the committed layers were not changed by the container
    with Mounted(sn.view("v1", "l1"), tmp_path / "v1") as v1:
        assert sorted(os.listdir(v1)) == ["a", "b", "dir"]
        assert (v1 / "a").read_text() == "a1"

    with pytest.raises(Conflict):
        sn.remove("l2")
    for key in ("ctr", "v", "v1", "l3", "l2", "l1"):
        sn.remove(key)
    assert list(sn.walk()) == []


def test_view_of_single_layer_is_readonly_bind(snapshotter: Snapshotter, tmp_path: Path) -> None:
    sn = snapshotter
    sn.prepare("e")
    (sn.upper_path("e") / "f").write_text("1")
    sn.commit("l", "e")
    with Mounted(sn.view("v", "l"), tmp_path / "v") as v:
        assert (v / "f").read_text() == "1"
        with pytest.raises(OSError):
            (v / "g").write_text("x")


def test_150_layers_beyond_one_page(tmp_path: Path, md: MetadataStore) -> None:
    root = tmp_path / ("long-directory-name-" * 8) / "snapshots"
    sn = OverlaySnapshotter(root, md)
    parent: str | None = None
    for i in range(150):
        key = f"extract-{i}"
        sn.prepare(key, parent)
        (sn.upper_path(key) / f"file{i}").write_text(str(i))
        sn.commit(f"layer-{i}", key)
        parent = f"layer-{i}"
    (m,) = sn.prepare("ctr", parent)
    (lower_opt,) = [o for o in m.options if o.startswith("lowerdir=")]
    assert len(sysmount.overlay_options(lower_opt.split("=", 1)[1].split(":"))) > 4096
    with Mounted([m], tmp_path / "merged") as merged:
        assert (merged / "file0").read_text() == "0"
        assert (merged / "file149").read_text() == "149"
        assert len(os.listdir(merged)) == 150
    (v,) = sn.view("view", parent)
    with Mounted([v], tmp_path / "view") as view:
        assert (view / "file0").read_text() == "0"


def test_mount_all_bind_and_unmount_idempotent(tmp_path: Path) -> None:
    src, target = tmp_path / "src", tmp_path / "target"
    src.mkdir()
    target.mkdir()
    (src / "f").write_text("x")
    mount_all([Mount("bind", str(src), ("ro", "rbind"))], str(target))
    try:
        assert (target / "f").read_text() == "x"
        with pytest.raises(OSError):
            (target / "g").write_text("y")
    finally:
        unmount(str(target))
    unmount(str(target))  # not mounted any more: fine
    assert not os.path.ismount(target)


def test_mount_errors_carry_errno_and_path(tmp_path: Path) -> None:
    with pytest.raises(OSError) as info:
        sysmount.mount_overlay(str(tmp_path / "missing-target"), lowerdirs=[str(tmp_path / "a"), str(tmp_path / "b")],
                               upperdir=None, workdir=None)
    assert info.value.errno is not None
    assert info.value.filename == str(tmp_path / "missing-target")
