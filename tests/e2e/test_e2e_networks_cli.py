"""``dockyard network`` (our own CLI) against dockyardd, side by side with the docker CLI v28 on the
same daemon: create, ls, inspect, rm and prune print what docker prints."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import re
from collections.abc import Iterator

import pytest

from conftest import DaemonHandle, remove_all_containers

pytestmark = pytest.mark.e2e

T = 60


def _subnet(d: DaemonHandle, index: int) -> str:
    """A /24 of 10.150-199.x.0 for this test daemon (its default bridge is in 10.200-249)."""
    digest = hashlib.sha256(f"{d.root}/cli/{index}".encode()).digest()
    return f"10.{150 + digest[0] % 50}.{digest[1]}.0/24"


Result = tuple[int, str, str]


def docker(d: DaemonHandle, *args: str, input: bytes | None = None) -> Result:
    proc = d.docker(*args, input=input, check=False, timeout=T)
    return proc.returncode, proc.stdout, proc.stderr


def ours(d: DaemonHandle, *args: str, input: bytes | None = None) -> Result:
    proc = d.dockyard(*args, input=input, check=False, timeout=T)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


def stdout(d: DaemonHandle, *args: str) -> str:
    return d.dockyard(*args, timeout=T).stdout.decode()


def same(d: DaemonHandle, *args: str, input: bytes | None = None) -> Result:
    """Run a command that changes nothing with both CLIs; they must agree on everything."""
    theirs, mine = docker(d, *args, input=input), ours(d, *args, input=input)
    assert mine == theirs, f"{' '.join(args)}:\n docker:   {theirs!r}\n dockyard: {mine!r}"
    return mine


@pytest.fixture
def nd(d: DaemonHandle) -> Iterator[DaemonHandle]:
    """The test daemon; its user-defined networks (and their host bridges) go at the end."""
    try:
        yield d
    finally:
        remove_all_containers(d)
        d.docker("network", "prune", "-f", check=False, timeout=T)


def test_create_ls_and_inspect_match_the_docker_cli(nd: DaemonHandle) -> None:
    d = nd
    subnet = _subnet(d, 0)
    network = ipaddress.ip_network(subnet)
    gateway = str(network.network_address + 254)
    ip_range = str(list(network.subnets(new_prefix=25))[1])
    front = stdout(d, "network", "create", "--subnet", subnet, "--gateway", gateway, "--ip-range", ip_range,
                   "--label", "tier=front", "-o", "com.example.opt=1", "--internal", "--attachable", "front")
    assert re.fullmatch(r"[0-9a-f]{64}\n", front)
    front = front.strip()
    auto = stdout(d, "network", "create", "net9").strip()  # no --subnet: the daemon picks one
    assert re.fullmatch(r"[0-9a-f]{64}", auto)
    d.docker("network", "create", "net10", timeout=T)  # one made by the docker CLI, for the order
    d.dockyard("network", "create", "--label", "tier=back", "-d", "bridge", "back", timeout=T)

    # ls: the default table (12-character IDs, sorted naturally by name), -q, filters, formats
    table = same(d, "network", "ls")[1].splitlines()
    assert table[0] == "NETWORK ID     NAME      DRIVER    SCOPE"
    assert [row.split()[1] for row in table[1:]] == ["back", "bridge", "front", "host", "net9", "net10", "none"]
    assert f"{front[:12]}   front     bridge    local" in table
    assert same(d, "network", "ls", "-q")[1].split()[2] == front[:12]
    assert front in same(d, "network", "ls", "--quiet", "--no-trunc")[1].split()
    assert same(d, "network", "list", "--filter", "name=net", "--format", "{{.Name}}")[1] == "net9\nnet10\n"
    assert same(d, "network", "ls", "-q", "-f", "name=front")[1] == front[:12] + "\n"
    assert same(d, "network", "ls", "-f", "label=tier=front", "--format",
                "{{.Name}} {{.Driver}} {{.Internal}} {{.Labels}}")[1] == "front bridge true tier=front\n"
    same(d, "network", "ls", "--no-trunc")
    same(d, "network", "ls", "-f", "type=custom", "--format", "table {{.ID}}\t{{.Name}}\t{{.IPv6}}\t{{.CreatedAt}}")
    same(d, "network", "ls", "--format", "json")
    same(d, "network", "ls", "--format", "raw", "-f", "driver=bridge")
    same(d, "network", "ls", "-f", "dangling=true", "-f", "label=tier")
    same(d, "network", "ls", "-f", "name=nothing-like-this")
    same(d, "network", "ls", "-f", "bogus=1")  # the daemon's error

    # inspect: the daemon's JSON, and templates over docker's types
    assert same(d, "network", "inspect", "-f", "{{.IPAM.Config}}", "front")[1] == \
        f"[{{{subnet} {ip_range} {gateway} map[]}}]\n"
    config = json.loads(same(d, "network", "inspect", "-f", "{{json .IPAM.Config}}", "net9")[1])
    assert len(config) == 1 and ipaddress.ip_address(config[0]["Gateway"]) in ipaddress.ip_network(config[0]["Subnet"])
    inspected = json.loads(same(d, "network", "inspect", "front", "net9", "bridge")[1])
    assert [n["Id"] for n in inspected[:2]] == [front, auto]
    assert inspected[0]["Labels"] == {"tier": "front"} and inspected[0]["Options"] == {"com.example.opt": "1"}
    assert inspected[0]["Internal"] is True and inspected[0]["Attachable"] is True
    for template in ("{{.IPAM}}", "{{json .IPAM}}", "{{.Name}} {{.ID}} {{.Created}} {{.Scope}} {{.Driver}}",
                     "{{.Internal}} {{.Attachable}} {{.Options}} {{.Labels}} {{index .Labels \"tier\"}}",
                     "{{json .}}", "{{.}}", "{{.Id}} {{json .Created}}", "json", "{{range .IPAM.Config}}{{.Gateway}}{{end}}"):
        same(d, "network", "inspect", "--format", template, "front", "net9", "back", "bridge", "host", "none")
    missing = same(d, "network", "inspect", "front", "nope")
    assert missing[0] == 1 and missing[2] == "Error response from daemon: network nope not found\n"
    same(d, "network", "inspect", "-f", "{{.Name}}", "nope")

    # creating it again, or over a used subnet, fails as the daemon says
    for args in (("front",), ("--subnet", subnet, "other"), ("-d", "nosuchdriver", "other")):
        assert ours(d, "network", "create", *args) == docker(d, "network", "create", *args)
    assert ours(d, "network", "create", "--gateway", gateway, "other") == \
        (1, "", "every ip-range or gateway must have a corresponding subnet\n")


def test_rm_and_prune_match_the_docker_cli(nd: DaemonHandle) -> None:
    d = nd

    def make(*names: str) -> None:
        for name in names:
            d.dockyard("network", "create", name, timeout=T)

    make("a1", "b1")
    removed = ours(d, "network", "rm", "a1", "nope", "b1")
    assert removed == (1, "a1\nb1\n", "Error response from daemon: network nope not found\nexit status 1\n")
    make("a1", "b1")
    assert docker(d, "network", "rm", "a1", "nope", "b1") == removed
    assert ours(d, "network", "ls", "-q", "-f", "type=custom")[1] == ""
    make("a1")
    assert ours(d, "network", "remove", "-f", "nope", "a1") == (0, "a1\n", "")
    same(d, "network", "rm", "-f", "nope")
    same(d, "network", "rm", "bridge", "host", "none")

    # prune: asks first; leaves networks in use, and the ones the filters keep
    d.dockyard("network", "create", "--subnet", _subnet(d, 1), "--label", "keep=no", "p1", timeout=T)
    d.dockyard("network", "create", "--label", "keep=yes", "p2", timeout=T)
    d.dockyard("network", "create", "busy", timeout=T)
    d.docker("run", "-d", "--name", "user", "--network", "busy", "busybox", "sleep", "1000", timeout=T)
    declined = same(d, "network", "prune", input=b"n\n")
    assert declined == (0, "WARNING! This will remove all custom networks not used by at least one container.\n"
                           "Are you sure you want to continue? [y/N] ", "")
    pruned = ours(d, "network", "prune", "-f", "--filter", "label=keep=no")
    assert pruned == (0, "Deleted Networks:\np1\n\n", "")
    d.dockyard("network", "create", "--label", "keep=no", "p1", timeout=T)
    assert docker(d, "network", "prune", "--force", "--filter", "label=keep=no") == pruned
    # confirmed, but the one network left that the filter matches ("busy") is in use
    assert same(d, "network", "prune", "--filter", "label!=keep=yes", input=b"y\n")[1].endswith("[y/N] ")
    assert ours(d, "network", "prune", "-f") == (0, "Deleted Networks:\np2\n\n", "")
    same(d, "network", "prune", "-f")  # nothing left to remove: no output
    assert same(d, "network", "ls", "--format", "{{.Name}}")[1] == "bridge\nbusy\nhost\nnone\n"
    busy = same(d, "network", "rm", "busy")
    assert busy[0] == 1 and "has active endpoints" in busy[2]
    d.docker("rm", "-f", "user", timeout=T)
    assert ours(d, "network", "rm", "busy") == (0, "busy\n", "")
