"""``docker import``: a root filesystem tarball becomes a one-layer image."""

from __future__ import annotations

import os
import tarfile
from typing import BinaryIO

from dockyard.archive.compression import open_decompressed
from dockyard.errors import InvalidArgument
from dockyard.image.changes import apply_changes
from dockyard.image.ingest import import_ref
from dockyard.image.model import ImageEvent
from dockyard.image.resolve import tagged
from dockyard.image.service import ImageService
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ContainerConfig, HistoryEntry, ImageConfig, Manifest, format_rfc3339
from dockyard.oci.platform import Platform
from dockyard.store.leases import LeaseManager
from dockyard.store.metadata import ImageRecord


class _Tee:
    """A read-only stream that copies everything read through it into a content writer."""

    def __init__(self, src: BinaryIO, sink: object) -> None:
        self.src = src
        self.sink = sink

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        if data:
            self.sink.write(data)  # type: ignore[attr-defined]
        return data


def import_rootfs(service: ImageService, leases: LeaseManager, stream: BinaryIO, *,
                  repo_tag: str | None = None, changes: list[str] | None = None, message: str = "",
                  platform: str | None = None, source: str = "-") -> str:
    """Store the (possibly compressed) tarball as an uncompressed layer; return the image ID."""
    try:
        return _import(service, leases, stream, repo_tag=repo_tag, changes=changes, message=message,
                       platform=platform, source=source)
    except BaseException:
        service.collect_garbage()  # blobs only the released lease protected
        raise


def _import(service: ImageService, leases: LeaseManager, stream: BinaryIO, *, repo_tag: str | None,
            changes: list[str] | None, message: str, platform: str | None, source: str) -> str:
    target = str(tagged(repo_tag)) if repo_tag else None
    if target is not None and "@" in target:
        raise InvalidArgument("refusing to create a tag with a digest reference")
    plat = Platform.parse(platform) if platform else Platform.host()
    config_changes = apply_changes(ContainerConfig(), list(changes or []))
    content = service.content
    with leases.temporary() as lease:
        with content.writer(import_ref()) as writer:
            plain = open_decompressed(stream)
            tee = _Tee(plain, writer)
            try:
                content_size = 0  # dockerd's layer size: the bytes of its files
                with tarfile.open(fileobj=tee, mode="r|") as tar:  # type: ignore[call-overload]
                    for member in tar:  # reading each member validates the tarball while it is stored
                        if member.isreg():
                            content_size += member.size
                        elif member.issym():
                            content_size += len(os.fsencode(member.linkname))
                while tee.read(1 << 20):
                    pass
            except (tarfile.TarError, EOFError) as exc:
                writer.abort()
                raise InvalidArgument(f"invalid tar archive: {exc}") from exc
            except BaseException:
                writer.abort()  # the client's stream is gone: nothing here can be resumed
                raise
            size = writer.offset
            layer_digest = writer.commit()
        lease.add("content", str(layer_digest))
        now = service.now()
        created = format_rfc3339(now)
        config = ImageConfig(
            architecture=plat.architecture, os=plat.os, variant=plat.variant, config=config_changes,
            diff_ids=(layer_digest,), created=created,
            history=(HistoryEntry(created=created, created_by="", author="",
                                  comment=message or f"Imported from {source}", empty_layer=False),),
            extra={"comment": message} if message else {},
        )
        config_bytes = config.to_bytes()
        config_digest = content.write_blob(config_bytes)
        lease.add("content", str(config_digest))
        manifest = Manifest(
            config=Descriptor(media_type=mediatypes.OCI_CONFIG, digest=config_digest, size=len(config_bytes)),
            layers=(Descriptor(media_type=mediatypes.OCI_LAYER_TAR, digest=layer_digest, size=size),),
            media_type=mediatypes.OCI_MANIFEST,
        )
        manifest_bytes = manifest.to_bytes()
        manifest_digest = content.write_blob(manifest_bytes)
        image_id = f"sha256:{config_digest.hex}"
        record = ImageRecord(
            id=image_id, target_digest=str(manifest_digest), target_media_type=mediatypes.OCI_MANIFEST,
            target_size=len(manifest_bytes), manifest_digest=str(manifest_digest),
            config_digest=str(config_digest), created_at=now, loaded_at=now, size=content_size, parent="",
            layer_sizes=(content_size,),
        )
        with service.lock:
            with service.metadata.transaction():
                service.metadata.put_image(record)
                service.metadata.set_refs("image", image_id, [
                    ("content", str(d)) for d in (manifest_digest, config_digest, layer_digest)])
                if target is not None:
                    service.metadata.set_tag(target, image_id)
            service.sync_layout_index()
    service.emit(ImageEvent("import", image_id, {"name": image_id}))
    return image_id
