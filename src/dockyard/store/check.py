"""Consistency check of metadata against the content store and snapshot directories, and repair."""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass

from dockyard.errors import Conflict, InvalidArgument, NotFound
from dockyard.oci.digest import Digest, Digester
from dockyard.store.content import LocalContentStore
from dockyard.store.gc import collect, mark_content
from dockyard.store.metadata import MetadataStore
from dockyard.store.snapshots.base import Snapshotter

# Problem kinds
MISSING_CONTENT = "missing-content"  # a reference (or image record) names a blob that is not there
MISSING_SNAPSHOT = "missing-snapshot"  # a reference names a snapshot without a record
DANGLING_TAG = "dangling-tag"  # a tag points at an image that does not exist
DANGLING_REPO_DIGEST = "dangling-repo-digest"
ORPHAN_BLOB = "orphan-blob"  # a blob nothing references
CORRUPT_BLOB = "corrupt-blob"  # a blob that does not hash to its name
SNAPSHOT_DIR_MISSING = "snapshot-dir-missing"  # a record without its directory
ORPHAN_SNAPSHOT_DIR = "orphan-snapshot-dir"  # a directory without a record


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    subject: str
    detail: str


def _hash_matches(content: LocalContentStore, digest: Digest) -> bool:
    d = Digester(digest.algorithm)
    try:
        with content.open(digest) as f:
            while chunk := f.read(1 << 20):
                d.update(chunk)
    except NotFound:
        return True  # deleted meanwhile: not corrupt
    return d.digest() == digest


def _blob_missing(content: LocalContentStore, text: str) -> bool:
    try:
        return not content.exists(Digest.parse(text))
    except InvalidArgument:
        return True


def check(metadata: MetadataStore, content: LocalContentStore, snapshotter: Snapshotter, *,
          verify_content: bool = False) -> list[Problem]:
    problems: list[Problem] = []
    images = {img.id: img for img in metadata.list_images()}

    for name, image_id in metadata.all_tags().items():
        if image_id not in images:
            problems.append(Problem(DANGLING_TAG, name, f"points at missing image {image_id}"))
    for name, image_id in metadata.all_repo_digests().items():
        if image_id not in images:
            problems.append(Problem(DANGLING_REPO_DIGEST, name, f"points at missing image {image_id}"))

    def blob_missing(text: str) -> bool:
        return _blob_missing(content, text)

    for img in images.values():
        for what, text in (("manifest", img.manifest_digest), ("config", img.config_digest)):
            if blob_missing(text):
                problems.append(Problem(MISSING_CONTENT, text, f"{what} of image {img.id}"))
    for text in sorted(metadata.all_referenced("content")):
        if blob_missing(text):
            owners = ", ".join(f"{k} {i}" for k, i in metadata.owners_of("content", text))
            problems.append(Problem(MISSING_CONTENT, text, f"referenced by {owners}"))

    records = {rec.key: rec for rec in metadata.list_snapshots()}
    for key in sorted(metadata.all_referenced("snapshot")):
        if key not in records:
            owners = ", ".join(f"{k} {i}" for k, i in metadata.owners_of("snapshot", key))
            problems.append(Problem(MISSING_SNAPSHOT, key, f"referenced by {owners}"))
    ids = set()
    for rec in records.values():
        ids.add(rec.id)
        if not (snapshotter.snapshot_dir(rec.id) / "fs").is_dir():
            problems.append(Problem(SNAPSHOT_DIR_MISSING, rec.key, f"directory {snapshotter.snapshot_dir(rec.id)} is missing"))
    with contextlib.suppress(FileNotFoundError):
        for name in sorted(os.listdir(snapshotter.root)):
            if name.isdigit() and int(name) not in ids:
                problems.append(Problem(ORPHAN_SNAPSHOT_DIR, str(snapshotter.root / name), "no snapshot record"))

    live = mark_content(metadata, content)
    for digest in content.digests():
        if str(digest) not in live:
            problems.append(Problem(ORPHAN_BLOB, str(digest), "not referenced by any image, container or lease"))
        if verify_content and not _hash_matches(content, digest):
            problems.append(Problem(CORRUPT_BLOB, str(digest), "content does not match its digest"))
    return problems


def repair(metadata: MetadataStore, content: LocalContentStore, snapshotter: Snapshotter, *,
           verify_content: bool = True) -> list[Problem]:
    """Fix what ``check`` finds; returns the problems found before repairing.

    Corrupt blobs are deleted; images whose manifest, config or snapshots are gone are deleted
    with their tags; dangling tags and references are dropped; then GC removes orphans.
    """
    problems = check(metadata, content, snapshotter, verify_content=verify_content)
    for p in problems:
        if p.kind == CORRUPT_BLOB:
            with contextlib.suppress(NotFound):
                content.delete(Digest.parse(p.subject))

    # Snapshot records whose directory is gone are useless, and so are their descendants.
    broken = {p.subject for p in problems if p.kind == SNAPSHOT_DIR_MISSING}
    for rec in sorted(metadata.list_snapshots(), key=lambda r: r.id):
        if rec.parent in broken:
            broken.add(rec.key)
    for rec in sorted(metadata.list_snapshots(), key=lambda r: r.id, reverse=True):
        if rec.key in broken:
            with contextlib.suppress(NotFound, Conflict):
                metadata.delete_snapshot(rec.key)

    snapshot_keys = {rec.key for rec in metadata.list_snapshots()}

    def blob_missing(text: str) -> bool:
        return _blob_missing(content, text)

    with metadata.transaction():
        for img in metadata.list_images():
            refs = metadata.refs_of("image", img.id)
            gone = blob_missing(img.manifest_digest) or blob_missing(img.config_digest) or any(
                (kind == "content" and blob_missing(key)) or (kind == "snapshot" and key not in snapshot_keys)
                for kind, key in refs)
            if gone:
                metadata.delete_image(img.id)
        images = {img.id for img in metadata.list_images()}
        for name, image_id in metadata.all_tags().items():
            if image_id not in images:
                metadata.delete_tag(name)
        for name, image_id in metadata.all_repo_digests().items():
            if image_id not in images:
                metadata.delete_repo_digest(name)
        # Other owners (containers, leases) keep their record but lose the edge to what is gone.
        for owner_kind, owner_id in sorted(metadata.all_owners()):
            refs = metadata.refs_of(owner_kind, owner_id)
            kept = [(k, key) for k, key in refs
                    if not ((k == "content" and blob_missing(key)) or (k == "snapshot" and key not in snapshot_keys))]
            if kept != refs:
                metadata.set_refs(owner_kind, owner_id, kept)

    collect(metadata, content, snapshotter)
    return problems


__all__ = ["Problem", "check", "repair"]
