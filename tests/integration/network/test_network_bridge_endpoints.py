"""Real bridges, veths and network namespaces: addresses, routes, MACs and traffic through the bridge."""

from __future__ import annotations

import os
import time
from ipaddress import IPv4Address, IPv4Interface

import pytest
from network_env import NetEnv, ping

from dockyard.errors import AlreadyExists
from dockyard.network._netlink import Netlink
from dockyard.network.bridge import (
    create_endpoint,
    delete_bridge,
    ensure_bridge,
    list_endpoints,
    remove_endpoint,
)
from dockyard.network.netns import create_netns, delete_netns, list_netns

pytestmark = pytest.mark.root


def mounted(path: str) -> bool:
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def test_netns_files(net: NetEnv) -> None:
    path = create_netns(net.netns_dir, "c1")
    assert mounted(path) and list_netns(net.netns_dir) == ["c1"]
    assert os.stat(path).st_ino != os.stat("/proc/self/ns/net").st_ino
    with pytest.raises(AlreadyExists):
        create_netns(net.netns_dir, "c1")
    with Netlink(path) as nl:
        assert [link.name for link in nl.links()] == ["lo"]
    delete_netns(path)
    delete_netns(path)
    assert not mounted(path) and list_netns(net.netns_dir) == []


def test_ensure_bridge_is_idempotent(net: NetEnv) -> None:
    index = ensure_bridge(net.bridge, net.gateway, mtu=1400)
    assert ensure_bridge(net.bridge, net.gateway) == index
    with Netlink() as nl:
        link = nl.link(net.bridge)
        assert link is not None and link.kind == "bridge" and link.up and link.mtu == 1400
        assert nl.addresses(index) == [net.gateway]
    delete_bridge(net.bridge)
    delete_bridge(net.bridge)
    assert list_endpoints(net.bridge) == []


def test_two_endpoints_talk_through_the_bridge(net: NetEnv) -> None:
    ensure_bridge(net.bridge, net.gateway)
    ns1 = create_netns(net.netns_dir, "c1")
    ns2 = create_netns(net.netns_dir, "c2")
    gw = net.gateway.ip
    ep1 = create_endpoint(net.bridge, ns1, host_ifname=net.ifname("a"), address=net.address(2), gateway=gw)
    ep2 = create_endpoint(net.bridge, ns2, host_ifname=net.ifname("b"), container_ifname="eth1",
                          address=net.address(3), gateway=gw, mac="02:42:00:00:00:33")
    octets = net.subnet.network_address.packed
    assert ep1.mac == "02:42:" + ":".join(f"{b:02x}" for b in octets[:3]) + ":02"
    assert ep2.mac == "02:42:00:00:00:33" and ep2.container_ifname == "eth1"
    assert list_endpoints(net.bridge) == sorted([net.ifname("a"), net.ifname("b")])

    with Netlink(ns1) as nl:
        eth0, lo = nl.link("eth0"), nl.link("lo")
        assert eth0 is not None and lo is not None and eth0.up and lo.up and eth0.mac == ep1.mac
        assert nl.addresses(eth0.index) == [net.address(2)]
        assert nl.default_gateway() == gw
    with Netlink() as nl:
        host = nl.link(net.ifname("a"))
        bridge = nl.link(net.bridge)
        assert host is not None and bridge is not None and host.master == bridge.index and host.up

    assert ping(ns1, net.address(3).ip) and ping(ns2, net.address(2).ip)
    assert ping(ns1, gw) and ping(ns1, "127.0.0.1")

    remove_endpoint(ep1.host_ifname)
    remove_endpoint(ep1.host_ifname)
    with Netlink(ns1) as nl:
        assert nl.link("eth0") is None  # the peer went with the host side
    assert list_endpoints(net.bridge) == [net.ifname("b")]
    delete_netns(ns2)  # the namespace going away takes its veth pair with it, a little later
    deadline = time.monotonic() + 5
    while list_endpoints(net.bridge) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert list_endpoints(net.bridge) == []
    delete_netns(ns1)
    delete_bridge(net.bridge)


def test_failed_endpoint_leaves_nothing(net: NetEnv) -> None:
    ensure_bridge(net.bridge, net.gateway)
    ns = create_netns(net.netns_dir, "c1")
    with pytest.raises(Exception):  # noqa: B017 - the gateway is not reachable from the address: ENETUNREACH
        create_endpoint(net.bridge, ns, host_ifname=net.ifname("a"), address=IPv4Interface("10.1.2.3/32"),
                        gateway=IPv4Address("10.9.9.9"))
    assert list_endpoints(net.bridge) == []
    with Netlink(ns) as nl:
        assert nl.link("eth0") is None
    delete_netns(ns)
    delete_bridge(net.bridge)
