"""Bad input to the image service: every failure is a clear error and leaves the store as it was."""

from __future__ import annotations

import dataclasses
import io
import json
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from busybox_image import busybox_archive

from dockyard.errors import Conflict, DockyardError, FailedPrecondition, InvalidArgument, NotFound
from dockyard.image.archive_io import ArchiveIO, InvalidArchive
from dockyard.image.importer import import_rootfs
from dockyard.image.service import ImageService
from dockyard.oci.digest import DigestMismatch
from dockyard.store import gc
from dockyard.store.check import check
from dockyard.store.content import LocalContentStore
from dockyard.store.leases import LeaseManager
from dockyard.store.metadata import MetadataStore
from dockyard.store.snapshots import NativeSnapshotter


@dataclass
class Stack:
    metadata: MetadataStore
    content: LocalContentStore
    snapshotter: NativeSnapshotter
    service: ImageService
    leases: LeaseManager
    archives: ArchiveIO

    def state(self) -> tuple[object, ...]:
        """What users see of the store: images, tags, repo digests, blobs, index.json."""
        return (
            sorted(rec.id for rec in self.metadata.list_images()),
            sorted(self.metadata.all_tags().items()),
            sorted(self.metadata.all_repo_digests().items()),
            sorted(str(d) for d in self.content.digests()),
            self.content.get_index(),
        )

    def check(self) -> list[object]:
        return list(check(self.metadata, self.content, self.snapshotter, verify_content=True))

    def ingests(self) -> list[str]:
        return [i.ref for i in self.content.ingests()]


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    metadata = MetadataStore(tmp_path / "metadata.db")
    content = LocalContentStore(tmp_path / "content")
    snapshotter = NativeSnapshotter(tmp_path / "snapshots", metadata)
    service = ImageService(metadata=metadata, content=content, snapshotter=snapshotter)
    leases = LeaseManager(metadata)
    try:
        yield Stack(metadata, content, snapshotter, service, leases, ArchiveIO(service, leases))
    finally:
        metadata.close()


@pytest.fixture
def loaded(stack: Stack) -> Stack:
    """A store holding busybox:latest (2 layers), so "unchanged" means something."""
    with open(busybox_archive(layers=2), "rb") as f:
        stack.archives.load(f)
    assert stack.check() == []
    return stack


def rewrite(archive: Path, edit: Callable[[str, bytes], bytes | None]) -> bytes:
    """A copy of the tarball with each regular file passed through ``edit`` (None drops it)."""
    out = io.BytesIO()
    with tarfile.open(archive) as src, tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as dst:
        for member in src:
            if not member.isfile():
                dst.addfile(member)
                continue
            f = src.extractfile(member)
            assert f is not None
            data = edit(member.name, f.read())
            if data is None:
                continue
            member.size = len(data)
            dst.addfile(member, io.BytesIO(data))
    return out.getvalue()


def assert_failed_cleanly(stack: Stack, before: tuple[object, ...]) -> None:
    # The failed load committed some blobs under its lease before failing; the lease is gone now,
    # so they are garbage: collect them (the daemon does this on the next prune, rmi or restart).
    gc.collect(stack.metadata, stack.content, stack.snapshotter)
    assert stack.check() == []
    assert stack.state() == before
    assert stack.metadata.list_leases() == []
    # An archive is streamed once and never resumed: no partial ingest may stay behind.
    assert stack.ingests() == []


# ---- references ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "message"), [
    ("Busybox", "invalid reference format: repository name (library/Busybox) must be lowercase"),
    ("UPPER:1", "must be lowercase"),
    ("a b", "invalid reference format"),
    ("busybox:bad tag", "invalid reference format"),
    ("-leading-dash", "invalid reference format"),
    ("a:b:c", "invalid reference format"),
    ("busybox@sha256:abc", "invalid"),
])
def test_malformed_references_are_invalid_arguments(loaded: Stack, text: str, message: str) -> None:
    before = loaded.state()
    with pytest.raises(InvalidArgument, match=".*".join(map(_re, message.split(" ")))):
        loaded.service.tag("busybox:latest", text)
    with pytest.raises(InvalidArgument, match=_re(message.split(":")[0])):
        import_rootfs(loaded.service, loaded.leases, io.BytesIO(b""), repo_tag=text)
    assert loaded.state() == before
    assert loaded.check() == []
    assert loaded.ingests() == []


def _re(text: str) -> str:
    import re

    return re.escape(text)


def test_resolving_a_malformed_reference_is_invalid_not_missing(loaded: Stack) -> None:
    with pytest.raises(InvalidArgument, match="invalid reference format"):
        loaded.service.resolve("a b")
    with pytest.raises(InvalidArgument, match="must be lowercase"):
        loaded.service.remove("Busybox")
    with pytest.raises(NotFound, match="No such image: nothere:latest"):
        loaded.service.remove("nothere")


def test_tag_with_digest_is_refused(loaded: Stack) -> None:
    with pytest.raises(InvalidArgument, match="refusing to create a tag with a digest reference"):
        loaded.service.tag("busybox:latest", "x@sha256:" + "a" * 64)


# ---- archives -----------------------------------------------------------------------------------


def test_truncated_archive(loaded: Stack) -> None:
    before = loaded.state()
    data = busybox_archive(layers=3, tags=("other:1",)).read_bytes()
    with pytest.raises(InvalidArgument, match="invalid archive"):
        loaded.archives.load(io.BytesIO(data[: len(data) // 2]))
    assert_failed_cleanly(loaded, before)


def test_archive_that_is_not_a_tar(loaded: Stack) -> None:
    before = loaded.state()
    with pytest.raises(InvalidArgument, match="invalid archive"):
        loaded.archives.load(io.BytesIO(b"this is not a tarball at all\n" * 100))
    with pytest.raises(InvalidArgument, match="no manifest.json or index.json"):
        loaded.archives.load(io.BytesIO(rewrite(busybox_archive(), lambda name, data: (
            None if name in ("manifest.json", "index.json") else data))))
    assert_failed_cleanly(loaded, before)


def test_diff_id_mismatch(loaded: Stack) -> None:
    before = loaded.state()

    def corrupt(name: str, data: bytes) -> bytes:
        if name.endswith(".json") and name not in ("manifest.json", "repositories"):
            config = json.loads(data)
            if "rootfs" in config:
                config["rootfs"]["diff_ids"][0] = "sha256:" + "0" * 64
                return json.dumps(config).encode()
        return data

    archive = rewrite(busybox_archive(layers=3, tags=("other:1",)), corrupt)
    with pytest.raises(DigestMismatch) as raised:
        loaded.archives.load(io.BytesIO(archive))
    assert isinstance(raised.value, FailedPrecondition)
    assert f"expected sha256:{'0' * 64}" in str(raised.value)
    assert_failed_cleanly(loaded, before)


def test_manifest_naming_a_missing_layer(loaded: Stack) -> None:
    before = loaded.state()

    def drop_layer(name: str, data: bytes) -> bytes | None:
        if name == "manifest.json":
            entries = json.loads(data)
            entries[0]["Layers"][1] = "0" * 64 + "/layer.tar"
            return json.dumps(entries).encode()
        return data

    archive = rewrite(busybox_archive(layers=3, tags=("other:1",)), drop_layer)
    with pytest.raises(InvalidArchive, match=f"layer {'0' * 64}/layer.tar is missing"):
        loaded.archives.load(io.BytesIO(archive))
    assert_failed_cleanly(loaded, before)


def test_manifest_with_wrong_layer_count(loaded: Stack) -> None:
    before = loaded.state()

    def extra_layer(name: str, data: bytes) -> bytes | None:
        if name == "manifest.json":
            entries = json.loads(data)
            entries[0]["Layers"].append(entries[0]["Layers"][0])
            return json.dumps(entries).encode()
        return data

    with pytest.raises(InvalidArchive, match="4 layers listed but the config names 3 diff IDs"):
        loaded.archives.load(io.BytesIO(rewrite(busybox_archive(layers=3, tags=("other:1",)), extra_layer)))
    assert_failed_cleanly(loaded, before)


@pytest.mark.parametrize("which", ["small", "layer"])
def test_oci_blob_not_hashing_to_its_name(loaded: Stack, which: str) -> None:
    before = loaded.state()
    archive = busybox_archive(fmt="oci-archive", layers=3, tags=("other:1",), pad_mb=2 if which == "layer" else 0)
    sizes: dict[str, int] = {}
    with tarfile.open(archive) as tar:
        for m in tar:
            if m.isfile() and m.name.startswith("blobs/sha256/"):
                sizes[m.name] = m.size
    # The biggest blob is a layer (streamed through an ingest); the smallest is a config/manifest.
    victim = max(sizes, key=sizes.__getitem__) if which == "layer" else min(sizes, key=sizes.__getitem__)

    def flip(name: str, data: bytes) -> bytes:
        if name != victim:
            return data
        return data[:-1] + bytes([data[-1] ^ 0xFF])

    with pytest.raises(DigestMismatch, match=f"digest mismatch: expected sha256:{victim.rsplit('/', 1)[1]}"):
        loaded.archives.load(io.BytesIO(rewrite(archive, flip)))
    assert_failed_cleanly(loaded, before)


def test_import_of_a_broken_tar(loaded: Stack) -> None:
    before = loaded.state()
    data = busybox_archive(layers=1).read_bytes()
    with pytest.raises(InvalidArgument, match="invalid tar archive"):
        import_rootfs(loaded.service, loaded.leases, io.BytesIO(data[: len(data) // 3 + 7]),
                      repo_tag="imported:1")
    assert_failed_cleanly(loaded, before)


# ---- removal conflicts --------------------------------------------------------------------------


def test_removing_by_id_an_image_tagged_in_two_repositories_must_be_forced(loaded: Stack) -> None:
    svc = loaded.service
    image_id = svc.resolve("busybox:latest").id
    svc.tag("busybox:latest", "mirror/busybox:1")
    before = loaded.state()
    with pytest.raises(Conflict) as raised:
        svc.remove(image_id[7:19])
    assert str(raised.value) == (f"conflict: unable to delete {image_id[7:19]} (must be forced) - "
                                 "image is referenced in multiple repositories")
    assert loaded.state() == before
    # By name only the one reference goes.
    records = svc.remove("mirror/busybox:1")
    assert [r.untagged for r in records] == ["mirror/busybox:1"]
    assert svc.resolve("busybox:latest").id == image_id
    # Forced, by ID, everything goes.
    svc.tag("busybox:latest", "mirror/busybox:1")
    records = svc.remove(image_id, force=True)
    assert {r.untagged for r in records if r.untagged} == {"busybox:latest", "mirror/busybox:1"}
    assert image_id in {r.deleted for r in records}
    assert loaded.metadata.list_images() == []
    assert list(loaded.content.digests()) == []
    assert loaded.check() == []


def test_two_tags_in_one_repository_need_no_force(loaded: Stack) -> None:
    svc = loaded.service
    image_id = svc.resolve("busybox:latest").id
    svc.tag("busybox:latest", "busybox:other")
    records = svc.remove(image_id)
    assert {r.untagged for r in records if r.untagged} == {"busybox:latest", "busybox:other"}
    assert image_id in {r.deleted for r in records}
    assert loaded.check() == []


def test_removing_a_parent_with_a_child_cannot_be_forced(loaded: Stack) -> None:
    svc, md = loaded.service, loaded.metadata
    parent_id = svc.resolve("busybox:latest").id
    with open(busybox_archive(layers=3, tags=("child:1",)), "rb") as f:
        loaded.archives.load(f)
    child = svc.resolve("child:1")
    assert child.id != parent_id
    md.put_image(dataclasses.replace(child, parent=parent_id))
    assert [r.id for r in md.children_of(parent_id)] == [child.id]
    svc.tag("busybox:latest", "busybox:keep")
    before = loaded.state()
    message = (f"conflict: unable to delete {parent_id[7:19]} (cannot be forced) - "
               "image has dependent child images")
    for force in (False, True):
        with pytest.raises(Conflict) as raised:
            svc.remove(parent_id, force=force)
        assert str(raised.value) == message
        assert loaded.state() == before
    # By name the tags go but the image stays, as an untagged parent (hidden from `docker images`).
    svc.remove("busybox:latest")
    assert [r.untagged for r in svc.remove("busybox:keep")] == ["busybox:keep"]
    assert md.find_image(parent_id) is not None
    assert parent_id not in {v.id for v in svc.list_images()}
    assert parent_id in {v.id for v in svc.list_images(all_images=True)}
    assert loaded.check() == []
    # Removing the child then prunes the untagged parent too.
    records = svc.remove("child:1")
    assert {child.id, parent_id} <= {r.deleted for r in records}
    assert md.list_images() == []
    assert list(loaded.content.digests()) == []
    assert loaded.check() == []


def test_errors_are_dockyard_errors_with_plain_messages(loaded: Stack) -> None:
    for bad in (b"", b"\0" * 1024):
        with pytest.raises(DockyardError) as raised:
            loaded.archives.load(io.BytesIO(bad))
        assert "Traceback" not in str(raised.value) and str(raised.value)
