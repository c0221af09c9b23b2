"""``POST /auth`` (login) and ``GET /distribution/{name}/json``."""

from __future__ import annotations

from typing import Any, Protocol

from dockyard.api import params
from dockyard.api.responses import json_response
from dockyard.api.router import Router
from dockyard.errors import InvalidArgument
from dockyard.http.server import Request, Response


class AuthBackend(Protocol):
    async def login(self, username: str, password: str, server_address: str, identity_token: str = "") -> str: ...
    async def distribution_inspect(self, name: str, auth_header: str | None) -> dict[str, Any]: ...


class DistributionRoutes:
    def __init__(self, backend: AuthBackend) -> None:
        self.backend = backend

    def register(self, router: Router) -> None:
        router.add("POST", "/auth", self.auth)
        router.add("GET", "/distribution/{name:.+}/json", self.inspect)

    async def auth(self, req: Request) -> Response:
        body = await params.json_body(req)
        if not isinstance(body, dict):
            raise InvalidArgument("invalid auth configuration: expected a JSON object")
        status = await self.backend.login(str(body.get("username") or ""), str(body.get("password") or ""),
                                          str(body.get("serveraddress") or ""),
                                          str(body.get("identitytoken") or ""))
        return json_response({"Status": status, "IdentityToken": ""})

    async def inspect(self, req: Request) -> Response:
        return json_response(await self.backend.distribution_inspect(req.path_params["name"],
                                                                     req.headers.get("x-registry-auth")))
