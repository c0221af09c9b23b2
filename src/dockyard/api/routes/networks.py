"""``/networks``: list, inspect and prune (the predefined networks)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from dockyard.api import params, wire
from dockyard.api.responses import empty, json_response
from dockyard.api.router import Router
from dockyard.engine.networks import NetworkView
from dockyard.http.server import Request, Response


class NetworkBackend(Protocol):
    async def networks(self, filters: Mapping[str, list[str]]) -> list[NetworkView]: ...
    async def inspect(self, ref: str) -> NetworkView: ...
    async def prune(self, filters: Mapping[str, list[str]]) -> list[str]: ...
    async def remove(self, ref: str) -> None: ...


class NetworkRoutes:
    def __init__(self, backend: NetworkBackend) -> None:
        self.backend = backend

    def register(self, router: Router) -> None:
        router.add("GET", "/networks", self.list_networks)
        router.add("POST", "/networks/prune", self.prune)
        router.add("GET", "/networks/{id}", self.inspect)
        router.add("DELETE", "/networks/{id}", self.remove)

    async def list_networks(self, req: Request) -> Response:
        views = await self.backend.networks(params.filters(req))
        return json_response([wire.network(v) for v in views])

    async def inspect(self, req: Request) -> Response:
        return json_response(wire.network(await self.backend.inspect(req.path_params["id"])))

    async def remove(self, req: Request) -> Response:
        await self.backend.remove(req.path_params["id"])
        return empty(204)

    async def prune(self, req: Request) -> Response:
        deleted = await self.backend.prune(params.filters(req))
        return json_response({"NetworksDeleted": deleted or None})
