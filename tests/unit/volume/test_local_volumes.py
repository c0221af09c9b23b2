"""The local volume driver on a real metadata store and directory tree."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.store.metadata import MetadataStore
from dockyard.volume.local import ANONYMOUS_LABEL, LocalVolumes


@pytest.fixture
def vols(tmp_path: Path) -> LocalVolumes:
    return LocalVolumes(MetadataStore(tmp_path / "metadata.db"), tmp_path / "volumes")


def test_named_volume_is_made_once(vols: LocalVolumes) -> None:
    rec, created = vols.create("data", labels={"a": "b"})
    assert created and rec.labels == {"a": "b"} and vols.path("data").is_dir()
    again, created_again = vols.create("data", labels={"other": "x"})
    assert not created_again and again.labels == {"a": "b"}
    assert oct(vols.path("data").stat().st_mode & 0o777) == "0o755"


def test_anonymous_volume_has_a_random_name_and_the_label(vols: LocalVolumes) -> None:
    rec, created = vols.create(anonymous=True)
    assert created and len(rec.name) == 64 and ANONYMOUS_LABEL in rec.labels
    unnamed, _ = vols.create()  # `volume create` without a name: a random name, not anonymous
    assert len(unnamed.name) == 64 and ANONYMOUS_LABEL not in unnamed.labels


@pytest.mark.parametrize("name", ["a", "bad name", "-x", "a/b", "../x"])
def test_names_outside_dockerd_s_pattern_are_refused(vols: LocalVolumes, name: str) -> None:
    with pytest.raises(InvalidArgument):
        vols.create(name)


def test_unknown_driver_and_options(vols: LocalVolumes) -> None:
    with pytest.raises(NotFound):
        vols.create("x1", driver="nfs")
    with pytest.raises(InvalidArgument) as info:
        vols.create("x1", options={"foo": "bar"})
    assert str(info.value) == 'create x1: invalid option: "foo"'
    with pytest.raises(InvalidArgument):
        vols.create("x1", options={"type": "ext4"})  # a device to mount is needed
    assert vols.all() == []
    rec, _ = vols.create("x2", options={"type": "tmpfs", "device": "tmpfs", "o": "size=1m"})
    assert rec.options == {"type": "tmpfs", "device": "tmpfs", "o": "size=1m"}


def test_a_volume_in_use_is_not_removed(vols: LocalVolumes) -> None:
    vols.create("used")
    vols.metadata.set_refs("container", "c1", [("volume", "used")])
    with pytest.raises(Conflict) as info:
        vols.remove("used")
    assert str(info.value) == "remove used: volume is in use - [c1]"
    vols.metadata.delete_refs("container", "c1")
    vols.remove("used")
    assert not (vols.root / "used").exists() and vols.metadata.find_volume("used") is None
    with pytest.raises(NotFound):
        vols.remove("used")
    vols.remove("used", force=True)


def test_copy_up_fills_only_an_empty_volume(vols: LocalVolumes, tmp_path: Path) -> None:
    source = tmp_path / "image-etc"
    (source / "sub").mkdir(parents=True)
    (source / "passwd").write_text("root\n")
    os.chmod(source, 0o750)
    vols.create("etc")
    assert vols.copy_up("etc", str(source))
    assert (vols.path("etc") / "passwd").read_text() == "root\n" and (vols.path("etc") / "sub").is_dir()
    assert oct(vols.path("etc").stat().st_mode & 0o777) == "0o750"  # the mount point's mode
    (source / "new").write_text("x")
    assert not vols.copy_up("etc", str(source))  # not empty any more: left alone
    assert not (vols.path("etc") / "new").exists()
    vols.create("none")
    assert not vols.copy_up("none", str(tmp_path / "missing"))
    assert vols.usage("etc") == len("root\n")
