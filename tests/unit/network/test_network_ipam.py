from __future__ import annotations

from ipaddress import IPv4Address, IPv4Interface, IPv4Network

import pytest

from dockyard.errors import Conflict, InvalidArgument, Unavailable
from dockyard.network.ipam import (
    IPAM,
    MemoryAllocationStore,
    choose_subnet,
    default_gateway,
    default_pools,
    parse_proc_net_route,
)

NET = IPv4Network("172.17.0.0/16")
GW = IPv4Address("172.17.0.1")


def test_lowest_free_skips_network_gateway_and_reuses_released() -> None:
    ipam = IPAM(MemoryAllocationStore())
    a = ipam.allocate("n", NET, GW, owner="a")
    b = ipam.allocate("n", NET, GW, owner="b")
    assert (a, b) == (IPv4Interface("172.17.0.2/16"), IPv4Interface("172.17.0.3/16"))
    ipam.release("n", a)
    assert ipam.allocate("n", NET, GW, owner="c") == IPv4Interface("172.17.0.2/16")


def test_gateway_not_first_is_skipped_wherever_it_is() -> None:
    ipam = IPAM(MemoryAllocationStore())
    subnet = IPv4Network("10.9.0.0/29")
    got = [str(ipam.allocate("n", subnet, "10.9.0.2", owner=str(i)).ip) for i in range(5)]
    assert got == ["10.9.0.1", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"]  # never .0, .2, .7
    with pytest.raises(Unavailable):
        ipam.allocate("n", subnet, "10.9.0.2", owner="x")


def test_same_owner_gets_its_address_back() -> None:
    ipam = IPAM(MemoryAllocationStore())
    first = ipam.allocate("n", NET, GW, owner="a")
    assert ipam.allocate("n", NET, GW, owner="a") == first


def test_networks_are_independent() -> None:
    ipam = IPAM(MemoryAllocationStore())
    assert ipam.allocate("n1", NET, GW, owner="a") == ipam.allocate("n2", NET, GW, owner="a")


def test_preferred_address() -> None:
    store = MemoryAllocationStore()
    ipam = IPAM(store)
    assert ipam.allocate("n", NET, GW, preferred="172.17.5.5", owner="a") == IPv4Interface("172.17.5.5/16")
    assert store.owners("n") == {"172.17.5.5": "a"}
    with pytest.raises(Conflict, match="Address already in use"):
        ipam.allocate("n", NET, GW, preferred="172.17.5.5", owner="b")
    for bad in ("172.17.0.1", "172.17.0.0", "172.17.255.255"):
        with pytest.raises(Conflict):
            ipam.allocate("n", NET, GW, preferred=bad, owner="b")
    with pytest.raises(InvalidArgument, match="contain the IP address"):
        ipam.allocate("n", NET, GW, preferred="10.0.0.5", owner="b")
    with pytest.raises(InvalidArgument):
        ipam.allocate("n", NET, GW, preferred="nope", owner="b")


def test_release_owner_and_release_are_idempotent() -> None:
    store = MemoryAllocationStore()
    ipam = IPAM(store)
    ipam.allocate("n", NET, GW, owner="a")
    ipam.allocate("n", NET, GW, owner="b")
    assert ipam.release_owner("n", "a") == ["172.17.0.2"]
    assert ipam.release_owner("n", "a") == []
    ipam.release("n", "172.17.0.3")
    ipam.release("n", "172.17.0.3/16")
    assert store.allocated("n") == set()


def test_default_gateway() -> None:
    assert default_gateway(NET) == IPv4Interface("172.17.0.1/16")


PROC_ROUTE = """Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT
eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0
eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0
"""


def test_parse_proc_net_route() -> None:
    assert parse_proc_net_route(PROC_ROUTE) == [IPv4Network("172.17.0.0/16"), IPv4Network("192.0.2.0/24")]
    assert parse_proc_net_route(PROC_ROUTE, {"docker0"}) == [IPv4Network("192.0.2.0/24")]


def test_choose_subnet_prefers_172_17_unless_routed() -> None:
    assert choose_subnet(routes=[IPv4Network("192.0.2.0/24")]) == IPv4Network("172.17.0.0/16")
    routed = [IPv4Network("172.17.0.0/16"), IPv4Network("172.18.5.0/24")]
    assert choose_subnet(routes=routed) == IPv4Network("172.19.0.0/16")
    assert choose_subnet(routes=[], in_use=[IPv4Network("172.17.0.0/16")]) == IPv4Network("172.18.0.0/16")


def test_choose_subnet_falls_back_to_192_168_slash_20_then_fails() -> None:
    all_172 = [IPv4Network("172.16.0.0/12")]
    assert choose_subnet(routes=all_172) == IPv4Network("192.168.0.0/20")
    assert choose_subnet(routes=[*all_172, IPv4Network("192.168.1.0/24")]) == IPv4Network("192.168.16.0/20")
    with pytest.raises(Unavailable):
        choose_subnet(routes=[*all_172, IPv4Network("192.168.0.0/16")])


def test_default_pools_order() -> None:
    pools = list(default_pools())
    assert pools[0] == IPv4Network("172.17.0.0/16") and pools[14] == IPv4Network("172.31.0.0/16")
    assert pools[15] == IPv4Network("192.168.0.0/20") and len(pools) == 15 + 16


def test_host_routes_reads_this_host() -> None:
    from dockyard.network.ipam import host_routes
    assert all(r.prefixlen > 0 for r in host_routes())


def test_ip_range_pool_hands_out_its_own_first_address() -> None:
    """``--ip-range``: addresses come from the range, whose first address is an ordinary one; the
    subnet's network, broadcast and gateway addresses are still never handed out."""
    ipam = IPAM(MemoryAllocationStore())
    subnet = IPv4Network("10.1.0.0/24")
    pool = IPv4Network("10.1.0.252/30")
    got = [ipam.allocate("n", subnet, "10.1.0.254", owner=f"c{i}", pool=pool) for i in range(2)]
    assert [str(a) for a in got] == ["10.1.0.252/24", "10.1.0.253/24"]  # .254 gateway, .255 broadcast
    with pytest.raises(Unavailable):
        ipam.allocate("n", subnet, "10.1.0.254", owner="c3", pool=pool)
    assert str(ipam.allocate("n", subnet, "10.1.0.254", owner="c3", pool=pool, preferred="10.1.0.7")) == \
        "10.1.0.7/24"
