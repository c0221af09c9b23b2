"""dockyard's own nftables table, built as JSON batches for ``nft -j -f -`` (applied atomically).

Layout of the table (default ``inet dockyard``)::

    chain prerouting  nat hook prerouting priority dstnat   fib daddr type local -> jump publish
    chain output      nat hook output priority -100         fib daddr type local -> jump publish
    chain publish     (regular) DNAT rules of published ports: filled by the port-publishing code
    chain postrouting nat hook postrouting priority srcnat  per bridge: masquerade subnet ! -o bridge
    chain forward     filter hook forward priority filter   per bridge: accept -i bridge, and
                                                            -o bridge when established/related

Per-bridge rules carry the comment ``dockyard bridge <name>`` so that one bridge's rules can be
replaced or removed without touching the rest. An accept here cannot override a drop of another
base chain on the same hook (see iptables.py for that case); the forward chain is where network
isolation rules will go.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Network
from typing import Any, Protocol

from dockyard.errors import DockyardError, InvalidArgument

Json = dict[str, Any]

DEFAULT_TABLE = "dockyard"
DEFAULT_FAMILY = "inet"
PUBLISH_CHAIN = "publish"
NAT_CHAINS = ("postrouting",)
FILTER_CHAINS = ("forward",)
BRIDGE_CHAINS = NAT_CHAINS + FILTER_CHAINS


@dataclass(frozen=True)
class Table:
    name: str = DEFAULT_TABLE
    family: str = DEFAULT_FAMILY

    def __post_init__(self) -> None:
        if self.family not in ("inet", "ip"):
            raise InvalidArgument(f"nftables family must be inet or ip, not {self.family!r}")
        if not self.name or not all(c.isalnum() or c in "_-" for c in self.name):
            raise InvalidArgument(f"invalid nftables table name {self.name!r}")


@dataclass(frozen=True)
class Rule:
    """A rule as listed by ``nft -j list table``."""

    chain: str
    handle: int
    comment: str
    expr: tuple[Json, ...]


def bridge_comment(bridge: str) -> str:
    return f"dockyard bridge {bridge}"


def _where(table: Table) -> Json:
    return {"family": table.family, "table": table.name}


def _base_chain(table: Table, name: str, kind: str, hook: str, prio: int) -> Json:
    return {"chain": {**_where(table), "name": name, "type": kind, "hook": hook, "prio": prio, "policy": "accept"}}


def _publish_jump() -> list[Json]:
    local = {"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["daddr"]}}, "right": "local"}}
    return [local, {"jump": {"target": PUBLISH_CHAIN}}]


def table_commands(table: Table) -> list[Json]:
    """Create the table and its chains; ``add`` keeps what exists, so this is idempotent."""
    return [
        {"add": {"table": {"family": table.family, "name": table.name}}},
        {"add": {"chain": {**_where(table), "name": PUBLISH_CHAIN}}},
        {"add": _base_chain(table, "prerouting", "nat", "prerouting", -100)},
        {"add": _base_chain(table, "output", "nat", "output", -100)},
        {"add": _base_chain(table, "postrouting", "nat", "postrouting", 100)},
        {"add": _base_chain(table, "forward", "filter", "forward", 0)},
    ]


def create_commands(table: Table, existing: Sequence[Rule]) -> list[Json]:
    """Table and chains, plus the publish jumps unless the listing shows them already."""
    commands = table_commands(table)
    for chain in ("prerouting", "output"):
        if not any(r.chain == chain and r.comment == "dockyard publish" for r in existing):
            commands.append({"add": {"rule": {**_where(table), "chain": chain, "comment": "dockyard publish",
                                              "expr": _publish_jump()}}})
    return commands


def _ifname(key: str, op: str, name: str) -> Json:
    return {"match": {"op": op, "left": {"meta": {"key": key}}, "right": name}}


def bridge_rules(table: Table, bridge: str, subnet: IPv4Network, *, internal: bool = False,
                 isolate_from: Sequence[str] = ()) -> list[Json]:
    """The commands one bridge needs: outbound masquerade and forwarding; none of its traffic to
    the bridges ``isolate_from`` names (interface names, ``dy-*`` patterns), as dockerd isolates
    its networks from one another; an ``internal`` bridge forwards nothing in or out at all."""
    comment = bridge_comment(bridge)
    into = _ifname("iifname", "==", bridge)
    not_out = _ifname("oifname", "!=", bridge)
    # inserted: ahead of every bridge's accept rules in the chain
    drops = [[into, not_out, _ifname("oifname", "==", other), {"drop": None}] for other in isolate_from
             if other != bridge]
    if internal:
        drops = [[into, not_out, {"drop": None}],
                 [_ifname("oifname", "==", bridge), _ifname("iifname", "!=", bridge), {"drop": None}]]
    inserted = [{"insert": {"rule": {**_where(table), "chain": "forward", "comment": comment, "expr": expr}}}
                for expr in drops]
    source = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                        "right": {"prefix": {"addr": str(subnet.network_address), "len": subnet.prefixlen}}}}
    established = {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}
    loopback = {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}},
                          "right": {"prefix": {"addr": "127.0.0.0", "len": 8}}}}
    rules = [] if internal else [
        ("postrouting", [source, _ifname("oifname", "!=", bridge), {"masquerade": None}]),
        # the host's own connections to a published port on 127.0.0.1 (with route_localnet)
        ("postrouting", [loopback, _ifname("oifname", "==", bridge), {"masquerade": None}]),
        ("forward", [_ifname("iifname", "==", bridge), {"accept": None}]),
        ("forward", [_ifname("oifname", "==", bridge), established, {"accept": None}]),
    ]
    return inserted + [{"add": {"rule": {**_where(table), "chain": chain, "comment": comment, "expr": expr}}}
                       for chain, expr in rules]


def delete_rule_commands(table: Table, rules: Iterable[Rule]) -> list[Json]:
    return [{"delete": {"rule": {**_where(table), "chain": r.chain, "handle": r.handle}}} for r in rules]


def batch(commands: Sequence[Json]) -> str:
    return json.dumps({"nftables": list(commands)})


def parse_rules(listing: str, table: Table) -> list[Rule]:
    """The rules of ``table`` in the output of ``nft -j list table``."""
    rules = []
    for item in json.loads(listing).get("nftables", []):
        rule = item.get("rule")
        if rule is None or rule.get("table") != table.name or rule.get("family") != table.family:
            continue
        rules.append(Rule(chain=rule["chain"], handle=int(rule["handle"]), comment=rule.get("comment", ""),
                          expr=tuple(rule.get("expr", ()))))
    return rules


class Nft(Protocol):
    def apply(self, commands: Sequence[Json]) -> None: ...

    def list_rules(self, table: Table) -> list[Rule] | None:
        """The table's rules, or None when the table does not exist."""
        ...


class NftError(DockyardError):
    """nft refused a batch (the whole batch was rolled back)."""


class NftCommand:
    """Nft through the ``nft`` binary (JSON in, JSON out)."""

    def __init__(self, binary: str = "nft") -> None:
        self.binary = binary

    def apply(self, commands: Sequence[Json]) -> None:
        if not commands:
            return
        proc = subprocess.run([self.binary, "-j", "-f", "-"], input=batch(commands), capture_output=True, text=True)
        if proc.returncode != 0:
            raise NftError(f"nft: {proc.stderr.strip() or proc.stdout.strip()}")

    def list_rules(self, table: Table) -> list[Rule] | None:
        proc = subprocess.run([self.binary, "-j", "list", "table", table.family, table.name],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            if "No such file or directory" in proc.stderr:
                return None
            raise NftError(f"nft: {proc.stderr.strip()}")
        return parse_rules(proc.stdout, table)

    def delete_table(self, table: Table) -> None:
        # "destroy" would be quieter but needs nft >= 1.0.8; Debian 12 has 1.0.6.
        if self.list_rules(table) is not None:
            self.apply([{"delete": {"table": {"family": table.family, "name": table.name}}}])


__all__ = [
    "DEFAULT_FAMILY", "DEFAULT_TABLE", "PUBLISH_CHAIN", "Nft", "NftCommand", "NftError", "Rule", "Table",
    "batch", "bridge_comment", "bridge_rules", "create_commands", "delete_rule_commands", "parse_rules",
]
