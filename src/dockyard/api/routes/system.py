"""``/_ping``, ``/version``, ``/info``, ``/system/df``, ``/events`` and dockyard's store check."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any, Protocol

from dockyard.api import container_wire, params, wire
from dockyard.api.responses import json_response
from dockyard.api.router import Router
from dockyard.api.versioning import API_VERSION
from dockyard.engine.containers.record import ContainerRecord
from dockyard.engine.events import Event, EventFilter
from dockyard.engine.volumes import VolumeView
from dockyard.errors import InvalidArgument
from dockyard.http.server import Request, Response
from dockyard.image.model import ImageView

PING_HEADERS = [
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Cache-Control", "no-cache, no-store, must-revalidate"),
    ("Pragma", "no-cache"),
    ("Builder-Version", "1"),
    ("Swarm", "inactive"),
]


class SystemBackend(Protocol):
    async def version(self) -> dict[str, Any]: ...
    async def info(self) -> dict[str, Any]: ...
    async def disk_usage(self) -> tuple[int, list[tuple[ImageView, int]]]: ...
    async def check_store(self, *, repair: bool) -> list[tuple[str, str, str]]: ...
    def events(self, *, since_ns: int | None, until_ns: int | None,
               filters: EventFilter) -> AsyncIterator[Event]: ...


def _event_json(event: Event) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Type": event.type,
        "Action": event.action,
        "Actor": {"ID": event.actor_id, "Attributes": dict(event.attributes)},
        "scope": "local",
        "time": event.time_nano // 1_000_000_000,
        "timeNano": event.time_nano,
    }
    if event.type in ("container", "image"):
        # Legacy fields: compose v1 and older clients still read them.
        out["status"] = event.action
        out["id"] = event.actor_id
        if "image" in event.attributes:
            out["from"] = event.attributes["image"]
    return out


class UsageBackend(Protocol):
    """What ``/system/df`` adds to the images: the containers with their sizes, the volumes."""

    def all(self) -> list[ContainerRecord]: ...
    def sizes(self, rec: ContainerRecord) -> tuple[int, int]: ...


class VolumeUsage(Protocol):
    async def volumes(self, filters: Mapping[str, list[str]], *, usage: bool = False) -> list[VolumeView]: ...


DF_TYPES = ("container", "image", "volume", "build-cache")


class SystemRoutes:
    def __init__(self, backend: SystemBackend, containers: UsageBackend | None = None,
                 volumes: VolumeUsage | None = None) -> None:
        self.backend = backend
        self.containers = containers
        self.volumes = volumes

    def register(self, router: Router) -> None:
        router.add("GET", "/_ping", self.ping)
        router.add("GET", "/version", self.version)
        router.add("GET", "/info", self.info)
        router.add("GET", "/system/df", self.df)
        router.add("POST", "/build/prune", self.build_prune)
        router.add("GET", "/events", self.events)
        router.add("POST", "/dockyard/system/check", self.check)

    async def ping(self, req: Request) -> Response:
        body = b"" if req.method == "HEAD" else b"OK"
        headers = list(PING_HEADERS)
        if req.method == "HEAD":
            headers.append(("Content-Length", "0"))
        return Response(status=200, headers=headers, body=body)

    async def version(self, req: Request) -> Response:
        return json_response(await self.backend.version())

    async def info(self, req: Request) -> Response:
        return json_response(await self.backend.info())

    async def df(self, req: Request) -> Response:
        types = req.query.get("type") or list(DF_TYPES)  # API 1.42: only the kinds asked for
        for kind in types:
            if kind not in DF_TYPES:
                raise InvalidArgument(f"unknown object type: {kind}")
        records = await asyncio.to_thread(self.containers.all) if self.containers is not None else []
        out: dict[str, Any] = {"LayersSize": 0, "Images": None, "Containers": None, "Volumes": None,
                               "BuildCache": None}
        if "image" in types:
            layers_size, images = await self.backend.disk_usage()
            users = Counter(rec.image_id for rec in records)
            out["LayersSize"] = layers_size
            out["Images"] = [wire.image_summary(v, shared_size=shared, containers=users[v.id], api_version=API_VERSION)
                             for v, shared in images]
        if "container" in types:
            out["Containers"] = await asyncio.to_thread(self._container_usage, records)
        if "volume" in types:
            views = await self.volumes.volumes({}, usage=True) if self.volumes is not None else []
            out["Volumes"] = [wire.volume(v) for v in views]
        if "build-cache" in types:
            out["BuildCache"] = []
        return json_response(out)

    def _container_usage(self, records: list[ContainerRecord]) -> list[dict[str, Any]]:
        assert self.containers is not None
        now = time.time()
        summaries = []
        for rec in records:
            summary = container_wire.container_summary(rec, now=now)
            summary["SizeRw"], summary["SizeRootFs"] = self.containers.sizes(rec)
            summaries.append(summary)
        return summaries

    async def build_prune(self, req: Request) -> Response:
        """There is no build cache (``system df`` shows it empty): nothing to prune."""
        return json_response({"CachesDeleted": None, "SpaceReclaimed": 0})

    async def check(self, req: Request) -> Response:
        repair = params.flag(req, "repair")
        problems = await self.backend.check_store(repair=repair)
        return json_response({"Problems": [{"Kind": k, "Subject": s, "Detail": d} for k, s, d in problems],
                              "Repaired": repair})

    async def events(self, req: Request) -> Response:
        filters = params.filters(req)  # dockerd takes any keys here and filters on those it knows
        event_filter = EventFilter(
            types=frozenset(filters.get("type", [])), actions=frozenset(filters.get("event", [])),
            images=frozenset(filters.get("image", [])), containers=frozenset(filters.get("container", [])),
            labels=frozenset(filters.get("label", [])),
        )
        since = params.timestamp_ns(req.query_value("since"))
        until = params.timestamp_ns(req.query_value("until"))
        if until is not None and until < (since or 0):
            raise InvalidArgument(f"`since` time ({req.query_value('since')}) cannot be after `until` time "
                                  f"({req.query_value('until')})")
        stream = self.backend.events(since_ns=since, until_ns=until, filters=event_filter)

        async def body() -> AsyncIterator[bytes]:
            yield b""  # headers go out at once; clients wait for them before any event
            async for event in stream:
                yield json.dumps(_event_json(event)).encode() + b"\n"

        return Response(status=200, headers=[("Content-Type", "application/json")], body=body())
