"""Ruleset generation and the firewall's convergence logic, against fake nft and iptables."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Sequence
from ipaddress import IPv4Network
from pathlib import Path

import pytest

from dockyard.errors import InvalidArgument
from dockyard.network.firewall import Firewall
from dockyard.network.iptables import ForwardRules, accept_specs
from dockyard.network.nftables import Json, Rule, Table, batch, bridge_rules, create_commands, parse_rules

SUBNET = IPv4Network("172.17.0.0/16")


def test_bridge_rules_isolate_bridges_and_internal_networks() -> None:
    rules = bridge_rules(Table("dockyard", "ip"), "dy-abc", SUBNET, isolate_from=("dy-*", "dockyard0", "dy-abc"))
    inserted = [r["insert"]["rule"] for r in rules if "insert" in r]
    # ahead of every accept: nothing from this bridge to another of ours (never to itself)
    assert [r["expr"][2]["match"]["right"] for r in inserted] == ["dy-*", "dockyard0"]
    assert all(r["chain"] == "forward" and r["expr"][-1] == {"drop": None} and
               r["comment"] == "dockyard bridge dy-abc" for r in inserted)
    internal = bridge_rules(Table("dockyard", "ip"), "dy-abc", SUBNET, internal=True, isolate_from=("dy-*",))
    assert all("insert" in r for r in internal)  # no masquerade, no accept: nothing in or out
    assert [r["insert"]["rule"]["expr"][-1] for r in internal] == [{"drop": None}, {"drop": None}]

def test_bridge_rules_json() -> None:
    rules = bridge_rules(Table("dockyard", "inet"), "dockyard0", SUBNET)
    masq, loopback, fwd_out, fwd_back = (r["add"]["rule"] for r in rules)
    assert masq == {
        "family": "inet", "table": "dockyard", "chain": "postrouting", "comment": "dockyard bridge dockyard0",
        "expr": [
            {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                       "right": {"prefix": {"addr": "172.17.0.0", "len": 16}}}},
            {"match": {"op": "!=", "left": {"meta": {"key": "oifname"}}, "right": "dockyard0"}},
            {"masquerade": None},
        ]}
    # the host's loopback connections to published ports, routed out of the bridge
    assert loopback["chain"] == "postrouting" and loopback["expr"][-1] == {"masquerade": None}
    assert {"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "dockyard0"}} in loopback["expr"]
    assert fwd_out["chain"] == fwd_back["chain"] == "forward"
    assert fwd_out["expr"][-1] == {"accept": None}
    assert {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}} \
        in fwd_back["expr"]
    json.loads(batch(rules))  # serialisable as one nft -j batch


def test_create_commands_chains_and_publish_jumps_once() -> None:
    table = Table("t", "ip")
    commands = create_commands(table, [])
    chains = {c["add"]["chain"]["name"]: c["add"]["chain"] for c in commands if "chain" in c["add"]}
    assert chains["postrouting"]["hook"] == "postrouting" and chains["postrouting"]["type"] == "nat"
    assert chains["prerouting"]["prio"] == -100 and chains["forward"]["type"] == "filter"
    assert "hook" not in chains["publish"]  # regular chain for DNAT rules of published ports
    assert all(ch["policy"] == "accept" for name, ch in chains.items() if name != "publish")
    jumps = [c for c in commands if "rule" in c["add"]]
    assert {j["add"]["rule"]["chain"] for j in jumps} == {"prerouting", "output"}
    present = [Rule(chain=c, handle=i, comment="dockyard publish", expr=()) for i, c in enumerate(["prerouting", "output"])]
    assert not [c for c in create_commands(table, present) if "rule" in c["add"]]


@pytest.mark.parametrize(("name", "family"), [("bad name", "inet"), ("ok", "ip6"), ("", "ip")])
def test_table_validation(name: str, family: str) -> None:
    with pytest.raises(InvalidArgument):
        Table(name, family)


def test_parse_rules_filters_other_tables() -> None:
    listing = {"nftables": [
        {"metainfo": {"json_schema_version": 1}},
        {"table": {"family": "inet", "name": "t", "handle": 1}},
        {"rule": {"family": "inet", "table": "t", "chain": "forward", "handle": 7, "comment": "c", "expr": []}},
        {"rule": {"family": "ip", "table": "t", "chain": "forward", "handle": 8, "expr": []}},
    ]}
    assert parse_rules(json.dumps(listing), Table("t", "inet")) == [Rule("forward", 7, "c", ())]


class FakeNft:
    """Keeps rules like the kernel: handles, atomic batches (all or nothing is not modelled)."""

    def __init__(self) -> None:
        self.exists = False
        self.rules: list[Rule] = []
        self.batches: list[list[Json]] = []
        self._next = 1

    def apply(self, commands: Sequence[Json]) -> None:
        self.batches.append(list(commands))
        for command in commands:
            (verb, body), = command.items()
            if "table" in body:
                self.exists = verb == "add"
                if verb == "delete":
                    self.rules = []
            elif "rule" in body and verb == "add":
                r = body["rule"]
                self.rules.append(Rule(r["chain"], self._next, r.get("comment", ""), tuple(r["expr"])))
                self._next += 1
            elif "rule" in body and verb == "delete":
                self.rules = [x for x in self.rules if x.handle != body["rule"]["handle"]]

    def list_rules(self, table: Table) -> list[Rule] | None:
        return list(self.rules) if self.exists else None


class FakeIptables:
    def __init__(self, policy: str = "DROP") -> None:
        self.policy = policy
        self.rules: list[list[str]] = [["-j", "DOCKER-USER"]]
        self.calls: list[list[str]] = []

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        self.calls.append(argv)
        assert argv[:5] == ["iptables", "-w", "5", "-t", "filter"]
        op, rest = argv[5], argv[6:]
        ok = subprocess.CompletedProcess(argv, 0, "", "")
        if op == "-S":
            def quote(a: str) -> str:
                return f'"{a}"' if " " in a else a
            lines = [f"-P FORWARD {self.policy}"] + ["-A FORWARD " + " ".join(quote(a) for a in r) for r in self.rules]
            return subprocess.CompletedProcess(argv, 0, "\n".join(lines) + "\n", "")
        if op == "-C":
            return ok if rest[1:] in self.rules else subprocess.CompletedProcess(argv, 1, "", "no rule")
        if op == "-I":
            self.rules.insert(int(rest[1]) - 1, rest[2:])
            return ok
        if op == "-D":
            if rest[1:] not in self.rules:
                return subprocess.CompletedProcess(argv, 1, "", "Bad rule (does a matching rule exist?)")
            self.rules.remove(rest[1:])
            return ok
        raise AssertionError(argv)


@pytest.fixture
def sysctl_root(tmp_path: Path) -> Path:
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    (tmp_path / "net" / "ipv4" / "ip_forward").write_text("0\n")
    return tmp_path


def make(sysctl_root: Path, policy: str = "DROP") -> tuple[Firewall, FakeNft, FakeIptables]:
    nft, ipt = FakeNft(), FakeIptables(policy)
    fw = Firewall(Table("dyt"), nft=nft, forward_rules=ForwardRules("dyt", run=ipt), sysctl_root=str(sysctl_root))
    return fw, nft, ipt


def test_setup_is_idempotent_and_teardown_removes_exactly_ours(sysctl_root: Path) -> None:
    fw, nft, ipt = make(sysctl_root)
    fw.setup("br0", SUBNET)
    fw.setup("br0", SUBNET)
    fw.setup("br1", IPv4Network("172.18.0.0/16"))
    assert [r.comment for r in nft.rules].count("dockyard bridge br0") == 4
    assert [r.comment for r in nft.rules].count("dockyard publish") == 2
    specs = len(accept_specs("br0", ""))
    assert ipt.rules[:specs] == accept_specs("br1", "dockyard dyt br1")
    assert ipt.rules[specs:2 * specs] == accept_specs("br0", "dockyard dyt br0")
    assert ipt.rules[2 * specs] == ["-j", "DOCKER-USER"]
    assert fw.changed_ip_forward and (sysctl_root / "net/ipv4/ip_forward").read_text() == "1"

    fw.teardown("br0", SUBNET)
    fw.teardown("br0", SUBNET)
    assert not [r for r in nft.rules if r.comment.endswith("br0")]
    assert ipt.rules == [*accept_specs("br1", "dockyard dyt br1"), ["-j", "DOCKER-USER"]]

    fw.destroy()
    assert not nft.exists and ipt.rules == [["-j", "DOCKER-USER"]]
    assert (sysctl_root / "net/ipv4/ip_forward").read_text() == "0"


def test_accept_policy_adds_no_iptables_rules(sysctl_root: Path) -> None:
    fw, nft, ipt = make(sysctl_root, policy="ACCEPT")
    fw.setup("br0", SUBNET)
    assert ipt.rules == [["-j", "DOCKER-USER"]]
    assert not [c for c in ipt.calls if c[5] == "-I"]


def test_forwarding_already_on_is_not_recorded(sysctl_root: Path) -> None:
    (sysctl_root / "net/ipv4/ip_forward").write_text("1\n")
    fw, _, _ = make(sysctl_root)
    fw.setup("br0", SUBNET)
    assert not fw.changed_ip_forward


def test_reconcile_keeps_active_drops_stale_in_one_batch(sysctl_root: Path) -> None:
    fw, nft, ipt = make(sysctl_root)
    fw.setup("old", IPv4Network("172.20.0.0/16"))
    fw.setup("br0", IPv4Network("172.19.0.0/16"))  # its subnet changed since
    before = len(nft.batches)
    fw.reconcile([("br0", SUBNET)])
    assert len(nft.batches) == before + 1
    bridges = {r.comment for r in nft.rules}
    assert bridges == {"dockyard bridge br0", "dockyard publish"}
    masq = next(r for r in nft.rules if r.chain == "postrouting")
    assert masq.expr[0]["match"]["right"] == {"prefix": {"addr": "172.17.0.0", "len": 16}}
    assert ipt.rules == [*accept_specs("br0", "dockyard dyt br0"), ["-j", "DOCKER-USER"]]


def test_other_tables_rules_are_left_alone(sysctl_root: Path) -> None:
    fw, _, ipt = make(sysctl_root)
    ipt.rules.insert(0, ["-i", "br0", "-m", "comment", "--comment", "dockyard other br0", "-j", "ACCEPT"])
    fw.setup("br0", SUBNET)
    fw.reconcile([])
    assert ipt.rules[0][5] == "dockyard other br0" and len(ipt.rules) == 2


def test_missing_iptables_binary_means_no_drop_policy() -> None:
    def missing(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        raise FileNotFoundError(argv[0])
    rules = ForwardRules("t", run=missing)
    assert not rules.policy_is_drop()
    rules.remove("br0")
