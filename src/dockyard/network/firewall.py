"""Masquerade and forwarding for dockyard's bridges, without changing any global policy.

State lives in the kernel (nft rules tagged per bridge, iptables rules tagged per table and
bridge), so every operation reads what is there and converges: ``setup`` and ``teardown`` are
idempotent and ``reconcile`` at daemon start brings the rules in line with the live networks.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Sequence
from ipaddress import IPv4Network

from dockyard.network import sysctl
from dockyard.network.iptables import ForwardRules
from dockyard.network.nftables import (
    BRIDGE_CHAINS,
    Nft,
    NftCommand,
    Rule,
    Table,
    bridge_comment,
    bridge_rules,
    create_commands,
    delete_rule_commands,
)
from dockyard.network.nftables import (
    Json as NftCommandJson,
)
from dockyard.network.ports import port_comment

IP_FORWARD = "net.ipv4.ip_forward"


def _bridge_of(rule: Rule) -> str | None:
    prefix = bridge_comment("")
    if rule.chain in BRIDGE_CHAINS and rule.comment.startswith(prefix):
        return rule.comment[len(prefix):]
    return None


class Firewall:
    def __init__(self, table: Table | None = None, *, nft: Nft | None = None,
                 forward_rules: ForwardRules | None = None, sysctl_root: str = sysctl.PROC_SYS) -> None:
        self.table = table or Table()
        self._nft: Nft = nft or NftCommand()
        self._forward = forward_rules or ForwardRules(self.table.name)
        self._sysctl_root = sysctl_root
        self._lock = threading.Lock()
        self.ip_forward_before: str | None = None  # set when we turned forwarding on

    @property
    def changed_ip_forward(self) -> bool:
        return self.ip_forward_before is not None

    def setup(self, bridge: str, subnet: IPv4Network, *, internal: bool = False,
              isolate_from: Sequence[str] = ()) -> None:
        """Masquerade ``subnet`` leaving through anything but ``bridge`` and let the bridge forward
        (``nftables.bridge_rules``)."""
        with self._lock:
            existing = self._nft.list_rules(self.table) or []
            mine = [r for r in existing if _bridge_of(r) == bridge]
            # One batch: replaced rules never leave a window without masquerade.
            self._nft.apply(create_commands(self.table, existing) + delete_rule_commands(self.table, mine)
                            + bridge_rules(self.table, bridge, subnet, internal=internal,
                                           isolate_from=isolate_from))
            if self._forward.policy_is_drop():
                self._forward.ensure(bridge)
            self._enable_forwarding()
            # published ports reached from the host's loopback are routed out of the bridge
            with contextlib.suppress(OSError):  # without it only loopback connections fail
                sysctl.ensure(f"net.ipv4.conf.{bridge}.route_localnet", "1", root=self._sysctl_root)

    def publish(self, owner: str, commands: list[NftCommandJson]) -> None:
        """Add ``owner``'s DNAT rules (``ports.publish_rules``), replacing any it had."""
        with self._lock:
            existing = self._nft.list_rules(self.table) or []
            stale = [r for r in existing if r.comment == port_comment(owner)]
            self._nft.apply(create_commands(self.table, existing) + delete_rule_commands(self.table, stale) + commands)

    def unpublish(self, owner: str) -> None:
        with self._lock:
            existing = self._nft.list_rules(self.table)
            if existing:
                self._nft.apply(delete_rule_commands(self.table, [r for r in existing
                                                                  if r.comment == port_comment(owner)]))

    def keep_published(self, owners: set[str]) -> None:
        """Remove the port rules of every owner but these (containers that stopped while we were down)."""
        prefix = port_comment("")
        with self._lock:
            existing = self._nft.list_rules(self.table)
            if existing:
                stale = [r for r in existing if r.comment.startswith(prefix) and r.comment[len(prefix):] not in owners]
                self._nft.apply(delete_rule_commands(self.table, stale))

    def teardown(self, bridge: str, subnet: IPv4Network | None = None) -> None:
        """Remove the bridge's rules (nft and iptables); ``subnet`` is not needed, rules are tagged."""
        with self._lock:
            existing = self._nft.list_rules(self.table)
            if existing:
                self._nft.apply(delete_rule_commands(self.table, [r for r in existing if _bridge_of(r) == bridge]))
            self._forward.remove(bridge)

    def reconcile(self, active: Iterable[tuple[str, IPv4Network]]) -> None:
        """Make the rules exactly those of the ``active`` (bridge, subnet) pairs, in one nft batch."""
        wanted = dict(active)
        with self._lock:
            existing = self._nft.list_rules(self.table) or []
            stale = [r for r in existing if _bridge_of(r) is not None]
            commands = create_commands(self.table, existing) + delete_rule_commands(self.table, stale)
            for bridge, subnet in sorted(wanted.items()):
                commands += bridge_rules(self.table, bridge, subnet)
            self._nft.apply(commands)
            self._forward.remove_except(set(wanted))
            if wanted:
                if self._forward.policy_is_drop():
                    for bridge in sorted(wanted):
                        self._forward.ensure(bridge)
                self._enable_forwarding()

    def destroy(self) -> None:
        """Remove the whole table and all our iptables rules; restore ip_forward if we changed it."""
        with self._lock:
            if self._nft.list_rules(self.table) is not None:
                self._nft.apply([{"delete": {"table": {"family": self.table.family, "name": self.table.name}}}])
            self._forward.remove_except(set())
            if self.ip_forward_before is not None:
                sysctl.write(IP_FORWARD, self.ip_forward_before, root=self._sysctl_root)
                self.ip_forward_before = None

    def _enable_forwarding(self) -> None:
        before = sysctl.ensure(IP_FORWARD, "1", root=self._sysctl_root)
        if before is not None and self.ip_forward_before is None:
            self.ip_forward_before = before


__all__ = ["IP_FORWARD", "Firewall"]
