"""``docker push``: blobs first (skipped when present, mounted when another repository of the
same registry has them, uploaded otherwise, in parallel), then the manifest under the tag."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from dockyard.distribution.client import RegistryClient
from dockyard.distribution.credentials import Credentials
from dockyard.distribution.hosts import RegistryHosts
from dockyard.errors import NotFound
from dockyard.image.model import ImageEvent
from dockyard.image.progress import Progress, ProgressSink, ThrottledBytes, short_id
from dockyard.image.service import ImageService
from dockyard.oci.descriptor import Descriptor
from dockyard.oci.digest import Digest
from dockyard.oci.image import Manifest, parse_any
from dockyard.oci.reference import Reference, parse_normalized
from dockyard.store.metadata import ImageRecord

ClientFactory = Callable[[str, str, Credentials | None], RegistryClient]


@dataclass(frozen=True, slots=True)
class PushResult:
    tag: str
    digest: str
    size: int


class Pusher:
    def __init__(self, service: ImageService, hosts: RegistryHosts, *, concurrency: int = 5,
                 client_factory: ClientFactory | None = None) -> None:
        self.service = service
        self.hosts = hosts
        self.concurrency = concurrency
        self.client_factory: ClientFactory = client_factory or (
            lambda registry, repository, creds: RegistryClient(registry, repository, credentials=creds,
                                                               hosts=hosts))

    def push(self, name: str, tag: str | None, *, credentials: Credentials | None,
             progress: ProgressSink) -> list[PushResult]:
        """Push ``name:tag``, or every local tag of the repository when ``tag`` is None."""
        repo = parse_normalized(name).without_tag_and_digest()
        if tag:
            refs = [repo.with_tag(tag)]
        else:
            refs = sorted((parse_normalized(t) for t in self.service.metadata.all_tags()
                           if parse_normalized(t).name == repo.name), key=str)
            if not refs:
                raise NotFound(f"An image does not exist locally with the tag: {repo.familiar_name}")
        records = [(ref, self._resolve(ref)) for ref in refs]
        progress(Progress(f"The push refers to repository [{repo.name}]"))
        client = self.client_factory(repo.domain, repo.path, credentials)
        try:
            return [self._push_one(client, ref, rec, progress) for ref, rec in records]
        finally:
            client.close()

    def _resolve(self, ref: Reference) -> ImageRecord:
        try:
            return self.service.resolve(str(ref))
        except NotFound as exc:
            raise NotFound(f"An image does not exist locally with the tag: {ref.familiar_string()}") from exc

    def _push_one(self, client: RegistryClient, ref: Reference, rec: ImageRecord,
                  progress: ProgressSink) -> PushResult:
        service = self.service
        content = service.content
        manifest_digest = Digest.parse(rec.manifest_digest)
        manifest_bytes = content.read_bytes(manifest_digest)
        manifest = parse_any(None, manifest_bytes)
        assert isinstance(manifest, Manifest)
        layers = list(reversed(manifest.layers))  # Docker lists the top layer first
        for layer in layers:
            progress(Progress("Preparing", short_id(str(layer.digest))))
        mount_sources = self._mount_sources(ref, manifest)

        def push_layer(layer: Descriptor) -> None:
            layer_id = short_id(str(layer.digest))
            if client.blob_exists(layer.digest) is not None:
                progress(Progress("Layer already exists", layer_id))
                return
            for source in mount_sources.get(str(layer.digest), []):
                if client.mount_blob(layer.digest, source):
                    progress(Progress(f"Mounted from {source}", layer_id))
                    return
            progress(Progress("Waiting", layer_id))
            meter = ThrottledBytes(progress, id=layer_id, status="Pushing", total=layer.size)
            client.upload_blob(layer, lambda: content.open(layer.digest), on_progress=meter.add)
            progress(Progress("Pushed", layer_id))

        with ThreadPoolExecutor(max_workers=max(1, self.concurrency), thread_name_prefix="push") as pool:
            futures = [pool.submit(push_layer, layer) for layer in dict.fromkeys(layers)]
            errors = []
            for future in futures:
                try:
                    future.result()
                except BaseException as exc:
                    errors.append(exc)
            if errors:
                raise errors[0]
        if client.blob_exists(manifest.config.digest) is None:
            client.upload_blob(manifest.config, lambda: content.open(manifest.config.digest))
        tag = ref.tag or "latest"
        digest = client.put_manifest(tag, manifest.media_type, manifest_bytes)
        size = len(manifest_bytes)
        progress(Progress(f"{tag}: digest: {digest} size: {size}"))
        progress(Progress("", aux={"Tag": tag, "Digest": str(digest), "Size": size}))
        with service.lock, service.metadata.transaction():
            service.metadata.add_repo_digest(f"{ref.name}@{digest}", rec.id)
        service.emit(ImageEvent("push", ref.familiar_string(), {"name": ref.familiar_string()}))
        return PushResult(tag, str(digest), size)

    def _mount_sources(self, ref: Reference, manifest: Manifest) -> dict[str, list[str]]:
        """Other repositories on the same registry known to hold a layer (we pulled from or pushed
        to them: they have a repo digest), candidates for a blob mount."""
        service = self.service
        wanted = {str(layer.digest) for layer in manifest.layers}
        sources: dict[str, list[str]] = {}
        names = list(service.metadata.all_repo_digests())
        for name in names:
            other = parse_normalized(name)
            if other.domain != ref.domain or other.path == ref.path:
                continue
            image_id = service.metadata.get_repo_digest(name)
            rec = service.metadata.find_image(image_id) if image_id else None
            if rec is None:
                continue
            try:
                other_manifest = service.manifest_of(rec)
            except NotFound:
                continue
            for layer in other_manifest.layers:
                key = str(layer.digest)
                if key in wanted and other.path not in sources.setdefault(key, []):
                    sources[key].append(other.path)
        return sources
