"""The default ``bridge`` network for containers: bridge, firewall, addresses, namespaces.

The bridge and its nft rules are set up on first use (a daemon that never runs a container
touches no interface). Addresses are handed out by IPAM; the allocations are rebuilt from the
container records at start-up, so nothing else needs persisting.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network
from pathlib import Path

from dockyard.engine.containers.record import NetworkAttachment
from dockyard.network import bridge as netbridge
from dockyard.network import netns
from dockyard.network.firewall import Firewall
from dockyard.network.ipam import IPAM, MemoryAllocationStore, choose_subnet, default_gateway, host_routes
from dockyard.network.nftables import Table
from dockyard.network.ports import PortAllocator, PortRequest, PublishedPort, publish_rules

BRIDGE_NETWORK_ID = hashlib.sha256(b"dockyard bridge network").hexdigest()


def published(attachment: NetworkAttachment | None) -> list[PublishedPort]:
    """The ports published for the container (none when it is not on the bridge)."""
    if attachment is None:
        return []
    return [PublishedPort(str(p[0]), int(p[1]), str(p[2]), int(p[3])) for p in attachment.ports]
HOST_NETWORK_ID = hashlib.sha256(b"dockyard host network").hexdigest()
NONE_NETWORK_ID = hashlib.sha256(b"dockyard none network").hexdigest()


@dataclass(frozen=True, slots=True)
class BridgeSettings:
    name: str = "dockyard0"
    cidr: str = ""            # e.g. "172.17.0.1/16"; empty: choose a free private /16


class BridgeNetwork:
    def __init__(self, settings: BridgeSettings, netns_dir: Path) -> None:
        self.settings = settings
        self.netns_dir = netns_dir
        self.ipam = IPAM(MemoryAllocationStore())
        self.ports = PortAllocator()
        table_name = "dockyard" if settings.name == "dockyard0" else f"dockyard_{settings.name}"
        self.firewall = Firewall(Table(name=table_name))
        self._lock = threading.Lock()
        self._ready = False
        self.gateway: IPv4Interface | None = None

    @property
    def subnet(self) -> IPv4Network:
        assert self.gateway is not None
        return self.gateway.network

    def _ensure(self) -> None:
        with self._lock:
            if self._ready:
                return
            if self.settings.cidr:
                gateway = IPv4Interface(self.settings.cidr)
            else:
                subnet = choose_subnet(routes=host_routes(exclude_devices=(self.settings.name,)))
                gateway = default_gateway(subnet)
            netbridge.ensure_bridge(self.settings.name, gateway)
            self.firewall.setup(self.settings.name, gateway.network)
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
        self.ipam.allocate(BRIDGE_NETWORK_ID, self.subnet, self.subnet.network_address + 1,
                           preferred=attachment.ip_address, owner=owner)
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

    def attach(self, container_id: str, netns_path: str,
               ports: Sequence[PortRequest] = ()) -> NetworkAttachment:
        """An address and an endpoint on the bridge, and the published ``ports``; all or nothing."""
        self._ensure()
        assert self.gateway is not None
        address = self.ipam.allocate(BRIDGE_NETWORK_ID, self.subnet, self.gateway.ip, owner=container_id)
        host_ifname = netbridge.veth_name(container_id)
        mapped: list[PublishedPort] = []
        try:
            mapped = self.ports.allocate(container_id, ports)
            endpoint = netbridge.create_endpoint(self.settings.name, netns_path, host_ifname=host_ifname,
                                                 address=address, gateway=self.gateway.ip)
            if mapped:
                self.firewall.publish(container_id, publish_rules(self.firewall.table, container_id,
                                                                  str(address.ip), mapped))
        except BaseException:
            self.ports.release(container_id)
            self.ipam.release(BRIDGE_NETWORK_ID, address)
            raise
        return NetworkAttachment(
            network="bridge", network_id=BRIDGE_NETWORK_ID,
            endpoint_id=hashlib.sha256(f"{container_id}/{host_ifname}".encode()).hexdigest(),
            ip_address=str(address.ip), prefix_len=address.network.prefixlen, gateway=str(self.gateway.ip),
            mac_address=endpoint.mac, host_ifname=endpoint.host_ifname,
            ports=tuple((p.proto, p.container_port, p.host_ip, p.host_port) for p in mapped))

    def detach(self, container_id: str, attachment: NetworkAttachment | None) -> None:
        if attachment is None:
            return
        if attachment.ports:
            with contextlib.suppress(Exception):  # the rules go with the table at the latest
                self.firewall.unpublish(container_id)
            self.ports.release(container_id)
        if not os.path.exists(netns.netns_path(str(self.netns_dir), container_id)):
            # Deleting a veth waits for the kernel (20-50 ms); the namespace's own deletion
            # (delete_namespace, next in every clean-up) takes the pair with it in the background.
            netbridge.remove_endpoint(attachment.host_ifname)
        self.ipam.release(BRIDGE_NETWORK_ID, IPv4Address(attachment.ip_address))

    def delete_namespace(self, container_id: str) -> None:
        netns.delete_netns(netns.netns_path(str(self.netns_dir), container_id))

    def shutdown(self) -> None:
        """Remove the bridge and its rules (only called when no container uses them). Also when
        this run never set them up: a previous run may have, and its containers are gone now."""
        with self._lock:
            if not self._ready and not os.path.exists(f"/sys/class/net/{self.settings.name}"):
                return
            with contextlib.suppress(Exception):
                self.firewall.teardown(self.settings.name)
            with contextlib.suppress(Exception):
                self.firewall.destroy()
            with contextlib.suppress(Exception):
                netbridge.delete_bridge(self.settings.name)
            self._ready = False
