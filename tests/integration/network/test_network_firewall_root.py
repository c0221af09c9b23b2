"""dockyard's nft table on the real kernel: masquerade towards an "outside" namespace, and the narrow
iptables accepts that keep a bridge forwarding under a FORWARD DROP policy."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from ipaddress import IPv4Interface

import pytest
from network_env import NetEnv, forward_listing, ping

from dockyard.network._netlink import Netlink
from dockyard.network.bridge import create_endpoint, delete_bridge, ensure_bridge, remove_endpoint
from dockyard.network.firewall import Firewall
from dockyard.network.iptables import ForwardRules
from dockyard.network.netns import create_netns, delete_netns
from dockyard.network.nftables import Table

pytestmark = pytest.mark.root


@dataclass(frozen=True)
class Topology:
    container: str  # netns path of a container on the bridge
    outside: str  # netns path standing for the world beyond the host
    outside_address: IPv4Interface


@pytest.fixture
def topology(net: NetEnv) -> Iterator[Topology]:
    """Bridge + one container, and an "outside" netns routed from the host with no route back."""
    ensure_bridge(net.bridge, net.gateway)
    container = create_netns(net.netns_dir, "c1")
    create_endpoint(net.bridge, container, host_ifname=net.ifname("a"), address=net.address(2),
                    gateway=net.gateway.ip)
    outside = create_netns(net.netns_dir, "out")
    host_side = IPv4Interface(f"{net.outside_subnet.network_address + 1}/24")
    far_side = IPv4Interface(f"{net.outside_subnet.network_address + 2}/24")
    with Netlink() as nl:
        nl.add_veth_into_netns(net.ifname("o"), peer="eth0", netns_path=outside, mtu=1500, peer_mac=None)
        link = nl.link(net.ifname("o"))
        assert link is not None
        nl.add_address(link.index, host_side)
        nl.set_up(link.index)
    with Netlink(outside) as nl:
        eth0 = nl.link("eth0")
        assert eth0 is not None
        nl.add_address(eth0.index, far_side)
        nl.set_up(eth0.index)
    try:
        yield Topology(container=container, outside=outside, outside_address=far_side)
    finally:
        # Explicitly: a deleted namespace frees its veths only later, in the kernel's cleanup work.
        remove_endpoint(net.ifname("o"))
        remove_endpoint(net.ifname("a"))
        delete_netns(container)
        delete_netns(outside)
        delete_bridge(net.bridge)


def nft_rules(table: str) -> list[dict[str, object]] | None:
    proc = subprocess.run(["nft", "-j", "list", "table", "inet", table], capture_output=True, text=True)
    if proc.returncode != 0:
        return None
    return [item["rule"] for item in json.loads(proc.stdout)["nftables"] if "rule" in item]


def test_masquerade_rule_and_teardown(net: NetEnv, topology: Topology) -> None:
    fw = Firewall(Table(net.table))
    fw.setup(net.bridge, net.subnet)
    fw.setup(net.bridge, net.subnet)  # idempotent: no duplicate rules
    rules = nft_rules(net.table)
    assert rules is not None
    # outbound traffic of the subnet, and the host's loopback connections to published ports
    masq = [r for r in rules if r["chain"] == "postrouting"]
    assert len(masq) == 2 and all({"masquerade": None} in r["expr"] for r in masq)  # type: ignore[operator]
    assert {"prefix": {"addr": str(net.subnet.network_address), "len": 24}} in \
        [e["match"]["right"] for e in masq[0]["expr"] if "match" in e]  # type: ignore[attr-defined, index]
    # The outside netns has no route back to the bridge subnet: replies only arrive thanks to NAT.
    assert ping(topology.container, topology.outside_address.ip)

    fw.teardown(net.bridge, net.subnet)
    rules = nft_rules(net.table)
    assert rules is not None and not [r for r in rules if r["chain"] in ("postrouting", "forward")]
    assert not ping(topology.container, topology.outside_address.ip)
    fw.destroy()
    assert nft_rules(net.table) is None


def test_reconcile_drops_bridges_that_are_gone(net: NetEnv, topology: Topology) -> None:
    fw = Firewall(Table(net.table))
    fw.setup("dytgone" + net.suffix[:4], net.outside_subnet)
    fw.reconcile([(net.bridge, net.subnet)])
    rules = nft_rules(net.table)
    assert rules is not None
    assert {r["comment"] for r in rules if r["chain"] in ("postrouting", "forward")} == \
        {f"dockyard bridge {net.bridge}"}
    assert ping(topology.container, topology.outside_address.ip)
    fw.reconcile([])
    assert not ping(topology.container, topology.outside_address.ip)
    fw.destroy()


def test_forward_drop_policy_gets_narrow_accepts(net: NetEnv, topology: Topology, forward_drop: None) -> None:
    before = forward_listing()
    assert before[0] == "-P FORWARD DROP"
    fw = Firewall(Table(net.table))
    fw.setup(net.bridge, net.subnet)
    ours = [line for line in forward_listing() if f"dockyard {net.table} {net.bridge}" in line]
    # out of the bridge, replies in, and published ports' connections in; at the top of FORWARD
    assert len(ours) == 3 and forward_listing()[1:4] == ours
    assert ForwardRules(net.table).policy_is_drop()
    assert ping(topology.container, topology.outside_address.ip)
    assert ping(topology.container, net.gateway.ip)

    fw.teardown(net.bridge, net.subnet)
    assert forward_listing() == before  # exactly ours removed, nothing else touched
    fw.setup(net.bridge, net.subnet)
    fw.destroy()
    assert forward_listing() == before and nft_rules(net.table) is None


def test_forward_drop_blocks_without_our_rules(net: NetEnv, topology: Topology, forward_drop: None) -> None:
    """The control experiment: nft accepts alone do not get past another chain's DROP policy."""
    fw = Firewall(Table(net.table), forward_rules=ForwardRules(net.table, binary="/nonexistent/iptables"))
    fw.setup(net.bridge, net.subnet)
    assert not ping(topology.container, topology.outside_address.ip)
    fw.destroy()


def test_internal_bridge_forwards_nothing_out(net: NetEnv, topology: Topology) -> None:
    """``network create --internal``: no masquerade and no forwarding to the outside, while the
    same bridge set up normally reaches it."""
    fw = Firewall(Table(net.table))
    fw.setup(net.bridge, net.subnet, internal=True)
    rules = nft_rules(net.table)
    assert rules is not None and not [r for r in rules if r["chain"] == "postrouting"
                                      and r["comment"] == f"dockyard bridge {net.bridge}"]
    assert not ping(topology.container, topology.outside_address.ip)
    fw.setup(net.bridge, net.subnet)  # replaced by the rules of a normal bridge
    assert ping(topology.container, topology.outside_address.ip)
    fw.destroy()
