"""Narrow ACCEPT rules for our bridges in iptables' ``filter FORWARD`` when its policy is DROP.

A running Docker sets that policy to DROP. In nftables a drop in any base chain of a hook is final,
so an accept in our own table cannot let our traffic through; the only way that leaves the global
policy alone is to insert accepts for exactly our bridges into that chain. Each rule carries the
comment ``dockyard <table> <bridge>`` so teardown removes ours and nothing else.
"""

from __future__ import annotations

import shlex
import subprocess
from collections.abc import Callable, Sequence

from dockyard.errors import DockyardError

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True)


class IptablesError(DockyardError):
    """iptables refused a change."""


def tag(table: str, bridge: str) -> str:
    return f"dockyard {table} {bridge}"


def accept_specs(bridge: str, comment: str) -> list[list[str]]:
    """Rule specs (after ``-I FORWARD``): out of the bridge (incl. bridge to bridge), and replies in."""
    mark = ["-m", "comment", "--comment", comment]
    return [
        ["-i", bridge, *mark, "-j", "ACCEPT"],
        ["-o", bridge, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", *mark, "-j", "ACCEPT"],
        ["-o", bridge, "-m", "conntrack", "--ctstate", "DNAT", *mark, "-j", "ACCEPT"],  # published ports
    ]


class ForwardRules:
    """Our tagged rules in ``filter FORWARD`` (through the ``iptables`` command, nft or legacy)."""

    def __init__(self, table: str, *, binary: str = "iptables", run: Runner = run_command) -> None:
        self.table = table
        self.binary = binary
        self._run = run

    def _call(self, *args: str) -> subprocess.CompletedProcess[str]:
        try:
            return self._run([self.binary, "-w", "5", *args])
        except FileNotFoundError:
            return subprocess.CompletedProcess([self.binary, *args], 127, "", f"{self.binary} not found")

    def listing(self) -> list[str]:
        proc = self._call("-t", "filter", "-S", "FORWARD")
        return proc.stdout.splitlines() if proc.returncode == 0 else []

    def policy_is_drop(self) -> bool:
        return any(line.split() in (["-P", "FORWARD", "DROP"], ["-P", "FORWARD", "REJECT"])
                   for line in self.listing())

    def ensure(self, bridge: str) -> None:
        """Insert the accepts for ``bridge`` at the top of FORWARD unless they are there."""
        comment = tag(self.table, bridge)
        for spec in reversed(accept_specs(bridge, comment)):
            if self._call("-t", "filter", "-C", "FORWARD", *spec).returncode == 0:
                continue
            proc = self._call("-t", "filter", "-I", "FORWARD", "1", *spec)
            if proc.returncode != 0:
                raise IptablesError(f"iptables: {proc.stderr.strip()}")

    def tagged(self) -> dict[str, list[list[str]]]:
        """bridge -> its tagged rules in ``-S`` form (``-A FORWARD ...`` split)."""
        prefix = tag(self.table, "")
        found: dict[str, list[list[str]]] = {}
        for line in self.listing():
            if not line.startswith("-A FORWARD ") or "--comment" not in line:
                continue
            argv = shlex.split(line)
            comment = argv[argv.index("--comment") + 1]
            if comment.startswith(prefix):
                found.setdefault(comment[len(prefix):], []).append(argv)
        return found

    def remove(self, bridge: str) -> None:
        """Delete every rule tagged for ``bridge`` (whatever the policy is now); idempotent."""
        for argv in self.tagged().get(bridge, []):
            self._delete(argv)

    def remove_except(self, keep: set[str]) -> None:
        for bridge, rules in self.tagged().items():
            if bridge not in keep:
                for argv in rules:
                    self._delete(argv)

    def _delete(self, argv: list[str]) -> None:
        proc = self._call("-t", "filter", "-D", *argv[1:])
        # A concurrent teardown may have removed it already: "does a matching rule exist" errors.
        if proc.returncode != 0 and "exist" not in proc.stderr:
            raise IptablesError(f"iptables: {proc.stderr.strip()}")


__all__ = ["ForwardRules", "IptablesError", "Runner", "accept_specs", "run_command", "tag"]
