"""Unpack an image's layers into committed snapshots keyed by chain ID.

Each layer is applied straight into a fresh snapshot's writable directory (no mount needed) and
its diff ID verified before the snapshot is committed; a layer already unpacked by another image
is reused. Work in progress is covered by a lease, so a crash leaves only collectable leftovers.
"""

from __future__ import annotations

import uuid

from dockyard.archive.apply import WhiteoutMode, apply_layer
from dockyard.errors import NotFound
from dockyard.image.service import ImageService
from dockyard.oci.digest import DigestMismatch
from dockyard.oci.image import chain_ids
from dockyard.store.leases import LeaseManager


def unpack(service: ImageService, leases: LeaseManager, ref_or_id: str) -> str:
    """Make sure every layer of the image is a committed snapshot; return the top chain ID."""
    rec = service.resolve(ref_or_id)
    config = service.config_of(rec)
    manifest = service.manifest_of(rec)
    snapshotter = service.snapshotter
    metadata = service.metadata
    chains = [str(c) for c in chain_ids(list(config.diff_ids))]
    parent: str | None = None
    mode = WhiteoutMode(snapshotter.whiteout_mode)
    for chain, diff_id, layer in zip(chains, config.diff_ids, manifest.layers, strict=True):
        if metadata.find_snapshot(chain) is None:
            key = f"extract-{uuid.uuid4().hex}"
            with leases.temporary() as lease:
                lease.add("snapshot", key)
                snapshotter.prepare(key, parent)
                try:
                    if not service.content.exists(layer.digest):
                        raise NotFound(f"content {layer.digest} of layer {chain} is missing")
                    with service.content.open(layer.digest) as blob:
                        result = apply_layer(blob, snapshotter.upper_path(key), whiteouts=mode)
                    if result.diff_id != diff_id:
                        raise DigestMismatch(diff_id, result.diff_id)
                    snapshotter.commit(chain, key)
                except BaseException:
                    snapshotter.remove(key)
                    raise
        parent = chain
    with service.lock, metadata.transaction():
        refs = [(kind, key) for kind, key in metadata.refs_of("image", rec.id) if kind != "snapshot"]
        refs.extend(("snapshot", c) for c in chains)
        metadata.set_refs("image", rec.id, refs)
    return chains[-1] if chains else ""
