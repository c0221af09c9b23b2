"""Unpacking loaded and imported images into snapshots, through both snapshotters and real mounts."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from busybox_image import busybox_archive

from dockyard.archive.errors import UnsafeLayer
from dockyard.errors import InvalidArgument
from dockyard.image.archive_io import ArchiveIO
from dockyard.image.importer import import_rootfs
from dockyard.image.service import ImageService
from dockyard.image.unpack import unpack
from dockyard.oci.digest import Digest, DigestMismatch
from dockyard.oci.image import chain_ids
from dockyard.store.check import check
from dockyard.store.content import LocalContentStore
from dockyard.store.leases import LeaseManager
from dockyard.store.metadata import MetadataStore
from dockyard.store.mount import mount_all, unmount
from dockyard.store.snapshots import NativeSnapshotter, OverlaySnapshotter
from dockyard.store.snapshots.base import KIND_COMMITTED, Snapshotter

pytestmark = pytest.mark.root

DOOMED = "etc/removed-by-whiteout"


@dataclass
class Stack:
    metadata: MetadataStore
    content: LocalContentStore
    snapshotter: Snapshotter
    service: ImageService
    leases: LeaseManager
    archives: ArchiveIO
    root: Path

    def snapshot_keys(self) -> set[str]:
        return {info.key for info in self.snapshotter.walk()}

    def snapshot_dirs(self) -> set[str]:
        return {name for name in os.listdir(self.snapshotter.root) if name.isdigit()}


@pytest.fixture(params=["overlay", "native"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Stack]:
    metadata = MetadataStore(tmp_path / "data" / "metadata.db")
    content = LocalContentStore(tmp_path / "data" / "content")
    cls = OverlaySnapshotter if request.param == "overlay" else NativeSnapshotter
    snapshotter = cls(tmp_path / "data" / "snapshots", metadata)
    service = ImageService(metadata=metadata, content=content, snapshotter=snapshotter)
    leases = LeaseManager(metadata)
    try:
        yield Stack(metadata, content, snapshotter, service, leases, ArchiveIO(service, leases), tmp_path)
    finally:
        metadata.close()


def load_busybox(stack: Stack, layers: int = 3) -> str:
    archive = busybox_archive(layers=layers)
    with open(archive, "rb") as f:
        loaded = stack.archives.load(f)
    assert [img.tag for img in loaded] == ["busybox:latest"]
    return loaded[0].image_id


def top_chain(stack: Stack, ref: str) -> list[str]:
    config = stack.service.config_of(stack.service.resolve(ref))
    return [str(c) for c in chain_ids(list(config.diff_ids))]


class View:
    """Mount a read-only view of a committed snapshot for the duration of a with-block."""

    def __init__(self, stack: Stack, parent: str) -> None:
        self.stack, self.parent = stack, parent
        self.key = f"view-{os.urandom(4).hex()}"
        self.target = stack.root / "mnt" / self.key

    def __enter__(self) -> Path:
        mounts = self.stack.snapshotter.view(self.key, self.parent)
        self.target.mkdir(parents=True)
        try:
            mount_all(mounts, str(self.target))
        except BaseException:
            self.stack.snapshotter.remove(self.key)
            raise
        return self.target

    def __exit__(self, *exc: object) -> None:
        unmount(str(self.target))
        self.target.rmdir()
        self.stack.snapshotter.remove(self.key)


def test_unpack_three_layers_and_mount_the_merged_view(stack: Stack) -> None:
    load_busybox(stack, layers=4)
    chains = top_chain(stack, "busybox:latest")
    assert len(chains) == 4
    top = unpack(stack.service, stack.leases, "busybox:latest")
    assert top == chains[-1]
    for chain in chains:
        assert stack.snapshotter.stat(chain).kind == KIND_COMMITTED
    # The extraction keys are gone: only the committed chain remains.
    assert stack.snapshot_keys() == set(chains)
    # Nothing is left leased after the unpack.
    assert stack.metadata.list_leases() == []
    with View(stack, top) as root:
        busybox = root / "bin" / "busybox"
        assert busybox.is_file() and os.access(busybox, os.X_OK)
        assert busybox.stat().st_size > 100_000
        assert os.readlink(root / "bin" / "sh") == "/bin/busybox"
        assert (root / "etc" / "passwd").read_text().startswith("root:x:0:0:")
        assert not (root / DOOMED).exists() and not os.path.lexists(root / DOOMED)
        assert not (root / "etc" / (".wh." + os.path.basename(DOOMED))).exists()
        assert (root / "etc" / "layer-4").read_text() == "4\n"
    # The second layer's own snapshot still has the file the third layer deleted.
    with View(stack, chains[1]) as root:
        assert (root / DOOMED).is_file()
        assert not (root / "etc" / "layer-4").exists()
    assert check(stack.metadata, stack.content, stack.snapshotter) == []


def test_unpacking_twice_reuses_the_snapshots(stack: Stack) -> None:
    load_busybox(stack)
    top = unpack(stack.service, stack.leases, "busybox:latest")
    before = {info.key: info.id for info in stack.snapshotter.walk()}
    dirs = stack.snapshot_dirs()
    assert unpack(stack.service, stack.leases, "busybox:latest") == top
    assert {info.key: info.id for info in stack.snapshotter.walk()} == before
    assert stack.snapshot_dirs() == dirs
    # A second tag of the same image unpacks to the same snapshots too.
    stack.service.tag("busybox:latest", "other:1")
    assert unpack(stack.service, stack.leases, "other:1") == top
    assert {info.key: info.id for info in stack.snapshotter.walk()} == before


def test_layer_not_matching_its_diff_id_fails_and_leaves_no_snapshot(stack: Stack) -> None:
    load_busybox(stack)
    manifest = stack.service.manifest_of(stack.service.resolve("busybox:latest"))
    first = manifest.layers[0].digest
    # Replace the stored blob with another valid tar: the store's file no longer hashes to its name.
    fake = io.BytesIO()
    with tarfile.open(fileobj=fake, mode="w") as tar:
        info = tarfile.TarInfo("evil")
        info.size = 5
        tar.addfile(info, io.BytesIO(b"evil\n"))
    path = stack.content.path(first)
    os.chmod(path, 0o644)
    path.write_bytes(fake.getvalue())
    dirs = stack.snapshot_dirs()
    with pytest.raises(DigestMismatch) as raised:
        unpack(stack.service, stack.leases, "busybox:latest")
    assert raised.value.expected == stack.service.config_of(stack.service.resolve("busybox:latest")).diff_ids[0]
    assert stack.snapshot_keys() == set()
    assert stack.snapshot_dirs() == dirs
    assert stack.metadata.list_leases() == []


def test_corrupt_top_layer_keeps_lower_snapshots_but_no_extraction(stack: Stack) -> None:
    load_busybox(stack)
    rec = stack.service.resolve("busybox:latest")
    manifest = stack.service.manifest_of(rec)
    chains = top_chain(stack, "busybox:latest")
    top_blob = stack.content.path(manifest.layers[-1].digest)
    data = bytearray(top_blob.read_bytes())
    # Flip a byte inside the first header's name field: still a readable tar, different bytes.
    data[0] = ord("x") if data[0] != ord("x") else ord("y")
    top_blob.write_bytes(bytes(data))
    with pytest.raises((DigestMismatch, InvalidArgument)):
        unpack(stack.service, stack.leases, "busybox:latest")
    keys = stack.snapshot_keys()
    assert chains[-1] not in keys
    assert not any(k.startswith("extract-") for k in keys)
    assert keys <= set(chains[:-1])
    assert stack.snapshot_dirs() == {str(stack.snapshotter.stat(k).id) for k in keys}


def _tar(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            else:
                tar.addfile(info)
    return buf.getvalue()


def _file(name: str, data: bytes) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.mode = 0o644
    return info, data


def _dir(name: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE
    info.mode = 0o755
    return info, None


def _symlink(name: str, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info, None


def test_layer_escaping_with_dotdot_is_refused_and_writes_nothing_outside(stack: Stack, tmp_path: Path) -> None:
    outside = tmp_path / "escape"
    # Deep enough that "../../" from the snapshot's fs climbs... only if the applier let it.
    depth = len(stack.snapshotter.root.relative_to(tmp_path).parts) + 2  # <root>/<id>/fs
    name = "../" * depth + "escape"
    layer = _tar([_dir("etc"), _file("etc/ok", b"ok\n"), _file(name, b"pwned\n"), _file("../../escape", b"x\n")])
    image_id = import_rootfs(stack.service, stack.leases, io.BytesIO(layer), repo_tag="evil:dotdot")
    with pytest.raises(UnsafeLayer) as raised:
        unpack(stack.service, stack.leases, image_id)
    assert isinstance(raised.value, InvalidArgument)
    assert "escapes the root" in str(raised.value)
    assert not outside.exists()
    assert not (tmp_path.parent / "escape").exists()
    assert stack.snapshot_keys() == set()
    assert stack.snapshot_dirs() == set()
    assert stack.metadata.list_leases() == []


def test_symlinked_parent_pointing_outside_stays_inside_the_snapshot(stack: Stack, tmp_path: Path) -> None:
    outside = tmp_path / "outside-target"
    outside.mkdir()
    layer = _tar([_symlink("evil", str(outside)), _file("evil/pwned", b"pwned\n"),
                  _symlink("rel", "../../../../../../../../" + str(outside).lstrip("/")),
                  _file("rel/pwned2", b"pwned\n")])
    image_id = import_rootfs(stack.service, stack.leases, io.BytesIO(layer), repo_tag="evil:symlink")
    top = unpack(stack.service, stack.leases, image_id)
    # Followed chroot-style (as Docker does): both names land inside the layer, never outside.
    assert list(outside.iterdir()) == []
    with View(stack, top) as root:
        assert (root / str(outside).lstrip("/") / "pwned").read_bytes() == b"pwned\n"
        assert (root / str(outside).lstrip("/") / "pwned2").read_bytes() == b"pwned\n"
    assert list(outside.iterdir()) == []


def test_removing_the_image_collects_its_snapshots(stack: Stack) -> None:
    load_busybox(stack)
    unpack(stack.service, stack.leases, "busybox:latest")
    assert stack.snapshot_keys()
    records = stack.service.remove("busybox:latest")
    assert any(r.deleted for r in records)
    assert stack.snapshot_keys() == set()
    assert stack.snapshot_dirs() == set()
    assert list(stack.content.digests()) == []
    assert check(stack.metadata, stack.content, stack.snapshotter) == []


def test_removing_one_of_two_images_keeps_the_shared_snapshots(stack: Stack) -> None:
    load_busybox(stack, layers=3)
    load_busybox_4 = busybox_archive(layers=4, tags=("four:latest",))
    with open(load_busybox_4, "rb") as f:
        stack.archives.load(f)
    three = set(top_chain(stack, "busybox:latest"))
    four = set(top_chain(stack, "four:latest"))
    assert three < four
    unpack(stack.service, stack.leases, "busybox:latest")
    unpack(stack.service, stack.leases, "four:latest")
    assert stack.snapshot_keys() == four
    stack.service.remove("four:latest")
    assert stack.snapshot_keys() == three
    assert check(stack.metadata, stack.content, stack.snapshotter) == []


def test_image_size_is_the_files_bytes_as_dockerd_counts_them(stack: Stack) -> None:
    """dockerd's layer size is its unpacked directory's (``directory.Size``): the same after a
    load (read from the tar headers), after unpacking, and in the history."""
    image_id = load_busybox(stack, layers=3)
    rec = stack.metadata.get_image(image_id)
    unpack(stack.service, stack.leases, image_id)
    assert rec.layer_sizes[0] > 1_000_000  # the busybox binary's layer
    if isinstance(stack.snapshotter, OverlaySnapshotter):  # an overlay layer is its own directory
        assert rec.layer_sizes == tuple(stack.snapshotter.usage(c).size for c in top_chain(stack, image_id))
    assert rec.size == sum(rec.layer_sizes)
    # a layer stored already keeps the size recorded for it
    assert stack.service.layer_size(stack.service.config_of(rec).diff_ids[1], Digest.parse("sha256:" + "0" * 64)) \
        == rec.layer_sizes[1]
    assert sum(item.size for item in stack.service.history(image_id)) == rec.size
