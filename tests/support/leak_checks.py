"""What a removed container can leave behind on the host, looked up from the host side only.

    from leak_checks import HostRoots, leftovers, fd_targets
    roots = HostRoots(root=..., data_root=..., exec_root=..., bridge="dyt1a2b3c", daemon_pid=...)
    assert leftovers(roots, container_ids) == {}        # kind → what is left

Each check reads /proc, /sys and the daemon's directories directly (never through the daemon), so a
daemon that forgot something cannot hide it.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = "/sys/fs/cgroup"


@dataclass(frozen=True)
class HostRoots:
    root: Path        # everything of one test daemon lives below this directory
    data_root: Path
    exec_root: Path
    bridge: str       # the daemon's default bridge interface
    daemon_pid: int = 0


def mount_points_under(prefix: str | Path) -> list[str]:
    """Mount points in /proc/self/mountinfo at or below ``prefix``."""
    prefix = str(prefix).rstrip("/")
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = line.split()[4].replace("\\040", " ")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return found


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """(pid, command line) of the processes whose command line mentions ``text`` (not this one)."""
    return [(pid, cmd) for pid, cmd in _cmdlines() if text in cmd]


def _cmdlines() -> Iterable[tuple[int, str]]:
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == me:
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                yield int(entry), f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue


def parent_pid(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return 0


def _is_launcher(pid: int, cmd: str, daemon_pid: int) -> bool:
    """The daemon's own warm shim launcher: its child for the daemon's lifetime, not a container's
    shim (the shims it forks carry the same command line, but the daemon is not their parent)."""
    return "--launcher" in cmd.split() and bool(daemon_pid) and parent_pid(pid) == daemon_pid


def shim_processes(marker: str | Path, daemon_pid: int = 0) -> list[str]:
    """Containers' ``dockyard-shim`` processes whose command line mentions ``marker`` (a daemon's
    root), executed or forked by the launcher; the launcher of ``daemon_pid`` itself is left out."""
    return [f"{pid} {cmd}" for pid, cmd in _cmdlines()
            if "dockyard-shim" in cmd and str(marker) in cmd and not _is_launcher(pid, cmd, daemon_pid)]


def shim_launchers(marker: str | Path, daemon_pid: int) -> list[str]:
    """The warm shim launchers ``daemon_pid`` runs: at most one."""
    return [f"{pid} {cmd}" for pid, cmd in _cmdlines()
            if "dockyard-shim" in cmd and str(marker) in cmd and _is_launcher(pid, cmd, daemon_pid)]


def processes_in_cgroups_of(ids: Iterable[str]) -> list[str]:
    """Processes whose /proc/<pid>/cgroup names one of the container ``ids``: container processes."""
    wanted = set(ids)
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cgroup") as f:
                paths = [line.rstrip("\n").split(":", 2)[-1] for line in f]
        except OSError:
            continue
        if any(part in wanted for path in paths for part in path.split("/")):
            found.append(entry)
    return found


def cgroup_dirs_of(ids: Iterable[str]) -> list[str]:
    """Cgroup directories, in any hierarchy (v1 controllers or v2), named after one of ``ids``."""
    wanted = set(ids)
    found = []
    for top, dirs, _ in os.walk(CGROUP_ROOT):
        found.extend(os.path.join(top, d) for d in dirs if d in wanted)
    return sorted(found)


def bridge_ports(bridge: str) -> list[str]:
    """Interfaces (the containers' veth ends) enslaved to ``bridge``."""
    out = subprocess.run(["ip", "-o", "link", "show", "master", bridge], capture_output=True, text=True,
                         check=False).stdout
    return [line.split(":")[1].strip() for line in out.splitlines() if ":" in line]


def entries(path: Path) -> list[str]:
    return sorted(os.listdir(path)) if path.is_dir() else []


def fd_targets(pid: int) -> list[str]:
    """What each open file descriptor of ``pid`` points to (for the count and for the report)."""
    targets = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            targets.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            continue
    return targets


def leftovers(roots: HostRoots, ids: Iterable[str]) -> dict[str, list[str]]:
    """Everything removed containers (``ids``) and their daemon could have left: kind → items.

    An empty dict means nothing leaked.
    """
    ids = list(ids)
    found = {
        "mounts": mount_points_under(roots.root),
        "shims": shim_processes(roots.root, roots.daemon_pid),
        "container processes": processes_in_cgroups_of(ids),
        "cgroups": cgroup_dirs_of(ids),
        "veths": bridge_ports(roots.bridge),
        "netns": entries(roots.exec_root / "netns"),
        "bundles": entries(roots.exec_root / "containers"),
        "shim dirs": entries(roots.exec_root / "shims"),
        "container dirs": entries(roots.data_root / "containers"),
    }
    return {kind: items for kind, items in found.items() if items}
