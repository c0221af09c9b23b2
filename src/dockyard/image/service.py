"""The image service: lookup, tag, remove, inspect, history and prune over the local store.

Image IDs are config digests (``sha256:…``), as in Docker. Tags and repo digests are stored as
fully normalised references; everything shown to users is the familiar form.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from dockyard.archive.compression import open_decompressed
from dockyard.archive.tarsize import TarSizer
from dockyard.errors import Conflict, DockyardError, InvalidArgument, NotFound
from dockyard.image.model import (
    DeleteRecord,
    EventSink,
    HistoryItem,
    ImageEvent,
    ImageView,
    PruneReport,
    discard_events,
)
from dockyard.image.resolve import familiar, id_prefix, is_full_id, repo_of, tagged
from dockyard.labels import label_matches
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.image import ImageConfig, Manifest, chain_ids, parse_rfc3339
from dockyard.store import gc
from dockyard.store.content import LocalContentStore
from dockyard.store.metadata import ImageRecord, MetadataStore
from dockyard.store.snapshots.base import Snapshotter


class ImageUsers(Protocol):
    """Who uses an image (containers, later): consulted before removal."""

    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        """(container id, running) for every container created from the image."""
        ...


class _NoUsers:
    def containers_using(self, image_id: str) -> list[tuple[str, bool]]:
        return []


@dataclass(frozen=True, slots=True)
class ListFilters:
    dangling: bool | None = None
    references: tuple[str, ...] = ()
    labels: tuple[str, ...] = ()
    before: float | None = None
    since: float | None = None
    until: float | None = None


class ImageService:
    def __init__(self, *, metadata: MetadataStore, content: LocalContentStore, snapshotter: Snapshotter,
                 events: EventSink = discard_events, users: ImageUsers | None = None,
                 now: Callable[[], float] = time.time) -> None:
        self.metadata = metadata
        self.content = content
        self.snapshotter = snapshotter
        self.emit = events
        self.users: ImageUsers = users or _NoUsers()
        self.now = now
        # Serialises changes to tags, image records and garbage collection.
        self.lock = threading.RLock()
        # Serialises layer extraction (see image.unpack).
        self.unpack_lock = threading.Lock()

    # ---- lookup -------------------------------------------------------------------------

    def resolve(self, ref_or_id: str) -> ImageRecord:
        """Find an image by tag, repo digest, full ID or unique ID prefix (Docker's order)."""
        if ref_or_id.startswith("sha256:"):
            rec = self._by_id_prefix(ref_or_id)
            if rec:
                return rec
            raise NotFound(f"No such image: {ref_or_id}")
        try:
            ref = tagged(ref_or_id)
        except InvalidArgument:
            if id_prefix(ref_or_id) is None:
                raise
            ref = None
        if ref is not None:
            image_id = self.metadata.get_repo_digest(str(ref)) if ref.digest else self.metadata.get_tag(str(ref))
            if image_id is None and ref.digest is not None:
                image_id = self._by_target_digest(str(ref.digest))
            if image_id is not None:
                found = self.metadata.find_image(image_id)
                if found:
                    return found
        if id_prefix(ref_or_id) is not None:
            rec = self._by_id_prefix(ref_or_id)
            if rec:
                return rec
        shown = ref.familiar_string() if ref is not None else ref_or_id
        raise NotFound(f"No such image: {shown}")

    def _by_id_prefix(self, text: str) -> ImageRecord | None:
        hexpart = id_prefix(text)
        if hexpart is None:
            return None
        if is_full_id(text):
            return self.metadata.find_image("sha256:" + hexpart)
        matches = self.metadata.images_by_id_prefix("sha256:" + hexpart)
        return matches[0] if len(matches) == 1 else None

    def _by_target_digest(self, digest: str) -> str | None:
        for rec in self.metadata.list_images():
            if digest in (rec.target_digest, rec.manifest_digest):
                return rec.id
        return None

    def config_of(self, rec: ImageRecord) -> ImageConfig:
        return ImageConfig.from_bytes(self.content.read_bytes(Digest.parse(rec.config_digest)))

    def manifest_of(self, rec: ImageRecord) -> Manifest:
        data = self.content.read_bytes(Digest.parse(rec.manifest_digest))
        return Manifest.from_bytes(data)

    def view(self, rec: ImageRecord) -> ImageView:
        config = self.config_of(rec)
        tags = tuple(familiar(t) for t in sorted(self.metadata.tags_for(rec.id)))
        digests = tuple(familiar(d) for d in sorted(self.metadata.repo_digests_for(rec.id)))
        return ImageView(
            id=rec.id, config=config, repo_tags=tags, repo_digests=digests, parent=rec.parent,
            size=rec.size, created=rec.created_at, last_tag_time=rec.loaded_at,
            target_digest=rec.target_digest, manifest_digest=rec.manifest_digest,
            layer_sizes=self._layer_sizes(rec),
        )

    def layer_size(self, diff_id: Digest, blob: Digest) -> int:
        """The size of a layer already stored: as another image recorded it, else read from the
        headers of its blob (0 when neither is there)."""
        for rec in self.metadata.list_images():
            if not rec.layer_sizes:
                continue
            try:
                diff_ids = self.config_of(rec).diff_ids
            except DockyardError:
                continue
            if diff_id in diff_ids and len(diff_ids) == len(rec.layer_sizes):
                return rec.layer_sizes[diff_ids.index(diff_id)]
        if not self.content.exists(blob):
            return 0
        sizer = TarSizer()
        with self.content.open(blob) as raw, open_decompressed(raw) as plain:
            while not sizer.done and (chunk := plain.read(1 << 20)):
                sizer.feed(chunk)
        return sizer.total

    def _layer_sizes(self, rec: ImageRecord) -> tuple[int, ...]:
        if rec.layer_sizes:
            return rec.layer_sizes
        try:
            manifest = self.manifest_of(rec)
        except (NotFound, InvalidArgument):
            return ()
        # Recorded by an older version: the blob sizes are the best there is.
        return tuple(layer.size for layer in manifest.layers)

    def inspect(self, ref_or_id: str) -> ImageView:
        return self.view(self.resolve(ref_or_id))

    def list_images(self, *, all_images: bool = False, filters: ListFilters | None = None) -> list[ImageView]:
        filters = filters or ListFilters()
        records = self.metadata.list_images()
        parents = {r.parent for r in records if r.parent}
        views = []
        for rec in records:
            view = self.view(rec)
            dangling = not view.repo_tags and not view.repo_digests
            # Untagged parents of other images are intermediate layers: shown only with -a.
            if not all_images and dangling and rec.id in parents:
                continue
            if filters.dangling is not None and filters.dangling != (not view.repo_tags):
                continue
            if filters.references:
                # Docker lists only the tags that match, not every tag of a matching image.
                matching = tuple(t for t in view.repo_tags
                                 if any(_reference_matches(p, (t,)) for p in filters.references))
                if not matching:
                    continue
                view = dataclasses.replace(view, repo_tags=matching)
            if filters.labels and not all(label_matches(view.labels, lbl) for lbl in filters.labels):
                continue
            if filters.before is not None and not view.created < filters.before:
                continue
            if filters.since is not None and not view.created > filters.since:
                continue
            if filters.until is not None and not view.created < filters.until:
                continue
            views.append(view)
        views.sort(key=lambda v: v.created, reverse=True)
        return views

    def history(self, ref_or_id: str) -> list[HistoryItem]:
        view = self.inspect(ref_or_id)
        config = view.config
        sizes = list(view.layer_sizes)
        items: list[HistoryItem] = []
        layer_index = 0
        if config.history:
            for entry in config.history:
                size = 0
                if not entry.empty_layer:
                    size = sizes[layer_index] if layer_index < len(sizes) else 0
                    layer_index += 1
                created = _parse_time(entry.created) if entry.created else 0.0
                items.append(HistoryItem(id="<missing>", created=created, created_by=entry.created_by,
                                         tags=(), size=size, comment=entry.comment))
        else:
            for size in sizes:
                items.append(HistoryItem(id="<missing>", created=view.created, created_by="", tags=(),
                                         size=size, comment=""))
        # each image of the parent chain (images committed or built here) names its own top entry
        parent_id = view.parent
        while parent_id:
            parent = self.metadata.find_image(parent_id)
            if parent is None:
                break
            parent_view = self.view(parent)
            count = len(parent_view.config.history) or len(parent_view.layer_sizes)
            if 0 < count <= len(items):
                row = items[count - 1]
                items[count - 1] = HistoryItem(id=parent.id, created=row.created, created_by=row.created_by,
                                               tags=parent_view.repo_tags, size=row.size, comment=row.comment)
            parent_id = parent.parent
        items.reverse()
        if items:
            top = items[0]
            items[0] = HistoryItem(id=view.id, created=top.created, created_by=top.created_by,
                                   tags=view.repo_tags, size=top.size, comment=top.comment)
        return items

    # ---- tagging ------------------------------------------------------------------------

    def tag(self, source: str, target: str) -> None:
        """``docker tag``: point ``target`` (a repo with optional tag) at the source image."""
        rec = self.resolve(source)
        ref = tagged(target)
        if ref.digest is not None:
            raise InvalidArgument("refusing to create a tag with a digest reference")
        self._set_tag(str(ref), rec.id)

    def _set_tag(self, name: str, image_id: str) -> None:
        with self.lock:
            with self.metadata.transaction():
                self.metadata.set_tag(name, image_id)
                rec = self.metadata.get_image(image_id)
                self.metadata.put_image(_replace_loaded_at(rec, self.now()))
            self.sync_layout_index()
        self.emit(ImageEvent("tag", image_id, {"name": familiar(name)}))

    def collect_garbage(self) -> None:
        """Drop what nothing references any more (e.g. the blobs of a load that failed)."""
        with self.lock:
            gc.collect(self.metadata, self.content, self.snapshotter)

    def sync_layout_index(self) -> None:
        """Keep content/index.json listing every tag, so OCI tools can read the store as a layout."""
        entries = []
        for name, image_id in sorted(self.metadata.all_tags().items()):
            rec = self.metadata.find_image(image_id)
            if rec is None:
                continue
            desc = Descriptor(
                media_type=rec.target_media_type, digest=Digest.parse(rec.target_digest), size=rec.target_size,
                annotations={mediatypes.ANNOTATION_REF_NAME: name, mediatypes.ANNOTATION_CONTAINERD_IMAGE_NAME: name},
            )
            entries.append(desc.to_json_obj())
        self.content.set_index(entries)

    # ---- removal ------------------------------------------------------------------------

    def remove(self, ref_or_id: str, *, force: bool = False, prune: bool = True) -> list[DeleteRecord]:
        """``docker rmi``: untag, and delete the image when nothing references it any more."""
        with self.lock:
            rec = self.resolve(ref_or_id)
            records: list[DeleteRecord] = []
            repo_refs = self._references(rec.id)
            by_name = not _looks_like_id(ref_or_id, rec.id)
            removed_repository_ref = False
            if by_name:
                ref = tagged(ref_or_id)
                name = str(ref)
                if not force and _single_repository(repo_refs):
                    for cid, _running in self.users.containers_using(rec.id):
                        raise Conflict(
                            f'conflict: unable to remove repository reference "{ref_or_id}" (must force) - '
                            f"container {cid[:12]} is using its referenced image {_short(rec.id)}")
                self._drop_reference(name, rec.id, records)
                repo_refs = self._references(rec.id)
                # A tag went away: if no other tag of that repository remains, its digests go too.
                if ref.digest is None and not any(
                        not _is_digest_ref(r) and repo_of(r) == ref.name for r in repo_refs):
                    for other in [r for r in repo_refs if _is_digest_ref(r) and repo_of(r) == ref.name]:
                        self._drop_reference(other, rec.id, records)
                    repo_refs = self._references(rec.id)
                if repo_refs:
                    self.sync_layout_index()
                    return records
                removed_repository_ref = True
            elif _single_repository(repo_refs):
                self._check_conflicts(rec.id, hard_only=force, ignore_references=True)
                for name in repo_refs:
                    self._drop_reference(name, rec.id, records)
            self._delete_helper(rec.id, records, force=force, prune=prune, quiet=removed_repository_ref)
            self.sync_layout_index()
            return records

    def _references(self, image_id: str) -> list[str]:
        return sorted(self.metadata.tags_for(image_id)) + sorted(self.metadata.repo_digests_for(image_id))

    def _drop_reference(self, name: str, image_id: str, records: list[DeleteRecord]) -> None:
        with self.metadata.transaction():
            if _is_digest_ref(name):
                self.metadata.delete_repo_digest(name)
            elif not self.metadata.delete_tag(name):
                raise NotFound(f"No such image: {familiar(name)}")
        records.append(DeleteRecord(untagged=familiar(name)))
        self.emit(ImageEvent("untag", image_id, {"name": familiar(name)}))

    def _check_conflicts(self, image_id: str, *, hard_only: bool, ignore_references: bool = False) -> None:
        short = _short(image_id)
        if self.metadata.children_of(image_id):
            raise Conflict(f"conflict: unable to delete {short} (cannot be forced) - image has dependent child images")
        users = self.users.containers_using(image_id)
        for cid, running in users:
            if running:
                raise Conflict(f"conflict: unable to delete {short} (cannot be forced) - "
                               f"image is being used by running container {cid[:12]}")
        if hard_only:
            return
        if not ignore_references and self._references(image_id):
            raise Conflict(f"conflict: unable to delete {short} (must be forced) - "
                           "image is referenced in multiple repositories")
        for cid, _ in users:
            raise Conflict(f"conflict: unable to delete {short} (must be forced) - "
                           f"image is being used by stopped container {cid[:12]}")

    def _delete_helper(self, image_id: str, records: list[DeleteRecord], *, force: bool, prune: bool,
                       quiet: bool) -> None:
        try:
            self._check_conflicts(image_id, hard_only=force)
        except Conflict:
            if quiet:
                return
            raise
        rec = self.metadata.get_image(image_id)
        for name in self._references(image_id):
            self._drop_reference(name, image_id, records)
        layer_chain = self._chain_ids(rec)
        with self.metadata.transaction():
            self.metadata.delete_refs("image", image_id)
            self.metadata.delete_image(image_id)
        self.sync_layout_index()  # index.json is a GC root too: drop the image from it first
        result = gc.collect(self.metadata, self.content, self.snapshotter)
        records.append(DeleteRecord(deleted=image_id))
        self.emit(ImageEvent("delete", image_id, {"name": image_id}))
        removed = set(result.removed_blobs)
        for chain_id, layer_digest in layer_chain:
            if layer_digest in removed:
                records.append(DeleteRecord(deleted=chain_id))
        if prune and rec.parent and self.metadata.find_image(rec.parent) is not None \
                and not self._references(rec.parent):
            self._delete_helper(rec.parent, records, force=False, prune=True, quiet=True)

    def _chain_ids(self, rec: ImageRecord) -> list[tuple[str, str]]:
        try:
            config = self.config_of(rec)
            manifest = self.manifest_of(rec)
        except (NotFound, InvalidArgument):
            return []
        chains = chain_ids(list(config.diff_ids))
        return [(str(c), str(layer.digest)) for c, layer in zip(chains, manifest.layers, strict=False)]

    def prune(self, *, all_images: bool = False, until: float | None = None,
              labels: Sequence[str] = (), negated_labels: Sequence[str] = ()) -> PruneReport:
        """``docker image prune``: dangling images, or with ``all_images`` every unused image."""
        before = self.content.total_size()
        deleted: list[DeleteRecord] = []
        with self.lock:
            progress = True
            while progress:
                progress = False
                for rec in self.metadata.list_images():
                    if self.metadata.find_image(rec.id) is None:
                        continue
                    tags = self.metadata.tags_for(rec.id)
                    if not all_images and tags:
                        continue
                    if self.metadata.children_of(rec.id) or self.users.containers_using(rec.id):
                        continue
                    if until is not None and not rec.created_at < until:
                        continue
                    image_labels = self.config_of(rec).config.labels
                    if labels and not all(label_matches(image_labels, lbl) for lbl in labels):
                        continue
                    if negated_labels and any(label_matches(image_labels, lbl) for lbl in negated_labels):
                        continue
                    records: list[DeleteRecord] = []
                    self._delete_helper(rec.id, records, force=True, prune=True, quiet=True)
                    deleted.extend(records)
                    progress = bool(records)
            self.sync_layout_index()
            gc.collect(self.metadata, self.content, self.snapshotter)
        reclaimed = max(0, before - self.content.total_size())
        self.emit(ImageEvent("prune", "", {"reclaimed": str(reclaimed)}))
        return PruneReport(tuple(deleted), reclaimed)

    def shared_sizes(self) -> dict[str, int]:
        """Bytes of each image's layers that other images use too (``system df``'s SHARED SIZE)."""
        layers_of: dict[str, list[tuple[str, int]]] = {}
        count: dict[str, int] = {}
        for rec in self.metadata.list_images():
            try:
                manifest = self.manifest_of(rec)
            except (NotFound, InvalidArgument):
                continue
            layers = _layers_with_sizes(rec, manifest)
            layers_of[rec.id] = layers
            for digest, _ in set(layers):
                count[digest] = count.get(digest, 0) + 1
        return {image_id: sum(size for d, size in set(layers) if count[d] > 1)
                for image_id, layers in layers_of.items()}

    def layers_size(self) -> int:
        """Bytes of all distinct layers (``system df``'s LayersSize)."""
        sizes: dict[str, int] = {}
        for rec in self.metadata.list_images():
            try:
                manifest = self.manifest_of(rec)
            except (NotFound, InvalidArgument):
                continue
            sizes.update(_layers_with_sizes(rec, manifest))
        return sum(sizes.values())


def _layers_with_sizes(rec: ImageRecord, manifest: Manifest) -> list[tuple[str, int]]:
    """(layer digest, size) of an image: the sizes dockerd gives layers, when recorded (images
    stored by older versions have only their blobs' sizes)."""
    if len(rec.layer_sizes) == len(manifest.layers):
        return [(str(layer.digest), size) for layer, size in zip(manifest.layers, rec.layer_sizes, strict=True)]
    return [(str(layer.digest), layer.size) for layer in manifest.layers]


def _short(image_id: str) -> str:
    return image_id.split(":", 1)[-1][:12]


def _looks_like_id(text: str, image_id: str) -> bool:
    hexpart = id_prefix(text)
    return hexpart is not None and image_id.split(":", 1)[-1].startswith(hexpart)


def _is_digest_ref(name: str) -> bool:
    return "@" in name


def _single_repository(refs: Iterable[str]) -> bool:
    return len({repo_of(r) for r in refs}) <= 1


def _reference_matches(pattern: str, repo_tags: Sequence[str]) -> bool:
    """Docker's ``reference`` filter: a glob on the familiar name, with or without the tag."""
    for tag in repo_tags:
        repo = tag.rsplit(":", 1)[0] if ":" in tag.rsplit("/", 1)[-1] else tag
        if ":" in pattern.rsplit("/", 1)[-1]:
            if fnmatch.fnmatchcase(tag, pattern):
                return True
        elif fnmatch.fnmatchcase(repo, pattern):
            return True
    return False


def _parse_time(text: str) -> float:
    try:
        return parse_rfc3339(text)
    except (ValueError, InvalidArgument):
        return 0.0


def _replace_loaded_at(rec: ImageRecord, when: float) -> ImageRecord:
    return dataclasses.replace(rec, loaded_at=when)
