"""``/volumes``: list, create, inspect, remove and prune."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from dockyard.api import params, wire
from dockyard.api.responses import empty, json_response
from dockyard.api.router import Router
from dockyard.engine.volumes import VolumeView
from dockyard.errors import InvalidArgument
from dockyard.http.server import Request, Response


class VolumeBackend(Protocol):
    async def volumes(self, filters: Mapping[str, list[str]], *, usage: bool = False) -> list[VolumeView]: ...
    async def create(self, name: str, *, driver: str, labels: Mapping[str, str],
                     options: Mapping[str, str]) -> VolumeView: ...
    async def inspect(self, name: str) -> VolumeView: ...
    async def remove(self, name: str, *, force: bool) -> None: ...
    async def prune(self, filters: Mapping[str, list[str]]) -> tuple[list[str], int]: ...


def _str_map(value: object, field: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"invalid JSON: {field} must be an object")
    return {str(k): str(v) for k, v in value.items()}


class VolumeRoutes:
    def __init__(self, backend: VolumeBackend) -> None:
        self.backend = backend

    def register(self, router: Router) -> None:
        router.add("GET", "/volumes", self.list_volumes)
        router.add("POST", "/volumes/create", self.create)
        router.add("POST", "/volumes/prune", self.prune)
        router.add("GET", "/volumes/{name}", self.inspect)
        router.add("DELETE", "/volumes/{name}", self.remove)

    async def list_volumes(self, req: Request) -> Response:
        views = await self.backend.volumes(params.filters(req))
        return json_response({"Volumes": [wire.volume(v) for v in views], "Warnings": None})

    async def create(self, req: Request) -> Response:
        body = await params.json_body(req) or {}
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON: expected an object")
        view = await self.backend.create(str(body.get("Name") or ""), driver=str(body.get("Driver") or ""),
                                         labels=_str_map(body.get("Labels"), "Labels"),
                                         options=_str_map(body.get("DriverOpts"), "DriverOpts"))
        return json_response(wire.volume(view), status=201)

    async def inspect(self, req: Request) -> Response:
        return json_response(wire.volume(await self.backend.inspect(req.path_params["name"])))

    async def remove(self, req: Request) -> Response:
        await self.backend.remove(req.path_params["name"], force=params.flag(req, "force"))
        return empty(204)

    async def prune(self, req: Request) -> Response:
        deleted, reclaimed = await self.backend.prune(params.filters(req))
        return json_response({"VolumesDeleted": deleted, "SpaceReclaimed": reclaimed})
