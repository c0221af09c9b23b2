"""Port and volume specifications, short and long."""

from __future__ import annotations

import pytest

from dockyard.compose.errors import InvalidProject
from dockyard.compose.model import MountSpec, PortSpec
from dockyard.compose.mounts import parse_long as mount_long
from dockyard.compose.mounts import parse_short as mount_short
from dockyard.compose.ports import expose_keys, parse_long, parse_ports, parse_short


@pytest.mark.parametrize("spec, expected", [
    ("80", [PortSpec(80)]),
    ("8080:80", [PortSpec(80, "8080")]),
    ("127.0.0.1:8080:80", [PortSpec(80, "8080", "127.0.0.1")]),
    ("127.0.0.1::80", [PortSpec(80, "", "127.0.0.1")]),
    ("[::1]:8080:80", [PortSpec(80, "8080", "::1")]),
    ("::1:8080:80", [PortSpec(80, "8080", "::1")]),
    ("53:53/udp", [PortSpec(53, "53", protocol="udp")]),
    ("3000-3001", [PortSpec(3000), PortSpec(3001)]),
    ("9090-9091:8080-8081", [PortSpec(8080, "9090"), PortSpec(8081, "9091")]),
    ("8000-8010:80", [PortSpec(80, "8000-8010")]),
    ("127.0.0.1:5000-5001:5000-5001/tcp", [PortSpec(5000, "5000", "127.0.0.1"), PortSpec(5001, "5001", "127.0.0.1")]),
])
def test_short_syntax(spec: str, expected: list[PortSpec]) -> None:
    assert parse_short(spec) == expected


@pytest.mark.parametrize("spec, message", [
    ("abc", "invalid containerPort: abc"),
    ("70000", "invalid containerPort: 70000"),
    ("x:80", "invalid hostPort: x"),
    ("80/sctpx", "invalid proto: sctpx"),
    ("1.2.3:80:80", "invalid IP address: 1.2.3"),
    ("8080-8081:80-82", "invalid ranges specified for container and host Ports: 80-82 and 8080-8081"),
])
def test_short_syntax_errors(spec: str, message: str) -> None:
    with pytest.raises(InvalidProject) as info:
        parse_short(spec)
    assert str(info.value) == message


def test_long_syntax_and_numbers() -> None:
    assert parse_long({"target": 80, "published": 8080, "host_ip": "127.0.0.1", "protocol": "udp", "mode": "host"},
                      "p") == [PortSpec(80, "8080", "127.0.0.1", "udp", "host")]
    assert parse_ports([80, "80", {"target": "80"}], "p") == (PortSpec(80),)  # duplicates are dropped
    with pytest.raises(InvalidProject, match="additional properties 'publish' not allowed"):
        parse_long({"target": 80, "publish": 1}, "p")


def test_expose() -> None:
    assert expose_keys("8000-8001/udp") == ["8000/udp", "8001/udp"]
    assert expose_keys("3000") == ["3000/tcp"]


@pytest.mark.parametrize("spec, expected", [
    ("/data", MountSpec("volume", "/data", short_syntax=True)),
    ("data:/data", MountSpec("volume", "/data", "data", short_syntax=True)),
    ("data:/data:ro", MountSpec("volume", "/data", "data", read_only=True, short_syntax=True)),
    ("data:/data:nocopy", MountSpec("volume", "/data", "data", short_syntax=True, nocopy=True)),
    ("./src:/src", MountSpec("bind", "/src", "/proj/src", short_syntax=True)),
    ("../up:/up:ro,z", MountSpec("bind", "/up", "/up", read_only=True, short_syntax=True, selinux="z")),
    ("/abs:/abs:rshared", MountSpec("bind", "/abs", "/abs", short_syntax=True, propagation="rshared")),
])
def test_volume_short_syntax(spec: str, expected: MountSpec) -> None:
    assert mount_short(spec, "/proj") == expected


def test_volume_home_and_errors() -> None:
    assert mount_short("~/x:/x", "/proj").source.endswith("/x")
    with pytest.raises(InvalidProject, match="unknown option: bogus"):
        mount_short("a:/b:bogus", "/proj")
    with pytest.raises(InvalidProject, match="empty section between colons"):
        mount_short("a::/b", "/proj")


def test_volume_long_syntax() -> None:
    assert mount_long({"type": "bind", "source": "rel", "target": "/t", "bind": {"propagation": "rslave"}}, "v",
                      "/proj") == MountSpec("bind", "/t", "/proj/rel", propagation="rslave")
    assert mount_long({"type": "tmpfs", "target": "/t", "tmpfs": {"size": "1m", "mode": "1777"}}, "v", "/p") == \
        MountSpec("tmpfs", "/t", tmpfs_size=1 << 20, tmpfs_mode=0o1777)
    with pytest.raises(InvalidProject, match="missing property 'type'"):
        mount_long({"target": "/t"}, "v", "/p")
