"""Garbage collection: mark everything reachable from metadata, sweep the rest.

Roots are the edges in the ``refs`` table (owners: images, containers, leases, …), the digests
named by image records and by ``index.json``. Content is also marked through the descriptors
inside marked manifests and indexes, so an image that only references its top-level manifest
still keeps its config and layers. Committed snapshots are marked through their parents.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.oci.digest import Digest
from dockyard.store.content import LocalContentStore
from dockyard.store.metadata import MetadataStore
from dockyard.store.snapshots.base import Snapshotter

INGEST_MAX_AGE = 24 * 3600.0
_MAX_WALK_SIZE = 4 << 20  # manifests and indexes are small; never parse a layer


@dataclass(frozen=True, slots=True)
class GCResult:
    removed_blobs: list[str] = field(default_factory=list)
    removed_snapshots: list[str] = field(default_factory=list)
    reclaimed: int = 0
    removed_ingests: list[str] = field(default_factory=list)
    expired_leases: list[str] = field(default_factory=list)


def _children(content: LocalContentStore, digest: Digest) -> Iterable[str]:
    """Digests named by descriptors inside a manifest or index blob."""
    info = content.info(digest)
    if info is None or info.size > _MAX_WALK_SIZE:
        return []
    try:
        with content.open(digest) as f:
            if f.read(1) != b"{":
                return []
            f.seek(0)
            doc = json.load(f)
    except (ValueError, OSError, NotFound):
        return []
    if not isinstance(doc, dict):
        return []
    found: list[str] = []
    for key in ("config", "subject"):
        desc = doc.get(key)
        if isinstance(desc, dict) and isinstance(desc.get("digest"), str):
            found.append(desc["digest"])
    for key in ("layers", "manifests", "blobs"):
        items = doc.get(key)
        if isinstance(items, list):
            found.extend(d["digest"] for d in items if isinstance(d, dict) and isinstance(d.get("digest"), str))
    return found


def content_roots(metadata: MetadataStore, content: LocalContentStore) -> set[str]:
    roots = set(metadata.all_referenced("content"))
    for img in metadata.list_images():
        roots.update({img.target_digest, img.manifest_digest, img.config_digest})
    for desc in content.get_index():
        if isinstance(desc.get("digest"), str):
            roots.add(desc["digest"])
    return roots


def mark_content(metadata: MetadataStore, content: LocalContentStore) -> set[str]:
    """Every digest reachable from the roots (whether or not the blob exists)."""
    marked: set[str] = set()
    stack = list(content_roots(metadata, content))
    while stack:
        text = stack.pop()
        if text in marked:
            continue
        marked.add(text)
        try:
            digest = Digest.parse(text)
        except InvalidArgument:
            continue
        stack.extend(c for c in _children(content, digest) if c not in marked)
    return marked


def mark_snapshots(metadata: MetadataStore) -> set[str]:
    """Referenced snapshots plus all of their ancestors."""
    parents = {rec.key: rec.parent for rec in metadata.list_snapshots()}
    marked: set[str] = set()
    for key in metadata.all_referenced("snapshot"):
        while key and key not in marked and key in parents:
            marked.add(key)
            key = parents[key]
    return marked


def collect(metadata: MetadataStore, content: LocalContentStore, snapshotter: Snapshotter, *,
            now: float | None = None) -> GCResult:
    now = time.time() if now is None else now
    expired = metadata.delete_expired_leases(now)
    reclaimed = 0

    # Snapshots: children before parents (a child always has a larger id than its parent).
    live_snapshots = mark_snapshots(metadata)
    removed_snapshots: list[str] = []
    for rec in sorted(metadata.list_snapshots(), key=lambda r: r.id, reverse=True):
        if rec.key in live_snapshots:
            continue
        try:
            size = snapshotter.usage(rec.key).size
            snapshotter.remove(rec.key)
        except (Conflict, NotFound):
            continue  # a new child or a concurrent removal: leave it for the next run
        removed_snapshots.append(rec.key)
        reclaimed += size
    snapshotter.cleanup()

    live_content = mark_content(metadata, content)
    removed_blobs: list[str] = []
    for digest in list(content.digests()):
        if str(digest) in live_content:
            continue
        with contextlib.suppress(NotFound):
            reclaimed += content.delete(digest)
            removed_blobs.append(str(digest))

    leased_ingests = metadata.all_referenced("ingest")
    removed_ingests: list[str] = []
    for ingest in content.ingests():
        if ingest.ref in leased_ingests or now - ingest.updated_at < INGEST_MAX_AGE:
            continue
        try:
            content.abort_ingest(ingest.ref)
        except (Conflict, NotFound):
            continue
        removed_ingests.append(ingest.ref)
        reclaimed += ingest.offset

    return GCResult(removed_blobs=removed_blobs, removed_snapshots=removed_snapshots, reclaimed=reclaimed,
                    removed_ingests=removed_ingests, expired_leases=expired)


__all__ = ["GCResult", "collect", "content_roots", "mark_content", "mark_snapshots"]
