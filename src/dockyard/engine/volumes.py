"""The daemon's volume service: the local driver behind ``/volumes``, with events, filters and prune."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from dockyard.errors import DockyardError, InvalidArgument
from dockyard.labels import label_matches
from dockyard.store.metadata import VolumeRecord
from dockyard.volume.local import ANONYMOUS_LABEL, DRIVER, LocalVolumes

Publish = Callable[[str, str, str, Mapping[str, str]], object]
FILTERS = {"name", "driver", "label", "dangling", "all"}


@dataclass(frozen=True, slots=True)
class VolumeView:
    record: VolumeRecord
    mountpoint: str
    size: int = -1        # bytes, when asked for (system df)
    ref_count: int = -1   # containers using it, when asked for


def _truth(value: str, key: str) -> bool:
    if value.lower() in ("1", "true"):
        return True
    if value.lower() in ("0", "false"):
        return False
    raise InvalidArgument(f"invalid filter '{key}={value}'")


class VolumeEngine:
    def __init__(self, volumes: LocalVolumes, publish: Publish) -> None:
        self.local = volumes
        self.publish = publish

    def _view(self, rec: VolumeRecord, *, usage: bool = False) -> VolumeView:
        path = str(self.local.path(rec.name))
        if not usage:
            return VolumeView(rec, path)
        return VolumeView(rec, path, self.local.usage(rec.name), len(self.local.users(rec.name)))

    def _select(self, filters: Mapping[str, list[str]]) -> list[VolumeRecord]:
        unknown = set(filters) - FILTERS
        if unknown:
            raise InvalidArgument(f"Invalid filter '{sorted(unknown)[0]}'")
        out = []
        for rec in self.local.all():
            if "name" in filters and not any(v in rec.name for v in filters["name"]):
                continue
            if "driver" in filters and rec.driver not in filters["driver"]:
                continue
            if "label" in filters and not all(label_matches(rec.labels, v) for v in filters["label"]):
                continue
            if "dangling" in filters:
                dangling = _truth(filters["dangling"][-1], "dangling")
                if dangling == bool(self.local.users(rec.name)):
                    continue
            out.append(rec)
        return out

    async def volumes(self, filters: Mapping[str, list[str]], *, usage: bool = False) -> list[VolumeView]:
        def run() -> list[VolumeView]:
            return [self._view(rec, usage=usage) for rec in self._select(filters)]

        return await asyncio.to_thread(run)

    async def create(self, name: str, *, driver: str, labels: Mapping[str, str],
                     options: Mapping[str, str]) -> VolumeView:
        def run() -> VolumeView:
            rec, created = self.local.create(name, driver=driver, labels=labels, options=options)
            if created:
                self.publish("volume", "create", rec.name, {"driver": rec.driver})
            return self._view(rec)

        return await asyncio.to_thread(run)

    async def inspect(self, name: str) -> VolumeView:
        return await asyncio.to_thread(lambda: self._view(self.local.get(name)))

    async def remove(self, name: str, *, force: bool) -> None:
        def run() -> None:
            existed = self.local.metadata.find_volume(name) is not None
            self.local.remove(name, force=force)
            if existed:
                self.publish("volume", "destroy", name, {"driver": DRIVER})

        await asyncio.to_thread(run)

    async def prune(self, filters: Mapping[str, list[str]]) -> tuple[list[str], int]:
        """Unused volumes; since API 1.42 only anonymous ones unless ``all`` is set."""
        every = _truth(filters["all"][-1], "all") if "all" in filters else False
        rest = {k: v for k, v in filters.items() if k not in ("all", "dangling")}

        def run() -> tuple[list[str], int]:
            deleted: list[str] = []
            reclaimed = 0
            for rec in self._select(rest):
                if (not every and ANONYMOUS_LABEL not in rec.labels) or self.local.users(rec.name):
                    continue
                size = self.local.usage(rec.name)
                try:
                    self.local.remove(rec.name)
                except DockyardError:
                    continue  # taken or still mounted meanwhile: left, as dockerd leaves it
                self.publish("volume", "destroy", rec.name, {"driver": DRIVER})
                deleted.append(rec.name)
                reclaimed += size
            return deleted, reclaimed

        return await asyncio.to_thread(run)


__all__ = ["VolumeEngine", "VolumeView"]
