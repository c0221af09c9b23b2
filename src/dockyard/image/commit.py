"""``docker commit``: a new image from a base image and one more layer (a container's changes)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any, BinaryIO

from dockyard.archive.tarsize import TarSizer
from dockyard.archive.tarwriter import DiffResult
from dockyard.image.ingest import import_ref
from dockyard.image.model import ImageEvent
from dockyard.image.resolve import tagged
from dockyard.image.service import ImageService
from dockyard.oci import mediatypes
from dockyard.oci.config import ContainerConfig, HistoryEntry
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import Manifest, format_rfc3339
from dockyard.store.leases import LeaseManager
from dockyard.store.metadata import ImageRecord


class _SizingWriter:
    """Passes the layer to the content writer and sums its size as dockerd measures layers."""

    def __init__(self, sink: Any) -> None:
        self.sink = sink
        self.sizer = TarSizer()

    def write(self, data: bytes | bytearray | memoryview) -> int:
        self.sizer.feed(data)
        self.sink.write(data)
        return len(data)

    def flush(self) -> None:
        pass


def commit_image(service: ImageService, leases: LeaseManager, *, base_image_id: str,
                 write_layer: Callable[[BinaryIO], DiffResult], config: ContainerConfig, created_by: str,
                 author: str = "", comment: str = "", repo_tag: str | None = None,
                 extra: Mapping[str, Any] | None = None) -> str:
    """Store the layer ``write_layer`` writes (a plain tar) on top of the base image's layers, with
    ``config`` as the new image's container config; tag it; return the new image's ID."""
    target = str(tagged(repo_tag)) if repo_tag else None
    content = service.content
    base = service.metadata.get_image(base_image_id)
    base_config = service.config_of(base)
    base_manifest = service.manifest_of(base)
    base_sizes = service.view(base).layer_sizes
    with leases.temporary() as lease:
        with content.writer(import_ref()) as writer:
            sizing = _SizingWriter(writer)
            try:
                result = write_layer(sizing)  # type: ignore[arg-type]
            except BaseException:
                writer.abort()
                raise
            layer_digest = writer.commit()
        lease.add("content", str(layer_digest))
        now = service.now()
        created = format_rfc3339(now)
        history = HistoryEntry(created=created, created_by=created_by, author=author, comment=comment)
        image_config = replace(
            base_config, config=config, created=created, author=author,
            diff_ids=(*base_config.diff_ids, result.diff_id), history=(*base_config.history, history),
            extra={**dict(base_config.extra), **dict(extra or {}), **({"comment": comment} if comment else {})},
        )
        config_bytes = image_config.to_bytes()
        config_digest = content.write_blob(config_bytes)
        lease.add("content", str(config_digest))
        layer = Descriptor(media_type=mediatypes.OCI_LAYER_TAR, digest=layer_digest, size=result.size)
        manifest = Manifest(
            config=Descriptor(media_type=mediatypes.OCI_CONFIG, digest=config_digest, size=len(config_bytes)),
            layers=(*base_manifest.layers, layer), media_type=mediatypes.OCI_MANIFEST,
        )
        manifest_bytes = manifest.to_bytes()
        manifest_digest = content.write_blob(manifest_bytes)
        image_id = f"sha256:{config_digest.hex}"
        sizes = (*base_sizes, sizing.sizer.total) if len(base_sizes) == len(base_manifest.layers) else ()
        record = ImageRecord(
            id=image_id, target_digest=str(manifest_digest), target_media_type=mediatypes.OCI_MANIFEST,
            target_size=len(manifest_bytes), manifest_digest=str(manifest_digest), config_digest=str(config_digest),
            created_at=now, loaded_at=now, size=sum(sizes) if sizes else base.size + sizing.sizer.total,
            parent=base.id, layer_sizes=sizes,
        )
        refs = [("content", str(d)) for d in dict.fromkeys(
            [manifest_digest, config_digest, *(desc.digest for desc in manifest.layers)])]
        with service.lock:
            with service.metadata.transaction():
                service.metadata.put_image(record)
                service.metadata.set_refs("image", image_id, refs)
                if target is not None:
                    service.metadata.set_tag(target, image_id)
            service.sync_layout_index()
    if target is not None:
        service.emit(ImageEvent("tag", image_id, {"name": target}))
    return image_id


__all__ = ["commit_image"]
