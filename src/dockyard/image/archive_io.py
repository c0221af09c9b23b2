"""``docker load`` and ``docker save``: docker-archive and OCI-layout tarballs.

Load streams the archive once: every blob goes straight into the content store (verified against
its name where the name is a digest), under a lease so a concurrent garbage collection cannot take
it, and the image records are written in one transaction at the end. A load cut short (bad input,
client gone, daemon killed) leaves only unreferenced blobs, which the next collection removes.

Save writes the layout Docker 25 writes: an OCI image layout (``oci-layout``, ``index.json``,
``blobs/sha256/…``) plus ``manifest.json`` and ``repositories`` for older ``docker load``.
"""

from __future__ import annotations

import json
import posixpath
import tarfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from dockyard.archive.compression import Compression, detect, open_decompressed
from dockyard.archive.errors import CorruptLayer
from dockyard.archive.tarsize import TarSizer, tar_content_size
from dockyard.archive.tarstream import ForwardReader, check_end, open_tar
from dockyard.errors import DockyardError, InvalidArgument, NotFound
from dockyard.image import tarstream
from dockyard.image.ingest import load_ref
from dockyard.image.model import ImageEvent, LoadedImage
from dockyard.image.resolve import familiar, id_prefix, tagged
from dockyard.image.service import ImageService
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest, Digester, DigestMismatch
from dockyard.oci.image import ImageConfig, Index, Manifest, parse_any
from dockyard.oci.platform import Platform
from dockyard.oci.reference import parse_normalized
from dockyard.store.leases import Lease, LeaseManager
from dockyard.store.metadata import ImageRecord

SMALL_FILE = 8 * 1024 * 1024
COPY_CHUNK = 1 << 20
_LAYER_TYPES = {
    Compression.NONE: mediatypes.OCI_LAYER_TAR,
    Compression.GZIP: mediatypes.OCI_LAYER_GZIP,
    Compression.ZSTD: mediatypes.OCI_LAYER_ZSTD,
}


class InvalidArchive(InvalidArgument):
    """The tarball is not an image archive we can read."""


@dataclass(frozen=True, slots=True)
class _Blob:
    digest: Digest
    size: int


@dataclass(frozen=True, slots=True)
class _LayerFacts:
    diff_id: Digest
    content_size: int  # dockerd's layer size: the bytes of its files (see archive.tarsize)
    media_type: str


class ArchiveIO:
    def __init__(self, service: ImageService, leases: LeaseManager) -> None:
        self.service = service
        self.leases = leases

    # ---- load -------------------------------------------------------------------------

    def load(self, stream: BinaryIO) -> list[LoadedImage]:
        try:
            return self._load(stream)
        except BaseException:
            # The lease is gone: what only it protected is garbage now, so do not keep it around.
            self.service.collect_garbage()
            raise

    def _load(self, stream: BinaryIO) -> list[LoadedImage]:
        content = self.service.content
        with self.leases.temporary() as lease:
            files: dict[str, _Blob] = {}
            small: dict[str, bytes] = {}
            links: dict[str, str] = {}
            # One forward pass with large reads (tarfile's stream mode reads 10 KiB at a time);
            # ``docker save | gzip`` output is accepted too.
            reader = ForwardReader(open_decompressed(stream))
            try:
                archive = open_tar(reader)
            except (tarfile.TarError, DockyardError) as exc:
                raise InvalidArchive(f"invalid archive: {exc}") from exc
            if archive is None:
                raise InvalidArchive("invalid archive: the archive is empty")
            try:
                for member in archive:
                    name = _clean(member.name)
                    if not name or member.isdir():
                        continue
                    if member.issym():
                        links[name] = _clean(posixpath.join(posixpath.dirname(name), member.linkname))
                        continue
                    if member.islnk():
                        links[name] = _clean(member.linkname)
                        continue
                    if not member.isfile():
                        continue
                    src = archive.extractfile(member)
                    assert src is not None
                    expected = _digest_from_blob_path(name)
                    if expected is None and (name.endswith("/json") or name.endswith("/VERSION")):
                        continue  # legacy v1 metadata of docker-archive: nothing reads it
                    in_memory = member.size <= SMALL_FILE and (
                        name.endswith(".json") or name in _TOP_LEVEL_JSON
                        or (expected is not None and member.size < 1 << 20))
                    if in_memory:
                        data = src.read()
                        if len(data) != member.size:
                            raise InvalidArchive("invalid archive: unexpected EOF")
                        small[name] = data
                        if name not in _TOP_LEVEL_JSON:
                            digest = content.write_blob(data, expected=expected)
                            lease.add("content", str(digest))
                            files[name] = _Blob(digest, len(data))
                        continue
                    ref = load_ref()
                    with content.writer(ref, expected=expected, total=member.size) as writer:
                        try:
                            left = member.size
                            while left:
                                chunk = src.read(min(COPY_CHUNK, left))
                                if not chunk:
                                    raise InvalidArchive("invalid archive: unexpected EOF")
                                writer.write(chunk)
                                left -= len(chunk)
                            digest = writer.commit(expected=expected, size=member.size)
                        except BaseException:
                            writer.abort()  # an archive cannot be resumed: keep no partial ingest
                            raise
                    lease.add("content", str(digest))
                    files[name] = _Blob(digest, member.size)
                check_end(archive, reader)
            except (tarfile.TarError, EOFError, OSError) as exc:
                raise InvalidArchive(f"invalid archive: {exc or 'unexpected EOF'}") from exc
            except CorruptLayer as exc:
                raise InvalidArchive(f"invalid archive: {exc}") from exc
            finally:
                archive.close()

            def resolve(path: str) -> str:
                seen = 0
                while path in links and seen < 32:
                    path, seen = links[path], seen + 1
                return path

            if "manifest.json" in small:
                plans = self._plan_docker_archive(small, files, resolve, lease)
            elif "index.json" in small:
                plans = self._plan_oci_layout(small, files)
            else:
                raise InvalidArchive("invalid archive: no manifest.json or index.json found "
                                     "(is it an image archive written by 'docker save'?)")
            return self._commit(plans)

    def _plan_docker_archive(self, small: dict[str, bytes], files: dict[str, _Blob],
                             resolve: Any, lease: Lease) -> list[_Plan]:
        try:
            entries = json.loads(small["manifest.json"])
            if not isinstance(entries, list):
                raise ValueError("manifest.json is not a list")
        except ValueError as exc:
            raise InvalidArchive(f"invalid archive: manifest.json: {exc}") from exc
        content = self.service.content
        plans = []
        for entry in entries:
            if not isinstance(entry, dict) or not isinstance(entry.get("Config"), str):
                raise InvalidArchive("invalid archive: manifest.json entry without Config")
            config_path = resolve(_clean(entry["Config"]))
            config_bytes = small.get(config_path)
            if config_bytes is None:
                blob = files.get(config_path)
                if blob is None:
                    raise InvalidArchive(f"invalid archive: config {entry['Config']} is missing")
                config_bytes = content.read_bytes(blob.digest)
            config_digest = content.write_blob(config_bytes)
            lease.add("content", str(config_digest))
            config = ImageConfig.from_bytes(config_bytes)
            layer_paths = entry.get("Layers") or []
            if len(layer_paths) != len(config.diff_ids):
                raise InvalidArchive(
                    f"invalid archive: {len(layer_paths)} layers listed but the config names "
                    f"{len(config.diff_ids)} diff IDs")
            layers = []
            for index, (path, diff_id) in enumerate(zip(layer_paths, config.diff_ids, strict=True)):
                blob = files.get(resolve(_clean(path)))
                if blob is None:
                    raise InvalidArchive(f"invalid archive: layer {path} is missing")
                facts = self._layer_facts(blob)
                _check_diff_id(index, diff_id, facts.diff_id)
                layers.append((blob, facts))
            tags = []
            for tag in entry.get("RepoTags") or []:
                tags.append(str(tagged(tag)))
            plans.append(_Plan(config_digest, config_bytes, config, layers, None, tags))
        return plans

    def _plan_oci_layout(self, small: dict[str, bytes], files: dict[str, _Blob]) -> list[_Plan]:
        content = self.service.content
        try:
            index = Index.from_bytes(small["index.json"])
        except DockyardError as exc:
            raise InvalidArchive(f"invalid archive: index.json: {exc}") from exc
        plans = []
        for desc in index.manifests:
            target = desc
            data = content.read_bytes(desc.digest)
            node = parse_any(desc.media_type, data)
            if isinstance(node, Index):
                chosen = node.select(Platform.host())
                data = content.read_bytes(chosen.digest)
                node = parse_any(chosen.media_type, data)
                if not isinstance(node, Manifest):
                    raise InvalidArchive("invalid archive: nested indexes are not supported")
            config_bytes = content.read_bytes(node.config.digest)
            config = ImageConfig.from_bytes(config_bytes)
            if len(node.layers) != len(config.diff_ids):
                raise InvalidArchive("invalid archive: manifest and config disagree on the layer count")
            layers = []
            for i, (layer, diff_id) in enumerate(zip(node.layers, config.diff_ids, strict=True)):
                if not content.exists(layer.digest):
                    raise InvalidArchive(f"invalid archive: layer {layer.digest} is missing")
                facts = self._layer_facts(_Blob(layer.digest, layer.size))
                _check_diff_id(i, diff_id, facts.diff_id)
                layers.append((_Blob(layer.digest, layer.size), facts))
            tags = []
            name = desc.annotations.get(mediatypes.ANNOTATION_CONTAINERD_IMAGE_NAME) or desc.annotations.get(
                mediatypes.ANNOTATION_REF_NAME, "")
            if name:
                try:
                    ref = parse_normalized(name)
                    tags.append(str(tagged(name)) if ref.tag or ref.digest is None else str(ref))
                except InvalidArgument:
                    pass  # a bare tag such as "latest" names no repository: load untagged
            plans.append(_Plan(node.config.digest, config_bytes, config, layers, (target, data), tags))
        return plans

    def _layer_facts(self, blob: _Blob) -> _LayerFacts:
        content = self.service.content
        with content.open(blob.digest) as f:
            kind = detect(f.read(8))
        if kind is Compression.NONE:
            with content.open(blob.digest) as f:
                return _LayerFacts(blob.digest, tar_content_size(f), _LAYER_TYPES[kind])
        digester = Digester()
        sizer = TarSizer()
        with content.open(blob.digest) as raw, open_decompressed(raw) as plain:
            while chunk := plain.read(COPY_CHUNK):
                digester.update(chunk)
                sizer.feed(chunk)
        return _LayerFacts(digester.digest(), sizer.total, _LAYER_TYPES[kind])

    def _commit(self, plans: list[_Plan]) -> list[LoadedImage]:
        service = self.service
        content = service.content
        metadata = service.metadata
        loaded: list[LoadedImage] = []
        with service.lock:
            for plan in plans:
                config_desc = Descriptor(media_type=mediatypes.OCI_CONFIG, digest=plan.config_digest,
                                         size=len(plan.config_bytes))
                if plan.target is None:
                    manifest = Manifest(config=config_desc, layers=tuple(
                        Descriptor(media_type=facts.media_type, digest=blob.digest, size=blob.size)
                        for blob, facts in plan.layers), media_type=mediatypes.OCI_MANIFEST)
                    manifest_bytes = manifest.to_bytes()
                    manifest_digest = content.write_blob(manifest_bytes)
                    target = Descriptor(media_type=mediatypes.OCI_MANIFEST, digest=manifest_digest,
                                        size=len(manifest_bytes))
                    extra_refs: list[str] = []
                else:
                    target, _ = plan.target
                    node = parse_any(target.media_type, content.read_bytes(target.digest))
                    if isinstance(node, Index):
                        chosen = node.select(Platform.host())
                        manifest_digest = chosen.digest
                        extra_refs = [str(chosen.digest)]
                    else:
                        manifest_digest = target.digest
                        extra_refs = []
                image_id = f"sha256:{plan.config_digest.hex}"
                record = ImageRecord(
                    id=image_id, target_digest=str(target.digest), target_media_type=target.media_type,
                    target_size=target.size, manifest_digest=str(manifest_digest),
                    config_digest=str(plan.config_digest), created_at=plan.config.created_unix(),
                    loaded_at=service.now(), size=sum(f.content_size for _, f in plan.layers), parent="",
                    layer_sizes=tuple(f.content_size for _, f in plan.layers),
                )
                refs = [str(target.digest), str(plan.config_digest), *extra_refs,
                        *(str(blob.digest) for blob, _ in plan.layers)]
                with metadata.transaction():
                    existing = metadata.find_image(image_id)
                    if existing is not None:
                        record = _keep_parent(record, existing)
                    metadata.put_image(record)
                    metadata.set_refs("image", image_id, [("content", r) for r in dict.fromkeys(refs)])
                    for tag in plan.tags:
                        metadata.set_tag(tag, image_id)
                for tag in plan.tags:
                    loaded.append(LoadedImage(image_id, familiar(tag)))
                if not plan.tags:
                    loaded.append(LoadedImage(image_id, None))
                service.emit(ImageEvent("load", image_id, {"name": image_id}))
            service.sync_layout_index()
        return loaded

    # ---- save -------------------------------------------------------------------------

    def save(self, names: Sequence[str]) -> Iterator[bytes]:
        """Resolve every name first (so errors come before any byte), then stream the tar."""
        if not names:
            raise InvalidArgument("no images specified")
        service = self.service
        chosen: dict[str, list[str]] = {}
        for name in names:
            for rec, tags in self._expand(name):
                chosen.setdefault(rec.id, [])
                for tag in tags:
                    if tag not in chosen[rec.id]:
                        chosen[rec.id].append(tag)
        records = {image_id: service.metadata.get_image(image_id) for image_id in chosen}
        return self._write(records, chosen)

    def _expand(self, name: str) -> list[tuple[ImageRecord, list[str]]]:
        service = self.service
        if id_prefix(name) is not None or name.startswith("sha256:"):
            try:
                rec = service.resolve(name)
            except NotFound:
                rec = None
            if rec is not None and not _is_tag_name(service, name):
                return [(rec, [])]
        ref = parse_normalized(name)
        if ref.tag is None and ref.digest is None:
            # A bare repository saves every tag of it, as Docker does.
            found = [(tag, image_id) for tag, image_id in service.metadata.all_tags().items()
                     if parse_normalized(tag).name == ref.name]
            if not found:
                raise NotFound(f"No such image: {ref.familiar_string()}")
            out: dict[str, tuple[ImageRecord, list[str]]] = {}
            for tag, image_id in sorted(found):
                rec = service.metadata.get_image(image_id)
                out.setdefault(image_id, (rec, []))[1].append(tag)
            return list(out.values())
        rec = service.resolve(name)
        return [(rec, [str(tagged(name))] if ref.digest is None else [])]

    def _write(self, records: dict[str, ImageRecord], chosen: dict[str, list[str]]) -> Iterator[bytes]:
        service = self.service
        content = service.content
        written: set[str] = set()
        manifest_json: list[dict[str, Any]] = []
        index_entries: list[dict[str, Any]] = []
        repositories: dict[str, dict[str, str]] = {}
        yield tarstream.directory("blobs")
        yield tarstream.directory("blobs/sha256")
        for image_id, rec in records.items():
            manifest = service.manifest_of(rec)
            blobs = [Digest.parse(rec.manifest_digest), manifest.config.digest,
                     *(layer.digest for layer in manifest.layers)]
            for digest in blobs:
                if str(digest) in written:
                    continue
                written.add(str(digest))
                info = content.info(digest)
                if info is None:
                    raise NotFound(f"content {digest} of image {image_id} is missing")
                with content.open(digest) as src:
                    yield from tarstream.file_stream(f"blobs/sha256/{digest.hex}", src, info.size)
            tags = chosen[image_id]
            manifest_json.append({
                "Config": f"blobs/sha256/{manifest.config.digest.hex}",
                "RepoTags": [familiar(t) for t in tags] or None,
                "Layers": [f"blobs/sha256/{layer.digest.hex}" for layer in manifest.layers],
            })
            target = Descriptor(media_type=mediatypes.OCI_MANIFEST if mediatypes.is_manifest(
                rec.target_media_type) else rec.target_media_type, digest=Digest.parse(rec.manifest_digest),
                size=content.info(Digest.parse(rec.manifest_digest)).size)  # type: ignore[union-attr]
            manifest_media = parse_any(None, content.read_bytes(target.digest)).media_type
            target = Descriptor(media_type=manifest_media, digest=target.digest, size=target.size)
            if not tags:
                index_entries.append(target.to_json_obj())
            for tag in tags:
                ref = parse_normalized(tag)
                annotations = {mediatypes.ANNOTATION_CONTAINERD_IMAGE_NAME: tag,
                               mediatypes.ANNOTATION_REF_NAME: ref.tag or ""}
                index_entries.append(Descriptor(media_type=target.media_type, digest=target.digest,
                                                size=target.size, annotations=annotations).to_json_obj())
                repositories.setdefault(ref.familiar_name, {})[ref.tag or "latest"] = manifest.config.digest.hex
            service.emit(ImageEvent("save", image_id, {"name": image_id}))
        index = {"schemaVersion": 2, "mediaType": mediatypes.OCI_INDEX, "manifests": index_entries}
        yield tarstream.file_bytes("index.json", _json(index))
        yield tarstream.file_bytes("manifest.json", _json(manifest_json))
        yield tarstream.file_bytes("oci-layout", _json({"imageLayoutVersion": mediatypes.OCI_LAYOUT_VERSION}))
        if repositories:
            yield tarstream.file_bytes("repositories", _json(repositories))
        yield tarstream.end()


@dataclass(frozen=True, slots=True)
class _Plan:
    config_digest: Digest
    config_bytes: bytes
    config: ImageConfig
    layers: list[tuple[_Blob, _LayerFacts]]
    target: tuple[Descriptor, bytes] | None   # the OCI layout's descriptor, when there was one
    tags: list[str]


_TOP_LEVEL_JSON = {"manifest.json", "index.json", "repositories", "oci-layout"}


def _json(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode() + b"\n"


def _clean(name: str) -> str:
    cleaned = posixpath.normpath("/" + name).lstrip("/")
    return "" if cleaned == "." else cleaned


def _digest_from_blob_path(name: str) -> Digest | None:
    parts = name.split("/")
    if len(parts) == 3 and parts[0] == "blobs":
        try:
            return Digest.parse(f"{parts[1]}:{parts[2]}")
        except InvalidArgument as exc:
            raise InvalidArchive(f"invalid archive: {name} is not named by a digest") from exc
    return None


def _check_diff_id(index: int, expected: Digest, actual: Digest) -> None:
    if expected != actual:
        raise DigestMismatch(expected, actual) from InvalidArchive(
            f"layer {index}: diff ID does not match the image config")


def _is_tag_name(service: ImageService, name: str) -> bool:
    try:
        return service.metadata.get_tag(str(tagged(name))) is not None
    except InvalidArgument:
        return False


def _keep_parent(new: ImageRecord, old: ImageRecord) -> ImageRecord:
    import dataclasses

    return dataclasses.replace(new, parent=old.parent or new.parent)
