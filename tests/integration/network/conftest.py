"""Fixtures of the network root tests: a NetEnv per test with a leak check, and a FORWARD DROP policy.

After the test, anything carrying the test's suffix (links, nft table, tagged iptables rules, netns
files) fails the test and is removed; ip_forward and the FORWARD policy must be as they were.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from network_env import NetEnv, forward_listing, free_subnets, links_with, nft_tables

from dockyard.network import sysctl
from dockyard.network.netns import delete_netns


@pytest.fixture
def net(tmp_path: Path) -> Iterator[NetEnv]:
    suffix = secrets.token_hex(3)
    subnet, outside = free_subnets(2)
    env = NetEnv(suffix=suffix, bridge=f"dyt{suffix}", table=f"dyt{suffix}", subnet=subnet,
                 outside_subnet=outside, netns_dir=str(tmp_path / "netns"))
    ip_forward = sysctl.read("net.ipv4.ip_forward")
    policy = forward_listing()[0]
    yield env

    leaks: list[str] = []
    deadline = time.monotonic() + 3  # veths of deleted namespaces go in the kernel's async cleanup
    while links_with(suffix) and time.monotonic() < deadline:
        time.sleep(0.02)
    for name in links_with(suffix):
        leaks.append(f"link {name}")
        subprocess.run(["ip", "link", "del", name], capture_output=True)
    for table in nft_tables():
        if table.endswith(" " + env.table):
            leaks.append(f"nft table {table}")
            subprocess.run(["nft", "delete", "table", *table.split()], capture_output=True)
    for line in forward_listing():
        if f"dockyard {env.table} " in line:
            leaks.append(f"iptables rule {line}")
            subprocess.run(["iptables", "-w", "5", *line.replace("-A", "-D", 1).split()], capture_output=True)
    if os.path.isdir(env.netns_dir):
        for name in os.listdir(env.netns_dir):
            leaks.append(f"netns {name}")
            delete_netns(os.path.join(env.netns_dir, name))
    if sysctl.read("net.ipv4.ip_forward") != ip_forward:
        leaks.append("ip_forward changed")
        sysctl.write("net.ipv4.ip_forward", ip_forward)
    assert forward_listing()[0] == policy, "FORWARD policy changed"
    assert not leaks, f"leaked: {leaks}"


@pytest.fixture
def forward_drop() -> Iterator[None]:
    """``iptables -P FORWARD DROP`` as a running Docker leaves it; the old policy comes back after."""
    before = forward_listing()[0].split()[-1]
    subprocess.run(["iptables", "-w", "5", "-P", "FORWARD", "DROP"], check=True)
    try:
        yield
    finally:
        subprocess.run(["iptables", "-w", "5", "-P", "FORWARD", before], check=True)

