"""Names, subnets and probes for the network package's root tests (fixtures are in conftest.py).

Every test gets names with its own random suffix (bridge ``dyt<sfx>``, veths ``dy?<sfx>``, nft
table ``dyt<sfx>``), a 10.x /24 subnet not routed on the host, and netns files under its tmp_path."""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network

from dockyard.network.ipam import host_routes


@dataclass(frozen=True)
class NetEnv:
    suffix: str
    bridge: str
    table: str
    subnet: IPv4Network
    outside_subnet: IPv4Network
    netns_dir: str

    @property
    def gateway(self) -> IPv4Interface:
        return IPv4Interface(f"{self.subnet.network_address + 1}/{self.subnet.prefixlen}")

    def address(self, host: int) -> IPv4Interface:
        return IPv4Interface(f"{self.subnet.network_address + host}/{self.subnet.prefixlen}")

    def ifname(self, tag: str) -> str:
        name = f"dy{tag}{self.suffix}"
        assert len(name) <= 15
        return name


def free_subnets(count: int) -> list[IPv4Network]:
    busy = host_routes()
    found: list[IPv4Network] = []
    while len(found) < count:
        candidate = IPv4Network(f"10.{random.randint(200, 250)}.{random.randint(0, 255)}.0/24")
        if not any(candidate.overlaps(r) for r in busy + found):
            found.append(candidate)
    return found


def links_with(suffix: str) -> list[str]:
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True).stdout
    names = [line.split(":")[1].strip().split("@")[0] for line in out.splitlines()]
    return [n for n in names if n.endswith(suffix)]


def nft_tables() -> list[str]:
    out = subprocess.run(["nft", "-j", "list", "tables"], capture_output=True, text=True, check=True).stdout
    return [f"{t['table']['family']} {t['table']['name']}" for t in json.loads(out)["nftables"] if "table" in t]


def forward_listing() -> list[str]:
    return subprocess.run(["iptables", "-w", "5", "-S", "FORWARD"], capture_output=True, text=True,
                          check=True).stdout.splitlines()


def ping(netns_path: str, address: IPv4Address | str) -> bool:
    proc = subprocess.run(["nsenter", f"--net={netns_path}", "/bin/busybox", "ping", "-c1", "-W1", str(address)],
                          capture_output=True, text=True, timeout=10)
    return proc.returncode == 0
