"""``docker pull``: resolve, fetch (in parallel, resumable, verified), unpack, tag.

Everything fetched is held by a lease until the image record owns it. Blobs are written under
ingest refs named after their digest, so a pull cut short by an error, Ctrl-C or ``kill -9``
leaves a partial ingest that the next pull of the same blob continues with a Range request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dockyard.distribution.client import RegistryClient
from dockyard.distribution.credentials import Credentials
from dockyard.distribution.hosts import RegistryHosts
from dockyard.errors import NotFound
from dockyard.image.ingest import fetch_ref
from dockyard.image.model import ImageEvent
from dockyard.image.progress import Progress, ProgressSink, ThrottledBytes, short_id
from dockyard.image.service import ImageService
from dockyard.image.unpack import unpack_layers
from dockyard.oci import mediatypes
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.image import ImageConfig, Index, Manifest, parse_any
from dockyard.oci.platform import Platform
from dockyard.oci.reference import Reference, with_default_tag
from dockyard.store.leases import Lease, LeaseManager
from dockyard.store.metadata import ImageRecord

ClientFactory = Callable[[str, str, Credentials | None], RegistryClient]


@dataclass(frozen=True, slots=True)
class PullOptions:
    platform: Platform | None = None
    concurrency: int = 3


@dataclass(frozen=True, slots=True)
class PullResult:
    image_id: str
    reference: str        # the familiar reference pulled, e.g. "busybox:latest"
    digest: str           # the digest the registry resolved it to
    updated: bool         # False when the image was already up to date


class Puller:
    def __init__(self, service: ImageService, leases: LeaseManager, hosts: RegistryHosts, *,
                 client_factory: ClientFactory | None = None) -> None:
        self.service = service
        self.leases = leases
        self.hosts = hosts
        self.client_factory: ClientFactory = client_factory or (
            lambda registry, repository, creds: RegistryClient(registry, repository, credentials=creds,
                                                               hosts=hosts))

    def pull(self, ref: Reference, *, credentials: Credentials | None, progress: ProgressSink,
             options: PullOptions = PullOptions()) -> PullResult:
        ref = with_default_tag(ref)
        client = self.client_factory(ref.domain, ref.path, credentials)
        try:
            return self._pull(client, ref, progress, options)
        finally:
            client.close()

    def all_tags(self, ref: Reference, *, credentials: Credentials | None, progress: ProgressSink,
                 options: PullOptions = PullOptions()) -> list[PullResult]:
        client = self.client_factory(ref.domain, ref.path, credentials)
        try:
            tags = client.list_tags()
        finally:
            client.close()
        progress(Progress(f"Pulling from {ref.path}", id=""))
        return [self.pull(ref.with_tag(tag), credentials=credentials, progress=progress, options=options)
                for tag in tags]

    # ---- the flow ---------------------------------------------------------------------

    def _pull(self, client: RegistryClient, ref: Reference, progress: ProgressSink,
              options: PullOptions) -> PullResult:
        service = self.service
        shown = ref.familiar_string()
        wanted = options.platform or Platform.host()
        reference = str(ref.digest) if ref.digest else (ref.tag or "latest")
        try:
            target = client.resolve(reference)
        except NotFound as exc:
            raise NotFound(f"manifest for {shown} not found: {exc}") from exc
        if ref.digest is not None and target.digest != ref.digest:
            target = dataclasses.replace(target, digest=ref.digest)
        progress(Progress(f"Pulling from {_repo_display(ref)}", id=ref.tag or str(ref.digest)))
        with self.leases.temporary() as lease:
            target_bytes = self._fetch_small(client, target, lease)
            node = parse_any(target.media_type, target_bytes)
            manifest_desc = target
            if isinstance(node, Index):
                manifest_desc = node.select(wanted)
                node = parse_any(manifest_desc.media_type, self._fetch_small(client, manifest_desc, lease))
                if isinstance(node, Index):
                    raise NotFound("nested image indexes are not supported")
            manifest: Manifest = node
            config_bytes = self._fetch_small(client, manifest.config, lease)
            config = ImageConfig.from_bytes(config_bytes)
            image_id = f"sha256:{manifest.config.digest.hex}"
            self._fetch_layers(client, manifest, lease, progress, options.concurrency)

            def on_layer(index: int, what: str) -> None:
                layer_id = short_id(str(manifest.layers[index].digest))
                if what == "start":
                    progress(Progress("Extracting", layer_id, current=0, total=manifest.layers[index].size))
                elif what == "done":
                    progress(Progress("Pull complete", layer_id))

            unpacked = unpack_layers(service, self.leases, config, manifest, lease=lease, on_layer=on_layer)
            updated = self._record(ref, target, manifest_desc, manifest, config, config_bytes, image_id,
                                   unpacked.chain_ids, unpacked.sizes)
        progress(Progress(f"Digest: {target.digest}"))
        if updated:
            progress(Progress(f"Status: Downloaded newer image for {shown}"))
        else:
            progress(Progress(f"Status: Image is up to date for {shown}"))
        service.emit(ImageEvent("pull", shown, {"name": shown}))
        return PullResult(image_id, shown, str(target.digest), updated)

    def _fetch_small(self, client: RegistryClient, desc: Descriptor, lease: Lease) -> bytes:
        """Manifests, indexes and configs: fetched whole, verified, stored (or read back)."""
        content = self.service.content
        if content.exists(desc.digest):
            lease.add("content", str(desc.digest))
            return content.read_bytes(desc.digest)
        if mediatypes.is_manifest(desc.media_type) or mediatypes.is_index(desc.media_type):
            _, data, _ = client.get_manifest(str(desc.digest))
        else:
            with content.writer(fetch_ref(desc.digest), expected=desc.digest, total=desc.size) as writer:
                client.fetch_blob(desc, writer)
                writer.commit(expected=desc.digest, size=desc.size)
            lease.add("content", str(desc.digest))
            return content.read_bytes(desc.digest)
        digest = content.write_blob(data, expected=desc.digest)
        lease.add("content", str(digest))
        return data

    def _fetch_layers(self, client: RegistryClient, manifest: Manifest, lease: Lease, progress: ProgressSink,
                      concurrency: int) -> None:
        content = self.service.content
        todo: list[Descriptor] = []
        for layer in manifest.layers:
            layer_id = short_id(str(layer.digest))
            with self.service.lock:
                present = content.exists(layer.digest)
                if present:
                    lease.add("content", str(layer.digest))
            if present:
                progress(Progress("Already exists", layer_id))
            elif layer.digest not in {t.digest for t in todo}:
                progress(Progress("Pulling fs layer", layer_id))
                todo.append(layer)
        if not todo:
            return

        def fetch(layer: Descriptor) -> None:
            layer_id = short_id(str(layer.digest))
            with content.writer(fetch_ref(layer.digest), expected=layer.digest, total=layer.size) as writer:
                if writer.offset == 0:
                    progress(Progress("Waiting", layer_id))
                meter = ThrottledBytes(progress, id=layer_id, status="Downloading", total=layer.size,
                                       start=writer.offset)
                client.fetch_blob(layer, writer, on_progress=meter.add)
                progress(Progress("Verifying Checksum", layer_id))
                with self.service.lock:
                    writer.commit(expected=layer.digest, size=layer.size)
                    lease.add("content", str(layer.digest))
            progress(Progress("Download complete", layer_id))

        with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="pull") as pool:
            futures = [pool.submit(fetch, layer) for layer in todo]
            errors = []
            for future in futures:
                try:
                    future.result()
                except BaseException as exc:  # let the other downloads finish (or fail) first
                    errors.append(exc)
            if errors:
                raise errors[0]

    def _record(self, ref: Reference, target: Descriptor, manifest_desc: Descriptor, manifest: Manifest,
                config: ImageConfig, config_bytes: bytes, image_id: str, chains: tuple[str, ...],
                sizes: tuple[int, ...]) -> bool:
        service = self.service
        metadata = service.metadata
        repo_digest = f"{ref.name}@{target.digest}"
        with service.lock:
            existing = metadata.find_image(image_id)
            record = ImageRecord(
                id=image_id, target_digest=str(target.digest), target_media_type=target.media_type,
                target_size=target.size, manifest_digest=str(manifest_desc.digest),
                config_digest=str(manifest.config.digest), created_at=config.created_unix(),
                loaded_at=service.now(), size=sum(sizes), parent=existing.parent if existing else "",
                layer_sizes=sizes,
            )
            refs = [("content", d) for d in dict.fromkeys(
                [str(target.digest), str(manifest_desc.digest), str(manifest.config.digest),
                 *(str(layer.digest) for layer in manifest.layers)])]
            refs += [("snapshot", c) for c in chains]
            tag_name = str(ref) if ref.digest is None else None
            with metadata.transaction():
                previous = metadata.get_tag(tag_name) if tag_name else None
                had_digest = metadata.get_repo_digest(repo_digest) == image_id
                metadata.put_image(record)
                metadata.set_refs("image", image_id, refs)
                metadata.add_repo_digest(repo_digest, image_id)
                if tag_name:
                    metadata.set_tag(tag_name, image_id)
            service.sync_layout_index()
        if tag_name:
            return not (existing is not None and previous == image_id and had_digest)
        return not (existing is not None and had_digest)


def _repo_display(ref: Reference) -> str:
    """Docker prints "Pulling from library/busybox" (the path, without the registry)."""
    return ref.path


__all__ = ["PullOptions", "PullResult", "Puller"]
