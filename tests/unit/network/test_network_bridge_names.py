from __future__ import annotations

from ipaddress import IPv4Address

from dockyard.network.bridge import mac_for, veth_name


def test_mac_like_docker() -> None:
    assert mac_for(IPv4Address("172.17.0.2")) == "02:42:ac:11:00:02"
    assert mac_for(IPv4Address("10.255.0.254")) == "02:42:0a:ff:00:fe"


def test_veth_name_is_stable_and_short() -> None:
    name = veth_name("f" * 64)
    assert name == veth_name("f" * 64) != veth_name("e" * 64)
    assert name.startswith("veth") and len(name) == 11
