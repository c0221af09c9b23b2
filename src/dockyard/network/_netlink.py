"""Typed wrapper over pyroute2's IPRoute: the only module that touches the untyped library.

A handle for another network namespace gets its netlink socket from a thread that entered that
namespace (dockyard.sys.netns), instead of pyroute2's forked helper process.
"""

from __future__ import annotations

import errno
import socket
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface
from types import TracebackType
from typing import Any

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

from dockyard.sys.netns import call_in_netns

NETLINK_ROUTE = 0


@dataclass(frozen=True)
class Link:
    index: int
    name: str
    kind: str
    mac: str
    master: int | None
    up: bool
    mtu: int


def is_errno(exc: BaseException, *codes: int) -> bool:
    return isinstance(exc, NetlinkError) and exc.code in codes


class Netlink:
    """Route-netlink operations on one namespace (the daemon's, or the one at ``netns_path``)."""

    def __init__(self, netns_path: str | None = None) -> None:
        if netns_path is None:
            self._ipr: Any = IPRoute()
        else:
            sock = call_in_netns(netns_path, lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM,
                                                                    NETLINK_ROUTE))
            self._ipr = IPRoute(fileno=sock.detach())

    def close(self) -> None:
        self._ipr.close()

    def __enter__(self) -> Netlink:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    # links

    def link(self, name: str) -> Link | None:
        try:
            found = self._ipr.link("get", ifname=name)
        except NetlinkError as exc:
            if exc.code in (errno.ENODEV, errno.ENOENT):
                return None
            raise
        return _link(found[0])

    def links(self) -> list[Link]:
        return [_link(msg) for msg in self._ipr.get_links()]

    def add_bridge(self, name: str, *, mtu: int) -> None:
        self._ipr.link("add", ifname=name, kind="bridge", mtu=mtu)

    def add_veth_into_netns(self, name: str, *, peer: str, netns_path: str, mtu: int,
                            peer_mac: str | None) -> None:
        """One request: the veth here and its peer created directly inside ``netns_path``."""
        spec: dict[str, Any] = {"ifname": peer, "net_ns_fd": netns_path, "mtu": mtu}
        if peer_mac is not None:
            spec["address"] = peer_mac
        self._ipr.link("add", ifname=name, kind="veth", mtu=mtu, peer=spec)

    def set_up(self, index: int) -> None:
        self._ipr.link("set", index=index, state="up")

    def set_master(self, index: int, master: int) -> None:
        self._ipr.link("set", index=index, master=master)

    def delete_link(self, index: int) -> None:
        self._ipr.link("del", index=index)

    # addresses and routes

    def addresses(self, index: int) -> list[IPv4Interface]:
        found = []
        for msg in self._ipr.get_addr(family=socket.AF_INET, index=index):
            found.append(IPv4Interface(f"{msg.get_attr('IFA_ADDRESS')}/{msg['prefixlen']}"))
        return found

    def add_address(self, index: int, address: IPv4Interface) -> None:
        self._ipr.addr("add", index=index, address=str(address.ip), prefixlen=address.network.prefixlen)

    def add_default_route(self, gateway: IPv4Address, *, oif: int) -> None:
        # proto boot: the route looks like one `ip route add` made, as in Docker containers.
        self._ipr.route("add", dst="0.0.0.0/0", gateway=str(gateway), oif=oif, proto="boot")

    def default_gateway(self) -> IPv4Address | None:
        for msg in self._ipr.get_routes(family=socket.AF_INET):
            if msg["dst_len"] == 0 and msg.get_attr("RTA_GATEWAY"):
                return IPv4Address(msg.get_attr("RTA_GATEWAY"))
        return None


def _link(msg: Any) -> Link:
    info = msg.get_attr("IFLA_LINKINFO")
    kind = info.get_attr("IFLA_INFO_KIND") if info is not None else ""
    return Link(index=int(msg["index"]), name=str(msg.get_attr("IFLA_IFNAME")), kind=str(kind or ""),
                mac=str(msg.get_attr("IFLA_ADDRESS") or ""), master=msg.get_attr("IFLA_MASTER"),
                up=bool(msg["flags"] & 1), mtu=int(msg.get_attr("IFLA_MTU") or 0))


__all__ = ["Link", "Netlink", "NetlinkError", "is_errno"]
