"""The daemon's image backend: runs the synchronous image service in worker threads."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import BinaryIO, cast

from dockyard.engine.bridge import consume_in_thread, iterate_in_thread
from dockyard.errors import InvalidArgument
from dockyard.image.archive_io import ArchiveIO
from dockyard.image.importer import import_rootfs
from dockyard.image.model import DeleteRecord, HistoryItem, ImageView, LoadedImage, PruneReport
from dockyard.image.service import ImageService, ListFilters
from dockyard.oci.image import parse_rfc3339
from dockyard.store.leases import LeaseManager
from dockyard.units import parse_go_duration


def _until(values: list[str]) -> float | None:
    """``until`` filters: unix time, RFC 3339 or a duration ago (``24h``)."""
    if not values:
        return None
    text = values[-1]
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_rfc3339(text)
    except (ValueError, InvalidArgument):
        pass
    seconds = parse_go_duration(text)
    if seconds is None:
        raise InvalidArgument(f"failed to parse value as time or duration: \"{text}\"")
    return time.time() - seconds


def _bool_filter(values: list[str], name: str) -> bool | None:
    if not values:
        return None
    value = values[-1].lower()
    if value in ("true", "1"):
        return True
    if value in ("false", "0"):
        return False
    raise InvalidArgument(f"Invalid filter '{name}={values[-1]}'")


class ImageEngine:
    def __init__(self, service: ImageService, leases: LeaseManager, graph_driver: str) -> None:
        self.service = service
        self.archive = ArchiveIO(service, leases)
        self.leases = leases
        self.graph_driver = graph_driver

    async def list_images(self, *, all_images: bool, filters: dict[str, list[str]]) -> list[ImageView]:
        def created_of(ref: str) -> float:
            return self.service.resolve(ref).created_at

        def run() -> list[ImageView]:
            before = created_of(filters["before"][-1]) if filters.get("before") else None
            since = created_of(filters["since"][-1]) if filters.get("since") else None
            spec = ListFilters(
                dangling=_bool_filter(filters.get("dangling", []), "dangling"),
                references=tuple(filters.get("reference", [])), labels=tuple(filters.get("label", [])),
                before=before, since=since, until=_until(filters.get("until", [])),
            )
            return self.service.list_images(all_images=all_images, filters=spec)

        return await asyncio.to_thread(run)

    async def shared_sizes(self) -> dict[str, int]:
        return await asyncio.to_thread(self.service.shared_sizes)

    async def inspect_image(self, name: str) -> ImageView:
        return await asyncio.to_thread(self.service.inspect, name)

    async def image_history(self, name: str) -> list[HistoryItem]:
        return await asyncio.to_thread(self.service.history, name)

    async def tag_image(self, source: str, repo: str, tag: str) -> None:
        target = f"{repo}:{tag}" if tag else repo
        await asyncio.to_thread(self.service.tag, source, target)

    async def remove_image(self, name: str, *, force: bool, prune: bool) -> list[DeleteRecord]:
        return await asyncio.to_thread(self.service.remove, name, force=force, prune=prune)

    async def prune_images(self, filters: dict[str, list[str]]) -> PruneReport:
        dangling = _bool_filter(filters.get("dangling", []), "dangling")
        return await asyncio.to_thread(
            self.service.prune, all_images=dangling is False, until=_until(filters.get("until", [])),
            labels=filters.get("label", []), negated_labels=filters.get("label!", []))

    async def load_images(self, body: AsyncIterator[bytes]) -> list[LoadedImage]:
        return await consume_in_thread(body, lambda reader: self.archive.load(cast(BinaryIO, reader)))

    async def save_images(self, names: list[str]) -> AsyncIterator[bytes]:
        iterator = await asyncio.to_thread(self.archive.save, names)
        return iterate_in_thread(iterator)

    async def import_image(self, body: AsyncIterator[bytes], *, repo: str, tag: str, changes: list[str],
                           message: str, platform: str, source: str) -> str:
        repo_tag = (f"{repo}:{tag}" if tag else repo) or None
        return await consume_in_thread(body, lambda reader: import_rootfs(
            self.service, self.leases, cast(BinaryIO, reader), repo_tag=repo_tag, changes=changes, message=message,
            platform=platform or None, source=source))
