"""The Engine API application: versioned routing, common headers, and errors in Docker's shape."""

from __future__ import annotations

import logging

from dockyard.api.errors import status_for
from dockyard.api.responses import error
from dockyard.api.router import Router
from dockyard.api.routes.containers import ContainerBackend, ContainerRoutes
from dockyard.api.routes.distribution import AuthBackend, DistributionRoutes
from dockyard.api.routes.images import ImageBackend, ImageRoutes, RegistryBackend
from dockyard.api.routes.networks import NetworkBackend, NetworkRoutes
from dockyard.api.routes.system import SystemBackend, SystemRoutes
from dockyard.api.routes.volumes import VolumeBackend, VolumeRoutes
from dockyard.api.versioning import COMMON_HEADERS, split_version
from dockyard.errors import DockyardError
from dockyard.http.server import Request, Response

logger = logging.getLogger(__name__)


class EngineAPI:
    def __init__(self, *, images: ImageBackend, registry: RegistryBackend, auth: AuthBackend,
                 system: SystemBackend, containers: ContainerBackend, volumes: VolumeBackend,
                 networks: NetworkBackend, graph_driver: str) -> None:
        self.router = Router()
        ContainerRoutes(containers, graph_driver=graph_driver).register(self.router)
        SystemRoutes(system, containers, volumes).register(self.router)
        VolumeRoutes(volumes).register(self.router)
        NetworkRoutes(networks).register(self.router)
        ImageRoutes(images, registry).register(self.router)
        DistributionRoutes(auth).register(self.router)

    async def __call__(self, req: Request) -> Response:
        try:
            response = await self._dispatch(req)
        except DockyardError as exc:
            status = status_for(exc)
            if status >= 500:
                logger.warning("%s %s failed: %s", req.method, req.path, exc)
            response = error(status, str(exc))
        except Exception as exc:  # a bug: report it as Docker would, keep serving
            logger.exception("%s %s crashed", req.method, req.path)
            response = error(500, f"internal error: {exc}")
        response.headers = [*COMMON_HEADERS, *response.headers]
        return response

    async def _dispatch(self, req: Request) -> Response:
        version, path = split_version(req.path)
        handler, path_params, path_exists = self.router.match(req.method, path)
        if handler is None:
            if path_exists:
                return error(405, "method not allowed")
            return error(404, "page not found")
        path_params["_version"] = version
        req.path_params = path_params
        return await handler(req)
