"""The daemon's registry backend: pull, push, login and distribution inspect, run in threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from dockyard.distribution.client import RegistryClient
from dockyard.distribution.credentials import Credentials, DockerConfigCredentials, decode_registry_auth
from dockyard.distribution.hosts import RegistryHosts
from dockyard.engine.bridge import stream_from_thread
from dockyard.errors import DockyardError, InvalidArgument, Unauthorized
from dockyard.image.progress import Progress, ProgressSink
from dockyard.image.pull import Puller, PullOptions
from dockyard.image.push import Pusher
from dockyard.image.service import ImageService
from dockyard.oci.digest import Digest
from dockyard.oci.image import ImageConfig, Index, Manifest, parse_any
from dockyard.oci.platform import Platform
from dockyard.oci.reference import parse_normalized
from dockyard.store.leases import LeaseManager


def registry_of_server_address(address: str) -> str:
    """``https://index.docker.io/v1/`` → ``docker.io``; ``http://127.0.0.1:5000/`` → ``127.0.0.1:5000``."""
    text = address.strip()
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix):]
    text = text.split("/", 1)[0]
    if text in ("", "index.docker.io", "registry-1.docker.io", "docker.io"):
        return "docker.io"
    return text


class RegistryEngine:
    def __init__(self, service: ImageService, leases: LeaseManager, hosts: RegistryHosts, *,
                 max_downloads: int = 3, max_uploads: int = 5,
                 stored_credentials: DockerConfigCredentials | None = None) -> None:
        self.service = service
        self.hosts = hosts
        self.puller = Puller(service, leases, hosts)
        self.pusher = Pusher(service, hosts, concurrency=max_uploads)
        self.max_downloads = max_downloads
        self.stored = stored_credentials or DockerConfigCredentials()

    def _credentials(self, registry: str, auth_header: str | None) -> Credentials | None:
        """The client's X-Registry-Auth wins; otherwise logins stored in Docker's config file."""
        given = decode_registry_auth(auth_header)
        if given is not None and (given.username or given.password or given.identity_token
                                  or given.registry_token):
            return given
        try:
            return self.stored.get(registry)
        except Exception:  # an unreadable config file must not break anonymous pulls
            return None

    def pull(self, from_image: str, tag: str, *, platform: str, auth_header: str | None) -> AsyncIterator[Progress]:
        ref = parse_normalized(from_image)
        if tag:
            ref = ref.with_digest(Digest.parse(tag)) if Digest.is_digest(tag) else ref.with_tag(tag)
        options = PullOptions(platform=Platform.parse(platform) if platform else None,
                              concurrency=self.max_downloads)
        creds = self._credentials(ref.domain, auth_header)

        def work(emit: ProgressSink) -> None:
            try:
                if ref.tag is None and ref.digest is None:
                    self.puller.all_tags(ref, credentials=creds, progress=emit, options=options)
                else:
                    self.puller.pull(ref, credentials=creds, progress=emit, options=options)
            except Unauthorized as exc:
                # A 401 from the daemon makes the docker CLI start its interactive login and wait
                # there; dockerd reports a registry's refusal as a plain error instead.
                raise DockyardError(str(exc)) from exc

        return stream_from_thread(work)

    def push(self, name: str, tag: str, *, auth_header: str | None) -> AsyncIterator[Progress]:
        ref = parse_normalized(name)
        if ref.digest is not None:
            raise InvalidArgument("cannot push a digest reference")
        creds = self._credentials(ref.domain, auth_header)
        chosen = tag or ref.tag

        def work(emit: ProgressSink) -> None:
            self.pusher.push(str(ref.without_tag_and_digest()), chosen, credentials=creds, progress=emit)

        return stream_from_thread(work)

    async def login(self, username: str, password: str, server_address: str, identity_token: str = "") -> str:
        registry = registry_of_server_address(server_address)
        creds = Credentials(username=username, password=password, identity_token=identity_token)

        def run() -> None:
            client = RegistryClient(registry, "", credentials=creds, hosts=self.hosts)
            try:
                client.ping()
            finally:
                client.close()

        await asyncio.to_thread(run)
        return "Login Succeeded"

    async def distribution_inspect(self, name: str, auth_header: str | None) -> dict[str, Any]:
        ref = parse_normalized(name)
        creds = self._credentials(ref.domain, auth_header)

        def run() -> dict[str, Any]:
            client = RegistryClient(ref.domain, ref.path, credentials=creds, hosts=self.hosts)
            try:
                target = client.resolve(str(ref.digest) if ref.digest else (ref.tag or "latest"))
                media_type, data, _ = client.get_manifest(str(target.digest))
                node = parse_any(media_type, data)
                platforms: list[dict[str, Any]] = []
                if isinstance(node, Index):
                    platforms = [m.platform.to_json_obj() for m in node.manifests if m.platform is not None]
                elif isinstance(node, Manifest):
                    sink = _BytesSink()
                    client.fetch_blob(node.config, sink)
                    config = ImageConfig.from_bytes(bytes(sink.data))
                    platforms = [config.platform.to_json_obj()]
                return {"Descriptor": target.to_json_obj(), "Platforms": platforms}
            finally:
                client.close()

        return await asyncio.to_thread(run)


class _BytesSink:
    def __init__(self) -> None:
        self.data = bytearray()

    @property
    def offset(self) -> int:
        return len(self.data)

    def write(self, data: bytes) -> int:
        self.data += data
        return len(data)

    def truncate(self, size: int = 0) -> None:
        del self.data[size:]
