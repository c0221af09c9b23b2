"""The daemon's networks as ``/networks`` shows them: the predefined ``bridge``, ``host`` and
``none``, and user-defined bridge networks (created, listed, inspected, removed and pruned here,
kept in the metadata store, and set up on the host when a container first attaches).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from typing import Any, Protocol

from dockyard.engine.containers.networking import (
    BRIDGE_NETWORK_ID,
    HOST_NETWORK_ID,
    NONE_NETWORK_ID,
    USER_BRIDGE_PREFIX,
    BridgeNetwork,
    Networks,
    UserNetworkSpec,
    find_network,
)
from dockyard.engine.containers.record import ContainerRecord
from dockyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from dockyard.labels import label_matches
from dockyard.network.ipam import choose_subnet, host_routes
from dockyard.store.metadata import MetadataStore, NetworkRow

logger = logging.getLogger(__name__)

FILTERS = {"name", "id", "driver", "type", "label", "scope", "dangling"}
PRUNE_FILTERS = {"until", "label", "label!"}
PREDEFINED = ("bridge", "host", "none")

Publish = Callable[[str, str, str, dict[str, str]], object]


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
    labels: dict[str, str] = field(default_factory=dict)
    internal: bool = False
    attachable: bool = False
    ip_range: str = ""
    builtin: bool = True


@dataclass(frozen=True, slots=True)
class UserNetwork:
    """A user-defined network's settings, as stored."""

    spec: UserNetworkSpec
    created: float
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    attachable: bool = False

    def document(self) -> str:
        return json.dumps({"subnet": self.spec.subnet, "gateway": self.spec.gateway, "internal": self.spec.internal,
                           "labels": self.labels, "options": self.options, "attachable": self.attachable,
                           "ip_range": self.spec.ip_range}, sort_keys=True)

    @classmethod
    def from_row(cls, row: NetworkRow) -> UserNetwork:
        doc = json.loads(row.document)
        options = dict(doc.get("options") or {})
        spec = UserNetworkSpec(row.id, row.name, str(doc["subnet"]), str(doc["gateway"]), bool(doc.get("internal")),
                               str(doc.get("ip_range") or ""), *_driver_settings(options))
        return cls(spec, row.created_at, dict(doc.get("labels") or {}), dict(doc.get("options") or {}),
                   bool(doc.get("attachable")))


class ContainerLister(Protocol):
    """What the network views and connections need of the container service."""

    def all(self) -> list[ContainerRecord]: ...
    def connect(self, network_ref: str, ref: str, *, aliases: Sequence[str] = (), ipv4: str = "") -> None: ...
    def disconnect(self, network_ref: str, ref: str, *, force: bool = False) -> None: ...


class NetworkEngine:
    def __init__(self, networks: Networks, containers: ContainerLister, *, created: float,
                 metadata: MetadataStore | None = None, publish: Publish | None = None) -> None:
        self.registry = networks
        self.bridge: BridgeNetwork = networks.default
        self.containers = containers
        self.created = created
        self.metadata = metadata
        self.publish = publish
        self._lock = threading.Lock()
        self._user: dict[str, UserNetwork] = {}
        for row in metadata.list_networks() if metadata is not None else ():
            network = UserNetwork.from_row(row)
            self._user[network.spec.id] = network
            bridge = networks.add(network.spec)
            try:  # as dockerd does at start: the bridges of the user networks are there again
                bridge.ensure()
            except Exception as exc:  # noqa: BLE001 - attaching a container tries again
                logger.warning("network %s: cannot set up its bridge: %s", network.spec.name, exc)

    # ---- views ------------------------------------------------------------------------------

    def _views(self) -> list[NetworkView]:
        gateway = self.bridge.planned_gateway()
        attached: dict[str, list[Endpoint]] = {"bridge": [], "host": [], "none": []}
        with self._lock:
            users = list(self._user.values())
        attached.update({n.spec.id: [] for n in users})
        for rec in self.containers.all():
            if not rec.state.running:
                continue
            mode = str(rec.host_config.get("NetworkMode") or "default")
            if mode in ("host", "none"):
                attached[mode].append(Endpoint(rec.id, rec.name))
            for net in rec.attachments:
                key = "bridge" if net.network_id == BRIDGE_NETWORK_ID else net.network_id
                if key in attached:
                    attached[key].append(Endpoint(rec.id, rec.name, net.endpoint_id, net.mac_address,
                                                  f"{net.ip_address}/{net.prefix_len}"))
        bridge_options = {
            "com.docker.network.bridge.default_bridge": "true", "com.docker.network.bridge.enable_icc": "true",
            "com.docker.network.bridge.enable_ip_masquerade": "true",
            "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
            "com.docker.network.bridge.name": self.bridge.settings.name, "com.docker.network.driver.mtu": "1500",
        }
        views = [
            NetworkView("bridge", BRIDGE_NETWORK_ID, "bridge", self.created, str(gateway.network), str(gateway.ip),
                        bridge_options, tuple(attached["bridge"])),
            NetworkView("host", HOST_NETWORK_ID, "host", self.created, endpoints=tuple(attached["host"])),
            NetworkView("none", NONE_NETWORK_ID, "null", self.created, endpoints=tuple(attached["none"])),
        ]
        for n in users:
            views.append(NetworkView(n.spec.name, n.spec.id, "bridge", n.created, n.spec.subnet, n.spec.gateway,
                                     dict(n.options), tuple(attached[n.spec.id]), dict(n.labels), n.spec.internal,
                                     n.attachable, n.spec.ip_range, builtin=False))
        return views

    async def networks(self, filters: Mapping[str, list[str]]) -> list[NetworkView]:
        unknown = set(filters) - FILTERS
        if unknown:
            raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
        views = await asyncio.to_thread(self._views)
        return [v for v in views if _matches(v, filters)]

    def _find(self, ref: str) -> NetworkView:
        return find_network(self._views(), ref, name=lambda v: v.name, ident=lambda v: v.id)

    async def inspect(self, ref: str) -> NetworkView:
        return await asyncio.to_thread(self._find, ref)

    # ---- create / remove / prune ----------------------------------------------------------------

    async def create(self, body: Mapping[str, Any]) -> tuple[str, str]:
        """POST /networks/create: (ID, warning)."""
        return await asyncio.to_thread(self._create, body)

    def _create(self, body: Mapping[str, Any]) -> tuple[str, str]:
        name = str(body.get("Name") or "")
        if not name:
            raise InvalidArgument("network name must not be empty")  # dockerd's check of the request
        driver = str(body.get("Driver") or "bridge")
        if driver in ("host", "null"):
            raise PermissionDenied(f'only one instance of "{driver}" network is allowed')
        if driver != "bridge":
            raise NotFound(f'plugin "{driver}" not found')
        if body.get("EnableIPv6"):
            raise InvalidArgument("IPv6 networks are not supported")
        ipam = body.get("IPAM") or {}
        if str(ipam.get("Driver") or "default") != "default":
            raise NotFound(f'plugin "{ipam.get("Driver")}" not found')
        configs = [c for c in ipam.get("Config") or [] if isinstance(c, Mapping)]
        v4 = [c for c in configs if ":" not in str(c.get("Subnet") or "")]
        if len(v4) > 1:
            raise InvalidArgument("only one IPv4 subnet per network is supported")
        options = {str(k): str(v) for k, v in (body.get("Options") or {}).items()}
        _driver_settings(options)  # refuses what is not supported before anything is made
        labels = {str(k): str(v) for k, v in (body.get("Labels") or {}).items()}
        with self._lock:
            if name in PREDEFINED or any(n.spec.name == name for n in self._user.values()):
                raise Conflict(f"network with name {name} already exists")
            subnet, gateway, ip_range = self._addresses(v4[0] if v4 else {})
            network_id = hashlib.sha256(secrets.token_bytes(32)).hexdigest()
            spec = UserNetworkSpec(network_id, name, str(subnet), str(gateway), bool(body.get("Internal")), ip_range,
                                   *_driver_settings(options))
            network = UserNetwork(spec, time.time(), labels, options, bool(body.get("Attachable")))
            if self.metadata is not None:
                self.metadata.add_network(NetworkRow(network_id, name, network.created, network.document()))
            self._user[network_id] = network
            bridge = self.registry.add(spec)
            try:
                bridge.ensure()
            except BaseException:
                self._user.pop(network_id, None)
                self.registry.discard(network_id)
                if self.metadata is not None:
                    self.metadata.delete_network(network_id)
                raise
        self._event("create", network)
        return network_id, ""

    def _addresses(self, config: Mapping[str, Any]) -> tuple[IPv4Network, IPv4Address, str]:
        """The network's subnet and gateway: as asked (checked against the other networks), or the
        next free default pool."""
        in_use = self.registry.subnets_in_use()
        text = str(config.get("Subnet") or "")
        if text:
            try:
                subnet = IPv4Network(text)
            except ValueError:
                raise InvalidArgument(f"invalid CIDR address: {text}") from None
            if any(subnet.overlaps(other) for other in in_use):
                raise PermissionDenied("Pool overlaps with other one on this address space")
        else:
            routes = host_routes(exclude_devices=[self.bridge.settings.name,
                                                  *(USER_BRIDGE_PREFIX + n.spec.id[:12] for n in self._user.values())])
            subnet = choose_subnet(None, routes=routes, in_use=in_use)
        gateway_text = str(config.get("Gateway") or "")
        try:
            gateway = IPv4Address(gateway_text) if gateway_text else subnet.network_address + 1
        except ValueError:
            raise InvalidArgument(f"invalid gateway address {gateway_text}") from None
        if gateway not in subnet:
            raise InvalidArgument(f"gateway address {gateway} is not in subnet {subnet}")
        ip_range = str(config.get("IPRange") or "")
        if ip_range:
            try:
                if not IPv4Network(ip_range).subnet_of(subnet):
                    raise InvalidArgument(f"ip range {ip_range} is not in subnet {subnet}")
            except ValueError:
                raise InvalidArgument(f"invalid CIDR address: {ip_range}") from None
        return subnet, gateway, ip_range

    async def connect(self, ref: str, body: Mapping[str, Any]) -> None:
        """POST /networks/{id}/connect: ``Container`` and its ``EndpointConfig`` (aliases, IPv4 address)."""
        container = str(body.get("Container") or "")
        if not container:
            raise InvalidArgument("no container specified")
        endpoint = body.get("EndpointConfig") or {}
        aliases = [str(a) for a in endpoint.get("Aliases") or []]
        ipv4 = str((endpoint.get("IPAMConfig") or {}).get("IPv4Address") or "")
        view = await self.inspect(ref)
        if view.name in ("host", "none") and view.builtin:
            raise PermissionDenied(f"container cannot be disconnected from {view.name} network or connected to "
                                   f"{view.name} network")
        await asyncio.to_thread(self.containers.connect, view.id, container, aliases=aliases, ipv4=ipv4)

    async def disconnect(self, ref: str, body: Mapping[str, Any]) -> None:
        container = str(body.get("Container") or "")
        if not container:
            raise InvalidArgument("no container specified")
        view = await self.inspect(ref)
        await asyncio.to_thread(self.containers.disconnect, view.id if not view.builtin else view.name, container,
                                force=bool(body.get("Force")))

    async def remove(self, ref: str) -> None:
        await asyncio.to_thread(self._remove, ref)

    def _remove(self, ref: str) -> None:
        view = self._find(ref)
        if view.builtin:
            raise PermissionDenied(f"{view.name} is a pre-defined network and cannot be removed")
        if view.endpoints:
            raise PermissionDenied(f"error while removing network: network {view.name} id {view.id} has active "
                                   "endpoints")
        with self._lock:
            network = self._user.get(view.id)
            if network is None:
                raise NotFound(f"network {ref} not found")
            self.registry.discard(view.id)  # refuses while a container is getting an endpoint on it
            del self._user[view.id]
            if self.metadata is not None:
                self.metadata.delete_network(view.id)
        self._event("destroy", network)

    async def prune(self, filters: Mapping[str, list[str]], *, until_ns: int | None = None) -> list[str]:
        """User-defined networks without a running container (dockerd's unused), created before
        ``until_ns`` and matching the label filters."""
        unknown = set(filters) - PRUNE_FILTERS
        if unknown:
            raise InvalidArgument(f"invalid filter '{sorted(unknown)[0]}'")
        return await asyncio.to_thread(self._prune, filters, until_ns)

    def _prune(self, filters: Mapping[str, list[str]], until_ns: int | None) -> list[str]:
        deleted = []
        for view in self._views():
            if view.builtin or view.endpoints:
                continue
            if until_ns is not None and not view.created * 1e9 < until_ns:
                continue
            if not all(label_matches(view.labels, e) for e in filters.get("label", [])):
                continue
            if any(label_matches(view.labels, e) for e in filters.get("label!", [])):
                continue
            try:
                self._remove(view.id)
            except (PermissionDenied, NotFound):
                continue  # in use or gone meanwhile
            deleted.append(view.name)
        return deleted

    def _event(self, action: str, network: UserNetwork) -> None:
        if self.publish is not None:
            self.publish("network", action, network.spec.id, {"name": network.spec.name, "type": "bridge"})


# The bridge driver's options (-o) that would change how the network behaves and are not
# supported: refused, rather than shown in inspect and silently not applied.
UNSUPPORTED_OPTIONS = {
    "com.docker.network.bridge.enable_icc": "true",
    "com.docker.network.bridge.enable_ip_masquerade": "true",
    "com.docker.network.bridge.name": "",
    "com.docker.network.bridge.gateway_mode_ipv4": "nat",
}


def _driver_settings(options: Mapping[str, str]) -> tuple[int, str]:
    """(MTU, host binding address) from the bridge driver's options; InvalidArgument for values
    not supported here."""
    for key, default in UNSUPPORTED_OPTIONS.items():
        if key in options and options[key].lower() != default:
            raise InvalidArgument(f"network option {key}={options[key]} is not supported")
    mtu_text = options.get("com.docker.network.driver.mtu", "1500")
    try:
        mtu = int(mtu_text)
    except ValueError:
        raise InvalidArgument(f"invalid MTU value: {mtu_text}") from None
    if not 68 <= mtu <= 65535:
        raise InvalidArgument(f"invalid MTU value: {mtu_text}")
    binding = options.get("com.docker.network.bridge.host_binding_ipv4", "")
    if binding:
        try:
            IPv4Address(binding)
        except ValueError:
            raise InvalidArgument(f"invalid host binding address: {binding}") from None
    return mtu, binding


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
        if ("builtin" if view.builtin else "custom") not in filters["type"]:
            return False
    if "scope" in filters and "local" not in filters["scope"]:
        return False
    if "label" in filters and not all(label_matches(view.labels, e) for e in filters["label"]):
        return False
    if "dangling" in filters:
        dangling = filters["dangling"][-1].lower() in ("1", "true")
        # dockerd: the unused user-defined networks (the predefined ones are never dangling)
        if dangling != (not view.builtin and not view.endpoints):
            return False
    return True


__all__ = ["Endpoint", "NetworkEngine", "NetworkView", "UserNetwork"]
