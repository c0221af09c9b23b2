"""``/networks``: create, list, inspect, remove and prune."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from dockyard.api import params, wire
from dockyard.api.responses import empty, json_response
from dockyard.api.router import Router
from dockyard.engine.networks import NetworkView
from dockyard.errors import InvalidArgument
from dockyard.http.server import Request, Response


class NetworkBackend(Protocol):
    async def networks(self, filters: Mapping[str, list[str]]) -> list[NetworkView]: ...
    async def inspect(self, ref: str) -> NetworkView: ...
    async def prune(self, filters: Mapping[str, list[str]], *, until_ns: int | None = None) -> list[str]: ...
    async def remove(self, ref: str) -> None: ...
    async def create(self, body: Mapping[str, Any]) -> tuple[str, str]: ...
    async def connect(self, ref: str, body: Mapping[str, Any]) -> None: ...
    async def disconnect(self, ref: str, body: Mapping[str, Any]) -> None: ...


class NetworkRoutes:
    def __init__(self, backend: NetworkBackend) -> None:
        self.backend = backend

    def register(self, router: Router) -> None:
        router.add("GET", "/networks", self.list_networks)
        router.add("POST", "/networks/create", self.create)
        router.add("POST", "/networks/prune", self.prune)
        router.add("GET", "/networks/{id}", self.inspect)
        router.add("DELETE", "/networks/{id}", self.remove)
        router.add("POST", "/networks/{id}/connect", self.connect)
        router.add("POST", "/networks/{id}/disconnect", self.disconnect)

    async def list_networks(self, req: Request) -> Response:
        views = await self.backend.networks(params.filters(req))
        return json_response([wire.network(v) for v in views])

    async def inspect(self, req: Request) -> Response:
        return json_response(wire.network(await self.backend.inspect(req.path_params["id"])))

    async def remove(self, req: Request) -> Response:
        await self.backend.remove(req.path_params["id"])
        return empty(204)

    async def create(self, req: Request) -> Response:
        body = await params.json_body(req) or {}
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON body: expected an object")
        network_id, warning = await self.backend.create(body)
        return json_response({"Id": network_id, "Warning": warning}, status=201)

    async def connect(self, req: Request) -> Response:
        await self.backend.connect(req.path_params["id"], await self._body(req))
        return empty(200)

    async def disconnect(self, req: Request) -> Response:
        await self.backend.disconnect(req.path_params["id"], await self._body(req))
        return empty(200)

    @staticmethod
    async def _body(req: Request) -> dict[str, Any]:
        body = await params.json_body(req) or {}
        if not isinstance(body, dict):
            raise InvalidArgument("invalid JSON body: expected an object")
        return body

    async def prune(self, req: Request) -> Response:
        filters = params.filters(req)
        until = params.timestamp_ns(filters["until"][-1]) if filters.get("until") else None
        deleted = await self.backend.prune(filters, until_ns=until)
        return json_response({"NetworksDeleted": deleted or None})
