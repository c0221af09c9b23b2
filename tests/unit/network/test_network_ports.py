"""Published ports: what ``-p``/``-P`` ask for, host ports handed out and kept, and the DNAT rules."""

from __future__ import annotations

import json
import socket

import pytest

from dockyard.errors import Conflict, InvalidArgument
from dockyard.network.nftables import Table, batch
from dockyard.network.ports import PortAllocator, PortRequest, PublishedPort, publish_rules, requests_of


def test_requests_from_bindings_and_publish_all() -> None:
    got = requests_of({"80/tcp": [("", "8080")], "53/udp": [("127.0.0.1", "")], "90/tcp": [("", "9000-9005")],
                       "70/tcp": [("::", "7070")]}, publish_all=True, exposed=["80/tcp", "443/tcp"])
    assert got == [PortRequest("udp", 53, "127.0.0.1"), PortRequest("tcp", 80, "", 8080, 8080),
                   PortRequest("tcp", 90, "", 9000, 9005), PortRequest("tcp", 443)]  # IPv6 host addresses skipped
    for bad in ({"80/tcp": [("", "x")]}, {"80/tcp": [("", "0")]}, {"80/tcp": [("300.1.1.1", "80")]}):
        with pytest.raises(InvalidArgument):
            requests_of(bad, publish_all=False, exposed=[])


def test_allocator_hands_out_and_keeps_ports() -> None:
    ports = PortAllocator(probe=False)
    assert ports.allocate("a", [PortRequest("tcp", 80, "", 8080, 8080)]) == [PublishedPort("tcp", 80, "0.0.0.0", 8080)]
    assert requests_of({"80/tcp": [("0.0.0.0", "8080")]}, publish_all=False, exposed=[]) == \
        [PortRequest("tcp", 80, "", 8080, 8080)]  # 0.0.0.0 is every address, as ""
    with pytest.raises(Conflict) as info:
        ports.allocate("b", [PortRequest("tcp", 81, "127.0.0.1", 8080, 8080)])  # 0.0.0.0 covers every address
    assert str(info.value) == "Bind for 127.0.0.1:8080 failed: port is already allocated"
    assert ports.allocate("b", [PortRequest("udp", 81, "", 8080, 8080)])[0].host_port == 8080  # another protocol
    first = ports.allocate("c", [PortRequest("tcp", 1), PortRequest("tcp", 2)])
    assert first[0].host_port != first[1].host_port
    with pytest.raises(Conflict):  # all or nothing: the free one is given back when the next fails
        ports.allocate("d", [PortRequest("tcp", 1, "", 9001, 9001), PortRequest("tcp", 2, "", 8080, 8080)])
    assert ports.allocate("e", [PortRequest("tcp", 1, "", 9001, 9001)])[0].host_port == 9001
    ports.release("a")
    assert ports.allocate("f", [PortRequest("tcp", 80, "", 8080, 8080)])[0].host_port == 8080
    ports.restore("g", [PublishedPort("tcp", 80, "10.0.0.1", 7000)])
    with pytest.raises(Conflict):
        ports.allocate("h", [PortRequest("tcp", 80, "", 7000, 7000)])


def test_allocator_skips_ports_the_host_holds() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(Conflict):
            PortAllocator().allocate("a", [PortRequest("tcp", 80, "127.0.0.1", port, port)])
        got = PortAllocator().allocate("a", [PortRequest("tcp", 80, "127.0.0.1", port, port + 1)])
        assert got[0].host_port == port + 1


def test_publish_rules_json() -> None:
    rules = publish_rules(Table("dockyard", "inet"), "c1", "172.17.0.2",
                          [PublishedPort("tcp", 80, "0.0.0.0", 8080), PublishedPort("udp", 53, "127.0.0.1", 5353)])
    first, second = (r["add"]["rule"] for r in rules)
    assert first["chain"] == "publish" and first["comment"] == "dockyard port c1"
    assert first["expr"][-1] == {"dnat": {"family": "ip", "addr": "172.17.0.2", "port": 80}}
    assert {"match": {"op": "==", "left": {"payload": {"protocol": "th", "field": "dport"}}, "right": 8080}} \
        in first["expr"]
    assert second["expr"][0]["match"]["right"] == "127.0.0.1"  # a host address narrows the rule
    json.loads(batch(rules))
