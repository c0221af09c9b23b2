"""cgroup v1: one directory per mounted hierarchy (memory, cpu, cpuset, pids, freezer, …)."""

from __future__ import annotations

import os

from dockyard.runtime.cgroups.common import (
    Stats,
    kill_and_remove,
    read_int,
    read_keyed,
    read_pids,
    read_text,
    write_file,
)
from dockyard.runtime.cgroups.resources import v1_writes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

    from dockyard.runtime.spec import Resources

# The key of the cgroup2 hierarchy that hybrid hosts mount next to the v1 ones (as runc's "").
UNIFIED = "unified"


def discover(mountinfo: str = "/proc/self/mountinfo") -> dict[str, str]:
    """{hierarchy key: mount point}; comounted controllers share one mount; named ones use their name."""
    return discover_hybrid(mountinfo)[0]


def discover_hybrid(mountinfo: str = "/proc/self/mountinfo") -> tuple[dict[str, str], str | None]:
    """The v1 hierarchies (as ``discover``) and the mount point of a cgroup2 hierarchy beside them."""
    out: dict[str, str] = {}
    unified: str | None = None
    with open(mountinfo) as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields = right.split()
            if len(fields) < 3 or fields[0] != "cgroup":
                if unified is None and fields and fields[0] == "cgroup2":
                    unified = left.split()[4]
                continue
            point = left.split()[4]
            for opt in fields[2].split(","):
                if opt in ("rw", "ro") or opt.startswith(("relatime", "clone_children", "xattr", "release_agent")):
                    continue
                out.setdefault(opt.removeprefix("name="), point)
    return out, unified


class CgroupV1:
    def __init__(self, cgroups_path: str, hierarchies: Mapping[str, str], unified: str | None = None) -> None:
        """``unified``: the cgroup2 mount of a hybrid host; like runc, the container gets a cgroup
        there too (no controllers are set in it, but /proc/<pid>/cgroup's ``0::`` line shows it)."""
        rel = cgroups_path.lstrip("/")
        self.rel = rel
        self.mounts = dict(hierarchies)
        if unified is not None:
            self.mounts[UNIFIED] = unified
        self.paths = {key: os.path.join(point, rel) for key, point in self.mounts.items()}

    def create(self) -> None:
        for key, path in self.paths.items():
            if key == "cpuset":
                self._make_cpuset(self.mounts[key], path)
            else:
                os.makedirs(path, exist_ok=True)

    @staticmethod
    def _make_cpuset(mount: str, path: str) -> None:
        # A new cpuset starts empty and refuses tasks (ENOSPC): copy cpus/mems down each new level.
        current = mount
        for part in [p for p in os.path.relpath(path, mount).split("/") if p not in ("", ".")]:
            parent, current = current, os.path.join(current, part)
            if not os.path.isdir(current):
                os.mkdir(current)
                for knob in ("cpuset.cpus", "cpuset.mems"):
                    value = read_text(os.path.join(parent, knob)).strip()
                    if value and not read_text(os.path.join(current, knob)).strip():
                        write_file(current, knob, value)

    def apply(self, resources: Resources) -> None:
        for w in v1_writes(resources):
            directory = self.paths.get(w.controller)
            if directory is None:
                if w.optional:
                    continue
                from dockyard.errors import InvalidArgument

                raise InvalidArgument(f"cgroup: controller {w.controller!r} is not mounted")
            write_file(directory, w.file, w.value, optional=w.optional)

    def add(self, pid: int) -> None:
        for path in self.paths.values():
            write_file(path, "cgroup.procs", str(pid))

    def enter(self, *, unified_by_clone: bool) -> int | None:
        """Move the calling single-threaded process in. A v1 hierarchy takes it as one thread
        ("0" in ``tasks``), which skips the global threadgroup lock and its RCU grace period; the
        unified hierarchy has no such path for a domain cgroup, so with ``unified_by_clone`` its
        directory comes back opened, for the next fork to be born there (``fork_into``)."""
        self.enter_legacy()
        if unified_by_clone:
            return self.open_unified()
        if UNIFIED in self.paths:
            write_file(self.paths[UNIFIED], "cgroup.procs", str(os.getpid()))
        return None

    def open_unified(self) -> int | None:
        """The unified hierarchy's directory, opened for a fork to be born in (``fork_into``)."""
        path = self.paths.get(UNIFIED)
        return None if path is None else os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)

    def enter_legacy(self) -> None:
        """Join every v1 hierarchy, as one thread (see ``enter``)."""
        for key, path in self.paths.items():
            if key != UNIFIED:
                write_file(path, "tasks", "0")

    def pids(self) -> list[int]:
        for key in ("pids", "memory", "freezer", "devices"):
            if key in self.paths:
                return read_pids(self.paths[key])
        return read_pids(next(iter(self.paths.values()))) if self.paths else []

    def freeze(self) -> None:
        write_file(self.paths["freezer"], "freezer.state", "FROZEN")

    def thaw(self) -> None:
        write_file(self.paths["freezer"], "freezer.state", "THAWED")

    def destroy(self) -> None:
        pids_dir = next((self.paths[k] for k in ("pids", "memory", "freezer") if k in self.paths), None)
        if "freezer" in self.paths and os.path.isdir(self.paths["freezer"]):
            try:
                self.thaw()  # frozen tasks cannot die
            except Exception:  # noqa: BLE001 - best effort while tearing down
                pass
        kill_and_remove([p for p in self.paths.values()], pids_dir)

    def stats(self) -> Stats:
        mem = self.paths.get("memory", "")
        oom = read_keyed(os.path.join(mem, "memory.oom_control"))
        cpuacct = self.paths.get("cpuacct", "")
        pids = self.paths.get("pids", "")
        return Stats(memory_usage=read_int(os.path.join(mem, "memory.usage_in_bytes")),
                     memory_limit=read_int(os.path.join(mem, "memory.limit_in_bytes")),
                     memory_max_usage=read_int(os.path.join(mem, "memory.max_usage_in_bytes")),
                     oom_kills=oom.get("oom_kill", 0),
                     cpu_usage_ns=read_int(os.path.join(cpuacct, "cpuacct.usage")),
                     pids_current=read_int(os.path.join(pids, "pids.current")),
                     pids_limit=read_int(os.path.join(pids, "pids.max")))
