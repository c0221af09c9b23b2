"""The daemon's networks as ``/networks`` shows them: the predefined ``bridge``, ``host`` and ``none``.

User-defined networks are not made here yet; these three always exist, as with dockerd, and list
the containers attached to them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from dockyard.engine.containers.networking import (
    BRIDGE_NETWORK_ID,
    HOST_NETWORK_ID,
    NONE_NETWORK_ID,
    BridgeNetwork,
)
from dockyard.engine.containers.record import ContainerRecord
from dockyard.errors import InvalidArgument, NotFound, PermissionDenied

FILTERS = {"name", "id", "driver", "type", "label", "scope", "dangling"}


@dataclass(frozen=True, slots=True)
class Endpoint:
    container_id: str
    name: str
    endpoint_id: str = ""
    mac_address: str = ""
    ipv4: str = ""  # address/prefix


@dataclass(frozen=True, slots=True)
class NetworkView:
    name: str
    id: str
    driver: str
    created: float
    subnet: str = ""
    gateway: str = ""
    options: dict[str, str] = field(default_factory=dict)
    endpoints: tuple[Endpoint, ...] = ()


class ContainerLister(Protocol):
    """What the network views need of the container service."""

    def all(self) -> list[ContainerRecord]: ...


class NetworkEngine:
    def __init__(self, bridge: BridgeNetwork, containers: ContainerLister, *, created: float) -> None:
        self.bridge = bridge
        self.containers = containers
        self.created = created

    def _views(self) -> list[NetworkView]:
        gateway = self.bridge.planned_gateway()
        attached: dict[str, list[Endpoint]] = {"bridge": [], "host": [], "none": []}
        for rec in self.containers.all():
            if not rec.state.running:
                continue
            mode = str(rec.host_config.get("NetworkMode") or "default")
            if mode in ("default", "bridge") and rec.network is not None:
                net = rec.network
                attached["bridge"].append(Endpoint(rec.id, rec.name, net.endpoint_id, net.mac_address,
                                                   f"{net.ip_address}/{net.prefix_len}"))
            elif mode in ("host", "none"):
                attached[mode].append(Endpoint(rec.id, rec.name))
        bridge_options = {
            "com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": self.bridge.settings.name, "com.docker.network.driver.mtu": "1500",
        }
        return [
            NetworkView("bridge", BRIDGE_NETWORK_ID, "bridge", self.created, str(gateway.network), str(gateway.ip),
                        bridge_options, tuple(attached["bridge"])),
            NetworkView("host", HOST_NETWORK_ID, "host", self.created, endpoints=tuple(attached["host"])),
            NetworkView("none", NONE_NETWORK_ID, "null", self.created, endpoints=tuple(attached["none"])),
        ]

    async def networks(self, filters: Mapping[str, list[str]]) -> list[NetworkView]:
        unknown = set(filters) - FILTERS
        if unknown:
            raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
        views = await asyncio.to_thread(self._views)
        return [v for v in views if _matches(v, filters)]

    async def inspect(self, ref: str) -> NetworkView:
        views = await asyncio.to_thread(self._views)
        for view in views:
            if ref in (view.name, view.id):
                return view
        prefixed = [v for v in views if ref and v.id.startswith(ref)]
        if len(prefixed) == 1:
            return prefixed[0]
        raise NotFound(f"network {ref} not found")

    async def remove(self, ref: str) -> None:
        """The predefined networks are never removed, in dockerd's words."""
        view = await self.inspect(ref)
        raise PermissionDenied(f"{view.name} is a pre-defined network and cannot be removed")

    async def prune(self, filters: Mapping[str, list[str]]) -> list[str]:
        """Nothing to prune: the predefined networks are never removed."""
        del filters
        return []


def _matches(view: NetworkView, filters: Mapping[str, list[str]]) -> bool:
    if "name" in filters and not any(v in view.name for v in filters["name"]):
        return False
    if "id" in filters and not any(view.id.startswith(v) for v in filters["id"]):
        return False
    if "driver" in filters and view.driver not in filters["driver"]:
        return False
    if "type" in filters:
        for value in filters["type"]:
            if value not in ("builtin", "custom"):
                raise InvalidArgument(f"invalid filter: 'type'='{value}'")
        if "builtin" not in filters["type"]:
            return False
    if "scope" in filters and "local" not in filters["scope"]:
        return False
    if "label" in filters:
        return False  # the predefined networks have no labels
    return not ("dangling" in filters and filters["dangling"][-1].lower() in ("1", "true"))


__all__ = ["Endpoint", "NetworkEngine", "NetworkView"]
