"""Linux bridges and veth endpoints over route netlink (_netlink, no ``ip`` subprocesses)."""

from __future__ import annotations

import errno
import hashlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from dockyard.errors import FailedPrecondition, InvalidArgument, NotFound
from dockyard.network._netlink import Netlink, is_errno

IFNAMSIZ = 15


@dataclass(frozen=True)
class Endpoint:
    host_ifname: str
    container_ifname: str
    mac: str
    address: IPv4Interface
    gateway: IPv4Address


def mac_for(address: IPv4Address) -> str:
    """Docker's MAC for an IPv4 address: 02:42 followed by the four address bytes."""
    return "02:42:" + ":".join(f"{b:02x}" for b in address.packed)


def veth_name(key: str) -> str:
    """A stable host-side veth name for an endpoint key (e.g. a container ID): ``veth`` + 7 hex."""
    return "veth" + hashlib.sha256(key.encode()).hexdigest()[:7]


def _check_ifname(name: str) -> None:
    if not name or len(name) > IFNAMSIZ or "/" in name or any(c.isspace() for c in name):
        raise InvalidArgument(f"invalid interface name {name!r}")


def ensure_bridge(name: str, gateway: IPv4Interface, *, mtu: int = 1500) -> int:
    """Create the bridge if missing, give it the gateway address, bring it up; return its index."""
    _check_ifname(name)
    with Netlink() as nl:
        link = nl.link(name)
        if link is None:
            try:
                nl.add_bridge(name, mtu=mtu)
            except Exception as exc:
                if not is_errno(exc, errno.EEXIST):  # created meanwhile by a concurrent call
                    raise
            link = nl.link(name)
            if link is None:
                raise NotFound(f"bridge {name} vanished while being created")
        elif link.kind != "bridge":
            raise FailedPrecondition(f"interface {name} exists and is not a bridge ({link.kind or 'unknown'})")
        if gateway not in nl.addresses(link.index):
            try:
                nl.add_address(link.index, gateway)
            except Exception as exc:
                if not is_errno(exc, errno.EEXIST):
                    raise
        if not link.up:
            nl.set_up(link.index)
        return link.index


def delete_bridge(name: str) -> None:
    """Delete the bridge (its ports are released by the kernel); a missing bridge is fine."""
    with Netlink() as nl:
        link = nl.link(name)
        if link is None:
            return
        if link.kind != "bridge":
            raise FailedPrecondition(f"interface {name} is not a bridge ({link.kind or 'unknown'})")
        try:
            nl.delete_link(link.index)
        except Exception as exc:
            if not is_errno(exc, errno.ENODEV):
                raise


def create_endpoint(bridge: str, netns_path: str, *, host_ifname: str, container_ifname: str = "eth0",
                    address: IPv4Interface, gateway: IPv4Address, mac: str | None = None,
                    default_route: bool = True) -> Endpoint:
    """A veth pair from ``bridge`` into the namespace at ``netns_path``, configured and up.

    The container side gets ``address``, a default route via ``gateway`` (unless ``default_route``
    is false: a second network's endpoint) and its loopback up.
    On failure nothing is left behind (deleting the host side deletes the peer too).
    """
    _check_ifname(host_ifname)
    _check_ifname(container_ifname)
    mac = mac or mac_for(address.ip)
    with Netlink() as nl:
        br = nl.link(bridge)
        if br is None or br.kind != "bridge":
            raise NotFound(f"bridge {bridge} not found")
        nl.add_veth_into_netns(host_ifname, peer=container_ifname, netns_path=netns_path, mtu=br.mtu,
                               peer_mac=mac)
        try:
            host = nl.link(host_ifname)
            if host is None:
                raise NotFound(f"veth {host_ifname} vanished while being created")
            nl.set_master(host.index, br.index)
            nl.set_up(host.index)
            with Netlink(netns_path) as inner:
                _configure_container_side(inner, container_ifname, address, gateway if default_route else None)
        except BaseException:
            _delete_quietly(nl, host_ifname)
            raise
    return Endpoint(host_ifname=host_ifname, container_ifname=container_ifname, mac=mac, address=address,
                    gateway=gateway)


def _configure_container_side(nl: Netlink, ifname: str, address: IPv4Interface, gateway: IPv4Address | None) -> None:
    lo = nl.link("lo")
    if lo is not None and not lo.up:
        nl.set_up(lo.index)
    eth = nl.link(ifname)
    if eth is None:
        raise NotFound(f"{ifname} did not appear in the container's network namespace")
    nl.add_address(eth.index, address)
    nl.set_up(eth.index)
    if gateway is not None:
        nl.add_default_route(gateway, oif=eth.index)


def _delete_quietly(nl: Netlink, ifname: str) -> None:
    link = nl.link(ifname)
    if link is not None:
        try:
            nl.delete_link(link.index)
        except Exception as exc:
            if not is_errno(exc, errno.ENODEV):
                raise


def loopback_up(netns_path: str) -> None:
    """Bring ``lo`` up in a namespace that gets no other interface (``--network none``)."""
    with Netlink(netns_path) as nl:
        lo = nl.link("lo")
        if lo is not None and not lo.up:
            nl.set_up(lo.index)


def remove_endpoint(host_ifname: str) -> None:
    """Delete the host side of an endpoint (its peer goes with it); idempotent."""
    with Netlink() as nl:
        _delete_quietly(nl, host_ifname)


def list_endpoints(bridge: str) -> list[str]:
    """Host-side names of the veth interfaces attached to ``bridge`` (sorted)."""
    with Netlink() as nl:
        br = nl.link(bridge)
        if br is None:
            return []
        return sorted(link.name for link in nl.links() if link.master == br.index and link.kind == "veth")


__all__ = [
    "Endpoint", "create_endpoint", "delete_bridge", "ensure_bridge", "list_endpoints", "mac_for",
    "remove_endpoint", "veth_name",
]
