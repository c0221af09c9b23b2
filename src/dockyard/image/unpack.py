"""Unpack an image's layers into committed snapshots keyed by chain ID.

Each layer is applied straight into a fresh snapshot's writable directory (no mount needed) and
its diff ID verified before the snapshot is committed; a layer already unpacked by another image
is reused. Work in progress is covered by a lease, so a crash leaves only collectable leftovers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from dockyard.archive.apply import WhiteoutMode, apply_layer
from dockyard.errors import NotFound
from dockyard.image.service import ImageService
from dockyard.oci.digest import DigestMismatch
from dockyard.oci.image import ImageConfig, Manifest, chain_ids
from dockyard.store.leases import Lease, LeaseManager

LayerHook = Callable[[int, str], None]   # (layer index, "start" | "done" | "exists")


@dataclass(frozen=True, slots=True)
class Unpacked:
    chain_ids: tuple[str, ...]
    sizes: tuple[int, ...]     # per layer, its size as dockerd measures it (its files' bytes)


def unpack_layers(service: ImageService, leases: LeaseManager, config: ImageConfig, manifest: Manifest,
                  *, lease: Lease, on_layer: LayerHook | None = None) -> Unpacked:
    """Make sure every layer is a committed snapshot, held by ``lease`` until the caller records
    the image's refs. Concurrent unpacks (``run -d`` ×20 of a new image) take turns, so each
    layer is extracted once and the others find it committed."""
    with service.unpack_lock:
        return _unpack_layers(service, leases, config, manifest, lease=lease, on_layer=on_layer)


def _unpack_layers(service: ImageService, leases: LeaseManager, config: ImageConfig, manifest: Manifest,
                   *, lease: Lease, on_layer: LayerHook | None) -> Unpacked:
    snapshotter = service.snapshotter
    metadata = service.metadata
    chains = [str(c) for c in chain_ids(list(config.diff_ids))]
    sizes: list[int] = []
    parent: str | None = None
    mode = WhiteoutMode(snapshotter.whiteout_mode)
    for index, (chain, diff_id, layer) in enumerate(zip(chains, config.diff_ids, manifest.layers, strict=True)):
        with service.lock:
            exists = metadata.find_snapshot(chain) is not None
            if exists:
                lease.add("snapshot", chain)
        if exists:
            sizes.append(service.layer_size(diff_id, layer.digest))
            if on_layer:
                on_layer(index, "exists")
            parent = chain
            continue
        if on_layer:
            on_layer(index, "start")
        key = f"extract-{uuid.uuid4().hex}"
        with leases.temporary() as work:
            work.add("snapshot", key)
            snapshotter.prepare(key, parent)
            try:
                if not service.content.exists(layer.digest):
                    raise NotFound(f"content {layer.digest} of layer {chain} is missing")
                with service.content.open(layer.digest) as blob:
                    result = apply_layer(blob, snapshotter.upper_path(key), whiteouts=mode)
                if result.diff_id != diff_id:
                    raise DigestMismatch(diff_id, result.diff_id)
                # Commit and protect in one step: a concurrent collection must not see it unowned.
                with service.lock:
                    snapshotter.commit(chain, key)
                    lease.add("snapshot", chain)
            except BaseException:
                if metadata.find_snapshot(key) is not None:
                    snapshotter.remove(key)
                raise
            sizes.append(result.content_size)
        if on_layer:
            on_layer(index, "done")
        parent = chain
    return Unpacked(tuple(chains), tuple(sizes))


def unpack(service: ImageService, leases: LeaseManager, ref_or_id: str) -> str:
    """Unpack a stored image and record its snapshots as its own; return the top chain ID."""
    rec = service.resolve(ref_or_id)
    config = service.config_of(rec)
    manifest = service.manifest_of(rec)
    with leases.temporary() as lease:
        result = unpack_layers(service, leases, config, manifest, lease=lease)
        with service.lock, service.metadata.transaction():
            refs = [(kind, key) for kind, key in service.metadata.refs_of("image", rec.id) if kind != "snapshot"]
            refs.extend(("snapshot", c) for c in result.chain_ids)
            service.metadata.set_refs("image", rec.id, refs)
    return result.chain_ids[-1] if result.chain_ids else ""
