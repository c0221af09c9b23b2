"""The default ``bridge`` network for containers: bridge, firewall, addresses, namespaces.

The bridge and its nft rules are set up on first use (a daemon that never runs a container
touches no interface). Addresses are handed out by IPAM; the allocations are rebuilt from the
container records at start-up, so nothing else needs persisting.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path
from typing import TypeVar

from dockyard.engine.containers.record import NetworkAttachment
from dockyard.errors import NotFound, PermissionDenied
from dockyard.network import bridge as netbridge
from dockyard.network import netns
from dockyard.network.firewall import Firewall
from dockyard.network.ipam import IPAM, MemoryAllocationStore, choose_subnet, default_gateway, host_routes
from dockyard.network.nftables import Table
from dockyard.network.ports import PortAllocator, PortRequest, PublishedPort, publish_rules

BRIDGE_NETWORK_ID = hashlib.sha256(b"dockyard bridge network").hexdigest()
T = TypeVar("T")


def published(attachment: NetworkAttachment | None) -> list[PublishedPort]:
    """The ports published for the container (none when it is not on the bridge)."""
    if attachment is None:
        return []
    return [PublishedPort(str(p[0]), int(p[1]), str(p[2]), int(p[3])) for p in attachment.ports]
USER_BRIDGE_PREFIX = "dy-"  # + 12 hex of the network's ID: dockerd's br-<id>, told apart from its bridges
USER_BRIDGE_PATTERN = USER_BRIDGE_PREFIX + "*"
HOST_NETWORK_ID = hashlib.sha256(b"dockyard host network").hexdigest()
NONE_NETWORK_ID = hashlib.sha256(b"dockyard none network").hexdigest()


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    name: str = "dockyard0"
    cidr: str = ""            # e.g. "172.17.0.1/16"; empty: choose a free private /16


class BridgeNetwork:
    """One Linux bridge and its subnet: the default ``bridge`` network or a user-defined one.

    User-defined networks share the default network's firewall table and host port allocator
    (a host port is published once, whatever the network)."""

    def __init__(self, settings: BridgeSettings, netns_dir: Path, *, network_id: str = BRIDGE_NETWORK_ID,
                 network_name: str = "bridge", internal: bool = False, firewall: Firewall | None = None,
                 ports: PortAllocator | None = None, isolate_from: Sequence[str] = (USER_BRIDGE_PATTERN,),
                 ip_range: str = "", mtu: int = 1500, host_binding_ipv4: str = "") -> None:
        self.settings = settings
        self.netns_dir = netns_dir
        self.network_id = network_id
        self.network_name = network_name
        self.internal = internal
        self.isolate_from = tuple(isolate_from)
        self.ip_range = IPv4Network(ip_range) if ip_range else None
        self.mtu = mtu
        self.host_binding_ipv4 = host_binding_ipv4  # where its ports are published when no address is named
        self.ipam = IPAM(MemoryAllocationStore())
        self.ports = ports or PortAllocator()
        table_name = "dockyard" if settings.name == "dockyard0" else f"dockyard_{settings.name}"
        self.firewall = firewall or Firewall(Table(name=table_name))
        self._lock = threading.Lock()
        self._ready = False
        self.gateway: IPv4Interface | None = None
        # Who has (or is getting) an endpoint here; a removed network takes no new one. Counted
        # here rather than from the container records, which say "running" only once a start is
        # done: a network removed meanwhile would lose its bridge under a starting container.
        self._members: set[str] = set()
        self._removed = False

    @property
    def subnet(self) -> IPv4Network:
        assert self.gateway is not None
        return self.gateway.network

    def ensure(self) -> None:
        """The bridge and its rules, now (a user network is set up when it is created)."""
        self._ensure()

    def _join(self, owner: str) -> None:
        with self._lock:
            if self._removed:
                raise NotFound(f"network {self.network_name} not found")
            self._members.add(owner)

    def _leave(self, owner: str) -> None:
        with self._lock:
            self._members.discard(owner)

    def retire(self) -> None:
        """Take no more endpoints, unless some container has one: then PermissionDenied in
        dockerd's words."""
        with self._lock:
            if self._members:
                raise PermissionDenied(f"error while removing network: network {self.network_name} id "
                                       f"{self.network_id} has active endpoints")
            self._removed = True

    def _ensure(self) -> None:
        with self._lock:
            if self._removed:
                raise NotFound(f"network {self.network_name} not found")
            if self._ready:
                return
            if self.settings.cidr:
                gateway = IPv4Interface(self.settings.cidr)
            else:
                subnet = choose_subnet(routes=host_routes(exclude_devices=(self.settings.name,)))
                gateway = default_gateway(subnet)
            netbridge.ensure_bridge(self.settings.name, gateway, mtu=self.mtu)
            self.firewall.setup(self.settings.name, gateway.network, internal=self.internal,
                                isolate_from=self.isolate_from)
            self.gateway = gateway
            self._ready = True

    def planned_gateway(self) -> IPv4Interface:
        """The bridge's address and subnet: as set up, or as they will be (nothing is touched)."""
        if self.gateway is not None:
            return self.gateway
        if self.settings.cidr:
            return IPv4Interface(self.settings.cidr)
        return default_gateway(choose_subnet(routes=host_routes(exclude_devices=(self.settings.name,))))

    def restore(self, owner: str, attachment: NetworkAttachment) -> None:
        """Re-reserve an address held by a container that survived a daemon restart."""
        self._ensure()
        self._join(owner)
        assert self.gateway is not None
        self.ipam.allocate(self.network_id, self.subnet, self.gateway.ip, preferred=attachment.ip_address, owner=owner)
        self.ports.restore(owner, published(attachment))

    def keep_published(self, owners: set[str]) -> None:
        """At daemon start: the port rules of containers that are no longer running go."""
        with contextlib.suppress(Exception):
            self.firewall.keep_published(owners)

    def create_namespace(self, container_id: str, *, loopback: bool = False) -> str:
        """A new network namespace for the container; ``loopback``: with ``lo`` up (``--network none``,
        where nothing else configures it)."""
        self.netns_dir.mkdir(parents=True, exist_ok=True)
        path = netns.netns_path(str(self.netns_dir), container_id)
        with contextlib.suppress(FileNotFoundError):
            netns.delete_netns(path)  # a leftover of a crash
        created = netns.create_netns(str(self.netns_dir), container_id)
        if loopback:
            netbridge.loopback_up(created)
        return created

    def attach(self, container_id: str, netns_path: str, ports: Sequence[PortRequest] = (), *,
               ipv4: str | None = None, aliases: Sequence[str] = (), container_ifname: str = "eth0"
               ) -> NetworkAttachment:
        """An address (``ipv4`` if given) and an endpoint on the bridge, and the published
        ``ports``; all or nothing. The container's first network (``eth0``) has its default route;
        a network connected besides it (``eth1``…) has an endpoint named after both."""
        self._ensure()
        assert self.gateway is not None
        self._join(container_id)
        # --ip-range: addresses are handed out from the range; --ip may be anywhere in the subnet
        try:
            address = self.ipam.allocate(self.network_id, self.subnet, self.gateway.ip, preferred=ipv4 or None,
                                         owner=container_id, pool=self.ip_range)
        except BaseException:
            self._leave(container_id)
            raise
        primary = container_ifname == "eth0"
        host_ifname = netbridge.veth_name(container_id if primary else f"{container_id}/{self.network_id}")
        mapped: list[PublishedPort] = []
        try:
            if self.host_binding_ipv4 not in ("", "0.0.0.0"):
                ports = [dataclasses.replace(p, host_ip=p.host_ip or self.host_binding_ipv4) for p in ports]
            mapped = self.ports.allocate(container_id, ports) if primary else []
            netbridge.remove_endpoint(host_ifname)  # a leftover of an earlier run whose namespace lived on
            endpoint = netbridge.create_endpoint(self.settings.name, netns_path, host_ifname=host_ifname,
                                                 container_ifname=container_ifname, address=address,
                                                 gateway=self.gateway.ip, default_route=primary)
            if mapped:
                self.firewall.publish(container_id, publish_rules(self.firewall.table, container_id,
                                                                  str(address.ip), mapped))
        except BaseException:
            if primary:
                self.ports.release(container_id)
            self.ipam.release(self.network_id, address)
            self._leave(container_id)
            raise
        return NetworkAttachment(
            network=self.network_name, network_id=self.network_id, aliases=tuple(aliases), ifname=container_ifname,
            endpoint_id=hashlib.sha256(f"{container_id}/{host_ifname}".encode()).hexdigest(),
            ip_address=str(address.ip), prefix_len=address.network.prefixlen, gateway=str(self.gateway.ip),
            mac_address=endpoint.mac, host_ifname=endpoint.host_ifname,
            ports=tuple((p.proto, p.container_port, p.host_ip, p.host_port) for p in mapped))

    def detach(self, container_id: str, attachment: NetworkAttachment | None, *, live: bool = False) -> None:
        """Release the endpoint's address and ports; ``live``: the container goes on running, so
        its interface is deleted now."""
        if attachment is None:
            return
        if attachment.ports:
            with contextlib.suppress(Exception):  # the rules go with the table at the latest
                self.firewall.unpublish(container_id)
            self.ports.release(container_id)
        if live or not os.path.exists(netns.netns_path(str(self.netns_dir), container_id)):
            # Deleting a veth waits for the kernel (20-50 ms); the namespace's own deletion
            # (delete_namespace, next in every clean-up) takes the pair with it in the background.
            netbridge.remove_endpoint(attachment.host_ifname)
        self.ipam.release(self.network_id, IPv4Address(attachment.ip_address))
        self._leave(container_id)

    def delete_namespace(self, container_id: str) -> None:
        netns.delete_netns(netns.netns_path(str(self.netns_dir), container_id))

    def shutdown(self, *, destroy_table: bool = True) -> None:
        """Remove the bridge and its rules (only called when no container uses them). Also when
        this run never set them up: a previous run may have, and its containers are gone now.
        ``destroy_table``: the whole shared table goes too (the default network, last)."""
        with self._lock:
            if self._ready or os.path.exists(f"/sys/class/net/{self.settings.name}"):
                with contextlib.suppress(Exception):
                    self.firewall.teardown(self.settings.name)
                with contextlib.suppress(Exception):
                    netbridge.delete_bridge(self.settings.name)
            if destroy_table:  # also when only user networks made it
                with contextlib.suppress(Exception):
                    self.firewall.destroy()
            self._ready = False


def find_network(networks: Sequence[T], ref: str, *, name: Callable[[T], str], ident: Callable[[T], str]) -> T:
    """dockerd's FindNetwork: the network with that full ID, else that name, else the only one
    whose ID starts with it; NotFound in its words."""
    for found in ([n for n in networks if ident(n) == ref], [n for n in networks if name(n) == ref]):
        if found:
            return found[0]
    prefixed = [n for n in networks if ref and ident(n).startswith(ref)]
    if len(prefixed) == 1:
        return prefixed[0]
    raise NotFound(f"network {ref} not found")


@dataclass(frozen=True, slots=True)
class UserNetworkSpec:
    """What a user-defined bridge network is made of (kept in the metadata store)."""

    id: str
    name: str
    subnet: str        # e.g. "172.18.0.0/16"
    gateway: str       # e.g. "172.18.0.1"
    internal: bool = False
    ip_range: str = ""  # where addresses are handed out from, within the subnet ("": all of it)
    mtu: int = 1500
    host_binding_ipv4: str = ""  # com.docker.network.bridge.host_binding_ipv4


class Networks:
    """The bridge networks containers attach to: the default ``bridge`` and the user-defined ones,
    found by name, ID or ID prefix."""

    def __init__(self, default: BridgeNetwork) -> None:
        self.default = default
        self._user: dict[str, BridgeNetwork] = {}
        self._lock = threading.Lock()

    # -- the default bridge's operations, for what does not depend on a network ----------------

    def create_namespace(self, container_id: str, *, loopback: bool = False) -> str:
        return self.default.create_namespace(container_id, loopback=loopback)

    def delete_namespace(self, container_id: str) -> None:
        self.default.delete_namespace(container_id)

    def planned_gateway(self) -> IPv4Interface:
        return self.default.planned_gateway()

    def keep_published(self, owners: set[str]) -> None:
        self.default.keep_published(owners)  # one table holds every network's port rules

    # -- user-defined networks -------------------------------------------------------------------

    def add(self, spec: UserNetworkSpec) -> BridgeNetwork:
        network = BridgeNetwork(
            BridgeSettings(name=USER_BRIDGE_PREFIX + spec.id[:12], cidr=f"{spec.gateway}/{IPv4Network(spec.subnet).prefixlen}"),
            self.default.netns_dir, network_id=spec.id, network_name=spec.name, internal=spec.internal,
            firewall=self.default.firewall, ports=self.default.ports,
            isolate_from=(USER_BRIDGE_PATTERN, self.default.settings.name), ip_range=spec.ip_range, mtu=spec.mtu,
            host_binding_ipv4=spec.host_binding_ipv4)
        with self._lock:
            self._user[spec.id] = network
        return network

    def discard(self, network_id: str) -> None:
        """Forget a user network and remove its bridge and rules; PermissionDenied while a
        container has (or is getting) an endpoint on it."""
        with self._lock:
            network = self._user.get(network_id)
            if network is None:
                return
            network.retire()
            del self._user[network_id]
        network.shutdown(destroy_table=False)

    def user(self) -> list[BridgeNetwork]:
        with self._lock:
            return list(self._user.values())

    def subnets_in_use(self) -> list[IPv4Network]:
        out = [n.planned_gateway().network for n in self.user()]
        return [self.default.planned_gateway().network, *out]

    def lookup(self, ref: str) -> BridgeNetwork:
        """A user network by ID, name or unique ID prefix; NotFound in dockerd's words."""
        return find_network(self.user(), ref, name=lambda n: n.network_name, ident=lambda n: n.network_id)

    def of(self, attachment: NetworkAttachment) -> BridgeNetwork | None:
        if attachment.network_id == self.default.network_id:
            return self.default
        with self._lock:
            return self._user.get(attachment.network_id)

    # -- a container's attachment, on whichever network it is -------------------------------------

    def attach(self, container_id: str, netns_path: str, ports: Sequence[PortRequest] = (), *,
               network: BridgeNetwork | None = None, ipv4: str | None = None, aliases: Sequence[str] = (),
               container_ifname: str = "eth0") -> NetworkAttachment:
        return (network or self.default).attach(container_id, netns_path, ports, ipv4=ipv4, aliases=aliases,
                                                container_ifname=container_ifname)

    def detach(self, container_id: str, attachment: NetworkAttachment | None, *, live: bool = False) -> None:
        if attachment is None:
            return
        network = self.of(attachment)
        if network is not None:
            network.detach(container_id, attachment, live=live)
        else:  # its network is gone: only the interface may be left
            netbridge.remove_endpoint(attachment.host_ifname)

    def restore(self, owner: str, attachment: NetworkAttachment) -> None:
        network = self.of(attachment)
        if network is not None:
            network.restore(owner, attachment)

    def shutdown(self) -> None:
        for network in self.user():
            network.shutdown(destroy_table=False)
        self.default.shutdown()
