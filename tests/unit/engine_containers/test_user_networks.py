"""The registry of bridge networks and the user networks' engine, without touching the host: the
bridges are only set up when a container attaches (not here) or when the engine creates one (made
a no-op here)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from dockyard.engine.containers.networking import BridgeNetwork, BridgeSettings, Networks, UserNetworkSpec
from dockyard.engine.containers.record import ContainerRecord
from dockyard.engine.networks import NetworkEngine
from dockyard.errors import Conflict, InvalidArgument, NotFound, PermissionDenied
from dockyard.store.metadata import MetadataStore


def registry(tmp_path: Path) -> Networks:
    return Networks(BridgeNetwork(BridgeSettings(name="dyunit0", cidr="10.123.0.1/24"), tmp_path / "netns"))


def test_lookup_by_name_id_and_prefix(tmp_path: Path) -> None:
    networks = registry(tmp_path)
    a = networks.add(UserNetworkSpec("abc123" + "0" * 58, "front", "10.124.0.0/24", "10.124.0.1"))
    b = networks.add(UserNetworkSpec("abd456" + "0" * 58, "abc123", "10.125.0.0/24", "10.125.0.1"))
    assert networks.lookup("front") is a
    assert networks.lookup("abc123") is b  # a name before an ID prefix, as dockerd looks
    assert networks.lookup("abd") is b
    with pytest.raises(NotFound, match="network ab not found"):
        networks.lookup("ab")  # ambiguous prefix
    assert a.settings.name == "dy-abc123000000" and a.settings.cidr == "10.124.0.1/24"
    assert [str(s) for s in networks.subnets_in_use()] == ["10.123.0.0/24", "10.124.0.0/24", "10.125.0.0/24"]


def test_a_network_with_members_is_not_removed(tmp_path: Path) -> None:
    networks = registry(tmp_path)
    spec = UserNetworkSpec("f" * 64, "busy", "10.126.0.0/24", "10.126.0.1")
    network = networks.add(spec)
    network._join("c1")  # a container getting an endpoint
    with pytest.raises(PermissionDenied, match="network busy id f+ has active endpoints"):
        networks.discard(spec.id)
    assert networks.lookup("busy") is network
    network._leave("c1")
    networks.discard(spec.id)
    with pytest.raises(NotFound):
        networks.lookup("busy")
    with pytest.raises(NotFound, match="network busy not found"):
        network._join("c2")  # a start that found it before it went


class NoContainers:
    def all(self) -> list[ContainerRecord]:
        return []

    def connect(self, network_ref: str, ref: str, *, aliases: object = (), ipv4: str = "") -> None:
        raise AssertionError("not called")

    def disconnect(self, network_ref: str, ref: str, *, force: bool = False) -> None:
        raise AssertionError("not called")


def test_engine_create_checks_and_persists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BridgeNetwork, "ensure", lambda self: None)
    monkeypatch.setattr(BridgeNetwork, "shutdown", lambda self, **kw: None)
    events: list[tuple[str, str]] = []

    def publish(kind: str, action: str, ident: str, attrs: dict[str, str]) -> None:
        events.append((action, attrs["name"]))

    with MetadataStore(tmp_path / "m.db") as metadata:
        engine = NetworkEngine(registry(tmp_path), NoContainers(), created=0.0, metadata=metadata, publish=publish)

        def create(body: dict[str, object]) -> tuple[str, str]:
            return asyncio.run(engine.create(body))

        ident, _ = create({"Name": "front", "IPAM": {"Config": [{"Subnet": "10.127.0.0/24",
                                                                  "IPRange": "10.127.0.128/25"}]},
                           "Labels": {"a": "b"}, "Internal": True})
        for body, error, message in [
            ({"Name": "front"}, Conflict, "network with name front already exists"),
            ({"Name": "none"}, Conflict, "network with name none already exists"),
            ({"Name": "x", "Driver": "overlay"}, NotFound, 'plugin "overlay" not found'),
            ({"Name": "x", "Driver": "host"}, PermissionDenied, 'only one instance of "host" network is allowed'),
            ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.127.0.64/26"}]}}, PermissionDenied,
             "Pool overlaps with other one on this address space"),
            ({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.128.0.0/24", "Gateway": "10.9.0.1"}]}},
             InvalidArgument, "gateway address 10.9.0.1 is not in subnet 10.128.0.0/24"),
            ({"Name": ""}, InvalidArgument, "network name must not be empty"),
        ]:
            with pytest.raises(error, match=message):
                create(body)
        # a restarted daemon knows it again, with its settings
        again = NetworkEngine(registry(tmp_path), NoContainers(), created=0.0, metadata=metadata)
        view = asyncio.run(again.inspect("front"))
        assert (view.id, view.subnet, view.gateway, view.ip_range, view.internal, view.labels) == \
            (ident, "10.127.0.0/24", "10.127.0.1", "10.127.0.128/25", True, {"a": "b"})
        assert asyncio.run(again.prune({})) == ["front"]
        assert [r.name for r in metadata.list_networks()] == []
    assert events == [("create", "front")]
